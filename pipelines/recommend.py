"""DVC stage `recommend`: ranked, explained, evidence-linked regimens for the held-out lines."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import joblib
import pandas as pd

from precision_onco.config import Config
from precision_onco.recommend.report import recommendations
from precision_onco.stage import run_stage

log = logging.getLogger("pipelines.recommend")


def main(cfg: Config) -> None:
    processed, reports = Path(cfg.paths.processed_dir), Path(cfg.paths.reports_dir)
    features = pd.read_parquet(processed / "features.parquet")
    held = pd.read_parquet(reports / "predictions.parquet")[["patient_key", "line_number"]]
    rows = features.merge(held, on=["patient_key", "line_number"])
    models = {p.stem: joblib.load(p) for p in sorted(Path(cfg.paths.models_dir).glob("*.joblib"))}
    t0 = time.perf_counter()
    result = recommendations(rows, pd.read_parquet(processed / "patients.parquet"),
                             pd.read_parquet(processed / "lines.parquet"), models, cfg.catalog,
                             cfg.recommend)  # fmt: skip
    secs = time.perf_counter() - t0
    result.ranked.to_parquet(reports / "recommendations.parquet", index=False)
    result.excluded.to_parquet(reports / "recommendations_excluded.parquet", index=False)
    log.info("%d patient-lines: %d ranked regimens, %d excluded with reasons, %.1f s "
             "(%.0f lines/s, preset %s)", len(rows), len(result.ranked), len(result.excluded),
             secs, len(rows) / max(secs, 1e-9), cfg.recommend.preset)  # fmt: skip


if __name__ == "__main__":
    sys.exit(run_stage("recommend", main))
