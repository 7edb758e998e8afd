"""Columns on another scale: a warning naming the column, the likely scale and the fix."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from precision_onco.config import Config, compose, outputs
from precision_onco.config.schema import CoverageConfig, TableInputConfig
from precision_onco.ingest.cohort import ingest_cohort
from precision_onco.ingest.contracts import IngestError
from precision_onco.ingest.tables import LINE_FIELDS, read_lines
from precision_onco.ingest.write import write_outputs

ROOT = Path(__file__).resolve().parents[2]
KEY = "a-test-key-of-enough-length-0123456789"
N = 94

PATIENTS = {
    "patient_id": "SAMPLE_ID",
    "sex": "Sex (1:Male; 0:Female)",
    "cancer_type": "Cancer_type_grouped_2",
}
LINES = {
    "patient_id": "SAMPLE_ID",
    "regimen_id": "Drug_class",
    "age_at_line": "Age",
    "albumin": "Albumin",
    "hemoglobin": "HGB",
    "platelets": "Platelets",
    "nlr": "NLR",
    "tmb": "TMB",
    "pdl1_tps": "PD-L1 (%)",
    "objective_response": "Response (1:Responder; 0:Non-responder)",
}


def _table(seed: int = 3, **overrides: Any) -> pd.DataFrame:
    """A Chowell-shaped one-table cohort of 94 patients on the canonical scales."""
    rng = np.random.default_rng(seed)
    tmb = np.round(rng.lognormal(np.log(6), 1.1, N), 2)
    df = pd.DataFrame(
        {
            "SAMPLE_ID": [f"S{i:03d}" for i in range(N)],
            "Sex (1:Male; 0:Female)": rng.integers(0, 2, N),
            "Cancer_type_grouped_2": rng.choice(["NSCLC", "MEL"], N),
            "Age": np.round(rng.uniform(35, 85, N), 1),
            "Albumin": np.round(rng.normal(3.8, 0.4, N), 1),
            "HGB": np.round(rng.normal(12.5, 1.5, N), 1),
            "Platelets": np.round(rng.normal(260, 60, N)),
            "NLR": np.round(rng.lognormal(1.3, 0.6, N), 2),
            "TMB": tmb,
            "PD-L1 (%)": rng.choice([0, 1, 5, 20, 50, 80], N),
            "Drug_class": "anti_pd1_pdl1",
            "Response (1:Responder; 0:Non-responder)": (rng.uniform(size=N) < 0.2).astype(int),
        }
    )
    for k, v in overrides.items():
        df[k] = v(df[k]) if callable(v) else v
    return df


def _cfg(path: Path, *, units: dict[str, str] | None = None) -> Config:
    """A one-table cohort config (patients and lines from ``path``), as chowell2022.yaml does."""
    _, base = compose(["endpoints=response"], conf_dir=ROOT / "conf")
    inputs = dataclasses.replace(
        base.cohort.inputs,
        patients=TableInputConfig(
            path=str(path), columns=dict(PATIENTS), values={"sex": "1:M; 0:F"}
        ),
        lines=TableInputConfig(
            path=str(path),
            columns=dict(LINES),
            units=dict(units or {}),
            constants={"line_number": "1"},
        ),
        vcf=dataclasses.replace(base.cohort.inputs.vcf, paths=[]),
        maf=dataclasses.replace(base.cohort.inputs.maf, paths=[]),
        samples=dataclasses.replace(base.cohort.inputs.samples, column=None),
        coverage=CoverageConfig(),  # a table cohort: no sequencing assay
    )
    cohort = dataclasses.replace(
        base.cohort,
        name="units_test",
        synthetic=False,
        inputs=inputs,
        oncotree_codes=None,
        data_cutoff=None,
    )
    return dataclasses.replace(base, cohort=cohort)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRECISION_ONCO_PSEUDONYM_KEY", KEY)


def test_log_scaled_tmb_is_a_warning_naming_the_column_and_the_fix(tmp_path: Path) -> None:
    linear = _table()["TMB"]
    df = _table(TMB=lambda s: np.round(np.log2(s), 3))
    negative = int((df["TMB"] < 0).sum())
    assert 5 <= negative < N  # a real-shaped table: some patients below 1 mut/Mb
    path = tmp_path / "cohort.csv"
    df.to_csv(path, index=False)
    tables = ingest_cohort(_cfg(path), root=tmp_path)
    s = tables.summary()
    lines_file = next(f for f in s["files"] if f["kind"] == "lines")
    # the rows are still rejected by the range check, and the warning counts them
    assert lines_file["rejected"] == negative
    assert s["rejected_by_reason"] == {"out of range": negative}
    [w] = lines_file["warnings"]
    assert w.startswith("tmb: values look log-scaled (e.g. log2 of mut/Mb), not 0–5000 mut/Mb")
    assert f"{negative} negative values" in w
    assert f"{negative} of {N} rows are rejected as out of range (0–5000 mut/Mb)" in w
    assert w.endswith('If so, set cohort.inputs.lines.units.tmb: "log2->linear"')
    [sw] = lines_file["scale_warnings"]
    assert sw["column"] == "tmb" and sw["rejected"] == negative
    assert sw["fix"] == 'cohort.inputs.lines.units.tmb: "log2->linear"'
    # in the totals too, with the file it came from
    assert s["warnings"] == [f"{lines_file['file']}: {w}"]

    # with the fix configured: nothing lost, no warning, the linear values back
    fixed = ingest_cohort(_cfg(path, units={"tmb": "log2->linear"}), root=tmp_path)
    s2 = fixed.summary()
    assert s2["tables"]["lines"] == N and s2["tables"]["rejects"] == 0
    assert s2["warnings"] == []
    got = fixed.lines.sort_values("source_line")["tmb"].to_numpy(dtype=float)
    np.testing.assert_allclose(got, linear.to_numpy(), rtol=2e-3)


def test_ingest_stage_logs_the_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    df = _table(TMB=lambda s: np.round(np.log2(s), 3))
    df.to_csv(tmp_path / "cohort.csv", index=False)
    cfg = _cfg(tmp_path / "cohort.csv")
    # the paths as a user overrides them, so that the output catalog (paths.outputs, which
    # interpolates the directories) follows
    moved = [f"paths.processed_dir={tmp_path / 'processed'}", f"paths.reports_dir={tmp_path / 'r'}"]
    cfg = dataclasses.replace(cfg, paths=compose(moved, conf_dir=ROOT / "conf")[1].paths)
    spec = importlib.util.spec_from_file_location("ingest_stage", ROOT / "pipelines/ingest.py")
    assert spec is not None and spec.loader is not None
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.WARNING, logger="pipelines.ingest"):
        stage.main(cfg)
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any('units.tmb: "log2->linear"' in r.getMessage() for r in warned)
    summary = json.loads((tmp_path / "r/ingest_summary.json").read_text())
    assert any("tmb: values look log-scaled" in w for w in summary["warnings"])


@pytest.mark.parametrize(
    ("source", "change", "column", "likely", "fix"),
    [
        ("Albumin", lambda s: s * 10, "albumin", "in g/L", '"g/L->g/dL"'),
        ("HGB", lambda s: s * 10, "hemoglobin", "in g/L", '"g/L->g/dL"'),
        ("PD-L1 (%)", lambda s: s / 100, "pdl1_tps", "a fraction (0–1)", '"fraction->%"'),
        ("Platelets", lambda s: s * 1000, "platelets", "a count per µL", '"/uL->10^9/L"'),
        ("Age", lambda s: np.round(s * 12), "age_at_line", "in months", '"months->years"'),
    ],
)
def test_other_scales_are_named_with_their_fix(
    tmp_path: Path, source: str, change: Any, column: str, likely: str, fix: str
) -> None:
    df = _table(**{source: change})
    path = tmp_path / "cohort.csv"
    df.to_csv(path, index=False)
    r = read_lines(
        path, TableInputConfig(path=str(path), columns=dict(LINES), constants={"line_number": "1"})
    )
    [w] = r.report.warnings
    assert w.startswith(f"{column}: values look {likely}, not ")
    assert w.endswith(f"If so, set cohort.inputs.lines.units.{column}: {fix}")
    expected_lost = {"albumin": N, "hemoglobin": N, "platelets": N, "age_at_line": N, "pdl1_tps": 0}
    if column in expected_lost:
        assert r.report.rejected == expected_lost[column]
    if column == "pdl1_tps":  # in range: nothing rejected, and the warning says so
        assert "no row is rejected, but every value is read as 0–100 %" in w
    # the fix, as written, converts to the canonical scale: no warning, no reject
    conv = fix.strip('"')
    fixed = read_lines(
        path,
        TableInputConfig(
            path=str(path),
            columns=dict(LINES),
            units={column: conv},
            constants={"line_number": "1"},
        ),
    )
    assert fixed.report.warnings == [] and fixed.report.rejected == 0


def test_canonical_scales_and_thousands_per_microlitre_give_no_warning(tmp_path: Path) -> None:
    # platelets in 10^3/µL are 10^9/L: the same numbers, no warning
    path = tmp_path / "cohort.csv"
    _table().to_csv(path, index=False)
    r = read_lines(
        path, TableInputConfig(path=str(path), columns=dict(LINES), constants={"line_number": "1"})
    )
    assert r.report.warnings == [] and r.report.rejected == 0
    assert "scale_warnings" not in r.report.as_dict()


@pytest.mark.parametrize(
    ("conv", "to_source"),
    [
        ("log2->linear", np.log2),
        ("log10->linear", np.log10),
        ("ln->linear", np.log),
        ("log1p->linear", np.log1p),
        ("LOG2 -> linear", np.log2),
    ],
)
def test_log_conversions_invert_their_scale(tmp_path: Path, conv: str, to_source: Any) -> None:
    linear = np.array([0.5, 1.0, 4.0, 12.5, 250.0])
    path = tmp_path / "t.csv"
    pd.DataFrame({"id": list("abcde"), "TMB": to_source(linear)}).to_csv(path, index=False)
    r = read_lines(
        path,
        TableInputConfig(
            path=str(path),
            columns={"patient_id": "id", "tmb": "TMB"},
            units={"tmb": conv},
            constants={"line_number": "1"},
        ),
    )
    np.testing.assert_allclose(r.frame.sort_values("source_line")["tmb"].astype(float), linear)


def test_unknown_conversion_lists_the_log_scales(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame({"id": ["a"], "TMB": [1.0]}).to_csv(path, index=False)
    cfg = TableInputConfig(
        path=str(path),
        columns={"patient_id": "id", "tmb": "TMB"},
        units={"tmb": "log3->linear"},
        constants={"line_number": "1"},
    )
    with pytest.raises(IngestError) as exc:
        read_lines(path, cfg)
    msg = str(exc.value)
    assert "cohort.inputs.lines.units.tmb: unknown unit conversion 'log3->linear'" in msg
    assert all(
        k in msg
        for k in ("log2->linear", "log10->linear", "ln->linear", "log1p->linear", "g/l->g/dl")
    )


def test_canonical_fields_with_a_rule_are_numeric() -> None:
    from precision_onco.ingest.scales import RULES

    assert set(RULES) - {"age_at_diagnosis"} <= set(LINE_FIELDS)
    assert all(LINE_FIELDS[c].kind == "float" for c in set(RULES) & set(LINE_FIELDS))


def test_written_summary_keeps_the_warnings(tmp_path: Path) -> None:
    path = tmp_path / "cohort.csv"
    _table(Albumin=lambda s: s * 10).to_csv(path, index=False)
    tables = ingest_cohort(_cfg(path), root=tmp_path)
    write_outputs(tables, outputs(_cfg(path), root=tmp_path))
    s = json.loads((tmp_path / "reports/ingest_summary.json").read_text())
    [w] = s["warnings"]
    assert 'cohort.inputs.lines.units.albumin: "g/L->g/dL"' in w
    assert f"{N} of {N} rows are rejected as out of range (0.5–7 g/dL)" in w
    metrics = json.loads((tmp_path / "reports/ingest_metrics.json").read_text())
    assert metrics["warnings"] == 1  # `dvc metrics show` shows there is something to read


def test_a_wrong_configured_conversion_is_named(tmp_path: Path) -> None:
    path = tmp_path / "cohort.csv"
    _table().to_csv(path, index=False)  # albumin already in g/dL
    cfg = TableInputConfig(
        path=str(path),
        columns=dict(LINES),
        units={"albumin": "g/dL->g/L"},
        constants={"line_number": "1"},
    )
    [w] = read_lines(path, cfg).report.warnings
    assert w.startswith("albumin: values look in g/L, not 0.5–7 g/dL")
    assert w.endswith('set cohort.inputs.lines.units.albumin: "g/L->g/dL" (instead of "g/dL->g/L")')


def test_a_stray_negative_in_a_linear_tmb_column_is_no_scale_warning(tmp_path: Path) -> None:
    df = _table()
    df.loc[3, "TMB"] = -1.5  # a data-entry error: the row is rejected, the column is linear
    path = tmp_path / "cohort.csv"
    df.to_csv(path, index=False)
    r = read_lines(
        path, TableInputConfig(path=str(path), columns=dict(LINES), constants={"line_number": "1"})
    )
    assert r.report.warnings == [] and r.report.rejected == 1
    assert list(r.rejects["reason"]) == ["out of range: tmb: -1.5 is outside 0–5000 mut/Mb"]
