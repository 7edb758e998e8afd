"""Shared fixtures: the project root, the shared real-data folder, composed configs, a small
synthetic cohort and its recommender, and a small real-shaped cohort (Chowell 2022 rows)
with its own recommender."""

from __future__ import annotations

import copy
import dataclasses
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from precision_onco.config import Config, compose

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

# The caller's own pseudonymization key must not reach the tests: the synthetic cohort's
# expected keys, held-out split and figures are those of the public demo key. Removed once
# for the whole session (stage subprocesses inherit this environment); a test that needs a
# key sets its own with monkeypatch.
os.environ.pop("PRECISION_ONCO_PSEUDONYM_KEY", None)


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


@pytest.fixture(scope="session")
def small_cohort(tmp_path_factory: pytest.TempPathFactory):
    """A 400-patient synthetic cohort, ingested and featurized; response endpoint only.

    Returns ``(root, cfg, tables, features)``.
    """
    from precision_onco.features import build_features, load_panel
    from precision_onco.ingest.cohort import ingest_cohort
    from precision_onco.synth import synthesize

    root = tmp_path_factory.mktemp("small_cohort")
    _, cfg = compose(
        [
            "synth.n_patients=400",
            "synth.calibration_patients=2000",
            "endpoints=response",
            "evaluation.bootstrap=50",
        ],
        conf_dir=ROOT / "conf",
    )
    synthesize(cfg, root / "data" / "raw")
    tables = ingest_cohort(cfg, root=root)
    feats = build_features(
        tables.patients,
        tables.lines,
        tables.variants,
        cfg.features,
        cfg.catalog,
        panel=load_panel(cfg.features, root),
    )
    return root, cfg, tables, feats


@pytest.fixture(scope="session")
def small_recommender(small_cohort):
    """The small cohort's models bundled as a :class:`Recommender` (trained once per session).

    Endpoints ``response`` and ``ae_grade3`` (two, so that the utility presets differ).
    Returns ``(cfg, res, recommender)``; ``cfg`` is a deep copy of the cohort's config with
    those endpoints, ``res`` the :func:`train_all` result.
    """
    from precision_onco.models.train import train_all
    from precision_onco.recommend.service import recommender_from

    _, cohort_cfg, tables, feats = small_cohort
    _, full = compose([], conf_dir=ROOT / "conf")
    cfg = copy.deepcopy(cohort_cfg)
    cfg.endpoints = {ep: full.endpoints[ep] for ep in ("response", "ae_grade3")}
    res = train_all(cfg, feats, tables.lines)
    recommender = recommender_from(res.models, cfg, root=ROOT, provenance={"components": {}})
    return cfg, res, recommender


@pytest.fixture(scope="session")
def real_shaped(
    shared_data: Path, project_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Any, Any, Any]:
    """300 rows of the Chowell 2022 table through its own cohort config (icb catalog),
    ingested, featurized and trained in process; returns (tables, features, recommender)."""
    from precision_onco.features import build_features, load_panel
    from precision_onco.ingest.cohort import ingest_cohort
    from precision_onco.models.train import train_all
    from precision_onco.recommend.service import recommender_from

    src = shared_data / "cohorts" / "chowell2022_icb_training.csv"
    root = tmp_path_factory.mktemp("real_shaped")
    table = root / "chowell_300.csv"
    pd.read_csv(src).sample(300, random_state=3).to_csv(table, index=False)
    mp = pytest.MonkeyPatch()
    mp.setenv("PRECISION_ONCO_PSEUDONYM_KEY", "fast-path-test-key-" + "0" * 16)
    try:
        _, cfg = compose(
            ["cohort=chowell2022", "model.max_rounds=150"], conf_dir=project_root / "conf"
        )
        inputs = dataclasses.replace(
            cfg.cohort.inputs,
            patients=dataclasses.replace(cfg.cohort.inputs.patients, path=str(table)),
            lines=dataclasses.replace(cfg.cohort.inputs.lines, path=str(table)),
        )
        oncotree = str(shared_data / "kb" / "oncotree_2025_10_03.flat.tsv")
        cfg = dataclasses.replace(
            cfg, cohort=dataclasses.replace(cfg.cohort, inputs=inputs, oncotree_codes=oncotree)
        )
        tables = ingest_cohort(cfg, root=root)
        feats = build_features(
            tables.patients,
            tables.lines,
            tables.variants,
            cfg.features,
            cfg.catalog,
            panel=load_panel(cfg.features, root),
            endpoint_columns=[e.column for e in cfg.endpoints.values()],
        )
        res = train_all(cfg, feats, tables.lines)
        rec = recommender_from(
            res.models, copy.deepcopy(cfg), root=project_root, provenance={"components": {}}
        )
    finally:
        mp.undo()
    return tables, feats, rec
