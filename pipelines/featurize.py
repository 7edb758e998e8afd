"""DVC stage `featurize`: canonical tables -> one feature row per (patient, therapy line)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pandas as pd

from precision_onco.config import Config
from precision_onco.features import build_features, load_panel
from precision_onco.stage import run_stage

log = logging.getLogger("pipelines.featurize")


def main(cfg: Config) -> None:
    processed = Path(cfg.paths.processed_dir)
    tables = {t: pd.read_parquet(processed / f"{t}.parquet")
              for t in ("patients", "lines", "variants")}  # fmt: skip
    features = build_features(
        tables["patients"], tables["lines"], tables["variants"], cfg.features, cfg.catalog,
        panel=load_panel(cfg.features, Path.cwd()),
        endpoint_columns=[e.column for e in cfg.endpoints.values()],
    )  # fmt: skip
    features.to_parquet(processed / "features.parquet", index=False)
    log.info("%d lines x %d features", len(features), features.shape[1] - 2)


if __name__ == "__main__":
    sys.exit(run_stage("featurize", main))
