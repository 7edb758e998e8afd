"""The leakage guard: refuse to train on an input that gives the outcome away.

Three checks, each naming the column and the fix (``features.leakage`` in the config):

- **names**: a declared extra input (``features.extra``) named like an outcome or a date after
  the line's start (``OS_Months``, ``PFS_Event``, ``date_of_death``, a published model's
  ``..._prob``);
- **one input alone**: on the training rows of an endpoint, an input whose values separate
  the two classes with an AUC of at least ``max_single_auc`` (either direction);
- **the model**: an AUC on held-out patients of at least ``max_model_auc``, which real
  clinical endpoints do not reach unless an outcome is among the inputs.

``features.leakage.allow`` exempts named inputs; ``features.leakage.enabled=false`` turns the
guard off. Both are logged with the run's parameters in MLflow.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from precision_onco.config.schema import FeaturesConfig
from precision_onco.errors import InputError
from precision_onco.models.metrics import auc

__all__ = ["LeakageError", "check_model", "check_names", "check_single", "single_input_auc"]

#: Fewer rows of a class than this: the one-input check is not run for that column.
_MIN_CLASS_ROWS = 5
_FIX = (
    "remove it from the inputs (features.extra / features.exclude), or, if it is known "
    "when the line starts, list it in features.leakage.allow (recorded in MLflow)"
)


class LeakageError(InputError):
    """An input that gives an endpoint's outcome away: training refused."""


def check_names(cfg: FeaturesConfig) -> None:
    """Refuse a declared extra input named like an outcome or a later date."""
    if not cfg.leakage.enabled:
        return
    rules = [re.compile(p, re.IGNORECASE) for p in cfg.leakage.name_patterns]
    for col in cfg.extra:
        if col in cfg.leakage.allow:
            continue
        hit = next((r.pattern for r in rules if r.search(str(col))), None)
        if hit is not None:
            raise LeakageError(
                f"leakage guard: features.extra {col!r} is named like an outcome or a date after "
                f"the line starts (features.leakage.name_patterns {hit!r}); {_FIX}"
            )


def single_input_auc(
    frame: pd.DataFrame, y: np.ndarray, columns: Sequence[str]
) -> dict[str, float]:
    """Each numeric column's AUC for ``y`` on its non-missing rows, folded to >= 0.5
    (columns with too few rows of a class are left out)."""
    out: dict[str, float] = {}
    y = np.asarray(y, dtype=float)
    for c in columns:
        if c not in frame.columns or not pd.api.types.is_numeric_dtype(frame[c]):
            continue
        x = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(x) & np.isfinite(y)
        pos = int(y[ok].sum())
        if min(pos, int(ok.sum()) - pos) < _MIN_CLASS_ROWS or np.ptp(x[ok]) == 0:
            continue
        a = auc(y[ok], x[ok])
        out[c] = float(max(a, 1 - a))
    return out


def check_single(
    endpoint: str, frame: pd.DataFrame, y: np.ndarray, columns: Sequence[str], cfg: FeaturesConfig
) -> dict[str, Any]:
    """Refuse an input that alone separates ``endpoint`` on the training rows; returns the
    strongest single input and its AUC (for the manifest)."""
    aucs = single_input_auc(frame, y, columns)
    if not aucs:
        return {}
    top = max(aucs, key=lambda c: aucs[c])
    if cfg.leakage.enabled:
        for c, a in sorted(aucs.items(), key=lambda kv: -kv[1]):
            if a >= cfg.leakage.max_single_auc and c not in cfg.leakage.allow:
                raise LeakageError(
                    f"leakage guard: the input {c!r} alone predicts {endpoint} almost perfectly "
                    f"on the training rows (AUC {a:.3f} >= features.leakage.max_single_auc "
                    f"{cfg.leakage.max_single_auc}); it is probably recorded after the line "
                    f"starts or derived from the outcome; {_FIX}"
                )
    return {"strongest_input": top, "strongest_input_auc": round(aucs[top], 4)}


def check_model(
    endpoint: str, held_out_auc: float, top_inputs: Sequence[str], cfg: FeaturesConfig
) -> None:
    """Refuse a model whose held-out AUC is beyond what real clinical endpoints reach."""
    if not cfg.leakage.enabled or not np.isfinite(held_out_auc):
        return
    if held_out_auc >= cfg.leakage.max_model_auc:
        raise LeakageError(
            f"leakage guard: the {endpoint} model reaches AUC {held_out_auc:.3f} on held-out "
            f"patients (>= features.leakage.max_model_auc {cfg.leakage.max_model_auc}), which "
            "means an outcome is among the inputs; its strongest inputs: "
            f"{', '.join(map(repr, top_inputs))}; {_FIX}"
        )
