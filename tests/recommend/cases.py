"""Test helper: one patient of the cohort tables as the case a served payload gives."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from precision_onco.ingest.coverage import parse_genes
from precision_onco.recommend.patient import PatientCase


def case_from_tables(tables: Any, patient_key: str, line: int) -> PatientCase:
    """One patient of the cohort tables as a case, lines up to ``line``."""

    def clean(d: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for k, v in d.items():
            if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
                continue
            if isinstance(v, pd.Timestamp):
                v = v.date()
            out[k] = v.item() if isinstance(v, np.generic) else v
        return out

    p = tables.patients[tables.patients["patient_key"] == patient_key].iloc[0].to_dict()
    lines = tables.lines[
        (tables.lines["patient_key"] == patient_key) & (tables.lines["line_number"] <= line)
    ]
    variants = tables.variants[tables.variants["patient_key"] == patient_key]
    covered = sorted(parse_genes(p.pop("genes_tested", None)))  # the assay's genes
    return PatientCase(
        genes_tested=covered or None,
        patient=clean(p),
        line_number=line,
        lines=[clean(r) for r in lines.drop(columns=["patient_key"]).to_dict("records")],
        variants=[clean(v) for v in variants.drop(columns=["patient_key"]).to_dict("records")],
    )
