"""The real server with a recommender of a real-shaped cohort (300 Chowell 2022 rows, its own
catalog and its own model inputs, ``features.extra``) under concurrent clients: no error,
every answer that of the same payload in process, and a payload that leaves a model input
out a 400 naming it (bounded, loopback only)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import joblib
import pytest

from ..recommend.cases import served_payload
from .live import Server, canonical, load, post, serving

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("PRECISION_ONCO_LOAD_SECONDS", "10"))


@pytest.fixture(scope="module")
def chowell(real_shaped: Any) -> tuple[Any, list[dict[str, Any]]]:
    tables, _, rec = real_shaped
    pick = tables.lines[["patient_key", "line_number"]].sample(6, random_state=11)
    payloads = [
        served_payload(tables, str(k), int(n), rec.extra_inputs)
        for k, n in zip(pick["patient_key"], pick["line_number"], strict=True)
    ]
    return rec, payloads


@pytest.fixture(scope="module")
def server(chowell: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("serve_real")
    model = tmp / "recommender.joblib"
    joblib.dump(chowell[0], model)
    with serving(model, tmp) as server:
        yield server


def test_ten_clients_get_the_in_process_answers(server: Server, chowell: Any) -> None:
    rec, payloads = chowell
    expected = [
        canonical(json.dumps({"predictions": [rec.recommend_payload(p)]})) for p in payloads
    ]
    assert sum('"status": "ranked"' in e for e in expected) >= 2
    counts = load(server.url, 10, SECONDS, payloads, expected)
    assert counts["errors"] == 0 and counts["different"] == 0, counts
    assert counts["ok"] >= len(payloads)
    log = server.log.read_text(errors="replace")
    assert "warm-up payload not scored" not in log  # warmed up with its minimal payload


def test_a_left_out_model_input_is_a_400_naming_it(server: Server, chowell: Any) -> None:
    _, payloads = chowell
    payload = json.loads(json.dumps(payloads[0]))
    del payload["lines"][-1]["HLA_LOH"]
    status, body = post(server.url, {"inputs": [payload]})
    assert status == 400, body
    assert "HLA_LOH: missing; this recommender takes 'HLA_LOH' as a model input" in body
    assert payload["patient"]["patient_key"] not in body  # never an identifier back
