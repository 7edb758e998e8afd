"""Values as JSON can hold them (used by the recommendation table, the answers and reports)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["json_value"]


def json_value(v: Any) -> Any:
    """A feature value as JSON can hold it (NaN and NA as null)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v if isinstance(v, str | int | float | bool) else str(v)
