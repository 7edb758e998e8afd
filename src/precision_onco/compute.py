"""Where a stage's independent work runs: in its own process, or on a Dask cluster.

A stage opens :func:`compute_session` with ``cfg.compute`` and hands the yielded
:class:`Compute` to the library functions that have independent pieces of work
(synthesis chunks, VCF batches, model fits, bootstrap tables, scoring partitions).
They call :meth:`Compute.map`, which runs a function over items in order and returns
the results in the same order; with ``compute=local`` it is a plain loop and Dask is
never imported, with ``compute=dask`` every item is a task on the cluster.

Work done a group of patients at a time over tables it did not write (recommend,
report) cuts the patients into :class:`KeyRanges` of bounded size and first
:func:`gather` s each range's rows of every table into its own small files, reading each
table once, so that a range's task reads only its own rows however many ranges there
are.

Results never depend on the number of workers: the work is cut into pieces by the
data (chunks of patients, files, endpoints, folds), never by the cluster's size, and
every piece carries its own seed. MLflow, the registry and file outputs that must be
written in order stay with the caller (the driver).

With ``compute=dask`` the canonical tables are stored as partitioned Parquet: a
directory ``<table>.parquet/`` of ``part-00000.parquet`` ... files, every patient's rows
in one partition (the same partition number in every table), chosen by a hash of the
patient key (:func:`partition_of`), never by the number of workers. :func:`read_table`
reads either form into the frame ``compute=local`` writes, row for row.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from precision_onco.config.schema import ComputeConfig
from precision_onco.errors import UserError

if TYPE_CHECKING:  # Dask is imported only by compute=dask
    import numpy as np
    import pandas as pd
    from distributed import Client

__all__ = [
    "LOCAL",
    "ROW_INDEX",
    "Compute",
    "ComputeError",
    "Gathered",
    "KeyRanges",
    "Shared",
    "compute_session",
    "gather",
    "n_partitions",
    "partition_files",
    "partition_of",
    "read_part",
    "read_table",
    "split_even",
    "write_partitioned",
]

log = logging.getLogger(__name__)

T = TypeVar("T")


class ComputeError(UserError, ValueError):
    """The cluster of ``compute`` cannot be started or reached (a configuration problem),
    or it lost a worker during a stage (a worker out of memory, most often)."""


@dataclass(frozen=True)
class Shared:
    """A value sent to the workers once (:meth:`Compute.share`) and used by many tasks."""

    value: Any


@dataclass
class Compute:
    """Runs independent pieces of work: locally (``client`` None) or as Dask tasks."""

    client: Client | None = None
    partitions_per_worker: int = 4
    #: threads a task may use (LightGBM's ``n_jobs`` in a task); 0: all cores (local)
    threads_per_worker: int = 0
    _workers: int = field(default=1, repr=False)
    #: the cluster, as logged (e.g. ``LocalCluster(2 x 1 thread, 4GiB)``), for messages
    where: str = field(default="", repr=False)

    @property
    def distributed(self) -> bool:
        """True on a Dask cluster."""
        return self.client is not None

    @property
    def n_workers(self) -> int:
        """Workers available (1 locally)."""
        return self._workers

    def partitions(self, n_items: int) -> int:
        """How many row partitions to cut ``n_items`` into: 1 locally, else a few per worker.

        Only for work whose result is the same however it is cut (row-wise scoring, file
        batches read in order)."""
        if not self.distributed:
            return 1
        return max(1, min(n_items, self._workers * self.partitions_per_worker))

    def share(self, value: Any) -> Shared:
        """Send ``value`` to every worker once; pass the handle to :meth:`map` calls."""
        if self.client is None:
            return Shared(value)
        [future] = self.client.scatter([value], broadcast=True, hash=False)
        return Shared(future)

    def map(self, fn: Callable[..., T], items: Sequence[Any], *shared: Any) -> list[T]:
        """``[fn(item, *shared) for item in items]``, as tasks on a cluster (in order).

        ``shared`` values are the same for every item: :class:`Shared` handles, or plain
        values (sent to the workers once for this call). A task's exception is raised
        here, as the loop would raise it.
        """
        if self.client is None:
            args = [s.value if isinstance(s, Shared) else s for s in shared]
            return [fn(item, *args) for item in items]
        if not items:
            return []
        refs = [s.value if isinstance(s, Shared) else self.share(s).value for s in shared]
        t0 = time.perf_counter()
        futures = [self.client.submit(fn, item, *refs, pure=False) for item in items]
        try:
            out: list[T] = self.client.gather(futures)
        except Exception as exc:
            self._raise_if_lost(exc, fn)
            raise
        finally:
            for f in futures:
                f.release()
        log.debug(
            "%s: %d tasks in %.1f s",
            getattr(fn, "__name__", fn),
            len(items),
            time.perf_counter() - t0,
        )
        return out

    def _raise_if_lost(self, exc: Exception, fn: Callable[..., Any]) -> None:
        """Raise a :class:`ComputeError` that says what to do when ``exc`` is the cluster
        losing a worker (Dask's ``KilledWorker``, or the tasks cancelled with it); other
        exceptions (a task's own) are left to propagate as they are."""
        from concurrent.futures import CancelledError

        from distributed import KilledWorker

        if not isinstance(exc, (KilledWorker, CancelledError)):
            return
        raise ComputeError(
            f"compute: the Dask cluster{' ' + self.where if self.where else ''} lost a worker "
            f"while running "
            f"{getattr(fn, '__name__', fn)} tasks ({type(exc).__name__}: {exc}). The worker "
            "log above says why: a worker that exceeds 95% of its memory limit is restarted "
            "by its nanny (raise compute.memory_limit or use fewer threads per worker); one "
            "that fails to heartbeat (a task holding the interpreter for minutes) is "
            "removed by the scheduler (lower compute.partition_patients, or raise the "
            "scheduler's distributed.scheduler.worker-ttl); or run the stage with "
            "compute=local"
        ) from exc

    def imap(
        self, fn: Callable[..., T], items: Sequence[Any], *shared: Any, ahead: int | None = None
    ) -> Iterator[T]:
        """:meth:`map`, yielding results in order as they come, with at most ``ahead``
        tasks (default: two per worker) in flight, so that the caller can stream large
        results to disk in order. Locally: one item at a time."""
        if self.client is None:
            args = [s.value if isinstance(s, Shared) else s for s in shared]
            for item in items:
                yield fn(item, *args)
            return
        refs = [s.value if isinstance(s, Shared) else self.share(s).value for s in shared]
        window = max(1, ahead or 2 * self._workers)
        pending: list[Any] = []
        try:
            for item in items:
                pending.append(self.client.submit(fn, item, *refs, pure=False))
                if len(pending) > window:
                    first = pending.pop(0)
                    yield first.result()
                    first.release()
            while pending:
                first = pending.pop(0)
                yield first.result()
                first.release()
        except Exception as exc:
            self._raise_if_lost(exc, fn)
            raise
        finally:
            for f in pending:
                f.cancel()


#: Work in the calling process (``compute=local``), for library calls made outside a stage.
LOCAL = Compute()


def split_even(n: int, parts: int) -> list[slice]:
    """``parts`` contiguous slices covering ``range(n)`` (sizes differ by at most one)."""
    parts = max(1, min(parts, n)) if n else 1
    bounds = [round(i * n / parts) for i in range(parts + 1)]
    return [slice(bounds[i], bounds[i + 1]) for i in range(parts)]


def _start(cfg: ComputeConfig) -> tuple[Client, Any]:
    from distributed import Client, LocalCluster

    dlog = logging.getLogger("distributed")
    if dlog.level == logging.NOTSET:  # the scheduler's and workers' INFO lines are noise here
        dlog.setLevel(logging.WARNING)

    if cfg.address:
        try:
            client = Client(cfg.address, timeout=cfg.timeout)
        except (OSError, TimeoutError) as exc:
            raise ComputeError(
                f"compute.address: cannot reach the Dask scheduler at {cfg.address} within "
                f"{cfg.timeout:g} s ({exc})"
            ) from None
        return client, None
    try:
        cluster = LocalCluster(
            n_workers=cfg.n_workers,
            threads_per_worker=cfg.threads_per_worker,
            memory_limit=cfg.memory_limit,
            processes=cfg.processes,
            dashboard_address=cfg.dashboard_address,
            timeout=cfg.timeout,
        )
    except ValueError as exc:  # e.g. a memory_limit Dask cannot parse
        raise ComputeError(
            f"compute: cannot start a LocalCluster ({exc}); check "
            "compute.memory_limit (e.g. 4GiB or auto)"
        ) from None
    return Client(cluster), cluster


@contextmanager
def compute_session(cfg: ComputeConfig, *, stage: str = "stage") -> Iterator[Compute]:
    """Yield the :class:`Compute` of ``cfg``; a Dask client is closed on exit and on failure.

    With ``backend: local`` nothing is started and Dask is not imported.

    Raises
    ------
    ComputeError
        When the scheduler at ``compute.address`` cannot be reached, or no worker joins it
        within ``compute.timeout`` seconds.
    """
    if cfg.backend == "local":
        yield Compute(partitions_per_worker=cfg.partitions_per_worker)
        return
    client, cluster = _start(cfg)
    try:
        want = 1 if cfg.address else cfg.n_workers
        try:
            client.wait_for_workers(want, timeout=cfg.timeout)
        except TimeoutError:
            raise ComputeError(
                f"compute: fewer than {want} Dask worker(s) joined "
                f"{client.scheduler.address} within {cfg.timeout:g} s "
                "(compute.timeout)"
            ) from None
        workers = len(client.scheduler_info(n_workers=-1)["workers"])
        where = (
            cfg.address
            or f"LocalCluster({cfg.n_workers} x {cfg.threads_per_worker} thread, "
            f"{cfg.memory_limit})"
        )
        log.info(
            "%s on Dask: %s, %d workers, dashboard %s", stage, where, workers, client.dashboard_link
        )
        yield Compute(
            client, cfg.partitions_per_worker, cfg.threads_per_worker, workers, where=where
        )
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# ------------------------------------------------------------- partitioned tables
#: The index column a partition file keeps: the row's position in the whole table.
ROW_INDEX = "_row"


def n_partitions(n_patients: int, partition_patients: int) -> int:
    """Partitions for a cohort of ``n_patients`` (about ``partition_patients`` each)."""
    return max(1, -(-n_patients // max(1, partition_patients)))


def partition_of(keys: pd.Series, n: int) -> np.ndarray:
    """The partition (0 .. n-1) of each patient key: CRC-32 of the key modulo ``n``, the
    same on every machine and for every number of workers (a missing key: partition 0)."""
    import numpy as np

    uniq = {
        k: (zlib.crc32(str(k).encode("utf-8")) % n if isinstance(k, str) else 0)
        for k in keys.dropna().unique()
    }
    return keys.map(uniq).fillna(0).to_numpy(dtype=np.int64)


def partition_files(path: Path | str, n: int | None = None) -> list[Path]:
    """The part files of a partitioned table, in partition order (``n``: names to expect)."""
    path = Path(path)
    if n is not None:
        return [path / f"part-{i:05d}.parquet" for i in range(n)]
    return sorted(path.glob("part-*.parquet"))


def write_partitioned(df: pd.DataFrame, path: Path | str, parts: np.ndarray, n: int) -> Path:
    """Write ``df`` as the directory ``path`` of ``n`` part files, row ``i`` to part
    ``parts[i]`` (empty parts are written too, with the table's schema), replacing what
    ``path`` held (a file or a directory) only once every part is written.

    Each part keeps the rows' positions in ``df`` (index ``_row``), so that
    :func:`read_table` gives back ``df`` itself."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    full = df.reset_index(drop=True)
    full.index = full.index.rename(ROW_INDEX)
    schema = pa.Schema.from_pandas(full.iloc[0:0], preserve_index=True)
    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    order = np.argsort(parts, kind="stable")
    bounds = np.searchsorted(parts[order], np.arange(n + 1))
    for i, f in enumerate(partition_files(tmp, n)):
        part = full.iloc[order[bounds[i] : bounds[i + 1]]]
        pq.write_table(pa.Table.from_pandas(part, schema=schema, preserve_index=True), f)
    _remove(path)
    os.replace(tmp, path)
    return path


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def read_part(path: Path | str) -> pd.DataFrame:
    """One part file, its rows in table order (the ``_row`` index dropped)."""
    import pandas as pd

    return pd.read_parquet(path).reset_index(drop=True)


def read_table(
    path: Path | str,
    columns: list[str] | None = None,
    *,
    filters: list[tuple[str, str, Any]] | None = None,
) -> pd.DataFrame:
    """A canonical table as ``compute=local`` writes it: one Parquet file, or the
    directory of a partitioned table put back into its rows' order. With ``filters``
    (pyarrow's, e.g. ``[("patient_key", "in", keys)]``), only the matching rows are read,
    in that order too, on a fresh index."""
    import pandas as pd

    path = Path(path)
    if not path.is_dir():
        out = pd.read_parquet(path, columns=columns, filters=filters)
        return out if filters is None else out.reset_index(drop=True)
    files = partition_files(path)
    if not files:
        raise FileNotFoundError(f"{path}: a partitioned table without part files")
    frames = [pd.read_parquet(f, columns=columns, filters=filters) for f in files]
    out = pd.concat(frames) if len(frames) > 1 else frames[0]
    if out.index.name != ROW_INDEX:
        raise ValueError(f"{path}: part files without the {ROW_INDEX!r} row index")
    return out.sort_index(kind="stable").reset_index(drop=True)


# ------------------------------------------------------- rows gathered by ranges of keys
#: Rows :func:`gather` decodes at a time.
GATHER_BATCH_ROWS = 65_536


@dataclass(frozen=True)
class KeyRanges:
    """Patients cut into partitions for work done a partition at a time: contiguous
    ranges of the sorted distinct patient keys, so that concatenating the partitions'
    results in order gives them sorted by patient."""

    ranges: list[list[str]]

    @classmethod
    def cut(cls, patient_keys: pd.Series, compute: Compute, cap: int | None = None) -> KeyRanges:
        """A few ranges per worker of ``compute`` (one locally) and, with ``cap`` on a
        cluster, at most ``cap`` patients each, so that a task's work does not grow with
        the cohort (a task running for minutes in compiled code can miss the scheduler's
        heartbeats)."""
        import numpy as np

        keys = np.sort(patient_keys.astype(str).unique())
        n = compute.partitions(len(keys))
        if cap is not None and compute.distributed:
            n = max(n, n_partitions(len(keys), cap))
        return cls([keys[sl].tolist() for sl in split_even(len(keys), n)])

    def __len__(self) -> int:
        return len(self.ranges)

    def starts(self) -> np.ndarray:
        """Each range's position among the sorted keys of all ranges."""
        import numpy as np

        sizes = [len(r) for r in self.ranges]
        return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)

    def of(self, keys: np.ndarray | pd.Series) -> np.ndarray:
        """The range of each key (those of :meth:`cut`'s keys): one binary search of the
        ranges' first keys."""
        import numpy as np

        firsts = np.array([r[0] if r else "" for r in self.ranges], dtype=object)
        keys = np.asarray(keys, dtype=object).astype(str).astype(object)
        return np.searchsorted(firsts, keys, side="right") - 1

    def groups(self, frame: pd.DataFrame) -> list[pd.DataFrame]:
        """``frame``'s rows by range of their ``patient_key`` (each in ``frame``'s order)."""
        import numpy as np

        of = self.of(frame["patient_key"].to_numpy())
        order = np.argsort(of, kind="stable")
        bounds = np.searchsorted(of[order], np.arange(len(self) + 1))
        return [
            frame.iloc[order[bounds[i] : bounds[i + 1]]].reset_index(drop=True)
            for i in range(len(self))
        ]


@dataclass(frozen=True)
class _Unit:
    """Rows of one table to gather: row groups of one of its files. ``offset``: the
    position in the table of the first of them when the file is the whole table (a part
    file of a partitioned table keeps its rows' positions, ``_row``, itself)."""

    table: str
    file: Path
    row_groups: tuple[int, ...]
    offset: int | None


@dataclass(frozen=True)
class _GatherTask:
    index: int
    units: tuple[_Unit, ...]


@dataclass(frozen=True)
class _Wanted:
    keys: Any  # pyarrow string array: every range's keys, in order
    starts: np.ndarray


def _units(table: str, path: Path) -> list[_Unit]:
    """The table at ``path`` as units: a part file each (partitioned), or a row group each
    (one file, its rows' positions counted)."""
    import pyarrow.parquet as pq

    if path.is_dir():
        files = partition_files(path)
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


def _unit_schema(unit: _Unit) -> Any:
    """The Arrow schema of the rows :func:`gather` writes for ``unit``'s table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(unit.file)
    return schema if unit.offset is None else schema.append(pa.field(ROW_INDEX, pa.int64()))


def _range_dir(spill: Path, table: str, part: int) -> Path:
    return spill / table / f"{part:05d}"


def _gather_task(task: _GatherTask, spill: Path, wanted: _Wanted) -> int:
    """Read the task's units a batch at a time, keep the rows of the ranges' patients
    (with their positions in the table, ``_row``) and write them, a file per range and
    table. Returns the rows kept."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    kept: dict[tuple[str, int], list[pa.Table]] = {}
    schemas: dict[str, pa.Schema] = {}
    n_kept = 0
    for u in task.units:
        f = pq.ParquetFile(u.file)
        schemas[u.table] = _unit_schema(u)
        offset = u.offset
        for batch in f.iter_batches(batch_size=GATHER_BATCH_ROWS, row_groups=list(u.row_groups)):
            t = pa.Table.from_batches([batch])
            if offset is not None:
                rows = pa.array(np.arange(offset, offset + len(t), dtype=np.int64))
                t = t.append_column(ROW_INDEX, rows)
                offset += len(t)
            pos = pc.index_in(t.column("patient_key").cast(pa.string()), value_set=wanted.keys)
            keep = pc.is_valid(pos)
            if not pc.any(keep).as_py():
                continue
            t = t.filter(keep)
            n_kept += len(t)
            at = pos.filter(keep).to_numpy(zero_copy_only=False)
            parts = np.searchsorted(wanted.starts, at, side="right") - 1
            order = np.argsort(parts, kind="stable")
            bounds = np.searchsorted(parts[order], np.arange(len(wanted.starts) + 1))
            for j in np.flatnonzero(np.diff(bounds)):
                piece = t.take(pa.array(order[bounds[j] : bounds[j + 1]]))
                kept.setdefault((u.table, int(j)), []).append(piece)
    for (table, part), pieces in kept.items():
        out = _range_dir(spill, table, part)
        out.mkdir(parents=True, exist_ok=True)
        whole = pa.concat_tables(pieces).cast(schemas[table])
        pq.write_table(whole, out / f"from-{task.index:05d}.parquet")
    return n_kept


@dataclass(frozen=True)
class Gathered:
    """Where :func:`gather` wrote each range's rows; read by the ranges' tasks."""

    spill: Path
    schemas: dict[str, Any]  # table -> the Arrow schema of its gathered rows

    def rows(self, table: str, part: int) -> pd.DataFrame:
        """Range ``part``'s rows of ``table``, in the table's order and with its types:
        the frame :func:`read_table` with a ``patient_key`` filter gives."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        files = sorted(_range_dir(self.spill, table, part).glob("from-*.parquet"))
        schema = self.schemas[table]
        t = pa.concat_tables([pq.read_table(f) for f in files]) if files else schema.empty_table()
        t = t.take(pc.sort_indices(t.column(ROW_INDEX)))
        if ROW_INDEX not in (t.schema.pandas_metadata or {}).get("index_columns", []):
            t = t.drop_columns([ROW_INDEX])  # a one-file table: the positions were added
        return t.to_pandas().reset_index(drop=True)

    def tables(self, part: int) -> dict[str, pd.DataFrame]:
        """Range ``part``'s rows of every table."""
        return {t: self.rows(t, part) for t in self.schemas}

    def free(self, part: int) -> None:
        """Remove range ``part``'s files (its task has read them)."""
        for t in self.schemas:
            shutil.rmtree(_range_dir(self.spill, t, part), ignore_errors=True)


def gather(tables: dict[str, Path], ranges: KeyRanges, spill: Path, compute: Compute) -> Gathered:
    """Write, under ``spill``, the rows of each of ``tables`` (a Parquet file or a
    partitioned table's directory, with a ``patient_key`` column) whose patient is in one
    of ``ranges``, a directory per table and range. Each table is read once, by tasks of
    a few of its row groups or part files (a batch at a time); the rows of patients in no
    range are left behind."""
    import pyarrow as pa

    wanted = _Wanted(pa.array([k for r in ranges.ranges for k in r], pa.string()), ranges.starts())
    tasks: list[_GatherTask] = []
    schemas: dict[str, Any] = {}
    for table, path in tables.items():
        units = _units(table, Path(path))
        schemas[table] = _unit_schema(units[0])
        for sl in split_even(len(units), compute.partitions(len(units))):
            tasks.append(_GatherTask(len(tasks), tuple(units[sl])))
    spill.mkdir(parents=True, exist_ok=True)
    kept = compute.map(_gather_task, tasks, spill, compute.share(wanted))
    log.debug("gathered %d rows of %d tables, %d ranges", sum(kept), len(tables), len(ranges))
    return Gathered(spill, schemas)
