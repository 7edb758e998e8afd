"""precision_onco: from variants, clinical data and therapy history to calibrated,
explained regimen recommendations for oncologists (decision support only)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("precision_onco")
except PackageNotFoundError:  # pragma: no cover - source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]
