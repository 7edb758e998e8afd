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
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from precision_onco.config.schema import CatalogConfig
from precision_onco.ingest.fhir import HGNC_SYMBOLS
from precision_onco.report.fhir_out.codes import (
    ATC,
    GRCH38_ACCESSIONS,
    HGNC,
    HGVS,
    IG,
    LOINC,
    ONCOTREE,
    PATIENT_KEY_SYSTEM,
    PO_CODES,
    SNOMED,
    TBD,
    UCUM,
)
from precision_onco.report.fhir_out.texts import Texts

__all__ = [
    "Ids",
    "codeable",
    "reference",
    "attachment",
    "binary",
    "cancer_condition",
    "device",
    "diagnostic_report",
    "document_reference",
    "excluded_task",
    "marker_observations",
    "patient_resource",
    "provenance",
    "recommendation_task",
    "therapeutic_implication",
    "variant_observation",
]

_NS = uuid.UUID("6f1c9a0e-3d2b-5c47-9e81-2a4f7b0d6c15")
_SYMBOL_HGNC = {sym: hgnc for hgnc, sym in HGNC_SYMBOLS.items()}
_SNV = {a + b for a in "ACGT" for b in "ACGT" if a != b}
_DOI = re.compile(r"doi:\s*(10\.\S+?)[.,;]?$")
_OBS_CATEGORY = [
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


def _quantity(value: float, unit: str = "probability", code: str = "1") -> dict[str, Any]:
    return {"value": round(float(value), 6), "unit": unit, "system": UCUM, "code": code}


def _profile(name: str) -> dict[str, Any]:
    return {"profile": [f"{IG}/StructureDefinition/{name}"]}


def _present(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and v != v)


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
    if _present(patient.get("birth_year")):
        out["birthDate"] = f"{int(patient['birth_year']):04d}"
    return out


def cancer_condition(
    full_url: str, patient_url: str, patient: Mapping[str, Any], catalog: CatalogConfig, t: Texts
) -> dict[str, Any] | None:
    """The primary cancer (mCODE primary-cancer-condition): the catalog's OncoTree cancer type,
    then the detailed OncoTree code when it differs; the stage as text."""
    cancer = patient.get("cancer_type")
    if not _present(cancer):
        return None
    label = t.cancer_type(str(cancer))
    ct = catalog.cancer_types.get(str(cancer))
    coding = [{"system": ONCOTREE, "code": str(cancer), "display": ct.label if ct else None}]
    detail = patient.get("oncotree_code")
    if _present(detail) and str(detail) != str(cancer):
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
    if _present(patient.get("stage")):
        out["stage"] = [{"summary": {"text": str(patient["stage"])}}]
    return out


#: Markers written as observations: column -> (LOINC code, LOINC display).
MARKER_CODES: dict[str, tuple[str, str]] = {
    "tmb": ("94076-7", "Mutations/Megabase [# Ratio] in Tumor"),
    "msi_status": (
        "81695-9",
        "Microsatellite instability [Interpretation] in Cancer specimen Qualitative",
    ),
    "pdl1_tps": ("85147-7", "PD-L1 by clone 22C3 [Interpretation] in Tissue"),
    "her2_status": ("48676-1", "HER2 [Interpretation] in Tissue"),
}
_MSI = {
    "MSI-H": ("LA26202-4", "MSI-H"),
    "MSI-L": ("LA26203-2", "MSI-L"),
    "MSS": ("LA14122-8", "Stable"),
}
_POSNEG = {"positive": ("10828004", "Positive"), "negative": ("260385009", "Negative")}


def marker_observations(
    urls: Ids, patient_url: str, markers: Mapping[str, Any], t: Texts
) -> list[dict[str, Any]]:
    """TMB (IG ``tmb``), MSI (IG ``msi``), PD-L1 TPS and HER2 observations at line start."""
    out = []
    for col, (code, display) in MARKER_CODES.items():
        v: Any = markers.get(col)
        if not _present(v):
            continue
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "status": "final",
            "category": _OBS_CATEGORY,
            "code": codeable(LOINC, code, display, t.marker(col)),
            "subject": reference(patient_url),
        }
        if col == "tmb":
            obs["meta"] = _profile("tmb")
            obs["valueQuantity"] = {
                "value": round(float(v), 3),
                "unit": "mutations/Mb",
                "system": UCUM,
                "code": "1/1000000{Base}",
            }
        elif col == "pdl1_tps":
            obs["valueQuantity"] = {
                "value": round(float(v), 3),
                "unit": "%",
                "system": UCUM,
                "code": "%",
            }
        elif col == "msi_status":
            if str(v) not in _MSI:
                continue
            obs["meta"] = _profile("msi")
            obs["valueCodeableConcept"] = codeable(LOINC, *_MSI[str(v)])
        else:
            if str(v) not in _POSNEG:
                continue
            obs["valueCodeableConcept"] = codeable(SNOMED, *_POSNEG[str(v)])
        full = urls(f"marker/{col}")
        obs["id"] = Ids.id_of(full)
        out.append({"fullUrl": full, "resource": obs})
    return out


def _component(system: str, code: str, display: str | None, **value: Any) -> dict[str, Any]:
    return {"code": codeable(system, code, display), **value}


def _genecodeable(gene: str) -> dict[str, Any]:
    hgnc = _SYMBOL_HGNC.get(gene)
    return codeable(HGNC, hgnc, gene) if hgnc else {"text": gene}


def variant_observation(full_url: str, patient_url: str, v: Mapping[str, Any]) -> dict[str, Any]:
    """A somatic variant (IG ``variant``): gene (HGNC), HGVSp, VAF, depth, GRCh38 position."""
    comps = [
        _component(
            LOINC,
            "48018-6",
            "Gene studied [ID]",
            valueCodeableConcept=_genecodeable(str(v["gene"])),
        ),
        _component(
            LOINC,
            "48002-0",
            "Genomic source class [Type]",
            valueCodeableConcept=codeable(LOINC, "LA6684-0", "Somatic"),
        ),
    ]
    if _present(v.get("hgvsp")):
        comps.append(
            _component(
                LOINC,
                "48005-3",
                "Amino acid change (pHGVS)",
                valueCodeableConcept=codeable(HGVS, str(v["hgvsp"])),
            )
        )
    chrom = str(v.get("chrom") or "").removeprefix("chr")
    pos: Any = v.get("pos")
    ref, alt = v.get("ref"), v.get("alt")
    if chrom and _present(pos) and ref and alt:
        acc = GRCH38_ACCESSIONS.get(chrom)
        snv = len(str(ref)) == 1 and len(str(alt)) == 1 and str(ref) + str(alt) in _SNV
        if acc and snv:  # the HGVS genomic change says it all
            comps.append(
                _component(
                    LOINC,
                    "81290-9",
                    "Genomic DNA change (gHGVS)",
                    valueCodeableConcept=codeable(HGVS, f"{acc}:g.{int(pos)}{ref}>{alt}"),
                )
            )
        else:
            comps += [
                _component(
                    LOINC,
                    "48000-4",
                    "Chromosome [Identifier] Blood or Tissue Specimen",
                    valueCodeableConcept={"text": f"chr{chrom}"},
                ),
                _component(
                    LOINC,
                    "81254-5",
                    "Genomic allele start-end",
                    valueRange={"low": {"value": int(pos)}},
                ),
                _component(LOINC, "69547-8", "Genomic ref allele [ID]", valueString=str(ref)),
                _component(LOINC, "69551-0", "Genomic alt allele [ID]", valueString=str(alt)),
            ]
    if _present(v.get("consequence")):
        comps.append(
            _component(
                TBD,
                "molecular-consequence",
                "Molecular Consequence",
                valueCodeableConcept={"text": str(v["consequence"])},
            )
        )
    if _present(v.get("vaf")):
        comps.append(
            _component(
                LOINC,
                "81258-6",
                "Sample variant allelic frequency [NFr]",
                valueQuantity=_quantity(float(v["vaf"]), "relative frequency"),
            )
        )
    if _present(v.get("depth")):
        comps.append(
            _component(
                LOINC,
                "82121-5",
                "Allelic read depth",
                valueQuantity=_quantity(int(v["depth"]), "reads"),
            )
        )
    return {
        "resourceType": "Observation",
        "id": Ids.id_of(full_url),
        "meta": _profile("variant"),
        "status": "final",
        "category": _OBS_CATEGORY,
        "code": codeable(LOINC, "69548-6", "Genetic variant assessment"),
        "subject": reference(patient_url),
        "valueCodeableConcept": codeable(LOINC, "LA9633-4", "Present"),
        "component": comps,
    }


def _drugs(regimen_id: str, catalog: CatalogConfig, t: Texts) -> list[dict[str, Any]]:
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


def _probability(code: str, display: str, row: Mapping[str, Any], col: str) -> list[dict[str, Any]]:
    p: Any = row.get(col)
    lo: Any = row.get(f"{col}_low")
    hi: Any = row.get(f"{col}_high")
    if not _present(p):
        return []
    out = [_component(PO_CODES, code, display, valueQuantity=_quantity(p))]
    if _present(lo) and _present(hi):
        out.append(
            _component(
                PO_CODES,
                f"{code}-interval",
                f"{display}, 95% interval",
                valueRange={"low": _quantity(lo), "high": _quantity(hi)},
            )
        )
    return out


def _citations(evidence: Mapping[str, Any]) -> list[dict[str, Any]]:
    texts = [evidence.get("citation")]
    texts += [c.get("citation") for c in evidence.get("civic") or [] if isinstance(c, Mapping)]
    out = []
    for text in dict.fromkeys(x for x in texts if x):
        art: dict[str, Any] = {"type": "citation", "citation": str(text)}
        m = _DOI.search(str(text))
        if m:
            art["url"] = f"https://doi.org/{m.group(1)}"
        out.append(
            {
                "url": "http://hl7.org/fhir/StructureDefinition/workflow-relatedArtifact",
                "valueRelatedArtifact": art,
            }
        )
    return out


def therapeutic_implication(
    full_url: str,
    patient_url: str,
    row: Mapping[str, Any],
    *,
    catalog: CatalogConfig,
    t: Texts,
    derived_from: Sequence[str],
) -> dict[str, Any]:
    """A ranked regimen (IG ``therapeutic-implication``): its drugs, the predicted probabilities
    with their 95% intervals, utility and rank, the evidence level and citations."""
    rid = str(row["regimen_id"])
    ev = row.get("evidence") or {}
    comps = [
        _component(LOINC, "51963-7", "Medication assessed [Identifier]", valueCodeableConcept=cc)
        for cc in _drugs(rid, catalog, t)
    ]
    comps += _probability(
        "p-response", "Predicted probability of objective response", row, "p_response"
    )
    comps += _probability(
        "p-ae-grade3", "Predicted probability of a grade >= 3 adverse event", row, "p_ae_grade3"
    )
    for c in catalog.toxicity_categories:
        comps += _probability(
            f"p-ae-{c.replace('_', '-')}-grade3",
            f"Predicted probability of a grade >= 3 {c.replace('_', '-')} adverse event",
            row,
            f"p_ae_{c}_grade3",
        )
    if _present(row.get("utility")):
        comps.append(
            _component(
                PO_CODES,
                "utility",
                "Utility (preset weights)",
                valueQuantity=_quantity(row["utility"], "utility"),
            )
        )
    comps.append(
        _component(PO_CODES, "rank", "Rank among eligible regimens", valueInteger=int(row["rank"]))
    )
    if ev:
        comps.append(
            _component(
                LOINC,
                "93044-6",
                "Level of evidence",
                valueCodeableConcept={"text": t.evidence_level(ev)},
            )
        )
    notes = [{"text": t.implication_note(row)}]
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "id": Ids.id_of(full_url),
        "meta": _profile("therapeutic-implication"),
        "status": "preliminary",
        "category": _OBS_CATEGORY,
        "code": codeable(TBD, "therapeutic-implication", "Therapeutic Implication", t.regimen(rid)),
        "subject": reference(patient_url),
        "component": comps,
        "note": notes,
    }
    if derived_from:
        out["derivedFrom"] = [reference(u) for u in derived_from]
    cites = _citations(ev)
    if cites:
        out["extension"] = cites
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
        "meta": _profile("medication-recommendation"),
        "intent": "proposal",
        "code": codeable(
            TBD, "medication-recommendation", "Medication Recommendation", t.label("task_code")
        ),
        "for": reference(patient_url),
        "authoredOn": generated,
        "input": [
            {"type": {"text": t.label("medication")}, "valueCodeableConcept": cc}
            for cc in _drugs(regimen_id, catalog, t)
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
        "meta": _profile("genomic-report"),
        "status": "preliminary",
        "category": [codeable("http://terminology.hl7.org/CodeSystem/v2-0074", "GE", "Genetics")],
        "code": codeable(LOINC, "51969-4", "Genetic analysis report", t.label("title")),
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
    entities = []
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
    for key, what in (
        ("data_sha256", "data version (SHA-256 of the features)"),
        ("config_sha256", "configuration (SHA-256 of params.yaml)"),
        ("catalog_version", "therapy catalog"),
        ("civic_release", "CIViC release"),
    ):
        if prov.get(key):
            entities.append({"role": "source", "what": {"display": f"{what}: {prov[key]}"}})
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
        "type": codeable(LOINC, "51969-4", "Genetic analysis report", t.label("title")),
        "category": [codeable(LOINC, "11502-2", "Laboratory report")],
        "subject": dict(patient_ref),
        "date": generated,
        "description": t.label("title"),
        "content": [{"attachment": dict(content)}],
        "context": {"related": [reference(report_url)]},
    }
    if profile:
        out["meta"] = {"profile": [profile]}
    return out
