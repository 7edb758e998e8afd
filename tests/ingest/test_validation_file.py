"""A separate validation file (``cohort.inputs.test_lines``): held out, never trained on."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from precision_onco.config import Config, compose
from precision_onco.config.schema import CoverageConfig, TableInputConfig
from precision_onco.features import build_features, load_panel
from precision_onco.ingest.cohort import ingest_cohort
from precision_onco.models.evaluate import evaluate
from precision_onco.models.train import train_all

ROOT = Path(__file__).resolve().parents[2]
KEY = "a-test-key-of-enough-length-0123456789"

PATIENTS = {"patient_id": "SAMPLE_ID", "sex": "Sex", "cancer_type": "Cancer type"}
LINES = {
    "patient_id": "SAMPLE_ID",
    "regimen_id": "Drug",
    "albumin": "Albumin",
    "tmb": "TMB",
    "objective_response": "Response",
}


def _table(n: int, seed: int, prefix: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tmb = np.round(rng.lognormal(np.log(6), 1.0, n), 2)
    logit = -1.0 + 1.2 * np.log(tmb / 6)
    return pd.DataFrame(
        {
            "SAMPLE_ID": [f"{prefix}{i:04d}" for i in range(n)],
            "Sex": rng.choice(["M", "F"], n),
            "Cancer type": rng.choice(["NSCLC", "MEL"], n),
            "Albumin": np.round(rng.normal(3.8, 0.5, n), 1),
            "TMB": tmb,
            "Drug": "anti_pd1_pdl1",
            "Response": (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int),
        }
    )


def _cfg(train: Path, test: Path, *, split: bool = True, test_units: dict | None = None) -> Config:
    """A one-table cohort with its validation file in another centre's own units."""
    overrides = ["endpoints=response", "model.calibration=sigmoid", "model.max_rounds=200"]
    if split:
        overrides += ["split.method=column", "split.column=held_out", 'split.test_values=["1"]']
    _, base = compose(overrides, conf_dir=ROOT / "conf")
    lines = TableInputConfig(path=str(train), columns=dict(LINES), constants={"line_number": "1"})
    inputs = dataclasses.replace(
        base.cohort.inputs,
        patients=TableInputConfig(path=str(train), columns=dict(PATIENTS)),
        lines=lines,
        test_lines=dataclasses.replace(lines, path=str(test), units=dict(test_units or {})),
        vcf=dataclasses.replace(base.cohort.inputs.vcf, paths=[]),
        maf=dataclasses.replace(base.cohort.inputs.maf, paths=[]),
        samples=dataclasses.replace(base.cohort.inputs.samples, column=None),
        coverage=CoverageConfig(),  # a table cohort: no sequencing assay
    )
    cohort = dataclasses.replace(
        base.cohort,
        name="validation_test",
        synthetic=False,
        inputs=inputs,
        oncotree_codes=None,
        data_cutoff=None,
    )
    return dataclasses.replace(base, cohort=cohort)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRECISION_ONCO_PSEUDONYM_KEY", KEY)


def test_validation_file_is_the_test_set_with_its_patients(tmp_path: Path) -> None:
    train, test = tmp_path / "development.csv", tmp_path / "validation.csv"
    _table(260, 1, "D").to_csv(train, index=False)
    ext = _table(80, 2, "V")
    ext["Albumin"] = ext["Albumin"] * 10  # the other centre reports g/L
    ext.to_csv(test, index=False)
    cfg = _cfg(train, test, test_units={"albumin": "g/L->g/dL"})
    tables = ingest_cohort(cfg, root=tmp_path)
    s = tables.summary()
    assert s["warnings"] == []
    assert s["tables"] == {"patients": 340, "lines": 340, "variants": 0, "rejects": 0}
    kinds = [(Path(f["file"]).name, f["kind"], f["ingested"]) for f in s["files"]]
    assert kinds == [
        ("development.csv", "patients", 260),
        ("validation.csv", "patients", 80),
        ("development.csv", "lines", 260),
        ("validation.csv", "lines", 80),
    ]
    held = tables.lines[tables.lines["held_out"] == 1]
    assert len(held) == 80 and held["albumin"].between(0.5, 7).all()
    # the validation patients have their own patient rows (sex, cancer type)
    vp = tables.patients[tables.patients["patient_key"].isin(held["patient_key"])]
    assert len(vp) == 80 and vp["sex"].notna().all() and vp["cancer_type"].notna().all()
    feats = build_features(
        tables.patients,
        tables.lines,
        tables.variants,
        cfg.features,
        cfg.catalog,
        panel=load_panel(cfg.features, tmp_path),
        endpoint_columns=["objective_response"],
    )
    assert "held_out" not in feats.columns
    assert feats.loc[feats["patient_key"].isin(held["patient_key"]), "sex_male"].notna().all()
    res = train_all(cfg, feats, tables.lines)
    assert set(res.predictions["patient_key"]) == set(held["patient_key"])
    assert res.manifest["split_patients"]["test"] == 80
    # the evaluate stage's figures are those of the validation file's patients
    metrics, _ = evaluate(cfg, res.predictions, tables.lines, tables.patients)
    assert metrics["response"]["overall"]["n"] == 80
    assert 0.5 < metrics["response"]["overall"]["auc"] <= 1


def test_validation_file_without_the_split_is_a_warning(tmp_path: Path) -> None:
    train, test = tmp_path / "development.csv", tmp_path / "validation.csv"
    _table(40, 1, "D").to_csv(train, index=False)
    _table(10, 2, "V").to_csv(test, index=False)
    tables = ingest_cohort(_cfg(train, test, split=False), root=tmp_path)
    [w] = tables.summary()["warnings"]
    assert w == (
        "cohort.inputs.test_lines is set but the split does not hold its rows out "
        "(split.method=group); to validate on that file, set split.method=column, "
        'split.column=held_out, split.test_values=["1"]'
    )


def test_validation_file_problems_name_the_test_lines_key(tmp_path: Path) -> None:
    train, test = tmp_path / "development.csv", tmp_path / "validation.csv"
    _table(40, 1, "D").to_csv(train, index=False)
    ext = _table(30, 2, "V")
    ext["TMB"] = np.round(np.log2(ext["TMB"]), 3)
    ext.to_csv(test, index=False)
    s = ingest_cohort(_cfg(train, test), root=tmp_path).summary()
    [w] = s["warnings"]
    assert w.startswith("validation.csv: tmb: values look log-scaled")
    assert w.endswith('set cohort.inputs.test_lines.units.tmb: "log2->linear"')
