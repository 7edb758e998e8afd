"""Columns whose values look like another scale than the canonical one.

A lab in g/L where g/dL is expected, a log-scaled TMB, a PD-L1 TPS given as a
fraction: each passes or fails the range checks of :mod:`~precision_onco.ingest.tables`
row by row, and either way the column is wrong as a whole. :func:`scale_warnings`
looks at the distribution of each checked numeric column (after the configured
``units`` conversions) and returns, for a column that looks like another scale,
a :class:`ScaleWarning` naming the column, the likely scale, how many rows the
range check rejects because of it, and the ``units`` entry that fixes it
(``cohort.inputs.lines.units.tmb: "log2->linear"``). The ingest summary lists
them under ``warnings``; nothing is converted without that config.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

__all__ = ["MIN_VALUES", "RULES", "ScaleWarning", "scale_warnings"]

#: Fewer present values than this: no distribution to judge, no warning.
MIN_VALUES = 5


class _Field(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def lo(self) -> float | None: ...
    @property
    def hi(self) -> float | None: ...
    @property
    def unit(self) -> str: ...

    def expectation(self) -> str: ...


@dataclass(frozen=True)
class ScaleWarning:
    """A column that looks like it is on another scale, and the config that fixes it."""

    label: str  # the cohort input: patients, lines, test_lines
    column: str
    expected: str  # the canonical unit or range
    likely: str  # the scale the values look like
    conversion: str  # the `units` value that converts it
    evidence: str  # what in the values says so
    values: int  # present values in the column
    rejected: int  # rows the range check rejects on this column
    configured: str | None = None  # the column's `units` entry, when one is set

    @property
    def fix(self) -> str:
        """The config line to add."""
        return f'cohort.inputs.{self.label}.units.{self.column}: "{self.conversion}"'

    def message(self) -> str:
        """One line for the summary and the log."""
        lost = (
            f"; {self.rejected} of {self.values} rows are rejected as out of range "
            f"({self.expected})"
            if self.rejected
            else f"; no row is rejected, but every value is read as {self.expected}"
        )
        now = f' (instead of "{self.configured}")' if self.configured else ""
        return (
            f"{self.column}: values look {self.likely}, not {self.expected} "
            f"({self.evidence}){lost}. If so, set {self.fix}{now}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "likely_scale": self.likely,
            "expected": self.expected,
            "evidence": self.evidence,
            "values": self.values,
            "rejected": self.rejected,
            "fix": self.fix,
        }


_Rule = Callable[[np.ndarray], tuple[str, str, str] | None]


def _g(x: float) -> str:
    return f"{x:.3g}"


def _log_tmb(v: np.ndarray) -> tuple[str, str, str] | None:
    neg = int((v < 0).sum())
    if neg and v.max() <= 13:  # 2^13 mut/Mb: no linear TMB column stays this low with negatives
        base = "log10" if v.max() <= 3.5 else "log2"
        return (
            f"log-scaled (e.g. {base} of mut/Mb)",
            f"{base}->linear",
            f"{neg} negative values, min {_g(v.min())}, median {_g(np.median(v))}, "
            f"max {_g(v.max())}",
        )
    if len(v) >= 20 and v.max() < 8 and np.mean(v % 1 != 0) > 0.5:
        return (
            "log-scaled (e.g. log2 or log1p of mut/Mb)",
            "log2->linear",
            f"all {len(v)} values below 8 and mostly fractional, median {_g(np.median(v))}; "
            "for log1p use log1p->linear",
        )
    return None


def _above(threshold: float, likely: str, conversion: str) -> _Rule:
    def rule(v: np.ndarray) -> tuple[str, str, str] | None:
        med = float(np.median(v))
        if med >= threshold:
            return likely, conversion, f"median {_g(med)}, range {_g(v.min())}–{_g(v.max())}"
        return None

    return rule


def _below(threshold: float, likely: str, conversion: str) -> _Rule:
    def rule(v: np.ndarray) -> tuple[str, str, str] | None:
        med = float(np.median(v))
        if 0 < med <= threshold:
            return likely, conversion, f"median {_g(med)}, range {_g(v.min())}–{_g(v.max())}"
        return None

    return rule


def _fraction(v: np.ndarray) -> tuple[str, str, str] | None:
    if v.min() >= 0 and v.max() <= 1 and bool(((v > 0) & (v < 1)).any()):
        return (
            "a fraction (0–1)",
            "fraction->%",
            f"all {len(v)} values between 0 and 1, max {_g(v.max())}",
        )
    return None


_AGE_MONTHS = _above(150, "in months", "months->years")

#: Per canonical column: the other scale its values may be on. ``%`` columns get the
#: fraction rule whatever their name.
RULES: Mapping[str, _Rule] = {
    "tmb": _log_tmb,
    "albumin": _above(15, "in g/L", "g/L->g/dL"),  # 35–50 g/L is 3.5–5.0 g/dL
    "hemoglobin": _above(40, "in g/L", "g/L->g/dL"),  # 120–160 g/L is 12–16 g/dL
    "platelets": _above(5000, "a count per µL", "/uL->10^9/L"),  # 250,000/µL is 250 ×10⁹/L
    "bilirubin": _above(4, "in µmol/L", "umol/L->mg/dL"),  # 5–21 µmol/L is 0.3–1.2 mg/dL
    "creatinine_clearance": _below(5, "in mL/s", "mL/s->mL/min"),  # 1.5 mL/s is 90 mL/min
    "age_at_line": _AGE_MONTHS,
    "age_at_diagnosis": _AGE_MONTHS,
}


def _numbers(col: pd.Series) -> np.ndarray:
    v = pd.to_numeric(col, errors="coerce").astype("float64").to_numpy()
    return v[~np.isnan(v)]


def scale_warnings(
    frame: pd.DataFrame,
    fields: Mapping[str, _Field],
    *,
    label: str,
    configured: Mapping[str, str] | None = None,
) -> list[ScaleWarning]:
    """The checked numeric columns of ``frame`` whose values look like another scale.

    ``frame``: the table after mapping, ``units`` conversion and type coercion (before
    the range checks); ``label``: the cohort input it came from (for the fix's key);
    ``configured``: its ``units`` entries (a warning on a converted column names them).
    """
    out: list[ScaleWarning] = []
    for name, f in fields.items():
        if name not in frame.columns or f.kind not in ("float", "int"):
            continue
        rule = RULES.get(name) or (_fraction if f.unit == "%" else None)
        if rule is None:
            continue
        v = _numbers(frame[name])
        if len(v) < MIN_VALUES:
            continue
        hit = rule(v)
        if hit is None:
            continue
        likely, conversion, evidence = hit
        lo = -np.inf if f.lo is None else f.lo
        hi = np.inf if f.hi is None else f.hi
        rejected = int(((v < lo) | (v > hi)).sum())
        out.append(
            ScaleWarning(
                label,
                name,
                f.expectation(),
                likely,
                conversion,
                evidence,
                len(v),
                rejected,
                (configured or {}).get(name),
            )
        )
    return out
