"""Ranking candidate regimens: eligibility with reasons, endpoint-model scores, utility."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from precision_onco.config.schema import RecommendConfig
from precision_onco.models.train import train_all
from precision_onco.recommend.rank import rank_regimens, utility


@pytest.fixture(scope="module")
def ranked(small_cohort):
    root, cfg, tables, feats = small_cohort
    res = train_all(cfg, feats, tables.lines)
    held = feats.merge(res.predictions[["patient_key", "line_number"]])
    rec = RecommendConfig(preset="test", weights={"response": 1.0, "ae_grade3": -0.5})
    return (
        cfg,
        tables,
        held,
        res,
        rank_regimens(held, tables.patients, tables.lines, res.models, cfg.catalog, rec),
    )


def test_every_catalog_regimen_is_either_scored_or_excluded_with_a_reason(ranked) -> None:
    cfg, tables, held, res, r = ranked
    n_reg = len(cfg.catalog.regimens)
    assert len(r.ranked) + len(r.excluded) == len(held) * n_reg
    assert r.excluded["reason"].notna().all() and (r.excluded["reason"].str.len() > 5).all()
    both = r.ranked.merge(r.excluded, on=["patient_key", "line_number", "regimen_id"])
    assert both.empty


def test_regimens_are_ranked_by_utility_within_each_line(ranked) -> None:
    cfg, tables, held, res, r = ranked
    assert r.ranked["p_response"].between(0, 1).all()
    for _, g in r.ranked.groupby(["patient_key", "line_number"]):
        assert list(g["rank"]) == list(range(1, len(g) + 1))
        assert (np.diff(g["utility"].to_numpy()) <= 1e-12).all()
    # the weights name an endpoint without a model (ae_grade3 here): it is ignored
    assert np.allclose(r.ranked["utility"], r.ranked["p_response"])


def test_the_given_regimen_scores_as_in_training(ranked) -> None:
    """Scoring the regimen actually given reproduces the held-out prediction of the model."""
    cfg, tables, held, res, r = ranked
    given = held[["patient_key", "line_number", "regimen_id"]].merge(
        r.ranked, on=["patient_key", "line_number", "regimen_id"]
    )
    pred = given.merge(res.predictions, on=["patient_key", "line_number", "regimen_id"])
    assert len(pred) > 0.5 * len(held)  # most given regimens are eligible under the catalog
    assert np.allclose(pred["p_response"], pred["response"])


def test_egfr_driver_excludes_first_line_immunotherapy_alone(ranked) -> None:
    cfg, tables, held, res, r = ranked
    rows = held[(held.get("bm_EGFR_sensitizing", 0) == 1) & (held["line_number"] == 1)]
    if rows.empty:
        pytest.skip("no EGFR-mutant first line among the held-out rows of this small cohort")
    ex = r.excluded.merge(rows[["patient_key", "line_number"]])
    io = ex[ex["regimen_id"] == "pembrolizumab_nsclc"].merge(
        rows[["patient_key", "line_number", "bm_PDL1_high"]]
    )
    assert len(io) == len(rows)  # excluded for every one of them
    # the first failing rule is reported: PD-L1 first, then the EGFR driver
    low = io["bm_PDL1_high"] == 0
    assert io.loc[low, "reason"].str.contains("PD-L1").all()
    assert io.loc[~low, "reason"].str.contains("EGFR").all()


def test_utility_is_the_weighted_sum() -> None:
    scores = pd.DataFrame({"p_response": [0.5, 0.2], "p_ae_grade3": [0.4, 0.1]})
    u = utility(scores, {"response": 1.0, "ae_grade3": -0.5, "absent": 3.0})
    assert np.allclose(u, [0.3, 0.15])
    frail = dataclasses.replace(RecommendConfig(), weights={"response": 1, "ae_grade3": -2})
    assert np.allclose(utility(scores, frail.weights), [-0.3, 0.0])


def test_intervals_and_the_distinguishable_flag(ranked) -> None:
    cfg, tables, held, res, r = ranked
    x = r.ranked
    assert (
        (x["p_response_low"] <= x["p_response"] + 1e-12)
        & (x["p_response"] <= x["p_response_high"] + 1e-12)
    ).all()
    assert (
        (x["utility_low"] <= x["utility"] + 1e-12) & (x["utility"] <= x["utility_high"] + 1e-12)
    ).all()
    for _, g in x.groupby(["patient_key", "line_number"]):
        top = g.iloc[0]
        overlap = (g["utility_high"] >= top["utility_low"]) & (
            g["utility_low"] <= top["utility_high"]
        )
        assert list(g["distinguishable"].iloc[1:]) == list(~overlap.iloc[1:])
        assert bool(top["distinguishable"]) == (overlap.sum() == 1)


def test_coverage_by_position_equals_the_lookup_by_key() -> None:
    """The marker columns taken by position (every row's patient and line found) equal
    pandas' lookup by key; a row whose patient or line is absent falls back to that lookup
    (missing values), and duplicated keys take their first row."""
    from precision_onco.recommend.rank import _coverage

    patients = pd.DataFrame(
        {
            "patient_key": ["a", "b", "a"],
            "genes_tested": pd.array(["KRAS;EGFR", None, "BRAF"], dtype="string"),
            "alk_status": pd.array(["negative", "rearranged", "x"], dtype="string"),
        }
    )
    lines = pd.DataFrame(
        {
            "patient_key": ["a", "a", "b", "a"],
            "line_number": [1, 2, 1, 2],
            "pdl1_tps": [5.0, 60.0, np.nan, 99.0],
        }
    )
    state = pd.DataFrame({"patient_key": ["a", "b", "a"], "line_number": [2, 1, 1]})
    covered, markers = _coverage(state, patients, lines)
    assert covered == [{"KRAS", "EGFR"}, None, {"KRAS", "EGFR"}]
    assert markers["alk_status"].tolist() == ["negative", "rearranged", "negative"]
    np.testing.assert_array_equal(markers["pdl1_tps"].to_numpy(), [60.0, np.nan, 5.0])
    absent = pd.DataFrame({"patient_key": ["a", "zz"], "line_number": [1, 3]})
    covered, markers = _coverage(absent, patients, lines)
    assert covered == [{"KRAS", "EGFR"}, None]
    assert markers["alk_status"].iloc[0] == "negative" and pd.isna(markers["alk_status"].iloc[1])
    np.testing.assert_array_equal(markers["pdl1_tps"].to_numpy(), [5.0, np.nan])
