"""Keyed pseudonymization: stable, keyed, and never without a key for real cohorts."""

from __future__ import annotations

from pathlib import Path

import pytest

from precision_onco.config.schema import PseudonymizationConfig
from precision_onco.ingest.pseudonymize import (
    DEMO_KEY,
    PseudonymizationError,
    pseudonymize,
    resolve_key,
)


def test_same_id_same_key_same_pseudonym() -> None:
    a = pseudonymize(["PT0000001", "PT0000002"], b"k" * 32)
    assert a == pseudonymize(["PT0000001", "PT0000002"], b"k" * 32)
    assert a[0] != a[1] and all(x.startswith("pk_") and len(x) == 27 for x in a)
    assert "PT0000001" not in a[0]
    assert a != pseudonymize(["PT0000001", "PT0000002"], b"j" * 32)


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PO_TEST_KEY", "x" * 40)
    cfg = PseudonymizationConfig(key_env="PO_TEST_KEY")
    assert resolve_key(cfg, synthetic=False) == b"x" * 40


def test_real_cohort_without_key_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PO_TEST_KEY", raising=False)
    cfg = PseudonymizationConfig(key_env="PO_TEST_KEY", allow_demo_key=True)
    with pytest.raises(PseudonymizationError, match="set the environment variable PO_TEST_KEY"):
        resolve_key(cfg, synthetic=False)


def test_synthetic_cohort_may_use_demo_key(monkeypatch, caplog) -> None:
    monkeypatch.delenv("PO_TEST_KEY", raising=False)
    cfg = PseudonymizationConfig(key_env="PO_TEST_KEY", allow_demo_key=True)
    assert resolve_key(cfg, synthetic=True) == DEMO_KEY
    assert "demo key" in caplog.text


def test_short_key_and_key_inside_project(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PO_TEST_KEY", "short")
    with pytest.raises(PseudonymizationError, match="at least 16"):
        resolve_key(PseudonymizationConfig(key_env="PO_TEST_KEY"), synthetic=False)
    monkeypatch.delenv("PO_TEST_KEY")
    keyfile = tmp_path / "key.txt"
    keyfile.write_text("y" * 32)
    cfg = PseudonymizationConfig(key_env="PO_TEST_KEY", key_file=str(keyfile))
    with pytest.raises(PseudonymizationError, match="inside the project"):
        resolve_key(cfg, synthetic=False, project_root=tmp_path)
    assert resolve_key(cfg, synthetic=False, project_root=tmp_path / "elsewhere") == b"y" * 32
    with pytest.raises(PseudonymizationError, match="does not exist"):
        resolve_key(
            PseudonymizationConfig(key_env="PO_TEST_KEY", key_file=str(tmp_path / "nope")),
            synthetic=False,
        )
