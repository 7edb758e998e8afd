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

import numpy as np
import pandas as pd

from precision_onco.compute import LOCAL, ROW_INDEX, Compute, n_partitions, split_even
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


def _key_ranges(
    patient_keys: pd.Series, compute: Compute, cap: int | None = None
) -> list[list[str]]:
    """The partitions' patients: ranges of the sorted distinct keys, one per task, so that
    concatenating the partitions' rows in order gives the rows sorted by patient. A few
    per worker, and with ``cap`` at most ``cap`` patients each, so that a task's work does
    not grow with the cohort (a task that runs for minutes in compiled code can miss the
    scheduler's heartbeats)."""
    keys = np.sort(patient_keys.astype(str).unique())
    n = compute.partitions(len(keys))
    if cap is not None and compute.distributed:
        n = max(n, n_partitions(len(keys), cap))
    return [keys[sl].tolist() for sl in split_even(len(keys), n)]


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
    for part_keys in _key_ranges(rows["patient_key"], comp, partition_patients):
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
#: Rows a split task decodes at a time.
_BATCH_ROWS = 65_536


@dataclass(frozen=True)
class _Unit:
    """Rows of one table to split: row groups of one of its files. ``offset``: the
    position in the table of the first of them when the file is the whole table (a part
    file of a partitioned table keeps its rows' positions, ``_row``, itself)."""

    table: str
    file: Path
    row_groups: tuple[int, ...]
    offset: int | None


@dataclass(frozen=True)
class _Split:
    """A task of the first round: its units' held-out patients' rows written to the spill
    directory, a file per partition of patients they fall in."""

    index: int
    units: tuple[_Unit, ...]


@dataclass(frozen=True)
class _Keys:
    """The held-out patients, sorted, and where each partition of them starts."""

    keys: Any  # pyarrow string array
    starts: np.ndarray


def _units(table: str, path: Path) -> list[_Unit]:
    """The table at ``path`` as units: a part file each (partitioned), or a row group each
    (one file, its rows' positions counted)."""
    import pyarrow.parquet as pq

    if path.is_dir():
        files = sorted(path.glob("part-*.parquet"))
        if not files:
            raise FileNotFoundError(f"{path}: a partitioned table without part files")
        units = []
        for f in files:
            if ROW_INDEX not in pq.read_schema(f).names:
                raise ValueError(f"{f}: a part file without the {ROW_INDEX!r} row index")
            units.append(_Unit(table, f, tuple(range(pq.ParquetFile(f).num_row_groups)), None))
        return units
    meta = pq.ParquetFile(path).metadata
    out, offset = [], 0
    for g in range(meta.num_row_groups):
        out.append(_Unit(table, path, (g,), offset))
        offset += meta.row_group(g).num_rows
    return out or [_Unit(table, path, (), 0)]


def _schema(unit: _Unit) -> Any:
    """The Arrow schema of the rows the first round writes for ``unit``'s table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(unit.file)
    return schema if unit.offset is None else schema.append(pa.field(ROW_INDEX, pa.int64()))


def _split_dir(spill: Path, table: str, part: int) -> Path:
    return spill / "in" / table / f"{part:05d}"


def _split_task(task: _Split, spill: Path, held: _Keys) -> int:
    """Read the task's units a batch at a time, keep the held-out patients' rows (with
    their positions in the table, ``_row``) and write them, a file per partition and
    table. Returns the rows kept."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    kept: dict[tuple[str, int], list[pa.Table]] = {}
    schemas: dict[str, pa.Schema] = {}
    n_kept = 0
    for u in task.units:
        f = pq.ParquetFile(u.file)
        schemas[u.table] = _schema(u)
        offset = u.offset
        batches = f.iter_batches(batch_size=_BATCH_ROWS, row_groups=list(u.row_groups))
        for batch in batches:
            t = pa.Table.from_batches([batch])
            if offset is not None:
                rows = pa.array(np.arange(offset, offset + len(t), dtype=np.int64))
                t = t.append_column(ROW_INDEX, rows)
                offset += len(batch)
            pos = pc.index_in(t.column("patient_key").cast(pa.string()), value_set=held.keys)
            keep = pc.is_valid(pos)
            if not pc.any(keep).as_py():
                continue
            t = t.filter(keep)
            n_kept += len(t)
            parts = (
                np.searchsorted(
                    held.starts, pos.filter(keep).to_numpy(zero_copy_only=False), side="right"
                )
                - 1
            )
            order = np.argsort(parts, kind="stable")
            bounds = np.searchsorted(parts[order], np.arange(len(held.starts) + 1))
            for j in np.flatnonzero(np.diff(bounds)):
                piece = t.take(pa.array(order[bounds[j] : bounds[j + 1]]))
                kept.setdefault((u.table, int(j)), []).append(piece)
    for (table, part), pieces in kept.items():
        out = _split_dir(spill, table, part)
        out.mkdir(parents=True, exist_ok=True)
        whole = pa.concat_tables(pieces).cast(schemas[table])
        pq.write_table(whole, out / f"from-{task.index:05d}.parquet")
    return n_kept


def _gathered(spill: Path, table: str, part: int, schema: Any) -> pd.DataFrame:
    """The rows of ``table`` the first round wrote for partition ``part``, in the table's
    order, as a filtered read of the table gives them (on a fresh index)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    files = sorted(_split_dir(spill, table, part).glob("from-*.parquet"))
    t = pa.concat_tables([pq.read_table(f) for f in files]) if files else schema.empty_table()
    t = t.take(pc.sort_indices(t.column(ROW_INDEX)))
    pandas_index = (t.schema.pandas_metadata or {}).get("index_columns", [])
    if ROW_INDEX not in pandas_index:  # a one-file table: the positions were added
        t = t.drop_columns([ROW_INDEX])
    return t.to_pandas().reset_index(drop=True)


@dataclass(frozen=True)
class _FileTask:
    index: int
    held: pd.DataFrame  # the (patient_key, line_number) held out of the task's patients


def _part_paths(spill: Path, index: int) -> tuple[Path, Path]:
    return spill / f"ranked-{index:05d}.parquet", spill / f"excluded-{index:05d}.parquet"


def _file_task(
    task: _FileTask, spill: Path, schemas: Mapping[str, Any], ctx: _Context
) -> tuple[int, int, int]:
    """One partition ranked from the rows the first round gathered for it, written to the
    spill directory: its held-out lines, ranked rows and excluded rows."""
    tables = {t: _gathered(spill, t, task.index, s) for t, s in schemas.items()}
    rows = tables["features"].merge(task.held, on=["patient_key", "line_number"])
    part = (rows, tables["patients"], tables["lines"], tables.get("variants"))
    ranked, excluded = _partition(part, ctx)
    excluded = _by_line(excluded)
    to_ranked, to_excluded = _part_paths(spill, task.index)
    ranked.to_parquet(to_ranked, index=False)
    excluded.to_parquet(to_excluded, index=False)
    for t in schemas:  # the gathered rows are no longer needed: free the disk they use
        shutil.rmtree(_split_dir(spill, t, task.index), ignore_errors=True)
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
    import pyarrow as pa

    ranges = _key_ranges(held["patient_key"], compute, partition_patients)
    sizes = np.array([len(r) for r in ranges])
    keys = _Keys(
        pa.array([k for r in ranges for k in r], pa.string()),
        np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64),
    )
    # each held-out line's partition: the last range starting at or before its key
    pk = held["patient_key"].astype(str).to_numpy()
    of = np.searchsorted(np.array([r[0] for r in ranges], dtype=object), pk, side="right") - 1
    order = np.argsort(of, kind="stable")
    bounds = np.searchsorted(of[order], np.arange(len(ranges) + 1))
    tasks = [
        _FileTask(i, held.iloc[order[bounds[i] : bounds[i + 1]]].reset_index(drop=True))
        for i in range(len(ranges))
    ]
    sources = {t: getattr(files, t) for t in _TABLES if getattr(files, t) is not None}
    splits: list[_Split] = []
    schemas: dict[str, Any] = {}
    for table, path in sources.items():
        units = _units(table, path)
        schemas[table] = _schema(units[0])
        for sl in split_even(len(units), compute.partitions(len(units))):
            splits.append(_Split(len(splits), tuple(units[sl])))
    ctx = _Context(
        models, catalog, recommend, civic, compute.threads_per_worker, tuple(explain), separate
    )
    spill = files.spill
    if spill.exists():
        shutil.rmtree(spill)
    spill.mkdir(parents=True)
    try:
        compute.map(_split_task, splits, spill, compute.share(keys))
        counts = compute.map(_file_task, tasks, spill, schemas, ctx)
        for which, out in enumerate((files.ranked, files.excluded)):
            _merge([_part_paths(spill, t.index)[which] for t in tasks], out)
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    lines, ranked, excluded = (sum(c[j] for c in counts) for j in range(3))
    return lines, ranked, excluded
