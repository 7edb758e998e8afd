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


_OUTCOMES = ("regimen_id", "end_date", "best_response", "objective_response")


def _json_value(v: Any) -> Any:
    """A table cell as a JSON payload value: None for missing, dates as ISO text."""
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    return v.item() if isinstance(v, np.generic) else v


def served_payload(
    tables: Any, patient_key: str, line: int, extra_inputs: tuple[str, ...] = ()
) -> dict[str, Any]:
    """One patient of the cohort tables as a client would send them to the server: only the
    payload's fields, the current line without its outcomes, and the recommender's
    ``features.extra`` inputs in the current line's entry (``null`` when unknown)."""
    from precision_onco.ingest.tables import LINE_FIELDS
    from precision_onco.recommend.patient import PATIENT_PAYLOAD_FIELDS

    row = tables.patients[tables.patients["patient_key"] == patient_key].iloc[0]
    patient = {
        k: _json_value(row[k])
        for k in PATIENT_PAYLOAD_FIELDS
        if k in row.index and _json_value(row[k]) is not None
    }
    patient["patient_key"] = patient_key
    mine = tables.lines[
        (tables.lines["patient_key"] == patient_key) & (tables.lines["line_number"] <= line)
    ]
    lines = []
    for r in mine.to_dict("records"):
        entry = {
            k: _json_value(v)
            for k, v in r.items()
            if (k in LINE_FIELDS and k != "patient_id")
            or (str(k).startswith("ae_") and str(k).endswith("_max_grade"))
        }
        entry = {k: v for k, v in entry.items() if v is not None}
        if r["line_number"] == line:
            entry = {k: v for k, v in entry.items() if k not in _OUTCOMES}
            entry |= {c: _json_value(r.get(c)) for c in extra_inputs}
        lines.append(entry)
    variants = tables.variants[tables.variants["patient_key"] == patient_key]
    payload: dict[str, Any] = {
        "patient": patient,
        "line_number": line,
        "lines": lines,
        "variants": [
            {k: _json_value(v[k]) for k in ("gene", "hgvsp", "consequence", "vaf", "depth")}
            for v in variants.to_dict("records")
        ],
    }
    covered = sorted(parse_genes(row.get("genes_tested")))
    if covered:
        payload["genes_tested"] = covered
    return payload
