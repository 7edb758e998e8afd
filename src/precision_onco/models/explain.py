"""Exact TreeSHAP contributions of an endpoint model (numbers; the words are in
:mod:`precision_onco.recommend.explain`).

LightGBM's ``pred_contrib`` gives exact TreeSHAP values. An endpoint model is
an average of K calibrated members; the contributions reported are the mean of
the members' contributions to their raw log-odds, so for every row they sum
(with the mean bias term) to the mean raw log-odds of the members —
:func:`contributions` returns that sum for checking. Calibration then maps
log-odds to probability monotonically, member by member.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from precision_onco.errors import ConfigError
from precision_onco.models.fit import EndpointModel

__all__ = ["contributions", "raw_log_odds"]


def contributions(
    model: EndpointModel,
    features: pd.DataFrame,
    *,
    x: pd.DataFrame | None = None,
    codes: np.ndarray | None = None,
    threads: int = 0,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Per-row TreeSHAP contributions (log-odds) by feature, and the bias term.

    Returns ``(contrib, bias)``: ``contrib.sum(axis=1) + bias`` equals the mean raw
    log-odds of the model's members for each row. ``x``: the model matrix of
    ``features`` if already built, ``codes`` its float codes; ``threads``: LightGBM threads
    (0: all cores).
    """
    if model.kind != "lightgbm":
        raise ConfigError(
            f"exact TreeSHAP needs a tree model; endpoint {model.endpoint!r} is {model.kind}"
        )
    if codes is None:
        codes = model.codes(model.matrix(features) if x is None else x)
    a = codes
    members = getattr(model.estimator, "calibrated_classifiers_", None)
    boosters = [m.estimator.booster_ for m in members] if members else [model.estimator.booster_]
    total = np.zeros((len(a), len(model.columns) + 1))
    for b in boosters:
        total += _tree_shap(b, a, threads)
    total /= len(boosters)
    contrib = pd.DataFrame(total[:, :-1], columns=model.columns, index=features.index)
    return contrib, total[:, -1]


def _tree_shap(booster: lgb.Booster, a: np.ndarray, threads: int) -> np.ndarray:
    """Exact TreeSHAP values of one booster (raw log-odds), bias last (LightGBM's own)."""
    return np.asarray(booster.predict(a, pred_contrib=True, num_threads=threads))


def raw_log_odds(model: EndpointModel, features: pd.DataFrame) -> np.ndarray:
    """Mean raw log-odds of the members (what the contributions add up to)."""
    x = model.matrix(features)
    members = getattr(model.estimator, "calibrated_classifiers_", None)
    boosters = [m.estimator.booster_ for m in members] if members else [model.estimator.booster_]
    return np.mean([b.predict(x, raw_score=True) for b in boosters], axis=0)
