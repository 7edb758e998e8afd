"""The recommender called from many threads at once gives the sequential answers, no crash."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from precision_onco.recommend.service import Recommender


def nsclc_kras_g12c() -> dict[str, Any]:
    return {
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


def melanoma_braf_v600e() -> dict[str, Any]:
    return {
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


THREADS = 16
CALLS_PER_THREAD = 4


def _canonical(answer: dict[str, Any]) -> str:
    return json.dumps(answer, sort_keys=True)


def test_sixteen_threads_get_the_sequential_answers(small_recommender: Any) -> None:
    rec: Recommender = small_recommender[2]
    payloads = [nsclc_kras_g12c(), melanoma_braf_v600e()]
    expected = [_canonical(rec.recommend_payload(p)) for p in payloads]
    jobs = [i % len(payloads) for i in range(THREADS * CALLS_PER_THREAD)]
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        got = list(pool.map(lambda i: (i, _canonical(rec.recommend_payload(payloads[i]))), jobs))
    assert len(got) == len(jobs)
    for n, (i, answer) in enumerate(got):
        assert answer == expected[i], f"call {n} (payload {i}) differs from the sequential answer"
