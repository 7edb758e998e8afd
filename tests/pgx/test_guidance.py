"""Per-drug dose guidance: CPIC (DPYD), DPWG (UGT1A1), INCa/HAS 2018 (uracilemia)."""

from __future__ import annotations

import pytest

from precision_onco.pgx import interpret_uracil, load_definitions, pgx_from_vcf

from .conftest import panel


@pytest.mark.parametrize(
    ("value", "deficiency", "phenotype"),
    [
        (0, "none", "normal"),
        (15.9, "none", "normal"),
        (16, "partial", "intermediate"),
        (149.9, "partial", "intermediate"),
        (150, "complete", "poor"),
        (400, "complete", "poor"),
    ],
)
def test_uracil_bands(value, deficiency, phenotype):
    u = interpret_uracil(value, load_definitions())
    assert (u.deficiency, u.phenotype) == (deficiency, phenotype)
    assert u.source == "INCa/HAS 2018"


@pytest.mark.parametrize(
    ("genotypes", "percent", "avoid"),
    [
        ({}, 100, False),
        ({"c.2846A>T": "0/1"}, 50, False),  # AS 1.5
        ({"c.1905+1G>A": "0/1"}, 50, False),  # AS 1
        ({"c.1905+1G>A": "0/1", "c.1129-5923C>G": "0/1"}, None, True),  # AS 0.5
        ({"c.1679T>G": "0/1", "c.1156G>T": "0/1"}, None, True),  # AS 0
    ],
)
def test_fluoropyrimidines_follow_cpic(write_vcf, genotypes, percent, avoid):
    res = pgx_from_vcf(write_vcf(panel(genotypes)))
    for drug in ("fluorouracil", "capecitabine"):
        g = res.guidance(drug)
        assert (g.starting_dose_percent, g.avoid) == (percent, avoid)
        assert g.source == "CPIC DPYD 2017/2024"
        assert g.tested


def test_as0_reason_names_alleles_and_guideline(write_vcf):
    res = pgx_from_vcf(write_vcf(panel({"c.1679T>G": "0/1", "c.1156G>T": "0/1"})))
    g = res.guidance("capecitabine")
    assert g.action.startswith(
        "DPYD activity score 0 (c.1679T>G/c.1156G>T): fluoropyrimidines contraindicated"
    )
    assert g.source == "CPIC DPYD 2017/2024"


@pytest.mark.parametrize(
    ("ugt28", "ugt6", "percent"),
    [
        ("0/0", "0/0", 100),
        ("0/1", "0/0", 100),
        ("1/1", "0/0", 70),
        ("0/1", "0/1", 70),
        ("0/0", "1/1", 70),
    ],
)
def test_irinotecan_follows_dpwg(write_vcf, ugt28, ugt6, percent):
    g = pgx_from_vcf(write_vcf(panel(ugt28=ugt28, ugt6=ugt6))).guidance("irinotecan")
    assert g.starting_dose_percent == percent
    assert g.source == "DPWG UGT1A1-irinotecan"
    assert [r.basis.split()[0] for r in g.rules] == ["UGT1A1"]  # no uracil rule


def test_uracil_stricter_than_genotype_wins_and_both_shown(write_vcf):
    res = pgx_from_vcf(write_vcf(panel()), uracil_ng_ml=40)
    g = res.guidance("fluorouracil")
    assert g.starting_dose_percent == 50
    assert g.action.startswith("uracilemia 40 ng/mL (partial DPD deficiency)")
    assert "DPYD activity score 2" in g.action  # the other rule is shown
    assert [r.starting_dose_percent for r in g.rules] == [100, 50]
    assert g.source == "INCa/HAS 2018; GPCO-Unicancer/RNPGx 2018"


def test_genotype_stricter_than_uracil_wins(write_vcf):
    res = pgx_from_vcf(write_vcf(panel({"c.1905+1G>A": "1/1"})), uracil_ng_ml=12)
    g = res.guidance("capecitabine")
    assert g.avoid and g.starting_dose_percent is None
    assert g.action.startswith("DPYD activity score 0")
    assert "uracilemia 12 ng/mL" in g.action


def test_complete_deficiency_on_uracil_contraindicates(write_vcf):
    res = pgx_from_vcf(write_vcf(panel()), uracil_ng_ml=150)
    g = res.guidance("capecitabine")
    assert g.avoid
    assert "complete DPD deficiency: fluoropyrimidines contraindicated" in g.action


def test_ties_cite_both_sources(write_vcf):
    res = pgx_from_vcf(write_vcf(panel({"c.2846A>T": "0/1"})), uracil_ng_ml=20)
    g = res.guidance("fluorouracil")
    assert g.starting_dose_percent == 50
    assert g.source == "CPIC DPYD 2017/2024; INCa/HAS 2018; GPCO-Unicancer/RNPGx 2018"


def test_untested_patient_is_told(write_vcf):
    res = pgx_from_vcf(None)
    g = res.guidance("capecitabine")
    assert not g.tested and g.starting_dose_percent is None and not g.avoid
    assert g.action.startswith("untested before a fluoropyrimidine: DPYD not fully tested")
    assert "uracilemia not measured (mandatory in France" in g.action
    assert "rs3918290" in g.to_test


def test_uracil_alone_gives_a_dose():
    g = pgx_from_vcf(None, uracil_ng_ml=10).guidance("fluorouracil")
    assert g.tested and g.starting_dose_percent == 100


def test_indeterminate_dpyd_with_a_variant_gives_a_ceiling(write_vcf):
    from .conftest import DPYD

    c, p, r, a = DPYD["c.1905+1G>A"]
    g = pgx_from_vcf(write_vcf([(c, p, r, a, "0/1")])).guidance("capecitabine")
    assert g.starting_dose_percent == 50
    assert "at most 1" in g.action and "ceiling" in g.action
    assert "rs67376798" in g.to_test


def test_json_shape(write_vcf):
    res = pgx_from_vcf(write_vcf(panel({"c.2846A>T": "0/1"}, ugt28="0/1")), uracil_ng_ml=10)
    d = res.to_dict()
    assert d["genes"]["DPYD"]["activity_score"] == 1.5
    assert d["genes"]["DPYD"]["phenotype"] == "intermediate"
    assert d["genes"]["DPYD"]["alleles"][0]["name"] == "c.2846A>T"
    assert d["genes"]["DPYD"]["alleles"][0]["relative_risk_full_dose"] == 3.02
    assert d["genes"]["DPYD"]["not_tested"] == []
    assert d["genes"]["UGT1A1"]["diplotype"] == "*1/*28"
    assert d["genes"]["UGT1A1"]["phenotype"] == "intermediate"
    assert d["uracil"]["ng_ml"] == 10 and d["uracil"]["deficiency"] == "none"
    rec = {r["drug"]: r for r in d["recommendations"]}
    assert set(rec) == {"fluorouracil", "capecitabine", "irinotecan"}
    assert rec["capecitabine"]["starting_dose_percent"] == 50
    assert {"drug", "action", "starting_dose_percent", "source"} <= set(rec["capecitabine"])
    assert d["definitions"]["version"] == load_definitions().version
