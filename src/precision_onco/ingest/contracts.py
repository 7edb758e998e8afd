"""What every ingest reader returns: canonical columns, rejects and per-file accounting.

Readers work on raw identifiers (``patient_id``, ``sample_id``); the cohort
ingest (:mod:`precision_onco.ingest.cohort`) pseudonymizes them before
anything is written. Every reader accounts for every record it reads:
``read == ingested + rejected`` per file (DESIGN §3).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from precision_onco.errors import InputError

__all__ = [
    "LINE_COLUMNS",
    "PATIENT_COLUMNS",
    "RAW_EXCERPT_CHARS",
    "REJECT_COLUMNS",
    "VARIANT_COLUMNS",
    "FileReport",
    "IngestError",
    "ReadResult",
    "Rejects",
    "excerpt",
]

#: Canonical variant columns, as readers return them (raw ``patient_id``/``sample_id``).
VARIANT_COLUMNS: dict[str, str] = {
    "patient_id": "string",
    "sample_id": "string",
    "chrom": "string",
    "pos": "Int64",
    "ref": "string",
    "alt": "string",
    "gene": "string",
    "consequence": "string",
    "hgvsp": "string",
    "vaf": "float64",
    "depth": "Int64",
    "filter": "string",
    "source_file": "string",
    "source_line": "int64",
}

#: Columns a patients table must provide after mapping (others are kept as they are).
PATIENT_COLUMNS: dict[str, str] = {
    "patient_id": "string",
    "sex": "string",
    "cancer_type": "string",
}

#: Columns a therapy-lines table must provide after mapping (others are kept).
LINE_COLUMNS: dict[str, str] = {
    "patient_id": "string",
    "line_number": "Int64",
    "regimen_id": "string",
    "start_date": "datetime64[ns]",
}

REJECT_COLUMNS: dict[str, str] = {
    "source_file": "string",
    "source_line": "Int64",
    "reason": "string",
    "raw": "string",
}

#: Length of the raw excerpt kept with a rejected record.
RAW_EXCERPT_CHARS = 200


class IngestError(InputError):
    """A fatal input problem: stops the ingest with one message naming the file."""

    def __init__(self, path: Path | str, problem: str, *, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {problem}")
        self.path = str(path)
        self.line = line
        self.problem = problem

    def __reduce__(self) -> tuple[Any, ...]:
        # raised in worker processes: rebuild from the fields, not from the message
        return (_ingest_error, (self.path, self.problem, self.line))


def _ingest_error(path: str, problem: str, line: int | None) -> IngestError:
    return IngestError(path, problem, line=line)


def excerpt(raw: object, limit: int = RAW_EXCERPT_CHARS) -> str:
    """A one-line, truncated text of a rejected record."""
    text = str(raw).replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Rejects:
    """Collects rejected records of one file; ``reason`` is a short, stable phrase plus detail."""

    source_file: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)

    def add(self, line: int | None, reason: str, raw: object, *, detail: str = "") -> None:
        """Record one rejected record. ``reason`` is the category counted in the summary."""
        self.reasons[reason] += 1
        self.rows.append(
            {
                "source_file": self.source_file,
                "source_line": line,
                "reason": f"{reason}: {detail}" if detail else reason,
                "raw": excerpt(raw),
            }
        )

    def __len__(self) -> int:
        return len(self.rows)

    def frame(self) -> pd.DataFrame:
        """The rejects as a DataFrame with :data:`REJECT_COLUMNS`."""
        df = pd.DataFrame(self.rows, columns=list(REJECT_COLUMNS))
        return df.astype(REJECT_COLUMNS)


@dataclass(slots=True)  # one per VCF: a million on the ingest driver at a million patients
class FileReport:
    """Per-file accounting written to ``reports/ingest_summary.json``."""

    file: str
    kind: str
    read: int = 0
    ingested: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """Fail loudly if a reader lost records (a bug, not an input problem)."""
        if self.read != self.ingested + self.rejected:
            raise AssertionError(
                f"{self.file}: read {self.read} != ingested {self.ingested} "
                f"+ rejected {self.rejected}"
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kind": self.kind,
            "read": self.read,
            "ingested": self.ingested,
            "rejected": self.rejected,
            "rejected_by_reason": dict(sorted(self.rejected_by_reason.items())),
            "warnings": list(self.warnings),
            **self.extra,
        }


@dataclass
class ReadResult:
    """What a reader returns for one file."""

    frame: pd.DataFrame
    rejects: pd.DataFrame
    report: FileReport

    @classmethod
    def build(
        cls, frame: pd.DataFrame, rejects: Rejects, report: FileReport, *, records_read: int
    ) -> ReadResult:
        """Fill the report's counts from the frame and the rejects, and check them."""
        report.read = records_read
        report.rejected = len(rejects)
        report.ingested = records_read - len(rejects)
        report.rejected_by_reason = dict(rejects.reasons)
        return cls(frame=frame, rejects=rejects.frame(), report=report)
