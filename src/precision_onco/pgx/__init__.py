"""Germline pharmacogenomics and dose guidance (DPYD, UGT1A1, uracilemia).

:func:`pgx_from_vcf` reads the defining positions from a germline VCF, calls
DPYD (CPIC activity score) and UGT1A1 (DPWG diplotype), reads uracilemia
against the INCa/HAS 2018 thresholds, and gives each drug's action and
starting-dose percent with its source. Allele definitions and rules are data:
``pgx/data/pgx_definitions.yaml``. See docs/pgx.md.
"""

from precision_onco.pgx.call import GeneCall, call_genes
from precision_onco.pgx.definitions import Definitions, DefinitionsError, load_definitions
from precision_onco.pgx.genotype import GermlineReading, PgxInputError, read_germline
from precision_onco.pgx.guidance import DrugGuidance, drug_guidance, interpret_uracil
from precision_onco.pgx.result import PgxResult, format_text, pgx_from_vcf

__all__ = [
    "Definitions",
    "DefinitionsError",
    "DrugGuidance",
    "GeneCall",
    "GermlineReading",
    "PgxInputError",
    "PgxResult",
    "call_genes",
    "drug_guidance",
    "format_text",
    "interpret_uracil",
    "load_definitions",
    "pgx_from_vcf",
    "read_germline",
]
