"""Write the canonical tables and the ingest summary (the ``ingest`` stage's outputs)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from precision_onco.config.outputs import Outputs
from precision_onco.ingest.cohort import CohortTables

__all__ = ["write_outputs"]


def _atomic_parquet(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def write_outputs(tables: CohortTables, files: Outputs) -> dict[str, Path]:
    """Write the four tables, the ingest summary and its totals where the catalog ``files``
    (:func:`precision_onco.config.outputs`) says; return their paths."""
    out = {}
    for name in ("patients", "lines", "variants", "rejects"):
        p = getattr(files, name)
        p.parent.mkdir(parents=True, exist_ok=True)
        _atomic_parquet(getattr(tables, name), p)
        out[name] = p
    s = files.ingest_summary
    s.parent.mkdir(parents=True, exist_ok=True)
    summary = tables.summary()
    s.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    out["summary"] = s
    metrics = {
        "tables": summary["tables"],
        "by_kind": summary["by_kind"],
        "rejected_by_reason": summary["rejected_by_reason"],
        "warnings": len(summary["warnings"]),
    }
    m = files.ingest_metrics
    m.parent.mkdir(parents=True, exist_ok=True)
    m.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    out["metrics"] = m
    return out
