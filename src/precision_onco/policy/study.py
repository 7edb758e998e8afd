"""The policy study of a cohort: recommender vs practice, guideline, random and the oracle.

:func:`policy_study` scores the held-out lines' eligible regimens with the
endpoint models, fits the propensity of practice on every line (cross-fitted by
patient), and evaluates the recommender's top choice under every utility
preset, observed practice, the guideline rule (the catalog's preferred eligible
regimen) and random choice among the eligible regimens — and, on a synthetic
cohort, the oracle. Given a second set of models trained the other way
(naive / propensity-weighted), it compares their recommendations side by side.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from precision_onco.catalog.catalog import Catalog
from precision_onco.config import Config, endpoint_roles
from precision_onco.config.schema import CatalogConfig, RecommendConfig
from precision_onco.models.data import endpoint_labels
from precision_onco.models.fit import EndpointModel
from precision_onco.models.propensity import Propensity, cross_fit_propensity, restrict_to
from precision_onco.policy.evaluate import (
    KEYS,
    Policy,
    PolicyProblem,
    build_problem,
    evaluate_policies,
    outcome_model_accuracy,
)
from precision_onco.policy.policies import guideline_scores, random_policy, weighted_sum
from precision_onco.recommend.rank import rank_regimens, supported

__all__ = [
    "StudyInputs",
    "estimator_settings",
    "policy_skip_reason",
    "policy_study",
    "prepare_study",
    "training_variant",
]

log = logging.getLogger(__name__)


def policy_skip_reason(features: pd.DataFrame, catalog: CatalogConfig) -> str | None:
    """Why a policy study would mean nothing for this cohort, or None: no regimen given, none
    of the given regimens in the catalog, or a single catalog regimen (every policy would
    choose it)."""
    if "regimen_id" not in features.columns or features["regimen_id"].isna().all():
        return "no regimen given in the cohort's lines: nothing to compare"
    given = set(features["regimen_id"].dropna().astype(str))
    known = given & {r.id for r in catalog.regimens}
    if not known:
        return (
            f"none of the cohort's regimens ({', '.join(sorted(given)[:6])}) is in the "
            f"therapy catalog {catalog.version}: choose a catalog that lists them "
            "(catalog=<name>)"
        )
    if len(known) < 2:
        return (
            f"the cohort received one catalog regimen only ({next(iter(known))}): every "
            "policy would choose it"
        )
    return None


def training_variant(propensity_weighting: bool) -> str:
    return "propensity_weighted" if propensity_weighting else "naive"


def _utility_weights(weights: Mapping[str, float], endpoints: list[str]) -> dict[str, float]:
    return {k: float(v) for k, v in weights.items() if k in endpoints and float(v) != 0.0}


def _problem(
    cfg: Config,
    held: pd.DataFrame,
    patients: pd.DataFrame,
    lines: pd.DataFrame,
    models: Mapping[str, EndpointModel],
    observed: pd.DataFrame,
    row_of: pd.Series,
    prop: Propensity,
    truth: pd.DataFrame | None,
) -> PolicyProblem:
    # every catalog-eligible regimen is a candidate (practice may have given any of them);
    # the recommender's policies choose among those the training data supports
    ranked = rank_regimens(
        held, patients, lines, models, cfg.catalog, cfg.recommend, check_support=False
    ).ranked
    line_index = row_of.reindex(pd.MultiIndex.from_frame(ranked[KEYS])).to_numpy(dtype=int)
    e = restrict_to(ranked, prop, line_index)
    problem = build_problem(ranked, observed, e, endpoints=list(models), truth=truth)
    cand = problem.candidates
    cancer = (
        cand[KEYS]
        .merge(held[[*KEYS, "cancer_type"]], on=KEYS, how="left")["cancer_type"]
        .astype("string")
        .fillna("")
        .to_numpy(dtype=object)
        if "cancer_type" in held.columns
        else np.full(len(cand), "", dtype=object)
    )
    cand["supported"] = supported(cancer, cand["regimen_id"].to_numpy(dtype=object), models)[0]
    return problem


def _recommenders(
    problem: PolicyProblem,
    presets: Mapping[str, RecommendConfig],
) -> dict[str, Policy]:
    out = {}
    for name, preset in sorted(presets.items()):
        w = _utility_weights(preset.weights, problem.endpoints)
        score = weighted_sum(problem.candidates, w, "mu_")
        if "supported" in problem.candidates.columns:  # unsupported regimens only as a last resort
            score = score - 1e6 * (~problem.candidates["supported"].to_numpy(bool))
        out[f"recommender_{name}"] = Policy(
            problem.policy_of(score), "recommender", detail={"preset": name}
        )
    return out


def _propensity_diagnostics(problem: PolicyProblem, clip: float) -> dict[str, Any]:
    cand = problem.candidates
    g = problem.lines["given_row"].to_numpy()
    e_given = cand["propensity"].to_numpy()[g[g >= 0]]
    out: dict[str, Any] = {
        "model": "multiclass LightGBM, cross-fitted over patient-grouped folds, renormalized "
        "over each line's eligible regimens",
        "given_not_eligible": int((g < 0).sum()),
        "clipped_share": round(float((e_given < clip).mean()), 4) if len(e_given) else None,
        "given_propensity_quantiles": {
            q: round(float(np.quantile(e_given, q / 100)), 4) for q in (1, 5, 25, 50)
        }
        if len(e_given)
        else {},
    }
    if "p_choice" in cand.columns and cand["p_choice"].notna().all():
        err = cand["propensity"].to_numpy() - cand["p_choice"].to_numpy()
        out["mae_vs_true_choice"] = round(float(np.abs(err).mean()), 4)
        out["log_loss"] = round(float(-np.log(np.maximum(e_given, 1e-12)).mean()), 4)
        out["log_loss_true_choice"] = round(
            float(-np.log(np.maximum(cand["p_choice"].to_numpy()[g[g >= 0]], 1e-12)).mean()), 4
        )
    return out


def _variant_summary(
    res: dict[str, Any], accuracy: Mapping[str, Any], outcomes: Mapping[str, Any]
) -> dict[str, Any]:
    pols = res["policies"]
    keep = ("regret", "normalized_regret", "top1_agreement_oracle", "concordance_with_practice")
    summary = {}
    for name, p in pols.items():
        if p["kind"] != "recommender":
            continue
        summary[name] = {k: p[k] for k in keep if k in p}
        for outcome in outcomes:
            if outcome in p:
                b = p[outcome]
                summary[name][outcome] = {
                    k: b[k] for k in ("true", "dr", "dr_low", "dr_high") if k in b
                }
    return {"recommenders": summary, "outcome_model_error": accuracy}


@dataclass
class StudyInputs:
    """What every estimate of the study reads: the problem (candidates, lines), the
    policies and outcomes, and what a second set of models needs to be scored alike."""

    problem: PolicyProblem
    policies: dict[str, Policy]
    outcomes: dict[str, dict[str, float]]
    held: pd.DataFrame
    observed: pd.DataFrame
    row_of: pd.Series
    propensity: Propensity


def prepare_study(
    cfg: Config,
    features: pd.DataFrame,
    patients: pd.DataFrame,
    lines: pd.DataFrame,
    held_keys: pd.DataFrame,
    models: Mapping[str, EndpointModel],
    presets: Mapping[str, RecommendConfig],
    *,
    truth: pd.DataFrame | None = None,
) -> StudyInputs:
    """Fit the propensity of practice, score the held-out candidates, build the policies.

    Parameters are those of :func:`policy_study`.
    """
    pc = cfg.policy
    feats = features.reset_index(drop=True)
    state_cols = [c for c in feats.columns if c not in (*KEYS, "regimen_id")]
    given = feats["regimen_id"] if "regimen_id" in feats.columns else pd.Series([None] * len(feats))
    prop = cross_fit_propensity(
        feats,
        state_cols,
        given,
        feats["patient_key"].astype(str),
        cfg.propensity,
        seed=pc.seed,
        n_jobs=pc.n_jobs,
    )
    row_of = pd.Series(np.arange(len(feats)), index=pd.MultiIndex.from_frame(feats[KEYS]))
    held = feats.merge(held_keys[KEYS].drop_duplicates(), on=KEYS)
    data = held.merge(lines, on=KEYS, how="left", suffixes=("", "__line"))
    labels, _ = endpoint_labels(data, cfg.endpoints)
    observed = pd.concat([held[[*KEYS, "regimen_id"]], labels.reset_index(drop=True)], axis=1)
    problem = _problem(cfg, held, patients, lines, models, observed, row_of, prop, truth)
    cat = Catalog(cfg.catalog)
    cand = problem.candidates
    policies = _recommenders(problem, presets)
    policies["practice"] = Policy(
        cand["propensity"].to_numpy(),
        "practice",
        true_pi=cand["p_choice"].to_numpy() if "p_choice" in cand.columns else None,
    )
    policies["guideline"] = Policy(
        problem.policy_of(
            guideline_scores(
                cand["regimen_id"],
                {r.id: r.preference for r in cat.regimens},
                {r: j for j, r in enumerate(cat.regimen_ids)},
            )
        ),
        "guideline",
    )
    policies["random"] = Policy(random_policy(cand["line"].to_numpy()), "random")
    utility = _utility_weights(cfg.recommend.weights, problem.endpoints)
    if problem.has_truth:
        policies["oracle"] = Policy(
            problem.policy_of(weighted_sum(cand, utility, "truth_")), "oracle"
        )
    outcomes: dict[str, dict[str, float]] = {
        ep: {ep: 1.0} for ep in endpoint_roles(cfg.endpoints).headline if ep in problem.endpoints
    }
    outcomes["utility"] = utility
    return StudyInputs(problem, policies, outcomes, held, observed, row_of, prop)


def estimator_settings(cfg: Config) -> dict[str, Any]:
    """The keyword arguments of :func:`evaluate_policies` from ``cfg.policy``."""
    pc = cfg.policy
    return {
        "clip": pc.clip,
        "low_propensity": pc.low_propensity,
        "n_boot": pc.bootstrap,
        "level": pc.level,
        "seed": pc.seed,
    }


def policy_study(
    cfg: Config,
    features: pd.DataFrame,
    patients: pd.DataFrame,
    lines: pd.DataFrame,
    held_keys: pd.DataFrame,
    models: Mapping[str, EndpointModel],
    presets: Mapping[str, RecommendConfig],
    *,
    truth: pd.DataFrame | None = None,
    alternative: Mapping[str, EndpointModel] | None = None,
) -> dict[str, Any]:
    """Off-policy (and, with ``truth``, true) evaluation of the policies on ``held_keys``.

    Parameters
    ----------
    features, patients, lines
        The cohort's feature, patient and line tables (every line: the propensity is fitted
        on all of them, cross-fitted by patient).
    held_keys : DataFrame
        Keys of the held-out lines evaluated.
    models : mapping
        Endpoint models of this run; ``alternative``: models trained the other way
        (naive vs propensity-weighted), compared side by side when given.
    presets : mapping
        Utility presets; a recommender policy per preset, ``cfg.recommend`` is the utility.
    truth : DataFrame, optional
        Synthetic cohorts: true probabilities and choice probabilities per eligible regimen.
    """
    inputs = prepare_study(cfg, features, patients, lines, held_keys, models, presets, truth=truth)
    problem, policies, outcomes = inputs.problem, inputs.policies, inputs.outcomes
    kw = estimator_settings(cfg)
    out = evaluate_policies(problem, policies, outcomes, **kw)
    out["utility_preset"] = cfg.recommend.preset
    out["outcomes"] = outcomes
    out["propensity"] = _propensity_diagnostics(problem, cfg.policy.clip)
    out["summary"] = _summary(out, f"recommender_{cfg.recommend.preset}")
    used = training_variant(cfg.model.propensity_weighting)
    training = {
        "used": used,
        used: _variant_summary(out, outcome_model_accuracy(problem), outcomes),
    }
    if alternative:
        alt = _problem(
            cfg,
            inputs.held,
            patients,
            lines,
            alternative,
            inputs.observed,
            inputs.row_of,
            inputs.propensity,
            truth,
        )
        alt_pols = _recommenders(alt, presets)
        if alt.has_truth:
            alt_pols["oracle"] = policies["oracle"]
        alt_res = evaluate_policies(alt, alt_pols, outcomes, **kw)
        training[training_variant(not cfg.model.propensity_weighting)] = _variant_summary(
            alt_res, outcome_model_accuracy(alt), outcomes
        )
    out["training"] = training
    return out


def _summary(res: dict[str, Any], default: str) -> dict[str, Any]:
    """The issue's questions in one place: does the default recommender beat practice and
    the guideline rule (true value when known, else the DR estimate), its normalized
    regret, and whether the simultaneous DR bands cover every true value (the marginal
    95 % intervals are counted too: about 1 in 20 misses by design)."""
    pols = res["policies"]
    if default not in pols:
        return {}
    key = "true" if "true" in pols[default]["utility"] else "dr"

    def v(name: str) -> float:  # NaN when a policy or its estimate is missing
        x = pols.get(name, {}).get("utility", {}).get(key)
        return float("nan") if x is None else float(x)

    gain = v(default) - v("practice")
    out: dict[str, Any] = {
        "policy": default,
        "on": key,
        "beats_practice": bool(v(default) > v("practice")),
        "beats_guideline": bool(v(default) > v("guideline")),
        "gain_over_practice": round(gain, 4) if np.isfinite(gain) else None,
    }
    u = pols[default]["utility"]
    if u.get("dr_vs_practice_low") is not None and u.get("dr_vs_practice_high") is not None:
        # what the observed outcomes alone say about the gain
        out["dr_gain_over_practice"] = [
            u["dr_vs_practice"],
            u["dr_vs_practice_low"],
            u["dr_vs_practice_high"],
        ]
    if key == "true":
        out["normalized_regret"] = pols[default]["normalized_regret"]
        blocks = [(f"{p}.{o}", r[o]) for p, r in pols.items() for o in res["outcomes"]]
        out["dr_covers_all"] = all(b["dr_sim_covers"] for _, b in blocks)
        out["dr_simultaneous_misses"] = [k for k, b in blocks if not b["dr_sim_covers"]]
        out["dr_marginal_covered"] = f"{sum(b['dr_covers'] for _, b in blocks)} of {len(blocks)}"
        out["dr_marginal_misses"] = [k for k, b in blocks if not b["dr_covers"]]
    return out
