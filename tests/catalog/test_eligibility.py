"""Eligibility rules of the catalog, with their reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from precision_onco.catalog import Catalog, biomarker_status, eligibility, to_short_hgvsp


@pytest.fixture(scope="module")
def catalog(default_config) -> Catalog:
    return Catalog(default_config.catalog)


def _state(**overrides) -> pd.DataFrame:
    row = {
        "patient_key": "pk_1",
        "cancer_type": "NSCLC",
        "oncotree_code": "LUAD",
        "line_number": 1,
        "creatinine_clearance": 90.0,
        "bilirubin": 0.6,
        "autoimmune_disease": 0,
        "prior_irae_grade3": 0,
        "diabetes": 0,
        "ild_history": 0,
        "ecog": 1,
        "pdl1_tps": 10.0,
        "msi_status": "MSS",
        "alk_status": "negative",
        "germline_brca": None,
        "hr_status": None,
    }
    row.update(overrides)
    return pd.DataFrame([row])


def _eligible(catalog: Catalog, state: pd.DataFrame, variants: pd.DataFrame | None = None):
    status = biomarker_status(catalog.biomarkers, markers=state, variants=variants)
    res = eligibility(state, status, catalog, with_reasons=True)
    ok = {rid for rid, m in zip(res.regimen_ids, res.mask[0], strict=True) if m}
    assert res.reasons is not None
    reasons = {rid: r for rid, r in zip(res.regimen_ids, res.reasons[0], strict=True) if r}
    return ok, reasons


def _variants(*pairs: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {"patient_key": "pk_1", "gene": [g for g, _ in pairs], "hgvsp": [h for _, h in pairs]}
    )


def test_egfr_driver_gets_osimertinib_and_no_first_line_io(catalog: Catalog) -> None:
    ok, why = _eligible(catalog, _state(pdl1_tps=80.0), _variants(("EGFR", "p.Leu858Arg")))
    assert "osimertinib" in ok
    assert "pembrolizumab_nsclc" not in ok
    assert "EGFR or ALK driver" in why["pembrolizumab_nsclc"]
    assert "pembrolizumab_carboplatin_pemetrexed" not in ok
    # at line 2 the first-line-only rule no longer applies
    ok2, _ = _eligible(
        catalog, _state(pdl1_tps=80.0, line_number=2), _variants(("EGFR", "p.L858R"))
    )
    assert "pembrolizumab_nsclc" in ok2


def test_exon19_deletion_is_sensitizing(catalog: Catalog) -> None:
    ok, _ = _eligible(catalog, _state(), _variants(("EGFR", "ENSP0001:p.Glu746_Ala750del")))
    assert "osimertinib" in ok
    ok, why = _eligible(catalog, _state(), _variants(("EGFR", "p.T790M")))
    assert "osimertinib" not in ok
    assert why["osimertinib"].startswith("requires EGFR sensitizing")


def test_line_range_and_cancer_type(catalog: Catalog) -> None:
    ok, why = _eligible(catalog, _state(), _variants(("KRAS", "p.G12C")))
    assert "sotorasib" not in ok and why["sotorasib"] == "allowed at lines 2-4 only"
    ok, _ = _eligible(catalog, _state(line_number=2), _variants(("KRAS", "p.G12C")))
    assert "sotorasib" in ok
    assert why["folfox"] == "indicated for COADREAD only"


def test_renal_and_autoimmune_contraindications(catalog: Catalog) -> None:
    ok, why = _eligible(
        catalog, _state(creatinine_clearance=30.0, autoimmune_disease=1, pdl1_tps=70.0)
    )
    assert "carboplatin_pemetrexed" not in ok
    assert "creatinine clearance below 45" in why["carboplatin_pemetrexed"]
    assert why["pembrolizumab_nsclc"] == "contraindicated: active autoimmune disease"
    ok, why = _eligible(
        catalog, _state(cancer_type="MEL", oncotree_code="SKCM", prior_irae_grade3=1)
    )
    assert "nivolumab" not in ok and "immune-related" in why["nivolumab"]
    assert "dacarbazine" in ok


def test_ras_mutant_crc_excluded_from_anti_egfr(catalog: Catalog) -> None:
    crc = {"cancer_type": "COADREAD", "oncotree_code": "COAD"}
    ok, _ = _eligible(catalog, _state(**crc), _variants(("TP53", "p.R273H")))
    assert "folfiri_cetuximab" in ok
    ok, why = _eligible(catalog, _state(**crc), _variants(("NRAS", "p.Gln61Lys")))
    assert "folfiri_cetuximab" not in ok and "RAS" in why["folfiri_cetuximab"]


def test_prior_exposure_blocks_rechallenge(catalog: Catalog) -> None:
    state = _state(cancer_type="MEL", oncotree_code="SKCM", line_number=2)
    status = biomarker_status(catalog.biomarkers, markers=state)
    prior = np.zeros((1, len(catalog.regimens)), dtype=bool)
    prior[0, catalog.index("nivolumab")] = True
    res = eligibility(state, status, catalog, prior_exposure=prior, with_reasons=True)
    j = catalog.index("nivolumab")
    assert not res.mask[0, j]
    assert res.reasons is not None
    assert res.reasons[0, j] == "already received at an earlier line"
    excluded = res.excluded()
    assert set(excluded.columns) == {"row", "regimen_id", "reason"}


def test_missing_contraindication_column_is_a_clear_error(catalog: Catalog) -> None:
    state = _state().drop(columns="creatinine_clearance")
    status = biomarker_status(catalog.biomarkers, markers=state)
    with pytest.raises(ValueError, match="needs the column 'creatinine_clearance'"):
        eligibility(state, status, catalog)


@pytest.mark.parametrize(
    ("raw", "short"),
    [
        ("ENSP00000275493.2:p.Leu858Arg", "p.L858R"),
        ("p.Gly12Cys", "p.G12C"),
        ("p.V600E", "p.V600E"),
        ("X-201:p.Arg12%3D", "p.R12="),
        ("p.Glu23ValfsTer17", "p.E23Vfs*17"),
        ("", None),
        (None, None),
    ],
)
def test_to_short_hgvsp(raw, short) -> None:
    assert to_short_hgvsp(raw) == short


#: Every way a missing protein change reaches the function: pandas string columns give
#: ``pd.NA``, object and float columns ``None`` or NaN (of any float type), datetimes ``NaT``.
MISSING = [None, pd.NA, float("nan"), np.nan, np.float32("nan"), pd.NaT]


@pytest.mark.parametrize("missing", MISSING, ids=repr)
def test_to_short_hgvsp_keeps_missing_missing(missing) -> None:
    assert to_short_hgvsp(missing) is None


@given(st.sampled_from(MISSING) | st.text())
def test_to_short_hgvsp_is_none_or_a_protein_change(raw) -> None:
    short = to_short_hgvsp(raw)
    if raw is not None and isinstance(raw, str) and raw.strip() not in ("", "."):
        assert short is not None and short.startswith("p.")
    else:
        assert short is None


def test_a_missing_protein_change_is_no_alteration(catalog: Catalog) -> None:
    """A STK11 call without a protein change (``pd.NA`` in a string column, as ingest reads
    it) does not make the patient STK11-mutant; with one it does."""
    state = _state()
    for hgvsp, mutant in ((pd.NA, False), ("p.Gln37Ter", True)):
        variants = _variants(("STK11", "p.X")).astype({"hgvsp": "string"})
        variants.loc[0, "hgvsp"] = hgvsp
        status = biomarker_status(catalog.biomarkers, markers=state, variants=variants)
        assert status["STK11_mutant"].tolist() == [mutant]
    hgvsp_short = pd.Series(["p.Leu858Arg", pd.NA], dtype="string").map(to_short_hgvsp)
    assert hgvsp_short.astype("string").isna().tolist() == [False, True]


# ------------------------------------------------------------- wild type only when tested
def _eligible_with_coverage(
    catalog: Catalog,
    state: pd.DataFrame,
    covered: set[str] | None,
    variants: pd.DataFrame | None = None,
):
    from precision_onco.catalog.biomarkers import biomarker_tested

    status = biomarker_status(catalog.biomarkers, markers=state, variants=variants)
    tested = biomarker_tested(catalog.biomarkers, markers=state, covered=[covered])
    res = eligibility(state, status, catalog, with_reasons=True, tested=tested, covered=[covered])
    ok = {rid for rid, m in zip(res.regimen_ids, res.mask[0], strict=True) if m}
    assert res.reasons is not None
    reasons = {rid: r for rid, r in zip(res.regimen_ids, res.reasons[0], strict=True) if r}
    return ok, reasons


def _crc(**overrides) -> pd.DataFrame:
    return _state(cancer_type="COADREAD", oncotree_code="COAD", alk_status=None, **overrides)


def test_colorectal_without_ras_coverage_needs_testing_before_anti_egfr(catalog: Catalog) -> None:
    ok, why = _eligible_with_coverage(catalog, _crc(), None)
    assert "folfiri_cetuximab" not in ok
    assert why["folfiri_cetuximab"].startswith(
        "needs KRAS/NRAS/BRAF testing: not for patients "
        "with RAS (KRAS or NRAS) activating mutation or "
        "BRAF V600E"
    )
    assert "did not cover KRAS, NRAS, BRAF" in why["folfiri_cetuximab"]
    # chemotherapy alone needs no test
    assert "folfox" in ok
    # a panel with KRAS only: NRAS and BRAF still untested
    ok, why = _eligible_with_coverage(catalog, _crc(), {"KRAS", "TP53"})
    assert "folfiri_cetuximab" not in ok
    assert why["folfiri_cetuximab"].startswith("needs NRAS/BRAF testing")


def test_colorectal_with_ras_and_braf_covered_and_wild_type_gets_anti_egfr(
    catalog: Catalog,
) -> None:
    ok, _ = _eligible_with_coverage(catalog, _crc(), {"KRAS", "NRAS", "BRAF", "TP53"})
    assert "folfiri_cetuximab" in ok
    # the same patient with a KRAS G12D: excluded for the mutation, not for testing
    ok, why = _eligible_with_coverage(
        catalog, _crc(), {"KRAS", "NRAS", "BRAF"}, _variants(("KRAS", "p.G12D"))
    )
    assert "folfiri_cetuximab" not in ok
    assert why["folfiri_cetuximab"].startswith("not for patients with RAS")
    # a mutation found without declared coverage is still a mutation
    ok, why = _eligible_with_coverage(catalog, _crc(), None, _variants(("NRAS", "p.Q61K")))
    assert why["folfiri_cetuximab"].startswith("not for patients with RAS")


def test_first_line_io_alone_needs_egfr_and_alk_tested(catalog: Catalog) -> None:
    state = _state(pdl1_tps=80.0, alk_status=None)
    ok, why = _eligible_with_coverage(catalog, state, None)
    assert "pembrolizumab_nsclc" not in ok
    reason = why["pembrolizumab_nsclc"]
    assert reason.startswith("needs EGFR testing")
    assert "alk_status is not recorded (ALK rearrangement)" in reason
    ok, why = _eligible_with_coverage(catalog, _state(pdl1_tps=80.0), {"EGFR", "ALK"})
    assert "pembrolizumab_nsclc" in ok


def test_a_required_driver_not_tested_says_so(catalog: Catalog) -> None:
    ok, why = _eligible_with_coverage(catalog, _state(line_number=2), {"EGFR"})
    assert why["sotorasib"].startswith("needs KRAS testing: requires KRAS G12C")
    ok, why = _eligible_with_coverage(catalog, _state(line_number=2), {"EGFR", "KRAS"})
    assert why["sotorasib"] == "requires KRAS G12C (not found)"


def test_status_and_tested_as_arrays_or_frames_give_the_same_eligibility(
    catalog: Catalog,
) -> None:
    """The served path passes the statuses and what was tested as arrays (no frames): the
    same mask and reasons as the frames of biomarker_status and biomarker_tested."""
    from precision_onco.catalog.biomarkers import (
        biomarker_status_columns,
        biomarker_tested,
        biomarker_tested_columns,
    )

    state = pd.concat(
        [_state(line_number=2), _crc(), _state(pdl1_tps=80.0, alk_status=None)],
        ignore_index=True,
    )
    variants = _variants(("KRAS", "p.G12C"))
    covered: list[set[str] | None] = [{"EGFR"}, None, {"EGFR", "ALK", "KRAS"}]
    frames = (
        biomarker_status(catalog.biomarkers, markers=state, variants=variants),
        biomarker_tested(catalog.biomarkers, markers=state, covered=covered),
    )
    arrays = (
        biomarker_status_columns(catalog.biomarkers, markers=state, variants=variants),
        biomarker_tested_columns(catalog.biomarkers, markers=state, covered=covered),
    )
    assert list(arrays[0]) == list(frames[0].columns) and list(arrays[1]) == list(frames[1])
    for cols, frame in zip(arrays, frames, strict=True):
        for b, v in cols.items():
            assert v.dtype == bool and np.array_equal(v, frame[b].to_numpy())
    a, f = (
        eligibility(state, s, catalog, with_reasons=True, tested=t, covered=covered)
        for s, t in (arrays, frames)
    )
    assert np.array_equal(a.mask, f.mask) and a.regimen_ids == f.regimen_ids
    assert a.reasons is not None and f.reasons is not None
    assert a.reasons.tolist() == f.reasons.tolist()
    assert (~a.mask).any() and a.mask.any()  # both outcomes are compared
