"""The shortcuts build_features takes on a few rows (one served patient) give what pandas
gives: the grouped running maximum, the already-sorted check and the float columns."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from precision_onco.features.build import _float_column, _group_cummax, _sorted_by_keys


@pytest.mark.parametrize("seed", range(20))
def test_group_cummax_equals_pandas(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 40))
    x = rng.choice([np.nan, 0.0, 1.0, 2.0, 3.0], size=n)
    group = np.sort(rng.integers(0, 6, size=n))
    want = pd.Series(x).groupby(group).cummax().to_numpy(dtype="float64")
    np.testing.assert_array_equal(_group_cummax(x, group), want)


def _keys(pk: Sequence[object], line: Sequence[int]) -> pd.DataFrame:
    return pd.DataFrame({"patient_key": pk, "line_number": np.asarray(line, dtype="int64")})


@pytest.mark.parametrize(
    ("pk", "line"),
    [
        (["a"], [3]),
        (["a", "a", "b"], [1, 2, 1]),
        (["a", "a", "b"], [2, 1, 1]),
        (["b", "a"], [1, 1]),
        (["a", "a"], [1, 1]),
        (["a", "B"], [1, 1]),
        (["pk_10", "pk_9"], [1, 1]),
    ],
)
def test_sorted_by_keys_is_what_a_stable_sort_keeps(pk: list[str], line: list[int]) -> None:
    frame = _keys(pk, line)
    frame["patient_key"] = frame["patient_key"].astype("string")
    kept = frame.sort_values(["patient_key", "line_number"], kind="stable").index.tolist()
    if _sorted_by_keys(frame):
        assert kept == list(range(len(frame)))
    assert _sorted_by_keys(frame) == (kept == list(range(len(frame))))


def test_missing_keys_are_left_to_the_sort() -> None:
    frame = _keys(["a", None], [1, 2])
    assert not _sorted_by_keys(frame)


@pytest.mark.parametrize(
    "col",
    [
        pd.Series([1.5, np.nan]),
        pd.Series([1, 2]),
        pd.Series(["1.5", "x"]),
        pd.Series([1.0, None], dtype="Float64"),
        pd.Series([True, False]),
    ],
)
def test_float_column_equals_to_numeric(col: pd.Series) -> None:
    want = pd.to_numeric(col, errors="coerce").astype("float64")
    pd.testing.assert_series_equal(_float_column(col), want, check_exact=True)
