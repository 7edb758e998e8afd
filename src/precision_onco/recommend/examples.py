"""Example patient payloads (the ``/invocations`` and CLI format), for docs, tests and benches.

Each call returns a fresh copy, so a caller may change it.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["EXAMPLES", "example_payload"]

#: Named example payloads: patients of the catalog's cancer types at a given line.
EXAMPLES: dict[str, dict[str, Any]] = {
    # NSCLC, KRAS G12C, PD-L1 60 %, at line 2 after carboplatin + pemetrexed
    "nsclc_kras_g12c": {
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
        # a lung panel: absent calls in these genes are wild type
        "genes_tested": [
            "ALK",
            "BRAF",
            "EGFR",
            "ERBB2",
            "KEAP1",
            "KRAS",
            "MET",
            "NRAS",
            "PIK3CA",
            "RET",
            "ROS1",
            "STK11",
            "TP53",
        ],
    },
    # melanoma, BRAF V600E, first line
    "melanoma_braf_v600e": {
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
        "genes_tested": ["BRAF", "KIT", "NRAS", "NF1", "TP53"],
    },
}


def example_payload(name: str) -> dict[str, Any]:
    """A fresh copy of the example payload ``name`` (one of :data:`EXAMPLES`)."""
    if name not in EXAMPLES:
        raise ValueError(f"unknown example payload {name!r}; available: {', '.join(EXAMPLES)}")
    return copy.deepcopy(EXAMPLES[name])
