"""Pharmacogenomic dose evaluation on held-out lines (issue 17).

Two questions, answered on the held-out lines:

* **Toxicity models by genotype** (:func:`toxicity_by_genotype`): hematologic and
  gastrointestinal grade >= 3 AUC and calibration (mean predicted vs observed rate, ECE,
  and on a synthetic cohort the mean true probability) in DPYD variant carriers vs
  non-carriers among the lines given a fluoropyrimidine, and in UGT1A1 poor metabolisers
  vs the others among the lines given irinotecan.
* **Recommended vs observed dosing** (:func:`dosing_study`, synthetic cohort): among the
  held-out lines whose recommended regimen contains a fluoropyrimidine, the true grade >= 3
  toxicity of that regimen at its recommended starting dose against the dose practice
  would have given it (the simulator knows both); the same for the regimens practice gave;
  and the safety floor: no patient with DPYD activity score 0 or uracilemia >= 150 ng/mL
  is recommended a fluoropyrimidine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from precision_onco.catalog.catalog import Catalog
from precision_onco.config.schema import CatalogConfig, RecommendConfig
from precision_onco.models.metrics import ece, summarize
from precision_onco.pgx.definitions import load_definitions
from precision_onco.pgx.regimens import dose_fraction

__all__ = [
    "dosing_study",
    "held_out_dosing",
    "regimen_drug_sets",
    "toxicity_by_genotype",
]

KEYS = ["patient_key", "line_number"]


def regimen_drug_sets(catalog: CatalogConfig) -> tuple[set[str], set[str]]:
    """Ids of the catalog regimens with a fluoropyrimidine, and with irinotecan."""
    defs = load_definitions()
    fp = {d for d, s in defs.drugs.items() if s.get("gene") == "DPYD"}
    iri = {d for d, s in defs.drugs.items() if s.get("gene") == "UGT1A1"}
    regs = Catalog(catalog).regimens
    return ({r.id for r in regs if fp & set(r.drugs)}, {r.id for r in regs if iri & set(r.drugs)})


def _round(v: Any, d: int = 4) -> Any:
    return None if v is None or not np.isfinite(v) else round(float(v), d)


def _group_metrics(
    y: np.ndarray, p: np.ndarray, t: np.ndarray | None, *, bootstrap: int, bins: int, seed: int
) -> dict[str, Any]:
    out: dict[str, Any] = {"n": int(len(y)), "events": int(y.sum())}
    if not len(y):
        return out
    out["mean_predicted"] = _round(p.mean())
    out["observed_rate"] = _round(y.mean())
    if t is not None and np.isfinite(t).all():
        out["mean_true_probability"] = _round(t.mean())
    out["ece"] = _round(ece(y, p, bins))
    if 0 < y.sum() < len(y):
        s = summarize(y, p, bootstrap=bootstrap, bins=bins, rng=np.random.default_rng(seed))
        out.update({k: _round(s.get(k)) for k in ("auc", "auc_low", "auc_high", "brier")})
    else:
        out["auc"] = None
        out["note"] = "one class only: AUC undefined"
    return out


def toxicity_by_genotype(
    predictions: pd.DataFrame,
    lines: pd.DataFrame,
    patients: pd.DataFrame,
    catalog: CatalogConfig,
    *,
    endpoints: Sequence[str],
    truth: pd.DataFrame | None = None,
    bootstrap: int = 200,
    bins: int = 10,
    seed: int = 11,
) -> dict[str, Any]:
    """Held-out AUC and calibration of the toxicity models in carriers vs non-carriers.

    Parameters
    ----------
    predictions : DataFrame
        Held-out predictions (keys, ``regimen_id``, one column per endpoint).
    lines, patients : DataFrame
        The canonical tables (outcome grades; ``dpyd_activity_score``, ``ugt1a1_phenotype``).
    catalog : CatalogConfig
        Which regimens hold a fluoropyrimidine or irinotecan.
    endpoints : sequence of str
        The toxicity endpoints reported (``endpoint_roles(cfg.endpoints).pgx_dose``).
    truth : DataFrame, optional
        Synthetic ground truth: the mean true probability of each group too.

    Returns
    -------
    dict
        ``{"skipped": why}``, or per gene group (``dpyd_carrier``, ``dpyd_non_carrier`` among
        fluoropyrimidine lines; ``ugt1a1_poor``, ``ugt1a1_not_poor`` among irinotecan lines)
        and endpoint: n, events, AUC with its CI, mean predicted, observed rate, ECE.
    """
    eps = [e for e in endpoints if e in predictions.columns]
    if not eps:
        return {"skipped": f"no held-out predictions for {', '.join(endpoints)}"}
    pcols = [c for c in ("dpyd_activity_score", "ugt1a1_phenotype") if c in patients.columns]
    if not pcols:
        return {
            "skipped": "the patients table has no germline pharmacogenomic call "
            "(cohort.inputs.germline)"
        }
    fp, iri = regimen_drug_sets(catalog)
    grade_cols = [f"{e[: -len('_grade3')]}_max_grade" for e in eps]
    f = (
        predictions[[*KEYS, "regimen_id", *eps]]
        .merge(lines[[*KEYS, *[c for c in grade_cols if c in lines.columns]]], on=KEYS, how="left")
        .merge(patients[["patient_key", *pcols]], on="patient_key", how="left")
    )
    if truth is not None:
        tcols = [f"p_{e}" for e in eps if f"p_{e}" in truth.columns]
        f = f.merge(truth[[*KEYS, "regimen_id", *tcols]], on=[*KEYS, "regimen_id"], how="left")
    reg = f["regimen_id"].astype("string")
    score = (
        pd.to_numeric(f.get("dpyd_activity_score"), errors="coerce")
        if "dpyd_activity_score" in f.columns
        else pd.Series(np.nan, index=f.index)
    )
    ugt = (
        f["ugt1a1_phenotype"].astype("string")
        if "ugt1a1_phenotype" in f.columns
        else pd.Series(pd.NA, index=f.index, dtype="string")
    )
    on_fp = reg.isin(fp).fillna(False).to_numpy(bool)
    on_iri = reg.isin(iri).fillna(False).to_numpy(bool)
    groups = {
        "dpyd_carrier": on_fp & (score < 2).to_numpy(bool),
        "dpyd_non_carrier": on_fp & (score == 2).to_numpy(bool),
        "ugt1a1_poor": on_iri & (ugt == "poor").fillna(False).to_numpy(bool),
        "ugt1a1_not_poor": on_iri
        & ugt.isin(["normal", "intermediate"]).fillna(False).to_numpy(bool),
    }
    out: dict[str, Any] = {
        "population": "held-out lines given a fluoropyrimidine (DPYD groups) or irinotecan "
        "(UGT1A1 groups); carriers: DPYD activity score < 2",
    }
    for name, mask in groups.items():
        out[name] = {}
        for ep, gcol in zip(eps, grade_cols, strict=True):
            if gcol not in f.columns:
                continue
            g = pd.to_numeric(f[gcol], errors="coerce").to_numpy(float)
            ok = mask & np.isfinite(g) & f[ep].notna().to_numpy(bool)
            t = f[f"p_{ep}"].to_numpy(float)[ok] if f"p_{ep}" in f.columns else None
            y, p = (g[ok] >= 3).astype(float), f[ep].to_numpy(float)[ok]
            out[name][ep] = _group_metrics(y, p, t, bootstrap=bootstrap, bins=bins, seed=seed)
    return out


def _paired(
    a: np.ndarray, b: np.ndarray, groups: np.ndarray, *, bootstrap: int, seed: int
) -> dict[str, Any]:
    """Means of ``a`` and ``b`` and of ``a - b`` with a patient-bootstrap 95 % interval."""
    out: dict[str, Any] = {"n": int(len(a))}
    if not len(a):
        return out
    d = a - b
    out.update(recommended=_round(a.mean()), observed=_round(b.mean()), difference=_round(d.mean()))
    uniq, inv = np.unique(groups, return_inverse=True)
    if bootstrap > 0 and len(uniq) > 1:
        rng = np.random.default_rng(seed)
        sums = np.bincount(inv, weights=d, minlength=len(uniq))
        counts = np.bincount(inv, minlength=len(uniq))
        pick = rng.integers(0, len(uniq), size=(bootstrap, len(uniq)))
        boot = sums[pick].sum(axis=1) / np.maximum(counts[pick].sum(axis=1), 1)
        out["difference_low"] = _round(np.quantile(boot, 0.025))
        out["difference_high"] = _round(np.quantile(boot, 0.975))
    return out


def dosing_study(
    ranked: pd.DataFrame,
    truth: pd.DataFrame,
    patients: pd.DataFrame,
    lines: pd.DataFrame,
    catalog: CatalogConfig,
    *,
    any_severe_ae: str | None,
    toxicities: Sequence[str],
    held_keys: pd.DataFrame | None = None,
    bootstrap: int = 500,
    seed: int = 13,
) -> dict[str, Any]:
    """True grade >= 3 toxicity of recommended vs observed dosing on the held-out lines.

    Parameters
    ----------
    ranked : DataFrame
        The recommender's ranking of the held-out lines (keys, ``regimen_id``, ``rank``,
        ``pgx_dose``), as :func:`~precision_onco.recommend.rank.rank_regimens` gives it.
    truth : DataFrame
        The synthetic ground truth with ``relative_dose`` (practice's dose of each regimen),
        ``guideline_dose`` and ``p_<endpoint>_at_guideline_dose``.
    patients, lines : DataFrame
        ``dpyd_activity_score`` (patients) and ``uracil_ng_ml`` (lines), for the safety
        floor; the regimen practice gave (lines).
    any_severe_ae, toxicities : str or None, sequence of str
        The endpoints compared (``any_severe_ae`` and ``pgx_dose`` of
        :func:`~precision_onco.config.endpoint_roles`); the summary is on ``any_severe_ae``.
    held_keys : DataFrame, optional
        The held-out lines (keys); default: those of ``ranked``. A line whose every
        regimen is excluded has no ranked row: it still counts among the deficient lines.

    Returns
    -------
    dict
        ``recommended_fluoropyrimidine``: per endpoint the mean true probability at the
        recommended dose vs at practice's dose for the same regimen, the paired difference
        with a patient-bootstrap CI, overall and for DPYD carriers; ``observed_fluoropyrimidine``:
        the same for the regimen practice gave; ``dose_agreement``: share of recommended
        fluoropyrimidine regimens whose recommended dose is the simulator's guideline dose;
        ``safety``: patients with DPYD AS 0 or uracil >= 150 ng/mL offered or recommended a
        fluoropyrimidine (both must be 0).
    """
    if any_severe_ae is None:
        return {"skipped": "no endpoint has role any_severe_ae (conf/endpoints)"}
    need = {"relative_dose", "guideline_dose", f"p_{any_severe_ae}_at_guideline_dose"}
    if not need <= set(truth.columns):
        return {
            "skipped": "the ground truth has no dose columns (synth.pgx.enabled=false or "
            "not a synthetic cohort)"
        }
    fp, _ = regimen_drug_sets(catalog)
    eps, tcols = _dose_columns(truth, any_severe_ae, toxicities)
    state, pt = _line_state(patients, lines)
    r = ranked[[*KEYS, "regimen_id", "rank", "pgx_dose"]].merge(state, on=KEYS, how="left")
    r = r.merge(pt, on="patient_key", how="left")
    r["fluoropyrimidine"] = r["regimen_id"].astype("string").isin(fp).fillna(False)
    top = r[r["rank"] == 1].merge(
        truth[[*KEYS, "regimen_id", *tcols]], on=[*KEYS, "regimen_id"], how="left"
    )
    out: dict[str, Any] = {
        "population": "held-out lines; the recommender's top regimen at its recommended "
        "starting dose (pgx_dose) vs the same regimen at the dose practice "
        "would have given it; true probabilities from the simulator",
        "held_out_lines": int(top[KEYS].drop_duplicates().shape[0]),
    }
    out.update(_recommended(top, eps, bootstrap=bootstrap, seed=seed))
    if "given_regimen" in r.columns:
        out["observed_fluoropyrimidine"] = _observed(
            r, truth, fp, eps, tcols, bootstrap=bootstrap, seed=seed
        )
    keys = (held_keys if held_keys is not None else r)[KEYS].drop_duplicates()
    out["safety"] = _safety(r, top, keys, state, pt)
    out["summary"] = _summary(out["recommended_fluoropyrimidine"], out["safety"], any_severe_ae)
    return out


def _dose_columns(
    truth: pd.DataFrame, any_severe_ae: str, toxicities: Sequence[str]
) -> tuple[list[str], list[str]]:
    """The endpoints compared (``any_severe_ae`` first, those the ground truth has at the
    guideline dose) and the ground-truth columns read for them."""
    eps = [
        e
        for e in dict.fromkeys((any_severe_ae, *toxicities))
        if f"p_{e}_at_guideline_dose" in truth.columns
    ]
    tcols = [
        "relative_dose",
        "guideline_dose",
        *[f"p_{e}" for e in eps],
        *[f"p_{e}_at_guideline_dose" for e in eps],
    ]
    return eps, tcols


def _line_state(patients: pd.DataFrame, lines: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The lines' keys with ``uracil_ng_ml`` and the regimen practice gave
    (``given_regimen``), those present; the patients' keys with ``dpyd_activity_score``."""
    state = lines[[*KEYS, *[c for c in ("uracil_ng_ml", "regimen_id") if c in lines.columns]]]
    state = state.rename(columns={"regimen_id": "given_regimen"})
    pt = patients[["patient_key", *[c for c in ("dpyd_activity_score",) if c in patients.columns]]]
    return state, pt


def _deficient(f: pd.DataFrame, *, missing: Any = None) -> pd.Series:
    """Rows of a DPYD-deficient patient: activity score 0 or uracil >= 150 ng/mL (``missing``
    stands for an absent column)."""
    score = pd.to_numeric(f.get("dpyd_activity_score", missing), errors="coerce")
    ura = pd.to_numeric(f.get("uracil_ng_ml", missing), errors="coerce")
    return ((score == 0) | (ura >= 150)).fillna(False)


def _paired_doses(
    f: pd.DataFrame,
    ep: str,
    *,
    among: np.ndarray | None = None,
    bootstrap: int,
    seed: int,
) -> dict[str, Any]:
    """:func:`_paired` of ``ep``'s true probability at the guideline dose vs at practice's
    dose, on the rows of ``f`` (those of ``among``) where both are known."""
    a = f[f"p_{ep}_at_guideline_dose"].to_numpy(float)
    b = f[f"p_{ep}"].to_numpy(float)
    ok = np.isfinite(a) & np.isfinite(b)
    if among is not None:
        ok = ok & among
    g = f["patient_key"].to_numpy(dtype=object)
    return _paired(a[ok], b[ok], g[ok], bootstrap=bootstrap, seed=seed)


def _recommended(
    top: pd.DataFrame, eps: Sequence[str], *, bootstrap: int, seed: int
) -> dict[str, Any]:
    """Among the top regimens with a fluoropyrimidine: how many, the share whose
    recommended dose is the guideline dose, and per endpoint the paired comparison, all
    and DPYD carriers (``recommended_fluoropyrimidine``)."""
    sel = top[top["fluoropyrimidine"].to_numpy(bool)].copy()
    sel["recommended_dose"] = [dose_fraction(d) for d in sel["pgx_dose"]]
    agree = np.isclose(
        sel["recommended_dose"].to_numpy(float), sel["guideline_dose"].to_numpy(float)
    )
    carrier = (pd.to_numeric(sel.get("dpyd_activity_score"), errors="coerce") < 2).fillna(False)
    rec = {
        ep: {
            "all": _paired_doses(sel, ep, bootstrap=bootstrap, seed=seed),
            "dpyd_carriers": _paired_doses(
                sel, ep, among=carrier.to_numpy(bool), bootstrap=bootstrap, seed=seed
            ),
        }
        for ep in eps
    }
    return {
        "recommended_fluoropyrimidine_lines": int(len(sel)),
        "dose_agreement": _round(agree.mean()) if len(sel) else None,
        "recommended_fluoropyrimidine": rec,
    }


def _observed(
    r: pd.DataFrame,
    truth: pd.DataFrame,
    fp: set[str],
    eps: Sequence[str],
    tcols: Sequence[str],
    *,
    bootstrap: int,
    seed: int,
) -> dict[str, Any]:
    """The lines practice gave a fluoropyrimidine: how many, how many the guideline avoids,
    how many practice dosed below full, and per endpoint the paired comparison."""
    given = r[["patient_key", "line_number", "given_regimen"]].drop_duplicates(KEYS)
    given = given.rename(columns={"given_regimen": "regimen_id"})
    given = given[given["regimen_id"].astype("string").isin(fp).fillna(False)]
    obs = given.merge(truth[[*KEYS, "regimen_id", *tcols]], on=[*KEYS, "regimen_id"])
    out: dict[str, Any] = {
        "lines": int(len(obs)),
        "guideline_avoids": int(obs["guideline_dose"].isna().sum()),
        "practice_dose_below_full": int((obs["relative_dose"] < 1).sum()),
    }
    for ep in eps:
        out[ep] = _paired_doses(obs, ep, bootstrap=bootstrap, seed=seed)
    return out


def _safety(
    r: pd.DataFrame,
    top: pd.DataFrame,
    keys: pd.DataFrame,
    state: pd.DataFrame,
    pt: pd.DataFrame,
) -> dict[str, int]:
    """The safety floor's counts: deficient held-out lines (``keys``), those without any
    eligible regimen, and deficient lines offered or recommended a fluoropyrimidine."""
    ks = keys.merge(state, on=KEYS, how="left").merge(pt, on="patient_key", how="left")
    ks_def = _deficient(ks)
    ranked_keys = pd.MultiIndex.from_frame(r[KEYS].drop_duplicates())
    no_option = ~pd.MultiIndex.from_frame(ks[KEYS]).isin(ranked_keys)
    offered = _deficient(r, missing=np.nan).to_numpy(bool) & r["fluoropyrimidine"].to_numpy(bool)
    recommended = _deficient(top).to_numpy(bool) & top["fluoropyrimidine"].to_numpy(bool)
    return {
        "deficient_lines": int(ks_def.sum()),
        "deficient_lines_without_eligible_regimen": int((ks_def.to_numpy(bool) & no_option).sum()),
        "deficient_offered_fluoropyrimidine": int(offered.sum()),
        "deficient_recommended_fluoropyrimidine": int(recommended.sum()),
    }


def _summary(
    rec: Mapping[str, Any], safety: Mapping[str, int], any_severe_ae: str
) -> dict[str, Any]:
    """The study's summary on ``any_severe_ae``: recommended vs observed dosing, and
    whether no deficient patient was recommended a fluoropyrimidine."""
    ga = rec.get(any_severe_ae, {}).get("all", {})
    return {
        "recommended_lower_than_observed": bool(
            ga.get("difference") is not None and ga["difference"] < 0
        ),
        f"{any_severe_ae}_recommended": ga.get("recommended"),
        f"{any_severe_ae}_observed_dosing": ga.get("observed"),
        "no_deficient_patient_recommended": safety["deficient_recommended_fluoropyrimidine"] == 0,
    }


def held_out_dosing(
    features: pd.DataFrame,
    patients: pd.DataFrame,
    lines: pd.DataFrame,
    held_keys: pd.DataFrame,
    models: Mapping[str, Any],
    catalog: CatalogConfig,
    recommend: RecommendConfig,
    truth: pd.DataFrame,
    *,
    any_severe_ae: str | None,
    toxicities: Sequence[str],
    bootstrap: int = 500,
    seed: int = 13,
) -> dict[str, Any]:
    """:func:`dosing_study` of the recommender (``recommend``'s utility) on ``held_keys``:
    the held-out lines are ranked as the ``recommend`` stage ranks them."""
    from precision_onco.recommend.rank import rank_regimens

    held = features.merge(held_keys[KEYS].drop_duplicates(), on=KEYS)
    ranking = rank_regimens(held, patients, lines, models, catalog, recommend)
    out = dosing_study(
        ranking.ranked,
        truth,
        patients,
        lines,
        catalog,
        any_severe_ae=any_severe_ae,
        toxicities=toxicities,
        held_keys=held,
        bootstrap=bootstrap,
        seed=seed,
    )
    out["preset"] = recommend.preset
    return out
