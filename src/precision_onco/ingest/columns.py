"""The canonical columns of the patients and therapy-lines tables, documented from the schema.

:func:`columns_markdown` renders the tables of ``docs/ingest.md`` (between the
``<!-- columns:begin -->`` and ``<!-- columns:end -->`` markers) from
:data:`~precision_onco.ingest.tables.PATIENT_FIELDS` and
:data:`~precision_onco.ingest.tables.LINE_FIELDS`, so the documentation cannot drift from
the checks: ``python -m precision_onco.ingest.columns docs/ingest.md`` rewrites it, and a
test fails when it is out of date.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path

from precision_onco.ingest.tables import LINE_FIELDS, PATIENT_FIELDS, Field

__all__ = ["MEANINGS", "columns_markdown", "update_doc"]

#: What each canonical column means (every checked column has an entry; a test checks it).
MEANINGS: dict[str, str] = {
    "patient_id": "the patient's identifier in the source (pseudonymized into `patient_key`, "
    "never written raw)",
    "sex": "sex recorded at birth",
    "birth_year": "year of birth",
    "age_at_diagnosis": "age at diagnosis",
    "diagnosis_date": "date of diagnosis",
    "cancer_type": "cancer type as an OncoTree code (checked against `cohort.oncotree_codes` "
    "when set); the catalog's regimens are indicated by it",
    "oncotree_code": "the detailed OncoTree code (histology, e.g. LUAD), for catalog histology "
    "rules",
    "stage": "stage at diagnosis or at the line (0, I–IV, with sub-stages)",
    "smoking_status": "smoking history",
    "ecog": "ECOG performance status",
    "bmi": "body-mass index",
    "autoimmune_disease": "active autoimmune disease (contraindicates immunotherapy)",
    "diabetes": "uncontrolled diabetes mellitus",
    "ild_history": "history of interstitial lung disease",
    "dpyd_activity_score": "DPYD activity score (CPIC), from germline genotyping",
    "dpyd_activity_score_max": "upper bound of the DPYD activity score when positions were not "
    "tested",
    "dpyd_diplotype": "DPYD alleles found",
    "ugt1a1_phenotype": "UGT1A1 metaboliser phenotype (DPWG)",
    "ugt1a1_diplotype": "UGT1A1 diplotype",
    "assay_panel": "the sequencing panel the tumour was tested with, a key of "
    "`cohort.inputs.coverage.panels` (its genes count as tested)",
    "genes_tested": "genes the assay covered, HGNC symbols separated by ';' (ingest adds the "
    "configured coverage and the genes with a call); a gene absent from it is untested, "
    "never wild type",
    "line_number": "therapy line (1 = first line for advanced disease)",
    "regimen_id": "the regimen given, as a catalog regimen id (after `values` mapping)",
    "start_date": "date the line started (features use only what is known by then)",
    "end_date": "date the line ended (an outcome: never an input)",
    "age_at_line": "age when the line started",
    "albumin": "serum albumin at line start",
    "nlr": "neutrophil-to-lymphocyte ratio at line start",
    "hemoglobin": "hemoglobin at line start",
    "platelets": "platelet count at line start",
    "creatinine_clearance": "creatinine clearance at line start",
    "alt": "alanine aminotransferase at line start",
    "bilirubin": "total bilirubin at line start",
    "ldh": "lactate dehydrogenase at line start",
    "pdl1_tps": "PD-L1 tumour proportion score",
    "tmb": "tumour mutational burden measured by the lab (wins over the count from the calls)",
    "uracil_ng_ml": "plasma uracil (uracilemia) before a fluoropyrimidine",
    "relative_dose": "starting dose of the line's regimen relative to its standard dose (1 = "
    "full dose); the toxicity models take it as an input",
    "msi_status": "microsatellite status",
    "best_response": "RECIST 1.1 best overall response of the line (an outcome)",
    "objective_response": "objective response, CR/PR = 1, SD/PD = 0 (derived from "
    "`best_response` when absent; an outcome)",
    "ae_any_max_grade": "highest CTCAE v5 grade of any adverse event during the line (an "
    "outcome); `ae_<category>_max_grade` per toxicity category of the catalog",
    "discontinued_for_toxicity": "line stopped for toxicity (an outcome)",
    "prior_chemotherapy": "chemotherapy before this line, when the table gives it (else counted "
    "from the earlier lines)",
}


def _kind(f: Field) -> str:
    return {
        "int": "integer",
        "float": "number",
        "date": "date",
        "bool": "yes/no (1/0)",
        "code": "code",
        "str": "text",
    }.get(f.kind, f.kind)


def _table(fields: Mapping[str, Field], required: tuple[str, ...]) -> list[str]:
    rows = ["| column | type | unit | accepted values | meaning |", "|---|---|---|---|---|"]
    for name, f in fields.items():
        accepted = f.expectation() if (f.codes or f.lo is not None or f.hi is not None) else ""
        if f.unit and accepted.endswith(f" {f.unit}"):
            accepted = accepted[: -len(f.unit) - 1]
        req = " (required)" if name in required else ""
        meaning = MEANINGS.get(name, "")
        rows.append(f"| `{name}`{req} | {_kind(f)} | {f.unit} | {accepted} | {meaning} |")
    return rows


def columns_markdown() -> str:
    """The two tables of canonical columns as Markdown."""
    from precision_onco.ingest.tables import LINE_REQUIRED, PATIENT_REQUIRED

    out = [
        "### Patients table",
        "",
        *_table(PATIENT_FIELDS, PATIENT_REQUIRED),
        "",
        "### Therapy-lines table",
        "",
        *_table(LINE_FIELDS, LINE_REQUIRED),
        "",
    ]
    return "\n".join(out)


_MARKERS = re.compile(r"(<!-- columns:begin -->\n).*?(<!-- columns:end -->)", re.DOTALL)


def update_doc(path: Path) -> bool:
    """Rewrite the generated part of ``path``; True when it changed."""
    text = path.read_text(encoding="utf-8")
    if not _MARKERS.search(text):
        raise ValueError(f"{path}: no '<!-- columns:begin -->' / '<!-- columns:end -->' markers")
    new = _MARKERS.sub(lambda m: m.group(1) + columns_markdown() + m.group(2), text)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    for arg in sys.argv[1:] or ["docs/ingest.md"]:
        print(f"{arg}: {'updated' if update_doc(Path(arg)) else 'up to date'}")
