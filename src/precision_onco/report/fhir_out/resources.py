"""One FHIR R4 resource (as a JSON-ready dict) per function: patient, cancer, markers, variants,
therapeutic implications, medication-recommendation tasks, report, provenance, document.

Resources reference each other by ``urn:uuid:`` full URLs (:class:`Ids`), deterministic
from the patient key, the line and the resource's role, so that the same answer always
gives the same bundle (bar the ``generated`` timestamp). Display texts (``text``,
``description``, ``conclusion``, notes) follow the report language; codings keep their
code system's English display.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from precision_onco.config.schema import CatalogConfig
from precision_onco.fhir_codes import (
    IG,
    LOINC,
    LOINC_CODES,
    ONCOTREE,
    PATIENT_KEY_SYSTEM,
    TBD,
)
from precision_onco.report.fhir_out.common import (
    Ids,
    codeable,
    drug_concepts,
    present,
    profile,
    reference,
)
from precision_onco.report.fhir_out.observations import (
    MARKER_CODES,
    marker_observations,
    pgx_observations,
    therapeutic_implication,
    variant_observation,
)
from precision_onco.report.fhir_out.texts import Texts

__all__ = [
    "MARKER_CODES",
    "Ids",
    "attachment",
    "binary",
    "cancer_condition",
    "codeable",
    "device",
    "diagnostic_report",
    "document_reference",
    "excluded_task",
    "marker_observations",
    "pgx_observations",
    "patient_resource",
    "provenance",
    "recommendation_task",
    "reference",
    "therapeutic_implication",
    "variant_observation",
]


def patient_resource(
    full_url: str,
    patient_key: str,
    patient: Mapping[str, Any],
    identifiers: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """The patient by pseudonymous key; ``identifiers`` (``system``, ``value``) only when the
    user maps keys back to the hospital's identifiers."""
    ids = [{"use": "secondary", "system": PATIENT_KEY_SYSTEM, "value": patient_key}]
    ids += [
        {"use": "official", "system": str(i["system"]), "value": str(i["value"])}
        for i in identifiers
    ]
    out: dict[str, Any] = {"resourceType": "Patient", "id": Ids.id_of(full_url), "identifier": ids}
    sex = {"M": "male", "F": "female"}.get(str(patient.get("sex") or ""))
    if sex:
        out["gender"] = sex
    if present(patient.get("birth_year")):
        out["birthDate"] = f"{int(patient['birth_year']):04d}"
    return out


def cancer_condition(
    full_url: str, patient_url: str, patient: Mapping[str, Any], catalog: CatalogConfig, t: Texts
) -> dict[str, Any] | None:
    """The primary cancer (mCODE primary-cancer-condition): the catalog's OncoTree cancer type,
    then the detailed OncoTree code when it differs; the stage as text."""
    cancer = patient.get("cancer_type")
    if not present(cancer):
        return None
    label = t.cancer_type(str(cancer))
    ct = catalog.cancer_types.get(str(cancer))
    coding = [{"system": ONCOTREE, "code": str(cancer), "display": ct.label if ct else None}]
    detail = patient.get("oncotree_code")
    if present(detail) and str(detail) != str(cancer):
        coding.append({"system": ONCOTREE, "code": str(detail)})
    out: dict[str, Any] = {
        "resourceType": "Condition",
        "id": Ids.id_of(full_url),
        "meta": {
            "profile": [
                "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-primary-cancer-condition"
            ]
        },
        "clinicalStatus": codeable(
            "http://terminology.hl7.org/CodeSystem/condition-clinical", "active"
        ),
        "code": {"coding": [{k: v for k, v in c.items() if v} for c in coding], "text": label},
        "subject": reference(patient_url),
    }
    if present(patient.get("stage")):
        out["stage"] = [{"summary": {"text": str(patient["stage"])}}]
    return out


def _task(
    full_url: str,
    patient_url: str,
    regimen_id: str,
    catalog: CatalogConfig,
    t: Texts,
    generated: str,
) -> dict[str, Any]:
    return {
        "resourceType": "Task",
        "id": Ids.id_of(full_url),
        "meta": profile("medication-recommendation"),
        "intent": "proposal",
        "code": codeable(
            TBD, "medication-recommendation", "Medication Recommendation", t.label("task_code")
        ),
        "for": reference(patient_url),
        "authoredOn": generated,
        "input": [
            {"type": {"text": t.label("medication")}, "valueCodeableConcept": cc}
            for cc in drug_concepts(regimen_id, catalog, t)
        ],
    }


def recommendation_task(
    full_url: str,
    patient_url: str,
    row: Mapping[str, Any],
    implication_url: str,
    *,
    catalog: CatalogConfig,
    t: Texts,
    generated: str,
) -> dict[str, Any]:
    """An eligible regimen as a proposed medication recommendation, in rank order."""
    out = _task(full_url, patient_url, str(row["regimen_id"]), catalog, t, generated)
    out.update(
        status="requested",
        description=t.task_description(row),
        reasonReference=reference(implication_url),
    )
    out["input"].append({"type": {"text": t.label("rank")}, "valueInteger": int(row["rank"])})
    return out


def excluded_task(
    full_url: str,
    patient_url: str,
    row: Mapping[str, Any],
    *,
    catalog: CatalogConfig,
    t: Texts,
    generated: str,
) -> dict[str, Any]:
    """An excluded regimen: a rejected proposal whose status reason is the rule that excludes it."""
    rid = str(row["regimen_id"])
    out = _task(full_url, patient_url, rid, catalog, t, generated)
    out.update(
        status="rejected",
        statusReason={"text": t.reason(str(row.get("reason") or ""))},
        description=f"{t.regimen(rid)}: {t.label('not_recommended')}",
    )
    return out


def attachment(
    data: bytes,
    content_type: str,
    title: str,
    lang: str,
    *,
    inline: bool = True,
    url: str | None = None,
) -> dict[str, Any]:
    """An Attachment with its size and SHA-1 (base64, as FHIR asks); inline data or a URL."""
    out: dict[str, Any] = {
        "contentType": content_type,
        "language": lang,
        "title": title,
        "size": len(data),
        "hash": base64.b64encode(hashlib.sha1(data).digest()).decode(),
    }
    if inline:
        out["data"] = base64.b64encode(data).decode()
    if url:
        out["url"] = url
    return out


def device(full_url: str, provenance: Mapping[str, Any]) -> dict[str, Any]:
    """The recommender software (name and package version) as the report's author device."""
    version = str(provenance.get("package_version") or "unknown")
    return {
        "resourceType": "Device",
        "id": Ids.id_of(full_url),
        "deviceName": [{"name": "precision_onco recommender", "type": "model-name"}],
        "type": {"text": "clinical decision support software (treatment recommendation)"},
        "version": [{"value": version}],
    }


def diagnostic_report(
    full_url: str,
    patient_url: str,
    *,
    results: Sequence[str],
    tasks: Sequence[str],
    forms: Sequence[dict[str, Any]],
    t: Texts,
    message: str,
    generated: str,
) -> dict[str, Any]:
    """The recommendation report (IG ``genomic-report``), preliminary: decision support."""
    out: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": Ids.id_of(full_url),
        "meta": profile("genomic-report"),
        "status": "preliminary",
        "category": [codeable("http://terminology.hl7.org/CodeSystem/v2-0074", "GE", "Genetics")],
        "code": codeable(LOINC, *LOINC_CODES["genetic_report"], t.label("title")),
        "subject": reference(patient_url),
        "issued": generated,
        "conclusion": f"{message} {t.label('disclaimer')}".strip(),
    }
    if results:
        out["result"] = [reference(u) for u in results]
    if tasks:
        out["extension"] = [
            {"url": f"{IG}/StructureDefinition/recommended-action", "valueReference": reference(u)}
            for u in tasks
        ]
    if forms:
        out["presentedForm"] = list(forms)
    return out


def provenance(
    full_url: str,
    *,
    targets: Sequence[str],
    device_url: str,
    prov: Mapping[str, Any],
    generated: str,
    t: Texts,
) -> dict[str, Any]:
    """Who made the report (the recommender device) from what: the endpoint models' registered
    versions, the data version, the configuration, the catalog and CIViC releases."""
    entities = [*_model_entities(prov), *_release_entities(prov)]
    return {
        "resourceType": "Provenance",
        "id": Ids.id_of(full_url),
        "target": [reference(u) for u in targets],
        "recorded": generated,
        "reason": [{"text": t.label("disclaimer")}],
        "agent": [
            {
                "type": codeable(
                    "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                    "assembler",
                    "Assembler",
                ),
                "who": reference(device_url),
            }
        ],
        **({"entity": entities} if entities else {}),
    }


def _model_entities(prov: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The registered models the report used: the endpoints' (sorted), then the recommender."""
    entities: list[dict[str, Any]] = []
    for ep, comp in sorted((prov.get("components") or {}).items()):
        if not isinstance(comp, Mapping):
            continue
        name, version = comp.get("model", ep), comp.get("version")
        entities.append(
            {
                "role": "source",
                "what": {
                    "identifier": {
                        "system": "urn:mlflow:registered-model",
                        "value": f"{name}/{version}",
                    },
                    "display": f"{name} v{version} ({comp.get('alias') or 'no alias'}, run "
                    f"{comp.get('run_id') or '—'}), endpoint {ep}",
                },
            }
        )
    rec = prov.get("recommender")
    if isinstance(rec, Mapping) and rec.get("model"):
        entities.append(
            {
                "role": "source",
                "what": {
                    "identifier": {
                        "system": "urn:mlflow:registered-model",
                        "value": f"{rec['model']}/{rec.get('version')}",
                    },
                    "display": f"{rec['model']} v{rec.get('version')}",
                },
            }
        )
    return entities


def _release_entities(prov: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The data, configuration, catalog and CIViC versions the report used, those given."""
    entities: list[dict[str, Any]] = []
    for key, what in (
        ("data_sha256", "data version (SHA-256 of the features)"),
        ("config_sha256", "configuration (SHA-256 of params.yaml)"),
        ("catalog_version", "therapy catalog"),
        ("civic_release", "CIViC release"),
    ):
        if prov.get(key):
            entities.append({"role": "source", "what": {"display": f"{what}: {prov[key]}"}})
    return entities


def binary(full_url: str, data: bytes, content_type: str) -> dict[str, Any]:
    return {
        "resourceType": "Binary",
        "id": Ids.id_of(full_url),
        "contentType": content_type,
        "data": base64.b64encode(data).decode(),
    }


def document_reference(
    full_url: str,
    patient_ref: Mapping[str, Any],
    *,
    report_url: str,
    content: Mapping[str, Any],
    t: Texts,
    generated: str,
    profile: str | None = None,
) -> dict[str, Any]:
    """The shareable report document (PDF, or HTML when no PDF was printed)."""
    out: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": Ids.id_of(full_url),
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": full_url},
        "status": "current",
        "docStatus": "preliminary",
        "type": codeable(LOINC, *LOINC_CODES["genetic_report"], t.label("title")),
        "category": [codeable(LOINC, *LOINC_CODES["laboratory_report"])],
        "subject": dict(patient_ref),
        "date": generated,
        "description": t.label("title"),
        "content": [{"attachment": dict(content)}],
        "context": {"related": [reference(report_url)]},
    }
    if profile:
        out["meta"] = {"profile": [profile]}
    return out
