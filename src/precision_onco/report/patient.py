"""Per-patient recommendation report: one self-contained HTML file (inline CSS and SVG).

:func:`patient_context` gathers what the report shows from the recommender's
answer and the patient's tables; :func:`render_patient` renders it in English or
French with the package's Jinja2 template. Nothing is fetched at view time: no
script, font, image or style sheet from elsewhere.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import jinja2
from markupsafe import escape

from precision_onco.catalog.biomarkers import to_short_hgvsp
from precision_onco.config.schema import CatalogConfig
from precision_onco.jsonable import json_value
from precision_onco.report.i18n import (
    civic_term,
    fmt_number,
    fmt_percent,
    labels,
    separation_sentence,
    translate_reason,
)
from precision_onco.report.pgx_section import pgx_section
from precision_onco.report.phrases import PHRASES
from precision_onco.report.wording import cancer_type_name, describe, regimen_name

__all__ = ["LAB_UNITS", "patient_context", "render_patient"]

#: Labs shown in the summary, with their units.
LAB_UNITS: dict[str, str] = {
    "albumin": "g/dL",
    "hemoglobin": "g/dL",
    "platelets": "10⁹/L",
    "nlr": "",
    "creatinine_clearance": "mL/min",
    "alt": "U/L",
    "bilirubin": "mg/dL",
    "ldh": "U/L",
    "pdl1_tps": "%",
}
_LAB_NAMES: dict[str, dict[str, str]] = {lang: p["labs"] for lang, p in PHRASES.items()}


def _int(v: Any) -> Any:
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _actionable(gene: str | None, hgvsp: str | None, catalog: CatalogConfig) -> list[str]:
    """Catalog biomarkers a variant satisfies (gene and protein-change rule)."""
    out = []
    short = to_short_hgvsp(hgvsp)
    for rule in catalog.biomarkers.values():
        if not rule.genes or gene not in rule.genes:
            continue
        if not rule.hgvsp or (short and any(re.search(rx, short) for rx in rule.hgvsp)):
            out.append(rule.label)
    return out


def _ranked_row(
    row: Mapping[str, Any],
    *,
    names: Mapping[str, str],
    roles: Mapping[str, str | None],
    categories: Sequence[str],
) -> dict[str, Any]:
    """One ranked row as the report shows it: the regimen's name, decoded drivers and
    evidence, the probabilities of each endpoint role, and the toxicity categories with a
    grade-3 probability (with its interval)."""
    r = dict(row)
    r["name"] = names.get(str(r["regimen_id"]), str(r["regimen_id"]))
    for key in ("drivers", "evidence"):
        if isinstance(r.get(key), str):
            r[key] = json.loads(r[key]) if r[key] else {}
    for role, ep in roles.items():  # endpoints a cohort may not have modelled
        for suffix in ("", "_low", "_high"):
            r[f"p_{role}{suffix}"] = r.get(f"p_{ep}{suffix}") if ep else None
    r["categories"] = [
        (
            c,
            r.get(f"p_ae_{c}_grade3"),
            r.get(f"p_ae_{c}_grade3_low"),
            r.get(f"p_ae_{c}_grade3_high"),
        )
        for c in categories
        if r.get(f"p_ae_{c}_grade3") is not None
    ]
    return r


def _excluded_rows(
    excluded: Sequence[Mapping[str, Any]], *, names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The excluded regimens: id, name and the reason."""
    return [
        {
            "regimen_id": e["regimen_id"],
            "name": names.get(str(e["regimen_id"]), str(e["regimen_id"])),
            "reason": e["reason"],
        }
        for e in excluded
    ]


def _genomic_findings(
    variants: Sequence[Mapping[str, Any]],
    *,
    catalog: CatalogConfig,
    genes: Collection[str] | None,
) -> tuple[list[dict[str, Any]], int]:
    """The variants shown (actionable ones first, then by gene and protein change) and the
    count of the others: a variant is shown when actionable, or protein-changing in a gene
    of ``genes`` (all genes when None)."""
    shown = []
    others = 0
    panel = set(genes) if genes is not None else None
    for v in variants:
        gene, hgvsp = json_value(v.get("gene")), json_value(v.get("hgvsp"))
        act = _actionable(gene, hgvsp, catalog) if gene else []
        coding = bool(hgvsp) and not str(hgvsp).endswith("=")
        if gene is None or not (act or (coding and (panel is None or gene in panel))):
            others += 1
            continue
        shown.append(
            {
                "gene": gene,
                "hgvsp": hgvsp,
                "vaf": json_value(v.get("vaf")),
                "depth": json_value(v.get("depth")),
                "actionable": act,
            }
        )
    shown.sort(key=lambda v: (not v["actionable"], v["gene"], v["hgvsp"] or ""))
    return shown, others


def _prior_line_rows(
    prior_lines: Sequence[Mapping[str, Any]], *, names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The prior lines in line order: regimen (named from the catalog), best response and
    worst adverse-event grade."""
    return [
        {
            "line_number": json_value(p.get("line_number")),
            "regimen": names.get(str(p.get("regimen_id")), json_value(p.get("regimen_id"))),
            "best_response": json_value(p.get("best_response")),
            "max_grade": json_value(p.get("ae_any_max_grade")),
        }
        for p in sorted(prior_lines, key=lambda p: p.get("line_number") or 0)
    ]


def patient_context(
    answer: Mapping[str, Any],
    *,
    patient: Mapping[str, Any],
    line_state: Mapping[str, Any],
    prior_lines: Sequence[Mapping[str, Any]],
    variants: Sequence[Mapping[str, Any]],
    catalog: CatalogConfig,
    genes: Collection[str] | None = None,
    generated: str | None = None,
    efficacy: str | None,
    any_severe_ae: str | None,
) -> dict[str, Any]:
    """What the report shows. ``answer``: :meth:`PatientResult.to_dict` (ranked rows with
    decoded drivers and evidence, excluded rows, provenance). Genomic findings list the
    actionable variants and the protein-changing variants of ``genes`` (the models' panel;
    all genes when None); the others are counted. ``efficacy`` / ``any_severe_ae``: the
    endpoints of those roles (``config.endpoint_roles(cfg.endpoints)``), shown as the
    probability columns (as ``p_efficacy*`` / ``p_any_severe_ae*`` of each ranked row), the
    drivers and the first-vs-second separation; None: the cohort has no such endpoint."""
    roles = {"efficacy": efficacy, "any_severe_ae": any_severe_ae}
    names = {r.id: r.name for r in catalog.regimens}
    ranked = [
        _ranked_row(row, names=names, roles=roles, categories=catalog.toxicity_categories)
        for row in answer.get("ranked", [])
    ]
    excluded = _excluded_rows(answer.get("excluded", []), names=names)
    vs, others = _genomic_findings(variants, catalog=catalog, genes=genes)
    labs = [(k, json_value(line_state.get(k)), unit) for k, unit in LAB_UNITS.items()]
    prior = _prior_line_rows(prior_lines, names=names)
    return {
        "patient_key": answer.get("patient_key"),
        "line_number": answer.get("line_number"),
        "status": answer.get("status", "ranked"),
        "message": answer.get("message", ""),
        "preset": answer.get("preset"),
        "patient": {k: json_value(v) for k, v in patient.items()},
        "ecog": _int(json_value(line_state.get("ecog", patient.get("ecog")))),
        "age": json_value(line_state.get("age_at_line")),
        "labs": labs,
        "prior_lines": prior,
        "variants": vs,
        "other_variants": others,
        "ranked": ranked,
        "endpoints": roles,
        "modelled": {role: any(r[f"p_{role}"] is not None for r in ranked) for role in roles},
        "excluded": excluded,
        # Pharmacogenomics and dose (issue 17), worded in both languages.
        "pgx": pgx_section(ranked, patient=patient, line_state=line_state),
        "provenance": dict(answer.get("provenance") or {}),
        "generated": generated or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _bar(p: Any, lo: Any, hi: Any, colour: str, width: int = 150) -> str:
    """An inline SVG bar: the probability, and its interval as a whisker."""
    if p is None:
        return ""
    x = lambda v: 4 + max(0.0, min(1.0, float(v))) * (width - 8)  # noqa: E731
    lo_, hi_ = (p if lo is None else lo), (p if hi is None else hi)
    return (
        f'<svg class="bar" width="{width}" height="14" viewBox="0 0 {width} 14" '
        f'aria-hidden="true" focusable="false"><rect x="4" y="4" width="{width - 8}" '
        'height="6" '
        f'fill="#eceff3"/><rect x="4" y="4" width="{x(p) - 4:.1f}" height="6" '
        f'fill="{colour}"/><line x1="{x(lo_):.1f}" x2="{x(hi_):.1f}" y1="7" y2="7" '
        f'stroke="#1f2933" stroke-width="1.5"/><line x1="{x(lo_):.1f}" x2="{x(lo_):.1f}" '
        f'y1="3" y2="11" stroke="#1f2933"/><line x1="{x(hi_):.1f}" x2="{x(hi_):.1f}" '
        f'y1="3" y2="11" stroke="#1f2933"/></svg>'
    )


#: Widths for the driver chart's labels: an 11 px sans-serif character is at most about 6.5 px
#: wide on average in words and numbers, so a label line holds ``_LABEL_W / 6.5`` characters.
_LABEL_W, _CHAR_W = 330, 6.5


def _wrap(text: str, width: int, lines: int = 2) -> list[str]:
    """``text`` in at most ``lines`` lines of ``width`` characters (the last cut with "…")."""
    out: list[str] = []
    for word in text.split():
        if out and len(out[-1]) + 1 + len(word) <= width:
            out[-1] += " " + word
        else:
            out.append(word)
    if len(out) > lines:
        out = out[: lines - 1] + [" ".join(out[lines - 1 :])]
    return [ln if len(ln) <= width else ln[: width - 1].rstrip() + "…" for ln in out]


def _shap_svg(drivers: Mapping[str, Any], label: str = "", width: int = 600) -> str:
    """A horizontal bar chart of the response drivers' contributions (log-odds); ``label``
    is its text alternative (the drivers are also listed in words below it). Labels wrap
    onto two lines within their column, so that none runs past the chart's left edge."""
    items = [(d["text"], float(d["contribution"])) for d in drivers.get("up", [])]
    items += [(d["text"], float(d["contribution"])) for d in drivers.get("down", [])]
    if not items:
        return ""
    items.sort(key=lambda t: -t[1])
    top = max(abs(c) for _, c in items) or 1.0
    half = (width - _LABEL_W - 8) / 2
    mid = _LABEL_W + 8 + half
    chars = int((_LABEL_W - 4) / _CHAR_W)
    rows = [(_wrap(f"{text} ({c:+.2f})", chars), text, c) for text, c in items]
    heights = [14 + 13 * len(lines) for lines, _, _ in rows]
    total = sum(heights) + 6
    parts = [
        f'<svg class="shap" width="100%" viewBox="0 0 {width} {total}" '
        f'preserveAspectRatio="xMinYMin meet" style="max-width:{width}px" role="img" '
        f'aria-label="{escape(label)}">'
    ]
    parts.append(f'<line x1="{mid}" x2="{mid}" y1="0" y2="{total}" stroke="#9aa5b1"/>')
    y = 3
    for (lines, text, c), h in zip(rows, heights, strict=True):
        w = abs(c) / top * half
        x0 = mid if c >= 0 else mid - w
        colour = "#2f7d4f" if c >= 0 else "#b4432f"
        parts.append(
            f'<rect x="{x0:.1f}" y="{y + (h - 20) / 2 + 3:.1f}" width="{w:.1f}" '
            f'height="14" fill="{colour}"/>'
        )
        first = y + (h - 13 * len(lines)) / 2 + 9
        spans = "".join(
            f'<tspan x="{_LABEL_W}" y="{first + 13 * k:.1f}">{escape(ln)}</tspan>'
            for k, ln in enumerate(lines)
        )
        parts.append(
            f'<text font-size="11" text-anchor="end"><title>{escape(text)} '
            f"({c:+.2f})</title>{spans}</text>"
        )
        y += h
    parts.append("</svg>")
    return "".join(parts)


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("precision_onco.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def _in_language(
    context: Mapping[str, Any], lang: str, catalog: CatalogConfig | None
) -> dict[str, Any]:
    """``context`` with drivers and exclusion reasons worded in ``lang``."""
    if lang == "en":
        return dict(context)
    ctx = copy.deepcopy(dict(context))
    efficacy = ctx["endpoints"]["efficacy"]
    for r in ctx["ranked"]:
        for d in r.get("drivers", {}).values():
            for item in d.get("up", []) + d.get("down", []):
                if "value" in item:
                    item["text"] = describe(item["feature"], item["value"], catalog, lang)
            for item in d.get(efficacy, []) if isinstance(d, dict) and efficacy else []:
                if "first_value" in item:
                    item["first"] = describe(item["feature"], item["first_value"], catalog, lang)
                    item["second"] = describe(item["feature"], item["second_value"], catalog, lang)
    for e in ctx["excluded"]:
        e["reason"] = translate_reason(e["reason"], lang, catalog)
    if catalog is not None:  # regimen names in the language (the catalog's name_fr)
        names = {r.id: r.name_fr or r.name for r in catalog.regimens}
        for row in [*ctx["ranked"], *ctx["excluded"]]:
            row["name"] = names.get(str(row["regimen_id"]), row["name"])
        for prior in ctx["prior_lines"]:
            prior["regimen"] = next(
                (r.name_fr or r.name for r in catalog.regimens if r.name == prior["regimen"]),
                prior["regimen"],
            )
    return ctx


def render_patient(
    context: Mapping[str, Any], lang: str = "en", catalog: CatalogConfig | None = None
) -> str:
    """The report of ``context`` (:func:`patient_context`) as a self-contained HTML page;
    ``catalog`` words drivers and exclusion reasons in French (``label_fr``)."""
    context = _in_language(context, lang, catalog)
    efficacy = context["endpoints"]["efficacy"]
    lab = labels(lang)
    env = _env()
    template = env.get_template("patient.html.j2")
    return template.render(
        c=context,
        t=lab,
        lang=lang,
        term=lab.term,
        pct=lambda p: fmt_percent(p, lang),
        num=lambda x, d=2: fmt_number(x, lang, d),
        civic=lambda x: civic_term(x, lang),
        bar=_bar,
        shap=_shap_svg,
        lab_names=_LAB_NAMES[lang],
        cancer=lambda code: cancer_type_name(code, catalog, lang),
        separation=lambda sep: separation_sentence(
            regimen_name(sep.get("second"), catalog, lang), sep.get(efficacy), lang
        ),
        css=env.loader.get_source(env, "report.css")[0],  # type: ignore[union-attr]
    )
