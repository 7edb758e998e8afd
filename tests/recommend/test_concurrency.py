"""The recommender called from many threads at once gives the sequential answers, no crash."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from precision_onco.recommend.examples import example_payload
from precision_onco.recommend.service import Recommender

THREADS = 16
CALLS_PER_THREAD = 4


def _canonical(answer: dict[str, Any]) -> str:
    return json.dumps(answer, sort_keys=True)


def test_sixteen_threads_get_the_sequential_answers(small_recommender: Any) -> None:
    rec: Recommender = small_recommender[2]
    payloads = [example_payload("nsclc_kras_g12c"), example_payload("melanoma_braf_v600e")]
    expected = [_canonical(rec.recommend_payload(p)) for p in payloads]
    jobs = [i % len(payloads) for i in range(THREADS * CALLS_PER_THREAD)]
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        got = list(pool.map(lambda i: (i, _canonical(rec.recommend_payload(payloads[i]))), jobs))
    assert len(got) == len(jobs)
    for n, (i, answer) in enumerate(got):
        assert answer == expected[i], f"call {n} (payload {i}) differs from the sequential answer"
