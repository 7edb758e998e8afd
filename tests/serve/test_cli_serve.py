"""``precision-onco serve`` refuses to open beyond loopback without an API key."""

from __future__ import annotations

from pathlib import Path

import pytest

from precision_onco.cli import main


@pytest.mark.parametrize("extra", [["--host", "0.0.0.0"], ["--require-auth"]])
def test_serve_without_a_key_beyond_loopback_is_refused(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
) -> None:
    monkeypatch.delenv("PRECISION_ONCO_API_KEYS", raising=False)
    model = tmp_path / "recommender.joblib"
    model.write_bytes(b"")
    rc = main(["serve", "--model", str(model), "--params", str(tmp_path / "none.yaml"), *extra])
    assert rc == 2
    err = capsys.readouterr().err
    assert "an API key is required" in err and "PRECISION_ONCO_API_KEYS" in err
