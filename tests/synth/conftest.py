"""A small synthesized cohort shared by the simulator tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from precision_onco.config import compose

ROOT = Path(__file__).resolve().parents[2]
SMALL = [
    "synth.n_patients=300",
    "synth.calibration_patients=3000",
    "synth.chunk_patients=120",
    "synth.calibration_iterations=2",
]


@pytest.fixture(scope="session")
def small_config():
    _, cfg = compose(SMALL, conf_dir=ROOT / "conf")
    return cfg


@pytest.fixture(scope="session")
def small_cohort(small_config, tmp_path_factory) -> Path:
    from precision_onco.synth import synthesize

    out = tmp_path_factory.mktemp("synth_small")
    synthesize(small_config, out)
    return out
