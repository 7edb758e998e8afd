"""Patient reports written by partitions of patients (the ``report`` stage on Dask).

Each patient's report depends on that patient's rows only, so the answers are cut into
contiguous partitions (in their own order) and each partition's reports are written by
a worker; the files are the ones :func:`write_patient_reports` writes in one process.
PDF printing is mapped the same way: each task prints its files with its own headless
Chromium, one at a time. Workers write to ``out_dir``, so on a real cluster it must be
on a file system the driver and the workers share.

:func:`write_reports_from_files` is the stage's form on Dask: the driver reads only the
recommended patients' keys; their rows of the recommendations and of the tables are
gathered by ranges of patients (:func:`~precision_onco.compute.gather`), and each
range's task builds its answers and writes its reports.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from precision_onco.compute import LOCAL, Compute, Gathered, KeyRanges, gather, split_even
from precision_onco.config.schema import CatalogConfig
from precision_onco.report.batch import answers_from_tables, write_patient_reports
from precision_onco.report.pdf import html_to_pdf

__all__ = ["ReportFiles", "print_pdfs", "write_reports", "write_reports_from_files"]


@dataclass(frozen=True)
class _Context:
    catalog: CatalogConfig
    genes: list[str] | None
    langs: list[str]
    out_dir: Path
    efficacy: str | None
    any_severe_ae: str | None


def _list(genes: Collection[str] | None) -> list[str] | None:
    return None if genes is None else list(genes)


def _of(frame: pd.DataFrame, keys: set[str]) -> pd.DataFrame:
    return frame[frame["patient_key"].isin(keys)] if "patient_key" in frame.columns else frame


def _write(
    part: tuple[dict[tuple[str, int], Any], dict[str, pd.DataFrame]], ctx: _Context
) -> list[Path]:
    answers, tables = part
    return write_patient_reports(
        answers,
        **tables,
        catalog=ctx.catalog,
        genes=ctx.genes,
        langs=ctx.langs,
        out_dir=ctx.out_dir,
        efficacy=ctx.efficacy,
        any_severe_ae=ctx.any_severe_ae,
    )


def write_reports(
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
    compute: Compute | None = None,
    efficacy: str | None,
    any_severe_ae: str | None,
) -> list[Path]:
    """:func:`~precision_onco.report.batch.write_patient_reports`, by partitions of patients
    on a distributed ``compute`` (one call here otherwise); the files in the same order."""
    comp = compute or LOCAL
    tables = {"features": features, "patients": patients, "lines": lines, "variants": variants}
    if not comp.distributed or not answers:
        return write_patient_reports(
            answers,
            **tables,
            catalog=catalog,
            genes=genes,
            langs=langs,
            out_dir=out_dir,
            efficacy=efficacy,
            any_severe_ae=any_severe_ae,
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    items = list(answers.items())
    parts = []
    for sl in split_even(len(items), comp.partitions(len(items))):
        chunk = dict(items[sl])
        keys = {pk for pk, _ in chunk}
        parts.append((chunk, {k: _of(v, keys) for k, v in tables.items()}))
    ctx = _Context(catalog, _list(genes), list(langs), out_dir, efficacy, any_severe_ae)
    return [f for files in comp.map(_write, parts, ctx) for f in files]


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_reports_from_files` reads: the recommender's ranked and excluded
    rows and the tables (each one Parquet file, or the directory of a partitioned one)."""

    ranked: Path
    excluded: Path
    features: Path
    patients: Path
    lines: Path
    variants: Path


def _write_range(
    part: int, gathered: Gathered, provenance: Mapping[str, Any], ctx: _Context
) -> list[Path]:
    tables = gathered.tables(part)
    answers = answers_from_tables(tables.pop("ranked"), tables.pop("excluded"), provenance)
    written = _write((answers, tables), ctx)
    gathered.free(part)
    return written


def write_reports_from_files(
    files: ReportFiles,
    provenance: Mapping[str, Any],
    *,
    catalog: CatalogConfig,
    genes: Collection[str] | None,
    langs: Sequence[str],
    out_dir: Path,
    spill: Path,
    compute: Compute,
    efficacy: str | None,
    any_severe_ae: str | None,
    max_patients: int | None = None,
    partition_patients: int | None = None,
) -> list[Path]:
    """The reports :func:`write_reports` writes for the answers of ``files``' ranked and
    excluded rows (:func:`~precision_onco.report.batch.answers_from_tables`, the first
    ``max_patients`` patients in key order when given), the files in the same order, by
    ranges of at most ``partition_patients`` patients on ``compute``: neither the tables
    nor the answers are held here. ``spill``: a scratch directory (removed at the end)."""
    import shutil

    keys = pd.read_parquet(files.ranked, columns=["patient_key"])["patient_key"]
    wanted = sorted(keys.astype(str).unique())
    if max_patients is not None:
        wanted = wanted[:max_patients]
    if not wanted:
        return []
    ranges = KeyRanges.cut(pd.Series(wanted), compute, partition_patients)
    ctx = _Context(catalog, _list(genes), list(langs), out_dir, efficacy, any_severe_ae)
    out_dir.mkdir(parents=True, exist_ok=True)
    if spill.exists():
        shutil.rmtree(spill)
    tables = {
        "ranked": files.ranked,
        "excluded": files.excluded,
        "features": files.features,
        "patients": files.patients,
        "lines": files.lines,
        "variants": files.variants,
    }
    try:
        gathered = gather(tables, ranges, spill, compute)
        done = compute.map(_write_range, list(range(len(ranges))), gathered, provenance, ctx)
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    return [f for part in done for f in part]


def _print(files: list[Path], chromium: str) -> list[Path]:
    return [html_to_pdf(f, f.with_suffix(".pdf"), chromium=chromium) for f in files]


def print_pdfs(
    files: Sequence[Path], *, chromium: str, compute: Compute | None = None
) -> list[Path]:
    """Print every HTML file to a PDF beside it; by partitions on a distributed ``compute``."""
    comp = compute or LOCAL
    parts = [list(files[sl]) for sl in split_even(len(files), comp.partitions(len(files)))]
    return [p for done in comp.map(_print, [p for p in parts if p], chromium) for p in done]
