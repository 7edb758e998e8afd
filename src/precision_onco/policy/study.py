"""The policy study of a cohort: recommender vs practice, guideline, random and the oracle.

:func:`study_policies` scores the held-out lines' eligible regimens with the
endpoint models, fits the propensity of practice on every line (cross-fitted by
patient), and evaluates the recommender's top choice under every utility
preset, observed practice, the guideline rule (the catalog's preferred eligible
regimen) and random choice among the eligible regimens — and, on a synthetic
cohort, the oracle. Given a second set of models trained the other way
(naive / propensity-weighted), it compares their recommendations side by side.
It returns a :class:`PolicyStudy` of frozen, unrounded results; its ``as_json``
is what the `policy` stage writes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
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
    Evaluation,
    ModelError,
    Policy,
    PolicyProblem,
    build_problem,
    estimate_policies,
    model_errors,
)
from precision_onco.policy.policies import guideline_scores, random_policy, weighted_sum
from precision_onco.recommend.rank import rank_regimens, supported

__all__ = [
    "PolicyStudy",
    "PropensityDiagnostics",
    "StudyInputs",
    "TrainingVariant",
    "estimator_settings",
    "policy_skip_reason",
    "prepare_study",
    "study_policies",
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


@dataclass(frozen=True)
class PropensityDiagnostics:
    """How well the propensity of practice is fitted: lines whose given regimen was not
    eligible, the share of given regimens below the clip and their propensity quantiles;
    on a synthetic cohort, its error against the true choice probabilities and log loss."""

    given_not_eligible: int
    clipped_share: float | None
    given_quantiles: Mapping[int, float]
    mae_vs_true_choice: float | None = None
    log_loss: float | None = None
    log_loss_true_choice: float | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": "multiclass LightGBM, cross-fitted over patient-grouped folds, "
            "renormalized over each line's eligible regimens",
            "given_not_eligible": self.given_not_eligible,
            "clipped_share": None if self.clipped_share is None else round(self.clipped_share, 4),
            "given_propensity_quantiles": {q: round(v, 4) for q, v in self.given_quantiles.items()},
        }
        if self.mae_vs_true_choice is not None:
            out["mae_vs_true_choice"] = round(self.mae_vs_true_choice, 4)
            out["log_loss"] = None if self.log_loss is None else round(self.log_loss, 4)
            out["log_loss_true_choice"] = (
                None if self.log_loss_true_choice is None else round(self.log_loss_true_choice, 4)
            )
        return out


def _propensity_diagnostics(problem: PolicyProblem, clip: float) -> PropensityDiagnostics:
    cand = problem.candidates
    g = problem.lines["given_row"].to_numpy()
    e_given = cand["propensity"].to_numpy()[g[g >= 0]]
    known = bool(len(e_given))
    diagnostics = PropensityDiagnostics(
        given_not_eligible=int((g < 0).sum()),
        clipped_share=float((e_given < clip).mean()) if known else None,
        given_quantiles={q: float(np.quantile(e_given, q / 100)) for q in (1, 5, 25, 50)}
        if known
        else {},
    )
    if "p_choice" not in cand.columns or not cand["p_choice"].notna().all():
        return diagnostics
    err = cand["propensity"].to_numpy() - cand["p_choice"].to_numpy()
    p_true = cand["p_choice"].to_numpy()[g[g >= 0]]
    return replace(
        diagnostics,
        mae_vs_true_choice=float(np.abs(err).mean()),
        log_loss=float(-np.log(np.maximum(e_given, 1e-12)).mean()),
        log_loss_true_choice=float(-np.log(np.maximum(p_true, 1e-12)).mean()),
    )


def _variant_summary(
    res: Mapping[str, Any], accuracy: Mapping[str, Any], outcomes: Mapping[str, Any]
) -> dict[str, Any]:
    """One training variant's written recommender figures and its outcome models' error."""
    keep = ("regret", "normalized_regret", "top1_agreement_oracle", "concordance_with_practice")
    values = ("true", "dr", "dr_low", "dr_high")

    def row(p: Mapping[str, Any]) -> dict[str, Any]:
        return {
            **{k: p[k] for k in keep if k in p},
            **{o: {k: p[o][k] for k in values if k in p[o]} for o in outcomes if o in p},
        }

    recommenders = {
        name: row(p) for name, p in res["policies"].items() if p["kind"] == "recommender"
    }
    return {"recommenders": recommenders, "outcome_model_error": accuracy}


@dataclass(frozen=True)
class TrainingVariant:
    """The recommenders' evaluation with endpoint models trained one way (naive or
    propensity-weighted), and those models' error against the truth."""

    evaluation: Evaluation
    model_error: Mapping[str, ModelError]

    def as_json(self, outcomes: Mapping[str, Any]) -> dict[str, Any]:
        accuracy = {ep: e.as_json() for ep, e in self.model_error.items()}
        return _variant_summary(self.evaluation.as_json(), accuracy, outcomes)


@dataclass(frozen=True)
class PolicyStudy:
    """The policy study's results, unrounded: every policy's evaluation, the outcomes and
    utility preset, the propensity's diagnostics and the training variants (``used``
    first). :meth:`as_json` writes them (``reports/policy.json``)."""

    evaluation: Evaluation
    utility_preset: str
    outcomes: Mapping[str, Mapping[str, float]]
    propensity: PropensityDiagnostics
    used: str
    variants: Mapping[str, TrainingVariant]

    def as_json(self) -> dict[str, Any]:
        written = {
            **self.evaluation.as_json(),
            "utility_preset": self.utility_preset,
            "outcomes": {k: dict(v) for k, v in self.outcomes.items()},
            "propensity": self.propensity.as_json(),
        }
        return {
            **written,
            "summary": _summary(written, f"recommender_{self.utility_preset}"),
            "training": {
                "used": self.used,
                **{name: v.as_json(self.outcomes) for name, v in self.variants.items()},
            },
        }


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

    Parameters are those of :func:`study_policies`.
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


def study_policies(
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
) -> PolicyStudy:
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
    evaluation = estimate_policies(problem, policies, outcomes, **kw)
    used = training_variant(cfg.model.propensity_weighting)
    variants = {used: TrainingVariant(evaluation, model_errors(problem))}
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
        variants[training_variant(not cfg.model.propensity_weighting)] = TrainingVariant(
            estimate_policies(alt, alt_pols, outcomes, **kw), model_errors(alt)
        )
    return PolicyStudy(
        evaluation=evaluation,
        utility_preset=cfg.recommend.preset,
        outcomes=outcomes,
        propensity=_propensity_diagnostics(problem, cfg.policy.clip),
        used=used,
        variants=variants,
    )


def _summary(res: Mapping[str, Any], default: str) -> dict[str, Any]:
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
