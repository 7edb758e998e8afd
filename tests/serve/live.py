"""A real ``precision-onco serve`` on loopback for the load tests: started as a subprocess
with two worker processes, posted to over HTTP by concurrent clients (no mocks)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

STARTUP_SECONDS = 180


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, doc: Any, timeout: float = 60) -> tuple[int, str]:
    """``(status, body text)`` of one POST of ``doc`` to ``url``'s ``/invocations``."""
    req = urllib.request.Request(
        f"{url}/invocations",
        data=json.dumps(doc).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def canonical(body: str) -> str:
    """An answer's JSON text with sorted keys, to compare answers."""
    return json.dumps(json.loads(body), sort_keys=True)


def worker_pids(pid: int) -> set[int]:
    """The server's worker processes: the live children the master forked, from /proc."""
    out = set()
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            continue
        if state != "Z":  # a killed worker not reaped yet is not a worker
            out.add(int(child))
    return out


class Server:
    def __init__(self, proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.proc, self.url, self.log = proc, url, log


@contextmanager
def serving(model: Path, workdir: Path, workers: int = 2) -> Iterator[Server]:
    """``precision-onco serve --model model`` on a free loopback port, ready (its workers
    forked); stopped (SIGTERM, then SIGKILL) on exit."""
    port = _free_port()
    log = workdir / "serve.log"
    cmd = [
        sys.executable,
        "-m",
        "precision_onco.cli",
        "serve",
        "--model",
        str(model),
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            cmd, cwd=workdir, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                with urllib.request.urlopen(f"{url}/ready", timeout=5) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.5)
        while len(worker_pids(proc.pid)) < workers and time.monotonic() < deadline:
            time.sleep(0.5)
        yield Server(proc, url, log)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def load(
    url: str, clients: int, seconds: float, payloads: Sequence[Any], expected: Sequence[str]
) -> dict[str, Any]:
    """``clients`` threads posting ``payloads`` in turn for ``seconds``: counts of answers
    equal to ``expected`` (the same index, :func:`canonical`), different ones and errors."""
    counts: dict[str, Any] = {"ok": 0, "different": 0, "errors": 0, "statuses": []}
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    n = len(payloads)

    def client(k: int) -> None:
        i = k
        while time.monotonic() < stop:
            i += 1
            try:
                status, body = post(url, {"inputs": [payloads[i % n]]})
            except OSError:
                status, body = -1, ""
            with lock:
                if status != 200:
                    counts["errors"] += 1
                    counts["statuses"].append(status)
                elif canonical(body) != expected[i % n]:
                    counts["different"] += 1
                else:
                    counts["ok"] += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counts
