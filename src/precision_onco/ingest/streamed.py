"""Ingest on a Dask cluster without holding the variant table in the driver (issue 19).

:func:`ingest_cohort` gathers every variant row in the calling process before it links,
pseudonymizes, redacts and writes them: memory that grows with the cohort. Under
``compute=dask`` the ``ingest`` stage calls :func:`ingest_cohort_partitioned` instead,
which gives the same tables (row for row, as :func:`precision_onco.compute.read_table`
reads them back) in three rounds of tasks:

1. **read** -- a task per batch of VCF files (at most ``compute.partition_patients``
   files) and per MAF file reads it (the readers of ``compute=local``), links samples
   to raw patient ids (the same sample map and regex) and spills its rows to a Parquet
   file and its rejects; it returns only its file reports, counts and the distinct
   identifiers it saw (source file, sample, patient: a few per file) and the patients'
   called genes.
2. **key** -- the driver pseudonymizes and builds the redaction map exactly as
   :func:`ingest_cohort` does, from those identifiers; a task per spilled batch then
   replaces its identifiers (the batch's slice of the maps), checks that no raw
   identifier is left (the driver's leak check, on the worker), gives each row its
   position in the whole table and its patient partition, and writes one piece per
   partition; it redacts and checks the batch's rejects the same way.
3. **merge** -- a task per partition concatenates its pieces in batch order into
   ``part-NNNNN.parquet``; the driver writes ``rejects.parquet`` batch by batch.

The driver holds the patients and lines tables, the reports, the
identifier maps (a few entries per patient) and, with ``coverage.called_genes``, the
distinct (patient, gene) calls; never the variant rows. The pseudonymization key stays
on the driver: workers get maps of the identifiers they hold.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from precision_onco.catalog.biomarkers import to_short_hgvsp
from precision_onco.compute import (
    ROW_INDEX,
    Compute,
    n_partitions,
    partition_files,
    partition_of,
)
from precision_onco.config import Config
from precision_onco.config.outputs import Outputs
from precision_onco.config.schema import CohortInputsConfig
from precision_onco.ingest.cohort import (
    CohortTables,
    Redactor,
    _assert_no_leak,
    _concat,
    _keyed,
    _link,
    _map_unique,
    _read_germline,
    _read_tables,
    _redacted_name,
    _sample_map,
    _split_warning,
    expand_paths,
    gene_index,
    identifier_maps,
    ingest_cohort,
    read_fhir_inputs,
)
from precision_onco.ingest.contracts import (
    REJECT_COLUMNS,
    VARIANT_COLUMNS,
    FileReport,
    ReadResult,
)
from precision_onco.ingest.coverage import attach_coverage, cohort_wide_genes
from precision_onco.ingest.genes import GeneIndex
from precision_onco.ingest.germline import merge_germline
from precision_onco.ingest.maf import read_maf
from precision_onco.ingest.pseudonymize import resolve_key
from precision_onco.ingest.vcf import read_vcfs

__all__ = ["ingest_cohort_partitioned"]

log = logging.getLogger(__name__)


@dataclass
class _Piece:
    """What a read task returns: everything but the rows (spilled to ``spill``)."""

    index: int
    rows: int
    columns: list[tuple[str, str]]
    #: rejected records (spilled too), the files they come from, and whether they have
    #: the canonical reject columns
    reject_rows: int
    reject_files: list[str]
    reject_columns: bool
    reports: list[FileReport]
    #: distinct (source_file, sample_id, patient_id) with their row counts
    ids: pd.DataFrame
    #: distinct raw values of the identifier columns present in the rows
    id_values: set[str]
    #: distinct (patient_id, gene) of passing calls (``coverage.called_genes``)
    calls: pd.DataFrame | None


@dataclass(frozen=True)
class _ReadContext:
    """What the read tasks need of the configuration (its groups, not the whole Config)."""

    inputs: CohortInputsConfig
    identifier_columns: tuple[str, ...]
    genes: GeneIndex | None
    smap: Mapping[str, str]
    spill: Path
    #: the cohort-wide tested genes: calls in them are not sent back (they add no coverage)
    panel: frozenset[str] = frozenset()


def _spill_path(spill: Path, index: int) -> Path:
    return spill / f"read-{index:05d}.parquet"


def _rejects_path(spill: Path, index: int, *, keyed: bool = False) -> Path:
    return spill / f"rejects-{index:05d}{'-keyed' if keyed else ''}.parquet"


def _piece_dir(spill: Path, part: int) -> Path:
    return spill / f"p-{part:05d}"


def _linked(frame: pd.DataFrame, smap: Mapping[str, str], regex: str | None) -> pd.DataFrame:
    """``frame`` with samples linked to raw patient ids and ``hgvsp_short``, as
    :func:`ingest_cohort` does on the whole table (every step is row by row)."""
    unset = frame["patient_id"].isna()
    frame.loc[unset, "patient_id"] = _link(
        frame.loc[unset, "sample_id"].astype(str), smap, regex
    ).to_numpy()
    frame["hgvsp_short"] = frame["hgvsp"].map(to_short_hgvsp).astype("string")
    return frame


def _summarize(
    index: int,
    frame: pd.DataFrame,
    rejects: pd.DataFrame,
    reports: list[FileReport],
    ctx: _ReadContext,
) -> _Piece:
    frame = frame.astype({c: t for c, t in VARIANT_COLUMNS.items() if c in frame.columns})
    calls = None
    id_values: set[str] = set()
    if len(frame):
        frame = _linked(frame, ctx.smap, ctx.inputs.samples.regex)
        if ctx.inputs.coverage.called_genes and "gene" in frame.columns:
            ok = frame["gene"].notna()
            if "filter" in frame.columns:
                ok &= frame["filter"].isna() | frame["filter"].isin(["PASS", "."])
            if ctx.panel:
                ok &= ~frame["gene"].isin(ctx.panel)
            calls = frame.loc[ok, ["patient_id", "gene"]].astype("string").drop_duplicates()
        for c in ctx.identifier_columns:
            if c in frame.columns:
                id_values |= set(frame[c].dropna().astype(str))
        frame.to_parquet(_spill_path(ctx.spill, index), index=False)
    canonical = list(rejects.columns) == list(REJECT_COLUMNS)
    if canonical:
        rejects = rejects.astype(REJECT_COLUMNS)
    if len(rejects):
        rejects.to_parquet(_rejects_path(ctx.spill, index), index=False)
    reject_files = (
        [str(v) for v in rejects["source_file"].dropna().unique()]
        if "source_file" in rejects.columns
        else []
    )
    ids = (
        frame.groupby(["source_file", "sample_id", "patient_id"], dropna=False, sort=False)
        .size()
        .rename("n")
        .reset_index()
        if len(frame)
        else pd.DataFrame({"source_file": [], "sample_id": [], "patient_id": [], "n": []})
    )
    return _Piece(
        index,
        len(frame),
        [(str(c), str(t)) for c, t in frame.dtypes.items()],
        len(rejects),
        reject_files,
        canonical,
        reports,
        ids,
        id_values,
        calls,
    )


def _read_vcf_batch(item: tuple[int, list[Path]], ctx: _ReadContext) -> _Piece:
    index, paths = item
    frame, rejects, reports = read_vcfs(paths, ctx.inputs.vcf, genes=ctx.genes, workers=1)
    return _summarize(index, frame, rejects, reports, ctx)


def _read_maf_file(item: tuple[int, Path], ctx: _ReadContext) -> _Piece:
    index, path = item
    r = read_maf(path, ctx.inputs.maf)
    return _summarize(index, r.frame, r.rejects, [r.report], ctx)


@dataclass(frozen=True)
class _KeyTask:
    index: int
    rows: int
    reject_rows: int
    offset: int
    pmap: dict[str, str]
    smap: dict[str, str]
    names: dict[str, str]


@dataclass(frozen=True)
class _KeyContext:
    spill: Path
    parts: int
    identifier_columns: tuple[str, ...]
    redact: Redactor


def _key_piece(task: _KeyTask, ctx: _KeyContext) -> pd.DataFrame | None:
    """Pseudonymize one spilled batch, write its rows as one piece per partition and its
    redacted rejects; return its (empty) frame for the table's schema."""
    if task.reject_rows:
        _key_rejects(task, ctx)
    if not task.rows:
        return None
    import numpy as np

    t = pd.read_parquet(_spill_path(ctx.spill, task.index))
    t = _keyed(t, task.pmap, task.smap, ctx.identifier_columns)
    t["sample_id"] = t["sample_id"].astype("string").map(task.smap).astype("string")
    t["source_file"] = t["source_file"].map(task.names).astype("string")
    _check_leaks(t, ctx.redact, "variants")
    t.index = pd.RangeIndex(task.offset, task.offset + len(t), name=ROW_INDEX)
    parts = partition_of(t["patient_key"], ctx.parts)
    order = np.argsort(parts, kind="stable")
    bounds = np.searchsorted(parts[order], np.arange(ctx.parts + 1))
    for p in range(ctx.parts):
        if bounds[p] == bounds[p + 1]:
            continue
        d = _piece_dir(ctx.spill, p)
        d.mkdir(exist_ok=True)
        t.iloc[order[bounds[p] : bounds[p + 1]]].to_parquet(d / f"b-{task.index:05d}.parquet")
    _spill_path(ctx.spill, task.index).unlink()
    return t.iloc[0:0]


def _redact_rejects(r: pd.DataFrame, names: Mapping[str, str], redact: Redactor) -> pd.DataFrame:
    """Rejects redacted as :func:`ingest_cohort` redacts them (``names``: every source
    file's redacted name)."""
    if len(r):
        r["source_file"] = r["source_file"].map(names).astype("string")
        r["raw"] = _map_unique(r["raw"], redact)
        r["reason"] = _map_unique(r["reason"], redact)
    return r


def _key_rejects(task: _KeyTask, ctx: _KeyContext) -> None:
    src = _rejects_path(ctx.spill, task.index)
    r = _redact_rejects(pd.read_parquet(src), task.names, ctx.redact)
    _check_leaks(r, ctx.redact, "rejects")
    r.to_parquet(_rejects_path(ctx.spill, task.index, keyed=True), index=False)
    src.unlink()


def _check_leaks(t: pd.DataFrame, redact: Redactor, name: str) -> None:
    """The driver's leak check (:func:`ingest_cohort`) on one batch of a table."""
    for c in t.columns:
        if t[c].dtype.kind in "OSU" or str(t[c].dtype) in ("string", "str"):
            for v in t[c].dropna().unique():
                if redact.leaks(str(v)):
                    raise AssertionError(f"raw identifier left in {name}.{c}; refusing to write")


def _write_rejects(chunks: Iterable[pd.DataFrame | Path], path: Path) -> int:
    """The rejects table as one Parquet file, written chunk by chunk (in table order); a
    chunk is a frame or a Parquet file of the reject columns (copied as Arrow, never
    converted to Python objects)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    typed = pd.DataFrame({c: pd.Series(dtype=t) for c, t in REJECT_COLUMNS.items()})
    schema = pa.Schema.from_pandas(typed, preserve_index=False)
    n = 0
    with pq.ParquetWriter(path, schema) as w:
        for c in chunks:
            if isinstance(c, Path):
                t = pq.read_table(c, columns=list(REJECT_COLUMNS)).cast(schema)
            elif len(c):
                t = pa.Table.from_pandas(
                    c.astype(REJECT_COLUMNS), schema=schema, preserve_index=False
                )
            else:
                continue
            w.write_table(t)
            n += len(t)
            del t
            # the pool would keep every chunk's buffers (the ingest driver's largest
            # growth per patient, after the tables)
            pa.default_memory_pool().release_unused()
        if not n:
            w.write_table(pa.Table.from_pandas(typed, schema=schema, preserve_index=False))
    return n


def _merge_part(part: int, spill: Path, out: Path, empty: pd.DataFrame) -> int:
    """Write partition ``part``: its pieces in batch (= table) order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.Schema.from_pandas(
        empty.reset_index(drop=True).rename_axis(ROW_INDEX), preserve_index=True
    )
    pieces = sorted(_piece_dir(spill, part).glob("b-*.parquet"))
    frames = [pd.read_parquet(f) for f in pieces]
    frame = pd.concat(frames) if len(frames) > 1 else frames[0] if frames else empty
    frame = frame.astype(dict(empty.dtypes.items()))
    pq.write_table(
        pa.Table.from_pandas(frame, schema=schema, preserve_index=True),
        partition_files(out, part + 1)[part],
    )
    return len(frame)


def _batches(files: Sequence[Path], compute: Compute, cap: int) -> list[list[Path]]:
    """Contiguous batches of ``files`` (the order kept): a few per worker, at most
    ``cap`` files each, so that a task's rows stay small however large the cohort."""
    size = -(-len(files) // compute.partitions(len(files)))
    size = max(1, min(size, cap))
    return [list(files[i : i + size]) for i in range(0, len(files), size)]


@dataclass
class _DriverInputs:
    """What the driver reads itself (tables, FHIR bundles, germline) before the rounds."""

    pat_results: list[ReadResult]
    line_results: list[ReadResult]
    fhir_var: list[ReadResult]
    genes: GeneIndex | None
    vcf_files: list[Path]
    maf_files: list[Path]
    germ_results: list[ReadResult] = field(default_factory=list)
    patients: pd.DataFrame | None = None
    lines: pd.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)
    smap: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Paths:
    """Where the rounds write: spill and temporary outputs beside the final ones."""

    target: Path
    spill: Path
    final: Path
    rejects_to: Path
    rejects_tmp: Path

    @classmethod
    def of(cls, files: Outputs) -> _Paths:
        target = files.variants.resolve()  # workers are handed absolute paths
        rejects_to = files.rejects.resolve()
        return cls(
            target,
            target.with_name(target.name + ".stream"),
            target.with_name(target.name + ".tmp"),
            rejects_to,
            rejects_to.with_name(rejects_to.name + ".stream"),
        )

    def clean(self) -> None:
        for d in (self.spill, self.final):
            if d.exists():
                shutil.rmtree(d)
        self.rejects_tmp.unlink(missing_ok=True)


def _read_driver_inputs(cfg: Config, *, root: Path) -> _DriverInputs:
    """The patients, lines and FHIR tables the driver reads, and the files the workers will."""
    inputs = cfg.cohort.inputs
    pat_results, line_results = _read_tables(cfg, root)
    fhir_pat, fhir_lines, fhir_var = read_fhir_inputs(cfg, root)
    pat_results += fhir_pat
    line_results += fhir_lines
    genes = gene_index(cfg, root)
    vcf_files = expand_paths(inputs.vcf.paths, root)
    maf_files = expand_paths(inputs.maf.paths, root)
    return _DriverInputs(pat_results, line_results, fhir_var, genes, vcf_files, maf_files)


def _driver_patients(cfg: Config, d: _DriverInputs, *, root: Path, compute: Compute) -> None:
    """Fill ``d``'s patients and lines tables (germline merged) and its sample map."""
    patients = _concat([r.frame for r in d.pat_results])
    if len(patients) and patients["patient_id"].duplicated().any():
        patients = patients.drop_duplicates("patient_id", keep="first")
    d.lines = _concat([r.frame for r in d.line_results])
    _release(d.pat_results, d.line_results)
    if cfg.cohort.inputs.germline.source != "none":
        germ = _read_germline(cfg, patients, root, compute, vcf_files=d.vcf_files)
        if isinstance(germ, str):
            log.info("%s", germ)
        else:
            d.germ_results.append(germ)
            patients, germ_warnings = merge_germline(patients, germ.frame)
            d.warnings += germ_warnings
            _release(d.germ_results)
    d.patients = patients
    d.smap = _sample_map(cfg, patients, root)


def _release(*results: list[ReadResult]) -> None:
    """Drop the rows of readers' results once the driver's tables hold them (their rejects
    and reports are still gathered): a second copy of the cohort's tables otherwise."""
    for group in results:
        for r in group:
            r.frame = r.frame.iloc[0:0]


def _read_round(
    cfg: Config, d: _DriverInputs, *, compute: Compute, spill: Path, root: Path
) -> list[_Piece]:
    """Round 1: the FHIR rows (read here) first, then a task per VCF batch and MAF file."""
    inputs = cfg.cohort.inputs
    panel = frozenset(cohort_wide_genes(inputs.coverage, root=root, genes=d.genes))
    rctx = _ReadContext(inputs, tuple(cfg.cohort.identifier_columns), d.genes, d.smap, spill, panel)
    ctx = compute.share(rctx)
    pieces: list[_Piece] = []
    fhir_frame = _concat([r.frame for r in d.fhir_var], columns=VARIANT_COLUMNS)
    if len(fhir_frame):  # FHIR bundles are read here (small): their rows come first
        pieces.append(_summarize(0, fhir_frame, fhir_frame.iloc[0:0], [], rctx))
    del fhir_frame
    _release(d.fhir_var)
    batches = _batches(d.vcf_files, compute, cfg.compute.partition_patients)
    first = len(pieces)
    pieces += compute.map(_read_vcf_batch, list(enumerate(batches, first)), ctx)
    first += len(batches)
    pieces += compute.map(_read_maf_file, list(enumerate(d.maf_files, first)), ctx)
    return pieces


def _streamable(pieces: Sequence[_Piece]) -> bool:
    """Whether the rows can be keyed piece by piece: some rows, one set of columns and
    canonical rejects everywhere."""
    full = [p for p in pieces if p.rows]
    return (
        bool(full)
        and len({tuple(p.columns) for p in full}) <= 1
        and all(p.reject_columns for p in pieces)
    )


@dataclass
class _Gathered:
    """The driver's view of round 1: reports, identifiers, driver-side rejects."""

    ids: pd.DataFrame
    head: pd.DataFrame
    tail: pd.DataFrame
    file_reports: list[FileReport]


def _gather(cfg: Config, d: _DriverInputs, pieces: Sequence[_Piece]) -> _Gathered:
    """Reports (checked), identifiers and the driver's rejects after round 1."""
    full = [p for p in pieces if p.rows]
    var_reports = [r for p in pieces for r in p.reports]
    ids = pd.concat([p.ids for p in full], ignore_index=True)
    # the rejects the driver read (tables, FHIR; germline calls) come before and after
    # the workers' (VCF batches, MAF files), as in ingest_cohort's one table
    head = _concat(
        [r.rejects for r in (*d.pat_results, *d.line_results, *d.fhir_var)],
        columns=REJECT_COLUMNS,
    )
    tail = _concat([r.rejects for r in d.germ_results], columns=REJECT_COLUMNS)
    file_reports = [
        r.report for r in (*d.pat_results, *d.line_results) if not r.report.extra.get("_shadow")
    ]
    file_reports += var_reports
    file_reports += [r.report for r in d.germ_results]
    for rep in file_reports:
        rep.check()
    if cfg.cohort.inputs.test_lines.path and (why := _split_warning(cfg)):
        d.warnings.append(why)
    return _Gathered(ids, head, tail, file_reports)


def _coverage(
    cfg: Config, d: _DriverInputs, g: _Gathered, pieces: Sequence[_Piece], *, root: Path
) -> None:
    """The orphan-rows warning and the patients' coverage, from the read tasks' calls."""
    patients = d.patients if d.patients is not None else _concat([])
    if len(patients):
        known = set(patients["patient_id"].astype(str))
        orphans = g.ids[~g.ids["patient_id"].isin(known)]
        if len(orphans):
            d.warnings.append(
                f"{int(orphans['n'].sum())} variant rows from "
                f"{orphans['sample_id'].nunique()} samples belong to no "
                "patient of the patients table (check cohort.inputs.samples)"
            )
    calls = [p.calls for p in pieces if p.rows and p.calls is not None]
    called = (
        pd.concat(calls, ignore_index=True)
        if calls
        else pd.DataFrame({"patient_id": [], "gene": []})
    )
    d.patients, cov_warnings = attach_coverage(
        patients, called, cfg.cohort.inputs.coverage, root=root, genes=d.genes
    )
    del called, calls
    for p in pieces:
        p.calls = None
    d.warnings += cov_warnings


@dataclass(frozen=True)
class _Keys:
    pmap: dict[str, str]
    smap: dict[str, str]
    redact: Redactor
    names: dict[str, str]


def _pseudonymize_all(
    cfg: Config,
    d: _DriverInputs,
    g: _Gathered,
    pieces: Sequence[_Piece],
    *,
    key: bytes,
    root: Path,
) -> _Keys:
    """Round 2, driver side: the identifier maps and the redaction, applied to the tables,
    reports, warnings and driver-side rejects that the driver holds."""
    patients = d.patients if d.patients is not None else _concat([])
    lines = d.lines if d.lines is not None else _concat([])
    raw_patients = set(patients.get("patient_id", pd.Series(dtype=str)).dropna().astype(str))
    raw_patients |= set(lines.get("patient_id", pd.Series(dtype=str)).dropna().astype(str))
    raw_patients |= set(g.ids["patient_id"].dropna().astype(str))
    raw_samples = set(g.ids["sample_id"].dropna().astype(str))
    pmap, smap_k, redact = identifier_maps(
        raw_patients, raw_samples, (patients, lines), cfg.cohort.identifier_columns, key
    )
    d.patients, d.lines = (
        _keyed(t, pmap, smap_k, cfg.cohort.identifier_columns) for t in (patients, lines)
    )
    names = _redact_driver_side(d, g, pieces, redact, root=root)
    return _Keys(pmap, smap_k, redact, names)


def _redact_driver_side(
    d: _DriverInputs, g: _Gathered, pieces: Sequence[_Piece], redact: Redactor, *, root: Path
) -> dict[str, str]:
    """Every source file's redacted name; the driver's rejects, reports and warnings
    redacted (and the rejects checked)."""
    names: dict[str, str] = {}
    dirs: dict[str, Path] = {}  # the files' directories, resolved once
    for v in g.ids["source_file"].dropna().unique():
        _redacted_name(v, redact, root, names, dirs)
    for p in pieces:
        for v in p.reject_files:
            _redacted_name(v, redact, root, names, dirs)
    for r in (g.head, g.tail):
        for v in r["source_file"].dropna().unique():
            _redacted_name(v, redact, root, names, dirs)
        _redact_rejects(r, names, redact)
        _check_leaks(r, redact, "rejects")
    for rep in g.file_reports:
        rep.file = _redacted_name(rep.file, redact, root, names, dirs)
        rep.warnings = [redact(w) for w in rep.warnings]
        rep.extra = {k: redact(v) for k, v in rep.extra.items()}
    d.warnings = [redact(w) for w in d.warnings]
    return names


def _key_and_merge(
    cfg: Config,
    pieces: Sequence[_Piece],
    keys: _Keys,
    *,
    compute: Compute,
    paths: _Paths,
    n_patients: int,
) -> tuple[pd.DataFrame, int]:
    """Rounds 2 (workers) and 3: key every batch, merge the partitions; the variant
    table's (empty) frame and its row count."""
    n_rows = sum(p.rows for p in pieces)
    parts = n_partitions(n_patients, cfg.compute.partition_patients)
    tasks, offset = [], 0
    for p in pieces:
        if p.rows or p.reject_rows:
            tasks.append(_key_task(p, offset, keys.pmap, keys.smap, keys.names))
        offset += p.rows
    kctx = compute.share(
        _KeyContext(paths.spill, parts, tuple(cfg.cohort.identifier_columns), keys.redact)
    )
    empty = next(e for e in compute.map(_key_piece, tasks, kctx) if e is not None)
    paths.final.mkdir()
    written = sum(compute.map(_merge_part, list(range(parts)), paths.spill, paths.final, empty))
    if written != n_rows:
        raise AssertionError(f"variants: {written} rows written, {n_rows} read")
    return empty, n_rows


def _merge_rejects(g: _Gathered, pieces: Sequence[_Piece], *, paths: _Paths) -> int:
    """Round 3, driver side: ``rejects.parquet`` batch by batch, in table order."""
    keyed = (_rejects_path(paths.spill, p.index, keyed=True) for p in pieces if p.reject_rows)
    n_rejects = _write_rejects((g.head, *keyed, g.tail), paths.rejects_tmp)
    if n_rejects != len(g.head) + len(g.tail) + sum(p.reject_rows for p in pieces):
        raise AssertionError(f"rejects: {n_rejects} rows written")
    return n_rejects


def ingest_cohort_partitioned(
    cfg: Config, files: Outputs, *, compute: Compute, root: Path | None = None
) -> CohortTables:
    """:func:`ingest_cohort` on a distributed ``compute``, the variant table written by the
    workers as the partitioned Parquet directory ``files.variants`` (parts of about
    ``compute.partition_patients`` patients, as :func:`write_outputs` would write it).

    ``files.rejects`` is written too. The returned tables hold no variant and reject rows
    (``variant_rows`` and ``reject_rows`` count them); pass them to
    :func:`precision_onco.ingest.write.write_outputs` with
    ``written=("variants", "rejects")``.
    Cohorts whose variant rows do not all have the same columns (mixed readers with
    different extra columns) or that have no variant row are ingested by
    :func:`ingest_cohort` and written whole."""
    root = (root or Path.cwd()).resolve()
    key = resolve_key(
        cfg.cohort.pseudonymization, synthetic=cfg.cohort.synthetic, project_root=root
    )
    d = _read_driver_inputs(cfg, root=root)
    if not (d.vcf_files or d.maf_files):  # nothing large to stream
        return _whole(cfg, files, compute, root)
    _driver_patients(cfg, d, root=root, compute=compute)
    paths = _Paths.of(files)
    paths.clean()
    paths.spill.mkdir(parents=True)
    try:
        pieces = _read_round(cfg, d, compute=compute, spill=paths.spill, root=root)
        if not _streamable(pieces):
            log.info("ingest: variant rows of different columns (or none): read whole")
            return _whole(cfg, files, compute, root)
        g = _gather(cfg, d, pieces)
        _coverage(cfg, d, g, pieces, root=root)
        keys = _pseudonymize_all(cfg, d, g, pieces, key=key, root=root)
        assert d.patients is not None and d.lines is not None
        empty, n_rows = _key_and_merge(
            cfg, pieces, keys, compute=compute, paths=paths, n_patients=len(d.patients)
        )
        n_rejects = _merge_rejects(g, pieces, paths=paths)
        typed = _concat([], columns=REJECT_COLUMNS)
        out = CohortTables(
            d.patients, d.lines, empty.reset_index(drop=True), typed, g.file_reports, d.warnings
        )
        out.variant_rows, out.reject_rows = n_rows, n_rejects
        _assert_no_leak(out, keys.redact)
        _replace(paths.final, paths.target)
        paths.rejects_tmp.replace(paths.rejects_to)
        return out
    finally:
        paths.clean()


def _key_task(
    p: _Piece,
    offset: int,
    pmap: Mapping[str, str],
    smap: Mapping[str, str],
    names: Mapping[str, str],
) -> _KeyTask:
    """A key task with the slices of the maps that its batch needs."""

    def pick(m: Mapping[str, str], values: Iterable[Any]) -> dict[str, str]:
        return {v: m[v] for v in values if isinstance(v, str) and v in m}

    pats = p.ids["patient_id"].dropna().astype(str).unique()
    samples = {*p.ids["sample_id"].dropna().astype(str).unique(), *p.id_values}
    files = p.ids["source_file"].dropna().unique()
    files = {*files, *p.reject_files}
    return _KeyTask(
        p.index,
        p.rows,
        p.reject_rows,
        offset,
        pick(pmap, pats),
        pick(smap, samples),
        pick(names, files),
    )


def _replace(tmp: Path, path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(path)


def _whole(cfg: Config, files: Outputs, compute: Compute, root: Path) -> CohortTables:
    """The tables read whole (:func:`ingest_cohort`), the variants written here."""
    from precision_onco.compute import write_partitioned

    tables = ingest_cohort(cfg, root=root, compute=compute)
    parts = n_partitions(len(tables.patients), cfg.compute.partition_patients)
    v = tables.variants
    keys = v["patient_key"] if "patient_key" in v.columns else pd.Series(pd.NA, v.index)
    files.variants.parent.mkdir(parents=True, exist_ok=True)
    write_partitioned(v, files.variants, partition_of(keys, parts), parts)
    tables.variant_rows = len(v)
    tables.variants = v.iloc[0:0]
    r = files.rejects.resolve()
    tmp = r.with_name(r.name + ".stream")
    tables.reject_rows = _write_rejects([tables.rejects], tmp)
    tmp.replace(r)
    tables.rejects = tables.rejects.iloc[0:0]
    return tables
