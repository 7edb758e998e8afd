"""The server's fixtures: the small cohort's recommender and its ASGI app."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from precision_onco.serve import ServeSettings, create_app


def nsclc() -> dict[str, Any]:
    """NSCLC, KRAS G12C, PD-L1 60 %, at line 2 after carboplatin + pemetrexed."""
    return copy.deepcopy(
        {
            "patient": {
                "patient_key": "pk_00000000000000000000a001",
                "sex": "F",
                "cancer_type": "NSCLC",
                "oncotree_code": "LUAD",
                "stage": "IV",
                "ecog": 1,
                "alk_status": "negative",
            },
            "line_number": 2,
            "lines": [
                {
                    "line_number": 1,
                    "regimen_id": "carboplatin_pemetrexed",
                    "best_response": "PR",
                    "ae_hematologic_max_grade": 3,
                },
                {"line_number": 2, "albumin": 3.4, "creatinine_clearance": 72, "pdl1_tps": 60},
            ],
            "variants": [{"gene": "KRAS", "hgvsp": "p.G12C", "vaf": 0.31, "depth": 210}],
        }
    )


def melanoma() -> dict[str, Any]:
    return copy.deepcopy(
        {
            "patient": {
                "patient_key": "pk_00000000000000000000b002",
                "sex": "M",
                "cancer_type": "MEL",
                "oncotree_code": "SKCM",
                "stage": "IV",
                "ecog": 0,
            },
            "line_number": 1,
            "lines": [{"line_number": 1, "albumin": 4.1, "ldh": 250}],
            "variants": [{"gene": "BRAF", "hgvsp": "p.V600E", "vaf": 0.42, "depth": 180}],
        }
    )


@pytest.fixture(scope="session")
def recommender(small_recommender: Any) -> Any:
    return small_recommender[2]


@pytest.fixture(scope="session")
def app(recommender: Any) -> Any:
    return create_app(
        recommender, ServeSettings(max_body_bytes=200_000, max_batch=5, request_timeout_s=20)
    )
