"""What ``precision-onco serve`` does before its first request, and the app's own work.

- Serving a local model file imports no MLflow and validates only the ``serve`` group of
  params.yaml (both cost seconds of the server's start).
- The app scores on its event loop: a batch stops at its time limit (503 naming
  ``request_timeout_s``) and when its client is gone (nothing more scored, no answer).
- orjson reads a body exactly as the standard library would (same document, same
  refusal and message), and writes the same document.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import joblib
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precision_onco.config import ConfigError, load_group
from precision_onco.config.schema import ServeConfig
from precision_onco.serve import ServeSettings, create_app
from precision_onco.serve.app import _encode, _HTTPError, _json_safe, _parse, _parse_std

from .asgi import post

_PROBE = textwrap.dedent(
    """
    import sys

    import precision_onco.config as config
    import precision_onco.serve.server as server

    def whole_config(*a, **k):
        raise AssertionError("the whole configuration was validated")

    def serve_app(app, **kw):
        assert "mlflow" not in sys.modules, sorted(m for m in sys.modules if "mlflow" in m)
        assert "shap" not in sys.modules
        print("probe: would serve", kw["port"], kw["workers"])

    config.validate = whole_config
    server.serve_app = serve_app
    from precision_onco.cli import main

    sys.exit(main(["serve", "--model", sys.argv[1], "--params", sys.argv[2], "--port", "5999"]))
    """
)


def test_serving_a_local_model_file_imports_no_mlflow(recommender: Any, tmp_path: Path) -> None:
    model = tmp_path / "recommender.joblib"
    joblib.dump(recommender, model)
    params = tmp_path / "params.yaml"
    # another group invalid: only the serve group is read for a local model file
    params.write_text(yaml.safe_dump({"serve": {"workers": 3}, "synth": {"no_such": 1}}))
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(model), str(params)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "probe: would serve 5999 3" in proc.stdout


def test_load_group_validates_that_group_alone(tmp_path: Path) -> None:
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump({"serve": {"port": 6001, "auth": {"required": True}}}))
    got = load_group(p, "serve")
    assert isinstance(got, ServeConfig) and got.port == 6001 and got.auth.required
    assert got.max_batch == ServeConfig().max_batch
    p.write_text(yaml.safe_dump({"paths": {}}))
    assert load_group(p, "serve") == ServeConfig()
    for bad, named in (
        ({"port": "x"}, "serve.port': wrong type"),
        ({"prot": 1}, "serve.prot': unknown key"),
        ({"auth": {"keys": "k"}}, "serve.auth.keys': unknown key"),
    ):
        p.write_text(yaml.safe_dump({"serve": bad}))
        with pytest.raises(ConfigError, match=named):
            load_group(p, "serve")
    with pytest.raises(ConfigError, match="not found"):
        load_group(tmp_path / "none.yaml", "serve")


class _Stub:
    """A recommender that takes ``seconds`` per payload and counts its calls."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds, self.calls = seconds, 0

    def recommend_payload(self, payload: Any) -> dict[str, Any]:
        self.calls += 1
        time.sleep(self.seconds)
        return {"echo": payload["n"]}

    def fingerprint(self) -> str:
        return "stub"


def test_a_batch_stops_at_its_time_limit() -> None:
    stub = _Stub(seconds=0.2)
    app = create_app(stub, ServeSettings(request_timeout_s=0.1))
    status, doc = post(app, {"inputs": [{"n": i} for i in range(4)]})
    assert status == 503 and doc["error_code"] == "TIMEOUT", doc
    assert "request_timeout_s" in doc["message"] and "after 1 of 4 payloads" in doc["message"]
    assert stub.calls == 1
    assert post(app, {"inputs": [{"n": 7}]}) == (200, {"predictions": [{"echo": 7}]})


def test_a_batch_stops_when_its_client_is_gone() -> None:
    stub = _Stub()
    app = create_app(stub, ServeSettings())
    body = json.dumps({"inputs": [{"n": i} for i in range(5)]}).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/invocations",
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")],
    }
    inbox = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0) if inbox else {"type": "http.disconnect"}  # gone at once

    async def send(msg: dict[str, Any]) -> None:
        sent.append(msg)

    asyncio.run(app(scope, receive, send))
    assert sent == [] and stub.calls < 5, (sent, stub.calls)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**62, max_value=2**70)
    | st.integers(min_value=-(2**70), max_value=-(2**62))
    | st.floats()
    | st.text(),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=5), kids, max_size=4)
    ),
    max_leaves=30,
)


def _outcome(parse: Any, body: bytes) -> str:
    try:
        return "ok " + repr(parse(body))
    except _HTTPError as exc:
        return f"error {exc.status} {exc.message}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_json, nest=st.integers(min_value=0, max_value=20))
def test_orjson_reads_a_body_as_the_standard_library(doc: Any, nest: int) -> None:
    body = ("[" * nest + json.dumps(doc) + "]" * nest).encode()
    assert _outcome(_parse, body) == _outcome(_parse_std, body)


@settings(max_examples=300, deadline=None)
@given(
    body=st.binary(max_size=60)
    | st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_orjson_refuses_what_the_standard_library_refuses(body: bytes) -> None:
    assert _outcome(_parse, body) == _outcome(_parse_std, body)


@settings(max_examples=300, deadline=None)
@given(doc=_json)
def test_orjson_writes_the_standard_document(doc: Any) -> None:
    std = json.loads(json.dumps(_json_safe(doc), allow_nan=False))
    got = json.loads(_encode(doc))
    assert repr(got) == repr(std)
    assert not any(isinstance(v, float) and not math.isfinite(v) for v in _leaves(got))


def _leaves(v: Any) -> list[Any]:
    if isinstance(v, dict):
        return [x for k in v.values() for x in _leaves(k)]
    if isinstance(v, list):
        return [x for k in v for x in _leaves(k)]
    return [v]
