"""The server's own cost per request: HTTP, JSON, checks and logging around a ~0 ms model.

A stub recommender answers every payload with one precomputed real answer (the small
cohort's recommender's answer for the NSCLC example, built once by bench_serve.py), so
what is timed is everything ``precision-onco serve`` adds to the model: reading and
checking the body, JSON decoding and encoding, the scoring thread, the Host/auth checks
and the access log. Two figures per endpoint (target: < 1 ms per request):

- in process: the ASGI app called directly on one event loop (no sockets), mean µs;
- over loopback: one uvicorn worker under gunicorn's arbiter (the production stack),
  sequential keep-alive requests from ``http.client``, p50 and mean µs (this includes
  the client's own Python time).

Usage: python bench/bench_http.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ANSWER = ROOT / "bench" / "results" / "serve" / "answer.json"


class StubRecommender:
    """The recommender interface the app uses, answering in ~0 ms."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer

    def recommend_payload(self, payload: Any) -> dict[str, Any]:
        return self.answer

    def fingerprint(self) -> str:
        return "stub"


def _answer() -> dict[str, Any]:
    """The real answer for the example payload (computed once, then cached)."""
    if ANSWER.is_file():
        return dict(json.loads(ANSWER.read_text(encoding="utf-8")))
    sys.path.insert(0, str(ROOT / "bench"))
    import joblib
    from bench_serve import PAYLOAD, _build

    rec = joblib.load(_build()[0])
    answer = rec.recommend_payload(PAYLOAD)
    ANSWER.write_text(json.dumps(answer), encoding="utf-8")
    return dict(answer)


def _serve_stub(port: int) -> None:
    import logging.config

    from precision_onco.serve import ServeSettings, create_app
    from precision_onco.serve.server import _log_config, serve_app

    logging.config.dictConfig(_log_config("INFO"))  # the access log as served (to /dev/null)
    app = create_app(StubRecommender(_answer()), ServeSettings())
    serve_app(app, port=port, workers=1, label="the stub recommender")


def _in_process(app: Any, method: str, path: str, body: bytes, n: int) -> float:
    """Mean µs of one request to ``app`` called directly (one event loop)."""
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(b"host", b"127.0.0.1:5001"), (b"content-type", b"application/json")],
    }

    async def one() -> None:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)  # no disconnect: the client stays
            return {"type": "http.disconnect"}

        statuses: list[int] = []

        async def send(msg: dict[str, Any]) -> None:
            if msg["type"] == "http.response.start":
                statuses.append(msg["status"])

        await app(scope, receive, send)
        assert statuses == [200], statuses

    async def loop() -> float:
        for _ in range(50):
            await one()
        t = time.perf_counter()
        for _ in range(n):
            await one()
        return (time.perf_counter() - t) / n * 1e6

    return asyncio.run(loop())


def _over_http(port: int, method: str, path: str, body: bytes, n: int) -> tuple[float, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    times = []
    for i in range(n + 50):
        t = time.perf_counter()
        conn.request(method, path, body if method == "POST" else None, headers)
        resp = conn.getresponse()
        resp.read()
        if i >= 50:
            times.append(time.perf_counter() - t)
        assert resp.status == 200, resp.status
    times.sort()
    return times[len(times) // 2] * 1e6, sum(times) / len(times) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--serve-stub", type=int, help=argparse.SUPPRESS)  # the server's side
    args = ap.parse_args()
    if args.serve_stub:
        _serve_stub(args.serve_stub)
        return
    from bench_serve import PAYLOAD

    from precision_onco.serve import ServeSettings, create_app

    # the access log written as served, to /dev/null
    logger = logging.getLogger("precision_onco")
    logger.addHandler(logging.StreamHandler(open(os.devnull, "w")))  # noqa: SIM115
    logger.setLevel(logging.INFO)
    logger.propagate = False
    answer = _answer()
    body = json.dumps({"inputs": [PAYLOAD]}).encode()
    app = create_app(StubRecommender(answer), ServeSettings())
    n = args.requests
    print(f"request body {len(body)} bytes, answer {len(json.dumps(answer))} bytes; load {_load()}")
    for method, path, b in (("GET", "/ping", b""), ("POST", "/invocations", body)):
        mean = _in_process(app, method, path, b, n)
        print(f"in process   {method:4s} {path:13s} mean {mean:7.1f} µs")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve-stub", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _over_http(port, "GET", "/ready", b"", 1)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the stub server did not start") from None
                time.sleep(0.1)
        for method, path, b in (("GET", "/ping", b""), ("POST", "/invocations", body)):
            p50, mean = _over_http(port, method, path, b, n)
            print(f"over HTTP    {method:4s} {path:13s} p50 {p50:7.1f} µs, mean {mean:7.1f} µs")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    print(f"load {_load()}")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
