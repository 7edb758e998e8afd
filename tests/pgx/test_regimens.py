"""PGx in eligibility and starting doses: regimens excluded where the guideline says avoid."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from precision_onco.catalog import Catalog, biomarker_status, eligibility
from precision_onco.pgx.regimens import attach_pgx_state, pgx_exclusions, regimen_doses
from precision_onco.recommend.patient import PayloadError, parse_payload

FP_REGIMENS = ("folfox", "folfiri", "folfiri_cetuximab")


@pytest.fixture(scope="module")
def catalog(default_config) -> Catalog:
    return Catalog(default_config.catalog)


def _state(**pgx) -> pd.DataFrame:
    row = {
        "patient_key": "pk_000000000000000000000001",
        "cancer_type": "COADREAD",
        "oncotree_code": "COAD",
        "line_number": 1,
        "creatinine_clearance": 90.0,
        "bilirubin": 0.6,
        "autoimmune_disease": 0,
        "prior_irae_grade3": 0,
        "diabetes": 0,
        "ild_history": 0,
        "ecog": 1,
        "msi_status": "MSS",
        "alk_status": None,
        "germline_brca": None,
        "hr_status": None,
        "pdl1_tps": None,
    }
    row.update(pgx)
    return pd.DataFrame([row])


def _eligible(catalog: Catalog, state: pd.DataFrame):
    status = biomarker_status(catalog.biomarkers, markers=state, variants=None)
    res = eligibility(state, status, catalog, with_reasons=True)
    ok = {rid for rid, m in zip(res.regimen_ids, res.mask[0], strict=True) if m}
    assert res.reasons is not None
    reasons = {rid: r for rid, r in zip(res.regimen_ids, res.reasons[0], strict=True) if r}
    return ok, reasons


def test_no_pgx_columns_changes_nothing(catalog):
    ok, _ = _eligible(catalog, _state())
    assert {"folfox", "folfiri"} <= ok
    assert all(pgx_exclusions(r, _state()) == [] for r in catalog.regimens)


def test_dpyd_as0_excludes_fluoropyrimidine_regimens(catalog):
    ok, why = _eligible(
        catalog, _state(dpyd_activity_score=0.0, dpyd_diplotype="c.1679T>G/c.1156G>T")
    )
    assert not ok & set(FP_REGIMENS)
    assert why["folfox"] == (
        "DPYD activity score 0 (c.1679T>G/c.1156G>T): fluoropyrimidines contraindicated "
        "(fluorouracil), CPIC DPYD 2017/2024"
    )


def test_dpyd_as05_avoid(catalog):
    ok, why = _eligible(catalog, _state(dpyd_activity_score=0.5))
    assert "folfox" not in ok
    assert why["folfox"].startswith("DPYD activity score 0.5")


@pytest.mark.parametrize(
    ("pgx", "basis"),
    [
        # a bound (positions not tested) with the variants found named: they are said
        (
            {"dpyd_activity_score_max": 0.5, "dpyd_diplotype": "c.1905+1G>A/c.2846A>T"},
            "DPYD activity score at most 0.5 (c.1905+1G>A/c.2846A>T; other positions not tested)",
        ),
        # a bound without them: the variants are unknown, never said to be absent
        (
            {"dpyd_activity_score_max": 0.5},
            "DPYD activity score at most 0.5 (other positions not tested)",
        ),
        (
            {"dpyd_activity_score": 0.5, "dpyd_diplotype": "c.1679T>G/Reference"},
            "DPYD activity score 0.5 (c.1679T>G/Reference)",
        ),
        ({"dpyd_activity_score": 0.5}, "DPYD activity score 0.5"),
    ],
)
def test_dpyd_reason_says_the_variants_only_when_known(catalog, pgx, basis):
    """The reason names the patient's DPYD variants when the state has them (with an activity
    score or only its upper bound) and says nothing of them otherwise: a score below 2 means
    variants were found, so "no variant" would be false."""
    _, why = _eligible(catalog, _state(**pgx))
    assert why["folfox"].startswith(basis + ": ")
    assert "no variant" not in why["folfox"]


def test_dpyd_reason_of_a_patient_without_variants(catalog):
    """A patient called without DPYD variants (Reference/Reference, score 2) is not excluded
    and the dose guidance says the diplotype; without the diplotype, only the score."""
    regs = {r.id: r for r in catalog.regimens}
    for pgx, basis in (
        (
            {"dpyd_activity_score": 2.0, "dpyd_diplotype": "Reference/Reference"},
            "DPYD activity score 2 (Reference/Reference): ",
        ),
        ({"dpyd_activity_score": 2.0}, "DPYD activity score 2: "),
    ):
        state = _state(**pgx)
        ok, _ = _eligible(catalog, state)
        assert "folfox" in ok
        (d,) = json.loads(regimen_doses(state, np.array([0]), ["folfox"], regs)[0])
        assert d["action"].startswith(basis) and d["starting_dose_percent"] == 100


def test_uracil_complete_deficiency_excludes(catalog):
    ok, why = _eligible(catalog, _state(uracil_ng_ml=180.0, dpyd_activity_score=2.0))
    assert "folfiri" not in ok
    assert why["folfiri"] == (
        "uracilemia 180 ng/mL (complete DPD deficiency): complete DPD deficiency: "
        "fluoropyrimidines contraindicated (fluorouracil), INCa/HAS 2018"
    )


def test_capecitabine_excluded_in_breast(catalog):
    state = _state(cancer_type="BRCA", oncotree_code="IDC", uracil_ng_ml=150.0)
    ok, why = _eligible(catalog, state)
    assert "capecitabine" not in ok
    assert "(capecitabine), INCa/HAS 2018" in why["capecitabine"]


def test_reduced_dose_not_excluded_and_dosed(catalog):
    state = _state(
        dpyd_activity_score=1.0,
        ugt1a1_phenotype="poor",
        ugt1a1_diplotype="*28/*28",
        uracil_ng_ml=10.0,
    )
    ok, _ = _eligible(catalog, state)
    assert {"folfox", "folfiri"} <= ok
    regs = {r.id: r for r in catalog.regimens}
    doses = regimen_doses(
        state, np.array([0, 0, 0]), ["folfox", "folfiri", "pembrolizumab_crc"], regs
    )
    assert doses[2] is None
    folfox = json.loads(doses[0])
    assert [(d["drug"], d["starting_dose_percent"]) for d in folfox] == [("fluorouracil", 50)]
    assert folfox[0]["source"] == "CPIC DPYD 2017/2024"
    folfiri = {d["drug"]: d for d in json.loads(doses[1])}
    assert folfiri["irinotecan"]["starting_dose_percent"] == 70
    assert folfiri["irinotecan"]["action"].startswith("UGT1A1 *28/*28 (poor metaboliser)")


def test_untested_is_said(catalog):
    regs = {r.id: r for r in catalog.regimens}
    doses = regimen_doses(_state(), np.array([0]), ["folfox"], regs)
    d = json.loads(doses[0])[0]
    assert d["tested"] is False and d["starting_dose_percent"] is None
    assert d["action"].startswith("untested before a fluoropyrimidine")


def test_bad_score_message(catalog):
    reg = next(r for r in catalog.regimens if r.id == "folfox")
    with pytest.raises(
        ValueError, match="dpyd_activity_score must be 0, 0.5, 1, 1.5 or 2, got 0.7"
    ):
        pgx_exclusions(reg, _state(dpyd_activity_score=0.7))


def test_attach_line_wins_over_patient():
    state = pd.DataFrame({"patient_key": ["a", "a", "b"], "line_number": [1, 2, 1]})
    patients = pd.DataFrame(
        {"patient_key": ["a", "b"], "dpyd_activity_score": [1.0, 2.0], "uracil_ng_ml": [5.0, 5.0]}
    )
    lines = pd.DataFrame(
        {"patient_key": ["a", "a"], "line_number": [1, 2], "uracil_ng_ml": [20.0, np.nan]}
    )
    out = attach_pgx_state(state, patients, lines)
    assert out["dpyd_activity_score"].tolist() == [1.0, 1.0, 2.0]
    assert out["uracil_ng_ml"].tolist()[0] == 20.0
    assert np.isnan(out["uracil_ng_ml"].tolist()[2])


def test_payload_accepts_pgx_fields(default_config):
    payload = {
        "patient": {
            "patient_key": "pk_0000000000000000000000aa",
            "sex": "F",
            "cancer_type": "COADREAD",
            "dpyd_activity_score": 1.5,
            "ugt1a1_phenotype": "Intermediate",
        },
        "line_number": 1,
        "lines": [{"line_number": 1, "uracil_ng_ml": 22.5}],
    }
    case = parse_payload(payload, tox_categories=default_config.catalog.toxicity_categories)
    assert case.patient["ugt1a1_phenotype"] == "intermediate"
    assert case.lines[0]["uracil_ng_ml"] == 22.5
    payload["lines"][0]["uracil_ng_ml"] = -1
    with pytest.raises(PayloadError, match=r"lines\[0\].uracil_ng_ml: expected"):
        parse_payload(payload, tox_categories=default_config.catalog.toxicity_categories)


def test_add_to_payload_from_a_vcf(write_vcf, default_config):
    from precision_onco.pgx import pgx_from_vcf
    from precision_onco.pgx.regimens import add_to_payload

    from .conftest import panel

    res = pgx_from_vcf(write_vcf(panel({"c.2846A>T": "0/1"}, ugt28="1/1")), uracil_ng_ml=30)
    payload = {
        "patient": {
            "patient_key": "pk_0000000000000000000000bb",
            "sex": "M",
            "cancer_type": "COADREAD",
        },
        "line_number": 2,
        "lines": [{"line_number": 1, "regimen_id": "folfox"}],
    }
    add_to_payload(payload, res)
    assert payload["patient"]["dpyd_activity_score"] == 1.5
    assert payload["patient"]["ugt1a1_diplotype"] == "*28/*28"
    assert payload["lines"][-1] == {"line_number": 2, "uracil_ng_ml": 30.0}
    case = parse_payload(payload, tox_categories=default_config.catalog.toxicity_categories)
    assert case.patient["ugt1a1_phenotype"] == "poor"


def test_add_to_payload_keeps_the_ceiling(write_vcf):
    from precision_onco.pgx import pgx_from_vcf
    from precision_onco.pgx.regimens import add_to_payload

    from .conftest import DPYD

    c, p, r, a = DPYD["c.1905+1G>A"]
    payload = add_to_payload({"line_number": 1}, pgx_from_vcf(write_vcf([(c, p, r, a, "0/1")])))
    assert payload["patient"] == {
        "dpyd_activity_score_max": 1.0,
        "ugt1a1_phenotype": "indeterminate",
    }
    state = _state(**payload["patient"])
    doses = regimen_doses(state, np.array([0]), ["folfox"], _folfox())
    d = json.loads(doses[0])[0]
    assert d["starting_dose_percent"] == 50 and "ceiling" in d["action"]


def _folfox():
    from precision_onco.config.schema import RegimenConfig

    return {
        "folfox": RegimenConfig(
            id="folfox",
            name="FOLFOX",
            cancer_types=["COADREAD"],
            drugs=["fluorouracil", "leucovorin", "oxaliplatin"],
        )
    }


def test_recommend_cli_reads_the_germline_vcf_first(tmp_path, default_config, capsys):
    """The germline VCF is read before the model is loaded: its error comes first."""
    from precision_onco.cli import main
    from precision_onco.config import to_yaml

    params = tmp_path / "params.yaml"
    params.write_text(to_yaml(default_config), encoding="utf-8")
    clinical = tmp_path / "p.json"
    clinical.write_text(
        json.dumps(
            {"patient": {"patient_id": "X1", "sex": "M", "cancer_type": "COADREAD"}, "lines": []}
        )
    )
    rc = main(
        [
            "recommend",
            "--clinical",
            str(clinical),
            "--line",
            "1",
            "--germline-vcf",
            str(tmp_path / "germline.vcf"),
            "--params",
            str(params),
        ]
    )
    assert rc == 2
    assert "germline.vcf: no such file" in capsys.readouterr().err


def test_starting_dose_fractions_equal_the_row_by_row_guidance(default_config) -> None:
    """The doses of many rows (computed once per distinct PGx state) are those each row gets
    alone from the guidance, whatever kind of missing value (None, NaN, NA) a column holds."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from precision_onco.pgx.regimens import (
        PGX_STATE_COLUMNS,
        _pgx_drugs,
        _row_guidance,
        starting_dose_fractions,
    )

    regimens = [r for r in default_config.catalog.regimens if _pgx_drugs(r)][:6]
    regimens.append(next(r for r in default_config.catalog.regimens if not _pgx_drugs(r)))
    missing = st.sampled_from([None, float("nan"), pd.NA])
    values = {
        "dpyd_activity_score": st.one_of(missing, st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0])),
        "dpyd_diplotype": st.one_of(missing, st.sampled_from(["Reference/Reference"])),
        "dpyd_activity_score_max": st.one_of(missing, st.sampled_from([0.5, 1.0, 1.5])),
        "ugt1a1_phenotype": st.one_of(missing, st.sampled_from(["normal", "intermediate", "poor"])),
        "ugt1a1_diplotype": missing,
        "uracil_ng_ml": st.one_of(missing, st.sampled_from([5.0, 16.0, 150.0, 200.0])),
    }
    rows = st.lists(st.fixed_dictionaries(values), min_size=0, max_size=25)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(rows=rows, cols=st.sets(st.sampled_from(PGX_STATE_COLUMNS)))
    def check(rows: list[dict], cols: set[str]) -> None:
        kept = [c for c in PGX_STATE_COLUMNS if c in cols]
        state = pd.DataFrame([{c: r[c] for c in kept} for r in rows], columns=kept)
        frac, avoid = starting_dose_fractions(state, regimens)
        assert frac.shape == avoid.shape == (len(rows), len(regimens))
        for i in range(len(rows)):
            row = {c: state[c].iloc[i] for c in kept}
            for j, reg in enumerate(regimens):
                want, shun = 1.0, False
                for drug in _pgx_drugs(reg):
                    g = _row_guidance(row, drug)
                    if g.avoid:
                        shun = True
                    elif g.starting_dose_percent is not None:
                        want = min(want, g.starting_dose_percent / 100.0)
                assert (frac[i, j], avoid[i, j]) == (want, shun)

    check()
