"""Which catalog regimens a patient may receive at a therapy line, and why not."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from precision_onco.catalog.catalog import Catalog
from precision_onco.config.schema import ContraindicationConfig, RegimenConfig
from precision_onco.pgx.regimens import pgx_exclusions

__all__ = ["Eligibility", "eligibility"]

_OPS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class Eligibility:
    """Eligibility of every (row, regimen) pair.

    Attributes
    ----------
    mask : ndarray of bool, shape (n_rows, n_regimens)
        True where the regimen is eligible.
    reasons : ndarray of object, shape (n_rows, n_regimens), or None
        For excluded pairs, the first reason in plain words; ``None`` when
        reasons were not requested.
    regimen_ids : list of str
        Column order of ``mask`` and ``reasons``.
    """

    mask: np.ndarray
    reasons: np.ndarray | None
    regimen_ids: list[str]

    def excluded(self) -> pd.DataFrame:
        """Long table of excluded pairs: row, regimen_id, reason."""
        if self.reasons is None:
            raise ValueError("reasons were not computed; call eligibility(..., with_reasons=True)")
        rows, cols = np.nonzero(~self.mask)
        return pd.DataFrame(
            {
                "row": rows,
                "regimen_id": np.asarray(self.regimen_ids, dtype=object)[cols],
                "reason": self.reasons[rows, cols],
            }
        )


class _State:
    """The columns of the patient state the rules read, as arrays, converted once for all
    regimens."""

    def __init__(self, state: pd.DataFrame, status: pd.DataFrame) -> None:
        self.frame = state
        self.n = len(state)
        self.line = state["line_number"].to_numpy()
        self.cancer = state["cancer_type"].astype("string").to_numpy(dtype=object)
        if "oncotree_code" in state.columns:
            codes = state["oncotree_code"].astype("string")
            self.oncotree = codes.to_numpy(dtype=object)
            self.oncotree_unknown = codes.isna().to_numpy()
        else:
            self.oncotree = np.full(self.n, None, dtype=object)
            self.oncotree_unknown = np.ones(self.n, dtype=bool)
        self.status = {str(b): status[b].to_numpy(bool) for b in status.columns}
        self._numeric: dict[str, np.ndarray] = {}

    def numeric(self, column: str) -> np.ndarray:
        if column not in self._numeric:
            self._numeric[column] = pd.to_numeric(self.frame[column], errors="coerce"
                                                  ).to_numpy(float)  # fmt: skip
        return self._numeric[column]


def _isin(values: np.ndarray, allowed: list[str]) -> np.ndarray:
    """Which ``values`` (strings, missing as NA) are among ``allowed`` (missing: no)."""
    ok = set(allowed)
    return np.fromiter((isinstance(v, str) and v in ok for v in values), dtype=bool,
                       count=len(values))  # fmt: skip


def _contra_hits(c: ContraindicationConfig, st: _State) -> np.ndarray:
    n = st.n
    if c.biomarkers:
        hit = np.zeros(n, dtype=bool)
        for b in c.biomarkers:
            hit |= st.status[b]
    else:
        assert c.variable is not None and c.op is not None and c.value is not None
        if c.variable not in st.frame.columns:
            raise ValueError(
                f"contraindication '{c.id}' needs the column '{c.variable}', which the patient "
                f"state lacks (columns: {sorted(st.frame.columns)})"
            )
        values = st.numeric(c.variable)
        with np.errstate(invalid="ignore"):
            hit = _OPS[c.op](values, float(c.value)) & ~np.isnan(values)
    if c.max_line is not None:
        hit &= st.line <= c.max_line
    return hit


def _regimen_reasons(
    reg: RegimenConfig,
    st: _State,
    catalog: Catalog,
) -> list[tuple[np.ndarray, str]]:
    """Exclusion tests for one regimen, in the order their reasons are reported."""
    line = st.line
    tests: list[tuple[np.ndarray, str]] = [
        (~_isin(st.cancer, reg.cancer_types), f"indicated for {', '.join(reg.cancer_types)} only")
    ]
    if reg.histologies:
        unknown = st.oncotree_unknown
        tests.append(
            (
                unknown,
                f"indicated for {', '.join(reg.histologies)} histology only; the histology "
                "(OncoTree code) is not recorded",
            )
        )
        tests.append(
            (
                ~unknown & ~_isin(st.oncotree, reg.histologies),
                f"indicated for {', '.join(reg.histologies)} histology only",
            )
        )
    tests.append(
        (
            (line < reg.lines.min) | (line > reg.lines.max),
            f"allowed at lines {reg.lines.min}-{reg.lines.max} only",
        )
    )
    for b in reg.requires:
        tests.append((~st.status[b], f"requires {catalog.biomarkers[b].label} (not found)"))
    for b in reg.excludes:
        tests.append((st.status[b], f"not for patients with {catalog.biomarkers[b].label}"))
    for c in reg.contraindications:
        tests.append((_contra_hits(c, st), f"contraindicated: {c.label}"))
    return tests


def eligibility(
    state: pd.DataFrame,
    status: pd.DataFrame,
    catalog: Catalog,
    *,
    prior_exposure: np.ndarray | None = None,
    with_reasons: bool = False,
) -> Eligibility:
    """Evaluate the catalog's eligibility rules.

    Parameters
    ----------
    state : DataFrame
        One row per patient at a line start, with ``cancer_type``,
        ``oncotree_code``, ``line_number`` and the variables named by the
        contraindications (``creatinine_clearance``, ``autoimmune_disease``, …).
    status : DataFrame
        Boolean biomarker columns (by biomarker id) aligned with ``state``,
        as returned by :func:`~precision_onco.catalog.biomarker_status`.
    catalog : Catalog
        The therapy catalog.
    prior_exposure : ndarray of bool, shape (n_rows, n_regimens), optional
        Regimens already received at an earlier line; excluded when the
        catalog forbids re-challenge.
    with_reasons : bool
        Also return the first exclusion reason of every excluded pair.

    Returns
    -------
    Eligibility
    """
    n, r = len(state), len(catalog.regimens)
    mask = np.ones((n, r), dtype=bool)
    reasons = np.full((n, r), None, dtype=object) if with_reasons else None
    st = _State(state, status)
    for j, reg in enumerate(catalog.regimens):
        tests = _regimen_reasons(reg, st, catalog)
        if prior_exposure is not None and catalog.config.no_rechallenge:
            tests.append((prior_exposure[:, j], "already received at an earlier line"))
        # Pharmacogenomics (issue 17): avoid where DPYD/UGT1A1/uracilemia guidelines say so;
        # a no-op when the state has no PGx column (see precision_onco.pgx.regimens).
        tests += pgx_exclusions(reg, state)
        for hit, reason in tests:
            if reasons is not None:
                new = hit & mask[:, j]
                reasons[new, j] = reason
            mask[:, j] &= ~hit
    return Eligibility(mask=mask, reasons=reasons, regimen_ids=catalog.regimen_ids)
