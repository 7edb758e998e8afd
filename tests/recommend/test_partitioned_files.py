"""The pieces of recommend_to_files: a patient's rows read from a table's files, and the
parts merged into one file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from precision_onco.compute import partition_of, read_table, write_partitioned
from precision_onco.recommend import partitioned as partitioned_mod
from precision_onco.recommend.partitioned import _merge


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
def test_the_rows_gathered_for_a_partition_are_those_of_the_whole_table(
    tmp_path: Path, partitioned: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first round (tasks of a few row groups or part files, read a small batch at a
    time) and the gathering give each partition of held-out patients the rows a filtered
    read of the whole table gives, in the table's order and with its types; patients not
    held out are left behind, and a partition without rows gets an empty frame."""
    import pyarrow as pa

    monkeypatch.setattr(partitioned_mod, "_BATCH_ROWS", 7)  # batches cut a patient's rows
    t = _table()
    path = tmp_path / "t.parquet"
    if partitioned:
        write_partitioned(t, path, partition_of(t["patient_key"], 4), 4)
    else:
        t.to_parquet(path, index=False, row_group_size=11)
    whole = read_table(path)
    ranges = [["pk_000", "pk_003"], ["nobody"], ["pk_009", "pk_014", "pk_016"]]
    starts = np.cumsum([0] + [len(r) for r in ranges[:-1]])
    held = partitioned_mod._Keys(pa.array([k for r in ranges for k in r]), starts)
    units = partitioned_mod._units("t", path)
    assert len(units) == (4 if partitioned else 6)
    spill = tmp_path / "spill"
    kept = [
        partitioned_mod._split_task(partitioned_mod._Split(i, tuple(units[sl])), spill, held)
        for i, sl in enumerate((slice(0, 1), slice(1, None)))
    ]
    assert sum(kept) == whole["patient_key"].isin([k for r in ranges for k in r]).sum()
    schema = partitioned_mod._schema(units[0])
    for i, keys in enumerate(ranges):
        want = whole[whole["patient_key"].isin(keys)].reset_index(drop=True)
        got = partitioned_mod._gathered(spill, "t", i, schema)
        pd.testing.assert_frame_equal(got, want)


def test_a_part_file_without_its_row_positions_is_named(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    path.mkdir()
    _table().to_parquet(path / "part-00000.parquet", index=False)
    with pytest.raises(ValueError, match=r"part-00000\.parquet: a part file without the '_row'"):
        partitioned_mod._units("t", path)


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
