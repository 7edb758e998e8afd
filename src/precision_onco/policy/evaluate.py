"""Does following the recommendations help? Every policy's value on held-out lines.

:func:`build_problem` lines up, for each held-out line, its candidate regimens
(outcome-model probabilities ``mu``, the cross-fitted propensity of practice,
and — on a synthetic cohort — the true probabilities), the regimen actually
given and the observed outcomes. :func:`evaluate_policies` then estimates each
policy's value from the observed outcomes (IPW and doubly robust, patient
bootstrap CIs), with overlap diagnostics, and, when the truth is known, its true
value, the oracle's, regret, normalized regret, top-1 agreement with the oracle
and whether each CI covers the truth.

Outcomes are linear in the endpoints (``{"response": 1}``, a utility's weights),
so one set of per-endpoint arrays serves all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from precision_onco.policy.ope import bootstrap_rows, normalized_regret, policy_dr, policy_ipw
from precision_onco.policy.policies import argmax_policy, random_policy, weighted_sum

__all__ = [
    "Policy",
    "PolicyProblem",
    "build_problem",
    "evaluate_policies",
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


def evaluate_policies(
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
) -> dict[str, Any]:
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
    dict
        ``policies``: per policy, overlap diagnostics, per-outcome IPW and DR estimates
        with CIs (and the truth: value, coverage), regret and normalized regret on
        ``utility``, top-1 agreement with its oracle; ``oracle`` and ``random`` truth.
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
    out: dict[str, Any] = {
        "lines": len(lines),
        "patients": int(lines["patient_key"].nunique()),
        "clip": clip,
        "low_propensity": low_propensity,
        "bootstrap": n_boot,
        "level": level,
        "policies": {},
    }
    # per outcome: observed y, labelled lines, mu per candidate, mu of the given, truth
    arrays: dict[str, tuple[Any, ...]] = {}
    for name, weights in outcomes.items():
        y = sum(
            (float(w) * lines[f"y_{ep}"].to_numpy(dtype=float) for ep, w in weights.items()),
            np.zeros(len(lines)),
        )
        mu = weighted_sum(cand, weights, "mu_")
        truth = weighted_sum(cand, weights, "truth_") if problem.has_truth else None
        arrays[name] = (y, np.isfinite(y), mu, _at_given(problem, mu, 0.0), truth)
    results: dict[str, dict[str, Any]] = {}
    draws: dict[tuple[str, str, str], tuple[float, np.ndarray]] = {}
    for pname, pol in policies.items():
        pi_given = _at_given(problem, pol.pi, 0.0)
        w = pi_given / np.maximum(e_given, clip)
        res: dict[str, Any] = {
            "kind": pol.kind,
            **pol.detail,
            "concordance_with_practice": _r(pi_given.mean()),
            "low_propensity_share": _r(_per_line(problem, pol.pi * (e < low_propensity)).mean()),
            "effective_sample_size": _r(w.sum() ** 2 / max((w**2).sum(), 1e-12)),
            "matched_lines": int((pi_given > 0).sum()),
        }
        if oracle_pi is not None:
            res["top1_agreement_oracle"] = _r(_per_line(problem, pol.pi * oracle_pi).mean())
        for oname, (y, ok, mu, mu_given, truth) in arrays.items():
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

            every = np.arange(len(lines))
            block: dict[str, Any] = {"n": int(ok.sum())}
            for est_name, est in (("ipw", ipw), ("dr", dr)):
                point = est(every)
                boots = np.array([est(r) for r in resamples])
                draws[(pname, oname, est_name)] = (point, boots)
                fin = boots[np.isfinite(boots)]
                lo, hi = np.quantile(fin, [alpha, 1 - alpha]) if len(fin) else (np.nan,) * 2
                block.update(
                    {est_name: _r(point), f"{est_name}_low": _r(lo), f"{est_name}_high": _r(hi)}
                )
            block["outcome_model"] = _r(mu_pi[ok].mean())
            if truth is not None:
                tpi = pol.true_pi if pol.true_pi is not None else pol.pi
                block["true"] = _r(float(_per_line(problem, tpi * truth)[ok].mean()))
            res[oname] = block
        results[pname] = res
    out["simultaneous_quantile"] = _simultaneous(results, draws, level)
    if reference in results:
        _paired(results, draws, str(reference), alpha)
    if problem.has_truth:
        _coverage(results)
    if oracle_pi is not None:  # the truth is known: arrays[utility] holds it
        _, ok, _, _, truth = arrays[utility]
        _regret(problem, results, ok, truth, oracle_pi, utility, out)
    out["policies"] = results
    return out


def _simultaneous(
    results: dict[str, dict[str, Any]],
    draws: dict[tuple[str, str, str], tuple[float, np.ndarray]],
    level: float,
) -> dict[str, float | None]:
    """Simultaneous ``level`` bands over every policy and outcome, per estimator (max-|t|
    bootstrap): ``point ± c·se`` with ``c`` the ``level`` quantile of the largest
    standardized bootstrap deviation. They cover all the true values at once with
    probability ``level``; each marginal interval covers its own with that probability."""
    quantiles: dict[str, float | None] = {}
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
        quantiles[est] = round(c, 3)
        for (pname, oname, _), point, s_k in zip(keys, pts, se, strict=True):
            block = results[pname][oname]
            good = np.isfinite(point) and np.isfinite(s_k)
            block[f"{est}_sim_low"] = _r(point - c * s_k) if good else None
            block[f"{est}_sim_high"] = _r(point + c * s_k) if good else None
    return quantiles


def _paired(
    results: dict[str, dict[str, Any]],
    draws: dict[tuple[str, str, str], tuple[float, np.ndarray]],
    reference: str,
    alpha: float,
) -> None:
    """Each policy's DR value minus ``reference``'s, with a percentile interval from the
    same resamples: far narrower than either value's, as most lines choose alike."""
    for (pname, oname, est), (point, boots) in draws.items():
        if est != "dr" or pname == reference:
            continue
        ref_point, ref_boots = draws[(reference, oname, "dr")]
        diff = boots - ref_boots
        diff = diff[np.isfinite(diff)]
        lo, hi = np.quantile(diff, [alpha, 1 - alpha]) if len(diff) else (np.nan,) * 2
        block = results[pname][oname]
        key = f"dr_vs_{reference}"
        block.update({key: _r(point - ref_point), f"{key}_low": _r(lo), f"{key}_high": _r(hi)})
        ref_true = results[reference][oname].get("true")
        if block.get("true") is not None and ref_true is not None:
            block[f"true_vs_{reference}"] = truth = _r(block["true"] - ref_true)
            block[f"{key}_covers"] = bool(
                truth is not None and np.isfinite(lo) and lo <= truth <= hi
            )


def _coverage(results: dict[str, dict[str, Any]]) -> None:
    """Whether each interval (marginal and simultaneous) contains the true value."""
    for res in results.values():
        for block in res.values():
            if not isinstance(block, dict) or "true" not in block:
                continue
            v = block["true"]
            for band in ("ipw", "dr", "ipw_sim", "dr_sim"):
                lo, hi = block.get(f"{band}_low"), block.get(f"{band}_high")
                block[f"{band}_covers"] = bool(
                    lo is not None and hi is not None and v is not None and lo <= v <= hi
                )


def _regret(
    problem: PolicyProblem,
    results: dict[str, dict[str, Any]],
    ok: np.ndarray,
    truth: np.ndarray,
    oracle_pi: np.ndarray,
    utility: str,
    out: dict[str, Any],
) -> None:
    """True value of the oracle and of random choice on ``utility`` (lines ``ok``, candidate
    values ``truth``); each policy's regret."""
    line = problem.candidates["line"].to_numpy()
    # rounded as the policies' true values are, so that the oracle's regret is exactly 0
    v_oracle = round(float(_per_line(problem, oracle_pi * truth)[ok].mean()), 4)
    v_random = round(float(_per_line(problem, random_policy(line) * truth)[ok].mean()), 4)
    out["oracle"] = {utility: _r(v_oracle)}
    out["random"] = {utility: _r(v_random)}
    for res in results.values():
        v = res[utility]["true"]
        res["regret"] = _r(v_oracle - v)
        res["normalized_regret"] = _r(normalized_regret(v, v_oracle, v_random))


def outcome_model_accuracy(problem: PolicyProblem) -> dict[str, dict[str, float | None]]:
    """Error of the outcome models against the true probabilities (synthetic cohorts):
    over every candidate, and over the counterfactual ones (not the regimen given) — where
    confounding by indication shows."""
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
        out[ep] = {
            "mae": _r(np.abs(err).mean()),
            "mae_counterfactual": _r(np.abs(cf).mean()) if len(cf) else None,
            "bias_counterfactual": _r(cf.mean()) if len(cf) else None,
        }
    return out
