"""Benchmark `predict` on the real Chowell 2022 table (../shared/data; skipped when absent).

Ingests the cohort with conf/cohort/chowell2022.yaml (a throw-away pseudonymization
key unless PRECISION_ONCO_PSEUDONYM_KEY is set), trains the response model in-process
without cross-validation, then scores the whole training table with
:func:`~precision_onco.models.predict.predict_table` and prints: rows scored, rows
rejected, wall time (best of --repeat) and the largest difference from the train
stage's held-out probabilities on the held-out rows (it should be 0).

Usage: python bench/bench_predict.py [--repeat R]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT.parent / "shared" / "data" / "cohorts" / "chowell2022_icb_training.csv"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not TABLE.is_file():
        print(f"skipped: {TABLE} not found")
        return 0
    os.environ.setdefault("PRECISION_ONCO_PSEUDONYM_KEY", "bench-only-key-0123456789abcdef")
    from precision_onco.config import compose, endpoint_roles
    from precision_onco.features import build_features, load_panel
    from precision_onco.ingest.cohort import ingest_cohort
    from precision_onco.models.predict import predict_table
    from precision_onco.models.train import train_all

    _, cfg = compose(["cohort=chowell2022"], conf_dir=ROOT / "conf")
    cfg = dataclasses.replace(cfg, split=dataclasses.replace(cfg.split, cv_folds=0))
    tables = ingest_cohort(cfg, root=ROOT)
    feats = build_features(
        tables.patients,
        tables.lines,
        tables.variants,
        cfg.features,
        cfg.catalog,
        panel=load_panel(cfg.features, ROOT),
        endpoint_columns=[e.column for e in cfg.endpoints.values()],
    )
    res = train_all(cfg, feats, tables.lines)
    best = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        out = predict_table(TABLE, cfg, res.models, root=ROOT)
        best = min(best, time.perf_counter() - t0)
    p = out.predictions
    held = p.merge(res.predictions, on=["patient_key", "line_number"], validate="one_to_one")
    ep = endpoint_roles(cfg.endpoints).efficacy
    diff = float(np.max(np.abs(held[f"p_{ep}"] - held[ep])))
    print(f"rows: {len(p)}, scored {out.n_ok}, rejected {out.n_rejected}")
    print(f"predict_table: {best:.2f} s best of {args.repeat} ({len(p) / best:,.0f} rows/s)")
    print(f"held-out rows compared: {len(held)}; max |p_predict - p_train| = {diff:.2e}")
    for w in out.warnings:
        print(f"warning: {w}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
