"""``precision-onco serve``: worker processes under uvicorn's supervisor, models loaded once.

The master resolves the model (a ``models:/`` URI, a run URI, an MLflow model
directory or a ``recommender.joblib`` file) to one local file, once; each worker
process loads that file when it starts and serves :func:`~precision_onco.serve.app.
create_app`. The supervisor restarts a worker that dies (a crash, ``kill -9``) and
stops a worker that stops answering its health check.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from precision_onco.errors import ConfigError, InputError
from precision_onco.serve.app import ServeSettings, create_app

__all__ = ["LOOPBACK", "resolve_model", "run", "worker_app"]

log = logging.getLogger(__name__)

LOOPBACK = ("127.0.0.1", "localhost", "::1")
_MODEL_ENV = "PRECISION_ONCO_SERVE_MODEL"
_SETTINGS_ENV = "PRECISION_ONCO_SERVE_SETTINGS"
_ARTIFACT = Path("artifacts") / "recommender.joblib"


def resolve_model(uri: str, *, tracking_uri: str | None = None, retries: int = 5) -> Path:
    """The local ``recommender.joblib`` of ``uri`` (downloaded once for a registry URI).

    A locked tracking store is retried with exponential backoff (``retries`` times).
    """
    p = Path(uri)
    if p.is_file():
        return p
    if p.is_dir() and (p / _ARTIFACT).is_file():
        return p / _ARTIFACT
    import mlflow

    from precision_onco.serve.store import with_store_retry

    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    local = with_store_retry(
        lambda: mlflow.artifacts.download_artifacts(artifact_uri=uri),
        what=f"resolving {uri}",
        retries=retries,
    )
    path = Path(local) / _ARTIFACT
    if not path.is_file():
        raise InputError(f"{uri}: not a precision_onco recommender (no {_ARTIFACT} in the model)")
    return path


def worker_app() -> Any:
    """The app of one worker process: loads the resolved model file once (uvicorn factory)."""
    import joblib

    t0 = time.perf_counter()
    recommender = joblib.load(os.environ[_MODEL_ENV])
    recommender.set_threads(1)  # one thread per worker: the workers are the parallelism
    raw: dict[str, Any] = json.loads(os.environ[_SETTINGS_ENV])
    settings = ServeSettings(
        max_body_bytes=int(raw["max_body_bytes"]),
        max_batch=int(raw["max_batch"]),
        request_timeout_s=float(raw["request_timeout_s"]),
        allowed_hosts=tuple(raw["allowed_hosts"]),
        api_keys=tuple(raw["api_keys"]),
    )
    log.info("worker %d: model loaded in %.2f s", os.getpid(), time.perf_counter() - t0)
    return create_app(recommender, settings)


def _log_config(level: str) -> dict[str, Any]:
    fmt = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"
    handler = {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": fmt}},
        "handlers": {"stderr": handler},
        "loggers": {
            "precision_onco": {"handlers": ["stderr"], "level": level},
            "uvicorn": {"handlers": ["stderr"], "level": "WARNING"},
            "uvicorn.error": {"level": "WARNING"},
        },
    }


def run(
    model: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 5001,
    workers: int = 2,
    settings: ServeSettings | None = None,
    log_level: str = "INFO",
) -> None:
    """Serve ``model`` (a resolved ``recommender.joblib``) until interrupted."""
    import uvicorn

    cfg = settings or ServeSettings()
    if host not in LOOPBACK and not cfg.api_keys:
        raise ConfigError(
            f"--host {host}: binding beyond loopback requires an API key (set "
            "PRECISION_ONCO_API_KEYS or --api-key-env)"
        )
    os.environ[_MODEL_ENV] = str(Path(model).resolve())
    os.environ[_SETTINGS_ENV] = json.dumps(dataclasses.asdict(cfg))
    log.info("serving %s on http://%s:%d with %d worker(s)", model, host, port, workers)
    uvicorn.run(
        "precision_onco.serve.server:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=_log_config(log_level),
        access_log=False,
        timeout_keep_alive=5,
        limit_concurrency=256,
        server_header=False,
    )
