"""The registered recommender served by `mlflow models serve`: same answers as the CLI, 4xx errors.

No mocks: the small cohort's recommender is logged and registered in a SQLite
tracking store, served over HTTP on a free local port, and queried with urllib.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from precision_onco.cli import main
from precision_onco.config import Config, to_yaml
from precision_onco.recommend.pyfunc import log_recommender
from precision_onco.recommend.service import Recommender

pytestmark = pytest.mark.slow

MODEL_URI = "models:/precision_onco_synthetic_recommender@champion"
KEY_ENV = "PRECISION_ONCO_PSEUDONYM_KEY"
RAW_ID = "MRN-7731-DOE"
STARTUP_SECONDS = 180


@dataclass
class Served:
    cfg: Config
    recommender: Recommender
    tmp: Path
    uri: str
    params: Path
    url: str
    first: dict[str, Any]
    second: dict[str, Any]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, body: bytes | dict[str, Any]) -> tuple[int, str]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(
        f"{url}/invocations", data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server and its uvicorn child (their own process group, started here)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def served(
    small_recommender: tuple[Config, Any, Recommender], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    import mlflow

    base_cfg, _, recommender = small_recommender
    tmp = tmp_path_factory.mktemp("serving")
    cfg = copy.deepcopy(base_cfg)
    uri = f"sqlite:///{tmp}/mlruns.db"
    cfg.tracking.uri = uri
    cfg.tracking.artifact_location = str(tmp / "mlartifacts")
    previous_uri = mlflow.get_tracking_uri()
    first = log_recommender(recommender, cfg, root=tmp)
    second = log_recommender(recommender, cfg, root=tmp)
    params = tmp / "params.yaml"
    params.write_text(to_yaml(cfg), encoding="utf-8")
    port = _free_port()
    log_path = tmp / "serve.log"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": uri,
        # `mlflow models serve --env-manager local` execs `uvicorn` from PATH
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop(KEY_ENV, None)
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "models",
        "serve",
        "-m",
        MODEL_URI,
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"the model server exited with code {proc.returncode}:\n"
                    f"{log_path.read_text(errors='replace')[-5000:]}"
                )
            try:
                with urllib.request.urlopen(f"{url}/ping", timeout=5) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the model server did not answer /ping within {STARTUP_SECONDS} s:"
                    f"\n{log_path.read_text(errors='replace')[-5000:]}"
                )
            time.sleep(1)
        yield Served(cfg, recommender, tmp, uri, params, url, first, second)
    finally:
        _stop(proc)
        mlflow.set_tracking_uri(previous_uri)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, served: Served) -> Iterator[None]:
    """The CLI's environment; restores the logging that ``main`` reconfigures."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", served.uri)
    monkeypatch.delenv(KEY_ENV, raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def nsclc_clinical(cancer_type: str = "NSCLC") -> dict[str, Any]:
    return {
        "patient": {
            "patient_id": RAW_ID,
            "sex": "M",
            "cancer_type": cancer_type,
            "oncotree_code": "LUAD",
            "stage": "IV",
            "ecog": 1,
            "alk_status": "negative",
        },
        "lines": [
            {
                "line_number": 1,
                "regimen_id": "carboplatin_pemetrexed",
                "best_response": "PR",
                "ae_hematologic_max_grade": 2,
            },
            {
                "line_number": 2,
                "albumin": 3.6,
                "creatinine_clearance": 80,
                "pdl1_tps": 20,
                "bilirubin": 0.6,
            },
        ],
    }


def payload(cancer_type: str = "NSCLC") -> dict[str, Any]:
    """A pseudonymized payload (as the CLI writes it) with a KRAS G12C variant."""
    p = nsclc_clinical(cancer_type)
    p["patient"].pop("patient_id")
    p["patient"]["patient_key"] = "pk_00000000000000000000c003"
    return {
        **p,
        "line_number": 2,
        "variants": [{"gene": "KRAS", "hgvsp": "p.G12C", "vaf": 0.2, "depth": 90}],
    }


def _close(a: Any, b: Any, where: str = "answer") -> None:
    """``a`` equals ``b``, floats to 1e-9."""
    if isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=0, abs=1e-9), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (where, sorted(a), sorted(b))
        for k in a:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{i}]")
    else:
        assert a == b, (where, a, b)


def _written(out: Path, key: str, line: int, suffix: str) -> Path:
    """The CLI's ``<key>.line<N><suffix>`` output."""
    return out / f"{key}.line{line}{suffix}"


def test_registered_once_with_the_champion_alias(served: Served) -> None:
    assert served.first["registered"] is True and served.first["version"] == 1
    assert served.first["model"] == "precision_onco_synthetic_recommender"
    # the same recommender again: no new version
    assert served.second["registered"] is False
    assert served.second["version"] == served.first["version"]
    assert served.second["fingerprint"] == served.first["fingerprint"]
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=served.uri)
    versions = client.search_model_versions("name='precision_onco_synthetic_recommender'")
    assert [str(v.version) for v in versions] == ["1"]
    aliases = client.get_registered_model("precision_onco_synthetic_recommender").aliases
    assert {k: str(v) for k, v in aliases.items()} == {"champion": "1"}
    mv = client.get_model_version_by_alias("precision_onco_synthetic_recommender", "champion")
    assert mv.tags["fingerprint"] == served.recommender.fingerprint()


def test_cli_and_server_give_the_same_answer(
    served: Served, cli_env: None, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vcf = shared_data / "vcf" / "A25.mutect2.vep.vcf"
    if not vcf.is_file():
        pytest.skip(f"{vcf} absent (shared test data)")
    clinical = served.tmp / "cli_patient.json"
    clinical.write_text(json.dumps(nsclc_clinical()), encoding="utf-8")
    out = served.tmp / "out"
    rc = main(
        [
            "recommend",
            "--vcf",
            str(vcf),
            "--clinical",
            str(clinical),
            "--line",
            "2",
            "--out",
            str(out),
            "--params",
            str(served.params),
            "--model",
            MODEL_URI,
        ]
    )
    printed = capsys.readouterr()
    assert rc == 0, printed.err
    (payload_path,) = out.glob("*.line2.payload.json")
    key = payload_path.name.removesuffix(".line2.payload.json")
    assert key.startswith("pk_")
    assert (out / f"{key}.line2.excluded.parquet").is_file()
    answer_path = _written(out, key, 2, ".json")
    sent = json.loads(payload_path.read_text(encoding="utf-8"))
    cli = json.loads(answer_path.read_text(encoding="utf-8"))
    assert RAW_ID not in payload_path.read_text() and RAW_ID not in answer_path.read_text()
    assert RAW_ID not in printed.out
    assert len(sent["variants"]) == 420  # the A25 tumour's PASS variants with a gene
    assert cli["status"] == "ranked" and cli["patient_key"] == key
    assert "variant records not used: 1007 not PASS" in printed.out
    assert f"{key}, line 2, preset balanced:" in printed.out

    status, body = _post(served.url, {"inputs": [sent]})
    assert status == 200, body
    predictions = json.loads(body)["predictions"]
    assert len(predictions) == 1
    got = predictions[0]
    for k in ("status", "patient_key", "line_number", "preset", "message"):
        assert got[k] == cli[k], k
    assert [r["regimen_id"] for r in got["ranked"]] == [r["regimen_id"] for r in cli["ranked"]]
    assert [r["rank"] for r in got["ranked"]] == [r["rank"] for r in cli["ranked"]]
    for g, c in zip(got["ranked"], cli["ranked"], strict=True):
        for col in [k for k in c if k.startswith("p_") or k.startswith("utility")]:
            assert g[col] == pytest.approx(c[col], rel=0, abs=1e-9), (c["regimen_id"], col)
        assert g["drivers"] == c["drivers"] and g["evidence"] == c["evidence"]
    assert got["excluded"] == cli["excluded"]
    _close(got, cli)
    ranked = pd.read_parquet(_written(out, key, 2, ".parquet"))
    assert list(ranked["regimen_id"]) == [r["regimen_id"] for r in cli["ranked"]]


def test_cli_for_a_cancer_type_outside_the_catalog(
    served: Served, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    clinical = served.tmp / "gbm_patient.json"
    clinical.write_text(json.dumps(nsclc_clinical("GBM")), encoding="utf-8")
    out = served.tmp / "out_gbm"
    rc = main(
        [
            "recommend",
            "--clinical",
            str(clinical),
            "--line",
            "2",
            "--out",
            str(out),
            "--params",
            str(served.params),
        ]
    )  # the default model: the registry's champion
    printed = capsys.readouterr()
    assert rc == 0, printed.err
    (payload_path,) = out.glob("*.line2.payload.json")
    key = payload_path.name.removesuffix(".line2.payload.json")
    cli = json.loads(_written(out, key, 2, ".json").read_text(encoding="utf-8"))
    assert cli["status"] == "cancer_type_not_in_catalog"
    assert cli["ranked"] == [] and cli["excluded"] == []
    assert "cancer type 'GBM' is not in the therapy catalog" in printed.out


def test_cli_writes_the_documented_file_names(
    served: Served, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    clinical = served.tmp / "names_patient.json"
    clinical.write_text(json.dumps(nsclc_clinical()), encoding="utf-8")
    out = served.tmp / "out_names"
    rc = main(
        [
            "recommend",
            "--clinical",
            str(clinical),
            "--line",
            "2",
            "--out",
            str(out),
            "--params",
            str(served.params),
            "--model",
            MODEL_URI,
        ]
    )
    printed = capsys.readouterr()
    assert rc == 0, printed.err
    (payload_path,) = out.glob("*.line2.payload.json")
    key = payload_path.name.removesuffix(".line2.payload.json")
    assert f"wrote {out / key}.line2.json, {out / key}.line2.parquet" in printed.out
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{key}.line2{s}"
        for s in (".json", ".parquet", ".payload.json", ".excluded.parquet", ".en.html")
    )


def test_server_matches_the_recommender_in_process(served: Served) -> None:
    status, body = _post(served.url, {"inputs": [payload()]})
    assert status == 200, body
    _close(json.loads(body)["predictions"][0], served.recommender.recommend_payload(payload()))


def test_two_payloads_in_one_request_get_two_predictions(served: Served) -> None:
    status, body = _post(served.url, {"inputs": [payload(), payload("GBM")]})
    assert status == 200, body
    first, second = json.loads(body)["predictions"]
    assert first["status"] == "ranked" and len(first["ranked"]) >= 2
    assert second["status"] == "cancer_type_not_in_catalog"
    _, single = _post(served.url, {"inputs": [payload()]})
    _close(first, json.loads(single)["predictions"][0])


def _malformed_line() -> dict[str, Any]:
    p = payload()
    p["lines"] = [{"line_number": 1}]
    return p


def _bad_sex() -> dict[str, Any]:
    p = payload()
    p["patient"]["sex"] = "Q"
    return p


@pytest.mark.parametrize(
    ("body", "named"),
    [
        pytest.param(
            {"inputs": [{"patient": {"sex": "Q"}}]}, "payload.line_number", id="no_line_number"
        ),
        pytest.param({"inputs": [_bad_sex()]}, "patient.sex: expected one of M, F", id="sex_Q"),
        pytest.param(
            {"inputs": [_malformed_line()]},
            "lines[0].regimen_id: missing",
            id="earlier_line_without_regimen",
        ),
        pytest.param({"inputs": [payload(), _bad_sex()]}, "inputs[1]: patient.sex", id="second"),
        pytest.param(
            {"inputs": [{**payload(), "preset": "cautious"}]},
            "preset: unknown preset 'cautious'",
            id="unknown_preset",
        ),
        pytest.param(
            {"inputs": [{**payload(), "patient": {**payload()["patient"], "patient_id": RAW_ID}}]},
            "patient.patient_id: raw identifiers are not accepted",
            id="raw_identifier",
        ),
        pytest.param(b"not json", "JSON", id="not_json"),
        pytest.param({"wrong": 1}, "inputs", id="no_inputs_key"),
    ],
)
def test_malformed_requests_get_a_4xx_naming_the_problem(
    served: Served, body: Any, named: str
) -> None:
    status, text = _post(served.url, body)
    assert 400 <= status < 500, (status, text)
    error = json.loads(text)
    assert error["error_code"] in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"), error
    assert named in error["message"], error["message"]
    assert "Traceback" not in text


def test_cli_fhir_and_the_served_fhir_format_give_valid_bundles(
    served: Served, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from precision_onco.ingest.fhir import read_fhir_bundle
    from precision_onco.report.fhir_out import validate_bundle

    clinical = served.tmp / "fhir_patient.json"
    clinical.write_text(json.dumps(nsclc_clinical()), encoding="utf-8")
    out = served.tmp / "out_fhir"
    rc = main(
        [
            "recommend",
            "--clinical",
            str(clinical),
            "--line",
            "2",
            "--out",
            str(out),
            "--params",
            str(served.params),
            "--model",
            MODEL_URI,
            "--fhir",
        ]
    )
    printed = capsys.readouterr()
    assert rc == 0, printed.err
    (path,) = out.glob("*.line2.fhir.json")
    key = path.name.removesuffix(".line2.fhir.json")
    mhd = out / f"{key}.line2.mhd.json"
    for f in (path, mhd):
        text = f.read_text(encoding="utf-8")
        assert RAW_ID not in text
        validate_bundle(json.loads(text))
    assert f"{key}.line2.fhir.json" in printed.out
    back = read_fhir_bundle(path, catalog=served.cfg.catalog)
    assert list(back.patients["patient_id"]) == [key]
    assert list(back.patients["cancer_type"]) == ["NSCLC"]

    # with the hospital's identifier mapping (off by default), the Patient carries it too
    ids = served.tmp / "ids.csv"
    ids.write_text(
        f"patient_key,system,value\n{key},urn:oid:1.2.250.1.213.1.4.8,1234567890123\n",
        encoding="utf-8",
    )
    rc = main(
        [
            "recommend",
            "--clinical",
            str(clinical),
            "--line",
            "2",
            "--out",
            str(out),
            "--params",
            str(served.params),
            "--model",
            MODEL_URI,
            "--fhir",
            "--fhir-identifiers",
            str(ids),
        ]
    )
    assert rc == 0, capsys.readouterr().err
    mapped = json.loads(path.read_text(encoding="utf-8"))
    (patient,) = [
        e["resource"] for e in mapped["entry"] if e["resource"]["resourceType"] == "Patient"
    ]
    assert {
        "use": "official",
        "system": "urn:oid:1.2.250.1.213.1.4.8",
        "value": "1234567890123",
    } in patient["identifier"]
    assert RAW_ID not in path.read_text(encoding="utf-8")

    status, body = _post(served.url, {"inputs": [{**payload(), "format": "fhir"}]})
    assert status == 200, body
    (bundle,) = json.loads(body)["predictions"]
    assert bundle["resourceType"] == "Bundle"
    validate_bundle(bundle)
    status, body = _post(served.url, {"inputs": [{**payload(), "format": "xml"}]})
    assert status == 400 and "format: expected one of json, fhir" in body
