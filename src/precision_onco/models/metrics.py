"""Discrimination and calibration metrics with bootstrap confidence intervals, and curves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm, rankdata
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_curve

__all__ = [
    "auc",
    "bc_interval",
    "curves",
    "ece",
    "metric_table",
    "stratified_resamples",
    "summarize",
]


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC (Mann-Whitney, ties counted half); NaN with one class only."""
    y = np.asarray(y, dtype=bool)
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(p)
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _auc_rows(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """AUC of each row of (B, n) resampled labels and scores."""
    r = rankdata(p, axis=1)
    n1 = y.sum(axis=1)
    n0 = y.shape[1] - n1
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((r * y).sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0)


def ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over ``bins`` equal-width probability bins."""
    return float(_ece_rows(np.asarray(y, float)[None], np.asarray(p, float)[None], bins)[0])


def _ece_rows(y: np.ndarray, p: np.ndarray, bins: int) -> np.ndarray:
    idx = np.minimum((p * bins).astype(int), bins - 1)
    out = np.zeros(y.shape[0])
    n = y.shape[1]
    for b in range(bins):
        m = idx == b
        cnt = m.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            gap = np.abs((y * m).sum(axis=1) - (p * m).sum(axis=1)) / np.maximum(cnt, 1)
        out += np.where(cnt > 0, gap * cnt / n, 0.0)
    return out


def bc_interval(values: np.ndarray, point: float, level: float = 0.95) -> tuple[float, float]:
    """Bias-corrected percentile bootstrap interval (Efron, J Am Stat Assoc 1987;82:171-85):
    the percentiles shift by the share of resamples below the point estimate, so that a
    statistic the bootstrap inflates (ECE, say) keeps its estimate inside its interval."""
    finite = values[np.isfinite(values)]
    if not len(finite) or not np.isfinite(point):
        return float("nan"), float("nan")
    below = (np.sum(finite < point) + 0.5 * np.sum(finite == point)) / len(finite)
    z0 = norm.ppf(np.clip(below, 1 / (2 * len(finite)), 1 - 1 / (2 * len(finite))))
    za = norm.ppf([(1 - level) / 2, (1 + level) / 2])
    q = norm.cdf(2 * z0 + za) * 100
    lo, hi = np.percentile(finite, q)
    return float(lo), float(hi)


def stratified_resamples(y: np.ndarray, bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    """(bootstrap, n) row indices: each resample draws the positives and the negatives
    separately, with replacement, keeping their counts — so that every resample has both
    classes and none is dropped from an interval (the stratified bootstrap; Carpenter & Bithell,
    Stat Med 2000;19:1141-64). With one class only, plain resampling."""
    y = np.asarray(y, dtype=float)
    n = len(y)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y != 1)
    if not len(pos) or not len(neg):
        return rng.integers(0, n, size=(bootstrap, n))
    return np.concatenate(
        [
            pos[rng.integers(0, len(pos), size=(bootstrap, len(pos)))],
            neg[rng.integers(0, len(neg), size=(bootstrap, len(neg)))],
        ],
        axis=1,
    )


#: The most resampled values (resamples x rows) drawn and summarized at once: the bootstrap
#: runs in blocks of resamples, so that its memory does not grow with resamples x rows
#: (about 300 MB per block, whatever the cohort's size). Up to this many, one block: the
#: draws and intervals of a cohort of up to about 20,000 rows at 200 resamples are the same
#: as drawing every resample at once; beyond, the blocks draw in turn from the same
#: generator (the same intervals for the same seed and rows, not the same draws as one
#: block would make).
RESAMPLE_BLOCK_VALUES = 2**22


def resample_blocks(bootstrap: int, n: int) -> list[int]:
    """The sizes of the blocks of ``bootstrap`` resamples of ``n`` rows (see
    :data:`RESAMPLE_BLOCK_VALUES`)."""
    size = max(1, min(bootstrap, RESAMPLE_BLOCK_VALUES // max(n, 1)))
    full, rest = divmod(bootstrap, size)
    return [size] * full + ([rest] if rest else [])


def _resampled(
    y: np.ndarray, p: np.ndarray, size: int, bins: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """The metrics of ``size`` resamples (:func:`summarize`'s bootstrap, one block)."""
    n = len(y)
    ix = stratified_resamples(y, size, rng)
    yb, pb = y[ix], p[ix]
    del ix
    plain = rng.integers(0, n, size=(size, n))
    yp, pp = y[plain], p[plain]
    del plain
    return {
        "auc": _auc_rows(yb, pb),
        "brier": ((pp - yp) ** 2).mean(axis=1),
        "ece": _ece_rows(yp, pp, bins),
        "average_precision": np.array(
            [
                average_precision_score(yb[b], pb[b]) if 0 < yb[b].sum() < n else np.nan
                for b in range(size)
            ]
        ),
    }


def summarize(
    y: np.ndarray, p: np.ndarray, *, bootstrap: int, bins: int, rng: np.random.Generator
) -> dict[str, Any]:
    """AUC, average precision, Brier and ECE with bias-corrected 95% bootstrap intervals: the
    rank metrics on stratified resamples (no resample lacks a class, so none is dropped),
    Brier and ECE on plain ones (defined on any resample)."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    n = len(y)
    point = {
        "auc": auc(y, p),
        "average_precision": float(average_precision_score(y, p))
        if 0 < y.sum() < n
        else float("nan"),
        "brier": float(np.mean((p - y) ** 2)),
        "ece": ece(y, p, bins),
    }
    out: dict[str, Any] = {
        "n": n,
        "positives": int(y.sum()),
        "prevalence": float(y.mean()),
        "mean_prediction": float(p.mean()),
    }
    if bootstrap > 0 and n > 1:
        # rank metrics (AUC, AP) are conditional on the two classes: stratified resamples keep
        # both in every resample; Brier and ECE also vary with the number of events: plain ones
        blocks = [_resampled(y, p, size, bins, rng) for size in resample_blocks(bootstrap, n)]
        boot = {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}
    else:
        boot = {}
    for k, v in point.items():
        out[k] = v
        if k in boot:
            lo, hi = bc_interval(boot[k], v)
            out[f"{k}_low"], out[f"{k}_high"] = lo, hi
            dropped = int((~np.isfinite(boot[k])).sum())
            if dropped:
                out[f"{k}_resamples_undefined"] = dropped
    return out


def metric_table(
    frame: pd.DataFrame,
    y_col: str,
    p_col: str,
    by: dict[str, str],
    *,
    bootstrap: int,
    bins: int,
    min_rows: int,
    seed: int,
) -> dict[str, Any]:
    """Overall and per-subgroup summaries (subgroups under ``min_rows`` rows are left out)."""
    rng = np.random.default_rng(seed)
    ok = frame[y_col].notna() & frame[p_col].notna()
    f = frame.loc[ok]
    res: dict[str, Any] = {
        "overall": summarize(f[y_col], f[p_col], bootstrap=bootstrap, bins=bins, rng=rng)
    }
    for name, col in by.items():
        if col not in f.columns:
            continue
        groups: dict[str, Any] = {}
        for value, g in f.groupby(f[col].astype("string").fillna("unknown")):
            if len(g) >= min_rows and 0 < g[y_col].sum() < len(g):
                groups[str(value)] = summarize(
                    g[y_col], g[p_col], bootstrap=bootstrap, bins=bins, rng=rng
                )
        res[f"by_{name}"] = groups
    return res


def curves(y: np.ndarray, p: np.ndarray, bins: int) -> dict[str, pd.DataFrame]:
    """ROC, precision-recall and calibration (reliability) curves as tables."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    fpr, tpr, _ = roc_curve(y, p)
    prec, rec, _ = precision_recall_curve(y, p)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    cal = (
        pd.DataFrame({"bin": idx, "predicted": p, "observed": y})
        .groupby("bin")
        .agg(predicted=("predicted", "mean"), observed=("observed", "mean"), n=("observed", "size"))
        .reset_index()
    )
    step: Callable[[np.ndarray], np.ndarray] = lambda a: np.round(a, 5)  # noqa: E731
    return {
        "roc": pd.DataFrame({"fpr": step(fpr), "tpr": step(tpr)}),
        "pr": pd.DataFrame({"recall": step(rec), "precision": step(prec)}),
        "calibration": cal,
    }
