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
    arrays = RegimenArrays.from_catalog(catalog)
    e = cfg.effects
    cats = catalog.toxicity_categories
    R, K = len(catalog.regimens), len(cats)
    n = len(patients)
    imm_k = cats.index("immune_related") if "immune_related" in cats else None
    cutoff = np.datetime64(cfg.data_cutoff, "D")

    labs = _baseline_labs(rng, patients)
    ecog = patients["ecog"].to_numpy().copy()
    age = patients["age_at_diagnosis"].to_numpy(float) + rng.uniform(0, 0.2, n)
    start = (
        patients["diagnosis_date"].to_numpy().astype("datetime64[D]")
        + rng.integers(20, 90, n) * _DAY
    )
    prior_exposure = np.zeros((n, R), dtype=bool)
    prior_classes = np.zeros((n, len(arrays.class_names)), dtype=bool)
    prior_io = np.zeros(n, dtype=bool)
    prior_g3 = np.zeros(n, dtype=bool)
    prior_irae = np.zeros(n, dtype=bool)
    active = start <= cutoff

    line_frames, truth_frames = [], []
    ref_reg, ref_resp, ref_tox, ref_rr = [], [], [], []
    regs = PgxRegimens.from_catalog(catalog) if germline is not None else None
    pgx_rng = pgx_rng if pgx_rng is not None else rng
    for line_number in range(1, cfg.max_lines + 1):
        idx = np.flatnonzero(active)
        if not len(idx):
            break
        st = patients.iloc[idx][
            [
                "pidx",
                "cancer_type",
                "oncotree_code",
                "msi_status",
                "pdl1_tps",
                "autoimmune_disease",
                "diabetes",
                "ild_history",
            ]
        ].reset_index(drop=True)
        st["line_number"] = line_number
        st["ecog"] = ecog[idx]
        st["age_at_line"] = age[idx]
        for col in labs.columns:
            st[col] = labs[col].to_numpy()[idx]
        st["tmb"] = tmb[idx]
        st["prior_io"] = prior_io[idx]
        st["prior_grade3"] = prior_g3[idx]
        st["prior_irae_grade3"] = prior_irae[idx].astype(int)
        bm = status.iloc[idx].reset_index(drop=True)
        elig = eligibility(st, bm, catalog, prior_exposure=prior_exposure[idx]).mask
        has_option = elig.any(axis=1)
        st, bm, elig, idx = (
            st[has_option].reset_index(drop=True),
            bm[has_option].reset_index(drop=True),
            elig[has_option],
            idx[has_option],
        )
        active[:] = False
        if not len(idx):
            break
        r_off = response_offsets(st, bm, prior_classes[idx], arrays, e)
        t_off = toxicity_offsets(st, arrays, e)
        dose = np.ones(elig.shape)
        rr = uracil = guideline = None
        choice_mask = elig
        if germline is not None and regs is not None:
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
            g_resp = expit(intercepts.response[None, :] + r_off + resp_shift_g)
            g_cat, _, g_any = toxicity_probabilities(
                t_off + tox_shift_g, arrays, intercepts.toxicity, rr_g
            )
            r_off, t_off = r_off + resp_shift, t_off + tox_shift
        p_resp = expit(intercepts.response[None, :] + r_off)
        p_cat, p_other, p_any = toxicity_probabilities(t_off, arrays, intercepts.toxicity, rr)
        chosen, p_choice = _choose(rng, choice_mask, st, arrays, cfg)

        # ground truth for every eligible regimen, and calibration reference pairs
        rows, cols = np.nonzero(elig)
        truth = pd.DataFrame(
            {
                "pidx": st["pidx"].to_numpy()[rows],
                "line_number": line_number,
                "regimen_id": np.asarray(catalog.regimen_ids, dtype=object)[cols],
                "observed": chosen[rows] == cols,
                "p_choice": p_choice[rows, cols],
                "p_response": p_resp[rows, cols],
                "p_ae_grade3": p_any[rows, cols],
            }
        )
        for k, c in enumerate(cats):
            truth[f"p_ae_{c}_grade3"] = p_cat[rows, cols, k]
        if guideline is not None:
            gd = guideline[rows, cols]
            truth["relative_dose"] = dose[rows, cols]
            truth["guideline_dose"] = gd
            at_g = {"response": g_resp, "ae_grade3": g_any}
            for k, c in enumerate(cats):
                at_g[f"ae_{c}_grade3"] = g_cat[:, :, k]
            for ep in guideline_endpoints:
                if ep in at_g:
                    truth[f"p_{ep}_at_guideline_dose"] = np.where(
                        np.isnan(gd), np.nan, at_g[ep][rows, cols]
                    )
        truth_frames.append(truth)
        ref = (line_number == arrays.min_line[cols]) & (st["ecog"].to_numpy()[rows] <= 1)
        ref_reg.append(cols[ref])
        ref_resp.append(r_off[rows[ref], cols[ref]])
        ref_tox.append(t_off[rows[ref], cols[ref]])
        ref_rr.append(
            rr[rows[ref], cols[ref], :] if rr is not None else np.ones((int(ref.sum()), K))
        )

        # outcomes of the chosen regimen
        m = len(idx)
        ar = np.arange(m)
        responded = rng.random(m) < p_resp[ar, chosen]
        cat_event = rng.random((m, K)) < p_cat[ar, chosen, :]
        other_event = rng.random(m) < p_other[ar, chosen]
        grades = _grades(rng, cat_event)
        other_grade = _grades(rng, other_event)
        any_grade = np.maximum(grades.max(axis=1), other_grade)
        severe = any_grade >= 3
        best = _best_response(rng, responded, arrays.immunotherapy[chosen])
        disc = severe & (rng.random(m) < np.where(any_grade >= 4, 0.7, 0.4))
        median_days = np.select(
            [best == "CR", best == "PR", best == "SD", best == "PD"], [420, 300, 160, 75], 45
        )
        duration = np.maximum(14, np.exp(rng.normal(np.log(median_days), 0.45))).astype(int)
        start_i = start[idx]
        end_i = start_i + duration * _DAY
        died = any_grade >= 5
        line = st[
            ["pidx", "line_number", "ecog", "age_at_line", *labs.columns, "pdl1_tps", "msi_status"]
        ].copy()
        line["regimen_id"] = np.asarray(catalog.regimen_ids, dtype=object)[chosen]
        line["start_date"] = start_i
        line["end_date"] = np.where(end_i <= cutoff, end_i, np.datetime64("NaT"))
        line["best_response"] = best
        for k, c in enumerate(cats):
            line[f"ae_{c}_max_grade"] = grades[:, k]
        line["ae_any_max_grade"] = any_grade
        line["discontinued_for_toxicity"] = disc.astype(int)
        if uracil is not None:
            line["uracil_ng_ml"] = uracil
            line["relative_dose"] = dose[ar, chosen]
        line_frames.append(line)

        # disease course to the next line
        pd_ = best == "PD"
        new_ecog = ecog[idx] + (pd_ & (rng.random(m) < 0.35)) + (severe & (rng.random(m) < 0.25))
        new_ecog = new_ecog - (responded & (rng.random(m) < 0.25) & (new_ecog > 0))
        ecog[idx] = np.clip(new_ecog, 0, 4)
        lab = labs.iloc[idx]
        labs.iloc[idx, labs.columns.get_loc("albumin")] = np.clip(
            lab["albumin"].to_numpy() - 0.1 - 0.15 * pd_ + 0.1 * responded + rng.normal(0, 0.25, m),
            1.8,
            5.2,
        )
        labs.iloc[idx, labs.columns.get_loc("nlr")] = np.clip(
            lab["nlr"].to_numpy() * np.exp(rng.normal(0.1 * pd_, 0.25)), 0.5, 40
        )
        labs.iloc[idx, labs.columns.get_loc("creatinine_clearance")] = np.clip(
            lab["creatinine_clearance"].to_numpy()
            - rng.uniform(0, 5, m)
            - 5 * arrays.platinum[chosen],
            15,
            180,
        )
        labs.iloc[idx, labs.columns.get_loc("hemoglobin")] = np.clip(
            lab["hemoglobin"].to_numpy() - 0.3 + rng.normal(0, 0.6, m), 6.5, 17.5
        )
        labs.iloc[idx, labs.columns.get_loc("alt")] = np.clip(
            lab["alt"].to_numpy() * np.exp(rng.normal(0, 0.3, m)), 5, 400
        )
        labs.iloc[idx, labs.columns.get_loc("bilirubin")] = np.clip(
            lab["bilirubin"].to_numpy() * np.exp(rng.normal(0.02, 0.25, m)), 0.1, 6
        )
        prior_exposure[idx, chosen] = True
        prior_classes[idx] |= arrays.classes[chosen]
        prior_io[idx] |= arrays.immunotherapy[chosen]
        prior_g3[idx] |= severe
        if imm_k is not None:
            prior_irae[idx] |= arrays.immunotherapy[chosen] & (grades[:, imm_k] >= 3)
        gap = rng.integers(10, 45, m)
        age[idx] += (duration + gap) / 365.25
        start[idx] = end_i + gap * _DAY
        p_next = expit(
            1.1
            - 0.8 * (ecog[idx] >= 2)
            - 1.0 * (ecog[idx] >= 3)
            - 0.03 * (age[idx] - 65)
            + 0.3 * responded
        )
        go_on = (rng.random(m) < p_next) & ~died & (ecog[idx] <= 3) & (start[idx] <= cutoff)
        active[idx[go_on]] = True

    lines = pd.concat(line_frames, ignore_index=True) if line_frames else pd.DataFrame()
    truth = pd.concat(truth_frames, ignore_index=True) if truth_frames else pd.DataFrame()
    empty_f = np.zeros(0)
    return History(
        lines=lines,
        truth=truth,
        ref_regimen=np.concatenate(ref_reg) if ref_reg else np.zeros(0, dtype=int),
        ref_resp_off=np.concatenate(ref_resp) if ref_resp else empty_f,
        ref_tox_off=np.concatenate(ref_tox) if ref_tox else empty_f,
        ref_tox_rr=np.concatenate(ref_rr) if ref_rr else np.ones((0, K)),
    )


def guideline_truth_endpoints(roles: EndpointRoles) -> tuple[str, ...]:
    """The endpoints whose truth at the guideline dose the pharmacogenomic dosing study
    reads: the efficacy and any-severe-AE endpoints and the ``pgx_dose`` toxicities."""
    return tuple(dict.fromkeys((*roles.headline, *roles.pgx_dose)))
