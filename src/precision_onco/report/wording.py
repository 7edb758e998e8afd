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

_ORDINAL = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}
_ROMAN = {0: "0", 1: "I", 2: "II", 3: "III", 4: "IV"}
_RESPONSE: dict[str, dict[int, str]] = {lang: p["best_response"] for lang, p in PHRASES.items()}
_UNITS: dict[str, str] = PHRASES["en"]["units"]
_UNITS_FR: dict[str, str] = PHRASES["fr"]["units"]
_NAMES: dict[str, dict[str, str]] = {lang: p["feature_names"] for lang, p in PHRASES.items()}
#: Drug classes: (the class, an agent of the class) in each language.
_CLASSES: dict[str, dict[str, tuple[str, str]]] = {
    lang: p["drug_classes"] for lang, p in PHRASES.items()
}
_PATHWAYS: dict[str, dict[str, str]] = {lang: p["pathways"] for lang, p in PHRASES.items()}
#: Yes/no features: (when 1, when 0) in each language.
_FLAGS: dict[str, dict[str, tuple[str, str]]] = {lang: p["flags"] for lang, p in PHRASES.items()}
_SMOKING: dict[str, dict[str, str]] = {lang: p["smoking"] for lang, p in PHRASES.items()}


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
    fr = lang == "fr"
    name, agent = _CLASSES[lang][parsed.key]
    if parsed.kind == "prior_class":
        n = int(value)
        return (
            f"{n} ligne(s) antérieure(s) avec {name}" if fr else f"{n} earlier line(s) with {name}"
        )
    if parsed.kind == "regimen_has":
        if fr:
            return (
                f"{agent} dans le protocole"
                if value
                else f"pas {'d’' if agent[0] in 'aeiou' else 'de '}{agent} dans le protocole"
            )
        if not value:
            return f"no {agent} in the regimen"
        return f"{'an' if agent[0] in 'aeiou' else 'a'} {agent} in the regimen"
    if fr:
        return f"{name} déjà reçue auparavant" if value else f"{name} jamais reçue auparavant"
    return f"{name} already received" if value else f"{name} not received before"


def describe(
    feature: str, value: Any, catalog: CatalogConfig | None = None, lang: str = "en"
) -> str:
    """A feature and its value in clinical words ("KRAS G12C present", "albumin 2.9 g/dL",
    "pembrolizumab + carboplatin + pemetrexed"); ``lang="fr"``: in French."""
    fr = lang == "fr"
    missing = value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
    names = _NAMES[lang]
    parsed = parse_feature(feature)
    if parsed.kind == "biomarker" and catalog is not None and parsed.key in catalog.biomarkers:
        bm = catalog.biomarkers[parsed.key]
        present = not missing and bool(value)
        if fr:
            return f"{bm.label_fr or bm.label} : {'présent' if present else 'absent'}"
        return f"{bm.label} {'present' if present else 'absent'}"
    if missing:
        name = names.get(feature, feature.replace("_", " "))
        return f"{name} : non renseigné" if fr else f"{name} not recorded"
    if parsed.kind == "gene":
        gene = parsed.key
        return (
            f"{gene} {'altéré' if value else 'non altéré'}"
            if fr
            else f"{gene} {'altered' if value else 'not altered'}"
        )
    if parsed.kind == "pathway":
        pw = _PATHWAYS[lang].get(parsed.key, parsed.key.upper())
        n = int(value)
        return (
            f"{n} gène(s) altéré(s) dans la voie {pw}"
            if fr
            else f"{n} altered gene(s) in the {pw} pathway"
        )
    if feature == "line_number":
        n = int(value)
        return f"{n}{'re' if n == 1 else 'e'} ligne" if fr else f"{_ORDINAL.get(n, f'{n}th')} line"
    if feature == "ecog":
        return f"ECOG {int(value)}"
    if feature == "regimen_id":
        return regimen_name(value, catalog, lang)
    if feature == "regimen_class":
        cls = _CLASSES[lang].get(str(value), (str(value), str(value)))[0]
        return f"protocole de type {cls}" if fr else f"{cls} regimen"
    if feature == "cancer_type":
        return cancer_type_name(value, catalog, lang)
    if feature in ("prior_best_response", "prior_best_response_ever"):
        response = _RESPONSE[lang].get(int(value), _num(value, lang))
        return f"{names[feature]} : {response}" if fr else f"{names[feature]}: {response}"
    if feature == "stage_rank":
        return f"{'stade' if fr else 'stage'} {_ROMAN.get(int(value), _num(value, lang))}"
    if feature == "smoking_status":
        return _SMOKING[lang].get(str(value), str(value))
    if feature == "prior_lines":
        n = int(value)
        return f"{n} ligne(s) antérieure(s)" if fr else f"{n} earlier line(s)"
    if feature in _FLAGS[lang]:
        yes, no = _FLAGS[lang][feature]
        return yes if value else no
    words = _class_words(parsed, value, lang)
    if words is not None:
        return words
    if feature in names:
        unit = (_UNITS_FR if fr else _UNITS).get(feature, "")
        return f"{names[feature]} {_num(value, lang)}{(' ' + unit) if unit else ''}"
    text = value if isinstance(value, str) else _num(value, lang)
    return f"{feature.replace('_', ' ')} = {text}"
