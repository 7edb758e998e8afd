"""Germline pharmacogenomic calls per patient, from the cohort's germline VCFs (issue 17).

``cohort.inputs.germline`` names where each patient's germline genotypes are: the normal
column of the tumour/normal VCFs (``source: normal_column``; the column named by
``##normal_sample=``) or one germline VCF per patient (``source: files``). Every file is
called with :mod:`precision_onco.pgx` (DPYD activity score, UGT1A1 diplotype; a position
absent from the file is "not tested" unless ``covered`` is declared) and its germline
sample linked to a patient through the patients-table ``sample_column``, else the cohort's
sample map. The result is one row per patient with the PGx columns the eligibility, the
dose guidance and the models read (:data:`GERMLINE_COLUMNS`).

Accounting: one report for all the files (kind ``germline``), one record per file: called,
or rejected with the reason (an unreadable file, several samples and no normal named, a
sample linked to no patient, a second file for a patient already called).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from precision_onco.compute import LOCAL, Compute, split_even
from precision_onco.config.schema import GermlineInputConfig
from precision_onco.ingest.contracts import FileReport, ReadResult, Rejects
from precision_onco.pgx import PgxInputError, call_genes, load_definitions, read_germline

__all__ = ["GERMLINE_COLUMNS", "read_germline_calls"]

log = logging.getLogger(__name__)

#: Patients-table columns written from the germline calls.
GERMLINE_COLUMNS: dict[str, str] = {
    "patient_id": "string",
    "dpyd_activity_score": "float64",
    "dpyd_activity_score_max": "float64",
    "dpyd_diplotype": "string",
    "dpyd_phenotype": "string",
    "ugt1a1_diplotype": "string",
    "ugt1a1_phenotype": "string",
}


#: The call columns of :data:`GERMLINE_COLUMNS`, in the order of a call's values.
_CALL_COLUMNS = tuple(c for c in GERMLINE_COLUMNS if c != "patient_id")

#: One file's call (sample, values of :data:`_CALL_COLUMNS`, warnings), or why it could not
#: be called.
_Call = tuple[str, tuple[object, ...], tuple[str, ...]] | str


def _row(
    path: Path, cfg: GermlineInputConfig, shared: dict[object, object] | None = None
) -> tuple[str, tuple[object, ...], tuple[str, ...]]:
    """One file's call. Equal values (a cohort's few diplotypes, phenotypes and scores)
    are one object in ``shared``: a batch's calls pickle each once, and the driver, which
    holds every file's call until they are linked, holds them once."""
    defs = load_definitions()
    reading = read_germline(path, definitions=defs, covered=cfg.covered)
    genes = call_genes(reading, defs)
    d, u = genes["DPYD"], genes["UGT1A1"]
    values: tuple[object, ...] = (
        d.activity_score,
        d.activity_score_max,
        d.diplotype,
        d.phenotype,
        u.diplotype,
        u.phenotype,
    )
    if shared is not None:  # keyed by type too: 1 and 1.0 (and True) stay apart
        values = tuple(shared.setdefault((type(v), v), v) for v in values)
    return reading.sample, values, tuple(reading.warnings)


def _call_batch(paths: Sequence[Path], cfg: GermlineInputConfig) -> list[_Call]:
    """Each file's call (sample, values, warnings), or why it could not be called."""
    out: list[_Call] = []
    shared: dict[object, object] = {}
    for path in paths:
        try:
            out.append(_row(path, cfg, shared))
        except PgxInputError as exc:
            out.append(str(exc))
    return out


def _called(files: list[Path], cfg: GermlineInputConfig, compute: Compute) -> list[_Call]:
    """Each file's call, in file order, the files called in batches of consecutive files."""
    batches = [files[s] for s in split_even(len(files), compute.partitions(len(files)))]
    return [c for b in compute.map(_call_batch, batches, cfg) for c in b]


def _linked_rows(
    files: list[Path], called: list[_Call], link: Callable[[str], str | None], *, label: str
) -> tuple[dict[str, tuple[object, ...]], dict[str, int], Rejects]:
    """The first call of each patient (raw id -> columns), the count of files per warning,
    and the rejected files."""
    rejects = Rejects(label)
    rows: dict[str, tuple[object, ...]] = {}
    warnings: dict[str, int] = {}
    for n, (path, call) in enumerate(zip(files, called, strict=True), start=1):
        if isinstance(call, str):
            rejects.add(n, "germline file not called", str(path), detail=call)
            continue
        sample, row, warn = call
        for w in warn:
            warnings[w] = warnings.get(w, 0) + 1
        pid = link(sample)
        if pid is None:
            why = (
                f"sample {sample!r} is linked to no patient (set "
                "cohort.inputs.germline.sample_column or cohort.inputs.samples)"
            )
            rejects.add(n, "germline sample of no patient", str(path), detail=why)
            continue
        if pid in rows:
            rejects.add(
                n,
                "second germline file for a patient",
                str(path),
                detail=f"sample {sample!r}: the patient was already called from an earlier file",
            )
            continue
        rows[pid] = row
    return rows, warnings, rejects


def _germline_report(
    frame: pd.DataFrame,
    cfg: GermlineInputConfig,
    *,
    label: str,
    n_files: int,
    warnings: dict[str, int],
) -> FileReport:
    """The report of the germline files: warnings with their file counts, phenotype counts."""
    report = FileReport(
        file=label,
        kind="germline",
        extra={"source": cfg.source, "files": n_files, "declared_covered": cfg.covered},
    )
    report.warnings = [f"{k} ({v} files)" for k, v in sorted(warnings.items())]
    if len(frame):
        calls = frame["dpyd_phenotype"].value_counts().to_dict()
        report.extra["dpyd_phenotypes"] = {str(k): int(v) for k, v in calls.items()}
        ugt = frame["ugt1a1_phenotype"].value_counts().to_dict()
        report.extra["ugt1a1_phenotypes"] = {str(k): int(v) for k, v in ugt.items()}
    return report


def read_germline_calls(
    files: list[Path],
    cfg: GermlineInputConfig,
    link: Callable[[str], str | None],
    *,
    label: str,
    compute: Compute | None = None,
) -> ReadResult:
    """Call every germline file and return one row per patient (raw ``patient_id``).

    Parameters
    ----------
    files : list of Path
        The germline VCFs (or tumour/normal VCFs, their normal column).
    cfg : GermlineInputConfig
        ``cohort.inputs.germline``.
    link : callable
        Germline sample name -> raw patient id (``None``: no patient).
    label : str
        The report's file name (the configured pattern).
    compute : Compute, optional
        With a distributed one, the files are called by its workers in batches of
        consecutive files; linking and accounting stay here, in file order.

    Returns
    -------
    ReadResult
        ``frame`` with :data:`GERMLINE_COLUMNS`; one record per file in the report.
    """
    called = _called(files, cfg, compute or LOCAL)
    rows, warnings, rejects = _linked_rows(files, called, link, label=label)
    values = list(zip(*rows.values(), strict=True)) or [()] * len(_CALL_COLUMNS)
    frame = pd.DataFrame(
        {"patient_id": list(rows), **dict(zip(_CALL_COLUMNS, map(list, values), strict=True))},
        columns=list(GERMLINE_COLUMNS),
    ).astype(GERMLINE_COLUMNS)
    del values
    report = _germline_report(frame, cfg, label=label, n_files=len(files), warnings=warnings)
    log.info("germline: %d of %d files called", len(frame), len(files))
    return ReadResult.build(frame, rejects, report, records_read=len(files))


def merge_germline(patients: pd.DataFrame, calls: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``patients`` with the germline call columns; a value the patients table already gives
    is kept (with a warning when the call disagrees). Returns the table and the warnings."""
    if not len(calls):
        return patients, []
    warnings: list[str] = []
    cols = [c for c in GERMLINE_COLUMNS if c != "patient_id"]
    out = patients.merge(calls, on="patient_id", how="left", suffixes=("", "__germline"))
    for c in cols:
        g = f"{c}__germline"
        if g not in out.columns:
            continue
        given = out[c].notna()
        both = given & out[g].notna()
        differ = both & (out[c].astype("string") != out[g].astype("string"))
        if differ.any():
            warnings.append(
                f"{int(differ.sum())} patients: the patients table's {c} differs from "
                "the germline call; the table's value is kept"
            )
        out[c] = out[c].where(given, out[g]).astype(GERMLINE_COLUMNS[c])
        out = out.drop(columns=g)
    missing = ~out["patient_id"].isin(set(calls["patient_id"]))
    if missing.any():
        warnings.append(
            f"{int(missing.sum())} patients have no germline genotype: DPYD and "
            "UGT1A1 are not tested for them"
        )
    return out, warnings
