"""Patient reports for the cohort's recommendations: one HTML file per patient and language."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from precision_onco.config.schema import CatalogConfig
from precision_onco.report.patient import patient_context, render_patient

__all__ = ["answers_from_tables", "write_patient_reports"]

KEYS = ["patient_key", "line_number"]


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return df.astype(object).where(df.notna(), None).to_dict(orient="records")


Answers = dict[tuple[str, int], dict[str, Any]]


def answers_from_tables(
    ranked: pd.DataFrame, excluded: pd.DataFrame, provenance: Mapping[str, Any]
) -> Answers:
    """The last recommended line of each patient, as the recommender's answer layout."""
    last = ranked.groupby("patient_key")["line_number"].max()
    keep = ranked[ranked["line_number"].to_numpy() == ranked["patient_key"].map(last).to_numpy()]
    ex = excluded.merge(last.rename("line_number").reset_index(), on=KEYS)
    # one conversion to records, then grouped in Python (a frame per patient is slow)
    ex_by: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in _records(ex):
        ex_by.setdefault((str(r["patient_key"]), int(r["line_number"])), []).append(r)
    out: Answers = {}
    for r in _records(keep.sort_values([*KEYS, "rank"], kind="stable")):
        for col in ("drivers", "evidence"):
            r[col] = json.loads(r[col]) if r.get(col) else {}
        key = (str(r["patient_key"]), int(r["line_number"]))
        if key not in out:
            out[key] = {
                "patient_key": key[0],
                "line_number": key[1],
                "status": "ranked",
                "message": "",
                "preset": r.get("preset"),
                "ranked": [],
                "excluded": ex_by.get(key, []),
                "provenance": dict(provenance),
            }
        out[key]["ranked"].append(r)
    return out


def write_patient_reports(
    answers: Mapping[tuple[str, int], Mapping[str, Any]],
    *,
    features: pd.DataFrame,
    patients: pd.DataFrame,
    lines: pd.DataFrame,
    variants: pd.DataFrame,
    catalog: CatalogConfig,
    genes: Collection[str] | None,
    langs: Sequence[str],
    out_dir: Path,
    efficacy: str | None,
    any_severe_ae: str | None,
) -> list[Path]:
    """Write ``<out_dir>/<patient_key>.<lang>.html`` for every answer; returns the files.
    ``efficacy`` / ``any_severe_ae``: as in :func:`~precision_onco.report.patient.
    patient_context`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = {pk for pk, _ in answers}
    feats = {
        (pk, int(n)): r
        for pk, n, r in zip(
            features["patient_key"], features["line_number"], _records(features), strict=True
        )
        if pk in wanted
    }
    pats = {r["patient_key"]: r for r in _records(patients[patients["patient_key"].isin(wanted)])}
    lns: dict[str, list[dict[str, Any]]] = {}
    for r in _records(lines[lines["patient_key"].isin(wanted)]):
        lns.setdefault(r["patient_key"], []).append(r)
    vts: dict[str, list[dict[str, Any]]] = {}
    cols = [c for c in ("patient_key", "gene", "hgvsp", "vaf", "depth") if c in variants.columns]
    for r in _records(variants.loc[variants["patient_key"].isin(wanted), cols]):
        vts.setdefault(r["patient_key"], []).append(r)
    written = []
    for (pk, n), answer in answers.items():
        state = feats.get((pk, n), {})
        # pharmacogenomics (issue 17): the line's uracilemia, which is not a model feature
        current = next((r for r in lns.get(pk, []) if r["line_number"] == n), {})
        if current.get("uracil_ng_ml") is not None:
            state = {**state, "uracil_ng_ml": current["uracil_ng_ml"]}
        ctx = patient_context(
            answer,
            patient=pats.get(pk, {}),
            line_state=state,
            prior_lines=[r for r in lns.get(pk, []) if r["line_number"] < n],
            variants=vts.get(pk, []),
            catalog=catalog,
            genes=genes,
            efficacy=efficacy,
            any_severe_ae=any_severe_ae,
        )
        for lang in langs:
            path = out_dir / f"{pk}.{lang}.html"
            path.write_text(render_patient(ctx, lang, catalog), encoding="utf-8")
            written.append(path)
    return written
