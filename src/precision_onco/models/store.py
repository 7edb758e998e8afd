"""Opening the tracking store with retries: a locked SQLite store waits, then says so."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["is_locked", "with_store_retry"]

log = logging.getLogger(__name__)

T = TypeVar("T")


def is_locked(exc: BaseException) -> bool:
    """Whether ``exc`` (or its cause) is SQLite's "database is locked"."""
    seen: BaseException | None = exc
    while seen is not None:
        if "database is locked" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def with_store_retry(
    fn: Callable[[], T], *, what: str, retries: int = 5, first_wait_s: float = 0.5
) -> T:
    """``fn()``, retried with exponential backoff while the store is locked.

    After the last retry the error is raised again; one log line says how long it waited.
    """
    wait = first_wait_s
    for attempt in range(retries + 1):
        try:
            return fn()
        except Exception as exc:
            if not is_locked(exc) or attempt == retries:
                if is_locked(exc):
                    log.error(
                        "%s: the tracking store is still locked after %d retries", what, retries
                    )
                raise
            log.warning(
                "%s: the tracking store is locked; retry %d/%d in %.1f s",
                what,
                attempt + 1,
                retries,
                wait,
            )
            time.sleep(wait)
            wait *= 2
    raise AssertionError("unreachable")
