"""Cross-validated response AUC of model families on the Chowell 2022 cohort (issue 14 floor).

Ingests ``../shared/data/cohorts/chowell2022_icb_training.csv`` with the cohort's own config
(``cohort=chowell2022``), builds its features and runs the pipeline's own training
(:func:`~precision_onco.models.train.train_all`, 5-fold patient-grouped CV) once per model
family, printing the out-of-fold AUC and ECE of each against the cohort config's default
(LightGBM). Also prints the same families on the raw table's 16 published features with
repeated stratified 5-fold CV (three repeats), outside the pipeline, as a check that the
pipeline loses nothing.

Usage: PRECISION_ONCO_PSEUDONYM_KEY=... python bench/bench_cohort_cv.py [--quick]
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT.parent / "shared" / "data" / "cohorts" / "chowell2022_icb_training.csv"

#: name -> ``model`` config overrides (kind, estimator, params, ...)
FAMILIES: dict[str, dict[str, Any]] = {
    "lightgbm (cohort default)": {},
    "lightgbm, fixed 400 rounds, bagging": {
        "early_stopping_rounds": 0,
        "max_rounds": 400,
        "params": {
            "num_leaves": 4,
            "min_child_samples": 20,
            "learning_rate": 0.02,
            "feature_fraction": 0.7,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "lambda_l2": 5.0,
        },
    },
    "logistic regression (C=0.1)": {
        "kind": "sklearn",
        "estimator": "sklearn.linear_model.LogisticRegression",
        "params": {"C": 0.1, "max_iter": 2000},
    },
    "random forest (500 trees, leaf 10)": {
        "kind": "sklearn",
        "estimator": "sklearn.ensemble.RandomForestClassifier",
        "params": {
            "n_estimators": 500,
            "min_samples_leaf": 10,
            "max_features": 0.3,
            "random_state": 0,
            "n_jobs": 1,
        },
    },
}

RAW_FEATURES = [
    "TMB",
    "HED",
    "FCNA",
    "HLA_LOH",
    "MSI (1:Unstable; 0:Stable_Indeterminate)",
    "BMI",
    "NLR",
    "Albumin",
    "Platelets",
    "HGB",
    "Age",
    "Sex (1:Male; 0:Female)",
    "Stage (1:IV; 0:I-III)",
    "Drug (1:Combo; 0:PD1/PDL1orCTLA4)",
    "Chemo_before_IO (1:Yes; 0:No)",
]


def pipeline_cv(quick: bool) -> None:
    from precision_onco.config import compose, endpoint_roles
    from precision_onco.features import build_features, load_panel
    from precision_onco.ingest.cohort import ingest_cohort
    from precision_onco.models.metrics import auc, ece
    from precision_onco.models.train import train_all

    _, cfg = compose(["cohort=chowell2022"], conf_dir=ROOT / "conf")
    tables = ingest_cohort(cfg, root=ROOT)
    feats = build_features(
        tables.patients,
        tables.lines,
        tables.variants,
        cfg.features,
        cfg.catalog,
        panel=load_panel(cfg.features, ROOT),
    )
    efficacy = endpoint_roles(cfg.endpoints).efficacy
    assert efficacy is not None, "conf/endpoints: no endpoint has role efficacy"
    column = cfg.endpoints[efficacy].column
    outcome = tables.lines[["patient_key", "line_number", column]]
    print(f"pipeline, {cfg.split.cv_folds}-fold patient-grouped CV, {len(feats)} lines:")
    for name, over in list(FAMILIES.items())[: 2 if quick else None]:
        c = copy.deepcopy(cfg)
        for k, v in over.items():
            setattr(c.model, k, v)
        t0 = time.perf_counter()
        res = train_all(c, feats, tables.lines)
        assert res.cv_predictions is not None
        d = res.cv_predictions.merge(outcome, on=["patient_key", "line_number"])
        d = d[d[efficacy].notna() & d[column].notna()]
        y, p = d[column].astype(int).to_numpy(), d[efficacy].to_numpy()
        print(
            f"  {name:40s} AUC {auc(y, p):.3f}  ECE {ece(y, p):.3f}  "
            f"({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )


def raw_cv(quick: bool) -> None:
    import lightgbm as lgb
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    raw = pd.read_csv(TABLE)
    y = raw["Response (1:Responder; 0:Non-responder)"].to_numpy()
    x = pd.get_dummies(
        raw[[*RAW_FEATURES, "Cancer_type_grouped_2"]],
        columns=["Cancer_type_grouped_2"],
        dtype=float,
    )
    x.columns = [f"x{i}" for i in range(x.shape[1])]
    models = {
        "lightgbm (300 rounds, 4 leaves)": lambda: lgb.LGBMClassifier(
            n_estimators=300,
            num_leaves=4,
            learning_rate=0.02,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.7,
            verbose=-1,
        ),
        "logistic regression (C=0.1)": lambda: make_pipeline(
            StandardScaler(), LogisticRegression(C=0.1, max_iter=5000)
        ),
        "random forest (1000 trees, leaf 5)": lambda: RandomForestClassifier(
            1000, min_samples_leaf=5, max_features="sqrt", n_jobs=1, random_state=0
        ),
    }
    repeats = 1 if quick else 3
    print(f"raw table, 16 published features, stratified 5-fold CV x {repeats}:")
    for name, make in models.items():
        aucs = []
        for r in range(repeats):
            oof = np.zeros(len(y))
            for tr, te in StratifiedKFold(5, shuffle=True, random_state=r).split(x, y):
                m = make()
                m.fit(x.iloc[tr], y[tr])
                oof[te] = m.predict_proba(x.iloc[te])[:, 1]
            aucs.append(roc_auc_score(y, oof))
        print(
            f"  {name:40s} AUC {np.mean(aucs):.3f} (repeats {min(aucs):.3f}–{max(aucs):.3f})",
            flush=True,
        )
    print(
        f"  published RF16 probabilities, in-sample (not CV): AUC "
        f"{roc_auc_score(y, raw['RF16_prob']):.3f}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="two pipeline families, one repeat")
    args = ap.parse_args()
    if not TABLE.is_file():
        print(f"skipped: {TABLE} not found (../shared/data beside the repository)")
        return 0
    if not os.environ.get("PRECISION_ONCO_PSEUDONYM_KEY"):
        print("skipped: set PRECISION_ONCO_PSEUDONYM_KEY (the Chowell cohort is real data)")
        return 0
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore", category=UserWarning)
    os.chdir(ROOT)
    pipeline_cv(args.quick)
    raw_cv(args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
