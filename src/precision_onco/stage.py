"""Shared scaffolding for the DVC stage entry points in ``pipelines/``.

A stage entry point is a few lines: :func:`run_stage` sets up logging, loads
and validates ``params.yaml``, calls the library, and turns the project's own
errors (:class:`~precision_onco.errors.UserError`: bad config, input or setup) into
one clear message and exit status 2. Any other exception is a bug and propagates
with its traceback. ``PRECISION_ONCO_TRACEBACK=1`` shows a user error's traceback too.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from precision_onco.config import Config, load_params
from precision_onco.errors import UserError, show_traceback

__all__ = ["EXPECTED_ERRORS", "UserError", "configure_logging", "report_user_error", "run_stage"]

log = logging.getLogger(__name__)

#: Exceptions reported as one line (their message names the file, key or field); any
#: other exception keeps its traceback.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (UserError,)


def report_user_error(prog: str, exc: BaseException, *, verbose: bool = False) -> int:
    """Print ``exc`` as ``<prog>: error: <message>`` on stderr (with its traceback when
    ``verbose`` or ``PRECISION_ONCO_TRACEBACK`` is set); return the exit status, 2."""
    if show_traceback(verbose):
        traceback.print_exception(exc, file=sys.stderr)
    print(f"{prog}: error: {exc}", file=sys.stderr)
    return 2


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


def run_stage(
    name: str, body: Callable[[Config], None], *, params: Path | str = "params.yaml"
) -> int:
    """Run one pipeline stage: load ``params``, call ``body``, report errors in one line."""
    configure_logging()
    try:
        cfg = load_params(params)
        body(cfg)
    except EXPECTED_ERRORS as exc:
        return report_user_error(f"precision-onco {name}", exc)
    return 0
