"""Model features and their values in the words an oncologist would write, in English and French.

:func:`describe` names one feature value ("pembrolizumab + carboplatin + pemetrexed",
"no targeted agent in the regimen", "albumine 2,9 g/dL"); regimen, drug and cancer-type
names come from the catalog (``name``/``name_fr``, ``cancer_types``), biomarkers from their
``label``/``label_fr``. :func:`regimen_name` and :func:`cancer_type_name` are the same names
for the reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from precision_onco.config.schema import CatalogConfig
from precision_onco.report.phrases import PHRASES

__all__ = ["FeatureName", "cancer_type_name", "describe", "parse_feature", "regimen_name"]

_ROMAN = {0: "0", 1: "I", 2: "II", 3: "III", 4: "IV"}
_RESPONSE: dict[str, dict[int, str]] = {lang: p["best_response"] for lang, p in PHRASES.items()}
_UNITS: dict[str, dict[str, str]] = {lang: p["units"] for lang, p in PHRASES.items()}
_NAMES: dict[str, dict[str, str]] = {lang: p["feature_names"] for lang, p in PHRASES.items()}
#: Drug classes: (the class, an agent of the class) in each language.
_CLASSES: dict[str, dict[str, tuple[str, str]]] = {
    lang: p["drug_classes"] for lang, p in PHRASES.items()
}
_PATHWAYS: dict[str, dict[str, str]] = {lang: p["pathways"] for lang, p in PHRASES.items()}
#: Yes/no features: (when 1, when 0) in each language.
_FLAGS: dict[str, dict[str, tuple[str, str]]] = {lang: p["flags"] for lang, p in PHRASES.items()}
_SMOKING: dict[str, dict[str, str]] = {lang: p["smoking"] for lang, p in PHRASES.items()}
_WORDS: dict[str, dict[str, Any]] = {lang: p["describe"] for lang, p in PHRASES.items()}


def _num(v: Any, lang: str = "en") -> str:
    f = float(v)
    text = f"{f:.0f}" if abs(f) >= 100 or f.is_integer() else f"{f:.1f}"
    return text.replace(".", ",") if lang == "fr" else text


def regimen_name(regimen_id: Any, catalog: CatalogConfig | None, lang: str = "en") -> str:
    """A regimen in words: the catalog's name in ``lang``, its first letter lowercased unless
    it is an acronym ("pembrolizumab + carboplatin + pemetrexed", "FOLFOX (…)")."""
    rid = str(regimen_id)
    reg = next((r for r in catalog.regimens if r.id == rid), None) if catalog else None
    if reg is None:
        return rid.replace("_", " + ") if catalog is None else rid
    name = (reg.name_fr or reg.name) if lang == "fr" else reg.name
    return name if name[:2].isupper() else name[:1].lower() + name[1:]


def cancer_type_name(code: Any, catalog: CatalogConfig | None, lang: str = "en") -> str:
    """A cancer type's name (OncoTree's in English, the catalog's ``label_fr`` in French);
    the code itself when the catalog does not name it."""
    ct = catalog.cancer_types.get(str(code)) if catalog else None
    if ct is None:
        return str(code)
    return (ct.label_fr or ct.label) if lang == "fr" else ct.label


@dataclass(frozen=True)
class FeatureName:
    """A model feature's name parsed once: its ``kind`` (``biomarker``, ``gene``,
    ``pathway``, ``prior_class``, ``regimen_has``, ``class_before`` or ``plain``) and the
    ``key`` its prefix qualifies (a biomarker id, a gene, a pathway, a drug class)."""

    kind: str
    key: str


#: Feature-name prefixes (features/build.py) and the kind of feature each names.
_PREFIXES = (
    ("bm_", "biomarker"),
    ("gene_", "gene"),
    ("pathway_", "pathway"),
    ("prior_", "prior_class"),
    ("regimen_has_", "regimen_has"),
    ("same_class_before_", "class_before"),
)
_CLASS_KINDS = ("prior_class", "regimen_has", "class_before")


def parse_feature(name: str) -> FeatureName:
    """The kind and key of a feature name ("gene_KRAS" -> gene KRAS); a drug-class prefix
    counts only before a known class ("prior_lines" is plain); otherwise ``plain``."""
    if name == "regimen_platinum":
        return FeatureName("regimen_has", "platinum")
    for prefix, kind in _PREFIXES:
        key = name.removeprefix(prefix)
        if key != name and (kind not in _CLASS_KINDS or key in _CLASSES["en"]):
            return FeatureName(kind, key)
    return FeatureName("plain", name)


def _class_words(parsed: FeatureName, value: Any, lang: str) -> str | None:
    """Drug-class features: earlier lines with a class, the regimen's classes, repeats."""
    if parsed.kind not in _CLASS_KINDS:
        return None
    w = _WORDS[lang]
    name, agent = _CLASSES[lang][parsed.key]
    if parsed.kind == "prior_class":
        return str(w["prior_class"].format(n=int(value), name=name))
    if parsed.kind == "regimen_has":
        article = w["article_vowel"] if agent[0] in "aeiou" else w["article"]
        key = "regimen_has" if value else "regimen_has_not"
        return str(w[key].format(article=article, agent=agent))
    return str(w["class_received" if value else "class_not_received"].format(name=name))


def describe(
    feature: str, value: Any, catalog: CatalogConfig | None = None, lang: str = "en"
) -> str:
    """A feature and its value in clinical words ("KRAS G12C present", "albumin 2.9 g/dL",
    "pembrolizumab + carboplatin + pemetrexed"); ``lang="fr"``: in French."""
    w = _WORDS[lang]
    missing = value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
    names = _NAMES[lang]
    parsed = parse_feature(feature)
    if parsed.kind == "biomarker" and catalog is not None and parsed.key in catalog.biomarkers:
        bm = catalog.biomarkers[parsed.key]
        present = not missing and bool(value)
        label = (bm.label_fr or bm.label) if lang == "fr" else bm.label
        return str(w["biomarker"].format(label=label, state=w["present" if present else "absent"]))
    if missing:
        return str(w["not_recorded"].format(name=names.get(feature, feature.replace("_", " "))))
    if parsed.kind == "gene":
        return str(w["gene_altered" if value else "gene_not_altered"].format(gene=parsed.key))
    if parsed.kind == "pathway":
        pw = _PATHWAYS[lang].get(parsed.key, parsed.key.upper())
        return str(w["pathway"].format(n=int(value), pathway=pw))
    if feature == "line_number":
        n = int(value)
        ordinal = w["ordinals"].get(n) or w["ordinal_other"].format(n=n)
        return str(w["line"].format(ordinal=ordinal))
    if feature == "ecog":
        return f"ECOG {int(value)}"
    if feature == "regimen_id":
        return regimen_name(value, catalog, lang)
    if feature == "regimen_class":
        cls = _CLASSES[lang].get(str(value), (str(value), str(value)))[0]
        return str(w["regimen_class"].format(cls=cls))
    if feature == "cancer_type":
        return cancer_type_name(value, catalog, lang)
    if feature in ("prior_best_response", "prior_best_response_ever"):
        response = _RESPONSE[lang].get(int(value), _num(value, lang))
        return str(w["history"].format(name=names[feature], value=response))
    if feature == "stage_rank":
        return str(w["stage"].format(stage=_ROMAN.get(int(value), _num(value, lang))))
    if feature == "smoking_status":
        return _SMOKING[lang].get(str(value), str(value))
    if feature == "prior_lines":
        return str(w["prior_lines"].format(n=int(value)))
    if feature in _FLAGS[lang]:
        yes, no = _FLAGS[lang][feature]
        return yes if value else no
    words = _class_words(parsed, value, lang)
    if words is not None:
        return words
    if feature in names:
        unit = _UNITS[lang].get(feature, "")
        return f"{names[feature]} {_num(value, lang)}{(' ' + unit) if unit else ''}"
    text = value if isinstance(value, str) else _num(value, lang)
    return f"{feature.replace('_', ' ')} = {text}"
