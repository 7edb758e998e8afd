"""External knowledge bases linked to recommendations (CIViC clinical evidence)."""

from __future__ import annotations

from precision_onco.kb.civic import (
    ITEM_KEYS,
    REQUIRED_COLUMNS,
    CivicError,
    CivicKB,
    civic_version,
)

__all__ = ["ITEM_KEYS", "REQUIRED_COLUMNS", "CivicError", "CivicKB", "civic_version"]
