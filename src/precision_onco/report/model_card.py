"""Cohort model card: cohort, endpoints, held-out metrics with CIs, calibration plots,
subgroups, SHAP summaries, intended use and limitations — one self-contained HTML page."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import escape

from precision_onco.report.i18n import fmt_number, labels
from precision_onco.report.patient import _env
from precision_onco.report.phrases import PHRASES

__all__ = ["calibration_svg", "render_model_card", "shap_summary"]

_TEXT: dict[str, Any] = {lang: p["model_card"] for lang, p in PHRASES.items()}


def calibration_svg(table: pd.DataFrame, label: str = "", size: int = 220) -> str:
    """A reliability diagram (predicted vs observed per bin, point area ~ rows) as SVG;
    ``label`` is its text alternative."""
    pad = 24
    span = size - 2 * pad
    pts = []
    n_max = float(table["n"].max()) if len(table) else 1.0
    for p, o, n in zip(table["predicted"], table["observed"], table["n"], strict=True):
        if pd.isna(p) or pd.isna(o):
            continue
        r = 2 + 4 * np.sqrt(float(n) / n_max)
        cx, cy = pad + float(p) * span, pad + (1 - float(o)) * span
        pts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="#1c5d99" fill-opacity="0.7"/>'
        )
    alt = escape(str(label))
    return (
        f'<svg width="{size}" height="{size}" viewBox="0 0 {size} {size}" role="img" '
        f'aria-label="{alt}">'
        f'<rect x="{pad}" y="{pad}" width="{span}" height="{span}" fill="none" '
        f'stroke="#cbd2d9"/><line x1="{pad}" y1="{pad + span}" x2="{pad + span}" y2="{pad}" '
        f'stroke="#9aa5b1" stroke-dasharray="4 3"/>{"".join(pts)}'
        f'<text x="{pad}" y="{size - 6}" font-size="10">0</text>'
        f'<text x="{pad + span - 6}" y="{size - 6}" font-size="10">1</text></svg>'
    )


Summary = dict[str, list[tuple[str, float]]]


def shap_summary(
    models: Mapping[str, Any],
    rows: pd.DataFrame,
    *,
    top: int = 10,
    sample: int = 500,
    seed: int = 0,
) -> Summary:
    """Mean |TreeSHAP contribution| (log-odds) of each endpoint's top features on ``rows``."""
    from precision_onco.models.explain import contributions

    x = rows.sample(min(sample, len(rows)), random_state=seed) if len(rows) else rows
    out = {}
    for ep, model in models.items():
        if model.kind != "lightgbm" or not len(x):
            continue
        c, _ = contributions(model, x)
        mean = c.abs().mean().sort_values(ascending=False).head(top)
        out[ep] = [(str(k), float(v)) for k, v in mean.items()]
    return out


def render_model_card(
    metrics: Mapping[str, Any],
    *,
    calibration: Mapping[str, pd.DataFrame],
    shap: Mapping[str, list[tuple[str, float]]],
    cohort: Mapping[str, Any],
    lang: str = "en",
    generated: str | None = None,
    policy: Mapping[str, Any] | None = None,
    inputs: Mapping[str, Any] | None = None,
    policy_skipped: str | None = None,
    pgx: Mapping[str, Any] | None = None,
    efficacy: str | None,
    any_severe_ae: str | None,
) -> str:
    """The model card as a self-contained HTML page in ``lang``; ``policy``: the policy
    study (``reports/policy.json``), shown as its own section; ``inputs``: the training
    manifest (model inputs, leakage guard); ``policy_skipped``: why no policy study is shown;
    ``pgx``: the pharmacogenomic evaluation (``metrics["pgx"]``), its own section;
    ``efficacy`` / ``any_severe_ae``: the endpoints of those roles (``config.endpoint_roles``),
    the outcomes of the policy section and of the pharmacogenomic dosing summary.
    Warnings (endpoints not modelled, too little data, small held-out sets) come first."""
    from precision_onco.report.pgx_card import pgx_context
    from precision_onco.report.policy_card import policy_context

    endpoints = {k: v for k, v in metrics.items() if isinstance(v, dict) and "overall" in v}
    notes, lead_cv = _warnings(
        metrics, _TEXT[lang], endpoints, inputs=inputs, cohort=cohort, policy_skipped=policy_skipped
    )
    env = _env()
    return env.get_template("model_card.html.j2").render(
        t=labels(lang),
        x=_card_texts(lang, metrics, endpoints=endpoints, efficacy=efficacy),
        lang=lang,
        metrics=endpoints,
        cohort=cohort,
        notes=notes,
        lead_cv=lead_cv,
        inputs=list((inputs or {}).get("features") or []),
        test_rows=metrics.get("test_rows"),
        test_patients=metrics.get("test_patients"),
        calibration=_calibration_plots(calibration, endpoints=endpoints, lang=lang),
        shap=shap,
        num=lambda v, d=3: fmt_number(v, lang, d),
        policy=policy_context(policy, lang, efficacy=efficacy, any_severe_ae=any_severe_ae),
        pgx=pgx_context(pgx, lang, any_severe_ae=any_severe_ae),
        generated=generated or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        css=env.loader.get_source(env, "report.css")[0],  # type: ignore[union-attr]
    )


def _warnings(
    metrics: Mapping[str, Any],
    x: Mapping[str, str],
    endpoints: Mapping[str, Any],
    *,
    inputs: Mapping[str, Any] | None,
    cohort: Mapping[str, Any],
    policy_skipped: str | None,
) -> tuple[list[str], dict[str, Any]]:
    """The card's warnings in the words ``x`` (endpoints not modelled, too little data, small
    held-out sets, the leakage guard off or relaxed, an external validation, no policy study),
    and the cross-validated metrics shown first for the endpoints whose held-out set is small."""
    cv = metrics.get("cross_validation") or {}
    notes: list[str] = [
        x["not_modelled"].format(ep=ep, why=why)
        for ep, why in (metrics.get("skipped_endpoints") or {}).items()
    ]
    lead_cv: dict[str, Any] = {}
    for ep, ss in (metrics.get("sample_size") or {}).items():
        if ss.get("small"):
            notes.append(ss["reason"])
        if ss.get("small_test") and ep in endpoints:
            if isinstance(cv.get(ep), dict) and "overall" in cv[ep]:
                lead_cv[ep] = cv[ep]["overall"]
                notes.append(x["small_test"].format(ep=ep, n=ss["test_events"], k=cv.get("folds")))
            else:
                notes.append(x["small_test_no_cv"].format(ep=ep, n=ss["test_events"]))
    guard = (inputs or {}).get("leakage_guard") or {}
    if guard and not guard.get("enabled", True):
        notes.append(x["guard_off"])
    if guard.get("allowed"):
        notes.append(x["allowed"].format(cols=", ".join(guard["allowed"])))
    if cohort.get("external_validation"):
        notes.append(x["external"].format(file=cohort["external_validation"]))
    if policy_skipped:
        notes.append(x["policy_skipped"].format(why=policy_skipped))
    return notes, lead_cv


def _card_texts(
    lang: str, metrics: Mapping[str, Any], *, endpoints: Mapping[str, Any], efficacy: str | None
) -> dict[str, Any]:
    """The card's words in ``lang``: the intended use of a card without any endpoint other
    than the efficacy one names the endpoints modelled; the cross-validation note its folds."""
    k_folds = (metrics.get("cross_validation") or {}).get("folds")
    x = dict(_TEXT[lang])
    if not any(ep != efficacy for ep in endpoints):
        x["intended"] = x["intended_response_only"].format(
            what=", ".join(endpoints) if endpoints else "—"
        )
    x["cv"] = x["cv"].format(k=k_folds)
    return x


def _calibration_plots(
    calibration: Mapping[str, pd.DataFrame], *, endpoints: Mapping[str, Any], lang: str
) -> dict[str, str]:
    """The reliability diagram of each modelled endpoint's calibration table."""
    return {
        k: calibration_svg(
            v,
            f"{labels(lang)['calibration']} {k}: "
            f"{_TEXT[lang]['predicted']} / "
            f"{_TEXT[lang]['observed']}",
        )
        for k, v in calibration.items()
        if k in endpoints
    }
