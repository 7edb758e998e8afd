"""User errors are one line; anything else keeps its traceback; a switch shows both.

``precision_onco.errors`` holds the project's error types. The DVC stages
(``run_stage``) and the CLI (``main``) print a :class:`UserError` as one line naming
file, field and fix, exit 2; ``-v`` (CLI) or ``PRECISION_ONCO_TRACEBACK=1`` also print its
traceback. Any other exception is a bug and propagates with its traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from precision_onco import cli
from precision_onco.config import Config
from precision_onco.errors import (
    TRACEBACK_ENV,
    ConfigError,
    InputError,
    MissingInputError,
    UserError,
)
from precision_onco.stage import run_stage


@pytest.fixture()
def params(tmp_path: Path, project_root: Path) -> Path:
    """A valid params.yaml (the repository's composed one)."""
    out = tmp_path / "params.yaml"
    out.write_text((project_root / "params.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    return out


@pytest.fixture(autouse=True)
def _no_traceback_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TRACEBACK_ENV, raising=False)


def _bad_input(cfg: Config) -> None:
    raise InputError("data/raw/patients.csv: column 'ecog': expected 0–4, got 7; fix the row")


def test_a_stage_reports_a_user_error_in_one_line(
    params: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_stage("ingest", _bad_input, params=params) == 2
    err = capsys.readouterr().err
    assert err.endswith(
        "precision-onco ingest: error: data/raw/patients.csv: column 'ecog': expected 0–4, "
        "got 7; fix the row\n"
    )
    assert "Traceback" not in err


def test_a_stage_bug_keeps_its_traceback(params: Path) -> None:
    def body(cfg: Config) -> None:
        empty: dict[str, int] = {}
        empty["missing"]  # a bug, not the user's input

    with pytest.raises(KeyError, match="missing"):
        run_stage("train", body, params=params)


def test_a_plain_value_error_is_a_bug_not_bad_input(params: Path) -> None:
    """A pandas/numpy ValueError inside a stage is not reported as the user's mistake."""

    def body(cfg: Config) -> None:
        int("not a number")

    with pytest.raises(ValueError, match="invalid literal"):
        run_stage("featurize", body, params=params)


def test_a_missing_params_file_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_stage("train", _bad_input, params=tmp_path / "params.yaml") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("precision-onco train: error: ")
    assert "params.yaml: not found; compose it with `precision-onco config compose`" in err[-1]


def test_the_environment_switch_shows_a_stage_user_errors_traceback(
    params: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TRACEBACK_ENV, "1")
    assert run_stage("ingest", _bad_input, params=params) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "in _bad_input" in err
    assert err.strip().splitlines()[-1].startswith("precision-onco ingest: error: data/raw/")


def test_the_cli_reports_a_user_error_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["pgx"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "precision-onco: error: pgx needs --vcf FILE (germline genotypes) and/or --uracil NG_ML\n"
    )


def test_cli_verbose_shows_a_user_errors_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["-v", "pgx"]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "_cmd_pgx" in err
    assert err.strip().splitlines()[-1] == (
        "precision-onco: error: pgx needs --vcf FILE (germline genotypes) and/or --uracil NG_ML"
    )


def test_a_cli_bug_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(args: object) -> int:
        raise ZeroDivisionError("a bug in a command")

    monkeypatch.setattr(cli, "_cmd_pgx", broken)
    with pytest.raises(ZeroDivisionError, match="a bug in a command"):
        cli.main(["pgx"])


def test_the_project_errors_are_user_errors_and_keep_their_builtin_bases() -> None:
    from precision_onco.ingest.contracts import IngestError
    from precision_onco.ingest.pseudonymize import PseudonymizationError
    from precision_onco.kb.civic import CivicError
    from precision_onco.models.leakage import LeakageError
    from precision_onco.pgx import DefinitionsError, PgxInputError
    from precision_onco.recommend.patient import PayloadError
    from precision_onco.report.fhir_out.validate import FhirBundleError
    from precision_onco.report.pdf import PdfError

    for cls in (
        ConfigError,
        InputError,
        IngestError,
        PayloadError,
        FhirBundleError,
        CivicError,
        LeakageError,
        PseudonymizationError,
        DefinitionsError,
        PgxInputError,
    ):
        assert issubclass(cls, UserError) and issubclass(cls, ValueError), cls
    assert issubclass(MissingInputError, UserError) and issubclass(MissingInputError, OSError)
    assert issubclass(PdfError, UserError) and issubclass(PdfError, RuntimeError)
    from precision_onco import config

    assert config.ConfigError is ConfigError  # one type, re-exported where it is raised
