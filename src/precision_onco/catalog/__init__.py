"""The therapy catalog: typed access to regimens, biomarker rules and eligibility."""

from __future__ import annotations

from precision_onco.catalog.biomarkers import biomarker_status, to_short_hgvsp
from precision_onco.catalog.catalog import Catalog
from precision_onco.catalog.eligibility import Eligibility, eligibility

__all__ = ["Catalog", "Eligibility", "biomarker_status", "eligibility", "to_short_hgvsp"]
