"""The ASGI application: MLflow's ``/invocations`` contract, ``/ping``, ``/ready``, limits, auth.

A body that MLflow's scoring server takes works here: ``{"inputs": [payload, ...]}``
(or ``"instances"``) in, ``{"predictions": [answer, ...]}`` out, errors as
``{"error_code": ..., "message": ...}``. On top of it: the body and the batch are
bounded (413 naming the limit), invalid or deeply nested JSON and NaN are 400, work
stops when its time limit passes or its client is gone, a Host header outside the
allow-list is 400, and an API key (``Authorization: Bearer <key>`` or ``X-API-Key``)
can be required. One log line per request (method, path, status, latency, batch
size), never a payload or an identifier.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from precision_onco.recommend.patient import PayloadError

__all__ = ["ServeSettings", "create_app"]

log = logging.getLogger("precision_onco.serve.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Keys of the request envelope (MLflow's tensor-style input).
ENVELOPE = ("inputs", "instances")
#: Deepest JSON nesting a request may have (a payload needs 5).
MAX_DEPTH = 16
#: orjson reads an integer beyond 64 bits as a float: a float this large may have been one
_BIG = 2.0**63
#: what orjson would write otherwise than the standard encoder (dataclasses, dates) goes to it
_ORJSON_OPTS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


@dataclass(frozen=True)
class ServeSettings:
    """Limits and access rules of the server (see ``precision-onco serve --help``)."""

    max_body_bytes: int = 1_000_000
    max_batch: int = 100
    #: most payloads (of different requests) scored together in one round
    max_coalesce: int = 32
    request_timeout_s: float = 30.0
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "::1", "[::1]")
    api_keys: tuple[str, ...] = field(default=(), repr=False)


class _HTTPError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _depth_ok(body: bytes, limit: int) -> bool:
    """Whether the JSON text nests at most ``limit`` arrays/objects (strings skipped)."""
    depth = 0
    in_str = esc = False
    for b in body:
        if in_str:
            if esc:
                esc = False
            elif b == 0x5C:
                esc = True
            elif b == 0x22:
                in_str = False
        elif b == 0x22:
            in_str = True
        elif b in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return False
        elif b in (0x5D, 0x7D):
            depth -= 1
    return True


def _parse_std(body: bytes) -> Any:
    """The standard library's reading of ``body``: every body orjson does not take goes
    here, so that what is accepted or refused, and the message, do not depend on orjson."""
    if not _depth_ok(body, MAX_DEPTH):
        raise _HTTPError(400, "BAD_REQUEST", f"invalid JSON: nested deeper than {MAX_DEPTH} levels")
    try:
        text = body.decode("utf-8")
        # NaN and infinities parse, to be refused by the payload checks naming their field
        return json.loads(text)
    except UnicodeDecodeError:
        raise _HTTPError(400, "BAD_REQUEST", "invalid JSON: the body is not UTF-8") from None
    except (ValueError, RecursionError) as exc:
        where = (
            f" at line {exc.lineno} column {exc.colno}"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        raise _HTTPError(400, "BAD_REQUEST", f"invalid JSON{where}") from None


def _walk(doc: Any, limit: int, depth: int = 1) -> str | None:
    """``"deep"`` when the arrays/objects of ``doc`` (itself at ``depth``) nest more than
    ``limit`` deep, ``"big"`` when it holds a float of 2**63 or more in magnitude, else
    None (orjson's documents: exact dicts and lists)."""
    for x in doc.values() if type(doc) is dict else doc:
        t = type(x)
        if t is dict or t is list:
            if depth >= limit:
                return "deep"
            found = _walk(x, limit, depth + 1)
            if found:
                return found
        elif t is float and not -_BIG < x < _BIG:
            return "big"
    return None


def _parse(body: bytes) -> Any:
    """The JSON document of ``body``, read by orjson (a tenth of the standard library's
    time with its depth scan) when it takes it as the standard library would: anything it
    refuses (NaN, infinities, lone surrogates, invalid JSON: messages with the position)
    and any number it may have read as a float where the standard library keeps an exact
    integer are read again by :func:`_parse_std`."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _parse_std(body)
    found = _walk([doc], MAX_DEPTH, 0)  # (a list around it: the top value is checked too)
    if found == "deep":
        raise _HTTPError(400, "BAD_REQUEST", f"invalid JSON: nested deeper than {MAX_DEPTH} levels")
    return _parse_std(body) if found == "big" else doc


def _batch(doc: Any, settings: ServeSettings) -> list[Any]:
    if not isinstance(doc, dict):
        raise _HTTPError(400, "BAD_REQUEST", 'expected a JSON object {"inputs": [payload, ...]}')
    keys = [k for k in doc if k in ENVELOPE]
    others = sorted(k for k in doc if k not in ENVELOPE)
    if others:
        name = others[0] if len(others[0]) <= 40 and others[0].isidentifier() else "(a key)"
        raise _HTTPError(
            400,
            "BAD_REQUEST",
            f"{name}: unknown key of the request (expected 'inputs', a list of patient payloads)",
        )
    if len(keys) != 1:
        raise _HTTPError(
            400, "BAD_REQUEST", "inputs: give the patient payloads as 'inputs' (a list), once"
        )
    items = doc[keys[0]]
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items:
        raise _HTTPError(
            400, "BAD_REQUEST", "inputs: expected a non-empty list of patient payloads"
        )
    if len(items) > settings.max_batch:
        raise _HTTPError(
            413,
            "REQUEST_LIMIT_EXCEEDED",
            f"inputs: at most {settings.max_batch} "
            f"payloads per request (max_batch), got {len(items)}",
        )
    return items


def _json_safe(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_json_safe(x) for x in v]
    return v


def _encode(doc: Any) -> bytes:
    """``doc`` as JSON, non-finite floats as null: orjson, or the standard encoder for what
    orjson does not write (numpy scalars, non-string keys, lone surrogates, huge integers)."""
    try:
        return orjson.dumps(doc, option=_ORJSON_OPTS)
    except TypeError:
        return json.dumps(_json_safe(doc), allow_nan=False).encode()


@dataclass
class _Waiting:
    """A request's payloads (checked, when the recommender checks them first) waiting to be
    scored, its answers so far, and what ends it early."""

    items: list[Any]
    gone: asyncio.Event
    deadline: float
    future: asyncio.Future[list[Any]]
    out: list[Any] = field(default_factory=list)


class _Rounds:
    """The payloads of the requests waiting, scored round by round on the event loop.

    A round takes the next payload of each request waiting (at most ``max_coalesce``),
    after checking that its client is still there (else 499, nothing more scored) and its
    time limit has not passed (else 503 naming ``request_timeout_s`` and how many of its
    payloads were scored). A recommender with ``parse`` and ``recommend_payloads`` (a
    :class:`~precision_onco.recommend.service.Recommender`) checks every payload when its
    request arrives (a bad one is that request's 400 and never joins a round) and scores
    a round's payloads together; if that fails, each request of the round is scored alone,
    so that a fault is only its own request's 500. Another recommender (``recommend_payload``
    only) scores them one by one.
    """

    def __init__(self, recommender: Any, cfg: ServeSettings) -> None:
        self.recommender = recommender
        self.cfg = cfg
        self.together = hasattr(recommender, "parse") and hasattr(recommender, "recommend_payloads")
        self.waiting: list[_Waiting] = []
        self.task: asyncio.Future[None] | None = None

    def parse(self, items: list[Any]) -> list[Any]:
        """``items`` checked (by a recommender that checks them apart), or 400 naming the
        first bad one."""
        if not self.together:
            return items
        out = []
        for i, payload in enumerate(items):
            try:
                out.append(self.recommender.parse(payload))
            except PayloadError as exc:
                raise _HTTPError(400, "INVALID_PARAMETER_VALUE", _where(i, items, exc)) from None
        return out

    async def submit(self, items: list[Any], gone: asyncio.Event, deadline: float) -> list[Any]:
        """The answers of ``items``, scored in the coming rounds."""
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self.waiting.append(_Waiting(items, gone, deadline, future))
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._run())
        return await future

    async def _run(self) -> None:
        while self.waiting:
            await asyncio.sleep(0)  # the requests read meanwhile join this round
            batch: list[_Waiting] = []
            for w in list(self.waiting):
                if w.future.done():  # its handler was cancelled
                    self.waiting.remove(w)
                elif w.gone.is_set():
                    self._end(
                        w, _HTTPError(499, "CLIENT_CLOSED", "the client closed the connection")
                    )
                elif time.monotonic() > w.deadline:
                    self._end(
                        w,
                        _HTTPError(
                            503,
                            "TIMEOUT",
                            f"inputs: the time limit of {self.cfg.request_timeout_s:g} s "
                            f"(request_timeout_s) passed after {len(w.out)} of "
                            f"{len(w.items)} payloads",
                        ),
                    )
                elif len(batch) < self.cfg.max_coalesce:
                    batch.append(w)
            if batch:
                self._score(batch)
            for w in batch:
                if not w.future.done() and len(w.out) == len(w.items):
                    w.future.set_result(w.out)
                if w.future.done() and w in self.waiting:
                    self.waiting.remove(w)

    def _end(self, w: _Waiting, exc: BaseException) -> None:
        if not w.future.done():
            w.future.set_exception(exc)
        if w in self.waiting:
            self.waiting.remove(w)

    def _score(self, batch: list[_Waiting]) -> None:
        """One payload of each request of ``batch`` scored."""
        if self.together:
            items = [w.items[len(w.out)] for w in batch]
            try:
                answers = self.recommender.recommend_payloads(items)
            except Exception:  # a fault: scored alone, it stays its own request's
                answers = None
            if answers is not None:
                for w, answer in zip(batch, answers, strict=True):
                    w.out.append(answer)
                return
        for w in batch:
            i = len(w.out)
            try:
                if self.together:
                    w.out.extend(self.recommender.recommend_payloads([w.items[i]]))
                else:
                    w.out.append(self.recommender.recommend_payload(w.items[i]))
            except PayloadError as exc:
                self._end(w, _HTTPError(400, "INVALID_PARAMETER_VALUE", _where(i, w.items, exc)))
            except Exception as exc:  # the handler logs it (500), without the payload
                self._end(w, exc)


def _where(i: int, items: list[Any], exc: Exception) -> str:
    return f"inputs[{i}]: {exc}" if len(items) > 1 else str(exc)


async def _read_body(receive: Receive, max_bytes: int) -> bytes:
    """The request's body, at most ``max_bytes`` (else 413); 499 if its client is gone."""
    chunks, size = [], 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            raise _HTTPError(499, "CLIENT_CLOSED", "the client closed the connection")
        chunk = msg.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise _HTTPError(
                413,
                "REQUEST_LIMIT_EXCEEDED",
                f"the body exceeds {max_bytes} bytes (max_body_bytes)",
            )
        chunks.append(chunk)
        if not msg.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _send_body(send: Send, status: int, body: bytes) -> int:
    """``body`` sent as the JSON response with ``status`` (returned)."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
    return status


async def _send_json(send: Send, status: int, doc: Any) -> int:
    return await _send_body(send, status, _encode(doc))


def _authorized(headers: dict[bytes, bytes], keys: tuple[str, ...]) -> bool:
    """Whether the request gives one of ``keys`` (any request, when there are none)."""
    if not keys:
        return True
    given = headers.get(b"x-api-key", b"").decode("latin-1")
    auth = headers.get(b"authorization", b"").decode("latin-1")
    if auth.lower().startswith("bearer "):
        given = auth[7:].strip()
    return any(hmac.compare_digest(given.encode(), k.encode()) for k in keys)


def _check_host(headers: dict[bytes, bytes], hosts: set[str]) -> None:
    """400 unless the Host header (without its port) is in ``hosts`` (or ``hosts`` has ``*``)."""
    host = headers.get(b"host", b"").decode("latin-1").lower()
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if "*" not in hosts and name not in hosts:
        raise _HTTPError(400, "BAD_REQUEST", "Host header not allowed (allowed_hosts)")


async def _lifespan(receive: Receive, send: Send) -> None:
    """The ASGI lifespan protocol: nothing to start or stop, both acknowledged."""
    while True:
        msg = await receive()
        if msg["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif msg["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _watch(receive: Receive, gone: asyncio.Event) -> None:
    """``gone`` set once the client disconnects."""
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()


def _log_access(method: str, path: str, status: int, t0: float, n: int) -> None:
    """The request's log line (never a payload or an identifier)."""
    if log.isEnabledFor(logging.INFO):
        log.info(
            json.dumps(
                {
                    "method": method,
                    "path": path,
                    "status": status,
                    "latency_ms": round((time.perf_counter() - t0) * 1000, 2),
                    "batch": n,
                }
            )
        )


class _Handler:
    """The HTTP side of :func:`create_app`: its settings, constant answers and rounds."""

    def __init__(self, recommender: Any, cfg: ServeSettings) -> None:
        self.cfg = cfg
        self.hosts = {h.lower() for h in cfg.allowed_hosts}
        # constant answers, encoded once (the fingerprint walks the whole configuration)
        self.ping = _encode({"status": "alive"})
        self.ready = _encode({"status": "ready", "model": recommender.fingerprint()})
        self.rounds = _Rounds(recommender, cfg)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One HTTP request answered (an error as its JSON body) and logged."""
        t0 = time.perf_counter()
        deadline = time.monotonic() + self.cfg.request_timeout_s  # the body's upload counts too
        path, method = scope["path"], scope["method"]
        headers = dict(scope.get("headers") or [])
        status, n = 500, 0
        try:
            status, n = await self._route(path, method, headers, receive, send, deadline)
        except _HTTPError as exc:
            status = exc.status
            if status != 499:
                await _send_json(send, status, {"error_code": exc.code, "message": exc.message})
        except Exception as exc:  # a server fault: logged without the payload
            log.error("internal error on %s %s: %s", method, path, type(exc).__name__)
            status = await _send_json(
                send,
                500,
                {
                    "error_code": "INTERNAL_ERROR",
                    "message": f"the recommender failed ({type(exc).__name__}); see the server log",
                },
            )
        finally:
            _log_access(method, path, status, t0, n)

    async def _route(
        self,
        path: str,
        method: str,
        headers: dict[bytes, bytes],
        receive: Receive,
        send: Send,
        deadline: float,
    ) -> tuple[int, int]:
        """The request's status and batch size, its response sent (an error raised)."""
        _check_host(headers, self.hosts)
        if path == "/ping" and method in ("GET", "HEAD"):
            return await _send_body(send, 200, self.ping), 0
        if path == "/ready" and method in ("GET", "HEAD"):
            return await _send_body(send, 200, self.ready), 0
        if path != "/invocations":
            raise _HTTPError(
                404, "ENDPOINT_NOT_FOUND", "no such endpoint (/invocations, /ping, /ready)"
            )
        if method != "POST":
            raise _HTTPError(405, "BAD_REQUEST", "/invocations takes POST")
        if not _authorized(headers, self.cfg.api_keys):
            raise _HTTPError(
                401,
                "UNAUTHENTICATED",
                "an API key is required (Authorization: Bearer <key> or X-API-Key)",
            )
        return await self._invocations(receive, send, headers, deadline)

    async def _invocations(
        self, receive: Receive, send: Send, headers: dict[bytes, bytes], deadline: float
    ) -> tuple[int, int]:
        """``/invocations``: the batch read, checked, scored in rounds and answered."""
        ctype = headers.get(b"content-type", b"application/json").split(b";")[0].strip()
        if ctype != b"application/json":
            raise _HTTPError(415, "BAD_REQUEST", "Content-Type must be application/json")
        items = _batch(_parse(await _read_body(receive, self.cfg.max_body_bytes)), self.cfg)
        gone = asyncio.Event()
        # one payload runs without a pause, so nothing would run the watcher before its end
        watcher = asyncio.ensure_future(_watch(receive, gone)) if len(items) > 1 else None
        try:
            predictions = await self.rounds.submit(self.rounds.parse(items), gone, deadline)
        finally:
            if watcher is not None:
                watcher.cancel()
        return await _send_json(send, 200, {"predictions": predictions}), len(items)


def create_app(recommender: Any, settings: ServeSettings | None = None) -> Any:
    """The ASGI application serving ``recommender`` (a loaded :class:`Recommender`, or any
    object with ``recommend_payload`` and ``fingerprint``).

    Payloads are scored on the event loop itself, in rounds (:class:`_Rounds`): each round
    takes the next payload of every request waiting — those that arrived while the last
    round was computed — and a :class:`Recommender` scores them together
    (``recommend_payloads``: each answer the one it gives alone, a fraction of the cost
    per payload). Between two rounds the loop gets the hand back (to read new requests,
    notice a client gone, answer ``/ping``, beat the arbiter's heartbeat). A hop to a
    thread cost more than the HTTP work of a request, and one worker computes one thing
    at a time either way (the GIL). A payload that never returns stops its worker's
    heartbeat: the arbiter restarts it.
    """
    handler = _Handler(recommender, settings or ServeSettings())

    # a plain coroutine function (not a bound method): servers take it for ASGI 3
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        elif scope["type"] == "http":
            await handler.http(scope, receive, send)

    return app
