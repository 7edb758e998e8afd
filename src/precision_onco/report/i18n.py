"""Report wording in English and French, and numbers formatted as each language writes them.

The phrases themselves are in one table per language (:mod:`precision_onco.report.phrases`);
this module looks them up (:func:`labels`, :func:`civic_term`, :func:`translate_reason`).

French labels use the terms French oncologists use (« réponse objective »,
« toxicité de grade ≥ 3 », « ligne de traitement »); numbers take a decimal
comma and a narrow no-break space before « % ».
"""

from __future__ import annotations

from typing import Any

from precision_onco.config.schema import ReportLang, choices_of
from precision_onco.errors import ConfigError
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


_REASONS_FR: list[tuple[str, str]] = PHRASES["fr"]["reasons"]


_CIVIC_FR: dict[str, str] = PHRASES["fr"]["civic"]


def civic_term(text: Any, lang: str) -> str:
    """A CIViC evidence direction or clinical significance in ``lang``."""
    return str(text) if lang == "en" or text is None else _CIVIC_FR.get(str(text), str(text))


def translate_reason(reason: str, lang: str, catalog: Any = None) -> str:
    """An exclusion reason of the eligibility rules in ``lang`` (biomarker and
    contraindication labels from the catalog's ``label_fr``)."""
    import re

    if lang == "en" or not reason:
        return reason
    if reason.startswith("needs ") and " testing: " in reason:
        return _needs_testing_fr(reason, catalog)
    for rx, repl in _REASONS_FR:
        if re.match(rx, reason):
            return re.sub(rx, repl, reason)
    if catalog is not None:
        for b in catalog.biomarkers.values():
            fr = b.label_fr or b.label
            if reason == f"requires {b.label} (not found)":
                return f"nécessite : {fr} (non retrouvé)"
            if reason == f"not for patients with {b.label}":
                return f"non indiqué en cas de : {fr}"
        for reg in catalog.regimens:
            for c in reg.contraindications:
                if reason == f"contraindicated: {c.label}":
                    return f"contre-indiqué : {c.label_fr or c.label}"
    from precision_onco.pgx.report import reason_fr  # pharmacogenomics (issue 17)

    return reason_fr(reason) or reason


_COVER = (
    " (a gene without a call is wild type only where the assay covered it: "
    "cohort.inputs.coverage, genes_tested)"
)


def _needs_testing_fr(reason: str, catalog: Any) -> str:
    """A "needs … testing" reason (catalog eligibility with untested genes) in French."""
    import re

    labels = {}
    if catalog is not None:
        labels = {b.label: (b.label_fr or b.label) for b in catalog.biomarkers.values()}
        for reg in catalog.regimens:
            labels |= {c.label: (c.label_fr or c.label) for c in reg.contraindications}

    def fr(text: str) -> str:
        for en in sorted(labels, key=len, reverse=True):
            text = text.replace(en, labels[en])
        return text

    m = re.match(r"^needs (.+?) testing: (.+?), and (.*)$", reason)
    if not m:
        return reason
    what, rule, gaps = m.groups()
    rule = re.sub(r"^not for patients with ", "non indiqué en cas de : ", rule)
    rule = re.sub(r"^requires ", "nécessite : ", rule)
    rule = re.sub(r"^contraindicated with ", "contre-indiqué en cas de : ", rule)
    rule = fr(rule).replace(" or ", " ou ")
    parts = []
    for gap in gaps.split("; "):
        g = re.match(r"^the patient's assay did not cover (.+)$", gap.replace(_COVER, ""))
        if g:
            parts.append(
                f"le panel du patient ne couvrait pas {g.group(1)} (un gène sans "
                "variant n'est considéré comme sauvage que s'il a été analysé)"
            )
            continue
        g = re.match(r"^(\S+) is not recorded \((.+)\)$", gap)
        parts.append(f"{fr(g.group(2))} non renseigné ({g.group(1)})" if g else gap)
    return f"test nécessaire ({fr(what)}) : {rule} ; {' ; '.join(parts)}"


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
