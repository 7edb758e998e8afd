"""A recommender trained with ``features.extra`` (the Chowell cohort's own FCNA, HED, HLA_LOH
and MSI_SCORE) takes those inputs from its payloads: served answers equal the in-process
ones, and a payload that leaves one out or sends it wrong is refused with the field named."""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import joblib
import pytest

from precision_onco.recommend.patient import PayloadError, parse_payload
from precision_onco.recommend.service import Recommender
from precision_onco.serve import ServeSettings, create_app
from precision_onco.serve.server import load_recommender

from ..serve.asgi import post
from .cases import case_from_tables, served_payload

EXTRA = ("FCNA", "HED", "HLA_LOH", "MSI_SCORE")


def _answer(rec: Recommender, payload: dict[str, Any]) -> str:
    case, _ = rec.parse(payload)
    return json.dumps(rec.recommend(case).to_dict(), sort_keys=True, default=str)


@pytest.fixture(scope="module")
def chowell(real_shaped: Any) -> tuple[Any, Recommender, list[tuple[str, int]]]:
    tables, _, rec = real_shaped
    assert rec.extra_inputs == EXTRA
    pick = tables.lines[["patient_key", "line_number"]].sample(20, random_state=5)
    keys = [(str(k), int(n)) for k, n in zip(pick["patient_key"], pick["line_number"], strict=True)]

    def ranked(key: tuple[str, int]) -> bool:
        return rec.recommend(case_from_tables(tables, *key)).to_dict()["status"] == "ranked"

    keys.sort(key=ranked, reverse=True)  # keys[0]: a patient with ranked regimens
    assert ranked(keys[0])
    return tables, rec, keys


def test_served_payloads_answer_as_the_cohort_tables(chowell: Any) -> None:
    """A payload with the extra inputs in the current line's entry gets the answer of the
    same patient taken from the ingested tables (every model input the same)."""
    tables, rec, keys = chowell
    ranked = 0
    for key, line in keys:
        payload = served_payload(tables, key, line, EXTRA)
        want = json.dumps(
            rec.recommend(case_from_tables(tables, key, line)).to_dict(),
            sort_keys=True,
            default=str,
        )
        assert _answer(rec, payload) == want
        ranked += json.loads(want)["status"] == "ranked"
    assert ranked >= 10


def test_an_extra_input_in_the_patient_is_the_same_as_in_the_line(chowell: Any) -> None:
    tables, rec, keys = chowell
    key, line = keys[0]
    payload = served_payload(tables, key, line, EXTRA)
    moved = copy.deepcopy(payload)
    current = next(r for r in moved["lines"] if r["line_number"] == line)
    for c in EXTRA:
        moved["patient"][c] = current.pop(c)
    assert _answer(rec, moved) == _answer(rec, payload)
    # the line's value wins over the patient's
    both = copy.deepcopy(payload)
    both["patient"]["FCNA"] = 123.0
    assert _answer(rec, both) == _answer(rec, payload)


def test_a_left_out_extra_input_is_refused_with_its_name(chowell: Any) -> None:
    tables, rec, keys = chowell
    key, line = keys[0]
    payload = served_payload(tables, key, line, EXTRA)
    current = next(r for r in payload["lines"] if r["line_number"] == line)
    del current["HED"]
    with pytest.raises(PayloadError) as err:
        rec.parse(payload)
    msg = str(err.value)
    assert msg.startswith("patient.HED: missing; this recommender takes 'HED' as a model input")
    assert "null when unknown" in msg


def test_an_unknown_extra_input_is_scored_as_missing(chowell: Any) -> None:
    """``null`` is an accepted value: the model scores it as a missing value, the same
    answer as a patient whose table cells are empty (a case of the tables keeps no empty
    value, so it is told which inputs it has)."""
    tables, rec, keys = chowell
    key, line = keys[0]
    payload = served_payload(tables, key, line, EXTRA)
    current = next(r for r in payload["lines"] if r["line_number"] == line)
    for c in EXTRA:
        current[c] = None
    blank = copy.copy(tables)
    blank.lines = tables.lines.copy()
    blank.lines.loc[blank.lines["patient_key"] == key, list(EXTRA)] = float("nan")
    blank.patients = tables.patients.copy()
    blank.patients.loc[blank.patients["patient_key"] == key, list(EXTRA)] = float("nan")
    want = json.dumps(
        rec.recommend(
            dataclasses.replace(case_from_tables(blank, key, line), extra_inputs=EXTRA)
        ).to_dict(),
        sort_keys=True,
        default=str,
    )
    got = _answer(rec, payload)
    assert got == want
    assert json.loads(got)["status"] == "ranked"
    assert got != _answer(rec, served_payload(tables, key, line, EXTRA))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("high", "expected a number, got 'high'"),
        (float("inf"), "numbers must be finite"),
        (True, "expected a number, got True"),
    ],
)
def test_a_wrong_extra_input_names_the_field(chowell: Any, value: Any, expected: str) -> None:
    tables, rec, keys = chowell
    key, line = keys[0]
    payload = served_payload(tables, key, line, EXTRA)
    i = next(i for i, r in enumerate(payload["lines"]) if r["line_number"] == line)
    payload["lines"][i]["FCNA"] = value
    with pytest.raises(PayloadError) as err:
        rec.parse(payload)
    assert str(err.value).startswith(f"lines[{i}].FCNA: ")
    assert expected in str(err.value)


def test_an_unknown_field_lists_the_model_inputs(chowell: Any) -> None:
    tables, rec, keys = chowell
    key, line = keys[0]
    payload = served_payload(tables, key, line, EXTRA)
    payload["patient"]["Cancer_Type2"] = 1
    with pytest.raises(PayloadError) as err:
        rec.parse(payload)
    msg = str(err.value)
    assert msg.startswith("patient.Cancer_Type2: unknown field (expected one of: ")
    assert msg.endswith("; or this recommender's model inputs: FCNA, HED, HLA_LOH, MSI_SCORE)")


def test_a_recommender_without_extra_inputs_refuses_them(small_recommender: Any) -> None:
    from precision_onco.recommend.examples import example_payload

    rec: Recommender = small_recommender[2]
    assert rec.extra_inputs == ()
    payload = example_payload("nsclc_kras_g12c")
    payload["patient"]["FCNA"] = 0.2
    with pytest.raises(PayloadError, match=r"^patient\.FCNA: unknown field \(expected one of"):
        rec.parse(payload)


def test_to_payload_keeps_an_unknown_extra_input(chowell: Any) -> None:
    tables, rec, keys = chowell
    key, line = keys[0]
    payload = served_payload(tables, key, line, EXTRA)
    payload["patient"]["HED"] = None
    del next(r for r in payload["lines"] if r["line_number"] == line)["HED"]
    case, _ = rec.parse(payload)
    again = case.to_payload()
    assert again["patient"]["HED"] is None
    assert parse_payload(again, extra_inputs=EXTRA) == case


def test_the_minimal_payload_is_scored(chowell: Any) -> None:
    _, rec, _ = chowell
    payload = rec.minimal_payload()
    assert set(EXTRA) <= set(payload["patient"])
    assert json.loads(_answer(rec, payload))["status"] in ("ranked", "no_eligible_regimen")


def test_the_server_warms_up_and_serves_a_real_shaped_recommender(
    chowell: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``precision-onco serve``'s loader warms a recommender of another catalog up with its
    minimal payload; its app answers served payloads as in process, and a left-out input
    is a 400 naming it (never a 500)."""
    tables, rec, keys = chowell
    model = tmp_path / "recommender.joblib"
    joblib.dump(rec, model)
    with caplog.at_level(logging.INFO, logger="precision_onco.serve.server"):
        served = load_recommender(model)
    assert "warm-up payload not scored" not in caplog.text
    app = create_app(served, ServeSettings(max_body_bytes=200_000, max_batch=5))
    for key, line in keys[:5]:
        payload = served_payload(tables, key, line, EXTRA)
        status, body = post(app, {"inputs": [payload]})
        assert status == 200, body
        assert body["predictions"] == json.loads(json.dumps([rec.recommend_payload(payload)]))
    key, line = keys[0]
    payload = served_payload(tables, key, line, EXTRA)
    del payload["lines"][-1]["FCNA"]
    status, body = post(app, {"inputs": [payload]})
    assert status == 400
    assert "FCNA: missing; this recommender takes 'FCNA' as a model input" in json.dumps(body)


def test_a_clinical_csv_in_the_cohorts_own_layout_answers_as_ingest(
    chowell: Any, shared_data: Path, project_root: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    """``precision-onco recommend --clinical`` with a row of the Chowell table as the authors
    wrote it (their column names, codes and no line number): the cohort's mapping applies
    as in ingest, the model inputs come along, and the answer is that of the ingested row."""
    import pandas as pd

    from precision_onco.config import compose
    from precision_onco.ingest.pseudonymize import pseudonymize, resolve_key
    from precision_onco.recommend.inputs import new_patient_payload

    tables, rec, keys = chowell
    monkeypatch.setenv("PRECISION_ONCO_PSEUDONYM_KEY", "fast-path-test-key-" + "0" * 16)
    _, cfg = compose(["cohort=chowell2022"], conf_dir=project_root / "conf")
    table = pd.read_csv(shared_data / "cohorts" / "chowell2022_icb_training.csv")
    secret = resolve_key(cfg.cohort.pseudonymization, synthetic=False)
    pseudonyms = pseudonymize(table["SAMPLE_ID"].astype(str).tolist(), secret)
    by_key = dict(zip(pseudonyms, table.index, strict=True))
    checked = 0
    for key, line in keys[:6]:
        path = tmp_path / f"{key}.csv"
        table.loc[[by_key[key]]].to_csv(path, index=False)
        payload, _ = new_patient_payload(cfg, clinical=path, line=line, project_root=project_root)
        assert payload["patient"]["patient_key"] == key
        assert "SAMPLE_ID" not in json.dumps(payload)
        want = rec.recommend(case_from_tables(tables, key, line)).to_dict()
        assert _answer(rec, payload) == json.dumps(want, sort_keys=True, default=str)
        checked += want["status"] == "ranked"
    assert checked >= 1


def test_a_code_outside_the_cohorts_list_names_the_line(
    shared_data: Path, project_root: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    import pandas as pd

    from precision_onco.config import compose
    from precision_onco.ingest.contracts import IngestError
    from precision_onco.recommend.inputs import new_patient_payload

    monkeypatch.setenv("PRECISION_ONCO_PSEUDONYM_KEY", "fast-path-test-key-" + "0" * 16)
    _, cfg = compose(["cohort=chowell2022"], conf_dir=project_root / "conf")
    row = pd.read_csv(shared_data / "cohorts" / "chowell2022_icb_training.csv").head(1)
    row["Drug_class"] = "snake_oil"
    path = tmp_path / "patient.csv"
    row.to_csv(path, index=False)
    with pytest.raises(IngestError) as err:
        new_patient_payload(cfg, clinical=path, line=1, project_root=project_root)
    msg = str(err.value)
    assert msg.startswith(f"{path}:2: value not in code list: regimen_id: 'snake_oil'")
