"""Exact TreeSHAP contributions of an endpoint model, in clinical words.

LightGBM's ``pred_contrib`` gives exact TreeSHAP values. An endpoint model is
an average of K calibrated members; the contributions reported are the mean of
the members' contributions to their raw log-odds, so for every row they sum
(with the mean bias term) to the mean raw log-odds of the members —
:func:`contributions` returns that sum for checking. Calibration then maps
log-odds to probability monotonically, member by member.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from precision_onco.config.schema import CatalogConfig
from precision_onco.models.fit import EndpointModel
from precision_onco.recommend.labels import describe

__all__ = [
    "contributions", "describe", "json_value", "raw_log_odds", "separation", "separations",
    "top_drivers",
]


def contributions(model: EndpointModel, features: pd.DataFrame, *,
                  x: pd.DataFrame | None = None, codes: np.ndarray | None = None,
                  threads: int = 0) -> tuple[pd.DataFrame, np.ndarray]:  # fmt: skip
    """Per-row TreeSHAP contributions (log-odds) by feature, and the bias term.

    Returns ``(contrib, bias)``: ``contrib.sum(axis=1) + bias`` equals the mean raw
    log-odds of the model's members for each row. ``x``: the model matrix of
    ``features`` if already built, ``codes`` its float codes; ``threads``: LightGBM threads
    (0: all cores).
    """
    if model.kind != "lightgbm":
        raise ValueError(f"exact TreeSHAP needs a tree model; endpoint {model.endpoint!r} is "
                         f"{model.kind}")  # fmt: skip
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


def json_value(v: Any) -> Any:
    """A feature value as JSON can hold it (NaN and NA as null)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v if isinstance(v, str | int | float | bool) else str(v)


def _tree_shap(booster: lgb.Booster, a: np.ndarray, threads: int) -> np.ndarray:
    """Exact TreeSHAP values of one booster (raw log-odds), bias last (LightGBM's own)."""
    return np.asarray(booster.predict(a, pred_contrib=True, num_threads=threads))


def raw_log_odds(model: EndpointModel, features: pd.DataFrame) -> np.ndarray:
    """Mean raw log-odds of the members (what the contributions add up to)."""
    x = model.matrix(features)
    members = getattr(model.estimator, "calibrated_classifiers_", None)
    boosters = [m.estimator.booster_ for m in members] if members else [model.estimator.booster_]
    return np.mean([b.predict(x, raw_score=True) for b in boosters], axis=0)


Drivers = dict[str, list[dict[str, Any]]]


def top_drivers(contrib: pd.DataFrame, features: pd.DataFrame, *, k: int = 3,
                catalog: CatalogConfig | None = None) -> list[Drivers]:
    """For each row, the ``k`` features pushing the prediction up and down, in words."""
    out = []
    names = list(contrib.columns)
    c_all = contrib.to_numpy(dtype=float)
    top = np.argsort(c_all, axis=1)
    used = np.unique(np.concatenate([top[:, :k].ravel(), top[:, -k:].ravel()]))
    columns = {names[j]: (features[names[j]].to_numpy(dtype=object)
                          if names[j] in features.columns else None) for j in used}  # fmt: skip
    for i in range(len(c_all)):
        row: Drivers = {"up": [], "down": []}
        for direction, idx in (("up", top[i, ::-1][:k]), ("down", top[i, :k])):
            for j in idx:
                v = float(c_all[i, j])
                if (direction == "up" and v <= 0) or (direction == "down" and v >= 0):
                    continue
                col = columns[names[j]]
                value = None if col is None else col[i]
                row[direction].append({"feature": names[j], "contribution": round(v, 4),
                                       "value": json_value(value),
                                       "text": describe(names[j], value, catalog)})  # fmt: skip
        out.append(row)
    return out


def separation(contrib_first: pd.Series, contrib_second: pd.Series, first: Mapping[str, Any],
               second: Mapping[str, Any], *, k: int = 3,
               catalog: CatalogConfig | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """The features whose contributions differ most between the first and second regimen."""
    diff = (contrib_first - contrib_second).sort_values(key=np.abs, ascending=False)
    out = []
    for name, d in diff.head(k).items():
        if d == 0:
            continue
        out.append({"feature": name, "difference": round(float(d), 4),
                    "first": describe(str(name), first.get(name), catalog),
                    "second": describe(str(name), second.get(name), catalog)})  # fmt: skip
    return out


def separations(contrib: pd.DataFrame, features: pd.DataFrame, first: np.ndarray,
                second: np.ndarray, *, k: int = 3,
                catalog: CatalogConfig | None = None) -> list[list[dict[str, Any]]]:  # fmt: skip
    """:func:`separation` for many (first, second) row pairs of ``contrib`` at once."""
    if not len(first):
        return []
    names = list(contrib.columns)
    c = contrib.to_numpy(dtype=float)
    diff = c[first] - c[second]
    order = np.argsort(-np.abs(diff), axis=1, kind="stable")[:, :k]
    columns = {names[c]: (features[names[c]].to_numpy(dtype=object)
                          if names[c] in features.columns else None)
               for c in np.unique(order)}  # fmt: skip
    out = []
    for r, (i, j) in enumerate(zip(first, second, strict=True)):
        items = []
        for col in order[r]:
            d = float(diff[r, col])
            if d == 0:
                continue
            vals = columns[names[col]]
            v1, v2 = (None, None) if vals is None else (vals[i], vals[j])
            items.append({"feature": names[col], "difference": round(d, 4),
                          "first": describe(names[col], v1, catalog),
                          "second": describe(names[col], v2, catalog),
                          "first_value": json_value(v1), "second_value": json_value(v2)})
        out.append(items)
    return out
