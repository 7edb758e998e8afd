"""The pieces of recommend_to_files: a patient's rows read from a table's files, and the
parts merged into one file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from precision_onco.compute import partition_of, read_table, write_partitioned
from precision_onco.recommend.partitioned import _merge, _rows_of


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


@pytest.mark.parametrize("partitioned", [False, True])
def test_the_rows_of_some_patients_are_those_of_the_whole_table(
    tmp_path: Path, partitioned: bool
) -> None:
    t = _table()
    path = tmp_path / "t.parquet"
    if partitioned:
        write_partitioned(t, path, partition_of(t["patient_key"], 4), 4)
    else:
        t.to_parquet(path, index=False)
    whole = read_table(path)
    for keys in (["pk_003"], ["pk_000", "pk_016", "pk_009"], ["nobody"]):
        want = whole[whole["patient_key"].isin(keys)].reset_index(drop=True)
        pd.testing.assert_frame_equal(_rows_of(path, keys), want)


def test_parts_are_merged_as_their_concatenation(tmp_path: Path) -> None:
    t = _table()
    parts = []
    for i, sl in enumerate((slice(0, 25), slice(25, 25), slice(25, 60))):  # one part empty
        parts.append(tmp_path / f"p{i}.parquet")
        t.iloc[sl].to_parquet(parts[-1], index=False)
    _merge(parts, tmp_path / "out.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out.parquet"), t)


def test_parts_of_different_schemas_are_concatenated_by_pandas(tmp_path: Path) -> None:
    """A part whose text column is all missing has another Arrow type: the parts are then
    concatenated as the whole table was, and the types are those pandas gives."""
    a = pd.DataFrame({"k": ["a", "b"], "dose": ["50%", None]})
    b = pd.DataFrame({"k": ["c"], "dose": [None]})
    parts = [tmp_path / "a.parquet", tmp_path / "b.parquet"]
    a.to_parquet(parts[0], index=False)
    b.to_parquet(parts[1], index=False)
    _merge(parts, tmp_path / "out.parquet")
    whole = pd.concat([a, b], ignore_index=True)  # the file the whole table was written to
    whole.to_parquet(tmp_path / "whole.parquet", index=False)
    want = pd.read_parquet(tmp_path / "whole.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out.parquet"), want)
    assert not (tmp_path / ".out.parquet.tmp").exists()
