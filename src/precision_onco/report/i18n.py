"""Report wording in English and French, and numbers formatted as each language writes them.

French labels use the terms French oncologists use (« réponse objective »,
« toxicité de grade ≥ 3 », « ligne de traitement »); numbers take a decimal
comma and a narrow no-break space before « % ».
"""

from __future__ import annotations

from typing import Any

from precision_onco.config.schema import ReportLang, choices_of
from precision_onco.errors import ConfigError

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

_EN: dict[str, str] = {
    "title": "Treatment recommendation report",
    "disclaimer": "Decision support only. These estimates come from statistical models trained "
    "on past patients; they do not replace the judgement of the treating oncologist and the "
    "tumour board, who know the patient.",
    "settings": "Settings",
    "preset": "Utility preset",
    "generated": "Generated",
    "patient": "Patient",
    "patient_summary": "Patient summary",
    "cancer_type": "Cancer type",
    "line": "Line of treatment",
    "ecog": "ECOG performance status",
    "stage": "Stage",
    "sex": "Sex",
    "age": "Age",
    "key_labs": "Key laboratory values at line start",
    "prior_lines": "Prior lines of treatment",
    "none": "none",
    "not_recorded": "not recorded",
    "regimen": "Regimen",
    "best_response": "Best response",
    "max_grade": "Worst adverse-event grade",
    "genomic_findings": "Genomic findings",
    "gene": "Gene",
    "protein_change": "Protein change (HGVSp)",
    "vaf": "Allele fraction",
    "depth": "Depth",
    "actionable": "Actionable",
    "yes": "yes",
    "no": "no",
    "no_variants": "No variant reported.",
    "other_variants": "other variant(s) not listed: synonymous, non-coding or outside the "
    "models' gene panel.",
    "ranked_regimens": "Ranked regimens",
    "rank": "Rank",
    "p_response": "Objective response",
    "p_ae_grade3": "Grade ≥ 3 toxicity",
    "interval": "95% interval",
    "utility": "Utility",
    "distinguishable": "Distinguishable from the first",
    "not_distinguishable": "not distinguishable from the first",
    "toxicity_profile": "Grade ≥ 3 toxicity by category",
    "tox_not_modelled": "Not modelled: the training cohort records no adverse-event grades "
    "for these categories.",
    "category": "Category",
    "probability": "Probability",
    "why": "Why this estimate",
    "drivers_up": "Raise the probability of response",
    "drivers_down": "Lower the probability of response",
    "shap_caption": "Contributions (TreeSHAP, log-odds) to the predicted probability of response",
    "vs_second": "What separates it from",
    "evidence": "Evidence",
    "trial": "Pivotal trial",
    "published": "Published response rate / grade ≥ 3 rate",
    "biomarkers_matched": "Biomarkers it relies on",
    "civic_items": "CIViC evidence items",
    "level": "Level",
    "direction": "Direction",
    "significance": "Significance",
    "citation": "Citation",
    "no_civic": "No CIViC item matches (or no CIViC release configured).",
    "excluded": "Excluded regimens",
    "reason": "Reason",
    "provenance": "Provenance",
    "models": "Registered models",
    "version": "Version",
    "alias": "Alias",
    "run": "MLflow run",
    "data_version": "Data version (SHA-256 of the features)",
    "config_hash": "Configuration hash (SHA-256 of params.yaml)",
    "catalog_version": "Therapy catalog version",
    "training_cohort": "Training cohort of the models",
    "not_champion": "this run's models, not registered champions: too little data to promote",
    "kb": "Knowledge bases and licences",
    "package": "precision_onco version",
    "status_cancer_type_not_in_catalog": "No recommendation: this cancer type is not in the "
    "therapy catalog.",
    "status_no_eligible_regimen": "No eligible regimen in the catalog for this patient at this "
    "line.",
    "model_card": "Model card",
    "cohort": "Cohort",
    "endpoints": "Endpoints",
    "metrics": "Held-out performance (95% bootstrap interval)",
    "subgroups": "Subgroups",
    "calibration": "Calibration",
    "intended_use": "Intended use",
    "limitations": "Limitations",
    "importance": "Most influential features",
    "variant": "Variant",
    "feature": "Feature",
    "mean_shap": "mean |SHAP|, log-odds",
    "n_patients": "Patients",
    "n_lines": "Therapy lines",
}

_FR: dict[str, str] = {
    "title": "Rapport de recommandation thérapeutique",
    "disclaimer": "Aide à la décision uniquement. Ces estimations proviennent de modèles "
    "statistiques appris sur des patients antérieurs ; elles ne remplacent pas le jugement de "
    "l'oncologue référent ni de la réunion de concertation pluridisciplinaire (RCP), qui "
    "connaissent le patient.",
    "settings": "Paramètres",
    "preset": "Profil d'utilité",
    "generated": "Généré le",
    "patient": "Patient",
    "patient_summary": "Résumé du patient",
    "cancer_type": "Type de cancer",
    "line": "Ligne de traitement",
    "ecog": "Indice de performance ECOG",
    "stage": "Stade",
    "sex": "Sexe",
    "age": "Âge",
    "key_labs": "Principaux résultats biologiques en début de ligne",
    "prior_lines": "Lignes de traitement antérieures",
    "none": "aucune",
    "not_recorded": "non renseigné",
    "regimen": "Protocole",
    "best_response": "Meilleure réponse",
    "max_grade": "Grade maximal d'événement indésirable",
    "genomic_findings": "Altérations génomiques",
    "gene": "Gène",
    "protein_change": "Variation protéique (HGVSp)",
    "vaf": "Fréquence allélique",
    "depth": "Profondeur",
    "actionable": "Ciblable",
    "yes": "oui",
    "no": "non",
    "no_variants": "Aucun variant rapporté.",
    "other_variants": "autre(s) variant(s) non listé(s) : synonymes, non codants ou hors du "
    "panel de gènes des modèles.",
    "ranked_regimens": "Protocoles classés",
    "rank": "Rang",
    "p_response": "Réponse objective",
    "p_ae_grade3": "Toxicité de grade ≥ 3",
    "interval": "intervalle à 95 %",
    "utility": "Utilité",
    "distinguishable": "Distinct du premier",
    "not_distinguishable": "non distinguable du premier",
    "toxicity_profile": "Toxicité de grade ≥ 3 par catégorie",
    "tox_not_modelled": "Non modélisée : la cohorte d'apprentissage ne renseigne pas les grades "
    "d'événements indésirables de ces catégories.",
    "category": "Catégorie",
    "probability": "Probabilité",
    "why": "Pourquoi cette estimation",
    "drivers_up": "Augmentent la probabilité de réponse",
    "drivers_down": "Diminuent la probabilité de réponse",
    "shap_caption": "Contributions (TreeSHAP, log-odds) à la probabilité prédite de réponse",
    "vs_second": "Ce qui le distingue de",
    "evidence": "Niveau de preuve",
    "trial": "Essai pivot",
    "published": "Taux de réponse / de toxicité de grade ≥ 3 publiés",
    "biomarkers_matched": "Biomarqueurs requis présents",
    "civic_items": "Éléments de preuve CIViC",
    "level": "Niveau",
    "direction": "Sens",
    "significance": "Signification",
    "citation": "Référence",
    "no_civic": "Aucun élément CIViC correspondant (ou aucune version de CIViC configurée).",
    "excluded": "Protocoles exclus",
    "reason": "Motif",
    "provenance": "Traçabilité",
    "models": "Modèles enregistrés",
    "version": "Version",
    "alias": "Alias",
    "run": "Exécution MLflow",
    "data_version": "Version des données (SHA-256 des variables)",
    "config_hash": "Empreinte de la configuration (SHA-256 de params.yaml)",
    "catalog_version": "Version du catalogue thérapeutique",
    "training_cohort": "Cohorte d'apprentissage des modèles",
    "not_champion": "modèles de cette exécution, non promus : trop peu de données",
    "kb": "Bases de connaissances et licences",
    "package": "Version de precision_onco",
    "status_cancer_type_not_in_catalog": "Pas de recommandation : ce type de cancer n'est pas "
    "couvert par le catalogue thérapeutique.",
    "status_no_eligible_regimen": "Aucun protocole du catalogue n'est éligible pour ce patient "
    "à cette ligne.",
    "model_card": "Fiche du modèle",
    "cohort": "Cohorte",
    "endpoints": "Critères",
    "metrics": "Performances sur l'échantillon de test (intervalle bootstrap à 95 %)",
    "subgroups": "Sous-groupes",
    "calibration": "Calibration",
    "intended_use": "Usage prévu",
    "limitations": "Limites",
    "importance": "Variables les plus influentes",
    "variant": "Variant",
    "feature": "Variable",
    "mean_shap": "|SHAP| moyen, log-odds",
    "n_patients": "Patients",
    "n_lines": "Lignes de traitement",
}

#: Toxicity categories and RECIST codes, as each language names them.
_TERMS: dict[str, dict[str, str]] = {
    "en": {
        "hematologic": "hematologic",
        "gastrointestinal": "gastrointestinal",
        "hepatic": "hepatic",
        "skin": "skin",
        "pulmonary": "pulmonary",
        "immune_related": "immune-related",
        "metabolic": "metabolic",
        "CR": "complete response",
        "PR": "partial response",
        "SD": "stable disease",
        "PD": "progressive disease",
        "NE": "not evaluable",
        "M": "male",
        "F": "female",
    },
    "fr": {
        "hematologic": "hématologique",
        "gastrointestinal": "digestive",
        "hepatic": "hépatique",
        "skin": "cutanée",
        "pulmonary": "pulmonaire",
        "immune_related": "immuno-médiée",
        "metabolic": "métabolique",
        "CR": "réponse complète",
        "PR": "réponse partielle",
        "SD": "maladie stable",
        "PD": "progression",
        "NE": "non évaluable",
        "M": "homme",
        "F": "femme",
    },
}


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


_REASONS_FR: list[tuple[str, str]] = [
    (
        r"^indicated for (.+) histology only; the histology \(OncoTree code\) is not recorded$",
        r"indiqué pour l'histologie \1 uniquement ; l'histologie (code OncoTree) n'est pas "
        r"renseignée",
    ),
    (
        r"^no training patient with (.+) received (.+): the models cannot score it$",
        r"aucun patient d'apprentissage atteint de \1 n'a reçu \2 : les modèles ne peuvent pas "
        r"l'évaluer",
    ),
    (
        r"^only (\d+) training patient\(s\) with (.+) received (.+) \(at least (\d+) needed to "
        r"score it; model.min_regimen_patients\)$",
        r"seulement \1 patient(s) d'apprentissage atteint(s) de \2 ont reçu \3 (au moins \4 "
        r"nécessaires pour l'évaluer ; model.min_regimen_patients)",
    ),
    (r"^indicated for (.+) histology only$", r"indiqué pour l'histologie \1 uniquement"),
    (r"^indicated for (.+) only$", r"indiqué pour \1 uniquement"),
    (r"^allowed at lines (\d+)-(\d+) only$", r"autorisé en lignes \1 à \2 uniquement"),
    (r"^already received at an earlier line$", "déjà reçu lors d'une ligne antérieure"),
]


_CIVIC_FR = {
    "Supports": "en faveur",
    "Does Not Support": "en défaveur",
    "Sensitivity/Response": "sensibilité/réponse",
    "Resistance": "résistance",
    "Reduced Sensitivity": "sensibilité réduite",
    "Adverse Response": "réponse indésirable",
    "Positive": "positive",
    "Negative": "négative",
    "Better Outcome": "meilleur pronostic",
    "Poor Outcome": "pronostic défavorable",
    "N/A": "n/d",
}


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
    fr = lang == "fr"
    parts = []
    for i, x in enumerate(items or []):
        d = float(x["difference"])
        unit = " log-odds" if i == 0 else ""
        if x.get("first") != x.get("second"):
            link = "plutôt que" if fr else "rather than"
            parts.append(f"{x['first']} {link} {x['second']} ({_signed(d, lang)}{unit})")
        elif fr:
            parts.append(
                f"{x['first']}, qui pèse {'davantage' if d > 0 else 'moins'} avec ce "
                f"protocole ({_signed(d, lang)}{unit})"
            )
        else:
            parts.append(
                f"{x['first']}, which counts {'more' if d > 0 else 'less'} with this "
                f"regimen ({_signed(d, lang)}{unit})"
            )
    if not parts:
        return ""
    last = (" et " if fr else " and ").join(parts[-2:])
    body = "; ".join([*parts[:-2], last]) if len(parts) > 2 else last
    if fr:
        return (
            f"Par rapport à {second}, sa probabilité de réponse prédite tient surtout à : {body}."
        )
    return f"Compared with {second}, its predicted response owes most to {body}."
