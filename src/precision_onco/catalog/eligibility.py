"""Which catalog regimens a patient may receive at a therapy line, and why not."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from precision_onco.catalog.biomarkers import untested_genes
from precision_onco.catalog.catalog import Catalog
from precision_onco.config.schema import ContraindicationConfig, RegimenConfig
from precision_onco.errors import InputError
from precision_onco.pgx.regimens import pgx_exclusions, pgx_records

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

    def __init__(self, state: pd.DataFrame, status: Mapping[str, np.ndarray]) -> None:
        self.frame = state
        self.n = len(state)
        self.line = state["line_number"].to_numpy()
        self.cancer = _texts(state["cancer_type"])
        if "oncotree_code" in state.columns:
            codes = state["oncotree_code"]
            self.oncotree = _texts(codes)
            self.oncotree_unknown = codes.isna().to_numpy()
        else:
            self.oncotree = np.full(self.n, None, dtype=object)
            self.oncotree_unknown = np.ones(self.n, dtype=bool)
        self.status = status
        self._numeric: dict[str, np.ndarray] = {}

    def numeric(self, column: str) -> np.ndarray:
        if column not in self._numeric:
            self._numeric[column] = pd.to_numeric(self.frame[column], errors="coerce").to_numpy(
                float
            )
        return self._numeric[column]


def _texts(col: pd.Series) -> np.ndarray:
    """``col.astype("string").to_numpy(dtype=object)`` as the rules read it (text or not):
    without the conversion when ``col`` holds text already (pandas' string dtypes)."""
    if isinstance(col.dtype, pd.StringDtype):
        return col.to_numpy(dtype=object)
    return col.astype("string").to_numpy(dtype=object)


def _isin(values: np.ndarray, allowed: list[str]) -> np.ndarray:
    """Which ``values`` (strings, missing as NA) are among ``allowed`` (missing: no)."""
    ok = set(allowed)
    return np.fromiter(
        (isinstance(v, str) and v in ok for v in values), dtype=bool, count=len(values)
    )


def _contra_hits(c: ContraindicationConfig, st: _State) -> np.ndarray:
    n = st.n
    if c.biomarkers:
        hit = np.zeros(n, dtype=bool)
        for b in c.biomarkers:
            hit |= st.status[b]
    else:
        assert c.variable is not None and c.op is not None and c.value is not None
        if c.variable not in st.frame.columns:
            raise InputError(
                f"contraindication '{c.id}' needs the column '{c.variable}', which the patient "
                f"state lacks (columns: {sorted(st.frame.columns)})"
            )
        values = st.numeric(c.variable)
        with np.errstate(invalid="ignore"):
            hit = _OPS[c.op](values, float(c.value)) & ~np.isnan(values)
    if c.max_line is not None:
        hit &= st.line <= c.max_line
    return hit


def _needs_testing(
    rows: np.ndarray,
    biomarkers: list[str],
    catalog: Catalog,
    covered: Sequence[set[str] | None] | None,
    rule_text: str,
    *,
    tested: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Per-row reason of a regimen that needs a biomarker test first: which genes the
    patient's assay did not cover (or which marker is not recorded)."""
    out = np.full(len(rows), None, dtype=object)
    for i in np.flatnonzero(rows):
        cov = covered[int(i)] if covered is not None else None
        genes: list[str] = []
        unrecorded: list[str] = []
        for b in biomarkers:
            if tested is not None and bool(tested[b][i]):
                continue
            rule = catalog.biomarkers[b]
            if rule.genes:
                genes += [g for g in untested_genes(rule, cov) if g not in genes]
            elif rule.marker:
                unrecorded.append(f"{rule.marker} is not recorded ({rule.label})")
        gaps = []
        if genes:
            gaps.append(
                f"the patient's assay did not cover {', '.join(genes)} (a gene without "
                "a call is wild type only where the assay covered it: "
                "cohort.inputs.coverage, genes_tested)"
            )
        gaps += unrecorded
        what = (
            "/".join(genes)
            if genes
            else " / ".join(
                catalog.biomarkers[b].label
                for b in biomarkers
                if catalog.biomarkers[b].marker
                and not catalog.biomarkers[b].genes
                and (tested is None or not bool(tested[b][i]))
            )
        )
        out[i] = f"needs {what} testing: {rule_text}, and {'; '.join(gaps)}"
    return out


def _regimen_reasons(
    reg: RegimenConfig,
    st: _State,
    catalog: Catalog,
    tested: Mapping[str, np.ndarray] | None = None,
    covered: Sequence[set[str] | None] | None = None,
) -> list[tuple[np.ndarray, str | np.ndarray]]:
    """Exclusion tests for one regimen, in the order their reasons are reported."""
    tests = _indication_tests(reg, st)
    tests += _requires_tests(reg, st, catalog, tested=tested, covered=covered)
    tests += _excludes_tests(reg, st, catalog, tested=tested, covered=covered)
    tests += _contraindication_tests(reg, st, catalog, tested=tested, covered=covered)
    return tests


def _indication_tests(reg: RegimenConfig, st: _State) -> list[tuple[np.ndarray, str | np.ndarray]]:
    """The regimen's cancer type, histology and line tests."""
    line = st.line
    tests: list[tuple[np.ndarray, str | np.ndarray]] = [
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
    return tests


def _requires_tests(
    reg: RegimenConfig,
    st: _State,
    catalog: Catalog,
    *,
    tested: Mapping[str, np.ndarray] | None,
    covered: Sequence[set[str] | None] | None,
) -> list[tuple[np.ndarray, str | np.ndarray]]:
    """The tests of the biomarkers the regimen requires (found; tested where known)."""
    tests: list[tuple[np.ndarray, str | np.ndarray]] = []
    for b in reg.requires:
        found = st.status[b]
        label = catalog.biomarkers[b].label
        if tested is not None:
            untested = ~found & ~tested[b]
            tests.append(
                (untested, _needs_testing(untested, [b], catalog, covered, f"requires {label}"))
            )
        tests.append((~found, f"requires {label} (not found)"))
    return tests


def _excludes_tests(
    reg: RegimenConfig,
    st: _State,
    catalog: Catalog,
    *,
    tested: Mapping[str, np.ndarray] | None,
    covered: Sequence[set[str] | None] | None,
) -> list[tuple[np.ndarray, str | np.ndarray]]:
    """The tests of the biomarkers the regimen excludes (found; tested where known)."""
    tests: list[tuple[np.ndarray, str | np.ndarray]] = []
    for b in reg.excludes:
        tests.append((st.status[b], f"not for patients with {catalog.biomarkers[b].label}"))
    if tested is not None and reg.excludes:
        # absence counts only where it was tested: an untested gene is not wild type
        need = np.zeros(len(st.line), dtype=bool)
        for b in reg.excludes:
            need |= ~st.status[b] & ~tested[b]
        labels = " or ".join(catalog.biomarkers[b].label for b in reg.excludes)
        tests.append(
            (
                need,
                _needs_testing(
                    need,
                    list(reg.excludes),
                    catalog,
                    covered,
                    f"not for patients with {labels}",
                    tested=tested,
                ),
            )
        )
    return tests


def _contraindication_tests(
    reg: RegimenConfig,
    st: _State,
    catalog: Catalog,
    *,
    tested: Mapping[str, np.ndarray] | None,
    covered: Sequence[set[str] | None] | None,
) -> list[tuple[np.ndarray, str | np.ndarray]]:
    """The regimen's contraindication tests (hit; their biomarkers tested where known)."""
    line = st.line
    tests: list[tuple[np.ndarray, str | np.ndarray]] = []
    for c in reg.contraindications:
        hit = _contra_hits(c, st)
        tests.append((hit, f"contraindicated: {c.label}"))
        if tested is not None and c.biomarkers:
            need = ~hit & ~np.all([tested[b] for b in c.biomarkers], axis=0)
            if c.max_line is not None:
                need &= line <= c.max_line
            tests.append(
                (
                    need,
                    _needs_testing(
                        need,
                        list(c.biomarkers),
                        catalog,
                        covered,
                        f"contraindicated with {c.label}",
                        tested=tested,
                    ),
                )
            )
    return tests


def eligibility(
    state: pd.DataFrame,
    status: pd.DataFrame | Mapping[str, np.ndarray],
    catalog: Catalog,
    *,
    prior_exposure: np.ndarray | None = None,
    with_reasons: bool = False,
    tested: pd.DataFrame | Mapping[str, np.ndarray] | None = None,
    covered: Sequence[set[str] | None] | None = None,
) -> Eligibility:
    """Evaluate the catalog's eligibility rules.

    Parameters
    ----------
    state : DataFrame
        One row per patient at a line start, with ``cancer_type``,
        ``oncotree_code``, ``line_number`` and the variables named by the
        contraindications (``creatinine_clearance``, ``autoimmune_disease``, …).
    status : DataFrame or mapping of str to ndarray
        Boolean biomarker columns (by biomarker id) aligned with ``state``,
        as returned by :func:`~precision_onco.catalog.biomarker_status` (or its
        ``biomarker_status_columns``: arrays, no frame).
    catalog : Catalog
        The therapy catalog.
    prior_exposure : ndarray of bool, shape (n_rows, n_regimens), optional
        Regimens already received at an earlier line; excluded when the
        catalog forbids re-challenge.
    with_reasons : bool
        Also return the first exclusion reason of every excluded pair.
    tested : DataFrame or mapping of str to ndarray, optional
        Boolean columns by biomarker id (:func:`~precision_onco.catalog.biomarkers.
        biomarker_tested` or ``biomarker_tested_columns``): was the biomarker tested?
        Then a regimen that needs a biomarker's absence (``excludes``) or presence
        (``requires``) where it was not tested is excluded with a "needs … testing" reason
        naming the untested genes. ``None``: absence of a finding counts as tested (the
        simulator, which knows the truth).
    covered : sequence of set of str, optional
        The genes each row's assay covered (``None`` items: unknown), for those reasons.

    Returns
    -------
    Eligibility
    """
    n, r = len(state), len(catalog.regimens)
    mask = np.ones((n, r), dtype=bool)
    reasons = np.full((n, r), None, dtype=object) if with_reasons else None
    st = _State(state, _bool_arrays(status))
    # the tested columns as arrays, converted once for all regimens
    was_tested = _bool_arrays(tested) if tested is not None else None
    records = pgx_records(state)  # the PGx columns read by row, once for all regimens
    for j, reg in enumerate(catalog.regimens):
        tests = _regimen_reasons(reg, st, catalog, was_tested, covered)
        if prior_exposure is not None and catalog.config.no_rechallenge:
            tests.append((prior_exposure[:, j], "already received at an earlier line"))
        # Pharmacogenomics (issue 17): avoid where DPYD/UGT1A1/uracilemia guidelines say so;
        # a no-op when the state has no PGx column (see precision_onco.pgx.regimens).
        tests += pgx_exclusions(reg, state, records=records)
        _apply_tests(tests, mask, reasons, j)
    return Eligibility(mask=mask, reasons=reasons, regimen_ids=catalog.regimen_ids)


def _bool_arrays(columns: pd.DataFrame | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Boolean columns by biomarker id as numpy arrays (a frame's converted once)."""
    if isinstance(columns, pd.DataFrame):
        return {str(b): columns[b].to_numpy(bool) for b in columns.columns}
    return {str(b): np.asarray(v, dtype=bool) for b, v in columns.items()}


def _apply_tests(
    tests: list[tuple[np.ndarray, str | np.ndarray]],
    mask: np.ndarray,
    reasons: np.ndarray | None,
    j: int,
) -> None:
    """Exclude regimen ``j`` where a test hits, keeping the first reason of each row."""
    for hit, reason in tests:
        if reasons is not None:
            new = hit & mask[:, j]
            reasons[new, j] = reason if isinstance(reason, str) else reason[new]
        mask[:, j] &= ~hit
