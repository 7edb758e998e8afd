"""Therapy lines of the synthetic cohort: confounded choice, outcomes and disease course.

At each line start the simulator evaluates the catalog's eligibility rules,
lets the clinician choose among eligible regimens (mostly by guideline
preference, gentler regimens for frail patients), draws the outcomes of
the chosen regimen from the structural model, and moves the patient's
state on (performance status, labs, toxicity history, dates).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from precision_onco.catalog import Catalog, eligibility
from precision_onco.config.endpoints import EndpointRoles
from precision_onco.config.schema import SynthConfig
from precision_onco.synth.model import (
    Intercepts,
    RegimenArrays,
    response_offsets,
    toxicity_offsets,
    toxicity_probabilities,
)
from precision_onco.synth.pgx import (
    Germline,
    PgxRegimens,
    dose_effects,
    guideline_doses,
    measure_uracil,
    practice_doses,
)

__all__ = ["History", "simulate_history"]

_DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class History:
    """Simulated lines, ground truth and calibration reference rows of one chunk."""

    lines: pd.DataFrame
    truth: pd.DataFrame
    ref_regimen: np.ndarray
    ref_resp_off: np.ndarray
    ref_tox_off: np.ndarray
    ref_tox_rr: np.ndarray | None = None


def _baseline_labs(rng: np.random.Generator, p: pd.DataFrame) -> pd.DataFrame:
    n = len(p)
    ecog = p["ecog"].to_numpy()
    age = p["age_at_diagnosis"].to_numpy(float)
    female = (p["sex"] == "F").to_numpy()
    mel = (p["cancer_type"] == "MEL").to_numpy()
    return pd.DataFrame(
        {
            "albumin": np.clip(rng.normal(4.0 - 0.2 * ecog, 0.4), 1.8, 5.2),
            "nlr": np.clip(np.exp(rng.normal(np.log(3.0) + 0.15 * ecog, 0.45)), 0.5, 40),
            "hemoglobin": np.clip(rng.normal(12.9 - 0.9 * female - 0.3 * ecog, 1.4), 6.5, 17.5),
            "platelets": np.clip(rng.normal(260, 75, n), 40, 800),
            "creatinine_clearance": np.clip(rng.normal(100 - 0.9 * (age - 50), 22), 15, 180),
            "alt": np.clip(np.exp(rng.normal(np.log(22), 0.45, n)), 5, 400),
            "bilirubin": np.clip(np.exp(rng.normal(np.log(0.6), 0.4, n)), 0.1, 6),
            "ldh": np.clip(np.exp(rng.normal(np.log(210) + 0.3 * mel, 0.35)), 80, 3000),
        }
    )


def _choose(
    rng: np.random.Generator,
    elig: np.ndarray,
    state: pd.DataFrame,
    arrays: RegimenArrays,
    cfg: SynthConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Clinician's choice: returns the chosen regimen index and the choice probabilities."""
    ecog = state["ecog"].to_numpy()
    frailty = (
        0.6 * (ecog >= 2)
        + 0.6 * (ecog >= 3)
        + 0.4 * (state["age_at_line"].to_numpy() >= 75)
        + 0.4 * (state["albumin"].to_numpy() < 3.2)
        + 0.3 * (state["creatinine_clearance"].to_numpy() < 45)
    )
    pref = np.where(elig, arrays.preference[None, :], np.inf)
    rank = pref - pref.min(axis=1, keepdims=True)
    score = (
        -cfg.guideline_adherence * rank - cfg.frailty_aversion * frailty[:, None] * arrays.grade3
    )
    score = np.where(elig, score / cfg.choice_temperature, -np.inf)
    score -= score.max(axis=1, keepdims=True)
    w = np.exp(score)
    prob = w / w.sum(axis=1, keepdims=True)
    u = rng.random(len(prob))[:, None]
    chosen = (prob.cumsum(axis=1) < u).sum(axis=1)
    chosen = np.minimum(chosen, prob.shape[1] - 1)
    return chosen, prob


def _grades(rng: np.random.Generator, event: np.ndarray) -> np.ndarray:
    severe = rng.choice([3, 4, 5], size=event.shape, p=[0.82, 0.165, 0.015])
    mild = rng.choice([0, 1, 2], size=event.shape, p=[0.55, 0.30, 0.15])
    return np.where(event, severe, mild)


def _best_response(rng: np.random.Generator, responded: np.ndarray, io: np.ndarray) -> np.ndarray:
    n = len(responded)
    cr = rng.random(n) < np.where(io, 0.2, 0.12)
    sd = rng.random(n) < 0.5
    out = np.where(responded, np.where(cr, "CR", "PR"), np.where(sd, "SD", "PD"))
    return np.where(rng.random(n) < 0.02, "NE", out)


@dataclass(frozen=True)
class _Course:
    """Where every patient of the chunk stands before the next line: performance status,
    age, labs, the next line's start date, treatment history and who goes on to it."""

    ecog: np.ndarray
    age: np.ndarray
    start: np.ndarray
    labs: pd.DataFrame
    prior_exposure: np.ndarray
    prior_classes: np.ndarray
    prior_io: np.ndarray
    prior_g3: np.ndarray
    prior_irae: np.ndarray
    active: np.ndarray


@dataclass(frozen=True)
class _Probabilities:
    """True probabilities of one line's patients (m) for every regimen (R): response,
    grade >= 3 per toxicity category (m, R, K), of ``other`` and of any; the offsets the
    calibration reads; the regimens the clinician chooses among; with pharmacogenomics, the
    doses, uracilemia and the probabilities at the guideline dose."""

    response: np.ndarray
    categories: np.ndarray
    other: np.ndarray
    any_ae: np.ndarray
    resp_off: np.ndarray
    tox_off: np.ndarray
    tox_rr: np.ndarray | None
    choice_mask: np.ndarray
    dose: np.ndarray
    uracil: np.ndarray | None = None
    guideline: np.ndarray | None = None
    at_guideline: dict[str, np.ndarray] | None = None


@dataclass(frozen=True)
class _Outcomes:
    """What happened on the chosen regimen, per patient of the line."""

    responded: np.ndarray
    grades: np.ndarray
    any_grade: np.ndarray
    best: np.ndarray
    discontinued: np.ndarray
    duration: np.ndarray

    @property
    def severe(self) -> np.ndarray:
        return self.any_grade >= 3


_STATE_COLUMNS = [
    "pidx",
    "cancer_type",
    "oncotree_code",
    "msi_status",
    "pdl1_tps",
    "autoimmune_disease",
    "diabetes",
    "ild_history",
]


def _initial_course(
    rng: np.random.Generator,
    patients: pd.DataFrame,
    n_regimens: int,
    arrays: RegimenArrays,
    cutoff: np.datetime64,
) -> _Course:
    n = len(patients)
    labs = _baseline_labs(rng, patients)
    age = patients["age_at_diagnosis"].to_numpy(float) + rng.uniform(0, 0.2, n)
    start = (
        patients["diagnosis_date"].to_numpy().astype("datetime64[D]")
        + rng.integers(20, 90, n) * _DAY
    )
    return _Course(
        ecog=patients["ecog"].to_numpy().copy(),
        age=age,
        start=start,
        labs=labs,
        prior_exposure=np.zeros((n, n_regimens), dtype=bool),
        prior_classes=np.zeros((n, len(arrays.class_names)), dtype=bool),
        prior_io=np.zeros(n, dtype=bool),
        prior_g3=np.zeros(n, dtype=bool),
        prior_irae=np.zeros(n, dtype=bool),
        active=start <= cutoff,
    )


def _line_state(
    patients: pd.DataFrame,
    tmb: np.ndarray,
    course: _Course,
    idx: np.ndarray,
    line_number: int,
) -> pd.DataFrame:
    """The state at line start of the patients ``idx``: baseline, course and biomarkers."""
    st = patients.iloc[idx][_STATE_COLUMNS].reset_index(drop=True)
    st["line_number"] = line_number
    st["ecog"] = course.ecog[idx]
    st["age_at_line"] = course.age[idx]
    for col in course.labs.columns:
        st[col] = course.labs[col].to_numpy()[idx]
    st["tmb"] = tmb[idx]
    st["prior_io"] = course.prior_io[idx]
    st["prior_grade3"] = course.prior_g3[idx]
    st["prior_irae_grade3"] = course.prior_irae[idx].astype(int)
    return st


def _eligible(
    st: pd.DataFrame,
    status: pd.DataFrame,
    course: _Course,
    idx: np.ndarray,
    catalog: Catalog,
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    """The catalog's eligibility of the patients ``idx``, restricted to those with an
    option: their state, biomarkers, eligibility mask (m, R) and chunk rows."""
    bm = status.iloc[idx].reset_index(drop=True)
    elig = eligibility(st, bm, catalog, prior_exposure=course.prior_exposure[idx]).mask
    has_option = elig.any(axis=1)
    return (
        st[has_option].reset_index(drop=True),
        bm[has_option].reset_index(drop=True),
        elig[has_option],
        idx[has_option],
    )


@dataclass(frozen=True)
class _Dosing:
    """A line's doses and the offsets they leave: by default (no pharmacogenomics) every
    patient at full dose, choosing among every eligible regimen; with pharmacogenomics,
    practice's doses and the regimens it avoids, uracilemia, the guideline dose and the
    probabilities at it."""

    resp_off: np.ndarray
    tox_off: np.ndarray
    choice_mask: np.ndarray
    dose: np.ndarray
    tox_rr: np.ndarray | None = None
    uracil: np.ndarray | None = None
    guideline: np.ndarray | None = None
    at_guideline: dict[str, np.ndarray] | None = None


def _pgx_dosing(
    pgx_rng: np.random.Generator,
    st: pd.DataFrame,
    elig: np.ndarray,
    r_off: np.ndarray,
    t_off: np.ndarray,
    *,
    arrays: RegimenArrays,
    cfg: SynthConfig,
    intercepts: Intercepts,
    cats: list[str],
    germline: Germline,
    regs: PgxRegimens,
) -> _Dosing:
    """Practice's doses (drawn from ``pgx_rng``) and their effect on the offsets ``r_off``
    and ``t_off``; the probabilities had the guideline been followed."""
    germ = germline.subset(st["pidx"].to_numpy())
    fp_option = (elig & regs.fluoropyrimidine[None, :]).any(axis=1)
    uracil = measure_uracil(pgx_rng, germ, fp_option, cfg.pgx)
    frail = (st["ecog"].to_numpy() >= 2) | (st["age_at_line"].to_numpy() >= 75)
    dose, avoid, clinical = practice_doses(pgx_rng, germ, uracil, frail, regs, cfg.pgx)
    choice_mask = elig & ~avoid
    choice_mask[~choice_mask.any(axis=1)] = elig[~choice_mask.any(axis=1)]
    guideline = guideline_doses(germ, uracil, regs)
    # following the guidance: its starting dose on top of the clinical reduction
    followed = np.minimum(clinical, np.nan_to_num(guideline, nan=1.0))
    tox_shift_g, rr_g, resp_shift_g = dose_effects(germ, followed, regs, cfg.pgx, cats)
    tox_shift, rr, resp_shift = dose_effects(germ, dose, regs, cfg.pgx, cats)
    g_cat, _, g_any = toxicity_probabilities(t_off + tox_shift_g, arrays, intercepts.toxicity, rr_g)
    at_guideline = {
        "response": expit(intercepts.response[None, :] + r_off + resp_shift_g),
        "ae_grade3": g_any,
    }
    for k, c in enumerate(cats):
        at_guideline[f"ae_{c}_grade3"] = g_cat[:, :, k]
    return _Dosing(
        resp_off=r_off + resp_shift,
        tox_off=t_off + tox_shift,
        choice_mask=choice_mask,
        dose=dose,
        tox_rr=rr,
        uracil=uracil,
        guideline=guideline,
        at_guideline=at_guideline,
    )


def _probabilities(
    pgx_rng: np.random.Generator,
    st: pd.DataFrame,
    bm: pd.DataFrame,
    elig: np.ndarray,
    prior_classes: np.ndarray,
    *,
    arrays: RegimenArrays,
    cfg: SynthConfig,
    intercepts: Intercepts,
    cats: list[str],
    germline: Germline | None,
    regs: PgxRegimens | None,
) -> _Probabilities:
    """The structural model's probabilities of the line's patients; with ``germline``, at
    practice's doses (drawn from ``pgx_rng``) and at the guideline dose."""
    r_off = response_offsets(st, bm, prior_classes, arrays, cfg.effects)
    t_off = toxicity_offsets(st, arrays, cfg.effects)
    if germline is None or regs is None:
        dosing = _Dosing(resp_off=r_off, tox_off=t_off, choice_mask=elig, dose=np.ones(elig.shape))
    else:
        dosing = _pgx_dosing(
            pgx_rng,
            st,
            elig,
            r_off,
            t_off,
            arrays=arrays,
            cfg=cfg,
            intercepts=intercepts,
            cats=cats,
            germline=germline,
            regs=regs,
        )
    p_cat, p_other, p_any = toxicity_probabilities(
        dosing.tox_off, arrays, intercepts.toxicity, dosing.tox_rr
    )
    return _Probabilities(
        response=expit(intercepts.response[None, :] + dosing.resp_off),
        categories=p_cat,
        other=p_other,
        any_ae=p_any,
        resp_off=dosing.resp_off,
        tox_off=dosing.tox_off,
        tox_rr=dosing.tox_rr,
        choice_mask=dosing.choice_mask,
        dose=dosing.dose,
        uracil=dosing.uracil,
        guideline=dosing.guideline,
        at_guideline=dosing.at_guideline,
    )


def _truth_rows(
    st: pd.DataFrame,
    line_number: int,
    elig: np.ndarray,
    chosen: np.ndarray,
    p_choice: np.ndarray,
    probs: _Probabilities,
    *,
    regimen_ids: np.ndarray,
    cats: list[str],
    guideline_endpoints: Sequence[str],
) -> pd.DataFrame:
    """Ground truth of every eligible regimen of the line's patients."""
    rows, cols = np.nonzero(elig)
    truth = pd.DataFrame(
        {
            "pidx": st["pidx"].to_numpy()[rows],
            "line_number": line_number,
            "regimen_id": regimen_ids[cols],
            "observed": chosen[rows] == cols,
            "p_choice": p_choice[rows, cols],
            "p_response": probs.response[rows, cols],
            "p_ae_grade3": probs.any_ae[rows, cols],
        }
    )
    for k, c in enumerate(cats):
        truth[f"p_ae_{c}_grade3"] = probs.categories[rows, cols, k]
    if probs.guideline is not None and probs.at_guideline is not None:
        gd = probs.guideline[rows, cols]
        truth["relative_dose"] = probs.dose[rows, cols]
        truth["guideline_dose"] = gd
        for ep in guideline_endpoints:
            if ep in probs.at_guideline:
                truth[f"p_{ep}_at_guideline_dose"] = np.where(
                    np.isnan(gd), np.nan, probs.at_guideline[ep][rows, cols]
                )
    return truth


def _reference_rows(
    st: pd.DataFrame,
    line_number: int,
    elig: np.ndarray,
    probs: _Probabilities,
    arrays: RegimenArrays,
    n_categories: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Calibration reference pairs: eligible regimens at their first line, ECOG 0-1 —
    regimen, response and toxicity offsets, relative risks."""
    rows, cols = np.nonzero(elig)
    ref = (line_number == arrays.min_line[cols]) & (st["ecog"].to_numpy()[rows] <= 1)
    rr = (
        probs.tox_rr[rows[ref], cols[ref], :]
        if probs.tox_rr is not None
        else np.ones((int(ref.sum()), n_categories))
    )
    return (
        cols[ref],
        probs.resp_off[rows[ref], cols[ref]],
        probs.tox_off[rows[ref], cols[ref]],
        rr,
    )


def _outcomes(
    rng: np.random.Generator, probs: _Probabilities, chosen: np.ndarray, arrays: RegimenArrays
) -> _Outcomes:
    """Response, adverse events, best response, discontinuation and duration of the chosen
    regimens."""
    m = len(chosen)
    ar = np.arange(m)
    responded = rng.random(m) < probs.response[ar, chosen]
    cat_event = rng.random((m, probs.categories.shape[2])) < probs.categories[ar, chosen, :]
    other_event = rng.random(m) < probs.other[ar, chosen]
    grades = _grades(rng, cat_event)
    other_grade = _grades(rng, other_event)
    any_grade = np.maximum(grades.max(axis=1), other_grade)
    best = _best_response(rng, responded, arrays.immunotherapy[chosen])
    disc = (any_grade >= 3) & (rng.random(m) < np.where(any_grade >= 4, 0.7, 0.4))
    median_days = np.select(
        [best == "CR", best == "PR", best == "SD", best == "PD"], [420, 300, 160, 75], 45
    )
    duration = np.maximum(14, np.exp(rng.normal(np.log(median_days), 0.45))).astype(int)
    return _Outcomes(responded, grades, any_grade, best, disc, duration)


def _line_rows(
    st: pd.DataFrame,
    lab_columns: Sequence[str],
    chosen: np.ndarray,
    out: _Outcomes,
    probs: _Probabilities,
    start: np.ndarray,
    *,
    regimen_ids: np.ndarray,
    cats: list[str],
    cutoff: np.datetime64,
) -> pd.DataFrame:
    """The observed line of each patient: state, regimen, dates, response, toxicity."""
    end = start + out.duration * _DAY
    line = st[
        ["pidx", "line_number", "ecog", "age_at_line", *lab_columns, "pdl1_tps", "msi_status"]
    ].copy()
    line["regimen_id"] = regimen_ids[chosen]
    line["start_date"] = start
    line["end_date"] = np.where(end <= cutoff, end, np.datetime64("NaT"))
    line["best_response"] = out.best
    for k, c in enumerate(cats):
        line[f"ae_{c}_max_grade"] = out.grades[:, k]
    line["ae_any_max_grade"] = out.any_grade
    line["discontinued_for_toxicity"] = out.discontinued.astype(int)
    if probs.uracil is not None:
        line["uracil_ng_ml"] = probs.uracil
        line["relative_dose"] = probs.dose[np.arange(len(chosen)), chosen]
    return line


def _next_ecog(rng: np.random.Generator, ecog: np.ndarray, out: _Outcomes) -> np.ndarray:
    m = len(ecog)
    progressed = out.best == "PD"
    new = ecog + (progressed & (rng.random(m) < 0.35)) + (out.severe & (rng.random(m) < 0.25))
    new = new - (out.responded & (rng.random(m) < 0.25) & (new > 0))
    return np.clip(new, 0, 4)


def _next_labs(
    rng: np.random.Generator, lab: pd.DataFrame, out: _Outcomes, platinum: np.ndarray
) -> dict[str, np.ndarray]:
    """The labs of the line's patients at the next line (those that move)."""
    m = len(lab)
    progressed = out.best == "PD"
    albumin = lab["albumin"].to_numpy()
    albumin = albumin - 0.1 - 0.15 * progressed + 0.1 * out.responded + rng.normal(0, 0.25, m)
    new = {"albumin": np.clip(albumin, 1.8, 5.2)}
    new["nlr"] = np.clip(
        lab["nlr"].to_numpy() * np.exp(rng.normal(0.1 * progressed, 0.25)), 0.5, 40
    )
    new["creatinine_clearance"] = np.clip(
        lab["creatinine_clearance"].to_numpy() - rng.uniform(0, 5, m) - 5 * platinum, 15, 180
    )
    new["hemoglobin"] = np.clip(
        lab["hemoglobin"].to_numpy() - 0.3 + rng.normal(0, 0.6, m), 6.5, 17.5
    )
    new["alt"] = np.clip(lab["alt"].to_numpy() * np.exp(rng.normal(0, 0.3, m)), 5, 400)
    new["bilirubin"] = np.clip(
        lab["bilirubin"].to_numpy() * np.exp(rng.normal(0.02, 0.25, m)), 0.1, 6
    )
    return new


def _advance(
    rng: np.random.Generator,
    course: _Course,
    idx: np.ndarray,
    chosen: np.ndarray,
    out: _Outcomes,
    *,
    arrays: RegimenArrays,
    imm_k: int | None,
    cutoff: np.datetime64,
) -> _Course:
    """The disease course to the next line of the patients ``idx``: performance status,
    labs, history, age and start date, and whether they go on to another line."""
    ecog = course.ecog.copy()
    ecog[idx] = _next_ecog(rng, ecog[idx], out)
    labs = course.labs.copy()
    for col, values in _next_labs(rng, course.labs.iloc[idx], out, arrays.platinum[chosen]).items():
        labs.iloc[idx, labs.columns.get_loc(col)] = values
    prior_exposure = course.prior_exposure.copy()
    prior_exposure[idx, chosen] = True
    prior_classes = course.prior_classes.copy()
    prior_classes[idx] |= arrays.classes[chosen]
    prior_io = course.prior_io.copy()
    prior_io[idx] |= arrays.immunotherapy[chosen]
    prior_g3 = course.prior_g3.copy()
    prior_g3[idx] |= out.severe
    prior_irae = course.prior_irae.copy()
    if imm_k is not None:
        prior_irae[idx] |= arrays.immunotherapy[chosen] & (out.grades[:, imm_k] >= 3)
    m = len(idx)
    gap = rng.integers(10, 45, m)
    age = course.age.copy()
    age[idx] += (out.duration + gap) / 365.25
    start = course.start.copy()
    start[idx] = course.start[idx] + out.duration * _DAY + gap * _DAY
    p_next = expit(
        1.1
        - 0.8 * (ecog[idx] >= 2)
        - 1.0 * (ecog[idx] >= 3)
        - 0.03 * (age[idx] - 65)
        + 0.3 * out.responded
    )
    died = out.any_grade >= 5
    go_on = (rng.random(m) < p_next) & ~died & (ecog[idx] <= 3) & (start[idx] <= cutoff)
    active = np.zeros_like(course.active)
    active[idx[go_on]] = True
    return _Course(
        ecog=ecog,
        age=age,
        start=start,
        labs=labs,
        prior_exposure=prior_exposure,
        prior_classes=prior_classes,
        prior_io=prior_io,
        prior_g3=prior_g3,
        prior_irae=prior_irae,
        active=active,
    )


@dataclass(frozen=True)
class _Inputs:
    """A chunk's patients (baseline, biomarker status, TMB) and what their course is
    simulated with: catalog, settings, intercepts, germline, and what follows from them."""

    patients: pd.DataFrame
    status: pd.DataFrame
    tmb: np.ndarray
    catalog: Catalog
    cfg: SynthConfig
    intercepts: Intercepts
    germline: Germline | None
    guideline_endpoints: Sequence[str]
    arrays: RegimenArrays
    cats: list[str]
    imm_k: int | None
    cutoff: np.datetime64
    regimen_ids: np.ndarray
    regs: PgxRegimens | None


def _inputs(
    patients: pd.DataFrame,
    status: pd.DataFrame,
    tmb: np.ndarray,
    catalog: Catalog,
    cfg: SynthConfig,
    intercepts: Intercepts,
    germline: Germline | None,
    guideline_endpoints: Sequence[str],
) -> _Inputs:
    """The chunk's inputs with the catalog's arrays, toxicity categories (and the index of
    ``immune_related``, if any), the data cutoff and, with ``germline``, the PGx regimens."""
    cats = catalog.toxicity_categories
    return _Inputs(
        patients=patients,
        status=status,
        tmb=tmb,
        catalog=catalog,
        cfg=cfg,
        intercepts=intercepts,
        germline=germline,
        guideline_endpoints=guideline_endpoints,
        arrays=RegimenArrays.from_catalog(catalog),
        cats=cats,
        imm_k=cats.index("immune_related") if "immune_related" in cats else None,
        cutoff=np.datetime64(cfg.data_cutoff, "D"),
        regimen_ids=np.asarray(catalog.regimen_ids, dtype=object),
        regs=PgxRegimens.from_catalog(catalog) if germline is not None else None,
    )


_References = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class _LineStep:
    """One simulated line: its observed rows, ground truth and calibration reference rows,
    and the course to the next line."""

    line: pd.DataFrame
    truth: pd.DataFrame
    refs: _References
    course: _Course


def _starters(
    course: _Course, *, line_number: int, inputs: _Inputs
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray] | None:
    """State, biomarkers, eligibility mask and chunk rows of the patients who start line
    ``line_number`` with an eligible regimen; None when nobody does."""
    idx = np.flatnonzero(course.active)
    if not len(idx):
        return None
    st = _line_state(inputs.patients, inputs.tmb, course, idx, line_number)
    st, bm, elig, idx = _eligible(st, inputs.status, course, idx, inputs.catalog)
    return (st, bm, elig, idx) if len(idx) else None


def _chosen_truth(
    rng: np.random.Generator,
    st: pd.DataFrame,
    elig: np.ndarray,
    probs: _Probabilities,
    *,
    line_number: int,
    inputs: _Inputs,
) -> tuple[np.ndarray, pd.DataFrame, _References]:
    """The clinician's choice (drawn from ``rng``), the ground truth of the line and its
    calibration reference rows."""
    chosen, p_choice = _choose(rng, probs.choice_mask, st, inputs.arrays, inputs.cfg)
    truth = _truth_rows(
        st,
        line_number,
        elig,
        chosen,
        p_choice,
        probs,
        regimen_ids=inputs.regimen_ids,
        cats=inputs.cats,
        guideline_endpoints=inputs.guideline_endpoints,
    )
    refs = _reference_rows(st, line_number, elig, probs, inputs.arrays, len(inputs.cats))
    return chosen, truth, refs


def _followed(
    rng: np.random.Generator,
    st: pd.DataFrame,
    chosen: np.ndarray,
    probs: _Probabilities,
    course: _Course,
    idx: np.ndarray,
    *,
    inputs: _Inputs,
) -> tuple[pd.DataFrame, _Course]:
    """The outcomes of the chosen regimens (drawn from ``rng``): the observed line rows and
    the course to the next line."""
    out = _outcomes(rng, probs, chosen, inputs.arrays)
    line = _line_rows(
        st,
        list(course.labs.columns),
        chosen,
        out,
        probs,
        course.start[idx],
        regimen_ids=inputs.regimen_ids,
        cats=inputs.cats,
        cutoff=inputs.cutoff,
    )
    nxt = _advance(
        rng,
        course,
        idx,
        chosen,
        out,
        arrays=inputs.arrays,
        imm_k=inputs.imm_k,
        cutoff=inputs.cutoff,
    )
    return line, nxt


def _simulate_line(
    rng: np.random.Generator,
    pgx_rng: np.random.Generator,
    course: _Course,
    *,
    line_number: int,
    inputs: _Inputs,
) -> _LineStep | None:
    """Line ``line_number`` of the patients on course (None when nobody starts it): the
    probabilities (``pgx_rng``), then the choice, outcomes and next course (``rng``)."""
    starters = _starters(course, line_number=line_number, inputs=inputs)
    if starters is None:
        return None
    st, bm, elig, idx = starters
    probs = _probabilities(
        pgx_rng,
        st,
        bm,
        elig,
        course.prior_classes[idx],
        arrays=inputs.arrays,
        cfg=inputs.cfg,
        intercepts=inputs.intercepts,
        cats=inputs.cats,
        germline=inputs.germline,
        regs=inputs.regs,
    )
    chosen, truth, refs = _chosen_truth(
        rng, st, elig, probs, line_number=line_number, inputs=inputs
    )
    line, nxt = _followed(rng, st, chosen, probs, course, idx, inputs=inputs)
    return _LineStep(line=line, truth=truth, refs=refs, course=nxt)


def _course_lines(
    rng: np.random.Generator, pgx_rng: np.random.Generator, *, inputs: _Inputs
) -> list[_LineStep]:
    """The chunk's lines from its initial course (drawn from ``rng``) until nobody starts
    a line or ``cfg.max_lines`` are simulated."""
    n_regimens = len(inputs.catalog.regimens)
    course = _initial_course(rng, inputs.patients, n_regimens, inputs.arrays, inputs.cutoff)
    steps: list[_LineStep] = []
    for line_number in range(1, inputs.cfg.max_lines + 1):
        step = _simulate_line(rng, pgx_rng, course, line_number=line_number, inputs=inputs)
        if step is None:
            break
        steps.append(step)
        course = step.course
    return steps


def _concatenated(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The frames one after the other, re-indexed (an empty frame when there are none)."""
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _stacked(parts: Sequence[np.ndarray], *, empty: np.ndarray) -> np.ndarray:
    """The arrays one after the other (``empty`` when there are none)."""
    return np.concatenate(parts) if parts else empty


def _assembled(steps: Sequence[_LineStep], *, n_categories: int) -> History:
    """The chunk's history from its lines, in order."""
    refs = [s.refs for s in steps]
    return History(
        lines=_concatenated([s.line for s in steps]),
        truth=_concatenated([s.truth for s in steps]),
        ref_regimen=_stacked([r[0] for r in refs], empty=np.zeros(0, dtype=int)),
        ref_resp_off=_stacked([r[1] for r in refs], empty=np.zeros(0)),
        ref_tox_off=_stacked([r[2] for r in refs], empty=np.zeros(0)),
        ref_tox_rr=_stacked([r[3] for r in refs], empty=np.ones((0, n_categories))),
    )


def simulate_history(
    rng: np.random.Generator,
    patients: pd.DataFrame,
    status: pd.DataFrame,
    tmb: np.ndarray,
    *,
    catalog: Catalog,
    cfg: SynthConfig,
    intercepts: Intercepts,
    germline: Germline | None = None,
    pgx_rng: np.random.Generator | None = None,
    guideline_endpoints: Sequence[str],
) -> History:
    """Simulate up to ``cfg.max_lines`` therapy lines for every patient of a chunk.

    Parameters
    ----------
    rng : Generator
        The chunk's random stream for the treatment course.
    patients : DataFrame
        Baseline patients (see :func:`~precision_onco.synth.baseline.simulate_baseline`).
    status : DataFrame
        Biomarker status per patient (catalog biomarker ids), aligned with ``patients``.
    tmb : ndarray
        Observed non-synonymous TMB per patient.
    catalog, cfg, intercepts
        Therapy catalog, simulator settings and calibrated intercepts.
    germline : Germline, optional
        The patients' germline pharmacogenomics (:mod:`precision_onco.synth.pgx`): lines
        then get ``uracil_ng_ml`` and ``relative_dose``, the toxicity of fluoropyrimidines
        and irinotecan depends on genotype and dose, and the ground truth carries the
        probabilities at the guideline dose. ``pgx_rng`` draws its random numbers.
    guideline_endpoints : sequence of str
        With ``germline``: the endpoints whose true probability at the guideline starting
        dose the ground truth carries (``p_<endpoint>_at_guideline_dose``: had the regimen
        been given at the pharmacogenomic starting dose the recommender gives it,
        ``guideline_dose``, on top of practice's clinical (frailty) reduction — the lower of
        the two; NaN where the guidance avoids the regimen); see
        :func:`guideline_truth_endpoints`. Names the simulator does not model are skipped.
    """
    inputs = _inputs(patients, status, tmb, catalog, cfg, intercepts, germline, guideline_endpoints)
    steps = _course_lines(rng, pgx_rng if pgx_rng is not None else rng, inputs=inputs)
    return _assembled(steps, n_categories=len(inputs.cats))


def guideline_truth_endpoints(roles: EndpointRoles) -> tuple[str, ...]:
    """The endpoints whose truth at the guideline dose the pharmacogenomic dosing study
    reads: the efficacy and any-severe-AE endpoints and the ``pgx_dose`` toxicities."""
    return tuple(dict.fromkeys((*roles.headline, *roles.pgx_dose)))
