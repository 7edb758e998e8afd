"""DVC stage `ingest`: the cohort's raw inputs -> canonical, pseudonymized tables."""

from __future__ import annotations

import logging
import sys

from precision_onco.compute import compute_session, n_partitions
from precision_onco.config import Config, outputs
from precision_onco.ingest.cohort import ingest_cohort
from precision_onco.ingest.streamed import ingest_cohort_partitioned
from precision_onco.ingest.write import write_outputs
from precision_onco.stage import run_stage

log = logging.getLogger("pipelines.ingest")


def main(cfg: Config) -> None:
    files = outputs(cfg)
    if cfg.compute.backend == "dask":
        # partitioned Parquet, patients hashed to partitions; the workers write the
        # variant parts, the driver never holds the variant table
        with compute_session(cfg.compute, stage="ingest") as compute:
            tables = ingest_cohort_partitioned(cfg, files, compute=compute)
        parts = n_partitions(len(tables.patients), cfg.compute.partition_patients)
        write_outputs(tables, files, partitions=parts, written=("variants", "rejects"))
    else:  # compute=local: one file per table, as before
        with compute_session(cfg.compute, stage="ingest") as compute:
            tables = ingest_cohort(cfg, compute=compute)
        write_outputs(tables, files)
    s = tables.totals()
    for kind, k in s["by_kind"].items():
        log.info(
            "%s: %d files, %d records read, %d ingested, %d rejected",
            kind,
            k["files"],
            k["read"],
            k["ingested"],
            k["rejected"],
        )
    for w in s["warnings"]:
        log.warning("%s", w)


if __name__ == "__main__":
    sys.exit(run_stage("ingest", main))
