"""A minimal in-process ASGI client for the server's tests (no network, no mocks)."""

from __future__ import annotations

import asyncio
import json
from typing import Any


def call(
    app: Any, method: str, path: str, body: bytes = b"", *, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """``(status, decoded JSON body)`` of one request to ``app``."""
    hdrs = {"host": "127.0.0.1:5001", "content-type": "application/json", **(headers or {})}
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.lower().encode(), v.encode()) for k, v in hdrs.items()],
    }
    sent: list[dict[str, Any]] = []
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)] or [b""]

    async def run() -> None:
        queue = [
            {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
            for i, c in enumerate(chunks)
        ]
        done = asyncio.Event()

        async def receive() -> dict[str, Any]:
            if queue:
                return queue.pop(0)
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(msg: dict[str, Any]) -> None:
            sent.append(msg)
            if msg["type"] == "http.response.body" and not msg.get("more_body"):
                done.set()

        await app(scope, receive, send)

    asyncio.run(run())
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    data = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(data)


def post(app: Any, doc: Any, **kw: Any) -> tuple[int, Any]:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return call(app, "POST", "/invocations", body, **kw)


def post_many(app: Any, docs: list[Any]) -> list[tuple[int, Any]]:
    """``post`` of every document of ``docs`` at once: all the requests in flight together
    on one event loop, as concurrent clients' requests are in a worker."""

    async def one(doc: Any) -> tuple[int, Any]:
        body = json.dumps(doc).encode()
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/invocations",
            "headers": [(b"host", b"127.0.0.1:5001"), (b"content-type", b"application/json")],
        }
        sent: list[dict[str, Any]] = []
        inbox = [{"type": "http.request", "body": body, "more_body": False}]
        done = asyncio.Event()

        async def receive() -> dict[str, Any]:
            if inbox:
                return inbox.pop(0)
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(msg: dict[str, Any]) -> None:
            sent.append(msg)
            if msg["type"] == "http.response.body" and not msg.get("more_body"):
                done.set()

        await app(scope, receive, send)
        status = next(m["status"] for m in sent if m["type"] == "http.response.start")
        data = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return status, json.loads(data)

    async def run() -> list[tuple[int, Any]]:
        return list(await asyncio.gather(*(one(d) for d in docs)))

    return asyncio.run(run())
