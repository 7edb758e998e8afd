"""The serving process's pandas options (Python-backed strings, set once by
``precision-onco serve`` before it loads the model) change no answer: every payload of a
synthetic and of a real-shaped (Chowell 2022) cohort is answered identically with and
without them, in every answer format, and the batch path too."""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd

from precision_onco.recommend.examples import EXAMPLES, example_payload
from precision_onco.serve.server import SERVING_PANDAS_OPTIONS, serving_pandas_options

from ..recommend.cases import served_payload


def _payloads(tables: Any, feats: pd.DataFrame, extra: tuple[str, ...], n: int) -> list[Any]:
    keys = feats[["patient_key", "line_number"]].drop_duplicates().head(n)
    return [
        served_payload(tables, str(k), int(line), extra) for k, line in keys.itertuples(index=False)
    ]


#: the instants a FHIR answer is stamped with (its creation time), not compared
_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)")


def _scrub(doc: Any) -> Any:
    """``doc`` without what its creation time decides: an attachment's bytes (the HTML
    report, stamped with the time it was made), their hash and size."""
    if isinstance(doc, dict):
        drop = {"data", "hash", "size"} if "contentType" in doc else set()
        return {k: _scrub(v) for k, v in doc.items() if k not in drop}
    if isinstance(doc, list):
        return [_scrub(v) for v in doc]
    return doc


def _text(answer: Any) -> str:
    return _INSTANT.sub("<instant>", json.dumps(_scrub(answer), sort_keys=True, default=str))


def _answers(rec: Any, payloads: list[Any]) -> list[str]:
    return [_text(rec.recommend_payload(p)) for p in payloads]


def _check(rec: Any, payloads: list[Any]) -> None:
    before = _answers(rec, payloads)
    batch_before = rec.recommend_payloads([rec.parse(p) for p in payloads])
    with serving_pandas_options():
        assert pd.get_option("mode.string_storage") == "python"
        during = _answers(rec, payloads)
        batch_during = rec.recommend_payloads([rec.parse(p) for p in payloads])
    assert pd.get_option("mode.string_storage") != "python"  # the context is left
    assert sum('"ranked"' in a for a in before) >= len(before) // 2  # real answers
    for i, (a, b) in enumerate(zip(before, during, strict=True)):
        assert a == b, f"payload {i}: the answer changed under {SERVING_PANDAS_OPTIONS}"
    assert _text(batch_before) == _text(batch_during)
    assert [_text(a) for a in batch_before] == before  # the batch path answers the same


def test_synthetic_answers_are_the_same_under_the_serving_options(
    small_cohort: Any, small_recommender: Any
) -> None:
    _, _, tables, feats = small_cohort
    rec = small_recommender[2]
    payloads = _payloads(tables, feats, rec.extra_inputs, 60)
    payloads += [example_payload(name) for name in EXAMPLES]
    payloads += [{**example_payload("nsclc_kras_g12c"), "format": "fhir"}]
    _check(rec, payloads)


def test_real_shaped_answers_are_the_same_under_the_serving_options(
    real_shaped: Any,
) -> None:
    tables, feats, rec = real_shaped
    _check(rec, _payloads(tables, feats, rec.extra_inputs, 60))
