"""Write the canonical tables and the ingest summary (the ``ingest`` stage's outputs)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Collection
from pathlib import Path

import pandas as pd

from precision_onco.compute import partition_of, write_partitioned
from precision_onco.config.outputs import Outputs
from precision_onco.ingest.cohort import CohortTables

__all__ = ["PATIENT_TABLES", "write_outputs"]

#: The tables with a patient key: partitioned by patient when ``partitions`` is given.
PATIENT_TABLES = ("patients", "lines", "variants")


def _atomic_parquet(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    df.to_parquet(tmp, index=False)
    if path.is_dir():  # a partitioned table of an earlier compute=dask run
        shutil.rmtree(path)
    os.replace(tmp, path)


def write_outputs(
    tables: CohortTables,
    files: Outputs,
    *,
    partitions: int = 0,
    written: Collection[str] = (),
) -> dict[str, Path]:
    """Write the four tables, the ingest summary and its totals where the catalog ``files``
    (:func:`precision_onco.config.outputs`) says; return their paths.

    With ``partitions`` > 0 the patients, lines and variants tables are partitioned
    Parquet directories of that many parts, every patient's rows in the same part of
    each (:func:`precision_onco.compute.write_partitioned`); rejects stay one file.
    Tables named in ``written`` are already at their path (the variants that
    :func:`precision_onco.ingest.streamed.ingest_cohort_partitioned` has the workers
    write): only their path is returned."""
    out = {}
    for name in ("patients", "lines", "variants", "rejects"):
        p = getattr(files, name)
        if name in written:
            out[name] = p
            continue
        p.parent.mkdir(parents=True, exist_ok=True)
        df = getattr(tables, name)
        if partitions > 0 and name in PATIENT_TABLES:
            keys = df["patient_key"] if "patient_key" in df.columns else pd.Series(pd.NA, df.index)
            write_partitioned(df, p, partition_of(keys, partitions), partitions)
        else:
            _atomic_parquet(df, p)
        out[name] = p
    s = files.ingest_summary
    s.parent.mkdir(parents=True, exist_ok=True)
    tmp = s.with_name(s.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:  # streamed: one file record at a time
        fh.writelines(tables.summary_chunks())
        fh.write("\n")
    os.replace(tmp, s)
    out["summary"] = s
    totals = tables.totals()
    metrics = {
        "tables": totals["tables"],
        "by_kind": totals["by_kind"],
        "rejected_by_reason": totals["rejected_by_reason"],
        "warnings": len(totals["warnings"]),
    }
    m = files.ingest_metrics
    m.parent.mkdir(parents=True, exist_ok=True)
    m.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    out["metrics"] = m
    return out
