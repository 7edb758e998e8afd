"""DVC stage `featurize`: canonical tables -> one feature row per (patient, therapy line)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from precision_onco.compute import compute_session, read_table
from precision_onco.config import Config, outputs
from precision_onco.features import build_features, load_panel, undeclared_numeric
from precision_onco.features.partitioned import TABLES, build_features_by_partition, partitioned
from precision_onco.stage import run_stage

log = logging.getLogger("pipelines.featurize")


def main(cfg: Config) -> None:
    files = outputs(cfg)
    paths = {t: getattr(files, t) for t in TABLES}
    panel = load_panel(cfg.features, Path.cwd())
    endpoint_columns = [e.column for e in cfg.endpoints.values()]
    if cfg.compute.backend == "dask" and partitioned(paths):
        # one task per partition of the tables ingest wrote (patients hashed to parts)
        with compute_session(cfg.compute, stage="featurize") as compute:
            features = build_features_by_partition(
                paths,
                cfg.features,
                cfg.catalog,
                panel=panel,
                endpoint_columns=endpoint_columns,
                compute=compute,
            )
        lines = read_table(files.lines)
    else:  # the whole tables (one file each, or partitioned tables read back whole)
        tables = {t: read_table(p) for t, p in paths.items()}
        features = build_features(
            tables["patients"],
            tables["lines"],
            tables["variants"],
            cfg.features,
            cfg.catalog,
            panel=panel,
            endpoint_columns=endpoint_columns,
        )
        lines = tables["lines"]
    features.to_parquet(files.features, index=False)
    log.info(
        "%d lines x %d features: %s",
        len(features),
        features.shape[1] - 2,
        ", ".join(str(c) for c in features.columns[2:]),
    )
    other = undeclared_numeric(lines, features)
    if other:
        log.info(
            "numeric columns of the lines table that are not inputs (declare them in "
            "features.extra to use them): %s",
            ", ".join(other),
        )


if __name__ == "__main__":
    sys.exit(run_stage("featurize", main))
