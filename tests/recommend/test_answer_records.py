"""The answer's rows, taken column by column, equal pandas' records once JSON-ready."""

from __future__ import annotations

import numpy as np
import pandas as pd

from precision_onco.jsonable import json_value
from precision_onco.recommend.service import _records


def test_records_equal_pandas_records_as_json() -> None:
    frame = pd.DataFrame(
        {
            "rank": np.array([1, 2, 3], dtype="int64"),
            "regimen_id": pd.array(["a", None, "c"], dtype="string"),
            "name": ["x", "y", None],
            "utility": [0.5, np.nan, np.inf],
            "distinguishable": [True, False, True],
            "n": pd.array([1, None, 3], dtype="Int64"),
            "when": pd.to_datetime(["2024-01-02", None, "2024-03-04"]),
            "mixed": pd.Series([1, "b", None], dtype=object),
            "small": np.array([1, 0, 1], dtype="int8"),
        }
    )
    want = [{k: json_value(v) for k, v in r.items()} for r in frame.to_dict(orient="records")]
    got = [{k: json_value(v) for k, v in r.items()} for r in _records(frame)]
    assert got == want
    assert [list(r) for r in got] == [list(r) for r in want]  # same keys, same order
    assert _records(frame.iloc[0:0]) == []
    assert _records(pd.DataFrame()) == []
