"""FHIR R4 / mCODE bundles to canonical rows: the mCODE examples and malformed bundles."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from precision_onco.config import compose
from precision_onco.config.schema import (
    CoverageConfig,
    MafInputConfig,
    SampleMapConfig,
    TableInputConfig,
    VcfInputConfig,
)
from precision_onco.ingest.cohort import ingest_cohort
from precision_onco.ingest.contracts import REJECT_COLUMNS, IngestError
from precision_onco.ingest.fhir import FhirResult, read_fhir_bundle

ROOT = Path(__file__).resolve().parents[2]
FHIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "fhir"
P01 = FHIR / "TrialMatching_Patient01.json"
P02 = FHIR / "TrialMatching_Patient02.json"

needs_bundles = pytest.mark.skipif(
    not (P01.is_file() and P02.is_file()),
    reason=f"mCODE trial-matching example bundles not found under {FHIR}",
)

LOINC = "http://loinc.org"


# ----------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def cfg() -> Any:
    """The default typed config (synthetic cohort, default catalog)."""
    _, c = compose([], conf_dir=ROOT / "conf")
    return c


def _accounted(r: FhirResult, *, read: int, rejected: int) -> None:
    """Every bundle entry is either ingested or rejected, and the reject table agrees."""
    rep = r.report
    assert rep.read == rep.ingested + rep.rejected
    assert (rep.read, rep.rejected) == (read, rejected), rep.as_dict()
    assert len(r.rejects) == rep.rejected
    assert list(r.rejects.columns) == list(REJECT_COLUMNS)
    assert sum(rep.rejected_by_reason.values()) == rep.rejected


def _bundle(tmp_path: Path, entries: list[Any], name: str = "bundle.json") -> Path:
    p = tmp_path / name
    p.write_text(
        json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}, indent=1),
        encoding="utf-8",
    )
    return p


def _patient(pid: str, birth: str = "1960-05-01", gender: str = "male") -> dict[str, Any]:
    return {
        "fullUrl": f"urn:uuid:{pid}",
        "resource": {"resourceType": "Patient", "id": pid, "gender": gender, "birthDate": birth},
    }


def _med(pid: str | None, drug: str, start: str, *, subject: Any = None) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "id": f"med-{drug}-{start}",
        "status": "completed",
        "medicationCodeableConcept": {"coding": [{"display": f"{drug} Injectable Product"}]},
        "effectiveDateTime": start,
    }
    if pid is not None:
        res["subject"] = {"reference": f"Patient/{pid}"}
    elif subject is not None:
        res["subject"] = subject
    return {"resource": res}


def _ecog(pid: str | None, value: int, when: str = "2020-01-01") -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"ecog-{value}",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "89247-1"}]},
        "effectiveDateTime": when,
        "valueInteger": value,
    }
    if pid is not None:
        res["subject"] = {"reference": f"Patient/{pid}"}
    return {"resource": res}


# ----------------------------------------------------------------------------- real bundles


@needs_bundles
def test_patient01(cfg: Any) -> None:
    """mCODE example 01: a breast-cancer patient, two variants, two lines of therapy."""
    r = read_fhir_bundle(P01, catalog=cfg.catalog)
    _accounted(r, read=18, rejected=0)
    assert len(r.patients) == 1
    pat = r.patients.iloc[0]
    assert pat["sex"] == "F"
    assert pat["birth_year"] == 1959
    assert pat["cancer_type"] == "BRCA"
    assert pat["stage"] == "IV"
    assert pat["er_status"] == "positive"
    assert pat["her2_status"] == "negative"
    assert pat["ecog"] == 1
    assert set(r.variants["gene"]) == {"ESR1", "PIK3CA"}
    assert (r.variants["patient_id"] == pat["patient_id"]).all()
    lines = r.lines.sort_values("line_number")
    assert list(lines["line_number"]) == [1, 2]
    assert list(lines["start_date"]) == [pd.Timestamp("2019-04-01"), pd.Timestamp("2019-06-01")]
    for drugs in lines["drugs"]:
        assert "fulvestrant" in drugs.split("+")
    # line 1 ends when line 2 starts
    assert lines["end_date"].iloc[0] == pd.Timestamp("2019-06-01")
    assert r.report.extra["not_modelled"] == {"Condition (not a primary cancer)": 3}


@needs_bundles
def test_patient02(cfg: Any) -> None:
    """mCODE example 02: eight lines, three amplified genes, a low TMB, five procedures."""
    r = read_fhir_bundle(P02, catalog=cfg.catalog)
    _accounted(r, read=29, rejected=0)
    assert len(r.patients) == 1
    assert r.patients.iloc[0]["tmb_status"] == "low"
    assert len(r.lines) == 8
    assert list(r.lines["line_number"]) == list(range(1, 9))
    assert r.lines["start_date"].is_monotonic_increasing
    assert set(r.variants["gene"]) == {"CCND1", "FGFR1", "MDM2"}
    assert (r.variants["consequence"] == "feature_amplification").all()
    nm = r.report.extra["not_modelled"]
    assert nm["Procedure"] == 5
    assert r.report.extra["resources_used"] + sum(nm.values()) == r.report.ingested


@needs_bundles
def test_bundles_through_cohort_ingest_leak_no_identifier(
    cfg: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Raw ids, the MRN and the patients' names appear in no output table nor the summary."""
    monkeypatch.delenv("PRECISION_ONCO_PSEUDONYM_KEY", raising=False)
    # the synthetic cohort's sample map (a patients-table column) and MAF do not apply here
    inputs = dataclasses.replace(
        cfg.cohort.inputs,
        patients=TableInputConfig(),
        lines=TableInputConfig(),
        vcf=VcfInputConfig(),
        maf=MafInputConfig(),
        samples=SampleMapConfig(),
        coverage=CoverageConfig(),
        fhir=[str(P01), str(P02)],
    )
    cohort = dataclasses.replace(cfg.cohort, inputs=inputs, synthetic=True)
    t = ingest_cohort(dataclasses.replace(cfg, cohort=cohort), root=tmp_path)
    assert len(t.patients) == 2
    assert len(t.lines) == 10
    assert len(t.variants) == 5
    assert t.patients["patient_key"].str.match(r"^pk_[0-9a-f]{24}$").all()
    assert set(t.lines["patient_key"]) == set(t.patients["patient_key"])
    assert set(t.variants["patient_key"]) == set(t.patients["patient_key"])
    s = t.summary()
    assert [f["read"] for f in s["files"]] == [18, 29]
    for f in s["files"]:
        assert f["read"] == f["ingested"] + f["rejected"]
    forbidden = [
        re.compile(r"mCODETrialMatchingPatientExample0[12]"),
        re.compile(r"(?<![A-Za-z0-9_-])a123(?![A-Za-z0-9_-])"),
        re.compile(r"Patient [BD] TrialMatching"),
        re.compile(r"TrialMatching,? Patient"),
    ]
    texts: list[str] = [json.dumps(s, default=str)]
    for name in ("patients", "lines", "variants", "rejects"):
        df: pd.DataFrame = getattr(t, name)
        assert "patient_id" not in df.columns
        texts += [str(c) for c in df.columns]
        for c in df.columns:
            texts += [str(v) for v in df[c].dropna().unique()]
    for text in texts:
        for rx in forbidden:
            assert not rx.search(text), f"{rx.pattern} found in {text[:200]!r}"


# ----------------------------------------------------------------------------- malformed


def test_not_json(tmp_path: Path) -> None:
    p = tmp_path / "b.json"
    p.write_text('{\n  "resourceType": "Bundle",\n  "entry": [}\n}\n', encoding="utf-8")
    with pytest.raises(IngestError, match=r"b\.json:3: not valid JSON \(.*, column \d+\)") as ei:
        read_fhir_bundle(p)
    assert ei.value.line == 3


def test_not_a_bundle(tmp_path: Path) -> None:
    p = tmp_path / "b.json"
    p.write_text(json.dumps(_patient("p1")["resource"]), encoding="utf-8")
    with pytest.raises(IngestError, match=r"expected a FHIR Bundle, found resourceType 'Patient'"):
        read_fhir_bundle(p)
    p.write_text("[]", encoding="utf-8")
    with pytest.raises(IngestError, match=r"expected a FHIR Bundle, found resourceType 'list'"):
        read_fhir_bundle(p)


@pytest.mark.parametrize("content", [b"", b"  \n\t\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "b.json"
    p.write_bytes(content)
    with pytest.raises(
        IngestError, match=r"b\.json: empty file \(expected a FHIR Bundle in JSON\)"
    ):
        read_fhir_bundle(p)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"none\.json: input file not found"):
        read_fhir_bundle(tmp_path / "none.json")


def test_entry_is_not_a_list(tmp_path: Path) -> None:
    p = tmp_path / "b.json"
    p.write_text(json.dumps({"resourceType": "Bundle", "entry": {"a": 1}}), encoding="utf-8")
    with pytest.raises(IngestError, match=r"Bundle\.entry is not a list"):
        read_fhir_bundle(p)


def test_invalid_resource_is_rejected_alone(tmp_path: Path) -> None:
    """A second patient with birthDate 1959-13-01 is rejected naming the field; the rest is kept."""
    p = _bundle(
        tmp_path,
        [
            _patient("p1"),
            _patient("p2", birth="1959-13-01"),
            _med("p1", "cisplatin", "2020-01-01"),
            _ecog("p1", 1),
        ],
    )
    r = read_fhir_bundle(p)
    _accounted(r, read=4, rejected=1)
    assert list(r.patients["patient_id"]) == ["p1"]
    assert r.patients.iloc[0]["birth_year"] == 1960
    assert r.patients.iloc[0]["ecog"] == 1
    assert list(r.lines["regimen_id"]) == ["cisplatin"]
    (reason,) = r.rejects["reason"]
    assert re.match(r"invalid resource: entry 2 \(Patient\): birthDate: ", reason), reason
    assert list(r.rejects["source_line"]) == [2]
    assert r.rejects["raw"].iloc[0] == "Patient/p2"


def test_observation_with_invalid_status_is_rejected(tmp_path: Path) -> None:
    """Observation.status has a required binding; 'bogus' makes the resource invalid."""
    bad = _ecog("p1", 2)
    bad["resource"]["status"] = "bogus"
    p = _bundle(tmp_path, [_patient("p1"), _ecog("p1", 1, "2019-01-01"), bad])
    r = read_fhir_bundle(p)
    _accounted(r, read=3, rejected=1)
    assert re.match(r"invalid resource: entry 3 \(Observation\): status", r.rejects["reason"][0])
    assert r.patients.iloc[0]["ecog"] == 1


def test_unknown_resource_type_and_empty_entry(tmp_path: Path) -> None:
    p = _bundle(
        tmp_path,
        [
            _patient("p1"),
            {"resource": {"resourceType": "Nonsense", "id": "x"}},
            {"fullUrl": "urn:uuid:nothing"},
        ],
    )
    r = read_fhir_bundle(p)
    _accounted(r, read=3, rejected=2)
    assert list(r.patients["patient_id"]) == ["p1"]
    assert r.report.rejected_by_reason == {"unknown resource type": 1, "not a FHIR resource": 1}


def test_medication_without_subject_reference(tmp_path: Path) -> None:
    """A medication whose subject names no patient is rejected as 'no subject'."""
    p = _bundle(
        tmp_path,
        [
            _patient("p1"),
            _med("p1", "pembrolizumab", "2020-01-01"),
            _med(None, "docetaxel", "2020-03-01", subject={"display": "someone"}),
        ],
    )
    r = read_fhir_bundle(p)
    _accounted(r, read=3, rejected=1)
    assert list(r.lines["regimen_id"]) == ["pembrolizumab"]
    assert list(r.rejects["reason"]) == ["no subject: the medication names no patient"]
    assert list(r.rejects["source_line"]) == [3]


def test_medication_with_no_subject_element(tmp_path: Path) -> None:
    """MedicationStatement.subject is required in R4: without it the resource is invalid."""
    p = _bundle(
        tmp_path,
        [
            _patient("p1"),
            _med("p1", "pembrolizumab", "2020-01-01"),
            _med(None, "docetaxel", "2020-03-01"),
        ],
    )
    r = read_fhir_bundle(p)
    _accounted(r, read=3, rejected=1)
    assert len(r.lines) == 1
    assert re.fullmatch(
        r"invalid resource: entry 3 \(MedicationStatement\): subject: .*", r.rejects["reason"][0]
    )


def test_observation_without_subject(tmp_path: Path) -> None:
    p = _bundle(tmp_path, [_patient("p1"), _ecog("p1", 0), _ecog(None, 2)])
    r = read_fhir_bundle(p)
    _accounted(r, read=3, rejected=1)
    assert r.patients.iloc[0]["ecog"] == 0
    assert list(r.rejects["reason"]) == ["no subject: the observation names no patient"]


def test_ecog_out_of_range(tmp_path: Path) -> None:
    """ECOG 9 is rejected; the patient's valid ECOG is kept."""
    p = _bundle(
        tmp_path,
        [
            _patient("p1"),
            _ecog("p1", 9, "2020-02-01"),
            _ecog("p1", 1, "2020-01-01"),
            _med("p1", "nivolumab", "2020-03-01"),
        ],
    )
    r = read_fhir_bundle(p)
    _accounted(r, read=4, rejected=1)
    assert r.patients.iloc[0]["ecog"] == 1
    assert r.lines.iloc[0]["ecog"] == 1
    assert list(r.rejects["reason"]) == ["out of range: ECOG 9 is not 0–4"]
    assert list(r.rejects["source_line"]) == [2]


def test_lines_group_drugs_by_start_and_match_catalog(cfg: Any, tmp_path: Path) -> None:
    """Drugs starting together form one line, named after the catalog regimen with those drugs."""
    reg = next(r for r in cfg.catalog.regimens if len(r.drugs) == 2)
    d1, d2 = (d.lower() for d in reg.drugs)
    p = _bundle(
        tmp_path,
        [
            _patient("p1"),
            _med("p1", d1, "2021-01-01"),
            _med("p1", d2, "2021-01-01"),
            _med("p1", "unobtainium", "2021-06-01"),
        ],
    )
    r = read_fhir_bundle(p, catalog=cfg.catalog)
    _accounted(r, read=4, rejected=0)
    assert list(r.lines["regimen_id"]) == [reg.id, "unobtainium"]
    assert list(r.lines["drugs"]) == ["+".join(sorted([d1, d2])), "unobtainium"]
    assert r.lines["end_date"].iloc[0] == pd.Timestamp("2021-06-01")
    assert pd.isna(r.lines["end_date"].iloc[1])
    assert any("match no catalog regimen" in w for w in r.report.warnings)


# ------------------------------------------------------------------ uracilemia (issue 17)


def _uracil(
    pid: str,
    value: float,
    when: str,
    *,
    code: str = "uracil-plasma",
    unit: str = "ng/mL",
    oid: str = "u1",
) -> dict[str, Any]:
    return {
        "resource": {
            "resourceType": "Observation",
            "id": oid,
            "status": "final",
            "subject": {"reference": f"Patient/{pid}"},
            "code": {"coding": [{"system": "urn:precision-onco:lab", "code": code}]},
            "effectiveDateTime": when,
            "valueQuantity": {"value": value, "unit": unit},
        }
    }


def test_uracil_observation_is_the_line_start_uracilemia(cfg: Any, tmp_path: Path) -> None:
    """The configured uracil code gives each line the latest value on or before its start."""
    codes = cfg.cohort.inputs.fhir_uracil_codes
    assert codes == ["urn:precision-onco:lab|uracil-plasma"]
    p = _bundle(
        tmp_path,
        [
            _patient("p1"),
            _med("p1", "capecitabine", "2021-03-01"),
            _med("p1", "fulvestrant", "2021-09-01"),
            _uracil("p1", 12.5, "2021-02-20", oid="u1"),
            _uracil("p1", 31.0, "2021-08-15", oid="u2"),
            _uracil("p1", 99.0, "2022-01-01", oid="u3"),  # after every line: used by none
        ],
    )
    r = read_fhir_bundle(p, catalog=cfg.catalog, uracil_codes=codes)
    _accounted(r, read=6, rejected=0)
    assert r.lines.sort_values("line_number")["uracil_ng_ml"].tolist() == [12.5, 31.0]
    # without the code configured, the observations are "not modelled" and lines have none
    plain = read_fhir_bundle(p, catalog=cfg.catalog)
    assert "uracil_ng_ml" not in plain.lines.columns
    assert "Observation (no LOINC code)" in plain.report.extra["not_modelled"]


def test_uracil_in_another_unit_is_rejected_with_the_unit(cfg: Any, tmp_path: Path) -> None:
    p = _bundle(
        tmp_path,
        [
            _patient("p1"),
            _med("p1", "capecitabine", "2021-03-01"),
            _uracil("p1", 0.11, "2021-02-20", unit="umol/L"),
        ],
    )
    r = read_fhir_bundle(p, catalog=cfg.catalog, uracil_codes=["uracil-plasma"])
    _accounted(r, read=3, rejected=1)
    assert r.rejects["reason"][0] == (
        "unusable value: uracil 0.11 'umol/L': a quantity in ng/mL is expected"
    )
