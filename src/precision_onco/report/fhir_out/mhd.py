"""IHE MHD: the report document as the ITI-65 "Provide Document Bundle" a hospital connector
forwards to a document registry (docs/fhir.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from precision_onco.fhir_codes import MHD, PATIENT_KEY_SYSTEM
from precision_onco.report.fhir_out import resources as res_
from precision_onco.report.fhir_out.validate import validate_bundle

__all__ = ["mhd_submission"]


def mhd_submission(
    bundle: Mapping[str, Any], *, source_id: str = "urn:oid:2.25.0", check: str = "models"
) -> dict[str, Any] | None:
    """The IHE MHD ITI-65 "Provide Document Bundle" (Minimal) of a recommendation bundle: a
    ``transaction`` of the SubmissionSet ``List``, the ``DocumentReference`` and its ``Binary``.

    The patient is referenced by identifier, not included: the hospital's connector resolves
    it (the pseudonymous key, or the hospital identifier from the mapping) to the patient
    known to the registry. None when the bundle holds no document.
    ``source_id``: the submitting system's OID (``ihe-sourceId``); set it to the hospital's.
    """
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    for e in bundle.get("entry", []):
        by_type.setdefault(e["resource"]["resourceType"], []).append(e)
    if "DocumentReference" not in by_type:
        return None
    subject = _registry_subject(by_type["Patient"][0]["resource"])
    docref = _minimal_document(by_type["DocumentReference"][0]["resource"], subject=subject)
    doc_url = by_type["DocumentReference"][0]["fullUrl"]
    binary = by_type["Binary"][0]
    base = str(bundle.get("id"))
    list_url = res_.Ids.urn(f"{base}/submissionset")
    submission = _submission_set(
        list_url,
        source_id=source_id,
        subject=subject,
        date=bundle.get("timestamp"),
        title=docref.get("description"),
        doc_url=doc_url,
    )
    entries = [
        _post(list_url, submission, "List"),
        _post(doc_url, docref, "DocumentReference"),
        _post(binary["fullUrl"], dict(binary["resource"]), "Binary"),
    ]
    out = {
        "resourceType": "Bundle",
        "id": res_.Ids.id_of(res_.Ids.urn(base)),
        "meta": {"profile": [f"{MHD}/StructureDefinition/IHE.MHD.Minimal.ProvideBundle"]},
        "type": "transaction",
        "timestamp": bundle.get("timestamp"),
        "entry": entries,
    }
    validate_bundle(out, check=check)
    return out


def _registry_subject(patient: Mapping[str, Any]) -> dict[str, Any]:
    """The patient as the registry knows it: by its official identifier (the hospital's,
    from the mapping) when it has one, else by its pseudonymous key."""
    ident = next(
        (i for i in patient["identifier"] if i.get("use") == "official"),
        next(i for i in patient["identifier"] if i["system"] == PATIENT_KEY_SYSTEM),
    )
    return {"identifier": {"system": ident["system"], "value": ident["value"]}}


def _minimal_document(docref: Mapping[str, Any], *, subject: dict[str, Any]) -> dict[str, Any]:
    """The bundle's DocumentReference as MHD Minimal submits it: about ``subject``, without
    its context."""
    out = dict(docref)
    out.update(
        subject=subject,
        meta={"profile": [f"{MHD}/StructureDefinition/IHE.MHD.Minimal.DocumentReference"]},
    )
    out.pop("context", None)  # the DiagnosticReport is not part of the submission
    return out


def _submission_set(
    list_url: str,
    *,
    source_id: str,
    subject: dict[str, Any],
    date: Any,
    title: Any,
    doc_url: str,
) -> dict[str, Any]:
    """The SubmissionSet ``List`` of the one document at ``doc_url``."""
    return {
        "resourceType": "List",
        "id": res_.Ids.id_of(list_url),
        "meta": {"profile": [f"{MHD}/StructureDefinition/IHE.MHD.Minimal.SubmissionSet"]},
        "extension": [
            {
                "url": f"{MHD}/StructureDefinition/ihe-sourceId",
                "valueIdentifier": {"value": source_id},
            }
        ],
        "identifier": [{"use": "usual", "system": "urn:ietf:rfc:3986", "value": list_url}],
        "status": "current",
        "mode": "working",
        "code": res_.codeable(
            f"{MHD}/CodeSystem/MHDlistTypes", "submissionset", "SubmissionSet as a FHIR List"
        ),
        "subject": subject,
        "date": date,
        "title": title,
        "entry": [{"item": {"reference": doc_url}}],
    }


def _post(full_url: str, resource: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """A transaction entry creating ``resource`` (of type ``kind``) under ``full_url``."""
    return {"fullUrl": full_url, "resource": resource, "request": {"method": "POST", "url": kind}}
