"""Features: only information known at line start, genomics over the panel, candidate regimens."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from precision_onco.config import compose
from precision_onco.features import build_features, candidate_features, load_panel, model_matrix

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cfg():
    return compose([], conf_dir=ROOT / "conf")[1]


def _cohort() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    patients = pd.DataFrame(
        {
            "patient_key": ["pk_a", "pk_b"],
            "sex": ["F", "M"],
            "cancer_type": ["NSCLC", "COADREAD"],
            "stage": ["IVA", "III"],
            "smoking_status": ["former", "never"],
        }
    )
    lines = pd.DataFrame(
        {
            "patient_key": ["pk_a", "pk_a", "pk_a", "pk_b"],
            "line_number": [1, 2, 3, 1],
            "regimen_id": [
                "pembrolizumab_carboplatin_pemetrexed",
                "docetaxel",
                "sotorasib",
                "folfox",
            ],
            "start_date": pd.to_datetime(["2020-01-01", "2020-08-01", "2021-03-01", "2020-02-01"]),
            "ecog": [0, 1, 2, 1],
            "albumin": [4.0, 3.6, 3.1, 4.2],
            "pdl1_tps": [60, 60, 60, np.nan],
            "msi_status": ["MSS", "MSS", "MSS", "MSI-H"],
            "best_response": ["PR", "PD", "SD", "CR"],
            "objective_response": [1, 0, 0, 1],
            "ae_any_max_grade": [3, 1, 2, 0],
            "ae_immune_related_max_grade": [3, 0, 0, 0],
        }
    )
    variants = pd.DataFrame(
        {
            "patient_key": ["pk_a", "pk_a", "pk_a", "pk_b"],
            "gene": ["KRAS", "TP53", "EGFR", "BRAF"],
            "hgvsp": ["p.Gly12Cys", "p.Arg273His", "p.Leu858Arg", "p.Val600Glu"],
            "consequence": [
                "missense_variant",
                "missense_variant",
                "synonymous_variant",
                "missense_variant",
            ],
            "vaf": [0.3, 0.4, 0.3, 0.25],
        }
    )
    return patients, lines, variants


def test_panel_has_at_least_100_genes_with_pathways(cfg) -> None:
    panel = load_panel(cfg.features, ROOT)
    assert len(panel) >= 100
    assert {"EGFR", "KRAS", "BRAF", "PIK3CA", "TP53", "STK11"} <= set(panel["symbol"])
    assert panel["pathway"].nunique() >= 10


def test_history_uses_earlier_lines_only(cfg) -> None:
    patients, lines, variants = _cohort()
    panel = load_panel(cfg.features, ROOT)
    f = build_features(patients, lines, variants, cfg.features, cfg.catalog, panel=panel)
    a = f[f["patient_key"] == "pk_a"].set_index("line_number")
    assert a.loc[1, "prior_lines"] == 0 and np.isnan(a.loc[1, "prior_best_response"])
    assert a.loc[2, "prior_best_response"] == 2  # PR on line 1
    assert a.loc[3, "prior_best_response"] == 0 and a.loc[3, "prior_best_response_ever"] == 2
    assert list(a["prior_grade3"]) == [0, 1, 1] and list(a["prior_irae_grade3"]) == [0, 1, 1]
    assert list(a["prior_immunotherapy"]) == [0, 1, 1]
    assert list(a["prior_platinum"]) == [0, 1, 1]


def test_outcomes_of_the_line_and_later_never_change_its_features(cfg) -> None:
    """Leakage check: rewrite every outcome of line L and later; line L's features stay."""
    patients, lines, variants = _cohort()
    panel = load_panel(cfg.features, ROOT)
    base = build_features(patients, lines, variants, cfg.features, cfg.catalog, panel=panel)
    for cut in (1, 2, 3):
        changed = lines.copy()
        later = changed["line_number"] >= cut
        changed.loc[later, "best_response"] = "CR"
        changed.loc[later, "objective_response"] = 1
        changed.loc[later, "ae_any_max_grade"] = 5
        changed.loc[later, "ae_immune_related_max_grade"] = 4
        other = build_features(patients, changed, variants, cfg.features, cfg.catalog, panel=panel)
        rows = (base["line_number"] <= cut).to_numpy()
        pd.testing.assert_frame_equal(base.loc[rows], other.loc[rows])
    assert not {"best_response", "objective_response", "ae_any_max_grade"} & set(base.columns)


def test_genomics_biomarkers_and_tmb(cfg) -> None:
    patients, lines, variants = _cohort()
    panel = load_panel(cfg.features, ROOT)
    f = build_features(patients, lines, variants, cfg.features, cfg.catalog, panel=panel)
    a = f[f["patient_key"] == "pk_a"].iloc[0]
    b = f[f["patient_key"] == "pk_b"].iloc[0]
    assert a["gene_KRAS"] == 1 and a["gene_TP53"] == 1
    assert a["gene_EGFR"] == 0  # synonymous: not protein-altering
    assert a["bm_KRAS_G12C"] == 1 and a["bm_EGFR_sensitizing"] == 0
    assert b["bm_BRAF_V600E"] == 1 and b["msi_high"] == 1
    assert a["tmb"] == pytest.approx(2 / cfg.features.panel_size_mb)
    assert a["pathway_rtk_ras"] >= 1 and a["pathway_tp53"] == 1
    assert a["stage_rank"] == 4 and b["stage_rank"] == 3


def test_candidate_features_and_matrix(cfg) -> None:
    patients, lines, variants = _cohort()
    panel = load_panel(cfg.features, ROOT)
    f = build_features(patients, lines, variants, cfg.features, cfg.catalog, panel=panel)
    row = f[(f["patient_key"] == "pk_a") & (f["line_number"] == 3)]
    cands = ["sotorasib", "pembrolizumab_nsclc", "not_in_catalog"]
    c = candidate_features(pd.concat([row] * 3, ignore_index=True), cands, cfg.catalog)
    assert list(c["regimen_id"]) == cands
    assert c.loc[0, "required_biomarkers_present"] == 1  # KRAS G12C for sotorasib
    assert c.loc[1, "same_class_before_immunotherapy"] == 1
    assert np.isnan(c.loc[2, "regimen_has_targeted"])
    x = model_matrix(c, ["regimen_id", "albumin"], {"regimen_id": ["sotorasib"]})
    assert x["regimen_id"].tolist()[0] == "sotorasib" and pd.isna(x["regimen_id"].tolist()[1])


def test_pgx_phenotype_and_relative_dose_are_inputs(cfg) -> None:
    """DPYD activity score, UGT1A1 poor flag (missing when indeterminate) and the line's
    relative starting dose (issue 17); without those columns, no such feature."""
    patients, lines, variants = _cohort()
    panel = load_panel(cfg.features, ROOT)
    plain = build_features(patients, lines, variants, cfg.features, cfg.catalog, panel=panel)
    assert not {"dpyd_activity_score", "ugt1a1_poor", "relative_dose"} & set(plain.columns)
    patients = patients.assign(
        dpyd_activity_score=[2.0, np.nan], ugt1a1_phenotype=["poor", "indeterminate"]
    )
    lines = lines.assign(relative_dose=[1.0, 0.8, 1.0, 0.5])
    f = build_features(patients, lines, variants, cfg.features, cfg.catalog, panel=panel)
    a = f[f["patient_key"] == "pk_a"]
    b = f[f["patient_key"] == "pk_b"]
    assert (a["dpyd_activity_score"] == 2.0).all() and b["dpyd_activity_score"].isna().all()
    assert (a["ugt1a1_poor"] == 1.0).all() and b["ugt1a1_poor"].isna().all()
    assert a.sort_values("line_number")["relative_dose"].tolist() == [1.0, 0.8, 1.0]
    assert b["relative_dose"].tolist() == [0.5]
