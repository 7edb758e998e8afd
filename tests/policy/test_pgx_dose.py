"""Pharmacogenomic dose evaluation on held-out synthetic lines (issue 17): the floors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from precision_onco.config import compose, endpoint_roles
from precision_onco.policy.pgx_dose import (
    dosing_study,
    held_out_dosing,
    regimen_drug_sets,
    toxicity_by_genotype,
)
from precision_onco.recommend.rank import rank_regimens

ROOT = Path(__file__).resolve().parents[2]
TOX = ("ae_grade3", "ae_hematologic_grade3", "ae_gastrointestinal_grade3")


def _dosing_endpoints(cfg) -> dict:
    roles = endpoint_roles(cfg.endpoints)
    return {"any_severe_ae": roles.any_severe_ae, "toxicities": roles.pgx_dose}


def _card_roles(cfg) -> dict:
    roles = endpoint_roles(cfg.endpoints)
    return {"efficacy": roles.efficacy, "any_severe_ae": roles.any_severe_ae}


@pytest.fixture(scope="module")
def pgx_cohort(tmp_path_factory: pytest.TempPathFactory):
    """1,200 synthetic patients with germline PGx, trained on response and three toxicities."""
    from precision_onco.features import build_features, load_panel
    from precision_onco.ingest.cohort import ingest_cohort
    from precision_onco.models.train import train_all
    from precision_onco.synth import synthesize

    root = tmp_path_factory.mktemp("pgx_cohort")
    _, cfg = compose(
        [
            "synth.n_patients=1200",
            "synth.calibration_patients=3000",
            "synth.calibration_iterations=2",
            "evaluation.bootstrap=30",
        ],
        conf_dir=ROOT / "conf",
    )
    cfg.endpoints = {k: v for k, v in cfg.endpoints.items() if k in ("response", *TOX)}
    synthesize(cfg, root / "data" / "raw")
    tables = ingest_cohort(cfg, root=root)
    feats = build_features(
        tables.patients,
        tables.lines,
        tables.variants,
        cfg.features,
        cfg.catalog,
        panel=load_panel(cfg.features, root),
    )
    res = train_all(cfg, feats, tables.lines)
    truth = pd.read_parquet(root / "data" / "raw" / "ground_truth.parquet")
    return cfg, tables, feats, res, truth


def test_toxicity_models_take_the_pgx_phenotype_and_the_dose(pgx_cohort) -> None:
    _, _, feats, res, _ = pgx_cohort
    for c in ("dpyd_activity_score", "ugt1a1_poor", "relative_dose"):
        assert c in feats.columns, c
        for ep in TOX:
            assert c in res.models[ep].columns, (ep, c)


def test_candidates_are_scored_at_their_recommended_starting_dose(pgx_cohort) -> None:
    cfg, tables, feats, res, _ = pgx_cohort
    held = feats.merge(res.predictions[["patient_key", "line_number"]])
    rk = rank_regimens(held, tables.patients, tables.lines, res.models, cfg.catalog, cfg.recommend)
    fp, _ = regimen_drug_sets(cfg.catalog)
    cand = rk.candidates
    assert cand is not None
    is_fp = cand["regimen_id"].isin(fp).to_numpy(bool)
    carrier = (cand["dpyd_activity_score"] < 2).to_numpy(bool)
    assert (cand.loc[is_fp & carrier, "relative_dose"] == 0.5).all()  # CPIC AS 1-1.5: 50 %
    assert (cand.loc[~is_fp & ~cand["regimen_id"].isin(["folfiri"]), "relative_dose"] == 1).all()
    # the observed line had the practice dose: the candidate row is not that
    given = held.set_index(["patient_key", "line_number"])["relative_dose"]
    obs = given.reindex(pd.MultiIndex.from_frame(cand[["patient_key", "line_number"]])).to_numpy()
    assert (obs[is_fp & carrier] != 0.5).any()


def test_recommended_doses_lower_true_toxicity_and_no_deficient_patient_gets_one(pgx_cohort):
    cfg, tables, feats, res, truth = pgx_cohort
    out = held_out_dosing(
        feats,
        tables.patients,
        tables.lines,
        res.predictions,
        res.models,
        cfg.catalog,
        cfg.recommend,
        truth,
        **_dosing_endpoints(cfg),
        bootstrap=200,
    )
    assert out["recommended_fluoropyrimidine_lines"] > 50
    assert out["dose_agreement"] == 1.0  # the ingested calls give the simulator's guidance
    for ep in TOX:
        a = out["recommended_fluoropyrimidine"][ep]["all"]
        assert a["recommended"] < a["observed"], ep  # the floor
        c = out["recommended_fluoropyrimidine"][ep]["dpyd_carriers"]
        assert c["n"] > 0 and c["difference"] < 0 and c["difference_high"] < 0, ep
    assert out["summary"]["recommended_lower_than_observed"] is True
    assert out["safety"]["deficient_recommended_fluoropyrimidine"] == 0
    assert out["observed_fluoropyrimidine"]["lines"] > 50


def test_deficient_patients_are_never_offered_a_fluoropyrimidine(pgx_cohort) -> None:
    """DPYD AS 0 or uracil >= 150 ng/mL (made so for held-out lines that had a
    fluoropyrimidine option): excluded, so neither offered nor recommended."""
    cfg, tables, feats, res, truth = pgx_cohort
    fp, _ = regimen_drug_sets(cfg.catalog)
    held_fp = (
        truth[truth["regimen_id"].isin(fp)]
        .merge(res.predictions[["patient_key", "line_number"]])
        .drop_duplicates(["patient_key", "line_number"])
    )
    pts = held_fp["patient_key"].drop_duplicates()
    as0, ura = pts.iloc[:20], pts.iloc[20:40]
    patients = tables.patients.copy()
    patients.loc[patients["patient_key"].isin(as0), "dpyd_activity_score"] = 0.0
    feats = feats.copy()  # the line state carries the score as a model input too
    feats.loc[feats["patient_key"].isin(as0), "dpyd_activity_score"] = 0.0
    lines = tables.lines.copy()
    lines.loc[lines["patient_key"].isin(ura), "uracil_ng_ml"] = 210.0
    held = res.predictions[res.predictions["patient_key"].isin(pd.concat([as0, ura]))]
    out = held_out_dosing(
        feats,
        patients,
        lines,
        held,
        res.models,
        cfg.catalog,
        cfg.recommend,
        truth,
        **_dosing_endpoints(cfg),
        bootstrap=0,
    )
    s = out["safety"]
    assert s["deficient_lines"] >= 40
    assert s["deficient_offered_fluoropyrimidine"] == 0
    assert s["deficient_recommended_fluoropyrimidine"] == 0
    # the count is real: a ranking that puts a fluoropyrimidine first for them is caught
    forced = held_fp[held_fp["patient_key"].isin(as0)][
        ["patient_key", "line_number", "regimen_id"]
    ].assign(rank=1, pgx_dose=None)
    caught = dosing_study(
        forced, truth, patients, lines, cfg.catalog, **_dosing_endpoints(cfg), bootstrap=0
    )
    assert caught["safety"]["deficient_recommended_fluoropyrimidine"] == len(forced) > 0
    assert caught["summary"]["no_deficient_patient_recommended"] is False


def test_toxicity_auc_and_calibration_in_carriers_and_non_carriers(pgx_cohort) -> None:
    cfg, tables, _, res, truth = pgx_cohort
    out = toxicity_by_genotype(
        res.predictions,
        tables.lines,
        tables.patients,
        cfg.catalog,
        endpoints=endpoint_roles(cfg.endpoints).pgx_dose,
        truth=truth,
        bootstrap=30,
    )
    fp, iri = regimen_drug_sets(cfg.catalog)
    on_fp = res.predictions["regimen_id"].isin(fp)
    scores = res.predictions["patient_key"].map(
        tables.patients.set_index("patient_key")["dpyd_activity_score"]
    )
    for ep in ("ae_hematologic_grade3", "ae_gastrointestinal_grade3"):
        c, nc = out["dpyd_carrier"][ep], out["dpyd_non_carrier"][ep]
        assert c["n"] == int((on_fp & (scores < 2)).sum()) > 0
        assert nc["n"] == int((on_fp & (scores == 2)).sum()) > 0
        for g in (c, nc):
            assert 0 <= g["mean_predicted"] <= 1 and 0 <= g["observed_rate"] <= 1
            assert 0 <= g["mean_true_probability"] <= 1
        assert 0 <= nc["auc"] <= 1 and nc["auc_low"] <= nc["auc"] <= nc["auc_high"]
        assert out["ugt1a1_poor"][ep]["n"] + out["ugt1a1_not_poor"][ep]["n"] == int(
            res.predictions["regimen_id"].isin(iri).sum()
        )
    assert toxicity_by_genotype(
        res.predictions,
        tables.lines,
        tables.patients.drop(columns=["dpyd_activity_score", "ugt1a1_phenotype"]),
        cfg.catalog,
        endpoints=endpoint_roles(cfg.endpoints).pgx_dose,
    ) == {
        "skipped": "the patients table has no germline "
        "pharmacogenomic call (cohort.inputs.germline)"
    }
    assert np.isfinite(out["dpyd_carrier"]["ae_hematologic_grade3"]["ece"])


def test_model_card_shows_the_pgx_section_in_both_languages(pgx_cohort) -> None:
    from precision_onco.report.model_card import render_model_card

    cfg, tables, feats, res, truth = pgx_cohort
    pgx = {
        "toxicity_by_genotype": toxicity_by_genotype(
            res.predictions,
            tables.lines,
            tables.patients,
            cfg.catalog,
            endpoints=endpoint_roles(cfg.endpoints).pgx_dose,
            truth=truth,
            bootstrap=0,
        ),
        "dosing": held_out_dosing(
            feats,
            tables.patients,
            tables.lines,
            res.predictions,
            res.models,
            cfg.catalog,
            cfg.recommend,
            truth,
            **_dosing_endpoints(cfg),
            bootstrap=50,
        ),
    }
    cohort = {
        "name": "synthetic",
        "synthetic": True,
        "patients": 1200,
        "lines": 3000,
        "cancer_types": {},
    }
    d = pgx["dosing"]["recommended_fluoropyrimidine"]["ae_grade3"]["all"]
    for lang, title, verdict in (
        (
            "en",
            "Pharmacogenomics and dose (DPYD, UGT1A1)",
            "Recommended doses lower the true grade ≥ 3 toxicity.",
        ),
        (
            "fr",
            "Pharmacogénomique et dose (DPYD, UGT1A1)",
            "Les doses recommandées abaissent la toxicité vraie de grade ≥ 3.",
        ),
    ):
        html = render_model_card(
            {}, calibration={}, shap={}, cohort=cohort, lang=lang, pgx=pgx, **_card_roles(cfg)
        )
        section = html[html.index('<section id="pgx">') : html.index('<section id="use">')]
        assert title in section and verdict in section
        assert section.count("<tr>") == 8 + 1 + 3 + 1  # 4 groups x 2 endpoints, 3 dosing rows
        from precision_onco.report.i18n import fmt_number

        assert fmt_number(d["recommended"], lang, 3) in section
    assert '<section id="pgx">' not in render_model_card(
        {}, calibration={}, shap={}, cohort=cohort, lang="en", **_card_roles(cfg)
    )
