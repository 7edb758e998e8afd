"""Shared scaffolding for the DVC stage entry points in ``pipelines/``.

A stage entry point is a few lines: :func:`run_stage` sets up logging, loads
and validates ``params.yaml``, calls the library, and turns any expected
error into one clear message and a non-zero exit (never a bare traceback).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

from precision_onco.config import Config, ConfigError, load_params

__all__ = ["UserError", "configure_logging", "run_stage"]

log = logging.getLogger(__name__)


class UserError(Exception):
    """An error in the user's input or configuration: reported without a traceback."""


#: Exceptions reported as one line (their message names the file, key or field).
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (UserError, ConfigError, ValueError, OSError)


def configure_logging(level: int = logging.INFO) -> None:
    """Log to stderr with the stage's module name; quiet noisy dependencies."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
        force=True,
    )
    for noisy in ("matplotlib", "urllib3", "git", "alembic", "numba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_stage(name: str, body: Callable[[Config], None], *, params: Path | str = "params.yaml") -> int:
    """Run one pipeline stage: load ``params``, call ``body``, report errors in one line."""
    configure_logging()
    try:
        cfg = load_params(params)
        body(cfg)
    except EXPECTED_ERRORS as exc:
        log.debug("stage %s failed", name, exc_info=True)
        print(f"precision-onco {name}: error: {exc}", file=sys.stderr)
        return 2
    return 0
