"""GDC-style MAF files (plain or gzipped, ``#version`` comment lines) to canonical variant rows.

Required columns: ``Hugo_Symbol``, ``Chromosome``, ``Start_Position``,
``Reference_Allele``, ``Tumor_Seq_Allele2``, ``Tumor_Sample_Barcode`` and
``Variant_Classification``. The protein change comes from ``HGVSp_Short``,
else ``Protein_Change``, else ``HGVSp``; the allele fraction from
``t_alt_count / t_depth``, else the configured VAF column (a percentage is
detected, or declared with ``vaf_scale``). Coordinates keep the MAF
convention (``-`` for the empty allele of an indel).

Accounting is per data row: a row is ingested or rejected with its file line.
"""

from __future__ import annotations

import difflib
import gzip
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from precision_onco.config.schema import MafInputConfig
from precision_onco.ingest.contracts import (
    VARIANT_COLUMNS,
    FileReport,
    IngestError,
    ReadResult,
    Rejects,
)
from precision_onco.ingest.genes import normalize_chrom

__all__ = ["MAF_REQUIRED", "read_maf"]

_MISSING = {
    "": np.nan,
    "NA": np.nan,
    "N/A": np.nan,
    ".": np.nan,
    "nan": np.nan,
    "NaN": np.nan,
    "null": np.nan,
}

MAF_REQUIRED = (
    "Hugo_Symbol",
    "Chromosome",
    "Start_Position",
    "Reference_Allele",
    "Tumor_Seq_Allele2",
    "Tumor_Sample_Barcode",
    "Variant_Classification",
)

#: MAF Variant_Classification -> Sequence Ontology consequence.
MAF_TO_SO = {
    "Missense_Mutation": "missense_variant",
    "Nonsense_Mutation": "stop_gained",
    "Silent": "synonymous_variant",
    "Splice_Site": "splice_acceptor_variant",
    "Frame_Shift_Del": "frameshift_variant",
    "Frame_Shift_Ins": "frameshift_variant",
    "In_Frame_Del": "inframe_deletion",
    "In_Frame_Ins": "inframe_insertion",
    "Nonstop_Mutation": "stop_lost",
    "Translation_Start_Site": "start_lost",
    "Intron": "intron_variant",
    "3'UTR": "3_prime_UTR_variant",
    "5'UTR": "5_prime_UTR_variant",
    "3'Flank": "downstream_gene_variant",
    "5'Flank": "upstream_gene_variant",
    "IGR": "intergenic_variant",
    "RNA": "non_coding_transcript_exon_variant",
    "Splice_Region": "splice_region_variant",
}


def _read_text(p: Path) -> str:
    if not p.is_file():
        raise IngestError(p, "file not found")
    if p.stat().st_size == 0:
        raise IngestError(p, "empty file (expected a MAF)")
    with p.open("rb") as fh:
        raw = fh.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError) as exc:
            raise IngestError(p, f"truncated or corrupt gzip data ({exc})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise IngestError(
            p,
            f"not UTF-8 text ({exc.reason} at byte {exc.start}); convert the file to UTF-8",
            line=line,
        ) from None


#: Columns read besides the required ones, when present.
_OPTIONAL = (
    "Tumor_Seq_Allele1",
    "t_alt_count",
    "t_depth",
    "FILTER",
    "HGVSp_Short",
    "Protein_Change",
    "HGVSp",
    "t_vaf",
    "VAF",
    "tumor_f",
    "i_TumorVAF_WU",
)


_NULLS = ["", "NA", "N/A", ".", "nan", "NaN", "null"]


def _header(p: Path) -> tuple[list[str], int] | None:
    """The column names and the number of lines before them, or None if unreadable."""
    try:
        with gzip.open(p, "rb") if _gzipped(p) else p.open("rb") as fh:
            n_comment = 0
            for raw in fh:
                if raw.startswith(b"#") or not raw.strip():
                    n_comment += 1
                    continue
                return raw.decode("utf-8").rstrip("\r\n").split("\t"), n_comment
    except (OSError, EOFError, UnicodeDecodeError, zlib.error):
        return None
    return None


#: An Arrow column as read (chunked) or as derived by a compute kernel.
_Arrow: TypeAlias = pa.Array | pa.ChunkedArray


def _read_fast(p: Path, cfg: MafInputConfig) -> ReadResult | None:
    """Vectorized read of a clean MAF through pyarrow, or None when the file needs the careful
    path: unreadable, not UTF-8, ragged or blank lines, or any record that would be rejected
    (the careful path then diagnoses every record with its line)."""
    if not p.is_file() or p.stat().st_size == 0:
        return None
    head = _header(p)
    if head is None:
        return None
    header, n_comment = head
    types = _fast_types(header, vaf_column=cfg.vaf_column)
    if types is None:
        return None
    t = _arrow_table(p, types, skip_rows=n_comment)
    if t is None:
        return None
    # each check in turn, as the careful path would reject: the first that fails sends it there
    alleles = _fast_alleles(t)
    if alleles is None:
        return None
    counts = _fast_counts(t)
    if counts is None:
        return None
    fraction = _fast_vaf(t, counts[0], vaf_column=cfg.vaf_column, vaf_scale=cfg.vaf_scale)
    if fraction is None:
        return None
    filt = _fast_filter(t, pass_only=cfg.pass_only)
    if filt is None:
        return None
    vaf, warnings = fraction
    ref, alt = alleles
    frame = _fast_frame(
        p, t, ref=ref, alt=alt, vaf=vaf, depth=counts[1], filt=filt, first_line=n_comment + 2
    )
    samples = int(pc.count_distinct(t.column("Tumor_Sample_Barcode")).as_py())
    return _result(p, frame, Rejects(str(p)), warnings=warnings, samples=samples, read=t.num_rows)


def _fast_types(header: list[str], *, vaf_column: str | None) -> dict[str, pa.DataType] | None:
    """The columns to read and their Arrow types; None when the header needs the careful path."""
    numeric = {"Start_Position": pa.int64(), "t_alt_count": pa.float64(), "t_depth": pa.float64()}
    vaf_cols = [c for c in (vaf_column, "t_vaf", "VAF", "tumor_f", "i_TumorVAF_WU") if c]
    wanted = set(MAF_REQUIRED) | set(_OPTIONAL) | set(vaf_cols)
    include = [c for c in dict.fromkeys(header) if c in wanted]
    if not set(MAF_REQUIRED) <= set(include) or len(set(header)) != len(header):
        return None
    if vaf_column and vaf_column not in include:
        return None
    return {c: numeric.get(c, pa.float64() if c in vaf_cols else pa.string()) for c in include}


def _arrow_table(p: Path, types: dict[str, pa.DataType], *, skip_rows: int) -> pa.Table | None:
    """The typed columns read by pyarrow; None when the read fails or a line is ragged."""
    ragged = False

    def on_invalid(row: Any) -> str:
        nonlocal ragged
        ragged = True
        return "skip"

    try:
        t = pacsv.read_csv(
            p,
            read_options=pacsv.ReadOptions(skip_rows=skip_rows, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                delimiter="\t",
                quote_char=False,
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=list(types),
                column_types=types,
                null_values=_NULLS,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, OSError, EOFError, zlib.error):
        return None
    return None if ragged else t


def _fast_alleles(t: pa.Table) -> tuple[_Arrow, _Arrow] | None:
    """Upper-cased ref and alt; None when a position, allele or barcode would be rejected."""
    n = t.num_rows
    col = t.column
    pos = col("Start_Position")
    if pos.null_count or (n and pc.min(pos).as_py() <= 0):
        return None
    allele = r"^(?:[ACGTN]+|-)$"
    ref = pc.utf8_upper(col("Reference_Allele"))
    a2 = pc.utf8_upper(col("Tumor_Seq_Allele2"))
    a1 = pc.utf8_upper(col("Tumor_Seq_Allele1")) if "Tumor_Seq_Allele1" in t.column_names else a2
    alt = pc.if_else(pc.not_equal(a2, ref), a2, a1)
    for arr in (ref, alt):
        if not pc.all(pc.match_substring_regex(arr, allele)).as_py() and n:
            return None
    if n and pc.any(pc.equal(pc.utf8_trim_whitespace(col("Tumor_Sample_Barcode")), "")).as_py():
        return None
    return ref, alt


def _fast_counts(t: pa.Table) -> tuple[_Arrow, _Arrow] | None:
    """VAF and depth from t_alt_count/t_depth (else empty); None when a count is rejected."""
    n = t.num_rows
    vaf = pa.nulls(n, pa.float64())
    depth = pa.nulls(n, pa.int64())
    if "t_alt_count" in t.column_names and "t_depth" in t.column_names:
        t_alt, t_dp = t.column("t_alt_count"), t.column("t_depth")
        bad = pc.or_kleene(
            pc.or_kleene(pc.greater(t_alt, t_dp), pc.less(t_alt, 0)), pc.less(t_dp, 0)
        )
        if pc.any(bad).as_py():
            return None
        vaf = pc.divide(t_alt, pc.if_else(pc.greater(t_dp, 0), t_dp, None))
        depth = pc.cast(pc.round(t_dp), pa.int64())
    return vaf, depth


def _fast_vaf(
    t: pa.Table, vaf: _Arrow, *, vaf_column: str | None, vaf_scale: str
) -> tuple[_Arrow, list[str]] | None:
    """The VAF completed from the VAF column, with warnings; None when one is outside 0-1."""
    n = t.num_rows
    warnings: list[str] = []
    vcol = vaf_column
    if vcol is None and vaf.null_count == n:
        vcol = next(
            (c for c in ("t_vaf", "VAF", "tumor_f", "i_TumorVAF_WU") if c in t.column_names), None
        )
    if vcol is not None:
        v = t.column(vcol)
        scale = vaf_scale
        if scale == "auto":
            scale = "percent" if n and (pc.max(v).as_py() or 0) > 1 else "fraction"
            if scale == "percent":
                warnings.append(f"VAF column {vcol!r} read as a percentage (values above 1)")
        if scale == "percent":
            v = pc.divide(v, 100.0)
        vaf = pc.coalesce(vaf, v)
    if n and pc.any(pc.or_kleene(pc.less(vaf, 0), pc.greater(vaf, 1))).as_py():
        return None
    if vaf.null_count == n and n:
        warnings.append(
            "no allele fraction: the MAF has neither t_alt_count/t_depth nor a "
            "VAF column (set cohort.inputs.maf.vaf_column)"
        )
    return vaf, warnings


def _fast_filter(t: pa.Table, *, pass_only: bool) -> _Arrow | None:
    """FILTER (empty read as ``.``, absent as PASS); None when pass_only and one failed."""
    n = t.num_rows
    if "FILTER" not in t.column_names:
        return pa.repeat("PASS", n)
    filt = pc.if_else(pc.equal(t.column("FILTER"), ""), ".", t.column("FILTER"))
    if pass_only and not pc.all(pc.is_in(filt, pa.array(["PASS", "."]))).as_py() and n:
        return None
    return filt


def _fast_annotation(t: pa.Table) -> dict[str, _Arrow]:
    """The normalized chromosome, gene, SO consequence and protein change columns."""
    n = t.num_rows
    col = t.column
    prot_col = next(
        (c for c in ("HGVSp_Short", "Protein_Change", "HGVSp") if c in t.column_names), None
    )
    if prot_col:
        prot = col(prot_col)
        prot = pc.if_else(pc.is_in(prot, pa.array(["", "."])), None, prot)
    else:
        prot = pa.nulls(n, pa.string())
    gene = col("Hugo_Symbol")
    gene = pc.if_else(pc.is_in(gene, pa.array(["", "Unknown"])), None, gene)
    classes = pa.array(list(MAF_TO_SO))
    cons = pc.take(
        pa.array(list(MAF_TO_SO.values())), pc.index_in(col("Variant_Classification"), classes)
    )
    chrom_raw = col("Chromosome")
    uniq = pc.unique(chrom_raw)
    chrom = pc.take(
        pa.array([normalize_chrom(c) for c in uniq.to_pylist()]), pc.index_in(chrom_raw, uniq)
    )
    return {"chrom": chrom, "gene": gene, "consequence": cons, "hgvsp": prot}


def _fast_frame(
    p: Path,
    t: pa.Table,
    *,
    ref: _Arrow,
    alt: _Arrow,
    vaf: _Arrow,
    depth: _Arrow,
    filt: _Arrow,
    first_line: int,
) -> pd.DataFrame:
    """The canonical variant rows of a clean file, the first on line ``first_line``."""
    n = t.num_rows
    ann = _fast_annotation(t)
    out = pa.table(
        {
            "patient_id": pa.nulls(n, pa.string()),
            "sample_id": t.column("Tumor_Sample_Barcode"),
            "chrom": ann["chrom"],
            "pos": t.column("Start_Position"),
            "ref": ref,
            "alt": alt,
            "gene": ann["gene"],
            "consequence": ann["consequence"],
            "hgvsp": ann["hgvsp"],
            "vaf": vaf,
            "depth": depth,
            "filter": filt,
            "source_file": pa.repeat(str(p), n),
            "source_line": pa.array(np.arange(first_line, first_line + n, dtype=np.int64)),
        }
    )
    return out.to_pandas(types_mapper=_PANDAS_TYPES.get).astype(VARIANT_COLUMNS)


def _result(
    p: Path, frame: pd.DataFrame, rejects: Rejects, *, warnings: list[str], samples: int, read: int
) -> ReadResult:
    """The file's result: its rows, its rejects and its report (warnings, sample count)."""
    report = FileReport(file=str(p), kind="maf", warnings=warnings, extra={"samples": samples})
    return ReadResult.build(frame, rejects, report, records_read=read)


_PANDAS_TYPES = {
    pa.string(): pd.StringDtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.large_string(): pd.StringDtype(),
}


def _chroms(col: pd.Series) -> dict[str, str]:
    return {c: normalize_chrom(c) for c in col.unique()}


def _gzipped(p: Path) -> bool:
    with p.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _read_slow(p: Path, rejects: Rejects) -> tuple[pd.DataFrame, int, np.ndarray]:
    """Every row as text with its file line; a row whose field count differs from the
    header's is rejected here, a blank line becomes an empty row (rejected later)."""
    text = _read_text(p)
    lines = text.splitlines()
    n_comment = 0
    while n_comment < len(lines) and (
        lines[n_comment].startswith("#") or not lines[n_comment].strip()
    ):
        n_comment += 1
    if n_comment == len(lines):
        raise IngestError(p, "no header line (only comments or blank lines)")
    header_line = n_comment + 1
    header = lines[n_comment].split("\t")
    width = len(header)
    rows: list[list[str]] = []
    numbers: list[int] = []
    for k, line in enumerate(lines[n_comment + 1 :], start=header_line + 1):
        fields = line.split("\t") if line.strip() else [""] * width
        if len(fields) != width:
            rejects.add(
                k,
                "wrong number of fields",
                line,
                detail=f"expected {width} tab-separated fields (as in the header), got "
                f"{len(fields)}",
            )
            continue
        rows.append(fields)
        numbers.append(k)
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise IngestError(
            p, f"duplicate column names in the header: {', '.join(dup)}", line=header_line
        )
    df = (
        pd.DataFrame(rows, columns=header, dtype=object).astype(str)
        if rows
        else pd.DataFrame({h: pd.Series(dtype=str) for h in header})
    )
    return df, header_line, np.asarray(numbers, dtype=np.int64)


def read_maf(path: Path | str, cfg: MafInputConfig) -> ReadResult:
    """Read one MAF into canonical variant rows (``patient_id`` left empty: the caller maps
    samples to patients)."""
    p = Path(path)
    fast = _read_fast(p, cfg)
    if fast is not None:
        return fast
    rejects = Rejects(str(p))
    df, header_line, line_no = _read_slow(p, rejects)
    n_ragged = len(rejects)
    _check_required(p, list(df.columns), header_line=header_line)
    rows = _Rows(df, line_no, rejects)
    ok, pos, ref, alt = _check_records(rows)
    ok, vaf, depth = _careful_counts(rows, ok)
    if cfg.vaf_column is not None and cfg.vaf_column not in df:
        raise IngestError(
            p, f"configured VAF column {cfg.vaf_column!r} is not in the MAF", line=header_line
        )
    ok, vaf, warnings = _careful_vaf(
        rows, ok, vaf, vaf_column=cfg.vaf_column, vaf_scale=cfg.vaf_scale
    )
    ok, filt = _careful_filter(rows, ok, pass_only=cfg.pass_only)
    frame = _careful_frame(p, rows, ok, pos=pos, ref=ref, alt=alt, vaf=vaf, depth=depth, filt=filt)
    samples = int(frame["sample_id"].nunique())
    return _result(p, frame, rejects, warnings=warnings, samples=samples, read=len(df) + n_ragged)


def _check_required(p: Path, columns: list[str], *, header_line: int) -> None:
    """Raise IngestError naming each missing required column (and its closest match)."""
    missing = [c for c in MAF_REQUIRED if c not in columns]
    if missing:
        hints = {c: difflib.get_close_matches(c, columns, n=1, cutoff=0.6) for c in missing}
        said = ", ".join(f"{c!r}" + (f" (found {h[0]!r}?)" if h else "") for c, h in hints.items())
        raise IngestError(p, f"not a MAF: missing required column(s) {said}", line=header_line)


@dataclass(frozen=True)
class _Rows:
    """The careful path's rows: the text table, each row's file line, the rejects so far."""

    df: pd.DataFrame
    line_no: np.ndarray
    rejects: Rejects


def _reject(
    rows: _Rows, ok: np.ndarray, mask: np.ndarray, reason: str, detail: str | Callable[[int], str]
) -> np.ndarray:
    """Reject the rows of ``mask`` still kept, with line, text and detail; returns those kept."""
    idx = np.flatnonzero(mask & ok)
    for i in idx.tolist():
        raw = "\t".join(rows.df.iloc[i].astype(str).tolist())
        d = detail(i) if callable(detail) else detail
        rows.rejects.add(int(rows.line_no[i]), reason, raw, detail=d)
    kept = ok.copy()
    kept[idx] = False
    return kept


def _check_records(rows: _Rows) -> tuple[np.ndarray, pd.Series, pd.Series, pd.Series]:
    """Reject empty rows, bad positions, alleles and barcodes; returns ok, pos, ref, alt."""
    df = rows.df
    ok = np.ones(len(df), dtype=bool)
    blank = (df[list(MAF_REQUIRED)] == "").all(axis=1).to_numpy()
    ok = _reject(rows, ok, blank, "empty row", "no value in any required column")
    pos = pd.to_numeric(df["Start_Position"], errors="coerce")
    bad_pos = ~(pos.notna() & (pos > 0) & (pos == pos.round())).to_numpy()
    ok = _reject(
        rows,
        ok,
        bad_pos,
        "invalid Start_Position",
        lambda i: f"Start_Position {df['Start_Position'].iat[i]!r} is not a positive integer",
    )
    ref = df["Reference_Allele"].str.upper()
    a2 = df["Tumor_Seq_Allele2"].str.upper()
    a1 = df["Tumor_Seq_Allele1"].str.upper() if "Tumor_Seq_Allele1" in df else a2
    alt = a2.where(a2 != ref, a1)
    allele = r"^(?:[ACGTN]+|-)$"
    ok = _reject(
        rows,
        ok,
        ~ref.str.match(allele).to_numpy(),
        "invalid Reference_Allele",
        lambda i: f"{df['Reference_Allele'].iat[i]!r} is not A/C/G/T/N bases or '-'",
    )
    ok = _reject(
        rows,
        ok,
        ~alt.str.match(allele).to_numpy(),
        "invalid Tumor_Seq_Allele2",
        lambda i: f"{df['Tumor_Seq_Allele2'].iat[i]!r} is not A/C/G/T/N bases or '-'",
    )
    no_sample = (df["Tumor_Sample_Barcode"].str.strip() == "").to_numpy()
    ok = _reject(rows, ok, no_sample, "missing Tumor_Sample_Barcode", "empty sample barcode")
    return ok, pos, ref, alt


def _careful_counts(rows: _Rows, ok: np.ndarray) -> tuple[np.ndarray, pd.Series, pd.Series]:
    """Reject bad read counts; returns ok and the VAF and depth they give (else empty)."""
    df = rows.df
    vaf = pd.Series(np.nan, index=df.index)
    depth = pd.Series(pd.NA, index=df.index, dtype="Int64")
    if "t_alt_count" not in df or "t_depth" not in df:
        return ok, vaf, depth
    raw_alt = df["t_alt_count"].replace(_MISSING)
    raw_dp = df["t_depth"].replace(_MISSING)
    t_alt = pd.to_numeric(raw_alt, errors="coerce")
    t_dp = pd.to_numeric(raw_dp, errors="coerce")
    bad = (raw_alt.notna() & t_alt.isna()) | (raw_dp.notna() & t_dp.isna())
    ok = _reject(
        rows,
        ok,
        bad.to_numpy(),
        "non-numeric read count",
        lambda i: f"t_alt_count={df['t_alt_count'].iat[i]!r}, t_depth={df['t_depth'].iat[i]!r}",
    )
    incoherent = (t_alt > t_dp) | (t_alt < 0) | (t_dp < 0)
    ok = _reject(
        rows,
        ok,
        incoherent.fillna(False).to_numpy(),
        "invalid read count",
        lambda i: (
            f"t_alt_count {df['t_alt_count'].iat[i]} exceeds t_depth {df['t_depth'].iat[i]} "
            "or is negative"
        ),
    )
    return ok, (t_alt / t_dp.where(t_dp > 0)).astype(float), t_dp.round().astype("Int64")


def _careful_vaf(
    rows: _Rows, ok: np.ndarray, vaf: pd.Series, *, vaf_column: str | None, vaf_scale: str
) -> tuple[np.ndarray, pd.Series, list[str]]:
    """Complete the VAF from the VAF column, rejecting bad values; returns ok, VAF, warnings."""
    df = rows.df
    warnings: list[str] = []
    vcol = vaf_column
    if vcol is None and vaf.isna().all():
        vcol = next((c for c in ("t_vaf", "VAF", "tumor_f", "i_TumorVAF_WU") if c in df), None)
    if vcol is not None:
        raw_v = df[vcol].replace(_MISSING)
        v = pd.to_numeric(raw_v, errors="coerce")
        ok = _reject(
            rows,
            ok,
            (raw_v.notna() & v.isna()).to_numpy(),
            "non-numeric VAF",
            lambda i: f"{vcol}={df[vcol].iat[i]!r} is not a number",
        )
        scale = vaf_scale
        if scale == "auto":
            scale = "percent" if (v[ok] > 1).any() else "fraction"
            if scale == "percent":
                warnings.append(f"VAF column {vcol!r} read as a percentage (values above 1)")
        if scale == "percent":
            v = v / 100.0
        vaf = vaf.where(vaf.notna(), v)
    out_of_range = ((vaf < 0) | (vaf > 1)).fillna(False).to_numpy()
    ok = _reject(
        rows,
        ok,
        out_of_range,
        "invalid VAF",
        lambda i: f"allele fraction {vaf.iat[i]:g} is outside 0-1",
    )
    if pd.isna(vaf[ok]).all() and ok.any():
        warnings.append(
            "no allele fraction: the MAF has neither t_alt_count/t_depth nor a "
            "VAF column (set cohort.inputs.maf.vaf_column)"
        )
    return ok, vaf, warnings


def _careful_filter(
    rows: _Rows, ok: np.ndarray, *, pass_only: bool
) -> tuple[np.ndarray, pd.Series]:
    """FILTER (empty read as ``.``, absent as PASS), non-PASS rejected if pass_only."""
    df = rows.df
    filt = df["FILTER"] if "FILTER" in df else pd.Series("PASS", index=df.index)
    filt = filt.replace("", ".")
    if pass_only and "FILTER" in df:
        ok = _reject(
            rows,
            ok,
            ~filt.isin(["PASS", "."]).to_numpy(),
            "not PASS",
            lambda i: f"FILTER={filt.iat[i]}",
        )
    return ok, filt


def _careful_frame(
    p: Path,
    rows: _Rows,
    ok: np.ndarray,
    *,
    pos: pd.Series,
    ref: pd.Series,
    alt: pd.Series,
    vaf: pd.Series,
    depth: pd.Series,
    filt: pd.Series,
) -> pd.DataFrame:
    """The canonical variant rows of the rows kept (chromosome, gene, consequence, protein)."""
    df = rows.df
    prot_col = next((c for c in ("HGVSp_Short", "Protein_Change", "HGVSp") if c in df), None)
    prot = (
        df[prot_col].replace({"": None, ".": None}) if prot_col else pd.Series(None, index=df.index)
    )
    keep = np.flatnonzero(ok)
    frame = pd.DataFrame(
        {
            "patient_id": None,
            "sample_id": df["Tumor_Sample_Barcode"].to_numpy()[keep],
            "chrom": df["Chromosome"].iloc[keep].map(_chroms(df["Chromosome"])).to_numpy(),
            "pos": pos.to_numpy()[keep].astype("int64"),
            "ref": ref.to_numpy()[keep],
            "alt": alt.to_numpy()[keep],
            "gene": df["Hugo_Symbol"].replace({"": None, "Unknown": None}).to_numpy()[keep],
            "consequence": df["Variant_Classification"].map(MAF_TO_SO).to_numpy()[keep],
            "hgvsp": prot.to_numpy()[keep],
            "vaf": vaf.to_numpy()[keep],
            "depth": depth.to_numpy()[keep],
            "filter": filt.to_numpy()[keep],
            "source_file": str(p),
            "source_line": rows.line_no[keep],
        }
    )
    return frame.astype(VARIANT_COLUMNS)
