"""A locked SQLite tracking store at start is retried with backoff, then opens."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from precision_onco.models.store import is_locked, with_store_retry


def _hold_lock(db: Path, seconds: float, held: threading.Event) -> None:
    con = sqlite3.connect(db, timeout=0, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    held.set()
    time.sleep(seconds)
    con.execute("COMMIT")
    con.close()


def test_a_locked_store_is_retried_then_opens(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "mlruns.db"
    sqlite3.connect(db).execute("CREATE TABLE t (x INTEGER)").connection.commit()
    held = threading.Event()
    locker = threading.Thread(target=_hold_lock, args=(db, 1.5, held))
    locker.start()
    held.wait(5)

    def open_store() -> list[tuple[int]]:
        con = sqlite3.connect(db, timeout=0.05)
        try:
            return con.execute("SELECT count(*) FROM t").fetchall()
        finally:
            con.close()

    with pytest.raises(sqlite3.OperationalError) as info:
        open_store()
    assert is_locked(info.value)
    with caplog.at_level(logging.WARNING, logger="precision_onco.models.store"):
        rows = with_store_retry(open_store, what="opening the store", retries=6, first_wait_s=0.2)
    locker.join()
    assert rows == [(0,)]
    assert "the tracking store is locked; retry 1/6" in caplog.text


def test_a_store_locked_for_too_long_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "mlruns.db"
    sqlite3.connect(db).execute("CREATE TABLE t (x INTEGER)").connection.commit()
    held = threading.Event()
    locker = threading.Thread(target=_hold_lock, args=(db, 2.0, held))
    locker.start()
    held.wait(5)
    with caplog.at_level(logging.WARNING), pytest.raises(sqlite3.OperationalError):
        with_store_retry(
            lambda: sqlite3.connect(db, timeout=0.01).execute("SELECT count(*) FROM t").fetchall(),
            what="opening the store",
            retries=2,
            first_wait_s=0.1,
        )
    locker.join()
    assert "still locked after 2 retries" in caplog.text
