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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from precision_onco.config.schema import CatalogConfig
from precision_onco.ingest.contracts import (
    VARIANT_COLUMNS,
    FileReport,
    IngestError,
    Rejects,
)

__all__ = ["CANCER_WORDS", "HGNC_SYMBOLS", "FhirResult", "read_fhir_bundle"]

LOINC = "http://loinc.org"
#: "DNA region of interest panel": the Genomics Reporting region-studied observation.
REGION_STUDIED = "53041-0"
ONCOTREE = "http://oncotree.mskcc.org"
TBD = "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs"
#: Identifier system of the pseudonymous patient keys this project writes (FHIR out).
PATIENT_KEY_SYSTEM = "urn:precision-onco:patient-key"

#: HGNC identifiers of the genes the catalog and the default panel rely on most (HGNC, 2024).
HGNC_SYMBOLS: dict[str, str] = {
    "HGNC:427": "ALK",
    "HGNC:391": "AKT1",
    "HGNC:583": "APC",
    "HGNC:1097": "BRAF",
    "HGNC:1100": "BRCA1",
    "HGNC:1101": "BRCA2",
    "HGNC:1582": "CCND1",
    "HGNC:1787": "CDKN2A",
    "HGNC:3236": "EGFR",
    "HGNC:3430": "ERBB2",
    "HGNC:3467": "ESR1",
    "HGNC:3688": "FGFR1",
    "HGNC:5382": "IDH1",
    "HGNC:6342": "KIT",
    "HGNC:6407": "KRAS",
    "HGNC:6973": "MDM2",
    "HGNC:7029": "MET",
    "HGNC:7989": "NRAS",
    "HGNC:8031": "NTRK1",
    "HGNC:8975": "PIK3CA",
    "HGNC:9588": "PTEN",
    "HGNC:9967": "RET",
    "HGNC:10261": "ROS1",
    "HGNC:11389": "STK11",
    "HGNC:11998": "TP53",
}

#: Words of a primary cancer's SNOMED display -> OncoTree code, first match wins.
CANCER_WORDS: tuple[tuple[str, str], ...] = (
    (r"small cell carcinoma of lung|small cell lung", "SCLC"),
    (r"lung|bronch", "NSCLC"),
    (r"melanoma", "MEL"),
    (r"colon|rectum|rectal|colorectal|caecum|cecum|sigmoid", "COADREAD"),
    (r"breast", "BRCA"),
)

#: Tumour-marker LOINC codes -> patients column.
MARKERS: dict[str, str] = {
    "40556-3": "er_status",
    "16112-5": "er_status",
    "85337-4": "er_status",
    "40557-1": "pr_status",
    "16113-3": "pr_status",
    "85339-0": "pr_status",
    "18474-7": "her2_status",
    "48676-1": "her2_status",
    "85319-2": "her2_status",
    "85318-4": "her2_status",
    "62862-8": "msi_status",
    "81695-9": "msi_status",
    "94077-5": "tmb_status",
    "94076-7": "tmb",
    "85147-7": "pdl1_tps",
    "83052-1": "pdl1_tps",
}

_SNOMED_VALUES = {
    "10828004": "positive",
    "260385009": "negative",
    "62482003": "low",
    "75540009": "high",
    "371879000": "intermediate",
    "52101004": "present",
    "2667000": "absent",
}

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
        rid = getattr(obj, "id", None)
        if rtype == "Patient":
            rid = _patient_key(obj) or rid
        if rtype == "Patient" and rid:
            urls[str(e.get("fullUrl") or "")] = rid
            urls[f"Patient/{rid}"] = rid
        parsed.append((i, obj))

    patients: dict[str, dict[str, Any]] = {}
    markers: dict[str, dict[str, Any]] = defaultdict(dict)
    ecogs: dict[str, list[tuple[date | None, int]]] = defaultdict(list)
    studied: dict[str, set[str]] = defaultdict(set)  # genes an assay covered, by patient
    uracils: dict[str, list[tuple[date | None, float]]] = defaultdict(list)
    meds: dict[str, list[tuple[date, str, int, str]]] = defaultdict(list)
    variants: list[dict[str, Any]] = []
    not_modelled: Counter[str] = Counter()
    for i, obj in parsed:
        rtype = obj.get_resource_type()
        if rtype == "Patient":
            key = _patient_key(obj) or obj.id
            patients.setdefault(key, {"patient_id": key})
            patients[key].update(
                sex={"male": "M", "female": "F", "other": "Other", "unknown": "Unknown"}.get(
                    str(obj.gender or "")
                ),
                birth_year=_year(obj.birthDate),
            )
            continue
        subject = getattr(obj, "subject", None) or getattr(obj, "patient", None)
        pid = _ref_id(subject, urls)
        profiles = _profiles(obj)
        if rtype == "Condition":
            text = _display(obj.code)
            primary = "primary-cancer-condition" in profiles or (
                "secondary-cancer-condition" not in profiles
                and _ANY.search(text.lower()) is not None
                and "secondary" not in text.lower()
            )
            if not primary:
                not_modelled["Condition (not a primary cancer)"] += 1
                continue
            if pid is None:
                rejects.add(
                    i,
                    "no subject",
                    f"Condition/{obj.id}",
                    detail="the cancer condition names no patient",
                )
                continue
            rec = markers[pid]
            rec["cancer_condition_code"] = _code(obj.code)
            rec["cancer_condition"] = text
            oncotree = [
                c.code
                for c in _codings(obj.code)
                if (c.system or "").rstrip("/") == ONCOTREE and c.code
            ]
            ct = oncotree[0] if oncotree else _cancer_type(text)
            if oncotree:
                rec["oncotree_code"] = oncotree[-1]
            rec["cancer_type"] = ct
            if ct is None:
                report.warnings.append(
                    f"{obj.id}: no OncoTree code for primary cancer {text!r}; "
                    "cancer_type left empty"
                )
            when = _when(obj)
            if when:
                rec["diagnosis_date"] = when
            for st in getattr(obj, "stage", None) or []:
                s = _display(st.summary)
                if s:
                    rec.setdefault("stage", s)
            continue
        if rtype == "Observation":
            loinc = _code(obj.code, LOINC) or ""
            if pid is None:
                rejects.add(
                    i,
                    "no subject",
                    f"Observation/{obj.id}",
                    detail="the observation names no patient",
                )
                continue
            if loinc == "69548-6" or "genetic-variant" in profiles:
                variants.append(_variant(obj, pid, p, i))
                continue
            if loinc == REGION_STUDIED or "region-studied" in profiles:
                genes = {
                    g
                    for comp in obj.component or []
                    if _code(comp.code, LOINC) == "48018-6"
                    and (g := _gene(comp.valueCodeableConcept))
                }
                if not genes:
                    report.warnings.append(
                        f"{obj.id}: region-studied observation lists no "
                        "gene-studied (48018-6) component; coverage unknown"
                    )
                studied[pid] |= genes
                continue
            val, _unit = _value(obj)
            if uracil_codes and _matches(obj.code, uracil_codes):
                unit = _unit.replace(" ", "").lower()
                if not isinstance(val, float) or unit not in ("ng/ml", ""):
                    rejects.add(
                        i,
                        "unusable value",
                        f"Observation/{obj.id}",
                        detail=f"uracil {val!r} {_unit!r}: a quantity in ng/mL is expected",
                    )
                    continue
                uracils[pid].append((_when(obj), float(val)))
                continue
            if loinc == "89247-1" or "ecog" in profiles:
                if not isinstance(val, int) or not 0 <= val <= 4:
                    rejects.add(
                        i,
                        "out of range",
                        f"Observation/{obj.id}",
                        detail=f"ECOG {val!r} is not 0–4",
                    )
                    continue
                ecogs[pid].append((_when(obj), int(val)))
                continue
            if loinc == "21908-9" or "stage-group" in profiles:
                stage = _display(obj.valueCodeableConcept) if obj.valueCodeableConcept else None
                if stage:
                    markers[pid]["stage"] = stage
                continue
            col = MARKERS.get(loinc)
            if col is None:
                not_modelled[f"Observation {loinc or '(no LOINC code)'}"] += 1
                continue
            if col == "msi_status" and isinstance(val, str):
                val = {
                    "positive": "MSI-H",
                    "high": "MSI-H",
                    "negative": "MSS",
                    "low": "MSI-L",
                    "stable": "MSS",
                    "msi-h": "MSI-H",
                    "msi-l": "MSI-L",
                    "mss": "MSS",
                }.get(val, val)
            markers[pid][col] = val
            continue
        if rtype in ("MedicationStatement", "MedicationRequest"):
            if pid is None:
                rejects.add(
                    i, "no subject", f"{rtype}/{obj.id}", detail="the medication names no patient"
                )
                continue
            status = str(getattr(obj, "status", "") or "")
            if status in ("entered-in-error", "not-taken", "cancelled", "unknown", "draft"):
                rejects.add(
                    i, "medication not given", f"{rtype}/{obj.id}", detail=f"status {status!r}"
                )
                continue
            cc = getattr(obj, "medicationCodeableConcept", None)
            when = _when(obj)
            if cc is None or when is None:
                what = "no medication code" if cc is None else "no start date"
                rejects.add(i, "incomplete medication", f"{rtype}/{obj.id}", detail=what)
                continue
            meds[pid].append((when, _drug(cc), i, status))
            continue
        not_modelled[rtype] += 1

    for pid, genes in studied.items():
        markers[pid]["genes_tested"] = ";".join(sorted(genes))
    pats = _patients(patients, markers, ecogs, report)
    lines = _lines(meds, pats, ecogs, catalog, report, uracils)
    vdf = _variant_frame(variants)
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


def _variant(obs: Any, pid: str, path: Path, entry: int) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in VARIANT_COLUMNS}
    row.update(patient_id=pid, sample_id=pid, source_file=str(path), source_line=entry)
    val, _ = _value(obs)
    row["filter"] = "PASS" if val in (None, "present") else str(val)
    interp = " ".join(_display(c).lower() for c in (obs.interpretation or []))
    if "amplification" in interp:
        row["consequence"] = "feature_amplification"
    elif "deletion" in interp and "gene" in interp:
        row["consequence"] = "feature_ablation"
    elif interp:
        row["consequence"] = "sequence_variant"
    for comp in obs.component or []:
        code = _code(comp.code, LOINC)
        if code is None and _code(comp.code, TBD) == "molecular-consequence":
            text: str | None = (
                _display(comp.valueCodeableConcept) if comp.valueCodeableConcept else ""
            )
            if text:
                row["consequence"] = text
            continue
        cval, unit = _value(comp)
        if code == "48018-6":
            row["gene"] = _gene(comp.valueCodeableConcept)
        elif code in ("48005-3", "81290-9", "48004-6"):
            text = _code(comp.valueCodeableConcept) if comp.valueCodeableConcept else cval
            if code == "48005-3":
                row["hgvsp"] = str(text) if text else None
            elif code == "81290-9" and text:
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
        elif code == "81258-6" and isinstance(cval, float):
            row["vaf"] = cval / 100 if (unit == "%" or cval > 1) else cval
        elif code == "82121-5" and isinstance(cval, (int, float)):
            row["depth"] = int(cval)
    return row


#: Variant position components (Genomics Reporting IG) -> variants column.
_POSITION = {"48000-4": "chrom", "81254-5": "pos", "69547-8": "ref", "69551-0": "alt"}


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
