"""Display texts of the FHIR bundles in the report language (codes never change with it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from precision_onco.config.schema import CatalogConfig
from precision_onco.report.i18n import fmt_percent, labels, translate_reason
from precision_onco.report.phrases import PHRASES

__all__ = ["Texts"]

_TEXTS: dict[str, dict[str, str]] = {lang: p["fhir"] for lang, p in PHRASES.items()}


class Texts:
    """The texts of one language, with the catalog's names of drugs, regimens, cancer types."""

    def __init__(
        self,
        lang: str,
        catalog: CatalogConfig,
        *,
        efficacy: str | None,
        any_severe_ae: str | None,
    ) -> None:
        self.lang = lang
        self.catalog = catalog
        #: The endpoints of the efficacy and any-severe-AE roles (``config.endpoint_roles``):
        #: the probabilities written, as ``p_<endpoint>`` columns of the ranked rows.
        self.efficacy = efficacy
        self.any_severe_ae = any_severe_ae
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
        parts = [self._pct(row, f"p_{self.efficacy}", "efficacy")] if self.efficacy else []
        if self.any_severe_ae and row.get(f"p_{self.any_severe_ae}") is not None:
            parts.append(self._pct(row, f"p_{self.any_severe_ae}", "toxicity"))
        if int(row["rank"]) > 1 and not row.get("distinguishable"):
            parts.append(self._own["not_distinguishable"])
        return f"{self.regimen(str(row['regimen_id']))}: " + "; ".join(parts)

    def task_description(self, row: Mapping[str, Any]) -> str:
        head = self._own["rank_text"].format(
            rank=int(row["rank"]), regimen=self.regimen(str(row["regimen_id"]))
        )
        return f"{head} ({self.implication_note(row).split(': ', 1)[1]})"
