"""FHIR R4 / mCODE bundles to canonical patients, lines and variants rows (through fhir.resources).

Each entry's resource is validated on its own with the fhir.resources R4B
models, so one invalid resource is rejected (with the validator's message)
without losing the rest of the bundle. What is read:

- ``Patient``: id, gender, birth year;
- primary cancer ``Condition`` (mCODE ``mcode-primary-cancer-condition``, or any
  Condition whose code reads as a malignant neoplasm): the cancer type as an
  OncoTree code (from its SNOMED display, see :data:`CANCER_WORDS`), the SNOMED
  code and text, and the stage summary;
- ``Observation``: TNM stage group, tumour markers (ER, PR, HER2, MSI, TMB,
  PD-L1), ECOG performance status, and genomic-variant observations (gene from
  component 48018-6 as symbol or HGNC id, HGVSp 48005-3, HGVSg/cDNA, allele
  frequency 81258-6, depth 82121-5, interpretation), and the genes an assay studied
  (Genomics Reporting ``region-studied``, LOINC 53041-0, its gene-studied components
  48018-6), which become the patient's ``genes_tested``;
- ``MedicationStatement`` / ``MedicationRequest``: anticancer drugs grouped into
  therapy lines by start date; each line's drug set is matched to a catalog
  regimen when one has exactly those drugs.

Other resource types (Procedure, secondary-cancer Conditions, …) are counted
in the file's summary under ``not_modelled`` and produce no rows.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from precision_onco.config.schema import CatalogConfig
from precision_onco.fhir_codes import (
    HGNC_SYMBOLS,
    LOINC,
    LOINC_CODES,
    MOLECULAR_CONSEQUENCE,
    ONCOTREE,
    PATIENT_KEY_SYSTEM,
    PROFILE_FRAGMENTS,
    SNOMED_VALUES,
    TBD,
    TUMOUR_MARKERS,
)
from precision_onco.ingest.contracts import (
    VARIANT_COLUMNS,
    FileReport,
    IngestError,
    Rejects,
)

__all__ = ["CANCER_WORDS", "HGNC_SYMBOLS", "FhirResult", "read_fhir_bundle"]

#: The LOINC code of each role (:data:`precision_onco.fhir_codes.LOINC_CODES`). Handlers
#: name roles, never codes.
CODES: dict[str, str] = {role: c.code for role, c in LOINC_CODES.items()}
#: SNOMED CT code -> the word the patients table holds.
_SNOMED_VALUES = {code: word for word, code in SNOMED_VALUES.items()}

#: Words of a primary cancer's SNOMED display -> OncoTree code, first match wins.
CANCER_WORDS: tuple[tuple[str, str], ...] = (
    (r"small cell carcinoma of lung|small cell lung", "SCLC"),
    (r"lung|bronch", "NSCLC"),
    (r"melanoma", "MEL"),
    (r"colon|rectum|rectal|colorectal|caecum|cecum|sigmoid", "COADREAD"),
    (r"breast", "BRCA"),
)

#: Patient.gender -> patients.sex.
SEX: dict[str, str] = {"male": "M", "female": "F", "other": "Other", "unknown": "Unknown"}
#: MSI result words (SNOMED display or text) -> msi_status.
MSI_VALUES: dict[str, str] = {
    "positive": "MSI-H",
    "high": "MSI-H",
    "negative": "MSS",
    "low": "MSI-L",
    "stable": "MSS",
    "msi-h": "MSI-H",
    "msi-l": "MSI-L",
    "mss": "MSS",
}
#: Medication statuses that mean the drug was not given (the resource is rejected).
NOT_GIVEN = frozenset({"entered-in-error", "not-taken", "cancelled", "unknown", "draft"})
#: Interpretation words of a variant observation -> consequence, first match wins.
_INTERPRETATION = (
    (("amplification",), "feature_amplification"),
    (("deletion", "gene"), "feature_ablation"),
)

_STAGE = re.compile(r"^(0|I{1,3}V?|IV)([ABC][0-9]?)?$")
_HGVSG = re.compile(r"^(?:NC_0+(\d+)\.\d+|chr(\w+)):g\.(\d+)([ACGT]+)>([ACGT]+)$")
_ANY = re.compile(r"\b(malignant|carcinoma|cancer|neoplasm|sarcoma|melanoma|lymphoma|leukemia)\b")


@dataclass
class FhirResult:
    """What :func:`read_fhir_bundle` returns: three tables, the rejects and one report."""

    patients: pd.DataFrame
    lines: pd.DataFrame
    variants: pd.DataFrame
    rejects: pd.DataFrame
    report: FileReport


#: Required value sets the fhir.resources models do not enforce (FHIR R4 required bindings).
_BINDINGS: dict[tuple[str, str], frozenset[str]] = {
    ("Patient", "gender"): frozenset({"male", "female", "other", "unknown"}),
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
    ("MedicationStatement", "status"): frozenset(
        {
            "active",
            "completed",
            "entered-in-error",
            "intended",
            "stopped",
            "on-hold",
            "unknown",
            "not-taken",
        }
    ),
    ("MedicationRequest", "status"): frozenset(
        {
            "active",
            "on-hold",
            "cancelled",
            "completed",
            "entered-in-error",
            "stopped",
            "draft",
            "unknown",
        }
    ),
}


def _binding_error(rtype: str, res: Mapping[str, Any]) -> str | None:
    for (t, name), allowed in _BINDINGS.items():
        if t == rtype and name in res and res[name] not in allowed:
            return f"{name}: {res[name]!r} is not one of {', '.join(sorted(allowed))}"
    return None


def _load(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise IngestError(path, "input file not found")
    raw = path.read_bytes()
    if not raw.strip():
        raise IngestError(path, "empty file (expected a FHIR Bundle in JSON)")
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise IngestError(
            path, f"not UTF-8 text ({exc.reason} at byte {exc.start}); FHIR JSON must be UTF-8"
        ) from None
    except json.JSONDecodeError as exc:
        raise IngestError(
            path, f"not valid JSON ({exc.msg}, column {exc.colno})", line=exc.lineno
        ) from None
    if not isinstance(doc, dict) or doc.get("resourceType") != "Bundle":
        kind = doc.get("resourceType") if isinstance(doc, dict) else type(doc).__name__
        raise IngestError(path, f"expected a FHIR Bundle, found resourceType {kind!r}")
    entries = doc.get("entry") or []
    if not isinstance(entries, list):
        raise IngestError(path, "Bundle.entry is not a list")
    return entries


def _codings(cc: Any) -> list[Any]:
    return list(getattr(cc, "coding", None) or []) if cc is not None else []


def _code(cc: Any, system: str | None = None) -> str | None:
    for c in _codings(cc):
        if system is None or (c.system or "").rstrip("/") == system:
            return c.code
    return None


def _display(cc: Any) -> str:
    for c in _codings(cc):
        if c.display:
            return str(c.display)
    return str(getattr(cc, "text", None) or "")


def _profiles(res: Any) -> str:
    meta = getattr(res, "meta", None)
    return " ".join(str(p) for p in (getattr(meta, "profile", None) or []))


def _ref_id(ref: Any, urls: Mapping[str, str]) -> str | None:
    r = getattr(ref, "reference", None)
    if not r:
        return None
    if r in urls:
        return urls[r]
    return r.split("/")[-1] if "/" in r else r


def _when(res: Any) -> date | None:
    for attr in ("effectiveDateTime", "onsetDateTime", "authoredOn", "recordedDate", "issued"):
        v = getattr(res, attr, None)
        if v is not None:
            return v.date() if isinstance(v, datetime) else v
    period = getattr(res, "effectivePeriod", None)
    if period is not None and period.start is not None:
        v = period.start
        return v.date() if isinstance(v, datetime) else v
    return None


def _value(obs: Any) -> tuple[Any, str]:
    """(value, unit) of an Observation or component."""
    if getattr(obs, "valueInteger", None) is not None:
        return obs.valueInteger, ""
    q = getattr(obs, "valueQuantity", None)
    if q is not None and q.value is not None:
        return float(q.value), str(q.unit or q.code or "")
    cc = getattr(obs, "valueCodeableConcept", None)
    if cc is not None:
        code = _code(cc)
        word = _SNOMED_VALUES.get(code or "")
        return (word or _display(cc).split(" (")[0].strip().lower() or code), ""
    for attr in ("valueString", "valueBoolean"):
        v = getattr(obs, attr, None)
        if v is not None:
            return v, ""
    return None, ""


def _cancer_type(text: str) -> str | None:
    t = text.lower()
    for pattern, code in CANCER_WORDS:
        if re.search(pattern, t):
            return code
    return None


def _gene(comp_value: Any) -> str | None:
    text = str(getattr(comp_value, "text", None) or "")
    if not _codings(comp_value) and re.fullmatch(r"[A-Z][A-Z0-9-]{1,14}", text):
        return text
    for c in _codings(comp_value):
        code = str(c.code or "")
        if code in HGNC_SYMBOLS:
            return HGNC_SYMBOLS[code]
        if re.fullmatch(r"[A-Z][A-Z0-9-]{1,14}", code):
            return code
        disp = str(c.display or "")
        if re.fullmatch(r"[A-Z][A-Z0-9-]{1,14}", disp):
            return disp
    return None


def _drug(cc: Any) -> str:
    name = _display(cc) or str(_code(cc) or "")
    words = re.sub(r"\(.*?\)", "", name).strip().lower().split()
    stop = {
        "injectable",
        "injetable",
        "oral",
        "product",
        "tablet",
        "capsule",
        "injection",
        "solution",
        "mg",
        "ml",
    }
    kept = [w for w in words if w not in stop and not re.fullmatch(r"[0-9.]+", w)]
    return " ".join(kept) or name.lower()


def _match_regimen(
    drugs: Iterable[str], cancer: str | None, catalog: CatalogConfig | None
) -> tuple[str, bool]:
    ds = frozenset(drugs)
    if catalog is not None:
        hits = [r for r in catalog.regimens if frozenset(d.lower() for d in r.drugs) == ds]
        if hits:
            best = next((r for r in hits if cancer in r.cancer_types), hits[0])
            return best.id, True
    return "+".join(sorted(ds)), False


def _matches(cc: Any, codes: Sequence[str]) -> bool:
    """Does a CodeableConcept carry one of ``codes`` (``system|code`` or a bare code)?"""
    for c in _codings(cc):
        system, code = (c.system or "").rstrip("/"), str(c.code or "")
        for want in codes:
            sys_w, _, code_w = want.rpartition("|")
            if code == code_w and (not sys_w or sys_w.rstrip("/") == system):
                return True
    return False


@dataclass
class _Bundle:
    """What the handlers gather from one bundle's resources."""

    path: Path
    rejects: Rejects
    report: FileReport
    urls: dict[str, str]
    uracil_codes: Sequence[str]
    patients: dict[str, dict[str, Any]] = field(default_factory=dict)
    markers: dict[str, dict[str, Any]] = field(default_factory=lambda: defaultdict(dict))
    ecogs: dict[str, list[tuple[date | None, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    studied: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    uracils: dict[str, list[tuple[date | None, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    meds: dict[str, list[tuple[date, str, int, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    variants: list[dict[str, Any]] = field(default_factory=list)
    not_modelled: Counter[str] = field(default_factory=Counter)

    def subject(self, obj: Any) -> str | None:
        """The patient a resource is about (``subject`` or ``patient``), by key."""
        return _ref_id(getattr(obj, "subject", None) or getattr(obj, "patient", None), self.urls)


def read_fhir_bundle(
    path: Path | str, *, catalog: CatalogConfig | None = None, uracil_codes: Sequence[str] = ()
) -> FhirResult:
    """Read one FHIR R4 / mCODE Bundle (JSON) into patients, lines and variants rows.

    Accounting is per Bundle entry: a resource is ingested (used, or counted as
    not modelled) or rejected (invalid, no subject, unusable value). An Observation coded
    with one of ``uracil_codes`` (``system|code`` or a bare code; ``cohort.inputs.
    fhir_uracil_codes``) is plasma uracil in ng/mL: the line's ``uracil_ng_ml`` is the
    latest measurement on or before its start (pharmacogenomics, issue 17).
    """
    p = Path(path)
    entries = _load(p)
    rejects = Rejects(str(p))
    report = FileReport(file=str(p), kind="fhir")
    parsed, urls = _validate(entries, rejects)
    b = _Bundle(p, rejects, report, urls, uracil_codes)
    for i, obj in parsed:
        rtype = obj.get_resource_type()
        handler = _HANDLERS.get(rtype)
        if handler is None:
            b.not_modelled[rtype] += 1
        else:
            handler(b, i, obj)
    for pid, genes in b.studied.items():
        b.markers[pid]["genes_tested"] = ";".join(sorted(genes))
    pats = _patients(b.patients, b.markers, b.ecogs, report)
    lines = _lines(b.meds, pats, b.ecogs, catalog, report, b.uracils)
    vdf = _variant_frame(b.variants)
    not_modelled = b.not_modelled
    used = len(parsed) - sum(not_modelled.values())
    report.extra["not_modelled"] = dict(sorted(not_modelled.items()))
    if not_modelled:
        report.warnings.append(
            "resources not modelled (no rows): "
            + ", ".join(f"{k} ×{v}" for k, v in sorted(not_modelled.items()))
        )
    report.extra["resources_used"] = used
    report.read = len(entries)
    report.rejected = len(rejects)
    report.ingested = report.read - report.rejected
    report.rejected_by_reason = dict(rejects.reasons)
    report.check()
    return FhirResult(pats, lines, vdf, rejects.frame(), report)


def _validate(
    entries: list[dict[str, Any]], rejects: Rejects
) -> tuple[list[tuple[int, Any]], dict[str, str]]:
    """Each entry's resource validated on its own: ``(entry number, model)`` of the valid
    ones (the others rejected), and the patient key of every Patient reference."""
    urls: dict[str, str] = {}
    parsed: list[tuple[int, Any]] = []
    for i, e in enumerate(entries, start=1):
        res = e.get("resource") if isinstance(e, dict) else None
        if not isinstance(res, dict) or "resourceType" not in res:
            rejects.add(i, "not a FHIR resource", e, detail=f"entry {i} has no resource")
            continue
        rtype = str(res["resourceType"])
        try:
            model = get_fhir_model_class(rtype)
        except (KeyError, ValueError):
            rejects.add(
                i,
                "unknown resource type",
                f"{rtype}/{res.get('id')}",
                detail=f"entry {i}: {rtype!r} is not a FHIR R4 resource type",
            )
            continue
        try:
            obj = model.model_validate(res)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first.get("loc", ()))
            rejects.add(
                i,
                "invalid resource",
                f"{rtype}/{res.get('id')}",
                detail=f"entry {i} ({rtype}): {where}: {first.get('msg')}",
            )
            continue
        unbound = _binding_error(rtype, res)
        if unbound:
            rejects.add(
                i,
                "invalid resource",
                f"{rtype}/{res.get('id')}",
                detail=f"entry {i} ({rtype}): {unbound}",
            )
            continue
        if rtype == "Patient":
            rid = _patient_key(obj) or getattr(obj, "id", None)
            if rid:
                urls[str(e.get("fullUrl") or "")] = rid
                urls[f"Patient/{rid}"] = rid
        parsed.append((i, obj))
    return parsed, urls


def _on_patient(b: _Bundle, i: int, obj: Any) -> None:
    key = _patient_key(obj) or obj.id
    b.patients.setdefault(key, {"patient_id": key})
    b.patients[key].update(sex=SEX.get(str(obj.gender or "")), birth_year=_year(obj.birthDate))


def _on_condition(b: _Bundle, i: int, obj: Any) -> None:
    """A primary cancer: its type (OncoTree), SNOMED code and text, date and stage."""
    profiles = _profiles(obj)
    text = _display(obj.code)
    primary = PROFILE_FRAGMENTS["primary_cancer"] in profiles or (
        PROFILE_FRAGMENTS["secondary_cancer"] not in profiles
        and _ANY.search(text.lower()) is not None
        and "secondary" not in text.lower()
    )
    if not primary:
        b.not_modelled["Condition (not a primary cancer)"] += 1
        return
    pid = b.subject(obj)
    if pid is None:
        b.rejects.add(
            i, "no subject", f"Condition/{obj.id}", detail="the cancer condition names no patient"
        )
        return
    rec = b.markers[pid]
    rec["cancer_condition_code"] = _code(obj.code)
    rec["cancer_condition"] = text
    oncotree = [
        c.code for c in _codings(obj.code) if (c.system or "").rstrip("/") == ONCOTREE and c.code
    ]
    ct = oncotree[0] if oncotree else _cancer_type(text)
    if oncotree:
        rec["oncotree_code"] = oncotree[-1]
    rec["cancer_type"] = ct
    if ct is None:
        b.report.warnings.append(
            f"{obj.id}: no OncoTree code for primary cancer {text!r}; cancer_type left empty"
        )
    when = _when(obj)
    if when:
        rec["diagnosis_date"] = when
    for st in getattr(obj, "stage", None) or []:
        s = _display(st.summary)
        if s:
            rec.setdefault("stage", s)


def _is(role: str, loinc: str, profiles: str) -> bool:
    """Is an observation of ``role``, by its LOINC code or its profile?"""
    return loinc == CODES[role] or PROFILE_FRAGMENTS[role] in profiles


def _on_observation(b: _Bundle, i: int, obj: Any) -> None:
    """One observation: a variant, the genes studied, uracil, ECOG, stage group or a marker."""
    loinc = _code(obj.code, LOINC) or ""
    pid = b.subject(obj)
    if pid is None:
        b.rejects.add(
            i, "no subject", f"Observation/{obj.id}", detail="the observation names no patient"
        )
        return
    profiles = _profiles(obj)
    if _is("genetic_variant", loinc, profiles):
        b.variants.append(_variant(obj, pid, b.path, i))
    elif _is("region_studied", loinc, profiles):
        _region_studied(b, obj, pid)
    elif b.uracil_codes and _matches(obj.code, b.uracil_codes):
        _uracil(b, i, obj, pid)
    elif _is("ecog", loinc, profiles):
        _ecog(b, i, obj, pid)
    elif _is("stage_group", loinc, profiles):
        stage = _display(obj.valueCodeableConcept) if obj.valueCodeableConcept else None
        if stage:
            b.markers[pid]["stage"] = stage
    else:
        _marker(b, obj, pid, loinc)


def _region_studied(b: _Bundle, obj: Any, pid: str) -> None:
    genes = {
        g
        for comp in obj.component or []
        if _code(comp.code, LOINC) == CODES["gene_studied"]
        and (g := _gene(comp.valueCodeableConcept))
    }
    if not genes:
        b.report.warnings.append(
            f"{obj.id}: region-studied observation lists no "
            f"gene-studied ({CODES['gene_studied']}) component; coverage unknown"
        )
    b.studied[pid] |= genes


def _uracil(b: _Bundle, i: int, obj: Any, pid: str) -> None:
    val, unit_text = _value(obj)
    unit = unit_text.replace(" ", "").lower()
    if not isinstance(val, float) or unit not in ("ng/ml", ""):
        b.rejects.add(
            i,
            "unusable value",
            f"Observation/{obj.id}",
            detail=f"uracil {val!r} {unit_text!r}: a quantity in ng/mL is expected",
        )
        return
    b.uracils[pid].append((_when(obj), float(val)))


def _ecog(b: _Bundle, i: int, obj: Any, pid: str) -> None:
    val, _ = _value(obj)
    if not isinstance(val, int) or not 0 <= val <= 4:
        b.rejects.add(i, "out of range", f"Observation/{obj.id}", detail=f"ECOG {val!r} is not 0–4")
        return
    b.ecogs[pid].append((_when(obj), int(val)))


def _marker(b: _Bundle, obj: Any, pid: str, loinc: str) -> None:
    col = TUMOUR_MARKERS.get(loinc)
    if col is None:
        b.not_modelled[f"Observation {loinc or '(no LOINC code)'}"] += 1
        return
    val, _ = _value(obj)
    if col == "msi_status" and isinstance(val, str):
        val = MSI_VALUES.get(val, val)
    b.markers[pid][col] = val


def _on_medication(b: _Bundle, i: int, obj: Any) -> None:
    """A MedicationStatement or MedicationRequest: one drug given from a start date."""
    rtype = obj.get_resource_type()
    pid = b.subject(obj)
    if pid is None:
        b.rejects.add(
            i, "no subject", f"{rtype}/{obj.id}", detail="the medication names no patient"
        )
        return
    status = str(getattr(obj, "status", "") or "")
    if status in NOT_GIVEN:
        b.rejects.add(i, "medication not given", f"{rtype}/{obj.id}", detail=f"status {status!r}")
        return
    cc = getattr(obj, "medicationCodeableConcept", None)
    when = _when(obj)
    if cc is None or when is None:
        what = "no medication code" if cc is None else "no start date"
        b.rejects.add(i, "incomplete medication", f"{rtype}/{obj.id}", detail=what)
        return
    b.meds[pid].append((when, _drug(cc), i, status))


#: The handler of each modelled resource type; other types are counted as not modelled.
_HANDLERS: dict[str, Callable[[_Bundle, int, Any], None]] = {
    "Patient": _on_patient,
    "Condition": _on_condition,
    "Observation": _on_observation,
    "MedicationStatement": _on_medication,
    "MedicationRequest": _on_medication,
}


def _variant(obs: Any, pid: str, path: Path, entry: int) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in VARIANT_COLUMNS}
    row.update(patient_id=pid, sample_id=pid, source_file=str(path), source_line=entry)
    val, _ = _value(obs)
    row["filter"] = "PASS" if val in (None, "present") else str(val)
    interp = " ".join(_display(c).lower() for c in (obs.interpretation or []))
    if interp:
        row["consequence"] = next(
            (c for words, c in _INTERPRETATION if all(w in interp for w in words)),
            "sequence_variant",
        )
    for comp in obs.component or []:
        code = _code(comp.code, LOINC)
        if code is None and _code(comp.code, TBD) == MOLECULAR_CONSEQUENCE:
            text: str | None = (
                _display(comp.valueCodeableConcept) if comp.valueCodeableConcept else ""
            )
            if text:
                row["consequence"] = text
            continue
        cval, unit = _value(comp)
        if code == CODES["gene_studied"]:
            row["gene"] = _gene(comp.valueCodeableConcept)
        elif code in (CODES["hgvsp"], CODES["hgvsg"], CODES["hgvsc"]):
            text = _code(comp.valueCodeableConcept) if comp.valueCodeableConcept else cval
            if code == CODES["hgvsp"]:
                row["hgvsp"] = str(text) if text else None
            elif code == CODES["hgvsg"] and text:
                m = _HGVSG.match(str(text))
                if m:
                    name = (m.group(1) or m.group(2)).lstrip("0")
                    row.update(
                        chrom="chr" + {"23": "X", "24": "Y"}.get(name, name),
                        pos=int(m.group(3)),
                        ref=m.group(4),
                        alt=m.group(5),
                    )
        elif code in _POSITION:
            _position(row, _POSITION[code], comp)
        elif code == CODES["allele_frequency"] and isinstance(cval, float):
            row["vaf"] = cval / 100 if (unit == "%" or cval > 1) else cval
        elif code == CODES["depth"] and isinstance(cval, (int, float)):
            row["depth"] = int(cval)
    return row


#: Variant position components (Genomics Reporting IG) -> variants column.
_POSITION = {
    LOINC_CODES[role].code: column
    for role, column in (
        ("chromosome", "chrom"),
        ("allele_start_end", "pos"),
        ("ref_allele", "ref"),
        ("alt_allele", "alt"),
    )
}


def _position(row: dict[str, Any], column: str, comp: Any) -> None:
    """Chromosome, start (VCF position), ref and alt alleles from their own components."""
    if column == "chrom" and comp.valueCodeableConcept is not None:
        text = _display(comp.valueCodeableConcept)
        if text:
            row["chrom"] = text if text.startswith("chr") else f"chr{text}"
    elif column == "pos" and comp.valueRange is not None and comp.valueRange.low is not None:
        row["pos"] = int(comp.valueRange.low.value)
    elif column in ("ref", "alt") and comp.valueString:
        row[column] = str(comp.valueString)


def _year(birth: Any) -> int | None:
    """The year of a birth date, full (``date``) or partial (``"1956"``, ``"1956-03"``)."""
    if birth is None:
        return None
    return birth.year if isinstance(birth, date) else int(str(birth)[:4])


def _patient_key(patient: Any) -> str | None:
    """The pseudonymous key of a Patient written by this project (identifier system
    :data:`PATIENT_KEY_SYSTEM`), which stands for the patient instead of its resource id."""
    for ident in getattr(patient, "identifier", None) or []:
        if ident.system == PATIENT_KEY_SYSTEM and ident.value:
            return str(ident.value)
    return None


def _variant_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(VARIANT_COLUMNS))
    return df.astype(VARIANT_COLUMNS)


def _patients(
    patients: dict[str, dict[str, Any]],
    markers: Mapping[str, dict[str, Any]],
    ecogs: Mapping[str, list[tuple[date | None, int]]],
    report: FileReport,
) -> pd.DataFrame:
    for pid in markers:
        if pid not in patients:
            report.warnings.append(
                "resources refer to a patient with no Patient resource in the "
                "bundle; their rows are kept under that reference"
            )
            patients[pid] = {"patient_id": pid}
    rows = []
    for pid, rec in patients.items():
        r = dict(rec)
        r.update(markers.get(pid, {}))
        er, pr = r.get("er_status"), r.get("pr_status")
        if er is not None or pr is not None:
            r["hr_status"] = "positive" if "positive" in (er, pr) else "negative"
        dated = sorted((d or date.min, v) for d, v in ecogs.get(pid, []))
        if dated:
            r["ecog"] = dated[-1][1]
        rows.append(r)
    df = pd.DataFrame(rows)
    if "patient_id" not in df.columns:
        df = pd.DataFrame({"patient_id": pd.Series(dtype="string")})
    for c in df.columns:
        if c in ("birth_year", "ecog"):
            df[c] = df[c].astype("Int64")
        elif c == "diagnosis_date":
            df[c] = pd.to_datetime(df[c])
        elif c in ("tmb", "pdl1_tps"):
            df[c] = pd.to_numeric(df[c], errors="coerce")
        else:
            df[c] = df[c].astype("string")
    return df


def _lines(
    meds: Mapping[str, list[tuple[date, str, int, str]]],
    pats: pd.DataFrame,
    ecogs: Mapping[str, list[tuple[date | None, int]]],
    catalog: CatalogConfig | None,
    report: FileReport,
    uracils: Mapping[str, list[tuple[date | None, float]]] | None = None,
) -> pd.DataFrame:
    cancer = dict(zip(pats["patient_id"], pats.get("cancer_type", [None] * len(pats)), strict=True))
    rows = []
    unmatched: set[str] = set()
    for pid, items in meds.items():
        by_start: dict[date, set[str]] = defaultdict(set)
        for when, drug, _, _ in items:
            by_start[when].add(drug)
        starts = sorted(by_start)
        for n, start in enumerate(starts, start=1):
            regimen, known = _match_regimen(by_start[start], cancer.get(pid), catalog)
            if not known:
                unmatched.add(regimen)
            before = [
                v
                for d, v in sorted(ecogs.get(pid, []), key=lambda t: t[0] or date.min)
                if d is None or d <= start
            ]
            ura = [
                v
                for d, v in sorted((uracils or {}).get(pid, []), key=lambda t: t[0] or date.min)
                if d is not None and d <= start
            ]
            rows.append(
                {
                    "patient_id": pid,
                    "line_number": n,
                    "regimen_id": regimen,
                    "drugs": "+".join(sorted(by_start[start])),
                    "start_date": start,
                    "end_date": starts[n] if n < len(starts) else None,
                    "ecog": before[-1] if before else None,
                    "uracil_ng_ml": ura[-1] if ura else None,
                }
            )
    if unmatched and catalog is not None:
        report.warnings.append(
            f"{len(unmatched)} drug combinations match no catalog regimen; "
            "kept with the drugs as regimen_id"
        )
    cols = {
        "patient_id": "string",
        "line_number": "Int64",
        "regimen_id": "string",
        "drugs": "string",
        "start_date": "datetime64[ns]",
        "end_date": "datetime64[ns]",
        "ecog": "Int64",
        "uracil_ng_ml": "float64",
    }
    df = pd.DataFrame(rows, columns=list(cols)).astype(cols)
    return df.drop(columns="uracil_ng_ml") if df["uracil_ng_ml"].isna().all() else df
