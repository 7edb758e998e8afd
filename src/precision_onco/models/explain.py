"""Exact TreeSHAP contributions of an endpoint model (numbers; the words are in
:mod:`precision_onco.recommend.explain`).

The values are exact (path-dependent) TreeSHAP, LightGBM's ``pred_contrib``, computed by
:mod:`precision_onco.models.forest` from the boosters compiled once per model (the
same values up to floating-point rounding, several times faster). An endpoint model is
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
from precision_onco.models.forest import CompiledForest, forest_for, tree_shap

__all__ = ["compiled_forest", "contributions", "raw_log_odds"]


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
    ``features`` if already built, ``codes`` its float codes; ``threads`` as LightGBM's
    ``num_threads`` (1: the calling thread; 0 or less: every core) for many rows
    (:func:`~precision_onco.models.forest.tree_shap`): the same values.
    """
    if model.kind != "lightgbm":
        raise ConfigError(
            f"exact TreeSHAP needs a tree model; endpoint {model.endpoint!r} is {model.kind}"
        )
    if codes is None:
        codes = model.codes(model.matrix(features) if x is None else x)
    a = codes
    total = tree_shap(compiled_forest(model), a, threads=threads)
    contrib = pd.DataFrame(total[:, :-1], columns=model.columns, index=features.index)
    return contrib, total[:, -1]


def _boosters(model: EndpointModel) -> list[lgb.Booster]:
    members = getattr(model.estimator, "calibrated_classifiers_", None)
    return [m.estimator.booster_ for m in members] if members else [model.estimator.booster_]


def compiled_forest(model: EndpointModel) -> CompiledForest:
    """The model's boosters compiled for TreeSHAP, once per model object (the first call
    costs a fraction of a second; a server does it before taking requests)."""
    return forest_for(model.estimator, _boosters(model))


def raw_log_odds(model: EndpointModel, features: pd.DataFrame) -> np.ndarray:
    """Mean raw log-odds of the members (what the contributions add up to)."""
    x = model.matrix(features)
    return np.mean([b.predict(x, raw_score=True) for b in _boosters(model)], axis=0)
