"""`precision-onco recommend` error paths: argparse usage errors and one-line messages, exit 2."""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from precision_onco.cli import main
from precision_onco.config import Config, to_yaml

KEY_ENV = "PRECISION_ONCO_PSEUDONYM_KEY"
#: A log record on stderr, as configured by ``configure_logging``.
LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d (DEBUG|INFO|WARNING) [\w.]+: ")
MLFLOW_LOG = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (DEBUG|INFO|WARNING) [\w.]+: ")

CLINICAL: dict[str, Any] = {
    "patient": {
        "patient_id": "MRN-5150",
        "sex": "F",
        "cancer_type": "NSCLC",
        "stage": "IV",
        "ecog": 1,
    },
    "lines": [{"line_number": 1, "regimen_id": "carboplatin_pemetrexed", "best_response": "SD"}],
}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The demo key; the logging and MLflow tracking URI that ``main`` changes are restored."""
    import mlflow

    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    uri = mlflow.get_tracking_uri()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    mlflow.set_tracking_uri(uri)


@pytest.fixture
def params(tmp_path: Path, default_config: Config) -> Path:
    """params.yaml pointing at an empty tracking store in ``tmp_path``."""
    cfg = copy.deepcopy(default_config)
    cfg.tracking.uri = f"sqlite:///{tmp_path}/mlruns.db"
    cfg.tracking.artifact_location = str(tmp_path / "mlartifacts")
    path = tmp_path / "params.yaml"
    path.write_text(to_yaml(cfg), encoding="utf-8")
    return path


def _clinical(tmp_path: Path, doc: Any = CLINICAL, name: str = "patient.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    """The one error line on stderr: the last one, after any log records (ours or MLflow's)."""
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("precision-onco: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], err
    assert all(LOG_LINE.match(ln) or MLFLOW_LOG.match(ln) for ln in lines[:-1]), err
    return errors[0]


def test_missing_clinical_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["recommend", "--line", "2"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "the following arguments are required: --clinical" in err


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["recommend", "--clinical", "x.json"], "--line"),
        (["recommend", "--clinical", "x.json", "--line", "two"], "invalid int value: 'two'"),
        (
            [
                "recommend",
                "--clinical",
                "x.json",
                "--line",
                "1",
                "--vcf",
                "a.vcf",
                "--maf",
                "b.maf",
            ],
            "not allowed with argument",
        ),
    ],
)
def test_usage_errors(argv: list[str], text: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert text in capsys.readouterr().err


def test_an_unknown_model_says_to_run_the_pipeline(
    tmp_path: Path, params: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    rc = main(
        [
            "recommend",
            "--clinical",
            str(_clinical(tmp_path)),
            "--line",
            "2",
            "--out",
            str(out),
            "--params",
            str(params),
            "--model",
            "models:/no_such_model@champion",
        ]
    )
    assert rc == 2
    msg = _error(capsys)
    assert "cannot load the recommender models:/no_such_model@champion" in msg
    assert "`dvc repro`" in msg
    assert not out.exists() or not any(out.iterdir())  # nothing written


def test_an_empty_registry_names_the_default_champion(
    tmp_path: Path, params: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "recommend",
            "--clinical",
            str(_clinical(tmp_path)),
            "--line",
            "2",
            "--out",
            str(tmp_path / "out"),
            "--params",
            str(params),
        ]
    )
    assert rc == 2
    msg = _error(capsys)
    assert "models:/precision_onco_synthetic_recommender@champion" in msg and "`dvc repro`" in msg


def test_a_missing_clinical_file(
    tmp_path: Path, params: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "recommend",
            "--clinical",
            str(tmp_path / "absent.json"),
            "--line",
            "2",
            "--params",
            str(params),
        ]
    )
    assert rc == 2
    assert "absent.json: file not found" in _error(capsys)


def test_a_malformed_clinical_field_is_named(
    tmp_path: Path, params: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = copy.deepcopy(CLINICAL)
    doc["patient"]["ecog"] = 7
    rc = main(
        [
            "recommend",
            "--clinical",
            str(_clinical(tmp_path, doc)),
            "--line",
            "2",
            "--params",
            str(params),
        ]
    )
    assert rc == 2
    msg = _error(capsys)
    assert "patient.ecog: expected 0–4, got 7" in msg
    assert "MRN-5150" not in msg


def test_a_raw_identifier_in_the_clinical_file_is_refused(
    tmp_path: Path, params: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = copy.deepcopy(CLINICAL)
    doc["patient"]["mrn"] = "0042"
    rc = main(
        [
            "recommend",
            "--clinical",
            str(_clinical(tmp_path, doc)),
            "--line",
            "2",
            "--params",
            str(params),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert rc == 2
    assert "patient.mrn: raw identifiers are not accepted" in _error(capsys)
    assert not (tmp_path / "out").exists()


def test_line_zero_is_refused(
    tmp_path: Path, params: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "recommend",
            "--clinical",
            str(_clinical(tmp_path)),
            "--line",
            "0",
            "--params",
            str(params),
        ]
    )
    assert rc == 2
    assert "line_number: expected 1–30, got 0" in _error(capsys)


def test_a_maf_of_many_samples_needs_sample(
    tmp_path: Path, params: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    maf = shared_data / "maf" / "tcga_laml.maf.gz"
    if not maf.is_file():
        pytest.skip(f"{maf} absent (shared test data)")
    rc = main(
        [
            "recommend",
            "--maf",
            str(maf),
            "--clinical",
            str(_clinical(tmp_path)),
            "--line",
            "2",
            "--params",
            str(params),
        ]
    )
    assert rc == 2
    msg = _error(capsys)
    assert "choose one with --sample" in msg and "193 tumour samples" in msg


def test_a_variant_file_that_is_neither_vcf_nor_maf(
    tmp_path: Path, params: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "tumour.vcf"
    bad.write_text("chr1\t100\tA\tT\n", encoding="utf-8")
    rc = main(
        [
            "recommend",
            "--vcf",
            str(bad),
            "--clinical",
            str(_clinical(tmp_path)),
            "--line",
            "2",
            "--params",
            str(params),
        ]
    )
    assert rc == 2
    assert "tumour.vcf: neither a VCF" in _error(capsys)


def test_an_explicit_params_file_must_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clinical = tmp_path / "c.json"
    clinical.write_text('{"patient": {"sex": "F", "cancer_type": "NSCLC"}}', encoding="utf-8")
    rc = main(
        [
            "recommend",
            "--clinical",
            str(clinical),
            "--line",
            "1",
            "--params",
            str(tmp_path / "nope.yaml"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "--params" in err and "nope.yaml: no such file" in err


def test_a_server_side_failure_is_an_internal_error_not_a_bad_request(small_recommender) -> None:
    from mlflow.exceptions import MlflowException

    from precision_onco.recommend.pyfunc import RecommenderPyfunc

    _, _, recommender = small_recommender

    class Broken(type(recommender)):  # type: ignore[misc]
        def recommend(self, case, preset=None):
            raise RuntimeError("boom")

    py = RecommenderPyfunc()
    fields = recommender.__dataclass_fields__
    py.recommender = Broken(**{f: getattr(recommender, f) for f in fields})
    payload = {"patient": {"sex": "F", "cancer_type": "NSCLC"}, "line_number": 1}
    with pytest.raises(MlflowException) as info:
        py.predict(None, [payload])
    assert info.value.get_http_status_code() == 500 and "boom" not in info.value.message
    with pytest.raises(MlflowException) as bad:
        py.predict(None, [{"patient": {"sex": "Q", "cancer_type": "NSCLC"}, "line_number": 1}])
    assert bad.value.get_http_status_code() == 400 and "patient.sex" in bad.value.message
