"""The whole-cohort ingest on a small synthetic cohort: accounting, linkage, pseudonymization."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from precision_onco.config import Config, compose, outputs
from precision_onco.ingest.cohort import Redactor, ingest_cohort
from precision_onco.ingest.contracts import IngestError
from precision_onco.ingest.write import write_outputs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cohort(raw_cohort: tuple[Path, Config]) -> tuple[Path, Config]:
    return raw_cohort


@pytest.fixture(scope="module")
def tables(cohort):
    root, cfg = cohort
    return ingest_cohort(cfg, root=root)


def test_every_record_is_accounted_for(tables, cohort) -> None:
    root, _ = cohort
    s = tables.summary()
    for f in s["files"]:
        assert f["read"] == f["ingested"] + f["rejected"], f
    vcf = s["by_kind"]["vcf"]
    assert vcf["files"] == len(list((root / "data/raw/vcf").glob("*.vcf.gz")))
    # every PASS call of every sample is a variant row; artefacts are rejected as not PASS
    maf = pd.read_csv(root / "data/raw/cohort.maf.gz", sep="\t", comment="#", low_memory=False)
    assert len(tables.variants) == int((maf["FILTER"] == "PASS").sum())
    assert s["rejected_by_reason"].get("not PASS", 0) > 0


def test_tables_are_linked_and_pseudonymized(tables, cohort) -> None:
    root, _ = cohort
    raw = pd.read_csv(root / "data/raw/patients.csv")
    assert len(tables.patients) == len(raw)
    assert set(tables.variants["patient_key"]) <= set(tables.patients["patient_key"])
    assert set(tables.lines["patient_key"]) <= set(tables.patients["patient_key"])
    assert tables.patients["patient_key"].str.match(r"^pk_[0-9a-f]{24}$").all()
    raw_ids = set(raw["patient_id"]) | set(raw["tumor_sample_id"]) | set(raw["normal_sample_id"])
    redact = Redactor({r: "x" for r in raw_ids})
    for name in ("patients", "lines", "variants", "rejects"):
        t = getattr(tables, name)
        assert "patient_id" not in t.columns
        for c in t.columns:
            if t[c].dtype.kind == "O" or str(t[c].dtype) in ("string", "str"):
                vals = t[c].dropna().astype(str).unique()
                assert not any(redact.leaks(v) for v in vals), f"{name}.{c} leaks a raw identifier"
    assert not redact.leaks(json.dumps(tables.summary()))


def test_outputs_are_written(tables, tmp_path: Path) -> None:
    paths = write_outputs(tables, outputs(compose(conf_dir=ROOT / "conf")[1], root=tmp_path))
    for name in ("patients", "lines", "variants", "rejects"):
        assert len(pd.read_parquet(paths[name])) == len(getattr(tables, name))
    summary = json.loads(paths["summary"].read_text())
    assert summary["tables"]["variants"] == len(tables.variants)
    # streamed record by record, the file is the text of the whole summary dumped at once
    text = json.dumps(tables.summary(), indent=2, default=str) + "\n"
    assert paths["summary"].read_text() == text
    assert summary["by_kind"] == tables.totals()["by_kind"]


def test_summary_chunks_are_the_whole_dump(tables) -> None:
    """The streamed summary's text, with no file, one file, and files of nested, empty and
    non-JSON values (dumped with ``default=str`` as before)."""
    report = dataclasses.replace(
        tables.files[0],
        rejected_by_reason={"not PASS": 2, 'bad "quote"\nline': 1},
        warnings=["w1", ""],
        extra={"when": Path("a/b"), "nested": {"x": [1, {"y": None}], "e": {}}, "l": []},
    )
    for files in ([], [report], [report, *tables.files]):
        t = dataclasses.replace(tables, files=files)
        want = json.dumps(t.summary(), indent=2, default=str)
        assert "".join(t.summary_chunks()) == want
        records = json.dumps([f.as_dict() for f in files], default=str)
        assert json.loads(want)["files"] == json.loads(records)


def test_known_hotspot_survives_ingest(tables) -> None:
    hot = tables.variants[tables.variants["hgvsp_short"].isin(["p.L858R", "p.G12C", "p.V600E"])]
    assert len(hot) > 0
    assert hot["vaf"].between(0, 1).all() and (hot["depth"] > 0).all()


def test_missing_protein_change_stays_missing(tables) -> None:
    """A variant without a protein change (non-coding, or HGVSp not given) keeps no short
    form: ``hgvsp_short`` is missing there, never the text ``p.<NA>``."""
    v = tables.variants
    assert v["hgvsp_short"].isna().eq(v["hgvsp"].isna() | v["hgvsp"].astype(str).eq("")).all()
    assert not v["hgvsp_short"].dropna().str.contains("<NA>|nan", regex=True).any()


def test_real_cohort_without_key_is_refused(cohort, monkeypatch: pytest.MonkeyPatch) -> None:
    root, cfg = cohort
    monkeypatch.delenv("PRECISION_ONCO_PSEUDONYM_KEY", raising=False)
    real = dataclasses.replace(cfg, cohort=dataclasses.replace(cfg.cohort, synthetic=False))
    with pytest.raises(ValueError, match="PRECISION_ONCO_PSEUDONYM_KEY"):
        ingest_cohort(real, root=root)


def test_missing_input_file_names_it(cohort, tmp_path: Path) -> None:
    root, cfg = cohort
    other = tmp_path / "copy"
    shutil.copytree(root, other)
    (other / "data/raw/patients.csv").unlink()
    with pytest.raises(IngestError, match="patients.csv"):
        ingest_cohort(cfg, root=other)


def test_a_raw_identifier_in_a_file_record_stops_the_write(tables) -> None:
    """The leak check reads the summary piece by piece: an identifier in the last file's
    record, as in the first, is found."""
    from precision_onco.ingest.cohort import _assert_no_leak

    redact = Redactor({"PT-RAW-0001": "pk_0001"})
    _assert_no_leak(tables, redact)  # the fixture's tables hold none
    for where in (0, -1):
        files = list(tables.files)
        files[where] = dataclasses.replace(files[where], warnings=["sample PT-RAW-0001: odd"])
        with pytest.raises(AssertionError, match="ingest summary"):
            _assert_no_leak(dataclasses.replace(tables, files=files), redact)
