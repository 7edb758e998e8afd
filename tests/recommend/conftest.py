"""Shared fixtures of the recommender tests: a small real-shaped cohort (Chowell 2022 rows)
with its own recommender."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from precision_onco.features import build_features, load_panel


@pytest.fixture(scope="session")
def real_shaped(
    shared_data: Path, project_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Any, Any, Any]:
    """300 rows of the Chowell 2022 table through its own cohort config (icb catalog),
    ingested, featurized and trained in process; returns (tables, features, recommender)."""
    from precision_onco.config import compose
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
