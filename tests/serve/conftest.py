"""The server's fixtures: the small cohort's recommender and its ASGI app."""

from __future__ import annotations

from typing import Any

import pytest

from precision_onco.recommend.examples import example_payload
from precision_onco.serve import ServeSettings, create_app


def nsclc() -> dict[str, Any]:
    """NSCLC, KRAS G12C, PD-L1 60 %, at line 2 after carboplatin + pemetrexed."""
    return example_payload("nsclc_kras_g12c")


def melanoma() -> dict[str, Any]:
    return example_payload("melanoma_braf_v600e")


@pytest.fixture(scope="session")
def recommender(small_recommender: Any) -> Any:
    return small_recommender[2]


@pytest.fixture(scope="session")
def app(recommender: Any) -> Any:
    return create_app(
        recommender, ServeSettings(max_body_bytes=200_000, max_batch=5, request_timeout_s=20)
    )
