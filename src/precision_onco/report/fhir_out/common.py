"""Shared pieces of the resources: deterministic ids, codings, references, quantities."""

from __future__ import annotations

import uuid
from typing import Any

from precision_onco.config.schema import CatalogConfig
from precision_onco.fhir_codes import ATC, IG, LOINC, LOINC_CODES, UCUM
from precision_onco.report.fhir_out.texts import Texts

__all__ = [
    "OBS_CATEGORY",
    "Ids",
    "codeable",
    "component",
    "drug_concepts",
    "loinc_component",
    "present",
    "profile",
    "quantity",
    "reference",
]

_NS = uuid.UUID("6f1c9a0e-3d2b-5c47-9e81-2a4f7b0d6c15")
OBS_CATEGORY = [
    {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "laboratory",
            }
        ]
    }
]


class Ids:
    """Deterministic ``urn:uuid:`` full URLs of one bundle's resources."""

    def __init__(self, patient_key: str, line_number: int) -> None:
        self._base = f"{patient_key}/line{line_number}"

    def __call__(self, role: str) -> str:
        return f"urn:uuid:{uuid.uuid5(_NS, f'{self._base}/{role}')}"

    @staticmethod
    def urn(seed: str) -> str:
        """A deterministic ``urn:uuid:`` of any ``seed``."""
        return f"urn:uuid:{uuid.uuid5(_NS, seed)}"

    @staticmethod
    def id_of(full_url: str) -> str:
        return full_url.removeprefix("urn:uuid:")


def codeable(
    system: str, code: str, display: str | None = None, text: str | None = None
) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    out: dict[str, Any] = {"coding": [coding]}
    if text:
        out["text"] = text
    return out


def reference(full_url: str, display: str | None = None) -> dict[str, Any]:
    return {"reference": full_url, **({"display": display} if display else {})}


def quantity(value: float, unit: str = "probability", code: str = "1") -> dict[str, Any]:
    return {"value": round(float(value), 6), "unit": unit, "system": UCUM, "code": code}


def profile(name: str) -> dict[str, Any]:
    return {"profile": [f"{IG}/StructureDefinition/{name}"]}


def present(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and v != v)


def component(system: str, code: str, display: str | None, **value: Any) -> dict[str, Any]:
    return {"code": codeable(system, code, display), **value}


def loinc_component(role: str, **value: Any) -> dict[str, Any]:
    """A component coded with the LOINC code of ``role`` (:data:`fhir_codes.LOINC_CODES`)."""
    return component(LOINC, *LOINC_CODES[role], **value)


def drug_concepts(regimen_id: str, catalog: CatalogConfig, t: Texts) -> list[dict[str, Any]]:
    """One CodeableConcept per drug of the regimen: its ATC code, its name in the language."""
    reg = next((r for r in catalog.regimens if r.id == regimen_id), None)
    out = []
    for d in reg.drugs if reg else []:
        info = catalog.drugs.get(d)
        cc: dict[str, Any] = {"text": t.drug(d)}
        if info and info.atc:
            cc["coding"] = [{"system": ATC, "code": info.atc, "display": info.label}]
        if info and info.rxnorm:
            cc.setdefault("coding", []).append(
                {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": info.rxnorm}
            )
        out.append(cc)
    return out
