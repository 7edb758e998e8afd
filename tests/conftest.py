"""Shared fixtures: the project root, the shared real-data folder, composed configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from precision_onco.config import Config, compose

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real public data folder; tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared real data not found at {SHARED_DATA} (see ../shared/data/README.md)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def default_config() -> Config:
    _, cfg = compose([], conf_dir=ROOT / "conf")
    return cfg
