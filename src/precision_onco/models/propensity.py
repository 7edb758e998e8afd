"""The propensity of observed practice: which regimen was given, from the line state.

A multiclass LightGBM predicts the regimen given at a line from everything known
at its start (the feature table: performance status, labs, biomarkers, history).
Probabilities are *cross-fitted*: each line's probabilities come from a model
fitted on the other patients' lines (patient-grouped folds), so a line never
informs its own weight. The off-policy estimators and the propensity-weighted
training both use them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from precision_onco.config.schema import PropensityConfig
from precision_onco.features import model_matrix

__all__ = ["Propensity", "cross_fit_propensity", "restrict_to"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Propensity:
    """Cross-fitted P(regimen | line state): ``proba[i, j]`` for line ``i``, regimen
    ``classes[j]``."""

    classes: list[str]
    proba: np.ndarray

    def of(self, regimen: Sequence[object], rows: np.ndarray | None = None) -> np.ndarray:
        """Probability of ``regimen[k]`` at line ``rows[k]`` (default: line ``k``); 0 for a
        regimen never given."""
        col = {c: j for j, c in enumerate(self.classes)}
        j = np.array([col.get(str(r), -1) for r in regimen], dtype=int)
        rows = np.arange(len(j)) if rows is None else np.asarray(rows, dtype=int)
        out = np.zeros(len(j))
        ok = j >= 0
        out[ok] = self.proba[rows[ok], j[ok]]
        return out


def cross_fit_propensity(
    states: pd.DataFrame,
    columns: Sequence[str],
    given: pd.Series,
    groups: pd.Series,
    settings: PropensityConfig,
    *,
    seed: int = 0,
    n_jobs: int = 1,
) -> Propensity:
    """Cross-fitted multiclass propensity of the ``given`` regimen.

    Parameters
    ----------
    states : DataFrame
        One row per line: the state at line start (``columns`` are used).
    given : Series
        Regimen actually given on each line (missing: ``"unknown"``).
    groups : Series
        Patient of each line; folds keep a patient's lines together.
    settings : PropensityConfig
        Patient-grouped folds (at most the number of patients) and the LightGBM
        hyperparameters (``conf/propensity/``: small, regularized trees, see there).
    seed, n_jobs
        LightGBM seed and threads.

    Returns
    -------
    Propensity
        Out-of-fold probabilities of every regimen ever given, rows in ``states`` order.
    """
    if len(states) != len(given) or len(states) != len(groups):
        raise ValueError(
            f"states, given and groups differ in length: {len(states)}, {len(given)}, {len(groups)}"
        )
    x = model_matrix(states, list(columns))
    x.columns = [f"f{j}" for j in range(x.shape[1])]  # LightGBM refuses some characters
    y = given.astype("string").fillna("unknown").to_numpy(dtype=object)
    classes, yi = np.unique(y, return_inverse=True)
    proba = np.zeros((len(y), len(classes)))
    if len(classes) == 1:
        proba[:] = 1.0
        return Propensity([str(c) for c in classes], proba)
    n_folds = max(2, min(settings.folds, int(pd.Series(groups).nunique())))
    for tr, te in GroupKFold(n_splits=n_folds).split(x, yi, groups):
        seen = np.unique(yi[tr])
        if len(seen) == 1:  # the other patients all got one regimen: it is certain
            proba[te, seen[0]] = 1.0
            continue
        m = lgb.LGBMClassifier(
            n_estimators=settings.n_estimators,
            learning_rate=settings.learning_rate,
            num_leaves=settings.num_leaves,
            min_child_samples=settings.min_child_samples,
            reg_lambda=settings.reg_lambda,
            verbose=-1,
            random_state=seed,
            n_jobs=n_jobs,
        )
        m.fit(x.iloc[tr], yi[tr])
        proba[np.ix_(te, np.asarray(m.classes_, dtype=int))] = m.predict_proba(x.iloc[te])
    log.info(
        "propensity: %d lines, %d regimens, %d patient-grouped folds", len(y), len(classes), n_folds
    )
    return Propensity([str(c) for c in classes], proba)


def restrict_to(pairs: pd.DataFrame, propensity: Propensity, line_index: np.ndarray) -> np.ndarray:
    """Propensity of each (line, regimen) pair, renormalized over the line's pairs.

    Regimens are only ever chosen among the eligible ones, so the probability the
    model spreads over the others is structural zero. ``pairs``: one row per
    candidate regimen (column ``regimen_id``); ``line_index[k]``: the row of
    ``propensity.proba`` of pair ``k``'s line.
    """
    raw = propensity.of(pairs["regimen_id"].tolist(), line_index)
    total = pd.Series(raw).groupby(line_index).transform("sum").to_numpy()
    n = pd.Series(raw).groupby(line_index).transform("size").to_numpy()
    return np.where(total > 0, raw / np.where(total > 0, total, 1.0), 1.0 / n)
