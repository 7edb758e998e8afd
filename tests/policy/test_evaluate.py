"""Policy values on held-out lines: the candidate table, the estimates against a known truth,
regret and the outcome models' counterfactual error; the policies themselves."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from precision_onco.policy.evaluate import (
    Policy,
    build_problem,
    evaluate_policies,
    outcome_model_accuracy,
)
from precision_onco.policy.policies import (
    argmax_policy,
    guideline_scores,
    random_policy,
    weighted_sum,
)

KEYS = ["patient_key", "line_number"]
OUTCOMES = {"response": {"response": 1.0}, "utility": {"response": 1.0}}

# ----------------------------------------------------------------------------- policies


def test_argmax_policy_takes_the_best_candidate_of_each_line() -> None:
    line = np.array([2, 0, 2, 1, 0, 2, 1])  # unsorted labels
    score = np.array([0.1, 0.5, 0.9, np.nan, 0.7, 0.3, 0.2])
    assert np.array_equal(argmax_policy(line, score), [0, 0, 1, 0, 1, 0, 1])
    labels = np.array(["b", "a", "b", "a"])
    assert np.array_equal(argmax_policy(labels, np.array([3.0, 1.0, 3.0, 2.0])), [1, 0, 0, 1])


def test_argmax_policy_breaks_ties_by_first_row() -> None:
    line = np.array([1, 0, 1, 0, 1, 0])
    pi = argmax_policy(line, np.array([0.5, 0.2, 0.5, 0.2, 0.1, 0.2]))
    assert np.array_equal(pi, [1, 1, 0, 0, 0, 0])
    assert np.array_equal(np.bincount(line, weights=pi), [1.0, 1.0])


def test_random_policy_spreads_evenly() -> None:
    line = np.array(["x", "y", "x", "z", "x", "y"])
    pi = random_policy(line)
    assert np.allclose(pi, [1 / 3, 1 / 2, 1 / 3, 1.0, 1 / 3, 1 / 2])
    assert np.allclose(pd.Series(pi).groupby(line).sum().to_numpy(), 1.0)


def test_weighted_sum_of_endpoints() -> None:
    frame = pd.DataFrame({"mu_response": [0.5, 0.2], "mu_ae": [0.1, 0.4]})
    assert np.allclose(weighted_sum(frame, {"response": 1.0, "ae": -0.5}, "mu_"), [0.45, 0.0])


def test_guideline_prefers_low_preference_then_catalog_order() -> None:
    regimens = pd.Series(["FOLFIRI", "FOLFOX", "CAPOX", "NEW", "FOLFOX"])
    preference = {"FOLFOX": 1, "CAPOX": 1, "FOLFIRI": 2}
    order = {"CAPOX": 5, "FOLFOX": 3, "FOLFIRI": 0}
    s = guideline_scores(regimens, preference, order)
    # FOLFOX (pref 1, order 3) > CAPOX (pref 1, order 5) > FOLFIRI (pref 2) > unknown
    assert s[1] > s[2] > s[0] > s[3] and s[1] == s[4]
    assert s[3] == -np.inf
    line = np.array([0, 0, 0, 0, 1])
    assert np.array_equal(argmax_policy(line, s), [0, 1, 0, 0, 1])


# ------------------------------------------------------------------------ build_problem


def _toy():
    """Three observed lines (unsorted) and their candidates in scrambled order, plus one
    candidate of a line that was not observed."""
    observed = pd.DataFrame(
        {
            "patient_key": ["P2", "P1", "P1"],
            "line_number": [1, 1, 2],
            "regimen_id": ["B", "A", "Z"],
            "response": [1, 0, 1],
        }
    )
    scores = pd.DataFrame(
        {
            "patient_key": ["P1", "P2", "P3", "P1", "P1", "P2", "P1"],
            "line_number": [2, 1, 1, 1, 2, 1, 1],
            "regimen_id": ["C", "B", "A", "B", "A", "A", "A"],
            "p_response": [0.12, 0.21, 0.99, 0.31, 0.11, 0.22, 0.32],
        }
    )
    propensity = np.array([0.4, 0.7, 1.0, 0.45, 0.6, 0.3, 0.55])
    truth = scores[["patient_key", "line_number", "regimen_id"]].assign(
        p_response=scores["p_response"] + 0.5, p_choice=propensity
    )
    return observed, scores, propensity, truth


def test_build_problem_lines_up_candidates() -> None:
    observed, scores, propensity, truth = _toy()
    prob = build_problem(scores, observed, propensity, endpoints=["response"], truth=truth)
    cand, lines = prob.candidates, prob.lines
    # lines in observed order; candidates sorted by line, then regimen; P3 dropped
    assert lines[KEYS].values.tolist() == [["P2", 1], ["P1", 1], ["P1", 2]]
    assert cand["line"].tolist() == [0, 0, 1, 1, 2, 2]
    assert cand["regimen_id"].tolist() == ["A", "B", "A", "B", "A", "C"]
    assert np.allclose(cand["mu_response"], [0.22, 0.21, 0.32, 0.31, 0.11, 0.12])
    assert np.allclose(cand["propensity"], [0.3, 0.7, 0.55, 0.45, 0.6, 0.4])
    assert np.allclose(cand["truth_response"], cand["mu_response"] + 0.5)
    assert np.allclose(cand["p_choice"], cand["propensity"])
    assert prob.has_truth and prob.endpoints == ["response"]
    # B at P2 line 1 is row 1, A at P1 line 1 row 2; Z was not a candidate
    assert lines["given"].tolist() == ["B", "A", "Z"]
    assert lines["given_row"].tolist() == [1, 2, -1]
    assert np.array_equal(lines["y_response"], [1.0, 0.0, 1.0])
    # the policy taking the highest mu, per line
    assert np.array_equal(prob.policy_of(cand["mu_response"].to_numpy()), [1, 0, 1, 0, 0, 1])


def test_build_problem_without_or_with_incomplete_truth() -> None:
    observed, scores, propensity, truth = _toy()
    scores = scores.assign(p_ae=0.1)
    prob = build_problem(scores, observed, propensity, endpoints=["response", "ae"])
    assert not prob.has_truth
    assert "truth_response" not in prob.candidates.columns
    assert prob.lines["y_ae"].isna().all()  # no observed column: unknown
    prob = build_problem(scores, observed, propensity, endpoints=["response", "ae"], truth=truth)
    assert not prob.has_truth  # no p_ae in the truth
    assert "truth_response" in prob.candidates.columns
    partial = truth[truth["regimen_id"] != "C"]
    prob = build_problem(scores, observed, propensity, endpoints=["response"], truth=partial)
    assert not prob.has_truth  # a candidate without its true probability
    assert prob.candidates["truth_response"].isna().sum() == 1


def test_build_problem_rejects_bad_inputs() -> None:
    observed, scores, propensity, _ = _toy()
    with pytest.raises(ValueError, match=r"scores: no column p_ae, p_pfs \(outcome model"):
        build_problem(scores, observed, propensity, endpoints=["response", "ae", "pfs"])
    with pytest.raises(ValueError, match=r"^propensity: 6 values for 7 candidates$"):
        build_problem(scores, observed, propensity[:6], endpoints=["response"])


# ------------------------------------------------------------------- simulated problem


def _simulate(n_patients: int = 2500, seed: int = 0):
    """Confounded choice among 2–3 candidates (A, B, and C on half the lines).

    Sicker patients (high ``x``) respond less whatever they get; practice gives A to the
    healthier ones and C to the sicker; A is best for low ``x``, C for high. Returns the
    candidates (scrambled, with true propensity ``e`` and response probability ``p``)
    and the observed lines (given regimen, response).
    """
    rng = np.random.default_rng(seed)
    n = 2 * n_patients
    patient = np.repeat([f"P{i:05d}" for i in range(n_patients)], 2)
    x = rng.uniform(-2.0, 2.0, n)
    has_c = rng.random(n) < 0.5
    li = np.concatenate([np.arange(n), np.arange(n), np.flatnonzero(has_c)])
    reg = np.repeat(["A", "B", "C"], [n, n, int(has_c.sum())])
    xc = x[li]
    is_a, is_b = reg == "A", reg == "B"
    logit = np.select([is_a, is_b], [0.3 - 1.0 * xc, np.zeros_like(xc)], 0.8 * xc)
    e = np.exp(logit) / np.bincount(li, weights=np.exp(logit))[li]
    effect = np.select([is_a, is_b], [0.9 - 0.8 * xc, np.zeros_like(xc)], 0.2 + 0.7 * xc)
    p = 1 / (1 + np.exp(-(-0.3 - 0.6 * xc + effect)))
    cand = pd.DataFrame({"li": li, "regimen_id": reg, "e": e, "p": p})
    cand = cand.sort_values(["li", "regimen_id"]).reset_index(drop=True)
    cum = cand.groupby("li")["e"].cumsum().to_numpy()
    u = rng.random(n)
    pick = (
        cand.index[cum > u[cand["li"].to_numpy()]]
        .to_series()
        .groupby(cand["li"])
        .first()
        .to_numpy()
    )
    y = rng.binomial(1, cand["p"].to_numpy()[pick])
    cand["patient_key"] = patient[cand["li"]]
    cand["line_number"] = np.tile([1, 2], n_patients)[cand["li"]]
    observed = pd.DataFrame(
        {
            "patient_key": patient,
            "line_number": np.tile([1, 2], n_patients),
            "regimen_id": cand["regimen_id"].to_numpy()[pick],
            "response": y,
        }
    )
    return cand.sample(frac=1.0, random_state=seed).reset_index(drop=True), observed


def _problem(cand: pd.DataFrame, observed: pd.DataFrame, mu: np.ndarray):
    scores = cand[["patient_key", "line_number", "regimen_id"]].assign(p_response=mu)
    truth = cand[["patient_key", "line_number", "regimen_id"]].assign(
        p_response=cand["p"], p_choice=cand["e"]
    )
    return build_problem(
        scores, observed, cand["e"].to_numpy(), endpoints=["response"], truth=truth
    )


def _policies(problem) -> dict[str, Policy]:
    cand = problem.candidates
    first = (~cand["line"].duplicated()).to_numpy(dtype=float)
    return {
        "oracle": Policy(problem.policy_of(cand["truth_response"].to_numpy()), "oracle"),
        "random": Policy(random_policy(cand["line"].to_numpy()), "random"),
        "first": Policy(first, "fixed", detail={"rule": "first candidate"}),
        "practice": Policy(
            cand["propensity"].to_numpy(), "practice", true_pi=cand["p_choice"].to_numpy()
        ),
    }


@pytest.fixture(scope="module")
def sim():
    cand, observed = _simulate()
    # wrong outcome model: each regimen's observed response rate, blind to x (confounded)
    rate = observed.groupby("regimen_id")["response"].mean()
    out = {}
    for name, mu in (
        ("wrong", cand["regimen_id"].map(rate).to_numpy()),
        ("right", cand["p"].to_numpy()),
    ):
        problem = _problem(cand, observed, mu)
        policies = _policies(problem)
        res = evaluate_policies(
            problem, policies, OUTCOMES, utility="utility", n_boot=200, level=0.99, seed=0
        )
        out[name] = (problem, policies, res)
    return out


def test_simulated_problem_is_well_formed(sim) -> None:
    problem, _, res = sim["wrong"]
    cand, lines = problem.candidates, problem.lines
    assert res["lines"] == len(lines) == 5000 and res["patients"] == 2500
    assert problem.has_truth and (lines["given_row"] >= 0).all()
    assert set(cand.groupby("line").size()) == {2, 3}
    assert np.allclose(np.bincount(cand["line"], weights=cand["propensity"]), 1.0)
    assert cand["propensity"].min() >= 0.01  # no weight is clipped
    assert set(res["policies"]) == {"oracle", "random", "first", "practice"}
    assert res["policies"]["first"]["kind"] == "fixed"
    assert res["policies"]["first"]["rule"] == "first candidate"
    assert res["level"] == 0.99 and res["bootstrap"] == 200


@pytest.mark.parametrize("model", ["wrong", "right"])
def test_regret_of_oracle_and_random(sim, model: str) -> None:
    problem, policies, res = sim[model]
    pol = res["policies"]
    assert pol["oracle"]["regret"] == 0.0 and pol["oracle"]["normalized_regret"] == 0.0
    assert pol["random"]["normalized_regret"] == 1.0
    assert pol["oracle"]["top1_agreement_oracle"] == 1.0
    cand = problem.candidates
    t = cand["truth_response"].to_numpy()
    line = cand["line"].to_numpy()
    v_oracle = pd.Series(t).groupby(line).max().mean()
    v_random = pd.Series(t).groupby(line).mean().mean()
    assert res["oracle"]["utility"] == pytest.approx(v_oracle, abs=1e-4)
    assert res["random"]["utility"] == pytest.approx(v_random, abs=1e-4)
    assert pol["oracle"]["utility"]["true"] == res["oracle"]["utility"]
    for name in ("first", "practice"):
        v = pol[name]["utility"]["true"]
        assert 0 < pol[name]["regret"] == pytest.approx(v_oracle - v, abs=1e-4)
        assert pol[name]["normalized_regret"] == pytest.approx(
            (v_oracle - v) / (v_oracle - v_random), abs=1e-3
        )
    # the first candidate (A) is the oracle's choice on the lines with A best
    a_best = pd.Series(t).groupby(line).idxmax().to_numpy()
    assert pol["first"]["top1_agreement_oracle"] == pytest.approx(
        policies["first"].pi[a_best].mean(), abs=1e-4
    )


@pytest.mark.parametrize("model", ["wrong", "right"])
def test_intervals_cover_the_true_values(sim, model: str) -> None:
    _, policies, res = sim[model]
    for name in policies:
        for outcome in OUTCOMES:
            b = res["policies"][name][outcome]
            true = b["true"]
            assert b["n"] == 5000
            assert b["dr_low"] <= true <= b["dr_high"], (model, name, outcome, b)
            assert b["ipw_low"] <= true <= b["ipw_high"], (model, name, outcome, b)
            assert b["dr_covers"] and b["ipw_covers"] and b["dr_sim_covers"]
            assert b["dr_low"] <= b["dr"] <= b["dr_high"]
            for est in ("dr", "ipw"):
                sim_width = b[f"{est}_sim_high"] - b[f"{est}_sim_low"]
                assert sim_width >= b[f"{est}_high"] - b[f"{est}_low"], (model, name, est, b)
                assert sim_width < 0.1
    # max-|t| over estimates: beyond the single-estimate normal quantile at 0.99
    assert res["simultaneous_quantile"]["dr"] > 2.5
    assert res["simultaneous_quantile"]["ipw"] > 2.5


def test_practice_reweights_nothing(sim) -> None:
    problem, _, res = sim["wrong"]
    y = problem.lines["y_response"].to_numpy()
    practice = res["policies"]["practice"]
    assert practice["response"]["ipw"] == pytest.approx(y.mean(), abs=1e-4)
    assert practice["effective_sample_size"] == pytest.approx(len(y), abs=1e-3)
    e = problem.candidates["propensity"].to_numpy()
    g = problem.lines["given_row"].to_numpy()
    assert practice["concordance_with_practice"] == pytest.approx(e[g].mean(), abs=1e-4)
    # DR of practice: mean of sum_k e_k mu_k + (y - mu_given), with weight 1
    cand = problem.candidates
    mu = cand["mu_response"].to_numpy()
    mu_pi = np.bincount(cand["line"], weights=e * mu)
    assert practice["response"]["dr"] == pytest.approx((mu_pi + y - mu[g]).mean(), abs=1e-4)


def test_true_value_follows_the_real_choice_not_its_estimate() -> None:
    cand, observed = _simulate(n_patients=300, seed=2)
    problem = _problem(cand, observed, cand["p"].to_numpy())
    c = problem.candidates
    line = c["line"].to_numpy()
    uniform = random_policy(line)
    policies = {
        "practice": Policy(uniform, "practice", true_pi=c["p_choice"].to_numpy()),
        "random": Policy(uniform, "random"),
    }
    res = evaluate_policies(problem, policies, OUTCOMES, n_boot=20, level=0.9)
    t = c["truth_response"].to_numpy()
    v_practice = np.bincount(line, weights=c["p_choice"].to_numpy() * t).mean()
    v_random = pd.Series(t).groupby(line).mean().mean()
    assert res["policies"]["practice"]["response"]["true"] == pytest.approx(v_practice, abs=1e-4)
    assert res["policies"]["random"]["response"]["true"] == pytest.approx(v_random, abs=1e-4)
    assert abs(v_practice - v_random) > 0.01
    # the estimates only see pi: identical for both
    for est in ("ipw", "dr", "dr_low", "dr_high"):
        assert (
            res["policies"]["practice"]["response"][est]
            == res["policies"]["random"]["response"][est]
        )


def test_overlap_diagnostics(sim) -> None:
    problem, policies, res = sim["wrong"]
    cand = problem.candidates
    e = cand["propensity"].to_numpy()
    low = pd.Series(e < 0.05).groupby(cand["line"])
    g = problem.lines["given_row"].to_numpy()
    first = policies["first"].pi
    chosen = np.flatnonzero(first)
    expected = {
        "first": (e[chosen] < 0.05).mean(),
        "oracle": (e[np.flatnonzero(policies["oracle"].pi)] < 0.05).mean(),
        "random": low.mean().mean(),
        "practice": pd.Series(e * (e < 0.05)).groupby(cand["line"]).sum().mean(),
    }
    for name, share in expected.items():
        got = res["policies"][name]["low_propensity_share"]
        assert 0.0 <= got <= 1.0 and got == pytest.approx(share, abs=1e-4), name
    assert res["policies"]["first"]["low_propensity_share"] > 0.02
    # a deterministic policy: matched lines and concordance count given == chosen
    assert res["policies"]["first"]["matched_lines"] == int(first[g].sum())
    assert res["policies"]["first"]["concordance_with_practice"] == pytest.approx(
        first[g].mean(), abs=1e-4
    )
    w = first[g] / e[g]
    assert res["policies"]["first"]["effective_sample_size"] == pytest.approx(
        w.sum() ** 2 / (w**2).sum(), abs=1e-3
    )
    assert res["policies"]["first"]["effective_sample_size"] < 0.5 * len(g)


def test_dr_survives_a_wrong_outcome_model_where_naive_fails(sim) -> None:
    problem, policies, res = sim["wrong"]
    y = problem.lines["y_response"].to_numpy()
    g = problem.lines["given_row"].to_numpy()
    biases = {}
    for name in ("oracle", "first"):
        b = res["policies"][name]["response"]
        naive = y[policies[name].pi[g] == 1].mean()  # lines where the given was the choice
        biases[name] = naive - b["true"]
        assert abs(b["dr"] - b["true"]) < 0.04, (name, b)
        assert abs(b["ipw"] - b["true"]) < 0.04, (name, b)
    # A went to the healthier patients: its responders flatter the "always A" policy
    assert biases["first"] > 0.1
    first = res["policies"]["first"]["response"]
    assert abs(first["dr"] - first["true"]) < biases["first"] / 3
    # the outcome model alone (the direct method) is as confounded as the naive mean
    assert first["outcome_model"] - first["true"] > 0.1


def test_right_outcome_model_is_the_truth(sim) -> None:
    _, policies, res = sim["right"]
    for name in policies:
        b = res["policies"][name]["response"]
        assert b["outcome_model"] == b["true"], name
    right = res["policies"]
    wrong = sim["wrong"][2]["policies"]
    # same weights, same IPW; the DR estimates differ through mu
    for name in policies:
        assert right[name]["response"]["ipw"] == wrong[name]["response"]["ipw"]
    assert right["first"]["response"]["dr"] != wrong["first"]["response"]["dr"]


# ----------------------------------------------------------------- outcome model accuracy


def test_outcome_model_accuracy(sim) -> None:
    problem, _, _ = sim["right"]
    acc = outcome_model_accuracy(problem)
    assert acc == {"response": {"mae": 0.0, "mae_counterfactual": 0.0, "bias_counterfactual": 0.0}}
    wrong: dict[str, Any] = outcome_model_accuracy(sim["wrong"][0])["response"]
    assert wrong["mae"] > 0.1 and wrong["mae_counterfactual"] > wrong["mae"]


def test_counterfactual_bias_is_the_shift_of_the_candidates_not_given() -> None:
    cand, observed = _simulate(n_patients=300, seed=4)
    given = cand.merge(observed.rename(columns={"regimen_id": "given"}), on=KEYS)
    was_given = (given["given"] == given["regimen_id"]).to_numpy()
    mu = cand["p"].to_numpy() + np.where(was_given, -0.3, 0.1)
    problem = _problem(cand, observed, mu)
    acc = outcome_model_accuracy(problem)["response"]
    assert acc["bias_counterfactual"] == pytest.approx(0.1, abs=1e-9)
    assert acc["mae_counterfactual"] == pytest.approx(0.1, abs=1e-9)
    n_given = len(observed)
    expected_mae = (0.3 * n_given + 0.1 * (len(cand) - n_given)) / len(cand)
    assert acc["mae"] == pytest.approx(expected_mae, abs=1e-4)
    scores = cand[["patient_key", "line_number", "regimen_id"]].assign(p_response=mu)
    no_truth = build_problem(scores, observed, cand["e"].to_numpy(), endpoints=["response"])
    assert outcome_model_accuracy(no_truth) == {}


# ------------------------------------------------------------------------ rounding


def test_regret_is_exact_when_policies_differ_below_the_rounding() -> None:
    # the oracle's and random's values differ by 3e-5, below the 4-decimal reporting:
    # regret and normalized regret must still be exactly 0 and 1, not rounding noise
    observed = pd.DataFrame(
        {
            "patient_key": ["P1", "P2"],
            "line_number": [1, 1],
            "regimen_id": ["A", "A"],
            "response": [1, 0],
        }
    )
    truth_p = [0.5, 0.50012345, 0.3, 0.3]
    scores = pd.DataFrame(
        {
            "patient_key": ["P1", "P1", "P2", "P2"],
            "line_number": [1] * 4,
            "regimen_id": ["A", "B", "A", "B"],
            "p_response": truth_p,
        }
    )
    problem = build_problem(
        scores, observed, np.full(4, 0.5), endpoints=["response"], truth=scores.assign(p_choice=0.5)
    )
    policies = {
        "oracle": Policy(problem.policy_of(np.asarray(truth_p)), "oracle"),
        "random": Policy(random_policy(problem.candidates["line"].to_numpy()), "random"),
    }
    res = evaluate_policies(problem, policies, OUTCOMES, n_boot=5)
    oracle, rand = res["policies"]["oracle"], res["policies"]["random"]
    assert oracle["regret"] == 0.0 and oracle["normalized_regret"] == 0.0
    assert rand["normalized_regret"] == 1.0
    assert oracle["utility"]["true"] == res["oracle"]["utility"] == 0.4001


def test_estimates_are_frozen_and_unrounded_until_written(sim) -> None:
    import dataclasses

    from precision_onco.policy.evaluate import estimate_policies

    problem, policies, res = sim["right"]
    ev = estimate_policies(
        problem, policies, OUTCOMES, utility="utility", n_boot=200, level=0.99, seed=0
    )
    assert ev.as_json() == res  # what evaluate_policies returns is the written evaluation
    first = ev.policies["first"].outcomes["response"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.true = 0.0  # type: ignore[misc]
    # unrounded: the written figures are these to 4 decimals
    assert first.true is not None and first.true != round(first.true, 4)
    assert res["policies"]["first"]["response"]["true"] == round(first.true, 4)
    assert res["policies"]["first"]["response"]["dr_low"] == round(first.dr.low, 4)
    assert ev.oracle is not None and res["oracle"]["utility"] == round(ev.oracle, 4)
    # the oracle's regret is 0 without rounding; the others' is the oracle's value minus theirs
    assert ev.regret("oracle") == 0.0
    practice_true = ev.policies["practice"].outcomes["utility"].true
    assert practice_true is not None and ev.regret("practice") == ev.oracle - practice_true
    assert ev.policies["practice"].outcomes["utility"].vs_reference is None
    assert ev.policies["first"].outcomes["utility"].vs_reference is not None
