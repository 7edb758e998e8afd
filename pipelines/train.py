"""DVC stage `train`: one calibrated model per endpoint; held-out predictions."""

from __future__ import annotations

import json
import logging
import sys

import joblib
import pandas as pd

from precision_onco.compute import compute_session, read_table
from precision_onco.config import Config, outputs
from precision_onco.models.train import KEYS, train_all
from precision_onco.stage import run_stage

log = logging.getLogger("pipelines.train")


def main(cfg: Config) -> None:
    files = outputs(cfg)
    features = pd.read_parquet(files.features)
    lines = read_table(files.lines)
    with compute_session(cfg.compute, stage="train") as compute:
        result = train_all(cfg, features, lines, compute=compute)
    models_dir = files.models
    models_dir.mkdir(parents=True, exist_ok=True)
    for old in models_dir.glob("*.joblib"):
        old.unlink()
    for ep, model in result.models.items():
        joblib.dump(model, models_dir / f"{ep}.joblib")
    files.model_manifest.write_text(json.dumps(result.manifest, indent=2) + "\n")
    files.predictions.parent.mkdir(parents=True, exist_ok=True)
    result.predictions.to_parquet(files.predictions, index=False)
    files.cv_predictions.parent.mkdir(parents=True, exist_ok=True)
    cv = (
        result.cv_predictions
        if result.cv_predictions is not None
        else pd.DataFrame(
            {k: pd.Series(dtype="string" if k == "patient_key" else "int64") for k in KEYS}
        )
    )
    cv.to_parquet(files.cv_predictions, index=False)
    log.info(
        "trained %d endpoints in %.1f s; %d held-out rows predicted",
        len(result.models),
        result.manifest["seconds"],
        len(result.predictions),
    )


if __name__ == "__main__":
    sys.exit(run_stage("train", main))
