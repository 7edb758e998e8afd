"""FHIR R4 out: a patient's recommendation as a Genomics Reporting bundle and an IHE MHD
document submission (see docs/fhir.md)."""

from precision_onco.report.fhir_out.bundle import (
    FhirBundleError,
    ReportDocuments,
    load_identifier_map,
    mhd_submission,
    recommendation_bundle,
    validate_bundle,
    write_fhir_files,
)

__all__ = [
    "FhirBundleError",
    "ReportDocuments",
    "load_identifier_map",
    "mhd_submission",
    "recommendation_bundle",
    "validate_bundle",
    "write_fhir_files",
]
