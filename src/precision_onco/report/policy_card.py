"""The model card's policy section: each policy's value with its intervals, against the oracle.

:func:`policy_svg` draws, for one outcome, a row per policy: the doubly robust
estimate with its marginal 95 % interval (dark) inside the simultaneous band
(light), the IPW estimate, the true value when the cohort is synthetic, and the
oracle's true value as a dashed line. :func:`policy_rows` flattens the section
for the tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import escape

from precision_onco.report.i18n import fmt_number
from precision_onco.report.phrases import PHRASES

__all__ = ["POLICY_TEXT", "policy_context", "policy_name", "policy_rows", "policy_svg"]

POLICY_TEXT: dict[str, dict[str, str]] = {lang: p["policy"] for lang, p in PHRASES.items()}


def policy_name(name: str, lang: str) -> str:
    """``recommender_balanced`` -> "Recommender (balanced)"; other policies by their label."""
    t = POLICY_TEXT[lang]
    if name.startswith("recommender_"):
        return f"{t['recommender']} ({name.removeprefix('recommender_')})"
    return t.get(name, name)


def _outcomes(efficacy: str | None, any_severe_ae: str | None) -> dict[str, str | None]:
    """Role -> the outcome's key in ``reports/policy.json`` (None: no such endpoint)."""
    return {"utility": "utility", "efficacy": efficacy, "any_severe_ae": any_severe_ae}


#: The chart's layout in px: label column, right margin, row height, top margin.
_LEFT, _RIGHT, _ROW_H, _TOP = 210, 20, 26, 22


@dataclass(frozen=True)
class _Scale:
    """An outcome's value -> its x on the chart, the axis running from ``lo`` to ``hi``
    over ``span`` px right of the label column."""

    lo: float
    hi: float
    span: float

    def __call__(self, v: float) -> float:
        return _LEFT + (v - self.lo) / (self.hi - self.lo) * self.span


def policy_svg(
    section: Mapping[str, Any],
    outcome: str,
    lang: str,
    *,
    width: int = 640,
    label: str | None = None,
) -> str:
    """One row per policy: DR point, marginal interval, simultaneous band, IPW, truth.
    ``label``: the outcome's name in the title (default: its entry in :data:`POLICY_TEXT`,
    else ``outcome``)."""
    t = POLICY_TEXT[lang]
    title = label if label is not None else t.get(outcome, outcome)
    pols = section.get("policies", {})
    rows = [(n, p[outcome]) for n, p in pols.items() if outcome in p]
    if not rows:
        return ""
    lo, hi, pad_v = _padded_range([b for _, b in rows])
    x = _Scale(lo=lo, hi=hi, span=width - _LEFT - _RIGHT)
    height = _TOP + _ROW_H * len(rows) + 30
    parts = [f'<text x="{_LEFT}" y="14" font-size="11">{escape(title)}</text>']
    oracle = _oracle_value(section, outcome)
    if oracle is not None:
        parts.append(_oracle_line(x(oracle), height=height, text=t["oracle_line"]))
    for i, (name, b) in enumerate(rows):
        cy = _TOP + _ROW_H * i + _ROW_H / 2
        parts.append(_policy_row(policy_name(name, lang), b, cy=cy, x=x))
    for v in (lo + pad_v, hi - pad_v):
        parts.append(
            f'<text x="{x(v):.1f}" y="{height - 24 + 12}" font-size="10" '
            f'text-anchor="middle">{fmt_number(v, lang, 2)}</text>'
        )
    aria = t["aria"].format(outcome=title)
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(aria)}">{"".join(parts)}</svg>'
    )


def _padded_range(estimates: Sequence[Mapping[str, Any]]) -> tuple[float, float, float]:
    """The axis of the policies' ``estimates`` (intervals, IPW, truth): its ends, 5 % of
    the values' range (0.05 when they are all equal) beyond them, and that padding."""
    vals = [
        v
        for b in estimates
        for k in ("dr_sim_low", "dr_sim_high", "ipw", "true", "dr_low", "dr_high")
        if (v := b.get(k)) is not None
    ]
    lo, hi = min(vals), max(vals)
    pad_v = (hi - lo) * 0.05 or 0.05
    return lo - pad_v, hi + pad_v, pad_v


def _oracle_value(section: Mapping[str, Any], outcome: str) -> Any:
    """The oracle's true value of ``outcome`` (the section's, else the oracle policy's);
    None when unknown."""
    pols = section.get("policies", {})
    oracle = section.get("oracle", {}).get(outcome)
    if oracle is None and "oracle" in pols and outcome in pols["oracle"]:
        oracle = pols["oracle"][outcome].get("true")
    return oracle


def _oracle_line(ox: float, *, height: int, text: str) -> str:
    """The oracle's dashed vertical line at ``ox``, captioned ``text`` below the rows."""
    return (
        f'<line x1="{ox:.1f}" y1="{_TOP - 4}" x2="{ox:.1f}" y2="{height - 24}" '
        'stroke="#b44" stroke-dasharray="5 3"/>'
        f'<text x="{ox:.1f}" y="{height - 12}" font-size="10" text-anchor="middle" '
        f'fill="#b44">{escape(text)}</text>'
    )


def _policy_row(name: str, b: Mapping[str, Any], *, cy: float, x: _Scale) -> str:
    """One policy's row at height ``cy``: its ``name``, then those of its estimates ``b``
    given: simultaneous band, marginal interval, DR point, IPW square, true-value diamond."""
    parts = [
        f'<text x="{_LEFT - 8}" y="{cy + 4:.1f}" font-size="11" text-anchor="end">'
        f"{escape(name)}</text>"
    ]
    if b.get("dr_sim_low") is not None:
        parts.append(
            f'<line x1="{x(b["dr_sim_low"]):.1f}" y1="{cy}" '
            f'x2="{x(b["dr_sim_high"]):.1f}" y2="{cy}" stroke="#a9c4e0" '
            'stroke-width="8"/>'
        )
    if b.get("dr_low") is not None:
        parts.append(
            f'<line x1="{x(b["dr_low"]):.1f}" y1="{cy}" x2="{x(b["dr_high"]):.1f}" '
            f'y2="{cy}" stroke="#1c5d99" stroke-width="3"/>'
        )
    if b.get("dr") is not None:
        parts.append(f'<circle cx="{x(b["dr"]):.1f}" cy="{cy}" r="4" fill="#1c5d99"/>')
    if b.get("ipw") is not None:
        parts.append(
            f'<rect x="{x(b["ipw"]) - 3:.1f}" y="{cy - 3}" width="6" height="6" '
            'fill="none" stroke="#444"/>'
        )
    if b.get("true") is not None:
        tx = x(b["true"])
        parts.append(
            f'<path d="M{tx:.1f} {cy - 6} L{tx + 5:.1f} {cy} L{tx:.1f} {cy + 6} '
            f'L{tx - 5:.1f} {cy} Z" fill="#e8a33d" stroke="#6b4a12"/>'
        )
    return "".join(parts)


def _interval(point: Any, low: Any, high: Any, lang: str) -> str:
    """``0.296 [0.250, 0.354]``; French ``0,296 [0,250 ; 0,354]`` (the decimal comma needs
    another separator)."""
    sep = " ; " if lang == "fr" else ", "
    return (
        f"{fmt_number(point, lang, 3)} [{fmt_number(low, lang, 3)}{sep}{fmt_number(high, lang, 3)}]"
    )


def policy_rows(
    section: Mapping[str, Any],
    lang: str,
    *,
    efficacy: str | None,
    any_severe_ae: str | None,
) -> list[dict[str, Any]]:
    """One row per policy for the model card's table (numbers formatted in ``lang``), its
    outcomes by role (``utility``, ``efficacy``, ``any_severe_ae``: the endpoints of
    ``config.endpoint_roles``)."""
    outcomes = _outcomes(efficacy, any_severe_ae)
    out = []
    for name, p in section.get("policies", {}).items():
        row: dict[str, Any] = {"name": policy_name(name, lang)}
        for role, o in outcomes.items():
            b = p.get(o) if o else None
            row[role] = _interval(b["dr"], b["dr_low"], b["dr_high"], lang) if b else "—"
            row[f"{role}_true"] = fmt_number(b.get("true"), lang, 3) if b else "—"
        u = p.get("utility") or {}
        row["vs_practice"] = (
            _interval(u["dr_vs_practice"], u["dr_vs_practice_low"], u["dr_vs_practice_high"], lang)
            if "dr_vs_practice" in u
            else "—"
        )
        row["regret"] = fmt_number(p.get("normalized_regret"), lang, 2)
        row["agreement"] = fmt_number(p.get("top1_agreement_oracle"), lang, 2)
        row["low"] = fmt_number(p.get("low_propensity_share"), lang, 2)
        out.append(row)
    return out


def _signed(v: float | None, lang: str) -> str:
    return "—" if v is None else ("+" if v > 0 else "") + fmt_number(v, lang, 3)


def policy_context(
    section: Mapping[str, Any] | None,
    lang: str,
    *,
    efficacy: str | None,
    any_severe_ae: str | None,
) -> dict[str, Any] | None:
    """Everything the model card's policy section shows; None without a policy study.
    ``efficacy`` / ``any_severe_ae``: the endpoints of those roles (``config.
    endpoint_roles``), the outcomes shown besides the utility."""
    if not section or not section.get("policies"):
        return None
    t = POLICY_TEXT[lang]
    outcomes = _outcomes(efficacy, any_severe_ae)
    summary = section.get("summary") or {}
    sentence = ""
    if summary:
        sentence = t["summary"].format(
            policy=policy_name(str(summary["policy"]), lang),
            gain=_signed(summary["gain_over_practice"], lang),
            on=t["on_true"] if summary.get("on") == "true" else t["on_dr"],
            regret=fmt_number(summary.get("normalized_regret"), lang, 2),
        )
        if summary.get("dr_gain_over_practice"):
            g, lo, hi = (_signed(v, lang) for v in summary["dr_gain_over_practice"])
            sentence += " " + t["paired"].format(gain=g, low=lo, high=hi)
    training = []
    variants = {k: v for k, v in (section.get("training") or {}).items() if isinstance(v, dict)}
    used = (section.get("training") or {}).get("used")
    for variant, block in variants.items() if len(variants) > 1 else ():
        cf = (block.get("outcome_model_error") or {}).get(efficacy, {}) if efficacy else {}
        for name, r in block.get("recommenders", {}).items():
            training.append(
                {
                    "variant": t.get(variant, variant)
                    + (f" ({t['used']})" if variant == used else ""),
                    "name": policy_name(name, lang),
                    "true": fmt_number(r.get("utility", {}).get("true"), lang, 3),
                    "regret": fmt_number(r.get("normalized_regret"), lang, 2),
                    "agreement": fmt_number(r.get("top1_agreement_oracle"), lang, 2),
                    "cf_error": fmt_number(cf.get("mae_counterfactual"), lang, 3),
                }
            )
    has_truth = any("true" in p.get("utility", {}) for p in section["policies"].values())
    return {
        "t": t,
        "summary": sentence,
        "truth": has_truth,
        "rows": policy_rows(section, lang, efficacy=efficacy, any_severe_ae=any_severe_ae),
        "svg": {
            role: policy_svg(section, o, lang, label=t[role]) if o else ""
            for role, o in outcomes.items()
        },
        "training": training,
    }
