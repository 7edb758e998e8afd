"""Where bundles are produced: for one checked patient case (the CLI and the served model) and
for every answer of the cohort's recommendations (the ``report`` stage)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from precision_onco.config.schema import CatalogConfig, FhirValidate, choices_of
from precision_onco.errors import ConfigError
from precision_onco.report.fhir_out.bundle import (
    ReportDocuments,
    recommendation_bundle,
    write_fhir_files,
)

__all__ = ["VALIDATE", "case_bundle", "documents_of", "write_cohort_bundles"]

#: ``report.fhir_validate``: which bundles the fhir.resources models check.
VALIDATE = choices_of(FhirValidate)

log = logging.getLogger(__name__)


def documents_of(files: Sequence[Path | str]) -> ReportDocuments:
    """The rendered report files (``.html``, ``.pdf``) as attachable bytes."""
    docs = ReportDocuments()
    for f in map(Path, files):
        if f.suffix == ".html":
            docs.html = f.read_bytes()
        elif f.suffix == ".pdf":
            docs.pdf = f.read_bytes()
    return docs


def case_bundle(
    answer: Mapping[str, Any],
    case: Any,
    catalog: CatalogConfig,
    *,
    lang: str = "en",
    documents: ReportDocuments | None = None,
    identifiers: Mapping[str, Sequence[Mapping[str, str]]] | None = None,
    efficacy: str | None,
    any_severe_ae: str | None,
) -> dict[str, Any]:
    """The bundle of one :class:`~precision_onco.recommend.patient.PatientCase` and its answer:
    the patient's record, the current line's markers, the tumour's variants."""
    current: Mapping[str, Any] = next(
        (r for r in case.lines if r["line_number"] == case.line_number), {}
    )
    key = str(answer["patient_key"])
    return recommendation_bundle(
        answer,
        patient=case.patient,
        markers=current,
        variants=case.variants,
        catalog=catalog,
        lang=lang,
        documents=documents,
        identifiers=(identifiers or {}).get(key, ()),
        efficacy=efficacy,
        any_severe_ae=any_severe_ae,
    )


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return df.astype(object).where(df.notna(), None).to_dict(orient="records")


def write_cohort_bundles(
    answers: Mapping[tuple[str, int], Mapping[str, Any]],
    *,
    patients: pd.DataFrame,
    lines: pd.DataFrame,
    variants: pd.DataFrame,
    catalog: CatalogConfig,
    lang: str,
    out_dir: Path,
    reports: Mapping[str, Sequence[Path]] | None = None,
    identifiers: Mapping[str, Sequence[Mapping[str, str]]] | None = None,
    validate: str = "first",
    efficacy: str | None,
    any_severe_ae: str | None,
) -> list[Path]:
    """Write ``<out_dir>/<patient_key>.line<N>.fhir.json`` (and ``.mhd.json``) for every answer;
    ``reports``: the rendered report files of each patient key, attached to its bundle;
    ``validate``: ``all`` checks every bundle and submission with the fhir.resources models
    (about 30 ms a bundle), ``first`` the first with the models and the others with the rules
    (value sets, references; see :func:`validate_bundle`), ``none`` nothing (benchmarks);
    ``efficacy`` / ``any_severe_ae``: as in :func:`recommendation_bundle`."""
    if validate not in VALIDATE:
        raise ConfigError(
            f"report.fhir_validate: expected one of {', '.join(VALIDATE)}, got {validate!r}"
        )
    wanted = {pk for pk, _ in answers}
    pats = {r["patient_key"]: r for r in _records(patients[patients["patient_key"].isin(wanted)])}
    line_rows = {
        (r["patient_key"], int(r["line_number"])): r
        for r in _records(lines[lines["patient_key"].isin(wanted)])
    }
    vts = _passing_variants(variants, wanted)
    written: list[Path] = []
    for i, ((pk, n), answer) in enumerate(answers.items()):
        check = _check_level(validate, i)
        bundle = recommendation_bundle(
            answer,
            patient=pats.get(pk, {}),
            markers=line_rows.get((pk, n), {}),
            variants=vts.get(pk, []),
            catalog=catalog,
            lang=lang,
            documents=documents_of((reports or {}).get(pk, ())),
            identifiers=(identifiers or {}).get(pk, ()),
            check=check,
            efficacy=efficacy,
            any_severe_ae=any_severe_ae,
        )
        written += write_fhir_files(out_dir / f"{pk}.line{n}", bundle, check=check)
    return written


def _passing_variants(variants: pd.DataFrame, wanted: set[str]) -> dict[str, list[dict[str, Any]]]:
    """The variants of the ``wanted`` patients that pass the filters (or have none), by key."""
    cols = [
        c
        for c in ("patient_key", "gene", "hgvsp", "vaf", "depth", "chrom", "pos", "ref", "alt")
        + ("consequence", "filter")
        if c in variants.columns
    ]
    vts: dict[str, list[dict[str, Any]]] = {}
    for r in _records(variants.loc[variants["patient_key"].isin(wanted), cols]):
        if r.get("filter") in (None, "PASS"):
            vts.setdefault(r["patient_key"], []).append(r)
    return vts


def _check_level(validate: str, i: int) -> str:
    """The validation of the ``i``-th bundle under ``report.fhir_validate`` = ``validate``."""
    return "none" if validate == "none" else "models" if validate == "all" or i == 0 else "rules"
