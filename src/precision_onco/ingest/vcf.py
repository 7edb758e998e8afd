"""VCF 4.1-4.3 (plain or bgzipped) to canonical variant rows, through cyvcf2.

One row per (record, ALT allele): multi-allelic records are split. The tumour
column is the configured sample, else the one named by ``##tumor_sample=``,
else the only sample, else the one whose name matches
``VcfInputConfig.tumor_name_regex`` (``TUMOR``, ``*-T1``, ...), else the
sample that is not the normal (``##normal_sample=`` or a name matching
``normal``/``*-N1``).

Allele fraction (``vaf``): FORMAT ``AF`` of the tumour, else ``AD``
(alt / sum of AD), else the first configured INFO key present (``TVAF``, ...).
Depth: FORMAT ``DP``, else the sum of ``AD``, else the configured INFO keys
(``TDP``, ``DP``). Gene, consequence and HGVSp come from VEP ``CSQ`` (fields
read from the header's ``Format:`` description; the canonical transcript is
preferred) or SnpEff ``ANN``; unannotated files take the gene from a BED/GTF
of gene intervals when one is given, otherwise the gene is left empty and the
file report says how to annotate.

Accounting is per VCF record: a record is ingested (one row per allele) or
rejected (not PASS when only PASS is kept, invalid bases, a VAF outside 0-1,
or a line htslib cannot parse). A record htslib cannot parse does not stop
the file: it is rejected with its line number and the rest is read.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import gc
import gzip
import itertools
import math
import multiprocessing
import os
import re
import tempfile
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from cyvcf2 import VCF

from precision_onco.compute import Compute
from precision_onco.config.schema import VcfInputConfig
from precision_onco.ingest.contracts import (
    RAW_EXCERPT_CHARS,
    REJECT_COLUMNS,
    VARIANT_COLUMNS,
    FileReport,
    IngestError,
    ReadResult,
    excerpt,
)
from precision_onco.ingest.genes import GeneIndex, normalize_chrom

__all__ = ["VcfHeader", "read_header", "read_vcf", "read_vcfs"]

_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_BASES = re.compile(r"^[ACGTNacgtn]+$")
_ALT = re.compile(r"^([ACGTNacgtn]+|\*|<[^<>]+>)$")
_NORMAL = re.compile(r"(?i)(normal|germline|blood|[-_]N[0-9]*$|^N[0-9]*$)")
_MISSING_INT = -2147483648


@dataclass(frozen=True)
class VcfHeader:
    """What the ingest needs from a VCF header."""

    version: str
    samples: tuple[str, ...]
    n_lines: int
    tumor_header: str | None
    normal_header: str | None
    format_ids: frozenset[str]
    info_ids: frozenset[str]
    csq_fields: tuple[str, ...] | None
    has_ann: bool
    gzipped: bool


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _check_gzip(path: Path) -> None:
    """Raise IngestError if ``path`` is a truncated or corrupt gzip stream."""
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - len(_BGZF_EOF)))
        if fh.read() == _BGZF_EOF:
            return
    try:
        with gzip.open(path, "rb") as gz:
            while gz.read(1 << 20):
                pass
    except (EOFError, OSError, zlib.error) as exc:
        raise IngestError(
            path, f"truncated or corrupt gzip data ({exc}); re-create the file with bgzip"
        ) from None


def _raw_lines(path: Path, gzipped: bool) -> Iterator[bytes]:
    opener: Any = gzip.open if gzipped else open
    with opener(path, "rb") as fh:
        yield from fh


def _text_lines(path: Path, gzipped: bool) -> Iterator[str]:
    """Lines as text; bytes that are not UTF-8 survive a round trip (``surrogateescape``)."""
    for raw in _raw_lines(path, gzipped):
        yield raw.decode("utf-8", errors="surrogateescape")


_FORMAT_RE = re.compile(r'Format: ?([^"]+)"?>?\s*$')


def read_header(path: Path | str) -> VcfHeader:
    """Read and check the header; raise :class:`IngestError` when the file is not a VCF."""
    p = Path(path)
    if not p.is_file():
        raise IngestError(p, "file not found")
    if p.stat().st_size == 0:
        raise IngestError(p, "empty file (expected a VCF)")
    gz = _is_gzip(p)
    version = ""
    samples: tuple[str, ...] | None = None
    tumor = normal = None
    fmt: set[str] = set()
    info: set[str] = set()
    csq: tuple[str, ...] | None = None
    has_ann = False
    n = 0
    try:
        for n, raw in enumerate(_raw_lines(p, gz), start=1):
            line = raw.decode("utf-8")
            if n == 1:
                if not line.startswith("##fileformat=VCF"):
                    raise IngestError(
                        p,
                        "not a VCF: the first line must be '##fileformat=VCFv4.x', "
                        f"found {line[:40].strip()!r}",
                        line=1,
                    )
                version = line.strip().split("=", 1)[1]
                continue
            if line.startswith("##"):
                if line.startswith("##FORMAT=<ID="):
                    fmt.add(line[13:].split(",", 1)[0])
                elif line.startswith("##INFO=<ID="):
                    iid = line[11:].split(",", 1)[0]
                    info.add(iid)
                    if iid == "CSQ":
                        m = _FORMAT_RE.search(line.strip())
                        if m:
                            csq = tuple(m.group(1).strip().split("|"))
                    elif iid == "ANN":
                        has_ann = True
                elif line.startswith("##tumor_sample="):
                    tumor = line.strip().split("=", 1)[1]
                elif line.startswith("##normal_sample="):
                    normal = line.strip().split("=", 1)[1]
                continue
            if line.startswith("#CHROM"):
                cols = line.rstrip("\r\n").split("\t")
                if cols[:8] != ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]:
                    raise IngestError(
                        p,
                        "the #CHROM line must be tab-separated with the 8 fixed VCF columns",
                        line=n,
                    )
                samples = tuple(cols[9:])
                break
            raise IngestError(p, "missing the '#CHROM' header line before the first record", line=n)
    except UnicodeDecodeError as exc:
        raise IngestError(
            p, f"header is not UTF-8 text ({exc.reason} at byte {exc.start} of the line)", line=n
        ) from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise IngestError(p, f"unreadable gzip data ({exc})") from None
    if samples is None:
        raise IngestError(p, "missing the '#CHROM' header line (file has no records)")
    if not version.startswith("VCFv4."):
        raise IngestError(
            p, f"unsupported VCF version {version!r} (expected VCFv4.1 to VCFv4.3)", line=1
        )
    return VcfHeader(
        version, samples, n, tumor, normal, frozenset(fmt), frozenset(info), csq, has_ann, gz
    )


def pick_tumor(
    header: VcfHeader, cfg: VcfInputConfig, path: Path, override: str | None = None
) -> str:
    """The tumour sample column (see the module docstring for the rule)."""
    samples = header.samples
    wanted = override or cfg.tumor_sample
    if wanted:
        if wanted not in samples:
            raise IngestError(
                path, f"tumour sample {wanted!r} is not a sample column (columns: {list(samples)})"
            )
        return wanted
    if not samples:
        raise IngestError(path, "no sample columns: a tumour sample with FORMAT fields is expected")
    if header.tumor_header and header.tumor_header in samples:
        return header.tumor_header
    if len(samples) == 1:
        return samples[0]
    rule = re.compile(cfg.tumor_name_regex)
    hits = [s for s in samples if rule.search(s)]
    if len(hits) == 1:
        return hits[0]
    not_normal = [s for s in samples if s != header.normal_header and not _NORMAL.search(s)]
    if len(not_normal) == 1:
        return not_normal[0]
    raise IngestError(
        path,
        f"cannot tell the tumour column among {list(samples)}: set "
        "cohort.inputs.vcf.tumor_sample (or --tumor-sample), or add a "
        "'##tumor_sample=' header line",
    )


@functools.lru_cache(maxsize=4096)
def _unquote(text: str) -> str:
    """VEP percent-encodes some HGVS characters (``p.%3D`` for ``p.=``)."""
    return unquote(text)


def _vep_allele(ref: str, alt: str) -> str:
    if len(ref) != len(alt) and ref and alt and ref[0] == alt[0]:
        return alt[1:] or "-"
    return alt


_Annotation = tuple[str | None, str | None, str | None, str | None]
_NO_ANNOTATION: _Annotation = (None, None, None, None)
#: Parsed annotations by entry layout (which field is where), shared by the files of a batch.
_AnnotationCaches = dict[tuple[Any, ...], dict[Any, _Annotation]]


class _Annotator:
    """Gene, consequence and HGVSp of one allele from CSQ, ANN or gene intervals.

    The one place annotation values are parsed: :meth:`_choose` picks the entry of
    the allele (the only entry when there is one; else the allele's entries, PICK
    first, then CANONICAL), :meth:`_fields` reads its three fields. An annotation of
    one entry (most records) is handed back as it is and read later, for all the rows
    of a file at once, by :meth:`parse_entries` (Arrow string kernels doing what
    :meth:`_fields` does); the fields of an allele among several entries are cached
    per distinct annotation string and allele.
    """

    def __init__(
        self, header: VcfHeader, genes: GeneIndex | None, caches: _AnnotationCaches | None = None
    ) -> None:
        self.key: str | None = None
        self.genes = genes
        self.i_allele, self.i_cons, self.i_gene = 0, 1, 3
        self.i_hgvsp: int | None = None
        self.i_canon: int | None = None
        self.i_pick: int | None = None
        if header.csq_fields is not None:
            f = header.csq_fields
            self.key = "CSQ"
            self.i_allele = f.index("Allele") if "Allele" in f else 0
            self.i_cons = f.index("Consequence") if "Consequence" in f else 1
            self.i_gene = (
                f.index("SYMBOL") if "SYMBOL" in f else (f.index("Gene") if "Gene" in f else 3)
            )
            self.i_hgvsp = f.index("HGVSp") if "HGVSp" in f else None
            self.i_canon = f.index("CANONICAL") if "CANONICAL" in f else None
            self.i_pick = f.index("PICK") if "PICK" in f else None
        elif header.has_ann:
            self.key = "ANN"
            self.i_hgvsp = 10
        layout: tuple[Any, ...] = (self.key, self.i_allele, self.i_cons, self.i_gene, self.i_hgvsp)
        layout += (self.i_canon, self.i_pick)
        self._cache = ({} if caches is None else caches).setdefault(layout, {})

    def __call__(self, ann: str | None, chrom: str, pos: int, ref: str, alt: str) -> _Annotation:
        """``(gene, consequence, hgvsp, entry)`` of allele ``alt`` (annotated when ``ann`` is
        set). A one-entry annotation comes back as ``entry``, its fields None: the caller
        reads them in bulk with :meth:`parse_entries`."""
        if not ann:
            if not self.genes:
                return _NO_ANNOTATION
            return self.genes.lookup(chrom, pos), None, None, None
        if "," not in ann:
            return None, None, None, ann
        key = (ann, ref, alt)
        got = self._cache.get(key)
        if got is None:
            got = self._cache[key] = (*self._fields(self._choose(ann, ref, alt)), None)
        return got

    def parse_entries(
        self, entries: Sequence[str | None]
    ) -> tuple[list[str | None], list[str | None], list[str | None]]:
        """Gene, consequence and HGVSp of each one-entry annotation (None for None): what
        :meth:`_fields` reads from ``entry.split("|")``, done by Arrow for all at once."""
        gene, cons, hgvsp = self.parse_columns(entries)
        return _as_list(gene), _as_list(cons), _as_list(hgvsp)

    def parse_columns(self, entries: Sequence[str | None]) -> tuple[_Column, _Column, _Column]:
        """:meth:`parse_entries` as Arrow string arrays where Arrow reads them (lists where
        it cannot), for the frame to take as they are."""
        try:
            return self._parse_in_bulk(entries)
        except (pa.ArrowException, UnicodeEncodeError):  # text Arrow cannot hold (lone surrogates)
            parsed = [
                (None, None, None) if e is None else self._fields(e.split("|")) for e in entries
            ]
            genes, cons, hgvsp = (list(c) for c in zip(*parsed, strict=True))
            return genes, cons, hgvsp

    def _parse_in_bulk(self, entries: Sequence[str | None]) -> tuple[_Column, _Column, _Column]:
        text = pa.array(entries, pa.string())
        # empty fields appended: a field past the end of an entry reads as empty, and an
        # empty field is None in _fields too
        width = max(self.i_gene, self.i_cons, self.i_hgvsp or 0) + 1
        parts = pc.split_pattern(pc.binary_join_element_wise(text, "|" * width, ""), "|")
        gene = _none_if_empty(pc.list_element(parts, self.i_gene))
        cons = pc.list_element(parts, self.i_cons)
        if _any_has(cons, "&"):  # the first of several consequence terms
            cons = pc.list_element(pc.split_pattern(cons, "&", max_splits=1), 0)
        cons = _none_if_empty(cons)
        hgvsp: _Column
        if self.i_hgvsp is None:
            hgvsp = pa.nulls(len(entries), pa.string())
        else:
            # the protein change without its ``transcript:`` prefix
            raw = _none_if_empty(pc.list_element(parts, self.i_hgvsp))
            hgvsp = pc.replace_substring_regex(raw, "^[^:]*:", "", max_replacements=1)
            if _any_has(hgvsp, "%"):
                hgvsp = [_unquote(h) if h is not None and "%" in h else h for h in _as_list(hgvsp)]
        return gene, cons, hgvsp

    def _choose(self, ann: str, ref: str, alt: str) -> list[str]:
        """The entry (split on ``|``) that describes ``alt``."""
        if "," not in ann:  # one entry: nothing to choose
            return ann.split("|")
        entries = [e.split("|") for e in ann.split(",")]
        want = (_vep_allele(ref, alt), alt) if self.key == "CSQ" else (alt,)
        i = self.i_allele
        cand = [e for e in entries if len(e) > i and e[i] in want] or entries
        if len(cand) > 1:
            for idx, val in ((self.i_pick, "1"), (self.i_canon, "YES")):
                if idx is not None:
                    chosen = [e for e in cand if len(e) > idx and e[idx] == val]
                    if chosen:
                        return chosen[0]
        return cand[0]

    def _fields(self, entry: list[str]) -> tuple[str | None, str | None, str | None]:
        n = len(entry)
        gene = entry[self.i_gene] or None if n > self.i_gene else None
        cons = entry[self.i_cons].split("&", 1)[0] or None if n > self.i_cons else None
        hgvsp = None
        h = self.i_hgvsp
        if h is not None and n > h and entry[h]:
            hgvsp = entry[h].split(":", 1)[-1]
            if "%" in hgvsp:
                hgvsp = _unquote(hgvsp)
        return gene, cons, hgvsp


#: A column of string values: an Arrow array, or a list when Arrow cannot hold the text.
_Column: TypeAlias = pa.Array | list[str | None]


def _as_list(column: _Column) -> list[str | None]:
    return column.to_pylist() if isinstance(column, pa.Array) else column


def _none_if_empty(values: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def _any_has(values: pa.Array, text: str) -> bool:
    return pc.any(pc.match_substring(values, text)).as_py() is True


def _num(value: Any, i: int) -> float | None:
    """Element ``i`` of an INFO value (scalar or tuple), as a float, or None."""
    if value is None:
        return None
    if isinstance(value, tuple):
        value = value[i] if len(value) > i else value[0]
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _diagnose(raw: str, header: VcfHeader) -> str:
    """Why htslib could not parse a record line (best effort, in the user's terms)."""
    f = raw.rstrip("\r\n").split("\t")
    if len(f) < 8:
        return f"malformed record: {len(f)} tab-separated columns, a VCF record has at least 8"
    if not f[1].isdigit() or int(f[1]) <= 0:
        return f"malformed record: POS {f[1]!r} is not a positive integer"
    n = len(header.samples)
    if n and len(f) != 9 + n:
        return (
            f"sample count mismatch: {len(f) - 9} sample columns, the header names {n} "
            f"({', '.join(header.samples)})"
        )
    if n:
        keys = f[8].split(":")
        for s, col in zip(header.samples, f[9:], strict=False):
            for k, v in zip(keys, col.split(":"), strict=False):
                if k in ("AD", "DP") and any(
                    x not in (".", "") and not x.isdigit() for x in v.split(",")
                ):
                    return (
                        f"malformed record: FORMAT {k} of sample {s!r} is {v!r}, expected integers"
                    )
                if k == "AF":
                    for x in v.split(","):
                        try:
                            if x != ".":
                                float(x)
                        except ValueError:
                            return f"non-numeric VAF: FORMAT AF of sample {s!r} is {v!r}"
    return "malformed record: htslib could not parse it"


def _records(
    path: Path, header: VcfHeader, tumor: str, rejects: _RejectLog
) -> Iterator[tuple[Any, int]]:
    """``(cyvcf2 Variant, line number)``; unparseable lines are rejected and skipped.

    Fast path: one cyvcf2 pass over the file. When htslib fails on a line, that
    line is rejected and the rest of the file (records already read excluded)
    is re-read from a temporary copy whose lines are pre-checked.
    """
    source = str(path)
    line_of: list[int] | None = None  # line numbers of a temporary copy's records
    first_line = header.n_lines + 1
    tmp: Path | None = None
    try:
        while True:
            # all sample columns are parsed, so htslib catches a record whose column count
            # does not match the header
            vcf = VCF(source, lazy=True)
            done = itertools.count()  # records consumed from the current source
            # record k is on line first_line + k of the file, line_of[k] of a copy; zip asks
            # the reader first, so ``done`` counts the records it handed out
            lines = map((first_line).__add__ if line_of is None else line_of.__getitem__, done)
            try:
                yield from zip(vcf, lines, strict=False)  # lines is endless
                return
            except Exception:  # htslib: the next record cannot be parsed
                vcf.close()
                if header.gzipped:
                    _check_gzip(path)
                k = next(done)
                bad = line_of[k] if line_of is not None else first_line + k
                remaining = _rewrite(path, header, bad, rejects)
                if tmp is not None:
                    tmp.unlink(missing_ok=True)
                tmp, line_of = remaining
                source = str(tmp)
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _rewrite(
    path: Path, header: VcfHeader, bad: int, rejects: _RejectLog
) -> tuple[Path, list[int]]:
    """Reject line ``bad`` and copy the header and later, pre-checked lines to a temp file."""
    fd, name = tempfile.mkstemp(suffix=".vcf", prefix="precision_onco_")
    kept: list[int] = []
    with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as out:
        for n, line in enumerate(_text_lines(path, header.gzipped), start=1):
            if n <= header.n_lines:
                out.write(line)
            elif n == bad:
                rejects.add(n, "unparseable record", line, detail=_diagnose(line, header))
            elif n > bad:
                why = _diagnose(line, header)
                if why.startswith("malformed record: htslib"):
                    out.write(line)
                    kept.append(n)
                else:
                    rejects.add(n, "unparseable record", line, detail=why)
    return Path(name), kept


_ROW_COLUMNS = [c for c in VARIANT_COLUMNS if c not in ("patient_id", "source_file")]
#: Where a row (from ``_row_maker``) holds its one-entry annotation: before ``source_line``,
#: which stays last.
_ROW_ENTRY = len(_ROW_COLUMNS) - 1
_ANNOTATION_AT = tuple(_ROW_COLUMNS.index(c) for c in ("gene", "consequence", "hgvsp"))


def _new_columns() -> dict[str, list[Any]]:
    """Columns to collect rows in: per column, one chunk of values per file (a sequence, or
    an Arrow array the annotation parser made)."""
    return {c: [] for c in [*_ROW_COLUMNS, "source_file"]}


_ARROW_TYPES = {
    "string": pa.string(),
    "int64": pa.int64(),
    "Int64": pa.int64(),
    "float64": pa.float64(),
}
_PANDAS_TYPES = {pa.string(): pd.StringDtype(), pa.int64(): pd.Int64Dtype()}


def _frame(cols: dict[str, list[Any]]) -> pd.DataFrame:
    """Canonical typed frame from accumulated column chunks (built once per batch of files).

    Built through Arrow: converting millions of Python values is several times
    faster there than through pandas' own constructors.
    """
    n = sum(len(chunk) for chunk in cols["pos"])
    arrays = {
        c: pa.nulls(n, pa.string())
        if c == "patient_id"
        else _arrow_column(cols[c], _ARROW_TYPES[t])
        for c, t in VARIANT_COLUMNS.items()
    }
    frame = pa.table(arrays).to_pandas(types_mapper=_PANDAS_TYPES.get)
    return frame.astype(VARIANT_COLUMNS)


def _arrow_column(chunks: list[Any], kind: pa.DataType) -> pa.Array:
    parts = [
        chunk.cast(kind) if isinstance(chunk, pa.Array) else pa.array(chunk, type=kind)
        for chunk in chunks
    ]
    if not parts:
        return pa.array([], type=kind)
    return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while rows accumulate.

    Rows are tuples of plain values (no reference cycles), but each new tuple
    counts towards a collection, and full collections over millions of live
    tuples cost about a third of the scan. The frames are built inside too, and
    the row values released, so that no collection runs over them afterwards.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def read_vcf(
    path: Path | str,
    cfg: VcfInputConfig,
    *,
    genes: GeneIndex | None = None,
    tumor_sample: str | None = None,
    pass_only: bool | None = None,
) -> ReadResult:
    """Read one VCF into canonical variant rows (``patient_id`` left empty: mapped by the caller).

    Raises
    ------
    IngestError
        When the file is not a readable VCF (empty, not VCF, no ``#CHROM`` line,
        corrupt gzip, unknown tumour column).
    """
    cols = _new_columns()
    rejects = _RejectLog(str(path))
    with _no_gc():
        report = _scan(
            Path(path),
            cfg,
            cols,
            rejects,
            genes=genes,
            tumor_sample=tumor_sample,
            pass_only=pass_only,
        )
        result = ReadResult(_frame(cols), _reject_frame([rejects]), report)
        cols.clear()  # the row values go before the collector is back
    return result


def read_vcfs(
    paths: Sequence[Path | str],
    cfg: VcfInputConfig,
    *,
    genes: GeneIndex | None = None,
    workers: int | None = None,
    compute: Compute | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[FileReport]]:
    """Read many VCFs into one frame; returns the variant rows, the rejects and one report
    per file, in the order of ``paths``.

    With several cores and enough data (``PARALLEL_MIN_BYTES`` or ``PARALLEL_MIN_FILES``),
    the files are read by a pool of worker processes (``workers``, default ``cfg.workers``;
    0 means one per core). With a distributed ``compute``, the batches are its tasks instead.
    """
    files = [Path(p) for p in paths]
    if compute is not None and compute.distributed and len(files) > 1:
        size = -(-len(files) // compute.partitions(len(files)))
        chunks = [files[i : i + size] for i in range(0, len(files), size)]
        parts = compute.map(_read_batch, chunks, cfg, genes)
        return _join_batches(parts)
    n = _worker_count(cfg.workers if workers is None else workers, files)
    if n <= 1:
        return _read_batch(files, cfg, genes)
    size = -(-len(files) // (n * 4))  # contiguous chunks keep the file order
    chunks = [files[i : i + size] for i in range(0, len(files), size)]
    ctx = multiprocessing.get_context("spawn")  # no fork of a process with live threads
    with concurrent.futures.ProcessPoolExecutor(n, mp_context=ctx) as pool:
        parts = list(pool.map(_read_batch, chunks, [cfg] * len(chunks), [genes] * len(chunks)))
    return _join_batches(parts)


def _join_batches(
    parts: Sequence[tuple[pd.DataFrame, pd.DataFrame, list[FileReport]]],
) -> tuple[pd.DataFrame, pd.DataFrame, list[FileReport]]:
    frame = pd.concat([p[0] for p in parts], ignore_index=True)
    rejects = pd.concat([p[1] for p in parts], ignore_index=True)
    return frame, rejects, [r for p in parts for r in p[2]]


#: Below this much input (bytes on disk) and this many files, starting worker processes
#: (about 2 s each) costs more than it saves.
PARALLEL_MIN_BYTES = 16 << 20
PARALLEL_MIN_FILES = 500


def _worker_count(requested: int, paths: Sequence[Path]) -> int:
    if requested == 1 or len(paths) < 2:
        return 1
    n = requested if requested > 0 else (os.cpu_count() or 1)
    if (
        requested <= 0
        and len(paths) < PARALLEL_MIN_FILES
        and sum(p.stat().st_size for p in paths if p.is_file()) < PARALLEL_MIN_BYTES
    ):
        return 1
    return max(1, min(n, len(paths)))


def _read_batch(
    paths: Sequence[Path], cfg: VcfInputConfig, genes: GeneIndex | None
) -> tuple[pd.DataFrame, pd.DataFrame, list[FileReport]]:
    cols = _new_columns()
    reports = []
    logs = []
    caches: _AnnotationCaches = {}  # hot-spot variants repeat across patients
    with _no_gc():
        for path in paths:
            logs.append(_RejectLog(str(path)))
            reports.append(_scan(Path(path), cfg, cols, logs[-1], genes=genes, caches=caches))
        frame, reject_frame = _frame(cols), _reject_frame(logs)
        cols.clear()  # the row values go before the collector is back
        logs.clear()
    return frame, reject_frame, reports


class _Fields:
    """Field extractors of one file's records (what the header says is there, decided once)."""

    def __init__(self, header: VcfHeader, cfg: VcfInputConfig, tumor: str) -> None:
        self.ti = header.samples.index(tumor)
        self.has_af = "AF" in header.format_ids
        self.has_ad = "AD" in header.format_ids
        self.has_dp = "DP" in header.format_ids
        self.vaf_keys = [k for k in cfg.vaf_info_keys if k in header.info_ids]
        self.depth_keys = [k for k in cfg.depth_info_keys if k in header.info_ids]
        self.good_ref: set[str] = set()  # REF and ALT values found valid so far
        self.good_alt: set[str] = set()
        self.chroms: dict[str, str] = {}  # as in the file -> normalized

    def chrom(self, raw: str) -> str:
        chrom = self.chroms.get(raw)
        if chrom is None:
            chrom = self.chroms[raw] = normalize_chrom(raw)
        return chrom

    def allele_problem(self, ref: str, alts: list[str]) -> tuple[str, str] | None:
        """``(reason, detail)`` when REF or an ALT is not a valid allele, else None."""
        if ref not in self.good_ref:
            if _BASES.match(ref) is None:
                return "invalid REF", f"REF {ref!r} has a character other than A, C, G, T, N"
            self.good_ref.add(ref)
        bad_alt = None
        for a in alts:
            if a not in self.good_alt:
                if _ALT.match(a) is None:
                    bad_alt = a
                    break
                self.good_alt.add(a)
        if bad_alt is not None or not alts:
            return (
                "invalid ALT",
                f"ALT {bad_alt!r} is not a base sequence, '*' or a symbolic <...> allele",
            )
        return None

    def sample(self, v: Any, n_alt: int) -> tuple[list[float] | None, list[int] | None, int | None]:
        """The tumour's FORMAT ``AF`` and ``AD`` (``AD`` only when ``AF`` or depth is
        missing: one FORMAT array fewer per record otherwise) and its depth."""
        ti = self.ti
        af_row: list[float] | None = None
        if self.has_af:
            af = v.format("AF")
            if af is None:
                pass
            elif n_alt == 1:  # most records: one value read, no row view (AF[0] is all it uses)
                with contextlib.suppress(IndexError):  # no AF value
                    af_row = [af.item(ti, 0)]
            elif af.shape[1] >= n_alt:
                af_row = af[ti].tolist()
        depth: int | None = None
        if self.has_dp:
            dp = v.format("DP")
            if dp is not None:
                d0 = int(dp.item(ti, 0))
                depth = d0 if d0 >= 0 else None
        ad_row: list[int] | None = None
        if self.has_ad and (
            af_row is None
            or depth is None
            or (af_row[0] != af_row[0] if n_alt == 1 else any(x != x for x in af_row))
        ):
            ad = v.format("AD")
            if ad is not None and ad.shape[1] == n_alt + 1:
                ad_row = ad[ti].tolist()
        if depth is None:
            if ad_row is not None and min(ad_row) >= 0:
                depth = sum(ad_row)
            else:
                for k in self.depth_keys:
                    d = _num(v.INFO.get(k), 0)
                    if d is not None:
                        depth = int(d)
                        break
        return af_row, ad_row, depth

    def vaf(
        self,
        v: Any,
        i: int,
        af_row: list[float] | None,
        ad_row: list[int] | None,
        depth: int | None,
    ) -> float | None:
        """Allele fraction of ALT ``i``: FORMAT AF, else AD, else the INFO keys."""
        if af_row is not None and af_row[i] == af_row[i]:  # not NaN
            return af_row[i]
        if ad_row is not None and ad_row[i + 1] >= 0:
            total = sum(ad_row) if min(ad_row) >= 0 else 0
            if total > 0 or (depth or 0) > 0:
                # alt / sum(AD) when every AD value is present, else alt / depth
                return ad_row[i + 1] / (total if total > 0 else (depth or 1))
        for k in self.vaf_keys:
            x = _num(v.INFO.get(k), i)
            if x is not None:
                return x
        return None


@dataclass
class _Tally:
    """Per-file counts behind the report's warnings."""

    records: int = 0
    unannotated: int = 0
    no_vaf: int = 0


_RowsOf = Callable[[Any, str, list[str], int, str, list[tuple[Any, ...]]], str | None]


def _row_maker(fields: _Fields, annotate: _Annotator, tumor: str, tally: _Tally) -> _RowsOf:
    """``rows_of(v, ref, alts, line, filt, out)`` appends the rows of one record to ``out``
    (one per ALT allele, ``*`` excluded) and returns None, or the reason its VAF rejects
    it (``out`` left as it was). Counts alleles without a VAF or an annotation as it goes
    (up to the allele that rejects the record). A row holds the one-entry annotation it
    still has to read (:data:`_ROW_ENTRY`, see :func:`_row_columns`).

    A closure over what is fixed for the file: the per-record work is most of the scan.
    Most records have one ALT and the tumour's FORMAT AF and DP: those are read here,
    the others by :func:`_any_record`, which reads what these read the same way."""
    any_record = _any_record(fields, annotate, tumor, tally)
    if not (fields.has_af and fields.has_dp):
        return any_record
    ti, chroms, chrom_of, key = fields.ti, fields.chroms, fields.chrom, annotate.key

    def rows_of(
        v: Any, ref: str, alts: list[str], line: int, filt: str, out: list[tuple[Any, ...]]
    ) -> str | None:
        if len(alts) != 1:
            return any_record(v, ref, alts, line, filt, out)
        af, dp = v.format("AF"), v.format("DP")
        if af is None or dp is None:
            return any_record(v, ref, alts, line, filt, out)
        try:
            vaf = af.item(ti, 0)
        except IndexError:  # no AF value
            return any_record(v, ref, alts, line, filt, out)
        depth = int(dp.item(ti, 0))
        if vaf != vaf or depth < 0:  # AF is NaN or DP missing: AD and INFO next
            return any_record(v, ref, alts, line, filt, out)
        alt = alts[0]
        if alt == "*":
            return None
        if not 0.0 <= vaf <= 1.0:
            return f"allele fraction {vaf:g} of ALT {alt!r} is outside 0-1"
        ann = v.INFO.get(key) if key else None
        raw_chrom, pos = v.CHROM, v.POS
        chrom = chroms.get(raw_chrom) or chrom_of(raw_chrom)
        if ann and "," not in ann:  # read later, in bulk
            gene = cons = hgvsp = None
            entry = ann
        else:
            if not ann:
                tally.unannotated += 1
            gene, cons, hgvsp, entry = annotate(ann, raw_chrom, pos, ref, alt)
        out.append((tumor, chrom, pos, ref, alt, gene, cons, hgvsp, vaf, depth, filt, entry, line))
        return None

    return rows_of


def _any_record(fields: _Fields, annotate: _Annotator, tumor: str, tally: _Tally) -> _RowsOf:
    """``rows_of`` (see :func:`_row_maker`) for any record."""
    sample, vaf_of, chroms, chrom_of = fields.sample, fields.vaf, fields.chroms, fields.chrom
    key = annotate.key

    def rows_of(
        v: Any, ref: str, alts: list[str], line: int, filt: str, out: list[tuple[Any, ...]]
    ) -> str | None:
        af_row, ad_row, depth = sample(v, len(alts))
        ann = v.INFO.get(key) if key else None
        raw_chrom, pos = v.CHROM, v.POS
        chrom = chroms.get(raw_chrom) or chrom_of(raw_chrom)
        one_entry = ann and "," not in ann  # read later, in bulk
        start = len(out)
        for i, alt in enumerate(alts):
            if alt == "*":
                continue
            if af_row is not None and af_row[i] == af_row[i]:  # FORMAT AF, not NaN: most records
                vaf: float | None = af_row[i]
            else:
                vaf = vaf_of(v, i, af_row, ad_row, depth)
            if vaf is None:
                tally.no_vaf += 1
            elif not 0.0 <= vaf <= 1.0:
                del out[start:]
                return f"allele fraction {vaf:g} of ALT {alt!r} is outside 0-1"
            if one_entry:
                gene = cons = hgvsp = None
                entry = ann
            else:
                if not ann:
                    tally.unannotated += 1
                gene, cons, hgvsp, entry = annotate(ann, raw_chrom, pos, ref, alt)
            out.append(
                (tumor, chrom, pos, ref, alt, gene, cons, hgvsp, vaf, depth, filt, entry, line)
            )
        return None

    return rows_of


def _scan(
    p: Path,
    cfg: VcfInputConfig,
    cols: dict[str, list[Any]],
    rejects: _RejectLog,
    *,
    genes: GeneIndex | None = None,
    tumor_sample: str | None = None,
    pass_only: bool | None = None,
    caches: _AnnotationCaches | None = None,
) -> FileReport:
    """Append the rows of one VCF to ``cols`` and its rejects to ``rejects``; return its report."""
    header = read_header(p)
    misfit_check = _misfit_check(p, header)
    tumor = pick_tumor(header, cfg, p, tumor_sample)
    keep_pass_only = cfg.pass_only if pass_only is None else pass_only
    fields = _Fields(header, cfg, tumor)
    annotate = _Annotator(header, genes, caches)
    tally = _Tally()
    rows_of = _row_maker(fields, annotate, tumor, tally)
    good_ref, good_alt, not_pass = fields.good_ref, fields.good_alt, rejects.not_pass
    rows_out: list[tuple[Any, ...]] = []
    n = 0
    for v, line in _records(p, header, tumor, rejects):
        n += 1
        filters = v.FILTERS  # one call: FILTER is None for both PASS and "."
        filt = filters[0] if len(filters) == 1 else ";".join(filters) or "."
        if keep_pass_only and filt != "PASS" and filt != ".":
            not_pass(line, v.CHROM, v.POS, filt)
            continue
        ref: str = v.REF
        alts: list[str] = v.ALT
        if ref in good_ref and len(alts) == 1 and alts[0] in good_alt:
            problem = None  # the alleles of most records: valid, seen before
        else:
            problem = fields.allele_problem(ref, alts)
        if problem is None:
            problem_vaf = rows_of(v, ref, alts, line, filt, rows_out)
            if problem_vaf is None:
                continue
            problem = ("invalid VAF", problem_vaf)
        rejects.add(line, problem[0], str(v).strip(), detail=problem[1])
    tally.records = n
    rows_out = _drop_misfits(rows_out, misfit_check.result(), rejects, header)
    n_rows = len(rows_out)
    if rows_out:
        for c, values in zip(_ROW_COLUMNS, _row_columns(rows_out, annotate), strict=True):
            cols[c].append(values)
        cols["source_file"].append([str(p)] * n_rows)
    report = FileReport(
        file=str(p), kind="vcf", extra={"tumor_sample_column": tumor, "vcf_version": header.version}
    )
    report.warnings.extend(_warnings(tally, genes, cfg))
    report.extra.update({"variant_rows": n_rows, "unannotated_rows": tally.unannotated})
    report.read = tally.records + _unparsed(rejects)
    report.rejected = len(rejects)
    report.ingested = report.read - report.rejected
    report.rejected_by_reason = dict(rejects.reasons)
    return report


def _row_columns(rows: list[tuple[Any, ...]], annotate: _Annotator) -> list[Sequence[Any]]:
    """The columns (:data:`_ROW_COLUMNS`) of a file's rows, one-entry annotations read in bulk."""
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
    entries = columns.pop(_ROW_ENTRY)
    n_left = entries.count(None)  # rows whose annotation is read already
    if n_left == len(entries):
        return columns
    for at, parsed in zip(_ANNOTATION_AT, annotate.parse_columns(entries), strict=True):
        columns[at] = (
            parsed  # as Arrow made it, when it did: the frame takes it whole
            if n_left == 0
            else [
                value if e is None else p
                for e, p, value in zip(entries, _as_list(parsed), columns[at], strict=True)
            ]
        )
    return columns


def _drop_misfits(
    rows: list[tuple[Any, ...]], misfits: dict[int, str], rejects: _RejectLog, header: VcfHeader
) -> list[tuple[Any, ...]]:
    """Reject the records whose column count differs from the header's and drop their rows.

    htslib reads a record with more sample columns than the header (or none) without
    complaint when it can: every record's column count is checked against the header.
    """
    if not misfits:
        return rows
    done = set(rejects.lines)
    for n, line_text in misfits.items():
        if n not in done:
            rejects.add(n, "unparseable record", line_text, detail=_diagnose(line_text, header))
    return [r for r in rows if r[-1] not in misfits]


def _warnings(tally: _Tally, genes: GeneIndex | None, cfg: VcfInputConfig) -> list[str]:
    out = []
    if tally.unannotated:
        if genes is None:
            out.append(
                f"{tally.unannotated} variant rows have no CSQ or ANN annotation: gene, "
                "consequence and HGVSp are empty. Annotate the VCF with Ensembl VEP (--vcf, "
                "INFO/CSQ) or SnpEff (INFO/ANN), or give gene intervals "
                "(cohort.inputs.vcf.genes_bed / --genes-bed)."
            )
        else:
            out.append(
                f"{tally.unannotated} variant rows had no CSQ/ANN annotation: gene "
                "taken from the gene intervals; consequence and HGVSp empty"
            )
    if tally.no_vaf:
        out.append(
            f"{tally.no_vaf} variant rows have no allele fraction (no FORMAT AF/AD "
            f"and none of INFO {list(cfg.vaf_info_keys)})"
        )
    return out


#: From this size on disk (bytes), a file's column-count check runs in a thread beside the
#: scan; a smaller file is checked before it (the same result, and an error raised at the
#: same point, when the result is asked for).
BACKGROUND_CHECK_MIN_BYTES = 256 << 10


def _misfit_check(path: Path, header: VcfHeader) -> _Background | _Deferred:
    """The column-count check of ``path`` (it re-reads the file), started: in a thread beside
    the scan (zlib releases the GIL), or now for a small file (a thread's start costs more
    than its check)."""
    big = path.stat().st_size >= BACKGROUND_CHECK_MIN_BYTES
    return (_Background if big else _Deferred)(_column_misfits, path, header)


class _Deferred:
    """Runs ``fn(*args)`` now; ``result()`` returns it or raises its error, as
    :class:`_Background` does."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self._out: Any = None
        self._err: BaseException | None = None
        try:
            self._out = fn(*args)
        except Exception as exc:  # noqa: BLE001 - re-raised in result()
            self._err = exc

    def result(self) -> Any:
        if self._err is not None:
            raise self._err
        return self._out


class _Background(threading.Thread):
    """Runs ``fn(*args)`` in a thread; ``result()`` joins and returns it (or raises its error)."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        super().__init__(daemon=True)
        self._call = (fn, args)
        self._out: Any = None
        self._err: BaseException | None = None
        self.start()

    def run(self) -> None:
        fn, args = self._call
        try:
            self._out = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised in result()
            self._err = exc

    def result(self) -> Any:
        self.join()
        if self._err is not None:
            raise self._err
        return self._out


def _column_misfits(path: Path, header: VcfHeader) -> dict[int, str]:
    """Record lines whose tab-separated column count differs from the ``#CHROM`` line's.

    Counts tabs and newlines in bulk first; only a file whose totals do not add up
    is scanned line by line.
    """
    tabs = 7 + (1 + len(header.samples) if header.samples else 0)
    counts = _gzip_counts(path, header.n_lines) if header.gzipped else None
    n_tabs, n_lines = counts or _stream_counts(path, header)
    if n_tabs == n_lines * tabs:
        return {}
    out: dict[int, str] = {}
    for n, raw in enumerate(_raw_lines(path, header.gzipped), start=1):
        if n > header.n_lines and raw.count(b"\t") != tabs and raw.strip():
            out[n] = raw.decode("utf-8", errors="replace")
    return out


class _RejectLog:
    """The rejected records of one VCF, as :class:`~precision_onco.ingest.contracts.Rejects`
    holds them (same reasons, details and excerpts) but kept as columns: a file can reject
    tens of thousands of not-PASS records, and a frame is built once per batch
    (:func:`_reject_frame`)."""

    def __init__(self, source_file: str) -> None:
        self.source_file = source_file
        self.lines: list[int] = []
        self.texts: list[str] = []  # "reason: detail"
        self.raws: list[str] = []  # excerpts
        self.reasons: Counter[str] = Counter()
        self._not_pass: dict[str, str] = {}  # FILTER value -> its reason text

    def add(self, line: int, reason: str, raw: object, *, detail: str = "") -> None:
        """Record one rejected record. ``reason`` is the category counted in the summary."""
        self.reasons[reason] += 1
        self.lines.append(line)
        self.texts.append(f"{reason}: {detail}" if detail else reason)
        self.raws.append(excerpt(raw))

    def not_pass(self, line: int, chrom: str, pos: int, filt: str) -> None:
        """``add(line, "not PASS", f"{chrom}:{pos} FILTER={filt}", detail=f"FILTER={filt}")``."""
        text = self._not_pass.get(filt)
        if text is None:
            text = self._not_pass[filt] = f"not PASS: FILTER={filt}"
        self.reasons["not PASS"] += 1
        self.lines.append(line)
        self.texts.append(text)
        raw = f"{chrom}:{pos} FILTER={filt}"
        plain = len(raw) <= RAW_EXCERPT_CHARS and "\t" not in raw
        self.raws.append(raw if plain and "\r" not in raw and "\n" not in raw else excerpt(raw))

    def __len__(self) -> int:
        return len(self.lines)


def _reject_frame(logs: Sequence[_RejectLog]) -> pd.DataFrame:
    """The rejects of ``logs``, in order, as a frame with :data:`REJECT_COLUMNS`."""
    files: list[str] = []
    for log in logs:
        files += [log.source_file] * len(log)
    arrays = {  # through Arrow, as :func:`_frame`
        "source_file": pa.array(files, pa.string()),
        "source_line": pa.array([n for log in logs for n in log.lines], pa.int64()),
        "reason": pa.array([t for log in logs for t in log.texts], pa.string()),
        "raw": pa.array([r for log in logs for r in log.raws], pa.string()),
    }
    assert list(arrays) == list(REJECT_COLUMNS)
    frame = pa.table(arrays).to_pandas(types_mapper=_PANDAS_TYPES.get)
    return frame.astype(REJECT_COLUMNS)


def _count(chunk: bytes) -> tuple[int, int]:
    """Tabs and newlines in ``chunk`` (numpy compares bytes several at a time)."""
    a = np.frombuffer(chunk, np.uint8)
    return int(np.count_nonzero(a == 9)), int(np.count_nonzero(a == 10))


def _stream_counts(path: Path, header: VcfHeader) -> tuple[int, int]:
    """Tabs and lines after the header, read through :mod:`gzip` or as a plain file."""
    opener: Any = gzip.open if header.gzipped else open
    n_tabs = n_lines = 0
    with opener(path, "rb") as fh:
        for _ in range(header.n_lines):
            fh.readline()
        last = b"\n"
        while chunk := fh.read(1 << 22):
            t, n = _count(chunk)
            n_tabs, n_lines, last = n_tabs + t, n_lines + n, chunk[-1:]
    return n_tabs, n_lines + (last != b"\n")


def _gzip_counts(path: Path, skip: int) -> tuple[int, int] | None:
    """Tabs and lines after the first ``skip`` lines of a gzip file, inflated member by
    member with zlib (a BGZF file is a chain of small gzip members, each some Python steps
    in :mod:`gzip`); None when zlib cannot read it to its end, and then
    :func:`_stream_counts` reads it (and raises) as before."""
    n_tabs = n_lines = 0
    last = b"\n"
    inflate, fed = zlib.decompressobj(31), False
    try:
        with path.open("rb") as fh:
            while data := fh.read(1 << 22):
                while data:
                    out, data, fed = inflate.decompress(data), b"", True
                    if inflate.eof:  # the next member, if any, starts in unused_data
                        data, fed = inflate.unused_data, False
                        inflate = zlib.decompressobj(31)
                    if skip:
                        out, skip = _after_lines(out, skip)
                    if out:
                        t, n = _count(out)
                        n_tabs, n_lines, last = n_tabs + t, n_lines + n, out[-1:]
    except zlib.error:
        return None
    if fed:  # the last member is cut short
        return None
    return n_tabs, n_lines + (last != b"\n")


def _after_lines(chunk: bytes, skip: int) -> tuple[bytes, int]:
    """What follows the first ``skip`` lines of ``chunk``, and the lines still to skip."""
    n = chunk.count(b"\n")
    if n < skip:
        return b"", skip - n
    at = -1
    for _ in range(skip):
        at = chunk.index(b"\n", at + 1)
    return chunk[at + 1 :], 0


def _unparsed(rejects: _RejectLog) -> int:
    """Records htslib could not parse (rejected before cyvcf2 yielded them)."""
    return rejects.reasons.get("unparseable record", 0)


def sample_names(path: Path | str) -> Sequence[str]:
    """The sample columns of a VCF (for diagnostics and the CLI)."""
    return read_header(path).samples
