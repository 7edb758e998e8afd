"""The synthesize stage simulates nothing for a user's cohort, and says so."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest

from precision_onco.synth import RAW_FILES, skip_synthesis


def test_placeholders_state_the_reason(default_config, tmp_path: Path) -> None:
    cfg = copy.deepcopy(default_config)
    cfg.cohort.synthetic = False
    cfg.cohort.name = "trial_x"
    cfg.cohort.inputs.patients.path = "data/external/patients.csv"
    cfg.cohort.inputs.lines.path = "data/external/lines.csv"
    cfg.cohort.inputs.vcf.paths = []
    raw = tmp_path / "data/raw"
    reason = skip_synthesis(cfg, raw, root=tmp_path)
    assert "trial_x" in reason and "not synthetic" in reason
    assert json.loads((raw / RAW_FILES["manifest"]).read_text())["skipped"] == reason
    assert (raw / "vcf/SKIPPED.txt").is_file() and not list((raw / "vcf").glob("*.vcf*"))
    assert len(pd.read_parquet(raw / RAW_FILES["ground_truth"])) == 0


def test_refuses_to_overwrite_the_cohorts_own_files(default_config, tmp_path: Path) -> None:
    cfg = copy.deepcopy(default_config)
    cfg.cohort.synthetic = False
    cfg.cohort.inputs.patients.path = "data/raw/patients.csv"
    with pytest.raises(
        ValueError,
        match=r"cohort.inputs: .*patients.csv is where the "
        r"synthesize stage writes.*data/external",
    ):
        skip_synthesis(cfg, tmp_path / "data/raw", root=tmp_path)
