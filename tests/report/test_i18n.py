"""Report wording: both languages have every label; numbers are written as each language does."""

from __future__ import annotations

import pandas as pd
import pytest

from precision_onco.report.i18n import _EN, _FR, fmt_number, fmt_percent, labels


def test_french_has_every_english_label_and_no_english_left() -> None:
    assert set(_FR) == set(_EN)
    cognates = {"calibration"}  # the same word in both languages
    same = [k for k in _EN if _EN[k] == _FR[k] and len(_EN[k]) > 8 and k not in cognates]
    assert same == [], same


@pytest.mark.parametrize(
    ("value", "lang", "text"),
    [
        (0.28, "en", "28%"),
        (0.28, "fr", "28\u202f%"),
        (0.005, "fr", "0\u202f%"),
        (None, "en", "—"),
        (float("nan"), "fr", "—"),
    ],
)
def test_percentages(value: float | None, lang: str, text: str) -> None:
    assert fmt_percent(value, lang) == text


def test_decimal_comma_and_grouping_in_french() -> None:
    assert fmt_number(3.4, "en", 1) == "3.4" and fmt_number(3.4, "fr", 1) == "3,4"
    assert fmt_number(12345.6, "en", 1) == "12,345.6"
    assert fmt_number(12345.6, "fr", 1) == "12\u202f345,6"


def test_medical_terms_in_french() -> None:
    fr = labels("fr")
    assert fr["p_response"] == "Réponse objective"
    assert fr["p_ae_grade3"] == "Toxicité de grade ≥ 3"
    assert fr["line"] == "Ligne de traitement"
    assert fr.term("immune_related") == "immuno-médiée" and fr.term("PR") == "réponse partielle"


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="report.lang: 'de'"):
        labels("de")


def test_needs_testing_reasons_are_translated(default_config) -> None:
    from precision_onco.catalog import Catalog, biomarker_status, eligibility
    from precision_onco.catalog.biomarkers import biomarker_tested
    from precision_onco.report.i18n import translate_reason

    cat = Catalog(default_config.catalog)
    state = pd.DataFrame(
        [
            {
                "patient_key": "pk_1",
                "cancer_type": "COADREAD",
                "oncotree_code": "COAD",
                "line_number": 1,
                "alk_status": None,
                "pdl1_tps": None,
                "msi_status": "MSS",
                "germline_brca": None,
                "hr_status": None,
                "ild_history": 0,
                "autoimmune_disease": 0,
                "prior_irae_grade3": 0,
                "diabetes": 0,
                "creatinine_clearance": 90.0,
                "bilirubin": 0.6,
                "ecog": 1,
            }
        ]
    )
    status = biomarker_status(cat.biomarkers, markers=state)
    tested = biomarker_tested(cat.biomarkers, markers=state, covered=[{"TP53"}])
    el = eligibility(state, status, cat, with_reasons=True, tested=tested, covered=[{"TP53"}])
    assert el.reasons is not None
    reason = el.reasons[0, cat.index("folfiri_cetuximab")]
    fr = translate_reason(reason, "fr", cat.config)
    assert fr.startswith(
        "test nécessaire (KRAS/NRAS/BRAF) : non indiqué en cas de : mutation "
        "activatrice de RAS (KRAS ou NRAS) ou BRAF V600E ; le panel du patient "
        "ne couvrait pas KRAS, NRAS, BRAF"
    )
    assert "needs" not in fr and "assay" not in fr
