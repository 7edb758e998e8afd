"""The project's error types: what a user can fix, reported in one line.

A :class:`UserError` is about the user's input or setup — a config key, an input file,
a payload, a missing earlier stage — and its message names the file or key, the field
and what was expected or how to fix it. The DVC stages (:func:`precision_onco.stage.
run_stage`) and the command line (:mod:`precision_onco.cli`) print such an error as one
line and exit with status 2. Any other exception is a bug and keeps its traceback.

To see the traceback of a user error too: ``precision-onco -v ...`` on the command line,
or the environment variable ``PRECISION_ONCO_TRACEBACK=1`` (for the stages, e.g.
``PRECISION_ONCO_TRACEBACK=1 dvc repro``).

The subclasses also derive from the built-in type callers have always caught
(``ValueError``, ``FileNotFoundError``), so ``except ValueError`` keeps working.
"""

from __future__ import annotations

import os

__all__ = [
    "TRACEBACK_ENV",
    "ConfigError",
    "InputError",
    "MissingInputError",
    "UserError",
    "show_traceback",
]

#: Environment variable that makes user errors show their traceback (``1``, ``true``, ``yes``).
TRACEBACK_ENV = "PRECISION_ONCO_TRACEBACK"


class UserError(Exception):
    """An error in the user's input or configuration: reported in one line, no traceback."""


class ConfigError(UserError, ValueError):
    """A configuration value is unknown, of the wrong type, or missing."""


class InputError(UserError, ValueError):
    """An input — file, table, payload, command-line option, trained model — is wrong or
    missing from where it is looked for (the message names it, the field and the fix)."""


class MissingInputError(UserError, FileNotFoundError):
    """An input file or directory does not exist (names it, and what would create it)."""


def show_traceback(verbose: bool = False) -> bool:
    """Whether to show a user error's traceback: ``verbose`` or :data:`TRACEBACK_ENV` set."""
    flag = os.environ.get(TRACEBACK_ENV, "").strip().lower()
    return verbose or flag in ("1", "true", "yes", "on")
