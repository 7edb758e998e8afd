"""DVC stage `featurize`: canonical tables -> one feature row per (patient, therapy line)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pandas as pd

from precision_onco.config import Config, outputs
from precision_onco.features import build_features, load_panel, undeclared_numeric
from precision_onco.stage import run_stage

log = logging.getLogger("pipelines.featurize")


def main(cfg: Config) -> None:
    files = outputs(cfg)
    tables = {t: pd.read_parquet(getattr(files, t)) for t in ("patients", "lines", "variants")}
    features = build_features(
        tables["patients"],
        tables["lines"],
        tables["variants"],
        cfg.features,
        cfg.catalog,
        panel=load_panel(cfg.features, Path.cwd()),
        endpoint_columns=[e.column for e in cfg.endpoints.values()],
    )
    features.to_parquet(files.features, index=False)
    log.info(
        "%d lines x %d features: %s",
        len(features),
        features.shape[1] - 2,
        ", ".join(str(c) for c in features.columns[2:]),
    )
    other = undeclared_numeric(tables["lines"], features)
    if other:
        log.info(
            "numeric columns of the lines table that are not inputs (declare them in "
            "features.extra to use them): %s",
            ", ".join(other),
        )


if __name__ == "__main__":
    sys.exit(run_stage("featurize", main))
