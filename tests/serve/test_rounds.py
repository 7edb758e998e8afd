"""Requests in flight together are scored together, each answered as if it were alone.

The worker's event loop scores the waiting requests in rounds (``serve/app.py``
``_Rounds``): one payload of each request per round, the round's payloads computed at once
by ``Recommender.recommend_payloads``. These tests send many requests at once to the real
app and recommender and check that the rounds coalesced them, that every answer is the
sequential one, that a bad payload is only its own request's 400, and that a fault in a
shared round is only its own request's 500.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from precision_onco.recommend.examples import example_payload
from precision_onco.serve import ServeSettings, create_app

from .asgi import post, post_many


class _Counting:
    """The recommender, counting how many payloads each combined call scored; a payload
    whose patient key is ``poison`` makes a combined call fail (a fault inside scoring)."""

    def __init__(self, rec: Any, poison: str | None = None) -> None:
        self.rec, self.poison = rec, poison
        self.sizes: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rec, name)

    def recommend_payloads(self, items: list[Any]) -> list[Any]:
        self.sizes.append(len(items))
        if self.poison and any(case.patient_key == self.poison for case, _ in items):
            raise RuntimeError("a fault inside scoring")
        return self.rec.recommend_payloads(items)


def _payloads(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        p = example_payload("nsclc_kras_g12c" if i % 3 else "melanoma_braf_v600e")
        p["patient"]["patient_key"] = f"pk_{i:024x}"
        p["lines"][-1]["albumin"] = 2.6 + i / 10
        out.append(p)
    return out


def _doc(payload: Any) -> dict[str, Any]:
    return {"inputs": [payload]}


def test_requests_in_flight_together_are_scored_together(recommender: Any) -> None:
    counting = _Counting(recommender)
    app = create_app(counting, ServeSettings(max_coalesce=8))
    payloads = _payloads(20)
    sequential = [post(app, _doc(p)) for p in payloads]
    assert all(s == 200 for s, _ in sequential)
    assert counting.sizes == [1] * 20  # one at a time: one per round
    counting.sizes.clear()
    together = post_many(app, [_doc(p) for p in payloads])
    assert [json.dumps(d, sort_keys=True) for _, d in together] == [
        json.dumps(d, sort_keys=True) for _, d in sequential
    ]
    assert max(counting.sizes) == 8 and len(counting.sizes) < 20, counting.sizes


def test_a_request_of_several_payloads_shares_rounds(recommender: Any) -> None:
    """A request's payloads go one per round (its time limit and client are checked between
    them), alongside the other requests' payloads."""
    counting = _Counting(recommender)
    app = create_app(counting, ServeSettings(max_batch=5))
    payloads = _payloads(8)
    big = {"inputs": payloads[:4]}
    singles = [_doc(p) for p in payloads[4:]]
    expected = [post(app, big)] + [post(app, d) for d in singles]
    counting.sizes.clear()
    got = post_many(app, [big, *singles])
    assert [json.dumps(d, sort_keys=True) for _, d in got] == [
        json.dumps(d, sort_keys=True) for _, d in expected
    ]
    assert len(counting.sizes) == 4 and counting.sizes[0] == 5, counting.sizes


def test_a_bad_payload_is_only_its_own_requests_400(recommender: Any) -> None:
    app = create_app(recommender, ServeSettings())
    payloads = _payloads(9)
    bad = copy.deepcopy(payloads[4])
    bad["lines"][0]["regimen_id"] = "Pembrolizumab_NSCLC"
    docs = [_doc(p) for p in payloads]
    docs[4] = _doc(bad)
    expected = [post(app, d) for d in docs]
    got = post_many(app, docs)
    assert [s for s, _ in got] == [200] * 4 + [400] + [200] * 4
    assert "lines[0].regimen_id: unknown regimen" in got[4][1]["message"]
    assert got == expected


def test_a_fault_in_a_shared_round_is_only_its_own_requests_500(recommender: Any) -> None:
    payloads = _payloads(6)
    poison = payloads[2]["patient"]["patient_key"]
    counting = _Counting(recommender, poison=poison)
    app = create_app(counting, ServeSettings())
    expected = [post(create_app(recommender, ServeSettings()), _doc(p)) for p in payloads]
    got = post_many(app, [_doc(p) for p in payloads])
    assert [s for s, _ in got] == [200, 200, 500, 200, 200, 200]
    assert got[2][1]["error_code"] == "INTERNAL_ERROR" and poison not in json.dumps(got[2][1])
    assert [g for i, g in enumerate(got) if i != 2] == [e for i, e in enumerate(expected) if i != 2]
    assert counting.sizes[0] == 6  # tried together first, then each alone
