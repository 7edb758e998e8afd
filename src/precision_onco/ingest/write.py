"""Write the canonical tables and the ingest summary (the ``ingest`` stage's outputs)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from precision_onco.ingest.cohort import CohortTables

__all__ = ["OUTPUT_FILES", "write_outputs"]

#: Files the ``ingest`` stage writes, relative to paths.processed_dir / paths.reports_dir.
OUTPUT_FILES = {
    "patients": "patients.parquet",
    "lines": "lines.parquet",
    "variants": "variants.parquet",
    "rejects": "rejects.parquet",
    "summary": "ingest_summary.json",
    "metrics": "ingest_metrics.json",
}


def _atomic_parquet(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def write_outputs(tables: CohortTables, processed_dir: Path, reports_dir: Path) -> dict[str, Path]:
    """Write the four tables, ``ingest_summary.json`` and its totals; return their paths."""
    processed_dir.mkdir(parents=True, exist_ok=True)
    reports_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in ("patients", "lines", "variants", "rejects"):
        p = processed_dir / OUTPUT_FILES[name]
        _atomic_parquet(getattr(tables, name), p)
        out[name] = p
    s = reports_dir / OUTPUT_FILES["summary"]
    summary = tables.summary()
    s.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    out["summary"] = s
    metrics = {
        "tables": summary["tables"],
        "by_kind": summary["by_kind"],
        "rejected_by_reason": summary["rejected_by_reason"],
        "warnings": len(summary["warnings"]),
    }
    m = reports_dir / OUTPUT_FILES["metrics"]
    m.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    out["metrics"] = m
    return out
