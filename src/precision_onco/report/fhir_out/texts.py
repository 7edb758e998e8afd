"""Display texts of the FHIR bundles in the report language (codes never change with it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from precision_onco.config.schema import CatalogConfig
from precision_onco.report.i18n import fmt_percent, labels, translate_reason

__all__ = ["Texts"]

_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "task_code": "Proposed treatment (decision support)",
        "medication": "medication",
        "rank": "rank",
        "not_recommended": "not recommended by the catalog's rules",
        "rank_text": "Rank {rank}: {regimen}",
        "response": "objective response {p} [{lo}–{hi}]",
        "toxicity": "grade ≥ 3 toxicity {p} [{lo}–{hi}]",
        "not_distinguishable": "not distinguishable from the first",
        "trial": "pivotal trial {trial} ({population})",
        "civic": "CIViC evidence level {level}",
        "tmb": "Tumour mutational burden",
        "msi_status": "Microsatellite instability",
        "pdl1_tps": "PD-L1 tumour proportion score",
        "her2_status": "HER2 status",
        "report_html": "Recommendation report (HTML)",
        "report_pdf": "Recommendation report (PDF)",
        "submission": "Treatment recommendation report for the patient's record",
    },
    "fr": {
        "task_code": "Traitement proposé (aide à la décision)",
        "medication": "médicament",
        "rank": "rang",
        "not_recommended": "non retenu par les règles du catalogue",
        "rank_text": "Rang {rank} : {regimen}",
        "response": "réponse objective {p} [{lo}–{hi}]",
        "toxicity": "toxicité de grade ≥ 3 {p} [{lo}–{hi}]",
        "not_distinguishable": "non distinguable du premier",
        "trial": "essai pivot {trial} ({population})",
        "civic": "niveau de preuve CIViC {level}",
        "tmb": "Charge mutationnelle tumorale",
        "msi_status": "Instabilité microsatellitaire",
        "pdl1_tps": "PD-L1 (score de proportion tumorale)",
        "her2_status": "Statut HER2",
        "report_html": "Rapport de recommandation (HTML)",
        "report_pdf": "Rapport de recommandation (PDF)",
        "submission": "Rapport de recommandation thérapeutique pour le dossier du patient",
    },
}


class Texts:
    """The texts of one language, with the catalog's names of drugs, regimens, cancer types."""

    def __init__(self, lang: str, catalog: CatalogConfig) -> None:
        self.lang = lang
        self.catalog = catalog
        self._labels = labels(lang)
        self._own = _TEXTS[lang]
        self._regimens = {r.id: r for r in catalog.regimens}

    def label(self, key: str) -> str:
        return self._own.get(key) or self._labels[key]

    def cancer_type(self, code: str) -> str:
        ct = self.catalog.cancer_types.get(code)
        if ct is None:
            return code
        return (ct.label_fr or ct.label) if self.lang == "fr" else ct.label

    def drug(self, drug: str) -> str:
        info = self.catalog.drugs.get(drug)
        if info is None:
            return drug
        return (info.label_fr or info.label) if self.lang == "fr" else info.label

    def regimen(self, regimen_id: str) -> str:
        reg = self._regimens.get(regimen_id)
        if reg is None:
            return regimen_id
        return (reg.name_fr or reg.name) if self.lang == "fr" else reg.name

    def marker(self, col: str) -> str:
        return self._own[col]

    def reason(self, reason: str) -> str:
        return translate_reason(reason, self.lang, self.catalog)

    def _pct(self, row: Mapping[str, Any], col: str, key: str) -> str:
        return self._own[key].format(
            p=fmt_percent(row.get(col), self.lang),
            lo=fmt_percent(row.get(f"{col}_low"), self.lang),
            hi=fmt_percent(row.get(f"{col}_high"), self.lang),
        )

    def evidence_level(self, ev: Mapping[str, Any]) -> str:
        population = ev.get("population_fr") if self.lang == "fr" else ev.get("population")
        parts = [self._own["trial"].format(trial=ev.get("trial"), population=population)]
        levels = sorted(
            {
                str(c.get("level"))
                for c in ev.get("civic") or []
                if isinstance(c, Mapping) and c.get("level")
            }
        )
        if levels:
            parts.append(self._own["civic"].format(level="/".join(levels)))
        return "; ".join(parts)

    def implication_note(self, row: Mapping[str, Any]) -> str:
        parts = [self._pct(row, "p_response", "response")]
        if row.get("p_ae_grade3") is not None:
            parts.append(self._pct(row, "p_ae_grade3", "toxicity"))
        if int(row["rank"]) > 1 and not row.get("distinguishable"):
            parts.append(self._own["not_distinguishable"])
        return f"{self.regimen(str(row['regimen_id']))}: " + "; ".join(parts)

    def task_description(self, row: Mapping[str, Any]) -> str:
        head = self._own["rank_text"].format(
            rank=int(row["rank"]), regimen=self.regimen(str(row["regimen_id"]))
        )
        return f"{head} ({self.implication_note(row).split(': ', 1)[1]})"
