"""Patient payloads: checked fields, the case's tables, the JSON round trip, named errors."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd
import pytest

from precision_onco.config import Config
from precision_onco.recommend.patient import PatientCase, PayloadError, parse_payload

Payload = dict[str, Any]


def valid() -> Payload:
    """An NSCLC patient at line 2: line 1 given (with outcomes), line 2's labs, KRAS G12C."""
    return {
        "patient": {
            "patient_key": "pk_0123456789abcdef01234567",
            "sex": "F",
            "cancer_type": "NSCLC",
            "oncotree_code": "LUAD",
            "stage": "IV",
            "ecog": 1,
            "alk_status": "negative",
            "birth_year": 1958,
        },
        "line_number": 2,
        "lines": [
            {
                "line_number": 1,
                "regimen_id": "carboplatin_pemetrexed",
                "best_response": "PR",
                "start_date": "2023-01-10",
                "end_date": "2023-06-01",
                "ae_hematologic_max_grade": 3,
            },
            # the current line: its labs are inputs; its regimen and outcomes are ignored
            {
                "line_number": 2,
                "albumin": 3.4,
                "creatinine_clearance": 72,
                "pdl1_tps": 60,
                "regimen_id": "docetaxel",
                "best_response": "PD",
                "ae_any_max_grade": 4,
            },
        ],
        "variants": [
            {"gene": "KRAS", "hgvsp": "p.G12C", "vaf": 0.31, "depth": 210},
            {"gene": "STK11", "consequence": "stop_gained"},
        ],
        "preset": "balanced",
    }


@pytest.fixture(scope="module")
def tox(default_config: Config) -> tuple[str, ...]:
    return tuple(default_config.catalog.toxicity_categories)


def test_a_valid_payload_parses_to_typed_fields(tox: tuple[str, ...]) -> None:
    case = parse_payload(valid(), tox_categories=tox)
    assert isinstance(case, PatientCase)
    assert case.patient_key == "pk_0123456789abcdef01234567"
    assert case.line_number == 2 and case.preset == "balanced"
    assert case.patient["ecog"] == 1 and case.patient["alk_status"] == "negative"
    assert [r["line_number"] for r in case.lines] == [1, 2]
    first = case.lines[0]
    assert first["start_date"] == date(2023, 1, 10)
    assert first["best_response"] == "PR" and first["objective_response"] == 1
    assert first["ae_hematologic_max_grade"] == 3
    assert case.lines[1]["albumin"] == 3.4 and case.lines[1]["creatinine_clearance"] == 72.0
    kras, stk11 = case.variants
    assert kras["consequence"] == "protein_altering_variant" and kras["filter"] == "PASS"
    assert stk11["consequence"] == "stop_gained" and stk11.get("hgvsp") is None


def test_codes_are_read_through_their_aliases() -> None:
    p = valid()
    p["patient"]["sex"] = "female"
    p["lines"][0]["best_response"] = "partial response"
    p["lines"][1]["msi_status"] = "stable"
    case = parse_payload(p)
    assert case.patient["sex"] == "F"
    assert case.lines[0]["best_response"] == "PR" and case.lines[1]["msi_status"] == "MSS"


def test_tables_put_the_current_line_last_without_its_outcomes(tox: tuple[str, ...]) -> None:
    patients, lines, variants = parse_payload(valid(), tox_categories=tox).tables()
    key = "pk_0123456789abcdef01234567"
    assert len(patients) == 1 and patients.loc[0, "patient_key"] == key
    assert "patient_id" not in patients.columns
    assert list(lines["line_number"]) == [1, 2] and lines["line_number"].dtype == "int64"
    assert (lines["patient_key"] == key).all()
    earlier, current = lines.iloc[0], lines.iloc[1]
    assert earlier["regimen_id"] == "carboplatin_pemetrexed"
    assert earlier["best_response"] == "PR" and earlier["objective_response"] == 1
    assert earlier["ae_hematologic_max_grade"] == 3
    # outcomes of the line to recommend for are dropped (they are what is predicted)
    for col in (
        "regimen_id",
        "best_response",
        "objective_response",
        "ae_any_max_grade",
        "ae_hematologic_max_grade",
        "end_date",
    ):
        assert pd.isna(current.get(col)), col
    assert current["albumin"] == 3.4 and current["pdl1_tps"] == 60.0
    assert current["ecog"] == 1  # the patient's ECOG when the line gives none
    assert pd.api.types.is_datetime64_any_dtype(lines["start_date"])
    assert len(variants) == 2 and (variants["patient_key"] == key).all()
    assert list(variants["gene"]) == ["KRAS", "STK11"]
    assert variants["vaf"].dtype == "float64" and pd.isna(variants.loc[1, "vaf"])


def test_tables_add_the_current_line_when_the_payload_gives_only_earlier_lines() -> None:
    p = valid()
    p["lines"] = p["lines"][:1]
    p["patient"].pop("patient_key")
    patients, lines, variants = parse_payload(p).tables()
    assert list(lines["line_number"]) == [1, 2]
    assert pd.isna(lines.iloc[1]["regimen_id"]) and lines.iloc[1]["ecog"] == 1
    assert set(lines["patient_key"]) == {"new_patient"} == set(patients["patient_key"])


def test_to_payload_round_trips_through_parse_payload(tox: tuple[str, ...]) -> None:
    case = parse_payload(valid(), tox_categories=tox)
    payload = case.to_payload()
    text = json.dumps(payload, allow_nan=False)  # plain JSON: dates as ISO strings
    again = parse_payload(json.loads(text), tox_categories=tox)
    assert again == case
    assert again.to_payload() == payload


def _patient(**kw: Any) -> Callable[[Payload], Payload]:
    def f(p: Payload) -> Payload:
        p["patient"].update(kw)
        return p

    return f


def _line(i: int, **kw: Any) -> Callable[[Payload], Payload]:
    def f(p: Payload) -> Payload:
        p["lines"][i].update(kw)
        return p

    return f


def _variant(i: int, **kw: Any) -> Callable[[Payload], Payload]:
    def f(p: Payload) -> Payload:
        p["variants"][i].update(kw)
        for k in [k for k, v in kw.items() if v is _DROP]:
            del p["variants"][i][k]
        return p

    return f


def _set(key: str, value: Any) -> Callable[[Payload], Payload]:
    def f(p: Payload) -> Payload:
        p[key] = value
        return p

    return f


def _drop(key: str) -> Callable[[Payload], Payload]:
    def f(p: Payload) -> Payload:
        del p[key]
        return p

    return f


_DROP = object()

#: (mutation of the valid payload, the field the message must name, a further expected text)
MALFORMED: list[tuple[str, Callable[[Payload], Any], str, str]] = [
    ("not_an_object", lambda p: [p], "payload", "expected a JSON object"),
    ("json_string", lambda p: json.dumps(p), "payload", "got str"),
    ("unknown_top_level_key", _set("pateint", {}), "payload.pateint", "unknown field"),
    ("missing_patient", _drop("patient"), "payload.patient", "missing"),
    ("missing_line_number", _drop("line_number"), "payload.line_number", "missing"),
    ("line_number_zero", _set("line_number", 0), "line_number", "got 0"),
    ("line_number_text", _set("line_number", "x"), "line_number", "got 'x'"),
    ("line_number_fraction", _set("line_number", 1.5), "line_number", "got 1.5"),
    ("line_number_null", _set("line_number", None), "line_number", "got null"),
    ("patient_not_an_object", _set("patient", "NSCLC"), "patient", "expected an object"),
    ("ecog_7", _patient(ecog=7), "patient.ecog", "got 7"),
    ("ecog_bool", _patient(ecog=True), "patient.ecog", "got True"),
    ("sex_Q", _patient(sex="Q"), "patient.sex", "one of M, F"),
    (
        "raw_patient_id",
        _patient(patient_id="MRN-0042"),
        "patient.patient_id",
        "raw identifiers are not accepted",
    ),
    ("raw_mrn", _patient(mrn="0042"), "patient.mrn", "patient_key"),
    ("unknown_patient_field", _patient(ecgo=1), "patient.ecgo", "unknown field"),
    ("missing_cancer_type", _patient(cancer_type=None), "patient.cancer_type", "missing"),
    ("birth_year_out_of_range", _patient(birth_year=1700), "patient.birth_year", "1880"),
    ("lines_not_a_list", _set("lines", {"line_number": 1}), "lines", "expected a list"),
    ("line_not_an_object", _set("lines", [1]), "lines[0]", "expected an object"),
    ("albumin_12", _line(1, albumin=12), "lines[1].albumin", "g/dL, got 12"),
    (
        "line_after_line_number",
        _line(1, line_number=3),
        "lines[1].line_number",
        "after the line to recommend for",
    ),
    ("duplicate_line", _line(1, line_number=1), "lines[1].line_number", "given twice"),
    ("line_without_number", _line(0, line_number=None), "lines[0].line_number", "missing"),
    (
        "earlier_line_without_regimen",
        _line(0, regimen_id=None),
        "lines[0].regimen_id",
        "missing for earlier line 1",
    ),
    (
        "best_response_XX",
        _line(0, best_response="XX"),
        "lines[0].best_response",
        "one of CR, PR, SD, PD, NE",
    ),
    (
        "ae_grade_6",
        _line(0, ae_hematologic_max_grade=6),
        "lines[0].ae_hematologic_max_grade",
        "0–5",
    ),
    ("bad_date", _line(0, start_date="10/01/2023"), "lines[0].start_date", "YYYY-MM-DD"),
    ("unknown_line_field", _line(0, albumine=3.0), "lines[0].albumine", "unknown field"),
    ("variants_not_a_list", _set("variants", {"gene": "KRAS"}), "variants", "expected a list"),
    ("variant_without_gene", _variant(0, gene=_DROP), "variants[0].gene", "missing"),
    ("vaf_1_5", _variant(0, vaf=1.5), "variants[0].vaf", "got 1.5"),
    ("variant_without_hgvsp_or_consequence", _variant(0, hgvsp=_DROP), "variants[0]", "give hgvsp"),
    (
        "variant_sample_id",
        _variant(0, tumor_sample_id="TCGA-XX"),
        "variants[0].tumor_sample_id",
        "raw identifiers",
    ),
    ("preset_not_a_string", _set("preset", 3), "preset", "expected a preset name"),
    (
        "genes_tested_text",
        _set("genes_tested", "KRAS;NRAS"),
        "genes_tested",
        "expected a list of gene symbols",
    ),
    (
        "genes_tested_bad_symbol",
        _set("genes_tested", ["KRAS", "chr12:25245350"]),
        "genes_tested[1]",
        "expected a HGNC gene symbol",
    ),
    (
        "genes_tested_in_patient",
        _patient(genes_tested="KRAS"),
        "patient.genes_tested",
        "unknown field",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "where", "text"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_a_malformed_payload_names_the_field(
    mutate: Callable[[Payload], Any], where: str, text: str, tox: tuple[str, ...]
) -> None:
    payload = mutate(copy.deepcopy(valid()))
    with pytest.raises(PayloadError) as info:
        parse_payload(payload, tox_categories=tox)
    msg = str(info.value)
    assert msg.split(":")[0] == where, msg
    assert text in msg, msg
    assert "\n" not in msg


def test_payload_error_is_a_value_error_reported_as_a_user_error() -> None:
    from precision_onco.stage import EXPECTED_ERRORS, UserError

    assert issubclass(PayloadError, ValueError) and issubclass(PayloadError, UserError)
    assert issubclass(PayloadError, EXPECTED_ERRORS)


def test_genes_tested_and_called_genes_are_the_covered_genes() -> None:
    p = valid()
    case = parse_payload(p)
    assert case.genes_tested is None
    patients, _, _ = case.tables()
    assert patients["genes_tested"].tolist() == ["KRAS;STK11"]  # the genes with a call
    p["genes_tested"] = ["NRAS", "BRAF", "KRAS", "BRAF"]
    case = parse_payload(p)
    assert case.genes_tested == ["BRAF", "KRAS", "NRAS"]
    assert case.tables()[0]["genes_tested"].tolist() == ["BRAF;KRAS;NRAS;STK11"]
    assert parse_payload(case.to_payload()).genes_tested == ["BRAF", "KRAS", "NRAS"]
