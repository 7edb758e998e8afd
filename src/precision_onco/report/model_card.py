"""Cohort model card: cohort, endpoints, held-out metrics with CIs, calibration plots,
subgroups, SHAP summaries, intended use and limitations — one self-contained HTML page."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import escape

from precision_onco.config.endpoints import DEFAULT_ANY_SEVERE_AE, DEFAULT_EFFICACY
from precision_onco.report.i18n import fmt_number, labels
from precision_onco.report.patient import _env

__all__ = ["calibration_svg", "render_model_card", "shap_summary"]

_TEXT: dict[str, dict[str, Any]] = {
    "en": {
        "intended": "Decision support for oncologists choosing among the therapy catalog's "
        "regimens for adult patients with the catalog's cancer types, at a given line: "
        "probabilities of objective response and of grade ≥ 3 toxicity, with intervals and "
        "reasons. Not for use without the treating team, for cancers or regimens outside the "
        "catalog, or as the sole basis of a decision.",
        "limits": [
            "Trained on observational data: treatment followed clinicians' judgement, so "
            "estimates for regimens rarely given to patients like this one rest on few cases "
            "(see the intervals).",
            "Calibration and discrimination are measured on held-out patients of the same "
            "cohort; a new centre or period needs its own evaluation before use.",
            "Rare toxicities have few events: their probabilities are uncertain and their "
            "intervals wide.",
            "Variants without a protein-change annotation cannot satisfy the catalog's "
            "biomarker rules; annotate VCFs before use.",
        ],
        "synthetic": "This card describes models trained on the embedded synthetic cohort: "
        "its figures show the pipeline works, not how it performs on real patients.",
        "subgroup_of": "by",
        "cancer_type": "cancer type",
        "line": "line",
        "sex": "sex",
        "rows": "test rows",
        "patients": "test patients",
        "events": "events",
        "bayes": "AUC of the true probabilities",
        "coverage": "interval coverage of the truth",
        "observed": "observed",
        "predicted": "predicted",
        "intended_response_only": "Decision support for oncologists choosing among the therapy "
        "catalog's regimens for adult patients with the catalog's cancer types, at a given "
        "line: probabilities of {what}, with intervals and reasons. This cohort records no "
        "adverse-event grades: no toxicity is predicted. Not for use without the treating team, "
        "for cancers or regimens outside the catalog, or as the sole basis of a decision.",
        "warnings": "Read first",
        "inputs": "Model inputs",
        "inputs_intro": "The models read these {n} inputs, all known when the line starts "
        "(canonical features and the cohort's declared extra columns); the leakage guard "
        "checked each of them.",
        "not_modelled": "{ep} is not modelled: {why}.",
        "small_test": "{ep}: only {n} events among the held-out patients; the figures first "
        "shown are {k}-fold cross-validated over every labelled patient.",
        "small_test_no_cv": "{ep}: only {n} events among the held-out patients; the held-out "
        "figures below are very uncertain (set split.cv_folds=5 for cross-validated ones).",
        "cv": "cross-validated ({k} folds)",
        "held_out": "held-out",
        "external": "External validation: the held-out figures are measured on the separate "
        "validation file {file} (cohort.inputs.test_lines), whose patients the models never "
        "saw.",
        "policy_skipped": "The policy study is not shown: {why}.",
        "guard_off": "The leakage guard was switched off for this run "
        "(features.leakage.enabled=false).",
        "allowed": "Inputs exempted from the leakage guard: {cols}.",
    },
    "fr": {
        "intended": "Aide à la décision pour les oncologues choisissant parmi les protocoles du "
        "catalogue thérapeutique, chez l'adulte atteint d'un des cancers du catalogue, à une "
        "ligne donnée : probabilités de réponse objective et de toxicité de grade ≥ 3, avec "
        "intervalles et justifications. Ne pas utiliser sans l'équipe soignante, pour des "
        "cancers ou protocoles hors catalogue, ni comme seul fondement d'une décision.",
        "limits": [
            "Appris sur des données observationnelles : le traitement a suivi le jugement des "
            "cliniciens ; les estimations pour des protocoles rarement donnés à des patients "
            "semblables reposent sur peu de cas (voir les intervalles).",
            "Calibration et discrimination sont mesurées sur des patients de test de la même "
            "cohorte ; un nouveau centre ou une nouvelle période demandent leur propre "
            "évaluation avant usage.",
            "Les toxicités rares comptent peu d'événements : leurs probabilités sont incertaines "
            "et leurs intervalles larges.",
            "Les variants sans annotation de variation protéique ne peuvent satisfaire les "
            "règles de biomarqueurs du catalogue ; annoter les VCF avant usage.",
        ],
        "synthetic": "Cette fiche décrit des modèles appris sur la cohorte synthétique embarquée "
        "; ses chiffres montrent que la chaîne fonctionne, pas ses performances sur de vrais "
        "patients.",
        "subgroup_of": "par",
        "cancer_type": "type de cancer",
        "line": "ligne",
        "sex": "sexe",
        "rows": "lignes de test",
        "patients": "patients de test",
        "events": "événements",
        "bayes": "AUC des vraies probabilités",
        "coverage": "couverture de la vérité par l'intervalle",
        "observed": "observé",
        "predicted": "prédit",
        "intended_response_only": "Aide à la décision pour les oncologues choisissant parmi les "
        "protocoles du catalogue thérapeutique, chez l'adulte atteint d'un des cancers du "
        "catalogue, à une ligne donnée : probabilités de {what}, avec intervalles et "
        "justifications. Cette cohorte ne renseigne pas les grades d'événements indésirables : "
        "aucune toxicité n'est prédite. Ne pas utiliser sans l'équipe soignante, pour des "
        "cancers ou protocoles hors catalogue, ni comme seul fondement d'une décision.",
        "warnings": "À lire d'abord",
        "inputs": "Variables d'entrée des modèles",
        "inputs_intro": "Les modèles lisent ces {n} variables, toutes connues au début de la "
        "ligne (variables canoniques et colonnes déclarées de la cohorte) ; le garde-fou contre "
        "les fuites d'information les a toutes vérifiées.",
        "not_modelled": "{ep} n'est pas modélisé : {why}.",
        "small_test": "{ep} : seulement {n} événements chez les patients de test ; les chiffres "
        "présentés d'abord sont en validation croisée à {k} plis sur tous les patients.",
        "small_test_no_cv": "{ep} : seulement {n} événements chez les patients de test ; les "
        "chiffres ci-dessous sont très incertains (split.cv_folds=5 pour une validation "
        "croisée).",
        "cv": "validation croisée ({k} plis)",
        "held_out": "patients de test",
        "external": "Validation externe : les chiffres de test sont mesurés sur le fichier de "
        "validation distinct {file} (cohort.inputs.test_lines), dont les patients n'ont jamais "
        "servi à l'apprentissage.",
        "policy_skipped": "L'étude des stratégies n'est pas présentée : {why}.",
        "guard_off": "Le garde-fou contre les fuites d'information était désactivé pour cette "
        "exécution (features.leakage.enabled=false).",
        "allowed": "Variables exemptées du garde-fou : {cols}.",
    },
}


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
    efficacy: str | None = DEFAULT_EFFICACY,
    any_severe_ae: str | None = DEFAULT_ANY_SEVERE_AE,
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
    x = dict(_TEXT[lang])
    cv = metrics.get("cross_validation") or {}
    k_folds = cv.get("folds")
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
                notes.append(x["small_test"].format(ep=ep, n=ss["test_events"], k=k_folds))
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
    if not any(ep != efficacy for ep in endpoints):
        x["intended"] = x["intended_response_only"].format(
            what=", ".join(endpoints) if endpoints else "—"
        )
    x["cv"] = x["cv"].format(k=k_folds)
    env = _env()
    return env.get_template("model_card.html.j2").render(
        t=labels(lang),
        x=x,
        lang=lang,
        metrics=endpoints,
        cohort=cohort,
        notes=notes,
        lead_cv=lead_cv,
        inputs=list((inputs or {}).get("features") or []),
        test_rows=metrics.get("test_rows"),
        test_patients=metrics.get("test_patients"),
        calibration={
            k: calibration_svg(
                v,
                f"{labels(lang)['calibration']} {k}: "
                f"{_TEXT[lang]['predicted']} / "
                f"{_TEXT[lang]['observed']}",
            )
            for k, v in calibration.items()
            if k in endpoints
        },
        shap=shap,
        num=lambda v, d=3: fmt_number(v, lang, d),
        policy=policy_context(policy, lang, efficacy=efficacy, any_severe_ae=any_severe_ae),
        pgx=pgx_context(pgx, lang, any_severe_ae=any_severe_ae),
        generated=generated or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        css=env.loader.get_source(env, "report.css")[0],  # type: ignore[union-attr]
    )
