"""Code systems, profiles and codes written into the FHIR bundles (see docs/fhir.md)."""

from __future__ import annotations

__all__ = [
    "ATC",
    "GRCH38_ACCESSIONS",
    "HGNC",
    "HGVS",
    "IG",
    "LOINC",
    "MHD",
    "ONCOTREE",
    "PATIENT_KEY_SYSTEM",
    "PO_CODES",
    "SNOMED",
    "TBD",
    "UCUM",
]

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
#: The identifier system of pseudonymous patient keys (``pk_…``).
PATIENT_KEY_SYSTEM = "urn:precision-onco:patient-key"

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
