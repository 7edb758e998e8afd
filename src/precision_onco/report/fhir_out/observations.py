"""Observations: markers at line start (TMB, MSI, PD-L1, HER2), variants, therapeutic
implications of the ranked regimens (Genomics Reporting IG profiles)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from precision_onco.config.schema import CatalogConfig
from precision_onco.ingest.fhir import HGNC_SYMBOLS
from precision_onco.report.fhir_out.codes import (
    GRCH38_ACCESSIONS,
    HGNC,
    HGVS,
    LOINC,
    PO_CODES,
    SNOMED,
    TBD,
    UCUM,
)
from precision_onco.report.fhir_out.common import (
    OBS_CATEGORY,
    Ids,
    codeable,
    component,
    drug_concepts,
    present,
    profile,
    quantity,
    reference,
)
from precision_onco.report.fhir_out.texts import Texts

__all__ = ["MARKER_CODES", "marker_observations", "therapeutic_implication", "variant_observation"]

_SYMBOL_HGNC = {sym: hgnc for hgnc, sym in HGNC_SYMBOLS.items()}
_SNV = {a + b for a in "ACGT" for b in "ACGT" if a != b}
_DOI = re.compile(r"doi:\s*(10\.\S+?)[.,;]?$")


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
        if not present(v):
            continue
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "status": "final",
            "category": OBS_CATEGORY,
            "code": codeable(LOINC, code, display, t.marker(col)),
            "subject": reference(patient_url),
        }
        if col == "tmb":
            obs["meta"] = profile("tmb")
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
            obs["meta"] = profile("msi")
            obs["valueCodeableConcept"] = codeable(LOINC, *_MSI[str(v)])
        else:
            if str(v) not in _POSNEG:
                continue
            obs["valueCodeableConcept"] = codeable(SNOMED, *_POSNEG[str(v)])
        full = urls(f"marker/{col}")
        obs["id"] = Ids.id_of(full)
        out.append({"fullUrl": full, "resource": obs})
    return out


def _gene_concept(gene: str) -> dict[str, Any]:
    hgnc = _SYMBOL_HGNC.get(gene)
    return codeable(HGNC, hgnc, gene) if hgnc else {"text": gene}


def variant_observation(full_url: str, patient_url: str, v: Mapping[str, Any]) -> dict[str, Any]:
    """A somatic variant (IG ``variant``): gene (HGNC), HGVSp, VAF, depth, GRCh38 position."""
    comps = [
        component(
            LOINC,
            "48018-6",
            "Gene studied [ID]",
            valueCodeableConcept=_gene_concept(str(v["gene"])),
        ),
        component(
            LOINC,
            "48002-0",
            "Genomic source class [Type]",
            valueCodeableConcept=codeable(LOINC, "LA6684-0", "Somatic"),
        ),
    ]
    if present(v.get("hgvsp")):
        comps.append(
            component(
                LOINC,
                "48005-3",
                "Amino acid change (pHGVS)",
                valueCodeableConcept=codeable(HGVS, str(v["hgvsp"])),
            )
        )
    chrom = str(v.get("chrom") or "").removeprefix("chr")
    pos: Any = v.get("pos")
    ref, alt = v.get("ref"), v.get("alt")
    if chrom and present(pos) and ref and alt:
        acc = GRCH38_ACCESSIONS.get(chrom)
        snv = len(str(ref)) == 1 and len(str(alt)) == 1 and str(ref) + str(alt) in _SNV
        if acc and snv:  # the HGVS genomic change says it all
            comps.append(
                component(
                    LOINC,
                    "81290-9",
                    "Genomic DNA change (gHGVS)",
                    valueCodeableConcept=codeable(HGVS, f"{acc}:g.{int(pos)}{ref}>{alt}"),
                )
            )
        else:
            comps += [
                component(
                    LOINC,
                    "48000-4",
                    "Chromosome [Identifier] Blood or Tissue Specimen",
                    valueCodeableConcept={"text": f"chr{chrom}"},
                ),
                component(
                    LOINC,
                    "81254-5",
                    "Genomic allele start-end",
                    valueRange={"low": {"value": int(pos)}},
                ),
                component(LOINC, "69547-8", "Genomic ref allele [ID]", valueString=str(ref)),
                component(LOINC, "69551-0", "Genomic alt allele [ID]", valueString=str(alt)),
            ]
    if present(v.get("consequence")):
        comps.append(
            component(
                TBD,
                "molecular-consequence",
                "Molecular Consequence",
                valueCodeableConcept={"text": str(v["consequence"])},
            )
        )
    if present(v.get("vaf")):
        comps.append(
            component(
                LOINC,
                "81258-6",
                "Sample variant allelic frequency [NFr]",
                valueQuantity=quantity(float(v["vaf"]), "relative frequency"),
            )
        )
    if present(v.get("depth")):
        comps.append(
            component(
                LOINC,
                "82121-5",
                "Allelic read depth",
                valueQuantity=quantity(int(v["depth"]), "reads"),
            )
        )
    return {
        "resourceType": "Observation",
        "id": Ids.id_of(full_url),
        "meta": profile("variant"),
        "status": "final",
        "category": OBS_CATEGORY,
        "code": codeable(LOINC, "69548-6", "Genetic variant assessment"),
        "subject": reference(patient_url),
        "valueCodeableConcept": codeable(LOINC, "LA9633-4", "Present"),
        "component": comps,
    }


def _probability(code: str, display: str, row: Mapping[str, Any], col: str) -> list[dict[str, Any]]:
    p: Any = row.get(col)
    lo: Any = row.get(f"{col}_low")
    hi: Any = row.get(f"{col}_high")
    if not present(p):
        return []
    out = [component(PO_CODES, code, display, valueQuantity=quantity(p))]
    if present(lo) and present(hi):
        out.append(
            component(
                PO_CODES,
                f"{code}-interval",
                f"{display}, 95% interval",
                valueRange={"low": quantity(lo), "high": quantity(hi)},
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
        component(LOINC, "51963-7", "Medication assessed [Identifier]", valueCodeableConcept=cc)
        for cc in drug_concepts(rid, catalog, t)
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
    if present(row.get("utility")):
        comps.append(
            component(
                PO_CODES,
                "utility",
                "Utility (preset weights)",
                valueQuantity=quantity(row["utility"], "utility"),
            )
        )
    comps.append(
        component(PO_CODES, "rank", "Rank among eligible regimens", valueInteger=int(row["rank"]))
    )
    if ev:
        comps.append(
            component(
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
        "meta": profile("therapeutic-implication"),
        "status": "preliminary",
        "category": OBS_CATEGORY,
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


_PGX_TEXT = {
    "en": {
        "score": "DPYD activity score (CPIC)",
        "bound": "DPYD activity score, upper bound (positions not tested)",
        "not_tested": "not tested",
        "source": "Guideline",
    },
    "fr": {
        "score": "Score d'activité DPYD (CPIC)",
        "bound": "Score d'activité DPYD, borne supérieure (positions non testées)",
        "not_tested": "non testé",
        "source": "Recommandation",
    },
}


def pgx_observations(
    urls: Ids, patient_url: str, patient: Mapping[str, Any], t: Texts
) -> list[dict[str, Any]]:
    """One genotype Observation (IG ``genotype``) per pharmacogene with a recorded result
    (DPYD activity score, UGT1A1 diplotype): the diplotype as value, the gene studied, the
    metaboliser phenotype (LOINC 53040-2) and the DPYD activity score as components."""
    from precision_onco.pgx.regimens import gene_calls

    words = _PGX_TEXT["fr" if t.lang == "fr" else "en"]
    out = []
    for gene, call in gene_calls(patient).items():
        comps: list[dict[str, Any]] = [
            {
                "code": codeable(LOINC, "48018-6", "Gene studied [ID]"),
                "valueCodeableConcept": _gene_concept(gene),
            },
            {
                "code": codeable(LOINC, "53040-2", "Genetic variation's effect on drug metabolism"),
                "valueCodeableConcept": {"text": call.phenotype},
            },
        ]
        if call.activity_score is not None:
            comps.append(
                {
                    "code": {"text": words["score"]},
                    "valueQuantity": {"value": float(call.activity_score)},
                }
            )
        elif call.activity_score_max is not None:
            comps.append(
                {
                    "code": {"text": words["bound"]},
                    "valueQuantity": {"value": float(call.activity_score_max)},
                }
            )
        full = urls(f"pgx/{gene}")
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "id": Ids.id_of(full),
            "meta": profile("genotype"),
            "status": "final",
            "category": OBS_CATEGORY,
            "code": codeable(LOINC, "84413-4", "Genotype display name"),
            "subject": reference(patient_url),
            "valueCodeableConcept": {"text": call.diplotype or words["not_tested"]},
            "component": comps,
            "note": [{"text": f"{words['source']}: {call.source}"}],
        }
        out.append({"fullUrl": full, "resource": obs})
    return out
