"""Which catalog regimens a patient may receive at a therapy line, and why not."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from precision_onco.catalog.biomarkers import untested_genes
from precision_onco.catalog.catalog import Catalog
from precision_onco.config.schema import ContraindicationConfig, RegimenConfig
from precision_onco.errors import InputError
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


def _contra_hits(
    c: ContraindicationConfig, state: pd.DataFrame, status: pd.DataFrame
) -> np.ndarray:
    n = len(state)
    if c.biomarkers:
        hit = np.zeros(n, dtype=bool)
        for b in c.biomarkers:
            hit |= status[b].to_numpy(bool)
    else:
        assert c.variable is not None and c.op is not None and c.value is not None
        if c.variable not in state.columns:
            raise InputError(
                f"contraindication '{c.id}' needs the column '{c.variable}', which the patient "
                f"state lacks (columns: {sorted(state.columns)})"
            )
        values = pd.to_numeric(state[c.variable], errors="coerce").to_numpy(float)
        with np.errstate(invalid="ignore"):
            hit = _OPS[c.op](values, float(c.value)) & ~np.isnan(values)
    if c.max_line is not None:
        hit &= state["line_number"].to_numpy() <= c.max_line
    return hit


def _needs_testing(
    rows: np.ndarray,
    biomarkers: list[str],
    catalog: Catalog,
    covered: Sequence[set[str] | None] | None,
    rule_text: str,
    *,
    tested: pd.DataFrame | None = None,
) -> np.ndarray:
    """Per-row reason of a regimen that needs a biomarker test first: which genes the
    patient's assay did not cover (or which marker is not recorded)."""
    out = np.full(len(rows), None, dtype=object)
    for i in np.flatnonzero(rows):
        cov = covered[i] if covered is not None else None
        genes: list[str] = []
        unrecorded: list[str] = []
        for b in biomarkers:
            if tested is not None and bool(tested[b].iloc[i]):
                continue
            rule = catalog.biomarkers[b]
            if rule.genes:
                genes += [g for g in untested_genes(rule, cov) if g not in genes]
            elif rule.marker:
                unrecorded.append(f"{rule.marker} is not recorded ({rule.label})")
        gaps = []
        if genes:
            gaps.append(f"the patient's assay did not cover {', '.join(genes)} (a gene without "
                        "a call is wild type only where the assay covered it: "
                        "cohort.inputs.coverage, genes_tested)")
        gaps += unrecorded
        what = "/".join(genes) if genes else " / ".join(
            catalog.biomarkers[b].label for b in biomarkers
            if catalog.biomarkers[b].marker and not catalog.biomarkers[b].genes
            and (tested is None or not bool(tested[b].iloc[i])))
        out[i] = f"needs {what} testing: {rule_text}, and {'; '.join(gaps)}"
    return out


def _regimen_reasons(
    reg: RegimenConfig,
    state: pd.DataFrame,
    status: pd.DataFrame,
    catalog: Catalog,
    tested: pd.DataFrame | None = None,
    covered: Sequence[set[str] | None] | None = None,
) -> list[tuple[np.ndarray, str | np.ndarray]]:
    """Exclusion tests for one regimen, in the order their reasons are reported."""
    line = state["line_number"].to_numpy()
    tests: list[tuple[np.ndarray, str | np.ndarray]] = [
        (
            ~state["cancer_type"].astype("string").isin(reg.cancer_types)
            .fillna(False).to_numpy(bool),
            f"indicated for {', '.join(reg.cancer_types)} only",
        )
    ]
    if reg.histologies:
        codes = (state["oncotree_code"].astype("string") if "oncotree_code" in state.columns
                 else pd.Series(pd.NA, index=state.index, dtype="string"))
        unknown = codes.isna().to_numpy()
        tests.append(
            (
                unknown,
                f"indicated for {', '.join(reg.histologies)} histology only; the histology "
                "(OncoTree code) is not recorded",
            )
        )
        tests.append(
            (
                ~unknown & ~codes.isin(reg.histologies).fillna(False).to_numpy(bool),
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
        found = status[b].to_numpy(bool)
        label = catalog.biomarkers[b].label
        if tested is not None:
            untested = ~found & ~tested[b].to_numpy(bool)
            tests.append((untested, _needs_testing(untested, [b], catalog, covered,
                                                   f"requires {label}")))  # fmt: skip
        tests.append((~found, f"requires {label} (not found)"))
    for b in reg.excludes:
        tests.append(
            (status[b].to_numpy(bool), f"not for patients with {catalog.biomarkers[b].label}")
        )
    if tested is not None and reg.excludes:
        # absence counts only where it was tested: an untested gene is not wild type
        need = np.zeros(len(state), dtype=bool)
        for b in reg.excludes:
            need |= ~status[b].to_numpy(bool) & ~tested[b].to_numpy(bool)
        labels = " or ".join(catalog.biomarkers[b].label for b in reg.excludes)
        tests.append((need, _needs_testing(need, list(reg.excludes), catalog, covered,
                                           f"not for patients with {labels}",
                                           tested=tested)))  # fmt: skip
    for c in reg.contraindications:
        hit = _contra_hits(c, state, status)
        tests.append((hit, f"contraindicated: {c.label}"))
        if tested is not None and c.biomarkers:
            need = ~hit & ~np.all([tested[b].to_numpy(bool) for b in c.biomarkers], axis=0)
            if c.max_line is not None:
                need &= state["line_number"].to_numpy() <= c.max_line
            tests.append((need, _needs_testing(need, list(c.biomarkers), catalog, covered,
                                               f"contraindicated with {c.label}",
                                               tested=tested)))  # fmt: skip
    return tests


def eligibility(
    state: pd.DataFrame,
    status: pd.DataFrame,
    catalog: Catalog,
    *,
    prior_exposure: np.ndarray | None = None,
    with_reasons: bool = False,
    tested: pd.DataFrame | None = None,
    covered: Sequence[set[str] | None] | None = None,
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
    tested : DataFrame, optional
        Boolean columns by biomarker id (:func:`~precision_onco.catalog.biomarkers.
        biomarker_tested`): was the biomarker tested? Then a regimen that needs a biomarker's
        absence (``excludes``) or presence (``requires``) where it was not tested is excluded
        with a "needs … testing" reason naming the untested genes. ``None``: absence of a
        finding counts as tested (the simulator, which knows the truth).
    covered : sequence of set of str, optional
        The genes each row's assay covered (``None`` items: unknown), for those reasons.

    Returns
    -------
    Eligibility
    """
    n, r = len(state), len(catalog.regimens)
    mask = np.ones((n, r), dtype=bool)
    reasons = np.full((n, r), None, dtype=object) if with_reasons else None
    for j, reg in enumerate(catalog.regimens):
        tests = _regimen_reasons(reg, state, status, catalog, tested, covered)
        if prior_exposure is not None and catalog.config.no_rechallenge:
            tests.append((prior_exposure[:, j], "already received at an earlier line"))
        # Pharmacogenomics (issue 17): avoid where DPYD/UGT1A1/uracilemia guidelines say so;
        # a no-op when the state has no PGx column (see precision_onco.pgx.regimens).
        tests += pgx_exclusions(reg, state)
        for hit, reason in tests:
            if reasons is not None:
                new = hit & mask[:, j]
                reasons[new, j] = reason if isinstance(reason, str) else reason[new]
            mask[:, j] &= ~hit
    return Eligibility(mask=mask, reasons=reasons, regimen_ids=catalog.regimen_ids)
