"""The FHIR code table: code systems, LOINC/SNOMED codes by role, profiles, gene ids.

One table for the FHIR reader (``ingest/fhir.py``) and the FHIR writer
(``report/fhir_out``), so that what one writes the other reads (see docs/fhir.md).
Handlers and resource builders name a role (``LOINC_CODES["hgvsp"]``), never a code:
a new code goes here.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "ATC",
    "GRCH38_ACCESSIONS",
    "HGNC",
    "HGNC_SYMBOLS",
    "HGVS",
    "IG",
    "LOINC",
    "LOINC_ANSWERS",
    "LOINC_CODES",
    "MHD",
    "MOLECULAR_CONSEQUENCE",
    "ONCOTREE",
    "PATIENT_KEY_SYSTEM",
    "PO_CODES",
    "PROFILE_FRAGMENTS",
    "SNOMED",
    "SNOMED_VALUES",
    "TBD",
    "TUMOUR_MARKERS",
    "UCUM",
    "Code",
]

# --- code systems -------------------------------------------------------------------------
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
HGNC = "http://www.genenames.org/geneId"
HGVS = "http://varnomen.hgvs.org"
ATC = "http://www.whocc.no/atc"
ONCOTREE = "http://oncotree.mskcc.org"
#: HL7 Genomics Reporting IG (STU3) canonical base and its "to be determined" code system.
IG = "http://hl7.org/fhir/uv/genomics-reporting"
TBD = f"{IG}/CodeSystem/tbd-codes-cs"
#: IHE ITI Mobile access to Health Documents (MHD 4.2) canonical base.
MHD = "https://profiles.ihe.net/ITI/MHD"
#: The project's own codes (model outputs that no public code system names).
PO_CODES = "urn:precision-onco:fhir:model-output"
#: The identifier system of pseudonymous patient keys (``pk_…``) this project writes; the
#: reader takes such a key for the patient instead of its resource id.
PATIENT_KEY_SYSTEM = "urn:precision-onco:patient-key"


class Code(NamedTuple):
    """A code of a code system and its display (the code system's English name)."""

    code: str
    display: str


#: Every LOINC code read or written, by role (Genomics Reporting IG and mCODE observations
#: and components, report types).
LOINC_CODES: dict[str, Code] = {
    # observations
    "genetic_variant": Code("69548-6", "Genetic variant assessment"),
    "region_studied": Code("53041-0", "DNA region of interest panel"),
    "ecog": Code("89247-1", "ECOG performance status score"),
    "stage_group": Code("21908-9", "Stage group.clinical Cancer"),
    "genotype": Code("84413-4", "Genotype display name"),
    # variant components
    "gene_studied": Code("48018-6", "Gene studied [ID]"),
    "genomic_source_class": Code("48002-0", "Genomic source class [Type]"),
    "hgvsp": Code("48005-3", "Amino acid change (pHGVS)"),
    "hgvsg": Code("81290-9", "Genomic DNA change (gHGVS)"),
    "hgvsc": Code("48004-6", "DNA change (c.HGVS)"),
    "chromosome": Code("48000-4", "Chromosome [Identifier] Blood or Tissue Specimen"),
    "allele_start_end": Code("81254-5", "Genomic allele start-end"),
    "ref_allele": Code("69547-8", "Genomic ref allele [ID]"),
    "alt_allele": Code("69551-0", "Genomic alt allele [ID]"),
    "allele_frequency": Code("81258-6", "Sample variant allelic frequency [NFr]"),
    "depth": Code("82121-5", "Allelic read depth"),
    # therapeutic-implication and genotype components
    "medication_assessed": Code("51963-7", "Medication assessed [Identifier]"),
    "evidence_level": Code("93044-6", "Level of evidence"),
    "drug_metabolism_effect": Code("53040-2", "Genetic variation's effect on drug metabolism"),
    # tumour markers (the codes written; TUMOUR_MARKERS lists every code read)
    "tmb": Code("94076-7", "Mutations/Megabase [# Ratio] in Tumor"),
    "msi": Code(
        "81695-9", "Microsatellite instability [Interpretation] in Cancer specimen Qualitative"
    ),
    "pdl1_tps": Code("85147-7", "PD-L1 by clone 22C3 [Interpretation] in Tissue"),
    "her2": Code("48676-1", "HER2 [Interpretation] in Tissue"),
    # reports
    "genetic_report": Code("51969-4", "Genetic analysis report"),
    "laboratory_report": Code("11502-2", "Laboratory report"),
}

#: LOINC answer codes written as observation values, by value.
LOINC_ANSWERS: dict[str, Code] = {
    "MSI-H": Code("LA26202-4", "MSI-H"),
    "MSI-L": Code("LA26203-2", "MSI-L"),
    "MSS": Code("LA14122-8", "Stable"),
    "somatic": Code("LA6684-0", "Somatic"),
    "present": Code("LA9633-4", "Present"),
}

#: Tumour-marker LOINC codes the reader accepts -> patients column.
TUMOUR_MARKERS: dict[str, str] = {
    "40556-3": "er_status",
    "16112-5": "er_status",
    "85337-4": "er_status",
    "40557-1": "pr_status",
    "16113-3": "pr_status",
    "85339-0": "pr_status",
    "18474-7": "her2_status",
    LOINC_CODES["her2"].code: "her2_status",
    "85319-2": "her2_status",
    "85318-4": "her2_status",
    "62862-8": "msi_status",
    LOINC_CODES["msi"].code: "msi_status",
    "94077-5": "tmb_status",
    LOINC_CODES["tmb"].code: "tmb",
    LOINC_CODES["pdl1_tps"].code: "pdl1_tps",
    "83052-1": "pdl1_tps",
}

#: SNOMED CT qualifier-value codes of coded results, by the word the patients table holds.
SNOMED_VALUES: dict[str, str] = {
    "positive": "10828004",
    "negative": "260385009",
    "low": "62482003",
    "high": "75540009",
    "intermediate": "371879000",
    "present": "52101004",
    "absent": "2667000",
}

#: The Genomics Reporting ``tbd-codes-cs`` code of a variant's molecular consequence.
MOLECULAR_CONSEQUENCE = "molecular-consequence"

#: Profile-name fragments (mCODE / Genomics Reporting ``meta.profile``) the reader
#: recognises, by role.
PROFILE_FRAGMENTS: dict[str, str] = {
    "primary_cancer": "primary-cancer-condition",
    "secondary_cancer": "secondary-cancer-condition",
    "genetic_variant": "genetic-variant",
    "region_studied": "region-studied",
    "ecog": "ecog",
    "stage_group": "stage-group",
}

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

#: RefSeq accessions of the GRCh38 primary assembly chromosomes (NCBI GRCh38.p14).
GRCH38_ACCESSIONS: dict[str, str] = {
    "1": "NC_000001.11",
    "2": "NC_000002.12",
    "3": "NC_000003.12",
    "4": "NC_000004.12",
    "5": "NC_000005.10",
    "6": "NC_000006.12",
    "7": "NC_000007.14",
    "8": "NC_000008.11",
    "9": "NC_000009.12",
    "10": "NC_000010.11",
    "11": "NC_000011.10",
    "12": "NC_000012.12",
    "13": "NC_000013.11",
    "14": "NC_000014.9",
    "15": "NC_000015.10",
    "16": "NC_000016.10",
    "17": "NC_000017.11",
    "18": "NC_000018.10",
    "19": "NC_000019.10",
    "20": "NC_000020.11",
    "21": "NC_000021.9",
    "22": "NC_000022.11",
    "X": "NC_000023.11",
    "Y": "NC_000024.10",
}
