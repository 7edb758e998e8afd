"""Checks of a bundle: the fhir.resources R4B models, the required value sets, the references."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from precision_onco.errors import ConfigError, InputError

__all__ = ["CHECKS", "FhirBundleError", "validate_bundle"]

#: Required value sets of the elements the bundles set (FHIR R4 required bindings the
#: ``fhir.resources`` models do not enforce).
_BINDINGS: dict[tuple[str, str], frozenset[str]] = {
    ("Observation", "status"): frozenset(
        {
            "registered",
            "preliminary",
            "final",
            "amended",
            "corrected",
            "cancelled",
            "entered-in-error",
            "unknown",
        }
    ),
    ("DiagnosticReport", "status"): frozenset(
        {
            "registered",
            "partial",
            "preliminary",
            "final",
            "amended",
            "corrected",
            "appended",
            "cancelled",
            "entered-in-error",
            "unknown",
        }
    ),
    ("Task", "status"): frozenset(
        {
            "draft",
            "requested",
            "received",
            "accepted",
            "rejected",
            "ready",
            "cancelled",
            "in-progress",
            "on-hold",
            "failed",
            "completed",
            "entered-in-error",
        }
    ),
    ("Task", "intent"): frozenset(
        {
            "unknown",
            "proposal",
            "plan",
            "order",
            "original-order",
            "reflex-order",
            "filler-order",
            "instance-order",
            "option",
        }
    ),
    ("DocumentReference", "status"): frozenset({"current", "superseded", "entered-in-error"}),
    ("DocumentReference", "docStatus"): frozenset(
        {"preliminary", "final", "amended", "entered-in-error"}
    ),
    ("List", "status"): frozenset({"current", "retired", "entered-in-error"}),
    ("List", "mode"): frozenset({"working", "snapshot", "changes"}),
    ("Patient", "gender"): frozenset({"male", "female", "other", "unknown"}),
    ("Bundle", "type"): frozenset(
        {
            "document",
            "message",
            "transaction",
            "transaction-response",
            "batch",
            "batch-response",
            "history",
            "searchset",
            "collection",
        }
    ),
}


class FhirBundleError(InputError):
    """A bundle does not validate; the message names the entry, resource and element."""


def _refs(obj: Any) -> list[str]:
    if isinstance(obj, dict):
        out = [obj["reference"]] if isinstance(obj.get("reference"), str) else []
        for v in obj.values():
            out += _refs(v)
        return out
    if isinstance(obj, list):
        return [r for v in obj for r in _refs(v)]
    return []


#: Validation levels: the fhir.resources models and the rules, the rules only, nothing.
CHECKS = ("models", "rules", "none")


def validate_bundle(doc: Mapping[str, Any], *, check: str = "models") -> None:
    """Check ``doc`` with the ``fhir.resources`` R4B Bundle model (every entry's resource by
    its type) and the rules: the required value sets of :data:`_BINDINGS`, and every
    ``urn:uuid:`` reference names an entry. ``check="rules"``: the rules only (about 1 % of
    the models' cost). Raises :class:`FhirBundleError` naming what is wrong."""
    if check not in CHECKS:
        raise ConfigError(f"check: expected one of {', '.join(CHECKS)}, got {check!r}")
    if check == "none":
        return
    try:
        if check == "models":
            Bundle.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(x) for x in first.get("loc", ())]
        where = ".".join(loc)
        if len(loc) > 2 and loc[0] == "entry":
            res = doc["entry"][int(loc[1])].get("resource", {})
            where = f"entry {loc[1]} ({res.get('resourceType')}): {'.'.join(loc[3:])}"
        raise FhirBundleError(f"invalid FHIR bundle: {where}: {first.get('msg')}") from None
    unbound = _BINDINGS[("Bundle", "type")]
    if doc.get("type") not in unbound:
        raise FhirBundleError(f"invalid FHIR bundle: type {doc.get('type')!r}")
    urls = {e.get("fullUrl") for e in doc.get("entry", [])}
    for i, e in enumerate(doc.get("entry", [])):
        res = e["resource"]
        rtype = res["resourceType"]
        for (t, name), allowed in _BINDINGS.items():
            if t == rtype and name in res and res[name] not in allowed:
                raise FhirBundleError(
                    f"invalid FHIR bundle: entry {i} ({rtype}): {name} "
                    f"{res[name]!r} is not one of {', '.join(sorted(allowed))}"
                )
        for ref in _refs(res):
            if ref.startswith("urn:uuid:") and ref not in urls:
                raise FhirBundleError(
                    f"invalid FHIR bundle: entry {i} ({rtype}): reference "
                    f"{ref} names no entry of the bundle"
                )
