"""Exact TreeSHAP contributions of an endpoint model, in clinical words.

The numbers (:func:`contributions`, :func:`raw_log_odds`) are computed in
:mod:`precision_onco.models.explain`; this module puts them into words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from precision_onco.config.schema import CatalogConfig
from precision_onco.jsonable import json_value
from precision_onco.models.explain import contributions, raw_log_odds
from precision_onco.report.wording import describe

__all__ = [
    "contributions",
    "describe",
    "json_value",
    "raw_log_odds",
    "separation",
    "separations",
    "top_drivers",
]


Drivers = dict[str, list[dict[str, Any]]]


class _Words:
    """:func:`json_value` and :func:`describe` of a feature's value, each (feature, value
    type, value) put into words once: a cohort's rows repeat the same few values."""

    seen: dict[tuple[str, type, Any], tuple[Any, str]]

    def __init__(self, catalog: CatalogConfig | None) -> None:
        self.catalog = catalog
        self.seen = {}

    def __call__(self, feature: str, value: Any) -> tuple[Any, str]:
        try:  # floats by their exact bits: -0.0 and 0.0 apart, every NaN together
            key = (feature, type(value), value.hex() if isinstance(value, float) else value)
            hit = self.seen.get(key)
        except TypeError:  # not hashable
            return json_value(value), describe(feature, value, self.catalog)
        if hit is None:
            hit = json_value(value), describe(feature, value, self.catalog)
            self.seen[key] = hit
        return hit


def top_drivers(
    contrib: pd.DataFrame,
    features: pd.DataFrame,
    *,
    k: int = 3,
    catalog: CatalogConfig | None = None,
) -> list[Drivers]:
    """For each row, the ``k`` features pushing the prediction up and down, in words."""
    out = []
    names = list(contrib.columns)
    c_all = contrib.to_numpy(dtype=float)
    top = np.argsort(c_all, axis=1)
    used = np.unique(np.concatenate([top[:, :k].ravel(), top[:, -k:].ravel()]))
    columns = {
        names[j]: (
            features[names[j]].to_numpy(dtype=object) if names[j] in features.columns else None
        )
        for j in used
    }
    words = _Words(catalog)
    for i in range(len(c_all)):
        row: Drivers = {"up": [], "down": []}
        for direction, idx in (("up", top[i, ::-1][:k]), ("down", top[i, :k])):
            for j in idx:
                v = float(c_all[i, j])
                if (direction == "up" and v <= 0) or (direction == "down" and v >= 0):
                    continue
                col = columns[names[j]]
                value = None if col is None else col[i]
                shown, text = words(names[j], value)
                row[direction].append(
                    {
                        "feature": names[j],
                        "contribution": round(v, 4),
                        "value": shown,
                        "text": text,
                    }
                )
        out.append(row)
    return out


def separation(
    contrib_first: pd.Series,
    contrib_second: pd.Series,
    first: Mapping[str, Any],
    second: Mapping[str, Any],
    *,
    k: int = 3,
    catalog: CatalogConfig | None = None,
) -> list[dict[str, Any]]:
    """The features whose contributions differ most between the first and second regimen."""
    diff = (contrib_first - contrib_second).sort_values(key=np.abs, ascending=False)
    out = []
    for name, d in diff.head(k).items():
        if d == 0:
            continue
        out.append(
            {
                "feature": name,
                "difference": round(float(d), 4),
                "first": describe(str(name), first.get(name), catalog),
                "second": describe(str(name), second.get(name), catalog),
            }
        )
    return out


def separations(
    contrib: pd.DataFrame,
    features: pd.DataFrame,
    first: np.ndarray,
    second: np.ndarray,
    *,
    k: int = 3,
    catalog: CatalogConfig | None = None,
) -> list[list[dict[str, Any]]]:
    """:func:`separation` for many (first, second) row pairs of ``contrib`` at once."""
    if not len(first):
        return []
    names = list(contrib.columns)
    c = contrib.to_numpy(dtype=float)
    diff = c[first] - c[second]
    order = np.argsort(-np.abs(diff), axis=1, kind="stable")[:, :k]
    columns = {
        names[c]: (
            features[names[c]].to_numpy(dtype=object) if names[c] in features.columns else None
        )
        for c in np.unique(order)
    }
    out = []
    for r, (i, j) in enumerate(zip(first, second, strict=True)):
        items = []
        for col in order[r]:
            d = float(diff[r, col])
            if d == 0:
                continue
            vals = columns[names[col]]
            v1, v2 = (None, None) if vals is None else (vals[i], vals[j])
            items.append(
                {
                    "feature": names[col],
                    "difference": round(d, 4),
                    "first": describe(names[col], v1, catalog),
                    "second": describe(names[col], v2, catalog),
                    "first_value": json_value(v1),
                    "second_value": json_value(v2),
                }
            )
        out.append(items)
    return out
