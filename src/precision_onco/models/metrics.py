"""Discrimination and calibration metrics with bootstrap confidence intervals, and curves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_curve

__all__ = ["auc", "curves", "ece", "metric_table", "summarize"]


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


def summarize(y: np.ndarray, p: np.ndarray, *, bootstrap: int, bins: int,
              rng: np.random.Generator) -> dict[str, Any]:  # fmt: skip
    """AUC, average precision, Brier and ECE with percentile 95% bootstrap intervals."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    n = len(y)
    point = {
        "auc": auc(y, p),
        "average_precision": float(average_precision_score(y, p)) if 0 < y.sum() < n
        else float("nan"),
        "brier": float(np.mean((p - y) ** 2)),
        "ece": ece(y, p, bins),
    }
    out: dict[str, Any] = {"n": n, "positives": int(y.sum()), "prevalence": float(y.mean()),
                           "mean_prediction": float(p.mean())}  # fmt: skip
    if bootstrap > 0 and n > 1:
        ix = rng.integers(0, n, size=(bootstrap, n))
        yb, pb = y[ix], p[ix]
        boot: dict[str, np.ndarray] = {
            "auc": _auc_rows(yb, pb),
            "brier": ((pb - yb) ** 2).mean(axis=1),
            "ece": _ece_rows(yb, pb, bins),
            "average_precision": np.array([
                average_precision_score(yb[b], pb[b]) if 0 < yb[b].sum() < n else np.nan
                for b in range(bootstrap)
            ]),
        }  # fmt: skip
    else:
        boot = {}
    for k, v in point.items():
        out[k] = v
        if k in boot:
            finite = boot[k][np.isfinite(boot[k])]
            lo, hi = (np.percentile(finite, [2.5, 97.5]) if len(finite) else (np.nan, np.nan))
            out[f"{k}_low"], out[f"{k}_high"] = float(lo), float(hi)
    return out


def metric_table(
    frame: pd.DataFrame, y_col: str, p_col: str, by: dict[str, str], *, bootstrap: int,
    bins: int, min_rows: int, seed: int,
) -> dict[str, Any]:  # fmt: skip
    """Overall and per-subgroup summaries (subgroups under ``min_rows`` rows are left out)."""
    rng = np.random.default_rng(seed)
    ok = frame[y_col].notna() & frame[p_col].notna()
    f = frame.loc[ok]
    res: dict[str, Any] = {"overall": summarize(f[y_col], f[p_col], bootstrap=bootstrap,
                                                bins=bins, rng=rng)}  # fmt: skip
    for name, col in by.items():
        if col not in f.columns:
            continue
        groups: dict[str, Any] = {}
        for value, g in f.groupby(f[col].astype("string").fillna("unknown")):
            if len(g) >= min_rows and 0 < g[y_col].sum() < len(g):
                groups[str(value)] = summarize(g[y_col], g[p_col], bootstrap=bootstrap,
                                               bins=bins, rng=rng)  # fmt: skip
        res[f"by_{name}"] = groups
    return res


def curves(y: np.ndarray, p: np.ndarray, bins: int) -> dict[str, pd.DataFrame]:
    """ROC, precision-recall and calibration (reliability) curves as tables."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    fpr, tpr, _ = roc_curve(y, p)
    prec, rec, _ = precision_recall_curve(y, p)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    cal = (pd.DataFrame({"bin": idx, "predicted": p, "observed": y})
           .groupby("bin").agg(predicted=("predicted", "mean"), observed=("observed", "mean"),
                               n=("observed", "size")).reset_index())  # fmt: skip
    step: Callable[[np.ndarray], np.ndarray] = lambda a: np.round(a, 5)  # noqa: E731
    return {
        "roc": pd.DataFrame({"fpr": step(fpr), "tpr": step(tpr)}),
        "pr": pd.DataFrame({"recall": step(rec), "precision": step(prec)}),
        "calibration": cal,
    }
