"""Endpoint labels and the patient-grouped train / validation / test split."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from precision_onco.config.schema import EndpointConfig, SplitConfig, SplitMethod, choices_of
from precision_onco.errors import ConfigError, InputError

__all__ = ["assign_split", "endpoint_labels"]

log = logging.getLogger(__name__)


def endpoint_labels(
    lines: pd.DataFrame, endpoints: Mapping[str, EndpointConfig]
) -> tuple[pd.DataFrame, dict[str, str]]:
    """0/1 (missing when unknown) per endpoint, aligned with ``lines``; and skipped endpoints.

    An endpoint whose column the cohort lacks is skipped, with the reason.
    """
    out = pd.DataFrame(index=lines.index)
    skipped: dict[str, str] = {}
    for name, e in endpoints.items():
        if e.column not in lines.columns:
            skipped[name] = f"the lines table has no column {e.column!r}"
            continue
        col = pd.to_numeric(lines[e.column], errors="coerce").astype("float64")
        y = (col >= e.threshold).astype("float64") if e.threshold is not None else col
        y = y.where(col.notna())
        bad = y.notna() & ~y.isin([0.0, 1.0])
        if bad.any():
            raise InputError(
                f"endpoints.{name}: column {e.column!r} has values other than 0/1 "
                f"(e.g. {col[bad].iloc[0]!r}); set a threshold"
            )
        if y.nunique(dropna=True) < 2:
            skipped[name] = f"column {e.column!r} has a single value"
            continue
        out[name] = y
    for name, why in skipped.items():
        log.warning("endpoint %s skipped: %s", name, why)
    return out, skipped


def assign_split(lines: pd.DataFrame, cfg: SplitConfig) -> pd.Series:
    """``train`` / ``validation`` / ``test`` for each line; all lines of a patient together.

    ``group``: test patients drawn at random; ``temporal``: the patients whose
    first line starts last are the test set; ``column``: rows whose
    ``cfg.column`` value is in ``cfg.test_values`` are the test set (a patient
    with any such row is wholly held out). Validation patients (for early
    stopping) are drawn at random among the rest.
    """
    rng = np.random.default_rng(cfg.seed)
    pk = lines["patient_key"].astype(str)
    patients = np.array(sorted(pk.unique()))
    if cfg.method == "group":
        n_test = int(round(cfg.test_fraction * len(patients)))
        test = set(rng.permutation(patients)[:n_test])
    elif cfg.method == "temporal":
        if "start_date" not in lines.columns:
            raise InputError("split.method=temporal needs a start_date column in the lines table")
        first = lines.assign(_pk=pk).groupby("_pk")["start_date"].min().sort_values(kind="stable")
        n_test = int(round(cfg.test_fraction * len(first)))
        test = set(first.index[len(first) - n_test :])
    elif cfg.method == "column":
        if not cfg.column or cfg.column not in lines.columns:
            raise ConfigError(f"split.column: {cfg.column!r} is not a column of the lines table")
        held = lines[cfg.column].astype("string").isin([str(v) for v in cfg.test_values])
        test = set(pk[held.fillna(False).to_numpy(bool)])
        if not test:
            raise ConfigError(
                f"split.column {cfg.column!r}: no row has a value in {list(cfg.test_values)}"
            )
    else:
        raise ConfigError(
            f"split.method: {cfg.method!r} is not one of {', '.join(choices_of(SplitMethod))}"
        )
    rest = np.array([p for p in patients if p not in test])
    n_val = int(round(cfg.validation_fraction * len(rest)))
    val = set(rng.permutation(rest)[:n_val])
    role = np.where(pk.isin(test), "test", np.where(pk.isin(val), "validation", "train"))
    return pd.Series(role, index=lines.index, name="split")
