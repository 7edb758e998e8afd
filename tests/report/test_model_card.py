"""The cohort model card: metrics with CIs, calibration plots, subgroups, SHAP summary,
intended use — in English and French, opened in real headless Chromium."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from precision_onco.config import endpoint_roles
from precision_onco.features import candidate_features
from precision_onco.models.evaluate import evaluate
from precision_onco.policy.study import study_policies
from precision_onco.report.model_card import render_model_card, shap_summary
from tests.report.test_patient_report import _open, needs_browser


@pytest.fixture(scope="module")
def cards(small_cohort, small_recommender, tmp_path_factory: pytest.TempPathFactory):
    root, _, tables, feats = small_cohort
    cfg, res, _ = small_recommender
    roles = endpoint_roles(cfg.endpoints)
    metrics, curves = evaluate(cfg, res.predictions, tables.lines, tables.patients)
    cfg_p = dataclasses.replace(cfg, policy=dataclasses.replace(cfg.policy, bootstrap=50, n_jobs=1))
    metrics["policy"] = study_policies(
        cfg_p,
        feats,
        tables.patients,
        tables.lines,
        res.predictions,
        res.models,
        {"balanced": cfg.recommend},
        truth=pd.read_parquet(root / "data/raw/ground_truth.parquet"),
    ).as_json()
    held = feats.merge(res.predictions[["patient_key", "line_number"]])
    rows = candidate_features(held, held["regimen_id"].tolist(), cfg.catalog)
    shap = shap_summary(res.models, rows, top=5, sample=200)
    out = tmp_path_factory.mktemp("cards")
    files = {}
    for lang in ("en", "fr"):
        files[lang] = out / f"model_card.{lang}.html"
        files[lang].write_text(
            render_model_card(
                metrics,
                calibration={ep: t["calibration"] for ep, t in curves.items()},
                shap=shap,
                cohort={
                    "name": "small",
                    "synthetic": True,
                    "patients": 400,
                    "lines": 700,
                    "cancer_types": {"NSCLC": 160},
                },
                lang=lang,
                policy=metrics["policy"],
                efficacy=roles.efficacy,
                any_severe_ae=roles.any_severe_ae,
            ),
            encoding="utf-8",
        )
    return metrics, shap, files


def test_shap_summary_ranks_features_by_mean_absolute_contribution(cards) -> None:
    _, shap, _ = cards
    assert set(shap) == {"response", "ae_grade3"}
    for items in shap.values():
        values = [v for _, v in items]
        assert len(items) == 5 and values == sorted(values, reverse=True) and values[0] > 0


def test_card_lists_every_endpoint_with_its_interval(cards) -> None:
    metrics, _, files = cards
    html = files["en"].read_text(encoding="utf-8")
    auc = metrics["response"]["overall"]["auc_low"]
    assert f"{auc:.3f}" in html and "ae_grade3" in html
    assert "Intended use" in html and "Limitations" in html and "synthetic cohort" in html


def test_card_shows_the_policy_study(cards) -> None:
    metrics, _, files = cards
    en, fr = (files[k].read_text(encoding="utf-8") for k in ("en", "fr"))
    pol = metrics["policy"]["policies"]
    assert "Does following the recommendations help?" in en
    assert "Suivre les recommandations améliore-t-il les résultats ?" in fr
    for name in (
        "Recommender (balanced)",
        "Observed practice",
        "Guideline rule",
        "Random eligible regimen",
        "Oracle (truly best)",
    ):
        assert name in en
    assert "Pratique observée" in fr and "Observed practice" not in fr
    b = pol["practice"]["utility"]
    assert f"{b['dr']:.3f} [{b['dr_low']:.3f}, {b['dr_high']:.3f}]" in en
    lo, mid, hi = (f"{v:.3f}".replace(".", ",") for v in (b["dr_low"], b["dr"], b["dr_high"]))
    assert f"{mid} [{lo} ; {hi}]" in fr  # decimal comma: the bounds are separated by " ; "
    section = en[en.index('<section id="policy">') : en.index('<section id="use">')]
    assert section.count("<svg") == 3 and section.count('aria-label="Policy values') == 3
    # the summary sentence states the gain over practice and the normalized regret
    gain = metrics["policy"]["summary"]["gain_over_practice"]
    assert (
        f"Recommender (balanced) against observed practice: {gain:+.3f} utility points" in section
    )
    g, lo, hi = metrics["policy"]["summary"]["dr_gain_over_practice"]
    assert f"paired with practice on the same resamples): {g:+.3f} [{lo:+.3f}, " in section
    assert "normalized regret" in section


@needs_browser
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_card_in_chromium(cards, lang: str, tmp_path: Path) -> None:
    _, _, files = cards
    page, errors, requests, browser, pw = _open(Path(files[lang]))
    try:
        page.screenshot(path=str(tmp_path / f"model_card.{lang}.png"), full_page=True)
        assert (tmp_path / f"model_card.{lang}.png").stat().st_size > 10_000
        assert page.evaluate(
            "[...document.querySelectorAll('svg')].every(s => s.getAttribute('aria-label'))"
        )
        assert errors == []
        assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
        assert page.evaluate("document.documentElement.lang") == lang
        assert page.locator("#metrics tbody tr").count() == 2
        assert page.locator("#calibration svg").count() == 2
        assert page.locator("#policy svg").count() == 3
        assert page.locator("#policy tbody tr").count() == 5  # one policy per row
        assert page.locator("#policy caption").count() == 0  # one training variant: no table
        assert page.evaluate("[...document.querySelectorAll('th')].every(th => th.scope)")
        text = page.locator("body").inner_text()
        if lang == "fr":
            assert "Fiche du modèle" in text and "Usage prévu" in text and "Limites" in text
            assert "Intended use" not in text
    finally:
        browser.close()
        pw.stop()


def test_warnings_come_first_and_name_external_validation() -> None:
    """A small cohort's warnings and a separate validation file are stated before anything."""
    from precision_onco.report.model_card import render_model_card

    metrics = {
        "skipped_endpoints": {"ae_grade3": "the lines table has no column 'ae_any_max_grade'"},
        "sample_size": {
            "response": {
                "small": True,
                "small_test": False,
                "test_events": 120,
                "reason": "too little data for response: 16 events in training",
            }
        },
    }
    cohort = {
        "name": "trial_x",
        "synthetic": False,
        "patients": 94,
        "lines": 94,
        "external_validation": "data/external/validation.csv",
    }
    for lang, phrase in (("en", "External validation"), ("fr", "Validation externe")):
        html = render_model_card(
            metrics,
            calibration={},
            shap={},
            cohort=cohort,
            lang=lang,
            inputs={"features": ["albumin", "FCNA"]},
            efficacy="response",
            any_severe_ae="ae_grade3",
        )
        assert html.index('id="warnings"') < html.index('id="cohort"')
        assert phrase in html and "data/external/validation.csv" in html
        assert "too little data for response" in html and "ae_grade3" in html
        assert "FCNA" in html
    import numpy as np

    from precision_onco.models.metrics import summarize

    rng = np.random.default_rng(0)
    overall = summarize(rng.integers(0, 2, 60), rng.random(60), bootstrap=20, bins=10, rng=rng)
    assert "no toxicity is predicted" in render_model_card(
        {"response": {"overall": overall}},
        calibration={},
        shap={},
        cohort=cohort,
        lang="en",
        efficacy="response",
        any_severe_ae="ae_grade3",
    )
