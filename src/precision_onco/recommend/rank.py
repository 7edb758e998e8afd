"""Eligible regimens for each patient at a line, scored by every endpoint model and ranked.

For each (patient, line) state: the catalog's eligibility rules give the
eligible regimens and, for the others, the first reason they are excluded;
each eligible regimen is scored with the endpoint models (the candidate's
features added to the line state); a utility — the configured weighted sum of
endpoint probabilities — ranks them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from precision_onco.catalog.biomarkers import biomarker_tested_columns
from precision_onco.catalog.catalog import Catalog
from precision_onco.catalog.eligibility import eligibility
from precision_onco.config.schema import CatalogConfig, RecommendConfig
from precision_onco.features import candidate_features
from precision_onco.ingest.coverage import parse_genes
from precision_onco.models.fit import EndpointModel
from precision_onco.pgx.regimens import attach_pgx_state, dose_fraction, regimen_doses
from precision_onco.recommend.scoring import endpoint_scores, input_codes

__all__ = ["Ranking", "candidate_rows", "eligible_pairs", "rank_regimens", "supported", "utility"]

KEYS = ["patient_key", "line_number"]


@dataclass
class Ranking:
    """``ranked``: one row per eligible (patient, line, regimen) with probabilities, utility
    and rank; ``excluded``: one row per excluded regimen with its reason; ``candidates``:
    the model inputs of each ranked row (same order), for explanations."""

    ranked: pd.DataFrame
    excluded: pd.DataFrame
    candidates: pd.DataFrame | None = None
    #: LightGBM's float codes of ``candidates`` by :attr:`EndpointModel.input_key`
    codes: dict[tuple[object, ...], np.ndarray] = field(default_factory=dict)


#: State columns the contraindication rules read, missing (NaN) when the features lack them.
_RULE_INPUTS = (
    "autoimmune_disease",
    "diabetes",
    "ild_history",
    "prior_irae_grade3",
    "creatinine_clearance",
    "bilirubin",
)


def _state(features: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
    """The eligibility state: line features plus the patient's OncoTree code."""
    state = features.reset_index(drop=True)
    if "oncotree_code" not in state.columns:
        codes = (
            patients.set_index("patient_key")["oncotree_code"]
            if "oncotree_code" in patients.columns
            else pd.Series(dtype="string")
        )
        state = state.assign(oncotree_code=state["patient_key"].map(codes))
    return state


def _rule_state(
    features: pd.DataFrame, patients: pd.DataFrame, lines: pd.DataFrame
) -> pd.DataFrame:
    """The eligibility state: line features, the pharmacogenomic columns of the patient and
    line, the patient's OncoTree code and the columns the contraindications read (missing
    when absent), added in one step."""
    state = attach_pgx_state(features.reset_index(drop=True), patients, lines)  # issue 17
    add: dict[str, Any] = {}
    if "oncotree_code" not in state.columns:
        at = (
            _first_positions(patients, ["patient_key"], state)
            if "oncotree_code" in patients.columns and len(state)
            else None
        )
        if at is not None:  # every row's patient found: by position, no indexed table
            add["oncotree_code"] = patients["oncotree_code"].iloc[at].to_numpy()
        else:
            codes = (
                patients.set_index("patient_key")["oncotree_code"]
                if "oncotree_code" in patients.columns
                else pd.Series(dtype="string")
            )
            add["oncotree_code"] = state["patient_key"].map(codes).to_numpy()
    add.update({c: np.full(len(state), np.nan) for c in _RULE_INPUTS if c not in state.columns})
    if not add:
        return state
    return pd.concat([state, pd.DataFrame(add, index=state.index)], axis=1)


def _first_positions(table: pd.DataFrame, keys: list[str], rows: pd.DataFrame) -> np.ndarray | None:
    """Position in ``table`` of the first row with each row of ``rows``' ``keys`` — what
    ``table.drop_duplicates(keys).set_index(keys)`` followed by a lookup finds — or ``None``
    when a row has none or a key is missing (the caller then looks up with pandas)."""
    have = [table[k].to_numpy(dtype=object) for k in keys]
    want = [rows[k].to_numpy(dtype=object) for k in keys]
    if any(pd.isna(a).any() for a in [*have, *want]):
        return None
    first: dict[tuple[object, ...], int] = {}
    for i, key in enumerate(zip(*have, strict=True)):
        first.setdefault(key, i)
    pos = [first.get(key, -1) for key in zip(*want, strict=True)]
    return None if -1 in pos else np.asarray(pos, dtype=np.intp)


def _coverage(
    state: pd.DataFrame,
    patients: pd.DataFrame,
    lines: pd.DataFrame,
    wanted: set[str] | None = None,
) -> tuple[list[set[str] | None], pd.DataFrame]:
    """The genes each row's assay covered (``None``: unknown) from the patients table's
    ``genes_tested``, and the state with the marker columns of the patient (ALK, HR, …) and
    of the line (MSI, PD-L1, …) it lacks, for
    :func:`~precision_onco.catalog.biomarkers.biomarker_tested`.

    Every row's patient (and line) found: the values are taken by position, the same values
    and dtypes as pandas' lookup by key (``map``, ``reindex``) gives, without building the
    indexed tables. With ``wanted`` (the marker columns the rules read), the frame returned
    has only those of them that the state or the tables have (no copy of the whole state)."""
    names, of_patient = _patient_lookup(state, patients)
    covered = _covered_genes(names, of_patient, len(state))
    extra = {
        c: of_patient(c)
        for c in names
        if c not in state.columns and c != "genes_tested" and (wanted is None or c in wanted)
    }
    _add_line_markers(extra, state, lines, wanted=wanted)
    if wanted is not None:
        kept = {c: state[c] for c in state.columns if c in wanted}
        return covered, pd.DataFrame({**kept, **extra}, index=state.index)
    if not extra:
        return covered, state
    added = pd.DataFrame(extra, index=state.index)
    return covered, pd.concat([state, added], axis=1)


def _patient_lookup(
    state: pd.DataFrame, patients: pd.DataFrame
) -> tuple[list[str], Callable[[str], np.ndarray]]:
    """The patients table's columns and a function giving one of them for the state's rows."""
    has_key = "patient_key" in patients.columns
    at = _first_positions(patients, ["patient_key"], state) if has_key and len(state) else None
    if at is None:
        pat = (
            patients.drop_duplicates("patient_key").set_index("patient_key")
            if has_key
            else pd.DataFrame()
        )
        keys = state["patient_key"]

        def of_patient(c: str) -> np.ndarray:
            return keys.map(pat[c]).to_numpy()
    else:
        pat = patients

        def of_patient(c: str) -> np.ndarray:
            return patients[c].iloc[at].to_numpy()

    names = [c for c in pat.columns if c != "patient_key"] if at is not None else list(pat.columns)
    return names, of_patient


def _covered_genes(
    names: list[str], of_patient: Callable[[str], np.ndarray], n: int
) -> list[set[str] | None]:
    """The genes each row's assay covered (``None``: unknown), from ``genes_tested``."""
    if "genes_tested" not in names:
        return [None] * n
    text = of_patient("genes_tested").astype(object)
    parsed: dict[str, set[str] | None] = {}  # a cohort's patients share a few panels

    def panel(t: object) -> set[str] | None:
        if not isinstance(t, str):
            return parse_genes(t) or None
        if t not in parsed:
            parsed[t] = parse_genes(t) or None
        return parsed[t]

    return [panel(t) for t in text]


def _add_line_markers(
    extra: dict[str, np.ndarray],
    state: pd.DataFrame,
    lines: pd.DataFrame,
    *,
    wanted: set[str] | None,
) -> None:
    """Add to ``extra`` the lines table's columns the state and ``extra`` lack, per row."""
    if set(KEYS) <= set(lines.columns):
        cols = [
            c
            for c in lines.columns
            if c not in state.columns and c not in extra and (wanted is None or c in wanted)
        ]
        if cols:
            rows = _first_positions(lines, KEYS, state) if len(state) else None
            if rows is None:
                by = lines.drop_duplicates(KEYS).set_index(KEYS)[cols]
                idx = pd.MultiIndex.from_arrays([state["patient_key"], state["line_number"]])
                extra.update({c: by[c].reindex(idx).to_numpy() for c in cols})
            else:
                extra.update({c: lines[c].iloc[rows].to_numpy() for c in cols})


def _present(col: pd.Series) -> np.ndarray:
    """A biomarker indicator as booleans: ``col.fillna(0).astype(bool)``."""
    if isinstance(col.dtype, np.dtype) and col.dtype.kind in "biuf":
        v = col.to_numpy()
        return np.asarray((v != 0) & ~(np.isnan(v) if v.dtype.kind == "f" else False), bool)
    return col.fillna(0).astype(bool).to_numpy()


def _prior_exposure(features: pd.DataFrame, lines: pd.DataFrame, cat: Catalog) -> np.ndarray:
    """Regimens each patient received at a line before the row's line."""
    ids = {r: j for j, r in enumerate(cat.regimen_ids)}
    out = np.zeros((len(features), len(ids)), dtype=bool)
    if "regimen_id" not in lines.columns or not len(features):
        return out
    by_patient: dict[object, list[tuple[object, int]]] = {}
    for pk, line, rid in zip(
        lines["patient_key"].to_numpy(dtype=object),
        lines["line_number"].to_numpy(dtype=object),
        lines["regimen_id"].to_numpy(dtype=object),
        strict=True,
    ):
        j = ids.get(rid) if isinstance(rid, str) else None
        if j is not None and not pd.isna(pk) and not pd.isna(line):
            by_patient.setdefault(pk, []).append((line, j))
    for i, (pk, row_line) in enumerate(
        zip(
            features["patient_key"].to_numpy(dtype=object),
            features["line_number"].to_numpy(dtype=object),
            strict=True,
        )
    ):
        for line, j in by_patient.get(pk, ()):
            if line < row_line:
                out[i, j] = True
    return out


def eligible_pairs(
    features: pd.DataFrame, patients: pd.DataFrame, lines: pd.DataFrame, catalog: CatalogConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(row, regimen_id) of every eligible pair, and the excluded pairs with their reason."""
    cat = Catalog(catalog)
    state = _rule_state(features, patients, lines)
    bm_ids = list(cat.biomarkers)
    # the rules read arrays: no frame of the statuses or of what was tested
    have = set(state.columns)
    status = {
        b: _present(state[f"bm_{b}"]) if f"bm_{b}" in have else np.zeros(len(state), bool)
        for b in bm_ids
    }
    wanted = {str(b.marker) for b in cat.biomarkers.values() if b.marker is not None}
    covered, markers = _coverage(state, patients, lines, wanted)
    tested = biomarker_tested_columns(cat.biomarkers, markers=markers, covered=covered)
    el = eligibility(
        state,
        status,
        cat,
        prior_exposure=_prior_exposure(state, lines, cat),
        with_reasons=True,
        tested=tested,
        covered=covered,
    )
    rows, cols = np.nonzero(el.mask)
    pairs = pd.DataFrame({"row": rows, "regimen_id": np.asarray(el.regimen_ids, object)[cols]})
    # Pharmacogenomics (issue 17): starting-dose guidance per pair (JSON text, None: no rule).
    pairs["pgx_dose"] = regimen_doses(
        state, rows, pairs["regimen_id"].tolist(), {r.id: r for r in cat.regimens}
    )
    # Eligibility.excluded()'s pairs, without its intermediate frame
    ex_rows, ex_cols = np.nonzero(~el.mask)
    assert el.reasons is not None
    excluded = pd.DataFrame(
        {
            "patient_key": state["patient_key"].to_numpy()[ex_rows],
            "line_number": state["line_number"].to_numpy()[ex_rows],
            "regimen_id": pd.array(
                np.asarray(el.regimen_ids, dtype=object)[ex_cols], dtype="string"
            ),
            "reason": pd.array(el.reasons[ex_rows, ex_cols], dtype="string"),
        }
    )
    return pairs, excluded


def supported(
    cancer: np.ndarray, regimen: np.ndarray, models: Mapping[str, EndpointModel]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Which (cancer type, regimen) pairs the training data supports: at least
    ``EndpointModel.min_support`` training patients of that cancer type received the regimen
    (the fewest over the models). Returns the mask, the counts and the threshold; everything
    is supported for models trained without support counts."""
    counted = [m for m in models.values() if getattr(m, "support", None)]
    need = max((int(getattr(m, "min_support", 0)) for m in counted), default=0)
    if not counted or need <= 0:
        return np.ones(len(regimen), bool), np.full(len(regimen), -1), 0
    keys = [f"{c}|{r}" for c, r in zip(cancer, regimen, strict=True)]
    n = np.array([min(m.support.get(k, 0) for m in counted) for k in keys], dtype=int)
    return n >= need, n, need


def _supported(
    pairs: pd.DataFrame, feats: pd.DataFrame, models: Mapping[str, EndpointModel]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep the eligible pairs the training data supports: enough training patients of the
    row's cancer type received the regimen (``EndpointModel.min_support``, the fewest over the
    models). The others are returned as excluded rows with the reason."""
    empty = pd.DataFrame(columns=["patient_key", "line_number", "regimen_id", "reason"])
    if not len(pairs):
        return pairs, empty
    rows = pairs["row"].to_numpy()
    cancer = (
        feats["cancer_type"].astype("string").fillna("").to_numpy(dtype=object)[rows]
        if "cancer_type" in feats.columns
        else np.full(len(rows), "", dtype=object)
    )
    regimen = pairs["regimen_id"].to_numpy(dtype=object)
    ok, n, need = supported(cancer, regimen, models)
    if ok.all():
        return pairs, empty
    bad = np.flatnonzero(~ok)
    reasons = [
        (
            f"no training patient with {cancer[i] or 'this cancer type'} received "
            f"{regimen[i]}: the models cannot score it"
            if n[i] == 0
            else f"only {n[i]} training patient(s) with {cancer[i] or 'this cancer type'} "
            f"received {regimen[i]} (at least {need} needed to score it; "
            "model.min_regimen_patients)"
        )
        for i in bad
    ]
    unsupported = pd.DataFrame(
        {
            "patient_key": feats["patient_key"].to_numpy()[rows[bad]],
            "line_number": feats["line_number"].to_numpy()[rows[bad]],
            "regimen_id": pd.Series(regimen[bad], dtype="string"),
            "reason": pd.Series(reasons, dtype="string"),
        }
    )
    return pairs.loc[ok].reset_index(drop=True), unsupported


def utility(scores: pd.DataFrame, weights: Mapping[str, float]) -> np.ndarray:
    """Weighted sum of the endpoint probabilities present in ``scores`` (columns ``p_<ep>``)."""
    u = np.zeros(len(scores))
    for ep, w in weights.items():
        col = f"p_{ep}"
        if col in scores.columns:
            u += w * scores[col].to_numpy(dtype=float)
    return u


def candidate_rows(
    features: pd.DataFrame, pairs: pd.DataFrame, catalog: CatalogConfig
) -> pd.DataFrame:
    """The model inputs of every candidate (line state, regimen) pair of ``pairs`` (columns
    ``row``: the row of ``features``, ``regimen_id``; per-pair columns such as ``pgx_dose``):
    the line state with the regimen's features. Every per-regimen model input is set here,
    once for all endpoints."""
    base = features.iloc[pairs["row"].to_numpy()].reset_index(drop=True)
    cand = candidate_features(base, pairs["regimen_id"].tolist(), catalog)
    if "pgx_dose" in pairs.columns:
        # pharmacogenomics (issue 17): every candidate is scored at its recommended starting
        # dose (the lowest percent of its pgx_dose; 1.0 without a rule), not at the dose of the
        # regimen given
        cand["relative_dose"] = np.array([dose_fraction(d) for d in pairs["pgx_dose"]], float)
    return cand


def _group_starts(pk: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Whether each row (sorted by patient and line) starts a new (patient, line) group."""
    if not len(pk):
        return np.zeros(0, bool)
    return np.r_[True, (pk[1:] != pk[:-1]) | (line[1:] != line[:-1])]


def rank_regimens(
    features: pd.DataFrame,
    patients: pd.DataFrame,
    lines: pd.DataFrame,
    models: Mapping[str, EndpointModel],
    catalog: CatalogConfig,
    recommend: RecommendConfig,
    *,
    check_support: bool = True,
) -> Ranking:
    """Score every eligible regimen of every (patient, line) row of ``features`` and rank them.

    All candidate rows are scored at once: one float matrix per model input
    (:func:`~precision_onco.recommend.scoring.input_codes`), each endpoint's members called
    once on it. With ``check_support`` (the default), regimens the training data does not
    support for the row's cancer type (:func:`supported`) are excluded, with the reason; the
    policy study turns it off to keep every regimen practice could have given."""
    feats = features.reset_index(drop=True)
    pairs, excluded = eligible_pairs(feats, patients, lines, catalog)
    if check_support:
        pairs, unsupported = _supported(pairs, feats, models)
        if len(unsupported):
            excluded = pd.concat([excluded, unsupported], ignore_index=True)
    cand = candidate_rows(feats, pairs, catalog)
    n = len(cand)
    cols: dict[str, Any] = {k: cand[k] for k in [*KEYS, "regimen_id"]}
    cols["pgx_dose"] = pairs["pgx_dose"].to_numpy(dtype=object)  # pharmacogenomics (issue 17)
    codes, scores = _score_endpoints(cols, cand, models)
    weights = {k: float(v) for k, v in recommend.weights.items() if k in models}
    u, lo, hi = _utility(scores, weights, n)
    cols["utility"], cols["utility_low"], cols["utility_high"] = u, lo, hi
    order, rank, overlap, n_overlap = _rank_order(cand, u, lo, hi)
    # rows already in order (e.g. one patient's candidates by utility): no reordering copies
    same = bool(np.array_equal(order, np.arange(n)))
    data = {
        k: (
            (v.reset_index(drop=True) if same else v.iloc[order].reset_index(drop=True))
            if isinstance(v, pd.Series)
            else np.asarray(v)[order]
        )
        for k, v in cols.items()
    }
    data["rank"] = rank.astype("int64")
    data["distinguishable"] = np.where(rank == 1, n_overlap <= 1, ~overlap)
    # the dtype a scalar assignment gives (pandas' str), without inserting into the frame
    data["preset"] = pd.array([recommend.preset] * n, dtype="str")
    out = pd.DataFrame(data)
    return Ranking(
        out,
        excluded,
        cand.reset_index(drop=True) if same else cand.iloc[order].reset_index(drop=True),
        {key: a[order] for key, a in codes.items()},
    )


def _score_endpoints(
    cols: dict[str, Any], cand: pd.DataFrame, models: Mapping[str, EndpointModel]
) -> tuple[
    dict[tuple[object, ...], np.ndarray], dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
]:
    """Each endpoint's scores of the candidate rows (added to ``cols`` as ``p_<ep>*``), and
    the input codes computed on the way (shared by the models of one input key)."""
    n = len(cand)
    codes: dict[tuple[object, ...], np.ndarray] = {}
    scores: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for ep, model in models.items():
        if n:
            key = model.input_key
            if model.kind == "lightgbm" and key not in codes:
                codes[key] = input_codes(cand, model)
            scores[ep] = endpoint_scores(model, cand, codes=codes.get(key))
        else:
            scores[ep] = (np.array([], float),) * 3
        for suffix, a in zip(("", "_low", "_high"), scores[ep], strict=True):
            cols[f"p_{ep}{suffix}"] = a
    return codes, scores


def _utility(
    scores: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    weights: dict[str, float],
    n: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The weighted utility of the rows and its interval."""
    u, lo, hi = np.zeros(n), np.zeros(n), np.zeros(n)
    for ep, w in weights.items():
        p, p_lo, p_hi = scores[ep]
        u += w * p
        # the utility's interval: each endpoint at the end of its interval that lowers
        # (raises) it
        lo += w * (p_lo if w > 0 else p_hi)
        hi += w * (p_hi if w > 0 else p_lo)
    return u, lo, hi


def _rank_order(
    cand: pd.DataFrame, u: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rows' order (patient, line, utility descending, stable), ranks in that order,
    whether each row's interval overlaps its top row's, and how many of its group's do."""
    n = len(cand)
    pk = cand["patient_key"].to_numpy(dtype=object)
    line = cand["line_number"].to_numpy()
    _, pk_code = np.unique(pk.astype(str), return_inverse=True) if n else (None, np.zeros(0, int))
    order = np.lexsort((-u, line, pk_code)) if n else np.zeros(0, int)
    start = _group_starts(pk_code[order], line[order])
    group = np.cumsum(start) - 1
    first = np.flatnonzero(start)
    rank = np.arange(n) - first[group] + 1 if n else np.zeros(0, int)
    lo_s, hi_s = lo[order], hi[order]
    top_low, top_high = lo_s[first][group], hi_s[first][group]
    overlap = (hi_s >= top_low) & (lo_s <= top_high)
    n_overlap = (
        np.bincount(group, weights=overlap, minlength=len(first))[group] if n else np.zeros(0)
    )
    return order, rank, overlap, n_overlap
