"""A small real-shaped trial table: one regimen, few events, survival columns present."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from precision_onco.features import build_features, load_panel
from precision_onco.models.evaluate import sample_size
from precision_onco.models.leakage import LeakageError
from precision_onco.models.metrics import stratified_resamples, summarize
from precision_onco.models.train import train_all


@pytest.fixture()
def trial(project_root):
    """94 melanoma patients, all on nivolumab, 16 responders, with PFS/OS columns."""
    rng = np.random.default_rng(3)
    n = 94
    y = np.zeros(n, int)
    y[rng.choice(n, 16, replace=False)] = 1
    keys = [f"pk_{i:04d}" for i in range(n)]
    patients = pd.DataFrame(
        {"patient_key": keys, "sex": rng.choice(["M", "F"], n), "cancer_type": "MEL"}
    )
    pfs = np.where(y == 1, rng.uniform(8, 30, n), rng.uniform(1, 9, n))
    lines = pd.DataFrame(
        {
            "patient_key": keys,
            "line_number": 1,
            "regimen_id": "nivolumab",
            "albumin": rng.normal(3.8, 0.4, n),
            "nlr": rng.lognormal(1.2, 0.5, n),
            "objective_response": y,
            "PFS_Months": pfs,
            "PFS_Event": (rng.random(n) < 0.7).astype(int),
            "OS_Months": pfs + rng.uniform(0, 20, n),
        }
    )
    return patients, lines


def _config(default_config, **features):
    cfg = copy.deepcopy(default_config)
    cfg.endpoints = {"response": cfg.endpoints["response"]}
    cfg.split.cv_folds = 0
    cfg.evaluation.promote_small = False  # the default outside the synthetic cohort
    for k, v in features.items():
        setattr(cfg.features, k, v)
    return cfg


def _features(cfg, patients, lines, project_root):
    return build_features(
        patients,
        lines,
        lines.iloc[0:0].assign(
            sample_id="",
            chrom="",
            pos=0,
            ref="",
            alt="",
            gene="",
            consequence="",
            hgvsp="",
            vaf=0.0,
            depth=0,
        )[[]],
        cfg.features,
        cfg.catalog,
        panel=load_panel(cfg.features, project_root),
        endpoint_columns=["objective_response"],
    )


def test_undeclared_survival_columns_are_not_inputs(default_config, trial, project_root) -> None:
    patients, lines = trial
    cfg = _config(default_config)
    feats = _features(cfg, patients, lines, project_root)
    for col in ("PFS_Months", "PFS_Event", "OS_Months", "objective_response"):
        assert col not in feats.columns


def test_declared_survival_column_stops_training(default_config, trial, project_root) -> None:
    patients, lines = trial
    cfg = _config(default_config, extra=["PFS_Months"])
    feats = _features(cfg, patients, lines, project_root)
    with pytest.raises(LeakageError, match="'PFS_Months' is named like an outcome"):
        train_all(cfg, feats, lines)


def test_innocently_named_outcome_proxy_stops_training(default_config, trial, project_root) -> None:
    patients, lines = trial
    lines = lines.assign(lab_z=lines["objective_response"] * 5.0 + 1.0)
    cfg = _config(default_config, extra=["lab_z"])
    feats = _features(cfg, patients, lines, project_root)
    with pytest.raises(LeakageError, match="'lab_z' alone predicts response"):
        train_all(cfg, feats, lines)


def test_too_few_events_are_flagged_and_held(default_config, trial, project_root) -> None:
    patients, lines = trial
    cfg = _config(default_config)
    feats = _features(cfg, patients, lines, project_root)
    res = train_all(cfg, feats, lines)
    sizes = sample_size(cfg, res.manifest, {})
    s = sizes["response"]
    assert s["small"] and s["hold"]
    assert s["events"] == res.manifest["endpoints"]["response"]["positives"] < 16
    assert "too little data for response" in s["reason"]
    assert "events in training (at least 100 advised)" in s["reason"]
    assert "set evaluation.promote_small=true" in s["reason"]
    cfg.evaluation.promote_small = True
    assert not sample_size(cfg, res.manifest, {})["response"]["hold"]


def test_a_regimen_never_given_is_not_scored(default_config, trial, project_root) -> None:
    from precision_onco.recommend.rank import rank_regimens

    patients, lines = trial
    cfg = _config(default_config)
    cfg.model.min_regimen_patients = 10
    feats = _features(cfg, patients, lines, project_root)
    res = train_all(cfg, feats, lines)
    ranking = rank_regimens(
        feats.head(5), patients, lines.head(5), res.models, cfg.catalog, cfg.recommend
    )
    assert set(ranking.ranked["regimen_id"]) <= {"nivolumab"}
    ex = ranking.excluded
    why = ex.loc[ex["regimen_id"] == "dacarbazine", "reason"]
    assert len(why) == 5
    assert why.iloc[0].startswith("no training patient with MEL received dacarbazine")
    assert (ex["regimen_id"] == "nivolumab_ipilimumab").sum() == 5


def test_stratified_resamples_keep_both_classes() -> None:
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(3), np.zeros(60)]
    ix = stratified_resamples(y, 500, rng)
    assert (y[ix].sum(axis=1) == 3).all()
    out = summarize(y, rng.random(63), bootstrap=500, bins=10, rng=rng)
    assert "auc_resamples_undefined" not in out
    assert np.isfinite(out["auc_low"]) and np.isfinite(out["auc_high"])


def test_interval_coverage_by_simulation() -> None:
    """About 17 events in 120 rows: the intervals :func:`summarize` builds (stratified
    resamples for AUC, plain ones for Brier, bias-corrected percentiles) contain the true AUC
    of binormal scores and the true expected Brier score of a calibrated model about 95 % of
    the time. (The building blocks are called directly: AP's per-resample loop is slow.)"""
    from scipy.stats import norm

    from precision_onco.models.metrics import _auc_rows, bc_interval

    rng = np.random.default_rng(42)
    reps, d, b = 200, 1.0, 300
    auc_hits = brier_hits = 0
    for _ in range(reps):
        p = rng.beta(1, 6, size=120)
        y = (rng.random(120) < p).astype(float)
        score = rng.normal(d * y, 1.0)
        ix = stratified_resamples(y, b, rng)
        lo, hi = bc_interval(
            _auc_rows(y[ix], score[ix]), summarize(y, score, bootstrap=0, bins=10, rng=rng)["auc"]
        )
        auc_hits += lo <= norm.cdf(d / np.sqrt(2)) <= hi
        plain = rng.integers(0, 120, size=(b, 120))
        lo, hi = bc_interval(
            ((p[plain] - y[plain]) ** 2).mean(axis=1), float(np.mean((p - y) ** 2))
        )
        brier_hits += lo <= float(np.mean(p * (1 - p))) <= hi
    assert 0.88 <= brier_hits / reps <= 0.99
    assert 0.88 <= auc_hits / reps <= 0.99
