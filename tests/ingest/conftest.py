"""A small synthesized cohort shared by the ingest tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from precision_onco.config import Config, compose

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def raw_cohort(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Config]:
    """A 120-patient synthetic cohort's raw files under ``root/data/raw``, not ingested.

    Returns ``(root, cfg)``. Shared: a test that changes the files works on a copy.
    """
    from precision_onco.synth import synthesize

    root = tmp_path_factory.mktemp("cohort")
    _, cfg = compose(
        ["synth.n_patients=120", "synth.calibration_patients=2000", "paths.raw_dir=data/raw"],
        conf_dir=ROOT / "conf",
    )
    synthesize(cfg, root / "data" / "raw")
    return root, cfg
