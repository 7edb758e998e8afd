"""The "Pharmacogenomics and dose" section of the patient report, in English and French."""

from __future__ import annotations

from pathlib import Path

import pytest

from precision_onco.config import compose
from precision_onco.recommend.patient import parse_payload
from precision_onco.report.patient import patient_context, render_patient
from precision_onco.report.pgx_section import pgx_section

from .test_recommend_pgx import crc


@pytest.fixture(scope="module")
def render(small_recommender):
    cfg, _, rec = small_recommender

    def _render(payload, lang):
        case = parse_payload(payload, tox_categories=cfg.catalog.toxicity_categories)
        answer = rec.recommend(case).to_dict()
        ctx = patient_context(
            answer,
            patient=case.patient,
            line_state=case.lines[-1],
            prior_lines=case.lines[:-1],
            variants=case.variants,
            catalog=cfg.catalog,
            efficacy=rec.roles.efficacy,
            any_severe_ae=rec.roles.any_severe_ae,
        )
        return render_patient(ctx, lang, cfg.catalog)

    return _render


def test_french_report_says_uracilemia_taken_into_account(render):
    payload = crc(dpyd_activity_score=1.5, dpyd_diplotype="Reference/c.2846A>T", uracil_ng_ml=12.5)
    html = render(payload, "fr")
    assert "<h2>Pharmacogénomique et dose</h2>" in html
    assert "Résultat d&#39;uracilémie pris en compte." in html
    assert "12,5 ng/mL (pas de déficit)" in html
    assert "1,5 (Reference/c.2846A&gt;T)" in html
    assert "fluorouracile" in html and "50\u202f% de la dose standard" in html


def test_english_report_section(render):
    html = render(crc(dpyd_activity_score=2.0, uracil_ng_ml=20), "en")
    assert "<h2>Pharmacogenomics and dose</h2>" in html
    assert "20 ng/mL (partial DPD deficiency)" in html
    assert "50% of the standard dose" in html
    assert "Uracilemia result taken into account for the fluoropyrimidine dose." in html


def test_untested_before_a_fluoropyrimidine_is_said(render):
    for lang, text in (
        ("en", "DPD status untested before a fluoropyrimidine"),
        ("fr", "Statut DPD non testé avant une fluoropyrimidine"),
    ):
        html = render(crc(), lang)
        assert text in html
        assert "pris en compte" not in html


def test_an_indeterminate_dpyd_call_shows_its_bound_not_not_tested(render):
    """Only an upper bound of the score is known (positions not tested): the table says so
    and the dose row applies the bound's ceiling; "not tested" would hide a known
    reduced-function allele from the prescriber."""
    payload = crc(dpyd_activity_score_max=1.0)
    en, fr = render(payload, "en"), render(payload, "fr")
    assert "at most 1 (indeterminate: other positions not tested)" in en
    assert "au plus 1 (indéterminé : autres positions non testées)" in fr
    assert "50% of the standard dose" in en
    assert "DPD status untested before a fluoropyrimidine" not in en
    shown = pgx_section(
        [{"regimen_id": "osimertinib", "pgx_dose": None}],
        patient={"dpyd_activity_score_max": 0.5, "dpyd_diplotype": None},
        line_state={},
    )
    assert shown["fr"]["tests"][0][1] == (
        "au plus 0,5 (indéterminé : autres positions non testées)"
    )


def test_no_section_without_pgx_rule_or_result():
    ranked = [{"regimen_id": "osimertinib", "name": "Osimertinib", "pgx_dose": None}]
    assert pgx_section(ranked, patient={"cancer_type": "NSCLC"}, line_state={}) == {}
    shown = pgx_section(ranked, patient={"dpyd_activity_score": 2.0}, line_state={})
    assert shown["en"]["tests"][0] == ["DPYD activity score", "2", "CPIC DPYD 2017/2024"]
    assert shown["fr"]["notes"] == [
        "Aucun protocole classé ne comporte de règle de dose pharmacogénomique."
    ]


def test_french_exclusion_reason(render):
    html = render(crc(dpyd_activity_score=0.0, dpyd_diplotype="c.1679T>G/c.1156G>T"), "fr")
    assert (
        "score d&#39;activité DPYD 0 (c.1679T&gt;G/c.1156G&gt;T) : fluoropyrimidines "
        "contre-indiquées (fluorouracile), CPIC DPYD 2017/2024"
    ) in html


def test_reason_fr_leaves_other_reasons():
    from precision_onco.report.pgx_section import reason_fr

    assert reason_fr("indicated for COADREAD only") is None
    assert reason_fr(
        "DPYD activity score at most 0.5 (c.1905+1G>A/c.2846A>T; other positions not tested): "
        "avoid fluoropyrimidines; if no alternative, a strongly reduced dose with early "
        "drug-level monitoring (capecitabine), CPIC DPYD 2017/2024"
    ) == (
        "score d'activité DPYD au plus 0,5 (c.1905+1G>A/c.2846A>T ; autres positions non "
        "testées) : éviter les fluoropyrimidines ; à défaut d'alternative, dose fortement "
        "réduite avec suivi pharmacologique précoce (capécitabine), CPIC DPYD 2017/2024"
    )


def test_batch_reports_show_the_lines_uracilemia(small_recommender, tmp_path):
    import pandas as pd

    from precision_onco.report.batch import write_patient_reports

    cfg, _, rec = small_recommender
    payload = crc(dpyd_activity_score=2.0, uracil_ng_ml=40)
    case = parse_payload(payload, tox_categories=cfg.catalog.toxicity_categories)
    answer = rec.recommend(case).to_dict()
    pk = case.patient_key
    files = write_patient_reports(
        {(pk, 1): answer},
        features=pd.DataFrame({"patient_key": [pk], "line_number": [1], "albumin": [3.9]}),
        patients=pd.DataFrame([{**case.patient, "patient_key": pk}]),
        lines=pd.DataFrame([{"patient_key": pk, "line_number": 1, "uracil_ng_ml": 40.0}]),
        variants=pd.DataFrame({"patient_key": [], "gene": [], "hgvsp": []}),
        catalog=cfg.catalog,
        genes=None,
        langs=["fr"],
        out_dir=tmp_path,
        efficacy=rec.roles.efficacy,
        any_severe_ae=rec.roles.any_severe_ae,
    )
    html = files[0].read_text(encoding="utf-8")
    assert "40 ng/mL (déficit partiel)" in html
    assert "Résultat d&#39;uracilémie pris en compte." in html


def test_reason_fr_of_a_ceiling_the_rules_write():
    """A dose rule taken at the activity score's upper bound (positions not tested) says it is
    a ceiling, in French too; a missing diplotype names no variant (nor says there is none)."""
    import pandas as pd

    from precision_onco.pgx.guidance import CEILING_NOTE
    from precision_onco.pgx.regimens import pgx_exclusions
    from precision_onco.report.pgx_section import reason_fr

    _, cfg = compose([], conf_dir=Path(__file__).resolve().parents[2] / "conf")
    folfox = next(r for r in cfg.catalog.regimens if r.id == "folfox")
    state = pd.DataFrame([{"dpyd_activity_score_max": 0.0}])
    ((hit, reason),) = pgx_exclusions(folfox, state)
    assert hit.tolist() == [True] and CEILING_NOTE in reason
    assert reason_fr(reason) == (
        "score d'activité DPYD au plus 0 (autres positions non testées) : "
        "fluoropyrimidines contre-indiquées (un plafond : les positions non testées ne peuvent "
        "qu'abaisser le score d'activité) (fluorouracile), CPIC DPYD 2017/2024"
    )
