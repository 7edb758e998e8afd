"""Rows of tables gathered by ranges of patient keys (compute.gather, KeyRanges): what
the recommend and report stages' tasks read on Dask instead of filtering whole tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import precision_onco.compute as compute_mod
from precision_onco.compute import (
    LOCAL,
    Compute,
    KeyRanges,
    gather,
    partition_of,
    read_table,
    write_partitioned,
)


def _table(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    keys = [f"pk_{i % 17:03d}" for i in rng.permutation(n)]
    return pd.DataFrame(
        {
            "patient_key": pd.array(keys, dtype="string"),
            "line_number": np.arange(n) % 3 + 1,
            "value": rng.normal(size=n),
            "label": pd.array([None if i % 5 == 0 else f"x{i}" for i in range(n)], "string"),
        }
    )


def _write(t: pd.DataFrame, path: Path, partitioned: bool) -> None:
    if partitioned:
        write_partitioned(t, path, partition_of(t["patient_key"], 4), 4)
    else:
        t.to_parquet(path, index=False, row_group_size=11)


class _Cluster(Compute):
    """A compute that cuts work as a 2-worker cluster does, run in this process."""

    @property
    def distributed(self) -> bool:
        return True

    def partitions(self, n_items: int) -> int:
        return max(1, min(n_items, 2 * self.partitions_per_worker))


def test_key_ranges_are_few_per_worker_and_bounded_in_size() -> None:
    keys = pd.Series([f"k{i:04d}" for i in range(1000)][::-1] * 2)
    cluster = _Cluster(partitions_per_worker=2, _workers=2)
    assert len(KeyRanges.cut(keys, cluster)) == 4
    ranges = KeyRanges.cut(keys, cluster, cap=30)
    assert len(ranges) == 34 and max(len(r) for r in ranges.ranges) <= 30
    flat = [k for r in ranges.ranges for k in r]
    assert flat == sorted(set(keys))  # sorted, each key once
    assert len(KeyRanges.cut(keys, LOCAL, cap=30)) == 1  # locally: one call, never cut
    of = ranges.of(keys.to_numpy())
    assert all(keys[i] in ranges.ranges[of[i]] for i in range(len(keys)))
    frame = pd.DataFrame({"patient_key": keys, "i": range(len(keys))})
    groups = ranges.groups(frame)
    assert [set(g["patient_key"]) for g in groups] == [set(r) for r in ranges.ranges]
    assert all(g["i"].is_monotonic_increasing for g in groups)  # each in the frame's order
    assert sum(map(len, groups)) == len(frame)


@pytest.mark.parametrize("partitioned", [False, True])
def test_the_rows_gathered_for_a_range_are_those_of_the_whole_table(
    tmp_path: Path, partitioned: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tasks of a few row groups or part files each, read a small batch at a time, give
    each range the rows a filtered read of the whole table gives, in the table's order
    and with its types; other patients are left behind; a range without rows gets an
    empty frame of the table's columns."""
    monkeypatch.setattr(compute_mod, "GATHER_BATCH_ROWS", 7)  # batches cut a patient's rows
    t = _table()
    path = tmp_path / "t.parquet"
    _write(t, path, partitioned)
    whole = read_table(path)
    ranges = KeyRanges([["pk_000", "pk_003"], ["nobody"], ["pk_009", "pk_014", "pk_016"]])
    cluster = _Cluster(partitions_per_worker=1)  # 2 tasks a table
    got = gather({"t": path, "again": path}, ranges, tmp_path / "spill", cluster)
    assert len(list((tmp_path / "spill" / "t" / "00000").glob("from-*"))) == 2  # 2 tasks
    for i, keys in enumerate(ranges.ranges):
        want = whole[whole["patient_key"].isin(keys)].reset_index(drop=True)
        pd.testing.assert_frame_equal(got.rows("t", i), want)
        pd.testing.assert_frame_equal(got.tables(i)["again"], want)
    assert len(got.rows("t", 1)) == 0 and list(got.rows("t", 1).columns) == list(t.columns)
    got.free(0)
    assert not (tmp_path / "spill" / "t" / "00000").exists()


def test_a_part_file_without_its_row_positions_is_named(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    path.mkdir()
    _table().to_parquet(path / "part-00000.parquet", index=False)
    with pytest.raises(ValueError, match=r"part-00000\.parquet: a part file without the '_row'"):
        gather({"t": path}, KeyRanges([["pk_000"]]), tmp_path / "spill", LOCAL)
