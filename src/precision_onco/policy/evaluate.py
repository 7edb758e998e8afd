"""Does following the recommendations help? Every policy's value on held-out lines.

:func:`build_problem` lines up, for each held-out line, its candidate regimens
(outcome-model probabilities ``mu``, the cross-fitted propensity of practice,
and — on a synthetic cohort — the true probabilities), the regimen actually
given and the observed outcomes. :func:`estimate_policies` then estimates each
policy's value from the observed outcomes (IPW and doubly robust, patient
bootstrap CIs), with overlap diagnostics, and, when the truth is known, its true
value, the oracle's and top-1 agreement with the oracle: an :class:`Evaluation`
of frozen, unrounded values. :meth:`Evaluation.as_json` (what
:func:`evaluate_policies` returns) writes them rounded, with the regret, normalized
regret and whether each CI covers the truth computed on the written figures.

Outcomes are linear in the endpoints (``{"response": 1}``, a utility's weights),
so one set of per-endpoint arrays serves all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from precision_onco.policy.ope import bootstrap_rows, normalized_regret, policy_dr, policy_ipw
from precision_onco.policy.policies import argmax_policy, random_policy, weighted_sum

__all__ = [
    "Evaluation",
    "Interval",
    "ModelError",
    "OutcomeValue",
    "Policy",
    "PolicyProblem",
    "PolicyValues",
    "build_problem",
    "estimate_policies",
    "evaluate_policies",
    "model_errors",
    "outcome_model_accuracy",
]

KEYS = ["patient_key", "line_number"]


@dataclass(frozen=True)
class Policy:
    """``pi``: probability of each candidate row; ``true_pi``: the policy's real choice
    probabilities when ``pi`` only estimates them (observed practice)."""

    pi: np.ndarray
    kind: str
    true_pi: np.ndarray | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PolicyProblem:
    """``candidates``: one row per (line, candidate regimen) with ``line`` (row of
    ``lines``), ``regimen_id``, ``mu_<ep>``, ``propensity`` and, when known, ``truth_<ep>``
    and ``p_choice``. ``lines``: one row per line with keys, ``given_row`` (candidate row
    of the regimen given, -1 when it was not a candidate) and ``y_<ep>`` outcomes."""

    candidates: pd.DataFrame
    lines: pd.DataFrame
    endpoints: list[str]
    has_truth: bool

    def policy_of(self, score: np.ndarray) -> np.ndarray:
        """The deterministic policy taking each line's highest ``score``."""
        return argmax_policy(self.candidates["line"].to_numpy(), score)


def build_problem(
    scores: pd.DataFrame,
    observed: pd.DataFrame,
    propensity: np.ndarray,
    *,
    endpoints: list[str],
    truth: pd.DataFrame | None = None,
) -> PolicyProblem:
    """Line up candidates, propensity, outcomes and (optionally) the truth.

    Parameters
    ----------
    scores : DataFrame
        One row per (patient_key, line_number, regimen_id) candidate with ``p_<ep>``
        probabilities from the outcome models.
    observed : DataFrame
        One row per line: keys, ``regimen_id`` given and one 0/1 column per endpoint
        (missing when unknown).
    propensity : ndarray
        P(candidate | line state) under practice, aligned with ``scores``.
    truth : DataFrame, optional
        Synthetic cohorts: ``p_<ep>`` (and ``p_choice``) per (line, regimen).
    """
    missing = [f"p_{ep}" for ep in endpoints if f"p_{ep}" not in scores.columns]
    if missing:
        raise ValueError(
            f"scores: no column {', '.join(missing)} (outcome model probabilities "
            "of every endpoint evaluated)"
        )
    if len(propensity) != len(scores):
        raise ValueError(f"propensity: {len(propensity)} values for {len(scores)} candidates")
    lines = (
        observed[[*KEYS, "regimen_id"]]
        .reset_index(drop=True)
        .rename(columns={"regimen_id": "given"})
    )
    for ep in endpoints:
        lines[f"y_{ep}"] = observed[ep].to_numpy(dtype=float) if ep in observed.columns else np.nan
    line_of = pd.Series(np.arange(len(lines)), index=pd.MultiIndex.from_frame(lines[KEYS]))
    cand = scores[[*KEYS, "regimen_id"]].reset_index(drop=True)
    idx = pd.MultiIndex.from_frame(cand[KEYS])
    cand["line"] = line_of.reindex(idx).to_numpy()
    keep = np.isfinite(cand["line"].to_numpy(dtype=float))
    for ep in endpoints:
        cand[f"mu_{ep}"] = scores[f"p_{ep}"].to_numpy(dtype=float)
    cand["propensity"] = np.asarray(propensity, dtype=float)
    cand = cand[keep].astype({"line": int}).sort_values(["line", "regimen_id"], kind="stable")
    cand = cand.reset_index(drop=True)
    has_truth = truth is not None
    if truth is not None:
        cols = [c for c in (*(f"p_{ep}" for ep in endpoints), "p_choice") if c in truth.columns]
        t = cand[[*KEYS, "regimen_id"]].merge(
            truth[[*KEYS, "regimen_id", *cols]], how="left", on=[*KEYS, "regimen_id"]
        )
        for c in cols:
            cand[c.replace("p_", "truth_", 1) if c != "p_choice" else c] = t[c].to_numpy()
        has_truth = all(
            f"truth_{ep}" in cand.columns and cand[f"truth_{ep}"].notna().all() for ep in endpoints
        )
    pos = pd.Series(
        np.arange(len(cand)),
        index=pd.MultiIndex.from_arrays(
            [cand["line"].to_numpy(), cand["regimen_id"].astype(str).to_numpy()]
        ),
    )
    given_idx = pd.MultiIndex.from_arrays([np.arange(len(lines)), lines["given"].astype(str)])
    lines["given_row"] = pos.reindex(given_idx).fillna(-1).to_numpy(dtype=int)
    return PolicyProblem(cand, lines, list(endpoints), has_truth)


def _per_line(problem: PolicyProblem, values: np.ndarray) -> np.ndarray:
    return np.bincount(
        problem.candidates["line"].to_numpy(), weights=values, minlength=len(problem.lines)
    )


def _at_given(problem: PolicyProblem, values: np.ndarray, default: float) -> np.ndarray:
    g = problem.lines["given_row"].to_numpy()
    return np.where(g >= 0, np.asarray(values, dtype=float)[np.maximum(g, 0)], default)


def _ipw_rows(
    rows: np.ndarray,
    *,
    y: np.ndarray,
    ok: np.ndarray,
    pi_given: np.ndarray,
    e_given: np.ndarray,
    clip: float,
) -> float:
    r = rows[ok[rows]]
    return policy_ipw(y[r], pi_given[r], e_given[r], clip=clip)


def _dr_rows(
    rows: np.ndarray,
    *,
    y: np.ndarray,
    ok: np.ndarray,
    pi_given: np.ndarray,
    e_given: np.ndarray,
    mu_pi: np.ndarray,
    mu_given: np.ndarray,
    clip: float,
) -> float:
    r = rows[ok[rows]]
    return policy_dr(y[r], pi_given[r], e_given[r], mu_pi[r], mu_given[r], clip=clip)


def _r(x: float) -> float | None:
    return round(float(x), 4) if np.isfinite(x) else None


def _covers(low: float | None, high: float | None, value: float | None) -> bool:
    return bool(low is not None and high is not None and value is not None and low <= value <= high)


@dataclass(frozen=True)
class Interval:
    """An estimate and the bounds of its interval (NaN where unknown)."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class OutcomeValue:
    """One policy's value for one outcome: IPW and DR estimates with their marginal
    percentile intervals, the outcome model's value and, when known, the true value.

    ``ipw_sim``/``dr_sim``: simultaneous bands (None when the estimator has none);
    ``vs_reference``: the DR value minus the reference policy's, with its paired interval
    (None for the reference itself or without one).
    """

    n: int
    ipw: Interval
    dr: Interval
    outcome_model: float
    true: float | None = None
    ipw_sim: Interval | None = None
    dr_sim: Interval | None = None
    vs_reference: Interval | None = None


@dataclass(frozen=True)
class PolicyValues:
    """One policy's overlap diagnostics and its value for every outcome."""

    kind: str
    detail: Mapping[str, Any]
    concordance_with_practice: float
    low_propensity_share: float
    effective_sample_size: float
    matched_lines: int
    outcomes: Mapping[str, OutcomeValue]
    top1_agreement_oracle: float | None = None


@dataclass(frozen=True)
class Evaluation:
    """Every policy's values on one problem, unrounded; :meth:`as_json` writes them.

    ``oracle``/``random``: true value of the oracle and of random choice on ``utility``
    (None when the truth is unknown); ``simultaneous_quantile``: the max-|t| quantile per
    estimator (None when no estimate has a spread).
    """

    lines: int
    patients: int
    clip: float
    low_propensity: float
    bootstrap: int
    level: float
    policies: Mapping[str, PolicyValues]
    simultaneous_quantile: Mapping[str, float | None]
    utility: str
    reference: str | None = None
    oracle: float | None = None
    random: float | None = None

    def regret(self, name: str) -> float:
        """True value of the oracle minus that of policy ``name`` on ``utility`` (NaN
        without the truth)."""
        true = self.policies[name].outcomes[self.utility].true
        if self.oracle is None or true is None:
            return float("nan")
        return self.oracle - true

    def as_json(self) -> dict[str, Any]:
        """The written results: every figure to 4 decimals (the simultaneous quantiles to 3).

        What compares written figures is computed on the written figures, so that a
        reader checking the file finds the same: the regret and normalized regret (the
        oracle's is 0), the true difference with the reference policy, and whether each
        interval covers the true value.
        """
        ref = self.reference
        policies = {
            name: _policy_json(p, self.policies[ref] if ref is not None else None, ref)
            for name, p in self.policies.items()
        }
        out: dict[str, Any] = {
            "lines": self.lines,
            "patients": self.patients,
            "clip": self.clip,
            "low_propensity": self.low_propensity,
            "bootstrap": self.bootstrap,
            "level": self.level,
            "policies": policies,
            "simultaneous_quantile": {
                est: None if c is None else round(c, 3)
                for est, c in self.simultaneous_quantile.items()
            },
        }
        if self.oracle is None or self.random is None:
            return out
        v_oracle, v_random = round(self.oracle, 4), round(self.random, 4)
        out["oracle"] = {self.utility: _r(v_oracle)}
        out["random"] = {self.utility: _r(v_random)}
        out["policies"] = {
            name: {**p, **_regret_json(p[self.utility]["true"], v_oracle, v_random)}
            for name, p in policies.items()
        }
        return out


def _regret_json(v: float | None, v_oracle: float, v_random: float) -> dict[str, float | None]:
    if v is None:
        return {"regret": None, "normalized_regret": None}
    return {
        "regret": _r(v_oracle - v),
        "normalized_regret": _r(normalized_regret(v, v_oracle, v_random)),
    }


def _policy_json(p: PolicyValues, ref: PolicyValues | None, reference: str | None) -> dict:
    res: dict[str, Any] = {
        "kind": p.kind,
        **p.detail,
        "concordance_with_practice": _r(p.concordance_with_practice),
        "low_propensity_share": _r(p.low_propensity_share),
        "effective_sample_size": _r(p.effective_sample_size),
        "matched_lines": p.matched_lines,
    }
    if p.top1_agreement_oracle is not None:
        res["top1_agreement_oracle"] = _r(p.top1_agreement_oracle)
    for oname, v in p.outcomes.items():
        ref_true = ref.outcomes[oname].true if ref is not None else None
        res[oname] = _outcome_json(v, None if ref_true is None else _r(ref_true), reference)
    return res


def _outcome_json(v: OutcomeValue, ref_true: float | None, reference: str | None) -> dict:
    block: dict[str, Any] = {
        "n": v.n,
        "ipw": _r(v.ipw.value),
        "ipw_low": _r(v.ipw.low),
        "ipw_high": _r(v.ipw.high),
        "dr": _r(v.dr.value),
        "dr_low": _r(v.dr.low),
        "dr_high": _r(v.dr.high),
        "outcome_model": _r(v.outcome_model),
    }
    if v.true is not None:
        block["true"] = _r(v.true)
    if v.ipw_sim is not None:
        block["ipw_sim_low"], block["ipw_sim_high"] = _r(v.ipw_sim.low), _r(v.ipw_sim.high)
    if v.dr_sim is not None:
        block["dr_sim_low"], block["dr_sim_high"] = _r(v.dr_sim.low), _r(v.dr_sim.high)
    if v.vs_reference is not None and reference is not None:
        d = v.vs_reference
        key = f"dr_vs_{reference}"
        block.update({key: _r(d.value), f"{key}_low": _r(d.low), f"{key}_high": _r(d.high)})
        if block.get("true") is not None and ref_true is not None:
            diff = _r(block["true"] - ref_true)
            block[f"true_vs_{reference}"] = diff
            # the written difference inside the paired interval
            block[f"{key}_covers"] = bool(
                diff is not None and np.isfinite(d.low) and d.low <= diff <= d.high
            )
    if "true" in block:
        t = block["true"]
        block["ipw_covers"] = _covers(block["ipw_low"], block["ipw_high"], t)
        block["dr_covers"] = _covers(block["dr_low"], block["dr_high"], t)
        block["ipw_sim_covers"] = _covers(block.get("ipw_sim_low"), block.get("ipw_sim_high"), t)
        block["dr_sim_covers"] = _covers(block.get("dr_sim_low"), block.get("dr_sim_high"), t)
    return block


def evaluate_policies(
    problem: PolicyProblem,
    policies: Mapping[str, Policy],
    outcomes: Mapping[str, Mapping[str, float]],
    **settings: Any,
) -> dict[str, Any]:
    """The written results of :func:`estimate_policies` (same arguments):
    :meth:`Evaluation.as_json`."""
    return estimate_policies(problem, policies, outcomes, **settings).as_json()


def _draws(
    est: Callable[[np.ndarray], float], every: np.ndarray, resamples: list[np.ndarray]
) -> tuple[float, np.ndarray]:
    return est(every), np.array([est(r) for r in resamples])


def _percentile(boots: np.ndarray, alpha: float) -> tuple[float, float]:
    fin = boots[np.isfinite(boots)]
    if not len(fin):
        return float("nan"), float("nan")
    lo, hi = np.quantile(fin, [alpha, 1 - alpha])
    return float(lo), float(hi)


def estimate_policies(
    problem: PolicyProblem,
    policies: Mapping[str, Policy],
    outcomes: Mapping[str, Mapping[str, float]],
    *,
    utility: str = "utility",
    clip: float = 0.01,
    low_propensity: float = 0.05,
    n_boot: int = 500,
    level: float = 0.95,
    seed: int = 0,
    reference: str | None = "practice",
) -> Evaluation:
    """Estimated (and, with the truth, true) value of every policy for every outcome.

    Parameters
    ----------
    policies : mapping
        Name -> :class:`Policy` over ``problem.candidates``.
    outcomes : mapping
        Name -> endpoint weights (``{"response": 1.0}``; a utility preset's weights).
    utility : str
        The outcome whose oracle defines regret (the best candidate by its true value).
    clip, low_propensity
        Propensity floor of the weights; overlap threshold.
    n_boot, level, seed
        Patient bootstrap resamples shared by every estimate, CI level, seed.
    reference : str, optional
        A policy every other is compared with (paired: the same resamples), as
        ``dr_vs_<reference>`` with its interval (and the true difference).

    Returns
    -------
    Evaluation
        Per policy, overlap diagnostics, per-outcome IPW and DR estimates with marginal
        and simultaneous intervals (and the truth), top-1 agreement with the oracle; the
        oracle's and random choice's true value on ``utility``. Unrounded.
    """
    cand, lines = problem.candidates, problem.lines
    line = cand["line"].to_numpy()
    e = cand["propensity"].to_numpy(dtype=float)
    e_given = _at_given(problem, e, 1.0)
    resamples = bootstrap_rows(
        lines["patient_key"].astype(str).to_numpy(), n_boot=n_boot, seed=seed
    )
    alpha = (1 - level) / 2
    oracle_pi = None
    if problem.has_truth and utility in outcomes:
        oracle_pi = argmax_policy(line, weighted_sum(cand, outcomes[utility], "truth_"))
    arrays = {name: _outcome_arrays(problem, weights) for name, weights in outcomes.items()}
    values: dict[str, PolicyValues] = {}
    draws: dict[tuple[str, str, str], tuple[float, np.ndarray]] = {}
    for pname, pol in policies.items():
        pi_given = _at_given(problem, pol.pi, 0.0)
        w = pi_given / np.maximum(e_given, clip)
        per_outcome = {}
        for oname, outcome in arrays.items():
            value, ipw_draws, dr_draws = _outcome_value(
                problem, pol, outcome, pi_given, e_given, clip, resamples, alpha
            )
            per_outcome[oname] = value
            draws[(pname, oname, "ipw")], draws[(pname, oname, "dr")] = ipw_draws, dr_draws
        values[pname] = PolicyValues(
            kind=pol.kind,
            detail=dict(pol.detail),
            concordance_with_practice=float(pi_given.mean()),
            low_propensity_share=float(_per_line(problem, pol.pi * (e < low_propensity)).mean()),
            effective_sample_size=float(w.sum() ** 2 / max((w**2).sum(), 1e-12)),
            matched_lines=int((pi_given > 0).sum()),
            outcomes=per_outcome,
            top1_agreement_oracle=None
            if oracle_pi is None
            else float(_per_line(problem, pol.pi * oracle_pi).mean()),
        )
    quantiles, bands = _simultaneous(draws, level)
    ref = reference if reference in values else None
    paired = _paired(draws, ref, alpha) if ref is not None else {}
    values = _with_bands(values, bands, paired)
    v_oracle = v_random = None
    if oracle_pi is not None:  # the truth is known: arrays[utility] holds it
        _, ok, _, _, truth = arrays[utility]
        assert truth is not None
        v_oracle = float(_per_line(problem, oracle_pi * truth)[ok].mean())
        v_random = float(_per_line(problem, random_policy(line) * truth)[ok].mean())
    return Evaluation(
        lines=len(lines),
        patients=int(lines["patient_key"].nunique()),
        clip=clip,
        low_propensity=low_propensity,
        bootstrap=n_boot,
        level=level,
        policies=values,
        simultaneous_quantile=quantiles,
        utility=utility,
        reference=ref,
        oracle=v_oracle,
        random=v_random,
    )


def _outcome_value(
    problem: PolicyProblem,
    pol: Policy,
    outcome: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None],
    pi_given: np.ndarray,
    e_given: np.ndarray,
    clip: float,
    resamples: list[np.ndarray],
    alpha: float,
) -> tuple[OutcomeValue, tuple[float, np.ndarray], tuple[float, np.ndarray]]:
    """One policy's value for one outcome (its :func:`_outcome_arrays`), with the IPW and
    DR point estimates and bootstrap draws the simultaneous and paired intervals read."""
    y, ok, mu, mu_given, truth = outcome
    mu_pi = _per_line(problem, pol.pi * mu)
    ipw = partial(_ipw_rows, y=y, ok=ok, pi_given=pi_given, e_given=e_given, clip=clip)
    dr = partial(
        _dr_rows,
        y=y,
        ok=ok,
        pi_given=pi_given,
        e_given=e_given,
        mu_pi=mu_pi,
        mu_given=mu_given,
        clip=clip,
    )
    every = np.arange(len(problem.lines))
    ipw_draws, dr_draws = _draws(ipw, every, resamples), _draws(dr, every, resamples)
    true = None
    if truth is not None:
        tpi = pol.true_pi if pol.true_pi is not None else pol.pi
        true = float(_per_line(problem, tpi * truth)[ok].mean())
    value = OutcomeValue(
        n=int(ok.sum()),
        ipw=Interval(ipw_draws[0], *_percentile(ipw_draws[1], alpha)),
        dr=Interval(dr_draws[0], *_percentile(dr_draws[1], alpha)),
        outcome_model=float(mu_pi[ok].mean()),
        true=true,
    )
    return value, ipw_draws, dr_draws


def _with_bands(
    values: Mapping[str, PolicyValues],
    bands: Mapping[tuple[str, str, str], Interval],
    paired: Mapping[tuple[str, str], Interval],
) -> dict[str, PolicyValues]:
    """The policies' values with their simultaneous bands and paired differences."""

    def one(pname: str, oname: str, v: OutcomeValue) -> OutcomeValue:
        return replace(
            v,
            ipw_sim=bands.get((pname, oname, "ipw")),
            dr_sim=bands.get((pname, oname, "dr")),
            vs_reference=paired.get((pname, oname)),
        )

    return {
        pname: replace(p, outcomes={o: one(pname, o, v) for o, v in p.outcomes.items()})
        for pname, p in values.items()
    }


def _outcome_arrays(
    problem: PolicyProblem, weights: Mapping[str, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """One outcome's observed y, labelled lines, mu per candidate, mu of the given and the
    truth per candidate (None when unknown)."""
    cand, lines = problem.candidates, problem.lines
    y = sum(
        (float(w) * lines[f"y_{ep}"].to_numpy(dtype=float) for ep, w in weights.items()),
        np.zeros(len(lines)),
    )
    mu = weighted_sum(cand, weights, "mu_")
    truth = weighted_sum(cand, weights, "truth_") if problem.has_truth else None
    return y, np.isfinite(y), mu, _at_given(problem, mu, 0.0), truth


def _simultaneous(
    draws: Mapping[tuple[str, str, str], tuple[float, np.ndarray]], level: float
) -> tuple[dict[str, float | None], dict[tuple[str, str, str], Interval]]:
    """Simultaneous ``level`` bands over every policy and outcome, per estimator (max-|t|
    bootstrap): ``point ± c·se`` with ``c`` the ``level`` quantile of the largest
    standardized bootstrap deviation. They cover all the true values at once with
    probability ``level``; each marginal interval covers its own with that probability.
    Returns ``c`` per estimator (None when no estimate has a spread) and the bands."""
    quantiles: dict[str, float | None] = {}
    bands: dict[tuple[str, str, str], Interval] = {}
    for est in ("ipw", "dr"):
        keys = [k for k in draws if k[2] == est]
        pts = np.array([draws[k][0] for k in keys])
        boots = np.stack([draws[k][1] for k in keys])  # (estimates, resamples)
        se = np.nanstd(boots, axis=1, ddof=1)
        ok = np.isfinite(pts) & (se > 0)
        if not ok.any():
            quantiles[est] = None
            continue
        t = np.nanmax(np.abs(boots[ok] - pts[ok, None]) / se[ok, None], axis=0)
        c = float(np.quantile(t[np.isfinite(t)], level))
        quantiles[est] = c
        for key, point, s_k in zip(keys, pts, se, strict=True):
            good = np.isfinite(point) and np.isfinite(s_k)
            nan = float("nan")
            bands[key] = Interval(
                float(point), point - c * s_k if good else nan, point + c * s_k if good else nan
            )
    return quantiles, bands


def _paired(
    draws: Mapping[tuple[str, str, str], tuple[float, np.ndarray]],
    reference: str,
    alpha: float,
) -> dict[tuple[str, str], Interval]:
    """Each policy's DR value minus ``reference``'s, with a percentile interval from the
    same resamples: far narrower than either value's, as most lines choose alike."""
    out = {}
    for (pname, oname, est), (point, boots) in draws.items():
        if est != "dr" or pname == reference:
            continue
        ref_point, ref_boots = draws[(reference, oname, "dr")]
        out[(pname, oname)] = Interval(point - ref_point, *_percentile(boots - ref_boots, alpha))
    return out


@dataclass(frozen=True)
class ModelError:
    """An outcome model's error against the true probabilities: mean absolute error over
    every candidate; over the counterfactual ones, mean absolute error and bias (None when
    every candidate was given)."""

    mae: float
    mae_counterfactual: float | None
    bias_counterfactual: float | None

    def as_json(self) -> dict[str, float | None]:
        cf, bias = self.mae_counterfactual, self.bias_counterfactual
        return {
            "mae": _r(self.mae),
            "mae_counterfactual": None if cf is None else _r(cf),
            "bias_counterfactual": None if bias is None else _r(bias),
        }


def model_errors(problem: PolicyProblem) -> dict[str, ModelError]:
    """Error of the outcome models against the true probabilities (synthetic cohorts):
    over every candidate, and over the counterfactual ones (not the regimen given) — where
    confounding by indication shows. Empty without the truth."""
    if not problem.has_truth:
        return {}
    cand = problem.candidates
    given = np.zeros(len(cand), dtype=bool)
    g = problem.lines["given_row"].to_numpy()
    given[g[g >= 0]] = True
    out = {}
    for ep in problem.endpoints:
        err = cand[f"mu_{ep}"].to_numpy(float) - cand[f"truth_{ep}"].to_numpy(float)
        cf = err[~given]
        out[ep] = ModelError(
            mae=float(np.abs(err).mean()),
            mae_counterfactual=float(np.abs(cf).mean()) if len(cf) else None,
            bias_counterfactual=float(cf.mean()) if len(cf) else None,
        )
    return out


def outcome_model_accuracy(problem: PolicyProblem) -> dict[str, dict[str, float | None]]:
    """The written :func:`model_errors`."""
    return {ep: e.as_json() for ep, e in model_errors(problem).items()}
