"""``precision-onco serve``: the model loaded once in the master, worker processes forked.

The master resolves the model (a ``models:/`` URI, a run URI, an MLflow model
directory or a ``recommender.joblib`` file) to one local file, loads it, scores one
example payload (so that every lazy import and cache is warm) and only then forks
the worker processes (gunicorn's arbiter, ``preload_app``, with uvicorn's worker):
a worker starts in milliseconds, with nothing to import, load or convert. The
arbiter restarts a worker that dies (a crash, ``kill -9``) — again by forking the
loaded master — and stops a worker that stops answering its heartbeat.

Forking after LightGBM has run is safe only while its OpenMP runtime has started no
thread pool: the master sets ``OMP_NUM_THREADS=1`` before LightGBM is imported and
every prediction runs with ``num_threads=1`` (the workers are the parallelism).
"""

from __future__ import annotations

import gc
import logging
import logging.config
import os
import sys
import time
from pathlib import Path
from typing import Any

from precision_onco.errors import ConfigError, InputError
from precision_onco.serve.app import ServeSettings, create_app

__all__ = [
    "LOOPBACK",
    "SERVING_PANDAS_OPTIONS",
    "load_recommender",
    "resolve_model",
    "run",
    "serve_app",
    "serving_pandas_options",
    "single_threaded_native_code",
    "use_serving_pandas_options",
]

log = logging.getLogger(__name__)

LOOPBACK = ("127.0.0.1", "localhost", "::1")
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

    from precision_onco.models.store import with_store_retry

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


def single_threaded_native_code() -> None:
    """One OpenMP thread for LightGBM in this process (set before LightGBM is imported: its
    runtime reads the variable once); a warning when it was imported already."""
    if "lightgbm" in sys.modules and os.environ.get("OMP_NUM_THREADS") != "1":
        log.warning(
            "LightGBM was imported before OMP_NUM_THREADS=1 was set: forked workers "
            "rely on num_threads=1 in every prediction"
        )
    os.environ["OMP_NUM_THREADS"] = "1"


#: pandas options of the serving process. Python-backed strings: a request builds and reads
#: a few dozen one- or two-row frames, where the Arrow-backed default costs a conversion
#: per text column and element access; the answers are the same (tested), about a quarter
#: of a request's CPU time less (bench/bench_serve.py). The batch stages keep the default.
SERVING_PANDAS_OPTIONS: dict[str, Any] = {"mode.string_storage": "python"}


def serving_pandas_options() -> Any:
    """:data:`SERVING_PANDAS_OPTIONS` as a context manager (``pandas.option_context``)."""
    import pandas as pd

    return pd.option_context(*(x for kv in SERVING_PANDAS_OPTIONS.items() for x in kv))


def use_serving_pandas_options() -> None:
    """Set :data:`SERVING_PANDAS_OPTIONS` for this process (the server's master, before the
    model is loaded and the workers fork; pandas options are process-wide)."""
    import pandas as pd

    for key, value in SERVING_PANDAS_OPTIONS.items():
        pd.set_option(key, value)


def load_recommender(model: Path) -> Any:
    """The recommender of ``model`` (a ``recommender.joblib``), single-threaded and warmed
    up with one example payload."""
    import joblib

    from precision_onco.recommend.examples import example_payload

    t0 = time.perf_counter()
    recommender = joblib.load(model)
    recommender.set_threads(1)  # one thread per worker: the workers are the parallelism
    recommender.prepare()  # compiled once here, shared by the forked workers
    try:
        recommender.recommend_payload(example_payload("nsclc_kras_g12c"))
    except Exception:  # a recommender of another catalog or with its own inputs
        try:
            recommender.recommend_payload(recommender.minimal_payload())
        except Exception as exc:  # no warm-up, still served
            log.info("warm-up payload not scored (%s); serving anyway", type(exc).__name__)
    log.info("model %s loaded in %.2f s", model, time.perf_counter() - t0)
    return recommender


def _log_config(level: str) -> dict[str, Any]:
    fmt = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"
    handler = {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": fmt}},
        "handlers": {"stderr": handler},
        "loggers": {
            "precision_onco": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": "WARNING"},
            "uvicorn.error": {"level": "WARNING"},
        },
    }


def _worker_class(limit_concurrency: int) -> type:
    """Uvicorn's gunicorn worker (the ``uvicorn-worker`` package, which replaces the
    deprecated ``uvicorn.workers``) with this server's HTTP settings."""
    # what each worker would import after the fork, imported once here
    import uvicorn.lifespan.on  # noqa: F401
    import uvicorn.protocols.http.auto  # noqa: F401
    from uvicorn_worker import UvicornWorker

    class Worker(UvicornWorker):
        CONFIG_KWARGS = {
            "loop": "auto",
            "http": "auto",
            "ws": "none",  # no websocket endpoint: no websocket library looked for
            "limit_concurrency": limit_concurrency,
            "server_header": False,
            "access_log": False,
        }

    Worker.__module__ = __name__
    Worker.__qualname__ = "Worker"
    return Worker


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
    cfg = settings or ServeSettings()
    if host not in LOOPBACK and not cfg.api_keys:
        raise ConfigError(
            f"--host {host}: binding beyond loopback requires an API key (set "
            "PRECISION_ONCO_API_KEYS or --api-key-env)"
        )
    single_threaded_native_code()
    use_serving_pandas_options()
    logging.config.dictConfig(_log_config(log_level))
    t0 = time.perf_counter()
    app = create_app(load_recommender(Path(model).resolve()), cfg)
    serve_app(app, host=host, port=port, workers=workers, label=str(model), started=t0)


def serve_app(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 5001,
    workers: int = 2,
    label: str = "the app",
    started: float | None = None,
) -> None:
    """Serve the ASGI ``app`` (built in this process, before the workers fork) until
    interrupted: gunicorn's arbiter with ``workers`` uvicorn workers."""
    from gunicorn.app.base import BaseApplication

    t0 = time.perf_counter() if started is None else started
    gc.collect()
    gc.freeze()  # the loaded model stays shared (copy-on-write) by the forked workers
    gc.enable()  # (the command disables it while it loads)
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    options = {
        "bind": [bind],
        "workers": workers,
        "worker_class": _worker_class(256),
        "preload_app": True,
        "timeout": 60,  # a worker silent this long is restarted
        "graceful_timeout": 10,
        "keepalive": 5,
        "loglevel": "warning",
        "accesslog": None,
        "errorlog": "-",
        "proc_name": "precision-onco-serve",
    }

    class Application(BaseApplication):
        def load_config(self) -> None:
            for k, v in options.items():
                self.cfg.set(k, v)

        def load(self) -> Any:
            return app

    log.info(
        "serving %s on http://%s with %d worker(s) (master ready in %.2f s)",
        label,
        bind,
        workers,
        time.perf_counter() - t0,
    )
    sys.argv = sys.argv[:1]  # gunicorn parses the command line: give it none of ours
    Application().run()
