"""Keyed pseudonymization of patient and sample identifiers (HMAC-SHA256).

A raw identifier never leaves ingest: it becomes
``patient_key = "pk_" + hex(HMAC-SHA256(key, namespace + ":" + raw_id))[:24]``.
The key comes from an environment variable or a key file kept outside the
repository; only the synthetic cohort may fall back to a public demo key.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from precision_onco.config.schema import PseudonymizationConfig
from precision_onco.errors import ConfigError

__all__ = ["DEMO_KEY", "KEY_PREFIX", "PseudonymizationError", "pseudonymize", "resolve_key"]

log = logging.getLogger(__name__)

#: Public key for the synthetic cohort only: anyone can recompute its pseudonyms.
DEMO_KEY = b"precision_onco synthetic demo key - not for real patients"
KEY_PREFIX = "pk_"
_HEX_CHARS = 24
_MIN_KEY_BYTES = 16


class PseudonymizationError(ConfigError):
    """No usable pseudonymization key."""


def resolve_key(
    cfg: PseudonymizationConfig, *, synthetic: bool, project_root: Path | None = None
) -> bytes:
    """Find the HMAC key: environment variable, then key file, then (synthetic only) demo key.

    Raises
    ------
    PseudonymizationError
        When no key is configured for a real cohort, the key file is missing
        or inside the repository, or the key is shorter than 16 bytes.
    """
    value = os.environ.get(cfg.key_env)
    source = f"environment variable {cfg.key_env}"
    if not value and cfg.key_file:
        path = Path(cfg.key_file).expanduser()
        if not path.is_file():
            raise PseudonymizationError(f"pseudonymization key file {path} does not exist")
        root = (project_root or Path.cwd()).resolve()
        if path.resolve().is_relative_to(root):
            raise PseudonymizationError(
                f"pseudonymization key file {path} is inside the project ({root}); keep keys "
                "outside the repository"
            )
        value = path.read_text(encoding="utf-8").strip()
        source = f"key file {path}"
    if value:
        key = value.encode("utf-8")
        if len(key) < _MIN_KEY_BYTES:
            raise PseudonymizationError(
                f"pseudonymization key from {source} is {len(key)} bytes; use at least "
                f"{_MIN_KEY_BYTES} random bytes (e.g. `python -c 'import secrets; "
                "print(secrets.token_hex(32))'`)"
            )
        return key
    if synthetic and cfg.allow_demo_key:
        log.warning(
            "no pseudonymization key in %s or a key file: using the public demo key "
            "(acceptable for the synthetic cohort only)",
            cfg.key_env,
        )
        return DEMO_KEY
    raise PseudonymizationError(
        f"no pseudonymization key: set the environment variable {cfg.key_env} or "
        "cohort.pseudonymization.key_file (outside the repository) before ingesting a real cohort"
    )


def pseudonymize(raw_ids: Iterable[object], key: bytes, *, namespace: str = "patient") -> list[str]:
    """Map raw identifiers to stable keyed pseudonyms (same id and key, same output)."""
    out = []
    for raw in raw_ids:
        msg = f"{namespace}:{str(raw).strip()}".encode()
        digest = hmac.new(key, msg, hashlib.sha256).hexdigest()
        out.append(KEY_PREFIX + digest[:_HEX_CHARS])
    return out
