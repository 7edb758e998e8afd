"""Partitioned Parquet tables (compute=dask): whole patients per part, read back row for row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from precision_onco.compute import (
    n_partitions,
    partition_files,
    partition_of,
    read_part,
    read_table,
    write_partitioned,
)
from precision_onco.ingest.write import _atomic_parquet


def _table(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    keys = [f"P{rng.integers(0, 60):03d}" for _ in range(n)]
    return pd.DataFrame(
        {
            "patient_key": pd.array([None if i == 7 else k for i, k in enumerate(keys)], "string"),
            "x": rng.normal(size=n),
            "gene": pd.array([None if i % 5 else "EGFR" for i in range(n)], "string"),
            "n": np.arange(n, dtype="int64"),
        }
    )


def test_n_partitions() -> None:
    assert n_partitions(0, 2500) == 1
    assert n_partitions(2500, 2500) == 1
    assert n_partitions(2501, 2500) == 2
    assert n_partitions(100_000, 2500) == 40


def test_partition_is_a_function_of_the_key_only() -> None:
    keys = pd.Series(["a", "b", "a", None, "c"], dtype="string")
    p = partition_of(keys, 7)
    assert p[0] == p[2] and p[3] == 0 and ((p >= 0) & (p < 7)).all()
    # the same key gives the same part whatever else is in the table
    assert partition_of(pd.Series(["c"], dtype="string"), 7)[0] == p[4]


def test_round_trip_and_whole_patients(tmp_path: Path) -> None:
    df = _table()
    path = tmp_path / "lines.parquet"
    _atomic_parquet(df, path)  # an earlier compute=local run's file is replaced
    write_partitioned(df, path, partition_of(df["patient_key"], 6), 6)
    assert path.is_dir() and len(partition_files(path)) == 6
    pd.testing.assert_frame_equal(read_table(path), df)
    pd.testing.assert_frame_equal(read_table(path, columns=["n", "x"]), df[["n", "x"]])
    seen: set[str] = set()
    for f in partition_files(path):
        part = read_part(f)
        keys = set(part["patient_key"].dropna())
        assert not keys & seen  # every patient in one part only
        seen |= keys
        assert part["n"].is_monotonic_increasing  # table order kept inside a part
    assert seen == set(df["patient_key"].dropna())
    # and back to one file (compute=local after compute=dask)
    _atomic_parquet(df, path)
    assert path.is_file()
    pd.testing.assert_frame_equal(read_table(path), df)


def test_empty_parts_keep_the_schema(tmp_path: Path) -> None:
    df = _table(5)
    path = tmp_path / "variants.parquet"
    write_partitioned(df, path, partition_of(df["patient_key"], 40), 40)
    assert len(partition_files(path)) == 40
    back = read_table(path)
    pd.testing.assert_frame_equal(back, df)
    empty = [read_part(f) for f in partition_files(path) if not len(read_part(f))]
    assert empty and all(list(e.dtypes) == list(df.dtypes) for e in empty)


def test_a_directory_without_parts_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "patients.parquet").mkdir()
    with pytest.raises(FileNotFoundError, match="without part files"):
        read_table(tmp_path / "patients.parquet")
