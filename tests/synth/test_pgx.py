"""The simulator's germline pharmacogenomics: frequencies, uracilemia, dose, toxicity, VCFs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from precision_onco.catalog import Catalog
from precision_onco.config import ConfigError, compose
from precision_onco.pgx import pgx_from_vcf
from precision_onco.synth.pgx import (
    FILTER_ID,
    PgxRegimens,
    dose_effects,
    draw_germline,
    germline_records,
    guideline_doses,
    practice_doses,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cfg():
    return compose([], conf_dir=ROOT / "conf")[1]


@pytest.fixture(scope="module")
def big(cfg):
    """200,000 patients' germline draws (fast: no history)."""
    return draw_germline(np.random.default_rng(1), 200_000, cfg.synth.pgx)


def test_carrier_frequencies_are_the_published_european_ones(big) -> None:
    carriers = {
        name: float((big.dpyd == name).any(axis=1).mean())
        for name in ("c.1129-5923C>G", "c.1905+1G>A", "c.2846A>T", "c.1679T>G")
    }
    assert carriers["c.1129-5923C>G"] == pytest.approx(0.047, abs=0.002)  # HapB3
    assert carriers["c.1905+1G>A"] == pytest.approx(0.016, abs=0.0015)  # *2A
    assert carriers["c.2846A>T"] == pytest.approx(0.011, abs=0.0012)
    assert carriers["c.1679T>G"] < 0.003  # *13: rare
    hom28 = float((big.ugt1a1 == "*28").all(axis=1).mean())
    assert hom28 == pytest.approx(0.10, abs=0.005)
    assert (big.ugt1a1_poor == (big.ugt1a1 == "*28").all(axis=1)).all()


def test_activity_score_is_the_cpic_sum_and_the_risk_the_published_one(big) -> None:
    het_b3 = (big.dpyd == "c.1129-5923C>G").sum(axis=1) == 1
    one = (big.dpyd != "").sum(axis=1) == 1
    assert set(big.activity_score[het_b3 & one]) == {1.5}
    assert set(big.dpyd_rr[het_b3 & one]) == {1.59}  # Meulendijks 2015
    het_2a = one & ((big.dpyd == "c.1905+1G>A").sum(axis=1) == 1)
    assert set(big.activity_score[het_2a]) == {1.0}
    assert set(big.dpyd_rr[het_2a]) == {2.85}
    assert set(big.dpyd_rr[one & (big.dpyd == "c.2846A>T").any(axis=1)]) == {3.02}
    assert set(big.dpyd_rr[(big.dpyd == "").all(axis=1)]) == {1.0}


def test_uracilemia_rises_as_the_activity_score_falls(big) -> None:
    med = {s: float(np.median(big.uracil[big.activity_score == s])) for s in (2.0, 1.5, 1.0)}
    assert med[2.0] < med[1.5] < med[1.0]
    normal = big.uracil[big.activity_score == 2.0]
    assert 0.01 < float((normal >= 16).mean()) < 0.08  # few normal metabolisers above 16


def test_vcf_records_in_the_normal_column_give_back_the_drawn_genotype(cfg, tmp_path) -> None:
    from precision_onco.synth.writers import vcf_text, write_vcf

    germ = draw_germline(np.random.default_rng(3), 4000, cfg.synth.pgx)
    picks = {
        "HapB3 het": int(
            np.flatnonzero(
                ((germ.dpyd == "c.1129-5923C>G").sum(axis=1) == 1)
                & ((germ.dpyd != "").sum(axis=1) == 1)
            )[0]
        ),
        "*28/*28": int(np.flatnonzero(germ.ugt1a1_poor)[0]),
        "reference": int(
            np.flatnonzero((germ.dpyd == "").all(axis=1) & (germ.ugt1a1 == "*1").all(axis=1))[0]
        ),
    }
    recs = germline_records(germ)
    assert set(recs["filter"]) == {FILTER_ID}
    assert recs.groupby("pidx").size().nunique() == 1  # every defining position, every patient
    for label, i in picks.items():
        path = tmp_path / f"p{i}.vcf.gz"
        write_vcf(
            path, vcf_text(recs[recs["pidx"] == i], tumor="T1", normal="N1", file_date="20240101")
        )
        res = pgx_from_vcf(path)
        assert res.reading is not None and res.reading.sample == "N1", label
        d, u = res.genes["DPYD"], res.genes["UGT1A1"]
        assert d.activity_score == germ.activity_score[i], label
        assert d.not_tested == () and u.not_tested == (), label
        assert u.phenotype == germ.ugt1a1_phenotype()[i], label


def _regs(cfg) -> tuple[PgxRegimens, list[str]]:
    cat = Catalog(cfg.catalog)
    return PgxRegimens.from_catalog(cat), cat.regimen_ids


def test_practice_reduces_the_dose_of_known_carriers_but_not_always(cfg) -> None:
    regs, ids = _regs(cfg)
    j = ids.index("capecitabine")
    germ = draw_germline(np.random.default_rng(5), 60_000, cfg.synth.pgx)
    uracil = np.where(germ.activity_score < 2, 30.0, 8.0)  # measured, partial when a carrier
    frail = np.zeros(len(uracil), bool)
    dose, avoid, clinical = practice_doses(
        np.random.default_rng(6), germ, uracil, frail, regs, cfg.synth.pgx
    )
    carrier = germ.activity_score.copy()
    reduced = dose[carrier < 2, j] < 1
    assert 0.5 < reduced.mean() < 0.8  # practice_reduce_known_partial = 0.65, not always
    assert (dose[carrier == 2, j] == 1).all()
    assert (dose[:, ids.index("nivolumab")] == 1).all()  # no rule, not cytotoxic
    assert (clinical == 1).all()
    complete = np.full(len(uracil), 200.0)
    _, avoid, _ = practice_doses(
        np.random.default_rng(7), germ, complete, frail, regs, cfg.synth.pgx
    )
    assert 0.85 < avoid[:, j].mean() < 0.95  # practice_avoid_known_deficient = 0.9
    assert not avoid[:, ids.index("nivolumab")].any()


def test_guideline_doses_are_the_cpic_and_inca_ones(cfg) -> None:
    regs, ids = _regs(cfg)
    germ = draw_germline(np.random.default_rng(8), 30_000, cfg.synth.pgx)
    gd = guideline_doses(germ, np.full(len(germ.uracil), np.nan), regs)
    j = ids.index("capecitabine")
    assert set(gd[germ.activity_score == 2, j]) == {1.0}
    assert set(gd[germ.activity_score == 1.5, j]) == {0.5}
    assert np.isnan(gd[germ.activity_score <= 0.5, j]).all()
    k = ids.index("folfiri")
    normal_dpyd = germ.activity_score == 2
    assert set(gd[normal_dpyd & germ.ugt1a1_poor, k]) == {0.7}  # DPWG
    with_uracil = guideline_doses(germ, np.full(len(germ.uracil), 200.0), regs)
    assert np.isnan(with_uracil[:, j]).all()  # >= 150 ng/mL: contraindicated (INCa/HAS)


def test_carrier_risk_at_full_dose_and_its_fall_with_the_reduced_dose(cfg) -> None:
    regs, ids = _regs(cfg)
    cats = Catalog(cfg.catalog).toxicity_categories
    germ = draw_germline(np.random.default_rng(9), 50_000, cfg.synth.pgx)
    j, h = ids.index("capecitabine"), cats.index("hematologic")
    full = np.ones((len(germ.uracil), len(ids)))
    _, rr_full, _ = dose_effects(germ, full, regs, cfg.synth.pgx, cats)
    two_a = ((germ.dpyd == "c.1905+1G>A").sum(axis=1) == 1) & ((germ.dpyd != "").sum(axis=1) == 1)
    assert np.allclose(rr_full[two_a, j, h], 2.85)
    assert np.allclose(rr_full[:, ids.index("nivolumab"), h], 1.0)
    assert np.allclose(rr_full[:, j, cats.index("skin")], 1.0)  # hematologic and GI only
    half = np.where(regs.fluoropyrimidine[None, :], 0.5, 1.0) * full
    shift, rr_half, resp = dose_effects(germ, half, regs, cfg.synth.pgx, cats)
    assert np.allclose(rr_half[two_a, j, h], 1.0)  # AS 1 at 50 %: a non-carrier's risk
    assert np.allclose(resp[two_a, j], 0.0)  # ... and a non-carrier's efficacy
    normal = germ.activity_score == 2
    assert (shift[normal, j] < 0).all() and (resp[normal, j] < 0).all()


def test_lines_and_truth_carry_uracil_dose_and_the_guideline_truth(small_cohort: Path) -> None:
    lines = pd.read_csv(small_cohort / "therapy_lines.csv")
    patients = pd.read_csv(small_cohort / "patients.csv")
    assert {"uracil_ng_ml", "relative_dose"} <= set(lines.columns)
    cancer = lines["patient_id"].map(patients.set_index("patient_id")["cancer_type"])
    fp = lines["regimen_id"].isin(["folfox", "folfiri", "folfiri_cetuximab", "capecitabine"])
    assert lines.loc[fp, "uracil_ng_ml"].notna().mean() > 0.75  # measured for most
    # measured before a fluoropyrimidine only: never in lung cancer or melanoma
    assert lines.loc[cancer.isin(["NSCLC", "MEL"]), "uracil_ng_ml"].isna().all()
    assert lines["relative_dose"].between(0.05, 1).all()
    assert (
        lines.loc[
            cancer.isin(["NSCLC", "MEL"])
            & ~lines["regimen_id"].isin(
                [
                    "carboplatin_pemetrexed",
                    "pembrolizumab_carboplatin_pemetrexed",
                    "docetaxel",
                    "dacarbazine",
                ]
            ),
            "relative_dose",
        ]
        == 1
    ).all()
    truth = pd.read_parquet(small_cohort / "ground_truth.parquet")
    for c in (
        "relative_dose",
        "guideline_dose",
        "p_ae_grade3_at_guideline_dose",
        "p_ae_hematologic_grade3_at_guideline_dose",
    ):
        assert c in truth.columns, c
    assert int(truth["observed"].sum()) == len(lines)
    gd = truth.dropna(subset=["guideline_dose"])
    at_full = gd["guideline_dose"] == 1
    assert (
        gd.loc[at_full & (gd["relative_dose"] == 1), "p_ae_grade3_at_guideline_dose"]
        == gd.loc[at_full & (gd["relative_dose"] == 1), "p_ae_grade3"]
    ).all()


def test_a_wrong_synth_pgx_setting_names_the_key() -> None:
    with pytest.raises(
        ConfigError,
        match=r"synth\.pgx\.ugt1a1_allele_frequency\.x': 1\.5 is not "
        r"a frequency",
    ):
        compose(["+synth.pgx.ugt1a1_allele_frequency.x=1.5"], conf_dir=ROOT / "conf")
    with pytest.raises(
        ConfigError,
        match=r"synth\.pgx\.genotype_reported': 2\.0 is not a "
        r"probability",
    ):
        compose(["synth.pgx.genotype_reported=2.0"], conf_dir=ROOT / "conf")
    _, c = compose(["+synth.pgx.ugt1a1_allele_frequency.x=0.1"], conf_dir=ROOT / "conf")
    with pytest.raises(
        ValueError,
        match=r"synth\.pgx: alleles \['x'\] are not in the "
        r"definitions file",
    ):
        draw_germline(np.random.default_rng(0), 10, c.synth.pgx)
