"""DVC stage `train`: one calibrated model per endpoint; held-out predictions."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import joblib
import pandas as pd

from precision_onco.compute import compute_session, read_table
from precision_onco.config import Config
from precision_onco.models.train import KEYS, train_all
from precision_onco.stage import run_stage

log = logging.getLogger("pipelines.train")


def main(cfg: Config) -> None:
    processed = Path(cfg.paths.processed_dir)
    features = pd.read_parquet(processed / "features.parquet")
    lines = read_table(processed / "lines.parquet")
    with compute_session(cfg.compute, stage="train") as compute:
        result = train_all(cfg, features, lines, compute=compute)
    models_dir = Path(cfg.paths.models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    for old in models_dir.glob("*.joblib"):
        old.unlink()
    for ep, model in result.models.items():
        joblib.dump(model, models_dir / f"{ep}.joblib")
    (models_dir / "manifest.json").write_text(json.dumps(result.manifest, indent=2) + "\n")
    reports = Path(cfg.paths.reports_dir)
    reports.mkdir(parents=True, exist_ok=True)
    result.predictions.to_parquet(reports / "predictions.parquet", index=False)
    interim = Path(cfg.paths.interim_dir)
    interim.mkdir(parents=True, exist_ok=True)
    cv = (
        result.cv_predictions
        if result.cv_predictions is not None
        else pd.DataFrame(
            {k: pd.Series(dtype="string" if k == "patient_key" else "int64") for k in KEYS}
        )
    )
    cv.to_parquet(interim / "cv_predictions.parquet", index=False)
    log.info(
        "trained %d endpoints in %.1f s; %d held-out rows predicted",
        len(result.models),
        result.manifest["seconds"],
        len(result.predictions),
    )


if __name__ == "__main__":
    sys.exit(run_stage("train", main))
