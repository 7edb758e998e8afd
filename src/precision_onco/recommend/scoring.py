"""Numpy scoring of candidate rows: one float matrix per model input, each booster once.

:func:`input_codes` turns the candidate rows (a DataFrame from
:func:`~precision_onco.recommend.rank.candidate_rows`) into the float matrix
LightGBM predicts on — numeric inputs as floats, categorical inputs as their
training codes — in one pass, without building the intermediate pandas model
matrix; it equals ``model.codes(model.matrix(rows))``. :func:`endpoint_scores`
scores that matrix with each calibrated member (booster raw score, computed by the
compiled forest of :mod:`precision_onco.models.forest` — LightGBM's, bit for bit — then
the member's calibrator) and returns the probability and its jackknife interval, as
:meth:`~precision_onco.models.fit.EndpointModel.predict_interval` does.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from precision_onco.features import CATEGORICAL
from precision_onco.models.fit import EndpointModel
from precision_onco.models.forest import forest_for, raw_scores

__all__ = ["endpoint_scores", "input_codes", "members"]


def input_codes(rows: pd.DataFrame, model: EndpointModel) -> np.ndarray:
    """The LightGBM matrix of ``rows`` for ``model`` as floats (categories as their training
    codes, missing and unseen values as NaN): ``model.codes(model.matrix(rows))``."""
    n = len(rows)
    out = np.empty((n, len(model.columns)), dtype="float64")
    dtypes = rows.dtypes.to_dict()
    fast: list[int] = []
    for j, c in enumerate(model.columns):
        if c in CATEGORICAL:
            out[:, j] = _category_codes(rows, c, model.levels.get(c))
        elif c not in dtypes:
            out[:, j] = np.nan
        elif _plain_number(dtypes[c]):
            fast.append(j)
        else:
            out[:, j] = pd.to_numeric(rows[c], errors="coerce").astype("float64").to_numpy()
    if fast:
        names = [model.columns[j] for j in fast]
        out[:, fast] = rows[names].to_numpy(dtype="float64", na_value=np.nan)
    return out


def _plain_number(dtype: Any) -> bool:
    """Numeric and not boolean (what :func:`~precision_onco.features.model_matrix` converts
    in one block); numpy dtypes are decided without pandas' slower checks."""
    if isinstance(dtype, np.dtype):
        return dtype.kind in "iufc"
    return bool(pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))


def _category_codes(rows: pd.DataFrame, c: str, levels: list[str] | None) -> np.ndarray:
    if c not in rows.columns:
        return np.full(len(rows), np.nan)
    col = rows[c]
    values = col.to_numpy(dtype=object)
    missing = col.isna().to_numpy()
    if levels is None:  # as model_matrix: the categories seen in these rows
        levels = sorted({str(v) for v, m in zip(values, missing, strict=True) if not m})
    pos = {lv: float(i) for i, lv in enumerate(levels)}
    return np.array(
        [np.nan if m else pos.get(str(v), np.nan) for v, m in zip(values, missing, strict=True)],
        dtype="float64",
    )


def members(model: EndpointModel) -> list[Any]:
    """The calibrated members of ``model`` (empty without calibration)."""
    return list(getattr(model.estimator, "calibrated_classifiers_", None) or [])


def member_probabilities(model: EndpointModel, codes: np.ndarray) -> np.ndarray | None:
    """P(endpoint = 1) by each calibrated LightGBM member on ``codes`` (shape (K, n)), as
    :meth:`EndpointModel.member_probabilities`; None without members."""
    ms = members(model)
    if not ms:
        return None
    # every member's raw score in one compiled pass, bit for bit LightGBM's
    forest = forest_for(model.estimator, [m.estimator.booster_ for m in ms])
    raw = raw_scores(forest, codes, threads=model.threads())
    out = np.empty((len(ms), len(codes)))
    for k in range(len(ms)):
        out[k] = model.calibrate(k, raw[k])
    return out


def endpoint_scores(
    model: EndpointModel,
    rows: pd.DataFrame,
    *,
    codes: np.ndarray | None = None,
    level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probability and ``level`` interval of each row, as :meth:`EndpointModel.predict_interval`
    (``codes``: :func:`input_codes` of ``rows`` for a LightGBM model, when already built)."""
    if model.kind != "lightgbm":
        return model.predict_interval(rows, level)
    a = input_codes(rows, model) if codes is None else codes
    probs = member_probabilities(model, a)
    if probs is None or len(probs) < 2:
        return model.predict_interval(rows, level)
    p = probs.mean(axis=0)
    k = len(probs)
    se = np.sqrt((k - 1) / k * ((probs - p) ** 2).sum(axis=0))
    q = NormalDist().inv_cdf(0.5 + level / 2)
    return p, np.clip(p - q * se, 0.0, 1.0), np.clip(p + q * se, 0.0, 1.0)
