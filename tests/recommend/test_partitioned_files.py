"""The pieces of recommend_to_files: the parts merged into one file (the rows gathered
by range of patients: tests/compute/test_gather.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from precision_onco.recommend.partitioned import _merge
from tests.compute.test_gather import _table


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
