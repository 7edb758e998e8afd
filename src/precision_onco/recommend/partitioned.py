"""Recommendations computed by partitions of patients (the ``recommend`` stage on Dask).

Every (patient, line) is ranked and explained from its own rows only, so cutting the
held-out lines into partitions of whole patients and concatenating the partitions'
rankings gives the rankings of the whole cohort. Partitions are ranges of the sorted
patient keys, so the concatenation is in the order :func:`recommendations` sorts the
ranked rows in; the excluded rows are put in that order too, in both modes (by patient
and line, each line's rows in the order they were excluded).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from precision_onco.compute import LOCAL, Compute, Gathered, KeyRanges, gather
from precision_onco.config.schema import CatalogConfig, RecommendConfig
from precision_onco.kb.civic import CivicKB
from precision_onco.models.fit import EndpointModel
from precision_onco.recommend.rank import Ranking
from precision_onco.recommend.table import recommendations

__all__ = ["RecommendFiles", "recommend_by_partition", "recommend_to_files"]


@dataclass(frozen=True)
class _Context:
    """What every partition needs (sent to the workers once)."""

    models: Mapping[str, EndpointModel]
    catalog: CatalogConfig
    recommend: RecommendConfig
    civic: CivicKB | None
    threads: int
    explain: tuple[str, ...]
    separate: str | None


def _of(frame: pd.DataFrame | None, keys: set[str]) -> pd.DataFrame | None:
    if frame is None or "patient_key" not in frame.columns:
        return frame
    return frame[frame["patient_key"].isin(keys)]


def _partition(
    part: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame | None], ctx: _Context
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, patients, lines, variants = part
    for m in ctx.models.values():
        m.set_threads(ctx.threads)
    r = recommendations(
        rows,
        patients,
        lines,
        ctx.models,
        ctx.catalog,
        ctx.recommend,
        explain=ctx.explain,
        separate=ctx.separate,
        civic=ctx.civic,
        variants=variants,
        threads=ctx.threads,
    )
    return r.ranked, r.excluded


def recommend_by_partition(
    rows: pd.DataFrame,
    patients: pd.DataFrame,
    lines: pd.DataFrame,
    models: Mapping[str, EndpointModel],
    catalog: CatalogConfig,
    recommend: RecommendConfig,
    *,
    explain: Sequence[str],
    separate: str | None,
    civic: CivicKB | None = None,
    variants: pd.DataFrame | None = None,
    compute: Compute | None = None,
    partition_patients: int | None = None,
) -> Ranking:
    """:func:`~precision_onco.recommend.table.recommendations` of ``rows`` (``explain``,
    ``separate``: as there); with a
    distributed ``compute``, by partitions of patients as its tasks (the same rows), of at
    most ``partition_patients`` patients each when given.

    Locally it is one call on the whole frame (nothing is split or copied). Only
    ``ranked`` and ``excluded`` are filled (not the explanation inputs).
    """
    comp = compute or LOCAL
    if not comp.distributed or len(rows) == 0:
        r = recommendations(
            rows,
            patients,
            lines,
            models,
            catalog,
            recommend,
            explain=explain,
            separate=separate,
            civic=civic,
            variants=variants,
        )
        return Ranking(r.ranked, _by_line(r.excluded))
    parts = []
    for part_keys in KeyRanges.cut(rows["patient_key"], comp, partition_patients).ranges:
        ks = set(part_keys)
        parts.append((_of(rows, ks), _of(patients, ks), _of(lines, ks), _of(variants, ks)))
    ctx = _Context(
        models, catalog, recommend, civic, comp.threads_per_worker, tuple(explain), separate
    )
    done: list[Any] = comp.map(_partition, parts, ctx)
    ranked = pd.concat([d[0] for d in done], ignore_index=True)
    return Ranking(ranked, _by_line(pd.concat([d[1] for d in done], ignore_index=True)))


def _by_line(excluded: pd.DataFrame) -> pd.DataFrame:
    """Excluded rows by (patient, line), keeping each line's own order (a stable sort)."""
    if not len(excluded):
        return excluded
    return excluded.sort_values(["patient_key", "line_number"], kind="stable", ignore_index=True)


@dataclass(frozen=True)
class RecommendFiles:
    """Where :func:`recommend_to_files` reads (a table: one Parquet file, or the directory
    of a partitioned one) and writes."""

    features: Path
    patients: Path
    lines: Path
    variants: Path | None
    ranked: Path
    excluded: Path

    @property
    def spill(self) -> Path:
        """The directory of the tasks' parts (removed once merged)."""
        return self.ranked.with_name(f".{self.ranked.name}.parts")


#: The tables a task reads its patients' rows of (the fields of :class:`RecommendFiles`).
_TABLES = ("features", "patients", "lines", "variants")


@dataclass(frozen=True)
class _FileTask:
    index: int
    held: pd.DataFrame  # the (patient_key, line_number) held out of the task's patients


def _part_paths(spill: Path, index: int) -> tuple[Path, Path]:
    return spill / f"ranked-{index:05d}.parquet", spill / f"excluded-{index:05d}.parquet"


def _file_task(task: _FileTask, gathered: Gathered, ctx: _Context) -> tuple[int, int, int]:
    """One partition ranked from the rows gathered for it, written to the spill
    directory: its held-out lines, ranked rows and excluded rows."""
    tables = gathered.tables(task.index)
    rows = tables["features"].merge(task.held, on=["patient_key", "line_number"])
    part = (rows, tables["patients"], tables["lines"], tables.get("variants"))
    ranked, excluded = _partition(part, ctx)
    excluded = _by_line(excluded)
    to_ranked, to_excluded = _part_paths(gathered.spill.parent, task.index)
    ranked.to_parquet(to_ranked, index=False)
    excluded.to_parquet(to_excluded, index=False)
    gathered.free(task.index)  # its rows are no longer needed: free the disk they use
    return len(rows), len(ranked), len(excluded)


def _merge(parts: Sequence[Path], out: Path) -> None:
    """The part files as the one Parquet file ``out``, a part at a time: the rows of
    ``pd.concat`` of the parts written with ``to_parquet(index=False)``. Parts whose
    schemas differ (a part whose column is all missing, say) are concatenated with pandas,
    as the whole table was before."""
    import pyarrow.parquet as pq

    schemas = [pq.read_schema(f) for f in parts]
    tmp = out.with_name(f".{out.name}.tmp")
    if any(not s.equals(schemas[0], check_metadata=True) for s in schemas[1:]):
        frames = [pd.read_parquet(f) for f in parts]
        pd.concat(frames, ignore_index=True).to_parquet(tmp, index=False)
    else:
        with pq.ParquetWriter(tmp, schemas[0]) as writer:
            for f in parts:
                writer.write_table(pq.read_table(f))
    os.replace(tmp, out)


def recommend_to_files(
    held: pd.DataFrame,
    files: RecommendFiles,
    models: Mapping[str, EndpointModel],
    catalog: CatalogConfig,
    recommend: RecommendConfig,
    *,
    explain: Sequence[str],
    separate: str | None,
    civic: CivicKB | None = None,
    compute: Compute,
    partition_patients: int | None = None,
) -> tuple[int, int, int]:
    """:func:`recommend_by_partition` of the held-out lines ``held`` (``patient_key``,
    ``line_number``) on a distributed ``compute``, the tables read and the outputs written
    by its workers, in two rounds of tasks:

    1. each task reads some of ``files``' tables' row groups or part files, a batch at a
       time, and writes the held-out patients' rows to the spill directory, by partition
       of patients (ranges of the sorted keys, at most ``partition_patients`` each);
    2. each partition's task reads what the first round wrote for it, ranks it and writes
       its part.

    The parts are then merged, in the order of the patients, into ``files.ranked`` and
    ``files.excluded`` (the rows :func:`recommend_by_partition` gives). Every table is
    read once, whatever the number of partitions, and the calling process holds neither
    the tables nor the rankings.

    Returns the numbers of held-out lines ranked, of ranked rows and of excluded rows."""
    ranges = KeyRanges.cut(held["patient_key"], compute, partition_patients)
    tasks = [_FileTask(i, h) for i, h in enumerate(ranges.groups(held))]
    sources = {t: getattr(files, t) for t in _TABLES if getattr(files, t) is not None}
    ctx = _Context(
        models, catalog, recommend, civic, compute.threads_per_worker, tuple(explain), separate
    )
    spill = files.spill
    if spill.exists():
        shutil.rmtree(spill)
    spill.mkdir(parents=True)
    try:
        gathered = gather(sources, ranges, spill / "in", compute)
        counts = compute.map(_file_task, tasks, gathered, ctx)
        for which, out in enumerate((files.ranked, files.excluded)):
            _merge([_part_paths(spill, t.index)[which] for t in tasks], out)
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    lines, ranked, excluded = (sum(c[j] for c in counts) for j in range(3))
    return lines, ranked, excluded
