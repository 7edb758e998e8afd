"""Benchmark `featurize` + `train` + `evaluate` (with MLflow logging) on the default cohort.

Runs the three stages' library calls in this process on the ingested default cohort
(run `dvc repro ingest` first), logging to a temporary MLflow store so the project's
store is untouched, and prints each step's time and the total against the 90 s target.

Usage: python bench/bench_models.py
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from precision_onco.config import endpoint_roles, load_params, outputs
    from precision_onco.features import build_features, load_panel
    from precision_onco.models.evaluate import evaluate
    from precision_onco.models.tracking import log_pipeline_run
    from precision_onco.models.train import model_frame, train_all

    logging.basicConfig(level=logging.WARNING)
    cfg = load_params(ROOT / "params.yaml")
    files = outputs(cfg, root=ROOT)
    if not files.lines.is_file():
        sys.exit("no ingested cohort: run `dvc repro ingest` first")
    tmp = Path(tempfile.mkdtemp(prefix="bench_models_"))
    cfg = dataclasses.replace(
        cfg,
        tracking=dataclasses.replace(
            cfg.tracking, uri=f"sqlite:///{tmp / 'mlruns.db'}", artifact_location=str(tmp / "art")
        ),
    )
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    tables = {t: pd.read_parquet(getattr(files, t)) for t in ("patients", "lines", "variants")}
    feats = build_features(
        tables["patients"],
        tables["lines"],
        tables["variants"],
        cfg.features,
        cfg.catalog,
        panel=load_panel(cfg.features, ROOT),
        endpoint_columns=[e.column for e in cfg.endpoints.values()],
    )
    times["featurize"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    res = train_all(cfg, feats, tables["lines"])
    times["train"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    truth_file = files.ground_truth
    truth = pd.read_parquet(truth_file) if truth_file.is_file() else None
    metrics, curves = evaluate(
        cfg, res.predictions, tables["lines"], tables["patients"], ground_truth=truth
    )
    times["evaluate (metrics)"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    log_pipeline_run(
        cfg, res.models, metrics, curves, model_frame(feats.head(20), cfg), res.manifest, root=tmp
    )
    times["evaluate (MLflow log + register)"] = time.perf_counter() - t3
    total = time.perf_counter() - t0
    print(
        f"cohort: {len(feats):,} lines, {feats['patient_key'].nunique():,} patients, "
        f"{len(res.models)} endpoints, {len(res.manifest['features'])} features"
    )
    for k, v in times.items():
        print(f"{k:<34} {v:7.1f} s")
    print(f"{'total':<34} {total:7.1f} s   (target <= 90 s; ratio {total / 90:.2f})")
    ep = endpoint_roles(cfg.endpoints).efficacy
    assert ep is not None, "conf/endpoints: no endpoint has role efficacy"
    r = metrics[ep]
    print(
        f"{ep} AUC {r['overall']['auc']:.3f} vs Bayes-optimal {r['bayes_optimal_auc']:.3f}"
        if "bayes_optimal_auc" in r
        else ""
    )


if __name__ == "__main__":
    main()
