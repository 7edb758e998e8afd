"""The policy study on a small synthetic cohort: real models, real propensity, known truth."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from precision_onco.models.evaluate import flat_metrics
from precision_onco.models.train import train_all
from precision_onco.policy.study import study_policies
from precision_onco.recommend.service import load_presets

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def study(small_cohort, small_recommender):
    root, _, tables, feats = small_cohort
    cfg, res, _ = small_recommender
    cfg = dataclasses.replace(cfg, policy=dataclasses.replace(cfg.policy, bootstrap=100, n_jobs=1))
    weighted = dataclasses.replace(
        cfg, model=dataclasses.replace(cfg.model, propensity_weighting=True)
    )
    alternative = train_all(weighted, feats, tables.lines).models
    truth = pd.read_parquet(root / "data/raw/ground_truth.parquet")
    out = study_policies(
        cfg,
        feats,
        tables.patients,
        tables.lines,
        res.predictions,
        res.models,
        load_presets(ROOT / "conf" / "recommend", cfg.recommend),
        truth=truth,
        alternative=alternative,
    ).as_json()
    return cfg, res, out


def test_every_policy_is_estimated_and_compared_with_the_truth(study) -> None:
    _, res, out = study
    pols = out["policies"]
    assert set(pols) == {
        "recommender_balanced",
        "recommender_efficacy_first",
        "recommender_frail",
        "practice",
        "guideline",
        "random",
        "oracle",
    }
    assert out["lines"] == len(res.predictions)
    for name, p in pols.items():
        for outcome in ("response", "ae_grade3", "utility"):
            b = p[outcome]
            assert b["dr_low"] <= b["dr"] <= b["dr_high"], (name, outcome, b)
            assert b["dr_sim_low"] <= b["dr_low"] and b["dr_sim_high"] >= b["dr_high"]
            assert 0 <= b["true"] <= 1 or outcome == "utility"
    assert pols["oracle"]["regret"] == 0 and pols["oracle"]["normalized_regret"] == 0
    assert pols["random"]["normalized_regret"] == 1
    assert pols["oracle"]["top1_agreement_oracle"] == 1
    # the oracle maximizes the true utility: nothing beats it
    assert all(p["utility"]["true"] <= pols["oracle"]["utility"]["true"] for p in pols.values())
    # paired with practice: the difference of the two values, its interval from the same
    # resamples narrower than either value's
    rec, prac = pols["recommender_balanced"]["utility"], pols["practice"]["utility"]
    assert rec["dr_vs_practice"] == pytest.approx(rec["dr"] - prac["dr"], abs=2e-4)
    assert rec["dr_vs_practice_low"] <= rec["dr_vs_practice"] <= rec["dr_vs_practice_high"]
    assert rec["dr_vs_practice_high"] - rec["dr_vs_practice_low"] < rec["dr_high"] - rec["dr_low"]
    assert rec["true_vs_practice"] == pytest.approx(rec["true"] - prac["true"], abs=2e-4)
    assert "dr_vs_practice" not in prac
    # practice: pi = propensity, so every line counts once
    assert pols["practice"]["effective_sample_size"] == pytest.approx(out["lines"], rel=0.02)


def test_propensity_and_summary(study) -> None:
    _, _, out = study
    prop = out["propensity"]
    assert prop["given_not_eligible"] == 0  # practice chose among the eligible regimens
    assert prop["mae_vs_true_choice"] < 0.2  # 0.04 on the 5,000-patient default cohort
    assert prop["log_loss"] >= prop["log_loss_true_choice"] - 0.05
    s = out["summary"]
    assert s["policy"] == "recommender_balanced" and s["on"] == "true"
    assert s["beats_practice"] == (
        out["policies"]["recommender_balanced"]["utility"]["true"]
        > out["policies"]["practice"]["utility"]["true"]
    )
    assert isinstance(s["dr_covers_all"], bool)
    assert s["dr_marginal_covered"].endswith("of 21")


def test_naive_and_weighted_training_side_by_side(study) -> None:
    _, _, out = study
    tr = out["training"]
    assert tr["used"] == "naive" and {"naive", "propensity_weighted"} <= set(tr)
    for variant in ("naive", "propensity_weighted"):
        recs = tr[variant]["recommenders"]
        assert set(recs) == {
            "recommender_balanced",
            "recommender_efficacy_first",
            "recommender_frail",
        }
        assert 0 <= recs["recommender_balanced"]["top1_agreement_oracle"] <= 1
        err = tr[variant]["outcome_model_error"]["response"]
        assert 0 < err["mae"] < 0.3
    # the naive variant's rows are the main study's recommenders
    assert (
        tr["naive"]["recommenders"]["recommender_balanced"]["normalized_regret"]
        == out["policies"]["recommender_balanced"]["normalized_regret"]
    )


def test_policy_values_reach_mlflow_metrics(study) -> None:
    _, _, out = study
    flat = flat_metrics({"policy": out})
    assert flat["policy.oracle.normalized_regret"] == 0
    assert "policy.recommender_balanced.utility.dr" in flat
    assert "policy.practice.response.true" in flat
    assert not any(k.endswith("covers") for k in flat)  # booleans are not metrics


def test_without_truth_only_estimates(small_cohort, small_recommender) -> None:
    _, _, tables, feats = small_cohort
    cfg, res, _ = small_recommender
    cfg = dataclasses.replace(cfg, policy=dataclasses.replace(cfg.policy, bootstrap=30, n_jobs=1))
    out = study_policies(
        cfg,
        feats,
        tables.patients,
        tables.lines,
        res.predictions,
        res.models,
        {"balanced": cfg.recommend},
    ).as_json()
    assert "oracle" not in out["policies"] and "oracle" not in out
    assert "true" not in out["policies"]["practice"]["utility"]
    assert out["summary"]["on"] == "dr" and "normalized_regret" not in out["summary"]
    assert "propensity_weighted" not in out["training"]


def test_summary_without_a_practice_estimate_says_none() -> None:
    from precision_onco.policy.study import _summary

    res = {
        "outcomes": {"utility": {}},
        "policies": {
            "recommender_balanced": {"utility": {"dr": 0.1, "dr_low": 0.0, "dr_high": 0.2}},
            "practice": {"utility": {"dr": None}},
        },
    }
    s = _summary(res, "recommender_balanced")
    assert s["on"] == "dr" and s["gain_over_practice"] is None
    assert s["beats_practice"] is False and s["beats_guideline"] is False
    assert "dr_gain_over_practice" not in s
