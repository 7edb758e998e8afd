"""The fast path (issue 15) gives the same answers as the previous implementation.

:mod:`tests.recommend.reference` keeps the features, eligibility, ranking and
explanations as they were before the speed work. Here both run on the same patients:
every line of the small synthetic cohort in one batch, sixty single patients through
``Recommender.recommend``, and every line of a small real-shaped cohort (300 rows of
the Chowell 2022 table with its own cohort config and catalog): same
eligible and excluded regimens with the same reasons, same ranks, same probabilities
and intervals, same drivers and evidence.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from precision_onco.features import build_features, load_panel
from precision_onco.recommend.scoring import endpoint_scores, input_codes
from precision_onco.recommend.table import recommendations

from .cases import case_from_tables
from .reference import ref_build_features, reference_recommend, reference_recommendations


def _same_ranking(new: Any, ref: Any) -> None:
    # probabilities, utilities and intervals: identical numbers (same boosters, same order)
    pd.testing.assert_frame_equal(new.ranked, ref.ranked, check_exact=True)
    pd.testing.assert_frame_equal(new.excluded, ref.excluded, check_exact=True)
    pd.testing.assert_frame_equal(new.candidates, ref.candidates, check_exact=True)


def test_batch_equals_the_previous_implementation(small_cohort, small_recommender) -> None:
    _, _, tables, feats = small_cohort
    rec = small_recommender[2]
    preset = rec.preset(None)
    args = (feats, tables.patients, tables.lines, rec.models, rec.catalog, preset)
    new = recommendations(
        *args,
        explain=rec.explain,
        separate=rec.separate,
        civic=rec.civic,
        variants=tables.variants,
        threads=1,
    )
    ref = reference_recommendations(*args, civic=rec.civic, variants=tables.variants, threads=1)
    assert len(new.ranked) > 300 and len(new.excluded) > 300  # a real comparison
    _same_ranking(new, ref)
    assert new.ranked["rank"].max() >= 3


def test_features_equal_the_previous_implementation(small_cohort, small_recommender) -> None:
    root, cfg, tables, _ = small_cohort
    args = (tables.patients, tables.lines, tables.variants, cfg.features, cfg.catalog)
    panel = load_panel(cfg.features, root)
    new = build_features(*args, panel=panel)
    ref = ref_build_features(*args, panel=panel)
    pd.testing.assert_frame_equal(new, ref, check_exact=True)
    assert np.nansum(new.filter(like="bm_").to_numpy(dtype=float)) > 0  # biomarkers found


def test_sixty_single_patients_equal_the_previous_implementation(
    small_cohort, small_recommender
) -> None:
    _, _, tables, _ = small_cohort
    rec = small_recommender[2]
    pick = tables.lines[["patient_key", "line_number"]].sample(60, random_state=7)
    ranked = 0
    for pk, line in zip(pick["patient_key"], pick["line_number"], strict=True):
        case = case_from_tables(tables, str(pk), int(line))
        new = rec.recommend(case).to_dict()
        ref = reference_recommend(rec, case)
        assert json.dumps(new["ranked"]) == json.dumps(ref["ranked"]), (pk, line)
        assert json.dumps(new["excluded"]) == json.dumps(ref["excluded"]), (pk, line)
        ranked += bool(new["ranked"])
    assert ranked >= 40  # most of them have eligible regimens to compare


def test_single_patient_features_equal_the_previous_implementation(
    small_cohort, small_recommender
) -> None:
    """One patient's tables, as a served case builds them, give the previous implementation's
    feature rows — also with a missing cancer type (the rules defined for some cancer types
    only are then missing), MSI recorded, and labs, markers and variants left out."""
    root, cfg, tables, _ = small_cohort
    panel = load_panel(cfg.features, root)
    pick = tables.lines[["patient_key", "line_number"]].sample(25, random_state=11)
    seen_msi = 0
    for i, (pk, line) in enumerate(zip(pick["patient_key"], pick["line_number"], strict=True)):
        patients, lines, variants = case_from_tables(tables, str(pk), int(line)).tables()
        if i % 3 == 1:
            patients["cancer_type"] = pd.array([pd.NA], dtype="string")
        if i % 3 == 2:
            lines = lines.drop(columns=[c for c in ("albumin", "ecog") if c in lines.columns])
            lines["msi_status"] = pd.array(["MSI-H"] + [None] * (len(lines) - 1), dtype="string")
            variants = variants.iloc[0:0]
        seen_msi += "msi_status" in lines.columns
        args = (patients, lines, variants, cfg.features, cfg.catalog)
        new = build_features(*args, panel=panel)
        pd.testing.assert_frame_equal(new, ref_build_features(*args, panel=panel), check_exact=True)
    assert seen_msi >= 5


def test_the_numpy_matrix_is_the_models_own(small_cohort, small_recommender) -> None:
    """input_codes equals the model's pandas matrix as codes, and the numpy scores equal
    ``predict_interval`` — including unseen categories and absent columns."""
    _, _, _, feats = small_cohort
    rec = small_recommender[2]
    rows = feats.head(50).copy()
    rows.loc[rows.index[:5], "cancer_type"] = "NOT_A_CANCER"  # unseen level: missing
    rows.loc[rows.index[5:8], "smoking_status"] = pd.NA
    rows = rows.drop(columns=["albumin"])  # an absent input: missing
    for model in rec.models.values():
        a = input_codes(rows, model)
        np.testing.assert_array_equal(a, model.codes(model.matrix(rows)))
        for got, want in zip(
            endpoint_scores(model, rows, codes=a), model.predict_interval(rows), strict=True
        ):
            np.testing.assert_array_equal(got, want)


def test_a_real_shaped_cohort_equals_the_previous_implementation(real_shaped) -> None:
    tables, feats, rec = real_shaped
    args = (feats, tables.patients, tables.lines, rec.models, rec.catalog, rec.preset(None))
    new = recommendations(
        *args,
        explain=rec.explain,
        separate=rec.separate,
        civic=rec.civic,
        variants=tables.variants,
        threads=1,
    )
    ref = reference_recommendations(*args, civic=rec.civic, variants=tables.variants, threads=1)
    assert len(new.ranked) >= 300  # every patient has at least one scored class
    _same_ranking(new, ref)


def test_lightgbm_treeshap_equals_the_shap_package(small_cohort, small_recommender) -> None:
    """The drivers use LightGBM's own exact TreeSHAP (``pred_contrib``) on the ranked rows only;
    it equals the shap package's path-dependent TreeExplainer on the same booster and rows."""
    import shap

    from precision_onco.recommend.explain import contributions

    _, _, tables, feats = small_cohort
    rec = small_recommender[2]
    ranking = recommendations(
        feats.head(30),
        tables.patients,
        tables.lines,
        rec.models,
        rec.catalog,
        rec.preset(None),
        explain=rec.explain,
        separate=rec.separate,
    )
    cand = ranking.candidates
    assert cand is not None
    model = rec.models["response"]
    codes = ranking.codes[model.input_key]
    contrib, bias = contributions(model, cand, codes=codes, threads=1)
    boosters = [m.estimator.booster_ for m in model.estimator.calibrated_classifiers_]
    total = np.zeros((len(cand), len(model.columns)))
    expected = 0.0
    for b in boosters:
        explainer = shap.TreeExplainer(b, feature_perturbation="tree_path_dependent")
        total += np.asarray(explainer.shap_values(codes))
        expected += float(np.ravel(explainer.expected_value)[0])
    np.testing.assert_allclose(contrib.to_numpy(), total / len(boosters), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(bias, expected / len(boosters), rtol=1e-6, atol=1e-9)
    assert np.abs(contrib.to_numpy()).max() > 0.01  # real contributions were compared
