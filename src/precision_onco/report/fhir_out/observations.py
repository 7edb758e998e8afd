"""Observations: markers at line start (TMB, MSI, PD-L1, HER2), variants, therapeutic
implications of the ranked regimens (Genomics Reporting IG profiles)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from precision_onco.config.schema import CatalogConfig
from precision_onco.fhir_codes import (
    GRCH38_ACCESSIONS,
    HGNC,
    HGNC_SYMBOLS,
    HGVS,
    LOINC,
    LOINC_ANSWERS,
    LOINC_CODES,
    MOLECULAR_CONSEQUENCE,
    PO_CODES,
    SNOMED,
    SNOMED_VALUES,
    TBD,
    UCUM,
)
from precision_onco.report.fhir_out.common import (
    OBS_CATEGORY,
    Ids,
    codeable,
    component,
    drug_concepts,
    loinc_component,
    present,
    profile,
    quantity,
    reference,
)
from precision_onco.report.fhir_out.texts import Texts
from precision_onco.report.phrases import PHRASES

__all__ = ["MARKER_CODES", "marker_observations", "therapeutic_implication", "variant_observation"]

_SYMBOL_HGNC = {sym: hgnc for hgnc, sym in HGNC_SYMBOLS.items()}
_SNV = {a + b for a in "ACGT" for b in "ACGT" if a != b}
_DOI = re.compile(r"doi:\s*(10\.\S+?)[.,;]?$")


#: Markers written as observations: column -> (LOINC code, LOINC display).
MARKER_CODES: dict[str, tuple[str, str]] = {
    "tmb": LOINC_CODES["tmb"],
    "msi_status": LOINC_CODES["msi"],
    "pdl1_tps": LOINC_CODES["pdl1_tps"],
    "her2_status": LOINC_CODES["her2"],
}
_MSI = {value: LOINC_ANSWERS[value] for value in ("MSI-H", "MSI-L", "MSS")}
_POSNEG = {
    "positive": (SNOMED_VALUES["positive"], "Positive"),
    "negative": (SNOMED_VALUES["negative"], "Negative"),
}


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
        loinc_component(
            "gene_studied",
            valueCodeableConcept=_gene_concept(str(v["gene"])),
        ),
        loinc_component(
            "genomic_source_class",
            valueCodeableConcept=codeable(LOINC, *LOINC_ANSWERS["somatic"]),
        ),
    ]
    if present(v.get("hgvsp")):
        comps.append(
            loinc_component(
                "hgvsp",
                valueCodeableConcept=codeable(HGVS, str(v["hgvsp"])),
            )
        )
    comps += _position_components(v)
    comps += _read_components(v)
    return {
        "resourceType": "Observation",
        "id": Ids.id_of(full_url),
        "meta": profile("variant"),
        "status": "final",
        "category": OBS_CATEGORY,
        "code": codeable(LOINC, *LOINC_CODES["genetic_variant"]),
        "subject": reference(patient_url),
        "valueCodeableConcept": codeable(LOINC, *LOINC_ANSWERS["present"]),
        "component": comps,
    }


def _position_components(v: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A variant's GRCh38 position: the HGVS genomic change of an SNV on a known chromosome,
    else chromosome, start, reference and alternate alleles; none without all four."""
    chrom = str(v.get("chrom") or "").removeprefix("chr")
    pos: Any = v.get("pos")
    ref, alt = v.get("ref"), v.get("alt")
    if not (chrom and present(pos) and ref and alt):
        return []
    acc = GRCH38_ACCESSIONS.get(chrom)
    snv = len(str(ref)) == 1 and len(str(alt)) == 1 and str(ref) + str(alt) in _SNV
    if acc and snv:  # the HGVS genomic change says it all
        return [
            loinc_component(
                "hgvsg",
                valueCodeableConcept=codeable(HGVS, f"{acc}:g.{int(pos)}{ref}>{alt}"),
            )
        ]
    return [
        loinc_component(
            "chromosome",
            valueCodeableConcept={"text": f"chr{chrom}"},
        ),
        loinc_component(
            "allele_start_end",
            valueRange={"low": {"value": int(pos)}},
        ),
        loinc_component("ref_allele", valueString=str(ref)),
        loinc_component("alt_allele", valueString=str(alt)),
    ]


def _read_components(v: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A variant's molecular consequence, allele frequency and read depth, those given."""
    comps = []
    if present(v.get("consequence")):
        comps.append(
            component(
                TBD,
                MOLECULAR_CONSEQUENCE,
                "Molecular Consequence",
                valueCodeableConcept={"text": str(v["consequence"])},
            )
        )
    if present(v.get("vaf")):
        comps.append(
            loinc_component(
                "allele_frequency",
                valueQuantity=quantity(float(v["vaf"]), "relative frequency"),
            )
        )
    if present(v.get("depth")):
        comps.append(
            loinc_component(
                "depth",
                valueQuantity=quantity(int(v["depth"]), "reads"),
            )
        )
    return comps


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
        loinc_component("medication_assessed", valueCodeableConcept=cc)
        for cc in drug_concepts(rid, catalog, t)
    ]
    comps += _probability_components(row, catalog=catalog, t=t)
    comps += _ranking_components(row, evidence=ev, t=t)
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


def _probability_components(
    row: Mapping[str, Any], *, catalog: CatalogConfig, t: Texts
) -> list[dict[str, Any]]:
    """A ranked row's predicted probabilities with their 95% intervals: the efficacy and
    any-severe-AE endpoints (those the cohort has), then each toxicity category's grade 3."""
    comps: list[dict[str, Any]] = []
    for ep, display in (
        (t.efficacy, "Predicted probability of objective response"),
        (t.any_severe_ae, "Predicted probability of a grade >= 3 adverse event"),
    ):
        if ep:
            comps += _probability(f"p-{ep.replace('_', '-')}", display, row, f"p_{ep}")
    for c in catalog.toxicity_categories:
        comps += _probability(
            f"p-ae-{c.replace('_', '-')}-grade3",
            f"Predicted probability of a grade >= 3 {c.replace('_', '-')} adverse event",
            row,
            f"p_ae_{c}_grade3",
        )
    return comps


def _ranking_components(
    row: Mapping[str, Any], *, evidence: Mapping[str, Any], t: Texts
) -> list[dict[str, Any]]:
    """A ranked row's utility (when given), rank and evidence level (when it has evidence)."""
    comps = []
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
    if evidence:
        comps.append(
            loinc_component(
                "evidence_level",
                valueCodeableConcept={"text": t.evidence_level(evidence)},
            )
        )
    return comps


_PGX_TEXT: dict[str, dict[str, str]] = {lang: p["fhir_pgx"] for lang, p in PHRASES.items()}


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
                "code": codeable(LOINC, *LOINC_CODES["gene_studied"]),
                "valueCodeableConcept": _gene_concept(gene),
            },
            {
                "code": codeable(LOINC, *LOINC_CODES["drug_metabolism_effect"]),
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
            "code": codeable(LOINC, *LOINC_CODES["genotype"]),
            "subject": reference(patient_url),
            "valueCodeableConcept": {"text": call.diplotype or words["not_tested"]},
            "component": comps,
            "note": [{"text": f"{words['source']}: {call.source}"}],
        }
        out.append({"fullUrl": full, "resource": obs})
    return out
