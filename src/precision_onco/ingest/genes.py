"""Gene intervals (BED or GTF) for naming the gene of variants in unannotated files."""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from precision_onco.ingest.contracts import IngestError

__all__ = ["GeneIndex", "normalize_chrom"]

_GTF_NAME = re.compile(r'gene_name "([^"]+)"')
_GTF_ID = re.compile(r'gene_id "([^"]+)"')


def normalize_chrom(chrom: str) -> str:
    """``1`` -> ``chr1``, ``MT``/``M`` -> ``chrM``; names already prefixed are kept."""
    if chrom.startswith("chr"):
        return chrom
    if chrom in ("MT", "M"):
        return "chrM"
    if chrom.isdigit() or chrom in ("X", "Y"):
        return "chr" + chrom
    return chrom


@dataclass(frozen=True)
class GeneIndex:
    """Sorted gene intervals per chromosome (1-based, closed), looked up by position."""

    starts: dict[str, np.ndarray]
    ends: dict[str, np.ndarray]
    names: dict[str, np.ndarray]

    @classmethod
    def from_file(cls, path: Path | str) -> GeneIndex:
        """Read a BED (0-based start, name in column 4) or GTF (``gene`` features) file."""
        p = Path(path)
        if not p.is_file():
            raise IngestError(p, "gene interval file not found (expected a BED or GTF file)")
        opener = gzip.open if p.suffix == ".gz" else open
        is_gtf = ".gtf" in p.name or ".gff" in p.name
        rows: list[tuple[str, int, int, str]] = []
        with opener(p, "rt", encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if not line.strip() or line.startswith(("#", "track", "browser")):
                    continue
                f = line.rstrip("\n").split("\t")
                try:
                    if is_gtf:
                        if len(f) < 9:
                            raise ValueError(f"{len(f)} columns, a GTF line has 9")
                        if f[2] != "gene":
                            continue
                        m = _GTF_NAME.search(f[8]) or _GTF_ID.search(f[8])
                        if not m:
                            raise ValueError("no gene_name or gene_id attribute")
                        rows.append((normalize_chrom(f[0]), int(f[3]), int(f[4]), m.group(1)))
                    else:
                        if len(f) < 4:
                            raise ValueError(f"{len(f)} columns, expected chrom, start, end, name")
                        rows.append((normalize_chrom(f[0]), int(f[1]) + 1, int(f[2]), f[3]))
                except ValueError as exc:
                    raise IngestError(
                        p, f"not a valid {'GTF' if is_gtf else 'BED'} line ({exc})", line=n
                    ) from None
        if not rows:
            raise IngestError(p, "no gene intervals found")
        starts: dict[str, np.ndarray] = {}
        ends: dict[str, np.ndarray] = {}
        names: dict[str, np.ndarray] = {}
        by_chrom: dict[str, list[tuple[int, int, str]]] = {}
        for c, s, e, g in rows:
            by_chrom.setdefault(c, []).append((s, e, g))
        for c, items in by_chrom.items():
            items.sort()
            starts[c] = np.array([i[0] for i in items], dtype=np.int64)
            ends[c] = np.array([i[1] for i in items], dtype=np.int64)
            names[c] = np.array([i[2] for i in items], dtype=object)
        return cls(starts, ends, names)

    def lookup(self, chrom: str, pos: int) -> str | None:
        """The gene whose interval contains ``pos`` (the closest-starting one if several)."""
        c = normalize_chrom(chrom)
        st = self.starts.get(c)
        if st is None:
            return None
        i = int(np.searchsorted(st, pos, side="right")) - 1
        # walk back over overlapping intervals (genes are short relative to their count)
        while i >= 0:
            if self.ends[c][i] >= pos:
                return str(self.names[c][i])
            if st[i] < pos - 2_500_000:
                break
            i -= 1
        return None

    def overlapping(self, chrom: str, start: int, end: int) -> set[str]:
        """The genes whose intervals overlap ``start``–``end`` (1-based, closed)."""
        c = normalize_chrom(chrom)
        st = self.starts.get(c)
        if st is None:
            return set()
        hi = int(np.searchsorted(st, end, side="right"))
        en = self.ends[c][:hi]
        return {str(g) for g in self.names[c][:hi][en >= start]}
