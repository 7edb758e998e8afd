"""Report wording in English and French, and numbers formatted as each language writes them.

The phrases themselves are in one table per language (:mod:`precision_onco.report.phrases`);
this module looks them up (:func:`labels`, :func:`civic_term`, :func:`translate_reason`).

Numbers are written as each language writes them (:func:`fmt_number`, :func:`fmt_percent`):
French takes a decimal comma and a narrow no-break space before the percent sign. This module
holds no wording of its own: what it says in French is in :mod:`precision_onco.report.phrases.fr`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from precision_onco.config.schema import ReportLang, choices_of
from precision_onco.errors import ConfigError
from precision_onco.report.pgx_section import reason_fr
from precision_onco.report.phrases import PHRASES

__all__ = [
    "LANGS",
    "Labels",
    "civic_term",
    "fmt_number",
    "fmt_percent",
    "labels",
    "separation_sentence",
    "translate_reason",
]

LANGS = choices_of(ReportLang)

_EN: dict[str, str] = PHRASES["en"]["labels"]

_FR: dict[str, str] = PHRASES["fr"]["labels"]

#: Toxicity categories and RECIST codes, as each language names them.
_TERMS: dict[str, dict[str, str]] = {lang: p["terms"] for lang, p in PHRASES.items()}


class Labels(dict[str, str]):
    """Labels of one language; ``term`` names categories and codes."""

    lang: str

    def term(self, key: Any) -> str:
        return _TERMS[self.lang].get(str(key), str(key))


def labels(lang: str) -> Labels:
    """The labels of ``lang`` (``en`` or ``fr``)."""
    if lang not in LANGS:
        raise ConfigError(f"report.lang: {lang!r} is not one of {', '.join(LANGS)}")
    out = Labels(_EN if lang == "en" else _FR)
    out.lang = lang
    return out


def fmt_number(x: Any, lang: str, digits: int = 2) -> str:
    """``0.28`` (en) or ``0,28`` (fr); an em dash when missing."""
    if x is None or (isinstance(x, float) and x != x):
        return "—"
    text = f"{float(x):,.{digits}f}"
    if lang == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def fmt_percent(p: Any, lang: str, digits: int = 0) -> str:
    """A probability as a percentage: ``28%`` (en), ``28 %`` (fr, narrow no-break space)."""
    if p is None or (isinstance(p, float) and p != p):
        return "—"
    num = fmt_number(100 * float(p), lang, digits)
    return f"{num}\u202f%" if lang == "fr" else f"{num}%"


#: The French table of the exclusion reasons (``phrases.fr``, section ``reasons``).
_REASONS_FR: dict[str, Any] = PHRASES["fr"]["reasons"]


_CIVIC_FR: dict[str, str] = PHRASES["fr"]["civic"]


def civic_term(text: Any, lang: str) -> str:
    """A CIViC evidence direction or clinical significance in ``lang``."""
    return str(text) if lang == "en" or text is None else _CIVIC_FR.get(str(text), str(text))


def translate_reason(reason: str, lang: str, catalog: Any = None) -> str:
    """An exclusion reason of the eligibility rules in ``lang`` (biomarker and
    contraindication labels from the catalog's ``label_fr``): the first pattern of the
    language's table (:data:`_REASONS_FR`) that matches it, else the pharmacogenomic
    reasons' wording, else the reason as written."""
    if lang == "en" or not reason:
        return reason
    if reason.startswith("needs ") and " testing: " in reason:
        return _needs_testing_fr(reason, catalog)
    for rx, repl in _REASONS_FR["patterns"]:
        if re.match(rx, reason):
            return re.sub(rx, repl, reason)
    for kind, french in _exact_labels(catalog).items():
        for rx, template in _REASONS_FR["labels"][kind]:
            m = re.match(rx, reason)
            if m and m["label"] in french:
                return str(template.format(label=french[m["label"]]))
    return reason_fr(reason) or reason


def _exact_labels(catalog: Any) -> dict[str, dict[str, str]]:
    """The catalog's labels in French by kind (``biomarker``, ``contraindication``): each
    English label's first ``label_fr`` (the label itself without one); empty without a
    catalog."""
    out: dict[str, dict[str, str]] = {"biomarker": {}, "contraindication": {}}
    if catalog is None:
        return out
    for b in catalog.biomarkers.values():
        out["biomarker"].setdefault(b.label, b.label_fr or b.label)
    for reg in catalog.regimens:
        for c in reg.contraindications:
            out["contraindication"].setdefault(c.label, c.label_fr or c.label)
    return out


def _label_replacer(catalog: Any) -> Callable[[str], str]:
    """A function putting every biomarker and contraindication label of the catalog in a
    text in French (the longest labels first)."""
    labels: dict[str, str] = {}
    if catalog is not None:
        labels = {b.label: (b.label_fr or b.label) for b in catalog.biomarkers.values()}
        for reg in catalog.regimens:
            labels |= {c.label: (c.label_fr or c.label) for c in reg.contraindications}
    order = sorted(labels, key=len, reverse=True)

    def fr(text: str) -> str:
        for en in order:
            text = text.replace(en, labels[en])
        return text

    return fr


def _needs_testing_fr(reason: str, catalog: Any) -> str:
    """A "needs … testing" reason (catalog eligibility with untested genes) in French, from
    the ``needs_testing`` part of :data:`_REASONS_FR`."""
    table = _REASONS_FR["needs_testing"]
    m = re.match(table["pattern"], reason)
    if not m:
        return reason
    fr = _label_replacer(catalog)
    rule = m["rule"]
    for rx, repl in table["rule"]:
        rule = re.sub(rx, repl, rule)
    rule = fr(rule).replace(*table["or"])
    gaps = [_gap_fr(gap, table["gaps"], fr) for gap in m["gaps"].split("; ")]
    return str(
        table["sentence"].format(
            what=fr(m["what"]), rule=rule, gaps=table["gap_separator"].join(gaps)
        )
    )


def _gap_fr(gap: str, patterns: Sequence[tuple[str, str]], fr: Callable[[str], str]) -> str:
    """One gap of a "needs … testing" reason by the first pattern that matches it (its
    ``label`` group in French), else as written."""
    for rx, template in patterns:
        m = re.match(rx, gap)
        if m:
            groups = {k: fr(v) if k == "label" else v for k, v in m.groupdict().items()}
            return str(template.format(**groups))
    return gap


def _signed(d: float, lang: str) -> str:
    return ("+" if d >= 0 else "−") + fmt_number(abs(d), lang)


def separation_sentence(second: str, items: Any, lang: str) -> str:
    """What separates the first regimen from the second (``items``: the ``first_vs_second``
    response items, each feature's wording for both regimens and the log-odds difference),
    as one sentence: "Compared with carboplatin + pemetrexed, its predicted response owes
    most to pembrolizumab + carboplatin + pemetrexed rather than carboplatin + pemetrexed
    (+0.96 log-odds) and …"."""
    w = PHRASES[lang]["separation"]
    parts = []
    for i, x in enumerate(items or []):
        d = float(x["difference"])
        diff = _signed(d, lang) + (" log-odds" if i == 0 else "")
        if x.get("first") != x.get("second"):
            parts.append(w["differs"].format(first=x["first"], second=x["second"], difference=diff))
        else:
            more = w["more" if d > 0 else "less"]
            parts.append(w["same"].format(first=x["first"], more_or_less=more, difference=diff))
    if not parts:
        return ""
    last = w["and"].join(parts[-2:])
    body = "; ".join([*parts[:-2], last]) if len(parts) > 2 else last
    return str(w["sentence"].format(second=second, body=body))
