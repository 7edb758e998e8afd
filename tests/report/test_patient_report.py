"""Patient reports opened in real headless Chromium: content, languages, no network, no console
errors, accessibility basics, and print-to-PDF."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from precision_onco.recommend.patient import parse_payload
from precision_onco.report.patient import patient_context, render_patient
from precision_onco.report.pdf import CHROMIUM_FLAGS, html_to_pdf

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_browser = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium not installed (`make browser` installs Debian's chromium package)",
)

PAYLOAD: dict[str, Any] = {
    "patient": {
        "patient_key": "pk_00000000000000000000e7a1",
        "sex": "F",
        "cancer_type": "NSCLC",
        "oncotree_code": "LUAD",
        "stage": "IV",
        "ecog": 1,
        "alk_status": "negative",
    },
    "line_number": 2,
    "lines": [
        {
            "line_number": 1,
            "regimen_id": "carboplatin_pemetrexed",
            "best_response": "PR",
            "ae_any_max_grade": 3,
        },
        {
            "line_number": 2,
            "albumin": 3.4,
            "creatinine_clearance": 72,
            "pdl1_tps": 60,
            "hemoglobin": 11.9,
        },
    ],
    "variants": [
        {"gene": "KRAS", "hgvsp": "p.G12C", "vaf": 0.31, "depth": 210},
        {"gene": "TP53", "hgvsp": "p.R273H", "vaf": 0.4, "depth": 180},
        {"gene": "TTN", "hgvsp": "p.A100=", "vaf": 0.2, "depth": 50},
    ],
}


@pytest.fixture(scope="module")
def reports(small_recommender, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    cfg, _, recommender = small_recommender
    case = parse_payload(PAYLOAD, tox_categories=cfg.catalog.toxicity_categories)
    answer = recommender.recommend(case).to_dict()
    answer["provenance"] = {
        "components": {
            "response": {
                "model": "precision_onco_response",
                "version": 3,
                "alias": "champion",
                "run_id": "abc123",
            }
        },
        "recommender": {"model": "precision_onco_recommender", "version": 2, "run_id": "def456"},
        "data_sha256": "d" * 16,
        "config_sha256": "c" * 16,
        "catalog_version": cfg.catalog.version,
        "package_version": "0.1.0",
    }
    ctx = patient_context(
        answer,
        patient=case.patient,
        line_state=case.lines[-1],
        prior_lines=case.lines[:-1],
        variants=case.variants,
        catalog=cfg.catalog,
        genes=["KRAS", "TP53"],
        efficacy=recommender.roles.efficacy,
        any_severe_ae=recommender.roles.any_severe_ae,
    )
    out = tmp_path_factory.mktemp("reports")
    files = {}
    for lang in ("en", "fr"):
        files[lang] = out / f"{case.patient_key}.{lang}.html"
        files[lang].write_text(render_patient(ctx, lang, cfg.catalog), encoding="utf-8")
    return files


def test_self_contained_html(reports: dict[str, Path]) -> None:
    html = reports["en"].read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script" not in html and "@import" not in html and "url(" not in html
    assert 'lang="en"' in html and "Content-Security-Policy" in html


def test_genomic_findings_flag_the_actionable_variant(reports: dict[str, Path]) -> None:
    html = reports["en"].read_text(encoding="utf-8")
    assert "p.G12C" in html and "KRAS G12C" in html  # the catalog biomarker it satisfies
    assert "p.A100=" not in html and "1 other variant(s) not listed" in html


def _open(path: Path) -> tuple[Any, list[str], list[str], Any, Any]:
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_FLAGS[1:]))
    page = browser.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.resolve().as_uri(), wait_until="load")
    return page, errors, requests, browser, pw


@needs_browser
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_report_in_chromium(reports: dict[str, Path], lang: str, tmp_path: Path) -> None:
    page, errors, requests, browser, pw = _open(reports[lang])
    try:
        shot = tmp_path / f"report.{lang}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        # text alternatives: every image-like element says what it shows
        assert page.evaluate("[...document.querySelectorAll('img')].every(i => i.alt)")
        assert page.evaluate(
            "[...document.querySelectorAll('svg')].every(s => "
            "s.getAttribute('aria-hidden') === 'true' || "
            "s.getAttribute('aria-label'))"
        )
        assert errors == []
        assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
        assert page.evaluate("document.documentElement.lang") == lang
        assert page.title()
        rows = page.locator("#ranked-table tbody tr")
        assert rows.count() >= 1
        assert page.locator(".disclaimer").is_visible()
        assert page.locator("#provenance").is_visible()
        prov = page.locator("#provenance").inner_text()
        assert "precision_onco_recommender" in prov and "abc123" in prov and "d" * 16 in prov
        # every header cell says what it heads; every table has header cells
        assert page.evaluate("[...document.querySelectorAll('th')].every(th => th.scope)")
        assert page.evaluate(
            "[...document.querySelectorAll('table')].every(t => t.querySelector('th'))"
        )
        text = page.locator("body").inner_text()
        if lang == "fr":
            for phrase in (
                "Protocoles classés",
                "Réponse objective",
                "Toxicité de grade ≥ 3",
                "Ligne de traitement",
                "Traçabilité",
                "Aide à la décision",
            ):
                assert phrase in text, phrase
            for english in (
                "Ranked regimens",
                "Provenance",
                "Decision support",
                "not recorded",
                "requires",
                "indicated for",
                "earlier line",
                "regimen ",
                "previously treated",
                "untreated",
                "Supports",
            ):
                assert english not in text, english
            assert re.search(r"\d+\u202f%", text) and "3,4 g/dL" in text
        else:
            assert "Ranked regimens" in text and "3.4 g/dL" in text
    finally:
        browser.close()
        pw.stop()


@needs_browser
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_driver_chart_labels_fit_their_box(reports: dict[str, Path], lang: str) -> None:
    """Every label of the drivers' chart lies inside its column (no text cut at the left edge)
    and every chart inside its container, measured in Chromium's layout."""
    page, errors, _, browser, pw = _open(reports[lang])
    try:
        boxes = page.evaluate("""[...document.querySelectorAll('svg.shap')].map(svg => {
            const texts = [...svg.querySelectorAll('text')].map(t => {
                const b = t.getBBox(); return [b.x, b.x + b.width]; });
            const r = svg.getBoundingClientRect(), p = svg.parentElement.getBoundingClientRect();
            return {texts, left: r.left - p.left, right: p.right - r.right}; })""")
        assert boxes, "no driver chart in the report"
        for chart in boxes:
            assert chart["left"] >= -0.5 and chart["right"] >= -0.5, chart
            for x0, x1 in chart["texts"]:
                assert x0 >= 0 and x1 <= 330.5, (x0, x1)
        assert errors == []
    finally:
        browser.close()
        pw.stop()


def test_long_driver_labels_wrap_within_the_chart() -> None:
    from precision_onco.report.patient import _shap_svg

    long = "pembrolizumab + carboplatin + pemetrexed against every other regimen of the catalog"
    svg = _shap_svg({"up": [{"text": long, "contribution": 0.49}], "down": []}, "chart")
    spans = re.findall(r"<tspan[^>]*>([^<]*)</tspan>", svg)
    assert len(spans) == 2 and all(len(s) <= 50 for s in spans)
    assert f"<title>{long} (+0.49)</title>" in svg


def test_separation_reads_as_a_sentence(reports: dict[str, Path]) -> None:
    en = reports["en"].read_text(encoding="utf-8")
    fr = reports["fr"].read_text(encoding="utf-8")
    sentences = re.findall(r'<p class="separation">([^<]+)</p>', en)
    if not sentences:
        pytest.skip("no first-vs-second separation in this small cohort's answer")
    assert all(s.startswith("Compared with ") and s.endswith(".") for s in sentences)
    assert " / " not in sentences[0] and "_" not in sentences[0]
    assert re.search(r'<p class="separation">Par rapport à [^<]+ : [^<]+\.</p>', fr)
    assert "Non-Small Cell Lung Cancer (NSCLC, LUAD)" in en
    assert "cancer bronchique non à petites cellules (NSCLC, LUAD)" in fr


@needs_browser
def test_print_to_pdf(reports: dict[str, Path], tmp_path: Path) -> None:
    pdf = html_to_pdf(reports["fr"], tmp_path / "report.fr.pdf", chromium=str(CHROMIUM))
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 10_000
    assert len(re.findall(rb"/Type\s*/Page[^s]", data)) >= 1
    assert re.search(rb"/MediaBox\s*\[\s*0 0 59[45]", data)  # A4: 595 x 842 points
