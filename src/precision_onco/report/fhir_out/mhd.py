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
    patient = by_type["Patient"][0]["resource"]
    ident = next(
        (i for i in patient["identifier"] if i.get("use") == "official"),
        next(i for i in patient["identifier"] if i["system"] == PATIENT_KEY_SYSTEM),
    )
    subject = {"identifier": {"system": ident["system"], "value": ident["value"]}}
    docref = dict(by_type["DocumentReference"][0]["resource"])
    doc_url = by_type["DocumentReference"][0]["fullUrl"]
    binary = by_type["Binary"][0]
    docref.update(
        subject=subject,
        meta={"profile": [f"{MHD}/StructureDefinition/IHE.MHD.Minimal.DocumentReference"]},
    )
    docref.pop("context", None)  # the DiagnosticReport is not part of the submission
    base = str(bundle.get("id"))
    list_url = res_.Ids.urn(f"{base}/submissionset")
    submission = {
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
        "date": bundle.get("timestamp"),
        "title": docref.get("description"),
        "entry": [{"item": {"reference": doc_url}}],
    }
    entries = [
        {"fullUrl": list_url, "resource": submission, "request": {"method": "POST", "url": "List"}},
        {
            "fullUrl": doc_url,
            "resource": docref,
            "request": {"method": "POST", "url": "DocumentReference"},
        },
        {
            "fullUrl": binary["fullUrl"],
            "resource": dict(binary["resource"]),
            "request": {"method": "POST", "url": "Binary"},
        },
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
