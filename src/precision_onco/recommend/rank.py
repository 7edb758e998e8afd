"""Eligible regimens for each patient at a line, scored by every endpoint model and ranked.

For each (patient, line) state: the catalog's eligibility rules give the
eligible regimens and, for the others, the first reason they are excluded;
each eligible regimen is scored with the endpoint models (the candidate's
features added to the line state); a utility — the configured weighted sum of
endpoint probabilities — ranks them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from precision_onco.catalog.catalog import Catalog
from precision_onco.catalog.eligibility import eligibility
from precision_onco.config.schema import CatalogConfig, RecommendConfig
from precision_onco.features import candidate_features
from precision_onco.models.fit import EndpointModel
from precision_onco.pgx.regimens import attach_pgx_state, dose_fraction, regimen_doses

__all__ = ["Ranking", "eligible_pairs", "rank_regimens", "supported", "utility"]

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


def _state(features: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
    """The eligibility state: line features plus the patient's OncoTree code."""
    state = features.reset_index(drop=True)
    if "oncotree_code" not in state.columns:
        codes = patients.set_index("patient_key")["oncotree_code"] if "oncotree_code" in \
            patients.columns else pd.Series(dtype="string")  # fmt: skip
        state = state.assign(oncotree_code=state["patient_key"].map(codes))
    return state


def _prior_exposure(features: pd.DataFrame, lines: pd.DataFrame, cat: Catalog) -> np.ndarray:
    """Regimens each patient received at a line before the row's line."""
    ids = {r: j for j, r in enumerate(cat.regimen_ids)}
    out = np.zeros((len(features), len(ids)), dtype=bool)
    if "regimen_id" not in lines.columns or not len(features):
        return out
    given = lines[["patient_key", "line_number", "regimen_id"]].dropna()
    given = given[given["regimen_id"].isin(list(ids))]
    rows = pd.DataFrame({"patient_key": features["patient_key"].to_numpy(),
                         "row_line": features["line_number"].to_numpy(),
                         "row": np.arange(len(features))})  # fmt: skip
    pairs = rows.merge(given, on="patient_key")
    pairs = pairs[pairs["line_number"].to_numpy() < pairs["row_line"].to_numpy()]
    out[pairs["row"].to_numpy(), pairs["regimen_id"].map(ids).to_numpy(dtype=int)] = True
    return out


def eligible_pairs(
    features: pd.DataFrame, patients: pd.DataFrame, lines: pd.DataFrame, catalog: CatalogConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(row, regimen_id) of every eligible pair, and the excluded pairs with their reason."""
    cat = Catalog(catalog)
    state = _state(features, patients)
    state = attach_pgx_state(state, patients, lines)  # pharmacogenomics (issue 17)
    bm_ids = list(cat.biomarkers)
    status = pd.DataFrame({b: state[f"bm_{b}"].fillna(0).astype(bool).to_numpy()
                           if f"bm_{b}" in state.columns else np.zeros(len(state), bool)
                           for b in bm_ids})  # fmt: skip
    for col in ("autoimmune_disease", "diabetes", "ild_history", "prior_irae_grade3",
                "creatinine_clearance", "bilirubin"):  # fmt: skip
        if col not in state.columns:
            state[col] = np.nan
    el = eligibility(state, status, cat, prior_exposure=_prior_exposure(state, lines, cat),
                     with_reasons=True)  # fmt: skip
    rows, cols = np.nonzero(el.mask)
    pairs = pd.DataFrame({"row": rows, "regimen_id": np.asarray(el.regimen_ids, object)[cols]})
    # Pharmacogenomics (issue 17): starting-dose guidance per pair (JSON text, None: no rule).
    pairs["pgx_dose"] = regimen_doses(
        state, rows, pairs["regimen_id"].tolist(), {r.id: r for r in cat.regimens}
    )
    ex = el.excluded()
    excluded = pd.DataFrame({
        "patient_key": state["patient_key"].to_numpy()[ex["row"]],
        "line_number": state["line_number"].to_numpy()[ex["row"]],
        "regimen_id": ex["regimen_id"].astype("string"),
        "reason": ex["reason"].astype("string"),
    })  # fmt: skip
    return pairs, excluded


def supported(cancer: np.ndarray, regimen: np.ndarray, models: Mapping[str, EndpointModel]
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


def _supported(pairs: pd.DataFrame, feats: pd.DataFrame, models: Mapping[str, EndpointModel]
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep the eligible pairs the training data supports: enough training patients of the
    row's cancer type received the regimen (``EndpointModel.min_support``, the fewest over the
    models). The others are returned as excluded rows with the reason."""
    empty = pd.DataFrame(columns=["patient_key", "line_number", "regimen_id", "reason"])
    if not len(pairs):
        return pairs, empty
    rows = pairs["row"].to_numpy()
    cancer = (feats["cancer_type"].astype("string").fillna("").to_numpy(dtype=object)[rows]
              if "cancer_type" in feats.columns else np.full(len(rows), "", dtype=object))
    regimen = pairs["regimen_id"].to_numpy(dtype=object)
    ok, n, need = supported(cancer, regimen, models)
    if ok.all():
        return pairs, empty
    bad = np.flatnonzero(~ok)
    reasons = [(f"no training patient with {cancer[i] or 'this cancer type'} received "
                f"{regimen[i]}: the models cannot score it" if n[i] == 0 else
                f"only {n[i]} training patient(s) with {cancer[i] or 'this cancer type'} "
                f"received {regimen[i]} (at least {need} needed to score it; "
                "model.min_regimen_patients)") for i in bad]
    unsupported = pd.DataFrame({
        "patient_key": feats["patient_key"].to_numpy()[rows[bad]],
        "line_number": feats["line_number"].to_numpy()[rows[bad]],
        "regimen_id": pd.Series(regimen[bad], dtype="string"),
        "reason": pd.Series(reasons, dtype="string"),
    })
    return pairs.loc[ok].reset_index(drop=True), unsupported


def utility(scores: pd.DataFrame, weights: Mapping[str, float]) -> np.ndarray:
    """Weighted sum of the endpoint probabilities present in ``scores`` (columns ``p_<ep>``)."""
    u = np.zeros(len(scores))
    for ep, w in weights.items():
        col = f"p_{ep}"
        if col in scores.columns:
            u += w * scores[col].to_numpy(dtype=float)
    return u


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

    With ``check_support`` (the default), regimens the training data does not support for
    the row's cancer type (:func:`supported`) are excluded, with the reason; the policy study
    turns it off to keep every regimen practice could have given."""
    feats = features.reset_index(drop=True)
    pairs, excluded = eligible_pairs(feats, patients, lines, catalog)
    if check_support:
        pairs, unsupported = _supported(pairs, feats, models)
        if len(unsupported):
            excluded = pd.concat([excluded, unsupported], ignore_index=True)
    base = feats.iloc[pairs["row"].to_numpy()].reset_index(drop=True)
    cand = candidate_features(base, pairs["regimen_id"].tolist(), catalog)
    # pharmacogenomics (issue 17): every candidate is scored at its recommended starting
    # dose (pgx_dose; 1.0 without a rule), not at the dose of the regimen given
    if "relative_dose" in cand.columns or any("relative_dose" in m.columns
                                              for m in models.values()):  # fmt: skip
        cand["relative_dose"] = np.array([dose_fraction(d) for d in pairs["pgx_dose"]], float)
    out = cand[KEYS + ["regimen_id"]].copy()
    out["pgx_dose"] = pairs["pgx_dose"].to_numpy(dtype=object)  # pharmacogenomics (issue 17)
    matrices: dict[tuple[object, ...], pd.DataFrame] = {}
    codes: dict[tuple[object, ...], np.ndarray] = {}
    for ep, model in models.items():
        if len(cand):
            key = model.input_key
            if key not in matrices:
                matrices[key] = model.matrix(cand)
                if model.kind == "lightgbm":
                    codes[key] = model.codes(matrices[key])
            p, lo, hi = model.predict_interval(cand, x=matrices[key], codes=codes.get(key))
        else:
            p = lo = hi = np.array([], float)
        out[f"p_{ep}"], out[f"p_{ep}_low"], out[f"p_{ep}_high"] = p, lo, hi
    weights = {k: float(v) for k, v in recommend.weights.items() if k in models}
    out["utility"] = utility(out, weights)
    # the utility's interval: each endpoint at the end of its interval that lowers (raises) it
    lows = pd.DataFrame({f"p_{k}": out[f"p_{k}_low" if w > 0 else f"p_{k}_high"]
                         for k, w in weights.items()})  # fmt: skip
    highs = pd.DataFrame({f"p_{k}": out[f"p_{k}_high" if w > 0 else f"p_{k}_low"]
                          for k, w in weights.items()})  # fmt: skip
    out["utility_low"] = utility(lows, weights)
    out["utility_high"] = utility(highs, weights)
    out = out.sort_values([*KEYS, "utility"], ascending=[True, True, False], kind="stable")
    out["rank"] = out.groupby(KEYS, sort=False).cumcount() + 1
    # not distinguishable: the utility interval overlaps the top regimen's
    top_low = out.groupby(KEYS, sort=False)["utility_low"].transform("first")
    top_high = out.groupby(KEYS, sort=False)["utility_high"].transform("first")
    overlap = (out["utility_high"] >= top_low) & (out["utility_low"] <= top_high)
    n_overlap = overlap.groupby([out[k] for k in KEYS], sort=False).transform("sum")
    out["distinguishable"] = np.where(out["rank"] == 1, n_overlap <= 1, ~overlap)
    out["preset"] = recommend.preset
    order = out.index.to_numpy()
    return Ranking(out.reset_index(drop=True), excluded, cand.iloc[order].reset_index(drop=True),
                   {key: a[order] for key, a in codes.items()})  # fmt: skip
