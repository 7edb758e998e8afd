"""The pipeline's MLflow client on a locked SQLite store: retried with backoff, then one line.

A real MLflow SQLite store is created, then another connection holds an exclusive
lock on it (as a second process writing to ``mlruns.db`` would). MLflow's own SQLite
busy timeout (20 s) is outlived on purpose, so that the retries are exercised: the
tests mostly sleep (about 45 s in all).
"""

from __future__ import annotations

import copy
import logging
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from precision_onco.config import Config
from precision_onco.models import tracking
from precision_onco.models.tracking import StoreLockedError, use_experiment
from precision_onco.stage import UserError

pytestmark = pytest.mark.slow


def _hold_lock(db: Path, seconds: float, held: threading.Event) -> None:
    con = sqlite3.connect(db, timeout=0, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    held.set()
    time.sleep(seconds)
    con.execute("COMMIT")
    con.close()


@pytest.fixture()
def store(tmp_path: Path, default_config: Config) -> tuple[Config, Path]:
    cfg = copy.deepcopy(default_config)
    db = tmp_path / "mlruns.db"
    cfg.tracking.uri = f"sqlite:///{db}"
    cfg.tracking.experiment = "locked_store_test"
    use_experiment(cfg, tmp_path)  # creates the store and the experiment
    return cfg, db


def _locked(db: Path, seconds: float) -> threading.Thread:
    held = threading.Event()
    t = threading.Thread(target=_hold_lock, args=(db, seconds, held))
    t.start()
    assert held.wait(10)
    return t


def test_a_locked_store_is_retried_and_the_run_goes_on(
    store: tuple[Config, Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg, db = store
    monkeypatch.setattr(tracking, "STORE_FIRST_WAIT_S", 0.5)
    locker = _locked(db, 23.0)  # longer than MLflow's busy timeout: the first try fails
    with caplog.at_level(logging.WARNING):
        client = use_experiment(cfg, tmp_path)
    locker.join()
    assert client.get_experiment_by_name("locked_store_test") is not None
    assert "the tracking store is locked; retry 1/" in caplog.text


def test_a_store_locked_for_too_long_is_one_line(
    store: tuple[Config, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, db = store
    monkeypatch.setattr(tracking, "STORE_RETRIES", 0)
    locker = _locked(db, 22.0)
    try:
        with pytest.raises(StoreLockedError) as info:
            use_experiment(cfg, tmp_path)
    finally:
        locker.join()
    msg = str(info.value)
    assert isinstance(info.value, UserError)  # the stage prints it without a traceback
    assert "\n" not in msg
    assert msg.startswith(f"tracking store sqlite:///{db}: still locked after 0 retries (")
    assert "opening experiment 'locked_store_test'" in msg and "run again" in msg
