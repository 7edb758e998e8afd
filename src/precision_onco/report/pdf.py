"""HTML to A4 PDF through headless Chromium's print-to-PDF (the report's print stylesheet)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from precision_onco.errors import UserError

__all__ = ["CHROMIUM_FLAGS", "PdfError", "find_chromium", "html_to_pdf"]

#: Headless, no sandbox (containers run as root), and no background network traffic.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-sync",
    "--disable-component-update",
    "--disable-extensions",
)


class PdfError(UserError, RuntimeError):
    """Chromium is missing or could not print the page."""


def find_chromium(name: str = "chromium") -> str:
    """The Chromium binary (a name on PATH or a path); :class:`PdfError` says how to get it."""
    for candidate in (name, "chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(candidate)
        if path:
            return path
    raise PdfError(
        f"report.chromium: {name!r} not found; install Chromium (Debian: "
        "`apt-get install chromium`, or `make browser`) for PDF reports"
    )


def html_to_pdf(html: Path, pdf: Path, *, chromium: str = "chromium", timeout: float = 120) -> Path:
    """Print ``html`` to ``pdf`` (A4, the page's print stylesheet) with headless Chromium."""
    exe = find_chromium(chromium)
    with tempfile.TemporaryDirectory(prefix="precision_onco_chromium_") as profile:
        cmd = [
            exe,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf.resolve()}",
            html.resolve().as_uri(),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        raise PdfError(
            f"{html}: Chromium could not print it to PDF (exit {proc.returncode}): "
            f"{proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ''}"
        )
    return pdf
