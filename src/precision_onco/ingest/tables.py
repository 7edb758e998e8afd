"""Clinical tables (CSV, TSV, Parquet, XLSX) to the canonical ``patients`` and ``lines`` rows.

A cohort config maps the source's columns to ours (:class:`TableInputConfig`):
``columns`` renames (source names may hold spaces, parentheses and colons),
``values`` recodes with code lists written as in the source (``"1:Yes; 0:No"``),
``units`` converts (``"g/L->g/dL"``), ``constants`` fills absent columns.

Each row is then coerced to the canonical types and checked by a pandera
schema: types, physiological ranges, RECIST codes, CTCAE grades 0–5 and,
when a code list is configured, OncoTree codes. A row that fails goes to the
rejects with its file line and every reason; so do duplicate patients with
conflicting data, overlapping therapy lines and lines that start after the
data cut-off. A fatal problem (unreadable file, wrong encoding, empty file,
missing required column, a mapping naming a column the file does not have)
raises :class:`IngestError` naming the file and the problem.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from precision_onco.config.schema import TableInputConfig
from precision_onco.ingest.contracts import FileReport, IngestError, ReadResult, Rejects
from precision_onco.ingest.scales import ScaleWarning, scale_warnings

if TYPE_CHECKING:  # pandera is imported when a table is validated (not to read its fields)
    import pandera.pandas as pa

__all__ = [
    "LINE_FIELDS",
    "PATIENT_FIELDS",
    "Field",
    "apply_mapping",
    "load_oncotree_codes",
    "parse_code_list",
    "read_lines",
    "read_patients",
    "read_table",
]

_NA = frozenset({"", "na", "n/a", "nan", "null", "none", ".", "-", "#n/a", "missing"})
_TRUE = frozenset({"1", "1.0", "true", "t", "yes", "y"})
_FALSE = frozenset({"0", "0.0", "false", "f", "no", "n"})

Kind = Literal["str", "float", "int", "date", "bool", "code"]


@dataclass(frozen=True)
class Field:
    """A canonical column: its type, its plausible range or codes, and how to read aliases."""

    kind: Kind
    lo: float | None = None
    hi: float | None = None
    codes: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    unit: str = ""

    def expectation(self) -> str:
        if self.codes:
            return "one of " + ", ".join(self.codes)
        if self.lo is not None or self.hi is not None:
            u = f" {self.unit}" if self.unit else ""
            return f"{_fmt(self.lo)}–{_fmt(self.hi)}{u}"
        return {
            "int": "an integer",
            "float": "a number",
            "date": "a date",
            "bool": "yes/no (1/0)",
        }.get(self.kind, "text")


def _fmt(x: float | None) -> str:
    if x is None:
        return "…"
    return str(int(x)) if float(x).is_integer() else str(x)


_SEX = Field(
    "code",
    codes=("M", "F", "Other", "Unknown"),
    aliases={
        "m": "M",
        "male": "M",
        "man": "M",
        "f": "F",
        "female": "F",
        "woman": "F",
        "other": "Other",
        "unknown": "Unknown",
        "u": "Unknown",
    },
)
_ECOG = Field("int", 0, 4)
_AGE = Field("float", 0, 120, unit="years")
_GRADE = Field("int", 0, 5)
_BOOL = Field("bool")

#: Canonical patients columns that are checked (others are kept as they are).
PATIENT_FIELDS: dict[str, Field] = {
    "patient_id": Field("str"),
    "sex": _SEX,
    "birth_year": Field("int", 1880, 2100),
    "age_at_diagnosis": _AGE,
    "diagnosis_date": Field("date"),
    "cancer_type": Field("str"),
    "oncotree_code": Field("str"),
    "stage": Field("str"),
    "smoking_status": Field(
        "code",
        codes=("never", "former", "current", "unknown"),
        aliases={
            "never": "never",
            "non-smoker": "never",
            "nonsmoker": "never",
            "former": "former",
            "ex-smoker": "former",
            "past": "former",
            "current": "current",
            "smoker": "current",
            "unknown": "unknown",
        },
    ),
    "ecog": _ECOG,
    "bmi": Field("float", 10, 90, unit="kg/m²"),
    "autoimmune_disease": _BOOL,
    "diabetes": _BOOL,
    "ild_history": _BOOL,
    # germline pharmacogenomics (issue 17; `precision-onco pgx` gives these)
    "dpyd_activity_score": Field("float", 0, 2),
    "dpyd_diplotype": Field("str"),
    "dpyd_activity_score_max": Field("float", 0, 2),
    "ugt1a1_phenotype": Field("code", codes=("normal", "intermediate", "poor", "indeterminate")),
    "ugt1a1_diplotype": Field("str"),
    # what the sequencing assay covered (see precision_onco.ingest.coverage)
    "assay_panel": Field("str"),
    "genes_tested": Field("str"),
}

_RECIST = ("CR", "PR", "SD", "PD", "NE")

#: Canonical therapy-line columns that are checked; ``ae_<category>_max_grade`` columns are
#: added per configured toxicity category.
LINE_FIELDS: dict[str, Field] = {
    "patient_id": Field("str"),
    "line_number": Field("int", 1, 30),
    "regimen_id": Field("str"),
    "start_date": Field("date"),
    "end_date": Field("date"),
    "age_at_line": _AGE,
    "ecog": _ECOG,
    "albumin": Field("float", 0.5, 7.0, unit="g/dL"),
    "nlr": Field("float", 0, 300),
    "hemoglobin": Field("float", 2, 25, unit="g/dL"),
    "platelets": Field("float", 0, 3000, unit="10^9/L"),
    "creatinine_clearance": Field("float", 0, 400, unit="mL/min"),
    "alt": Field("float", 0, 10000, unit="U/L"),
    "bilirubin": Field("float", 0, 100, unit="mg/dL"),
    "ldh": Field("float", 0, 50000, unit="U/L"),
    "uracil_ng_ml": Field("float", 0, 5000, unit="ng/mL"),  # plasma uracil (pgx, issue 17)
    "relative_dose": Field("float", 0, 2),  # starting dose / standard dose (pgx, issue 17)
    "pdl1_tps": Field("float", 0, 100, unit="%"),
    "tmb": Field("float", 0, 5000, unit="mut/Mb"),
    "msi_status": Field(
        "code",
        codes=("MSI-H", "MSI-L", "MSS"),
        aliases={
            "msi-h": "MSI-H",
            "msi_h": "MSI-H",
            "msi-high": "MSI-H",
            "msih": "MSI-H",
            "msi": "MSI-H",
            "unstable": "MSI-H",
            "msi-l": "MSI-L",
            "msi_l": "MSI-L",
            "msi-low": "MSI-L",
            "mss": "MSS",
            "stable": "MSS",
        },
    ),
    "best_response": Field(
        "code",
        codes=_RECIST,
        aliases={
            "complete response": "CR",
            "partial response": "PR",
            "stable disease": "SD",
            "progressive disease": "PD",
            "not evaluable": "NE",
            "ne": "NE",
            "cr": "CR",
            "pr": "PR",
            "sd": "SD",
            "pd": "PD",
        },
    ),
    "objective_response": _BOOL,
    "ae_any_max_grade": _GRADE,
    "discontinued_for_toxicity": _BOOL,
    "prior_chemotherapy": _BOOL,
}

PATIENT_REQUIRED = ("patient_id",)
LINE_REQUIRED = ("patient_id", "line_number")

_GRADE_COL = re.compile(r"^ae_[a-z0-9_]+_max_grade$")

#: Unit conversions: (from, to) -> factor.
_UNITS: dict[tuple[str, str], float] = {
    ("g/l", "g/dl"): 0.1,
    ("g/dl", "g/l"): 10.0,
    ("mg/dl", "umol/l"): 17.104,
    ("umol/l", "mg/dl"): 1 / 17.104,  # bilirubin
    ("µmol/l", "mg/dl"): 1 / 17.104,
    ("ml/s", "ml/min"): 60.0,
    ("ml/min", "ml/s"): 1 / 60,
    ("g/l", "g/l"): 1.0,
    ("10^9/l", "10^3/ul"): 1.0,
    ("10^3/ul", "10^9/l"): 1.0,
    ("/ul", "10^9/l"): 0.001,
    ("/mm3", "10^9/l"): 0.001,
    ("g/l_hb", "g/dl"): 0.1,
    ("fraction", "%"): 100.0,
    ("%", "fraction"): 0.01,
    ("months", "years"): 1 / 12,
    ("days", "years"): 1 / 365.25,
    ("weeks", "years"): 7 / 365.25,
}


# ----------------------------------------------------------------------------- reading


@dataclass
class RawTable:
    """A table as read: text cells (``None`` for missing), each row's file line, bad rows."""

    frame: pd.DataFrame
    lines: np.ndarray
    rejects: Rejects
    records: int


def _format(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    name = path.name.lower().removesuffix(".gz")
    for ext, f in (
        (".csv", "csv"),
        (".tsv", "tsv"),
        (".txt", "tsv"),
        (".parquet", "parquet"),
        (".pq", "parquet"),
        (".xlsx", "xlsx"),
        (".xlsm", "xlsx"),
    ):
        if name.endswith(ext):
            return f
    raise IngestError(
        path,
        "cannot tell the table format from the file name; set the input's "
        "format: csv, tsv, parquet or xlsx",
    )


def _na(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, str):
        s = v.strip()
        return None if s.lower() in _NA else s
    return v


class _PerText(dict[Any, Any]):
    """``fn``'s value of each distinct cell, computed on the first lookup."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        super().__init__()
        self.fn = fn

    def __missing__(self, key: Any) -> Any:
        value = self[key] = self.fn(key)
        return value


def _cells(col: pd.Series, fn: Callable[[Any], Any]) -> pd.Series:
    """``col.map(fn)``, the same result; for a text column (every cell a string or
    missing) ``fn`` runs once per distinct cell, since a table's codes, units and dates
    repeat. Other columns (Excel, Parquet: numbers, dates, mixed) are mapped cell by cell:
    equal cells of different types (``1``, ``1.0``, ``True``) may read differently."""
    text = isinstance(col.dtype, pd.StringDtype) or (
        col.dtype == object and pd.api.types.infer_dtype(col, skipna=True) in ("string", "empty")
    )
    return col.map(_PerText(fn).__getitem__ if text else fn)


def _recoded(codes: Mapping[str, Any], key: Any) -> Any:
    """A cell's key recoded by a ``values`` code list (None: missing or not listed)."""
    return None if _is_na(key) else codes.get(key)


def _read_cells(col: pd.Series, read: Callable[[Any], Any]) -> tuple[pd.Series, np.ndarray]:
    """Each present cell read by ``read`` (which returns ``_BAD`` for an unreadable one):
    the values (None where missing or unreadable) and where a cell was unreadable."""

    def value(v: Any) -> Any:
        out = None if _is_na(v) else read(v)
        return None if out is _BAD else out

    def unreadable(v: Any) -> bool:
        return not _is_na(v) and read(v) is _BAD

    return _cells(col, value), _cells(col, unreadable).to_numpy(dtype=bool)


def _na_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame.map(_na)``: blank and NA-like cells to None, text stripped (column by
    column, see :func:`_cells`)."""
    return pd.DataFrame({c: _cells(frame[c], _na) for c in frame.columns}, index=frame.index)


def _decode(path: Path, raw: bytes, encoding: str, label: str) -> str:
    if raw[:2] == b"\x1f\x8b":
        import gzip

        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError) as exc:
            raise IngestError(path, f"truncated or corrupt gzip data ({exc})") from None
    enc = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        return raw.decode(enc)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise IngestError(
            path,
            f"not valid {encoding} text ({exc.reason}, byte 0x{raw[exc.start]:02x} at offset "
            f"{exc.start}); set cohort.inputs.{label}.encoding to the file's encoding "
            "(e.g. latin-1 or cp1252) or convert the file to UTF-8",
            line=line,
        ) from None
    except LookupError:
        raise IngestError(
            path, f"unknown text encoding {encoding!r} in cohort.inputs.{label}.encoding"
        ) from None


#: Rows between checks of the distinct cells remembered per column, and the most a column
#: keeps: past it (identifiers, free text) its cells are not shared.
_MEMO_CHECK = 4096
_MEMO_CELLS = 4096


def _text_lines(text: str) -> Iterator[str]:
    """``text``'s lines with their ends, as ``io.StringIO(text, newline="")`` reads them,
    without its copy of the whole text at four bytes a character. A text with a lone
    carriage return (an old Mac line end) is read by ``StringIO`` itself."""
    if text.count("\r") != text.count("\r\n"):
        yield from io.StringIO(text, newline="")
        return
    start, n = 0, len(text)
    while start < n:
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start : end + 1]
        start = end + 1


def _read_delimited(path: Path, cfg: TableInputConfig, fmt: str, label: str) -> RawTable:
    raw = path.read_bytes()
    if not raw.strip():
        raise IngestError(path, "empty file (expected a header row naming the columns)")
    text = _decode(path, raw, cfg.encoding, label)
    del raw
    if not text.strip():
        raise IngestError(path, "empty file (expected a header row naming the columns)")
    delim = "\t" if fmt == "tsv" else ","
    reader = csv.reader(_text_lines(text), delimiter=delim)
    memos: list[dict[str, str] | None] = []
    header: list[str] | None = None
    header_line = 0
    rows: list[list[str]] = []
    lines: list[int] = []
    rejects = Rejects(str(path))
    records = 0
    start = 1
    try:
        for rec in reader:
            end = reader.line_num
            if not any(c.strip() for c in rec):
                start = end + 1
                continue
            if header is None:
                header = [c.strip() for c in rec]
                memos = [{} for _ in header]
                header_line = start
                start = end + 1
                continue
            records += 1
            if records % _MEMO_CHECK == 0:
                memos = [None if m is None or len(m) > _MEMO_CELLS else m for m in memos]
            if len(rec) != len(header):
                rejects.add(
                    start,
                    "wrong number of fields",
                    delim.join(rec),
                    detail=f"expected {len(header)} (as in the header), got {len(rec)}",
                )
            else:  # a column's repeated cells (codes, units, dates) as one string each
                cells = zip(memos, rec, strict=True)
                rows.append([c if m is None else m.setdefault(c, c) for m, c in cells])
                lines.append(start)
            start = end + 1
    except csv.Error as exc:
        raise IngestError(path, f"malformed {fmt.upper()} ({exc})", line=reader.line_num) from None
    if header is None:
        raise IngestError(path, "empty file (expected a header row naming the columns)")
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise IngestError(
            path, f"duplicate column names in the header: {', '.join(dup)}", line=header_line
        )
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame = _na_cells(frame) if len(frame) else frame
    return RawTable(frame, np.asarray(lines, dtype=np.int64), rejects, records)


def read_table(path: Path | str, cfg: TableInputConfig, *, label: str = "table") -> RawTable:
    """Read a CSV, TSV, Parquet or XLSX table as text cells, keeping every row's file line.

    Line numbers are physical file lines for text tables, spreadsheet rows for
    XLSX (the header is row 1) and 1-based row numbers for Parquet.
    """
    p = Path(path)
    if not p.is_file():
        raise IngestError(p, "input file not found")
    fmt = _format(p, cfg.format)
    if fmt in ("csv", "tsv"):
        return _read_delimited(p, cfg, fmt, label)
    if p.stat().st_size == 0:
        raise IngestError(p, f"empty file (expected {fmt})")
    try:
        if fmt == "parquet":
            df = pd.read_parquet(p)
            first = 1
        elif fmt == "xlsx":
            df = pd.read_excel(p, sheet_name=cfg.sheet or 0, dtype=object, engine="openpyxl")
            first = 2
        else:
            raise IngestError(p, f"unknown table format {fmt!r} (csv, tsv, parquet or xlsx)")
    except IngestError:
        raise
    except ValueError as exc:
        raise IngestError(p, f"cannot read as {fmt}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - readers raise many types on corrupt files
        raise IngestError(p, f"cannot read as {fmt} ({type(exc).__name__}: {exc})") from None
    df.columns = [str(c).strip() for c in df.columns]
    df = _na_cells(df.astype(object)) if len(df) else df.astype(object)
    lines = np.arange(first, first + len(df), dtype=np.int64)
    return RawTable(df.reset_index(drop=True), lines, Rejects(str(p)), len(df))


# ----------------------------------------------------------------------------- mapping


def parse_code_list(spec: str, *, where: str = "code list") -> dict[str, str]:
    """``"1:Yes; 0:No"`` -> ``{"1": "Yes", "0": "No"}`` (items separated by ``;``)."""
    out: dict[str, str] = {}
    for item in spec.split(";"):
        item = item.strip()
        if not item:
            continue
        if ":" not in item:
            raise IngestError(where, f"code list item {item!r} is not 'source:value' (in {spec!r})")
        k, v = item.split(":", 1)
        out[k.strip()] = v.strip()
    if not out:
        raise IngestError(where, f"empty code list {spec!r}")
    return out


#: Non-linear conversions: a log-scaled source back to the linear scale.
_LOG_UNITS: dict[str, Callable[[pd.Series], pd.Series]] = {
    "log2->linear": lambda x: np.exp2(x),
    "log10->linear": lambda x: np.power(10.0, x),
    "ln->linear": lambda x: np.exp(x),
    "log1p->linear": lambda x: np.expm1(x),
}


def _unit_conversion(spec: str, where: str) -> Callable[[pd.Series], pd.Series]:
    """The conversion a ``units`` entry names: a known pair, a log scale or a factor."""
    m = re.fullmatch(r"\s*([^>]+?)\s*->\s*(.+?)\s*", spec)
    if m:
        key = (m.group(1).lower(), m.group(2).lower())
        if key in _UNITS:
            factor = _UNITS[key]
            return lambda x: x * factor
        log_key = f"{key[0]}->{key[1]}"
        if log_key in _LOG_UNITS:
            return _LOG_UNITS[log_key]
    m = re.fullmatch(r"\s*[*x×]\s*([0-9.eE+-]+)\s*", spec)
    if m:
        factor = float(m.group(1))
        return lambda x: x * factor
    known = ", ".join([*(f"{a}->{b}" for a, b in _UNITS), *_LOG_UNITS])
    raise IngestError(
        where, f"unknown unit conversion {spec!r}; use one of {known}, or a factor such as '*0.1'"
    )


def apply_mapping(raw: RawTable, cfg: TableInputConfig, path: Path | str, *, label: str) -> None:
    """Rename, recode, convert and fill the columns of ``raw`` in place, per ``cfg``.

    A value outside a configured code list rejects its row.
    """
    df = raw.frame
    present = list(df.columns)
    renames: dict[str, str] = {}
    for canon, src in cfg.columns.items():
        if src not in df.columns:
            near = difflib.get_close_matches(src, present, n=1, cutoff=0.6)
            hint = (
                f"; did you mean {near[0]!r}?" if near else f"; columns present: {_list(present)}"
            )
            raise IngestError(
                path,
                f"cohort.inputs.{label}.columns.{canon}: source column {src!r} not found{hint}",
            )
        renames[src] = canon
    # a source column renamed onto a canonical name replaces an unmapped column of that name
    clash = [c for c in renames.values() if c in df.columns and c not in renames]
    df = raw.frame = df.drop(columns=clash).rename(columns=renames)
    for canon, value in cfg.constants.items():
        df[canon] = value
    bad = np.zeros(len(df), dtype=bool)
    reasons: list[list[str]] = [[] for _ in range(len(df))]
    for canon, spec in cfg.values.items():
        where = f"cohort.inputs.{label}.values.{canon}"
        if canon not in df.columns:
            raise IngestError(path, f"{where}: no column {canon!r} to recode")
        codes = parse_code_list(spec, where=where)
        col = df[canon]
        keys = _cells(col, lambda v: None if _is_na(v) else _code_key(v))
        mapped = _cells(keys, partial(_recoded, codes))
        miss = keys.notna() & mapped.isna()
        for i in np.flatnonzero(miss.to_numpy()):
            reasons[i].append(f"{canon}: {col.iat[i]!r} is not in the code list {spec!r}")
        bad |= miss.to_numpy()
        df[canon] = mapped
    for canon, spec in cfg.units.items():
        where = f"cohort.inputs.{label}.units.{canon}"
        if canon not in df.columns:
            raise IngestError(path, f"{where}: no column {canon!r} to convert")
        convert = _unit_conversion(spec, where)
        num = _numbers(df[canon])
        notnum = df[canon].notna() & num.isna()
        for i in np.flatnonzero(notnum.to_numpy()):
            reasons[i].append(f"{canon}: {df[canon].iat[i]!r} is not a number")
        bad |= notnum.to_numpy()
        with np.errstate(over="ignore", invalid="ignore"):
            df[canon] = convert(num).astype(object).where(num.notna(), None)
    _drop_rows(raw, bad, reasons, "value not in code list")


def _numbers(col: pd.Series) -> pd.Series:
    """Numbers of a text column (decimal comma accepted); anything else NaN."""
    text = _cells(col, lambda v: v.replace(",", ".") if isinstance(v, str) else v)
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _is_na(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v))


def _code_key(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _list(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", … ({len(names)} in all)" if len(names) > limit else "")


def _drop_rows(raw: RawTable, bad: np.ndarray, reasons: list[list[str]], category: str) -> None:
    """Move the rows flagged in ``bad`` to the rejects with their reasons."""
    if not bad.any():
        return
    for i in np.flatnonzero(bad):
        raw.rejects.add(
            int(raw.lines[i]), category, _row_text(raw.frame.iloc[i]), detail="; ".join(reasons[i])
        )
    keep = ~bad
    raw.frame = raw.frame.loc[keep].reset_index(drop=True)
    raw.lines = raw.lines[keep]


def _row_text(row: pd.Series) -> str:
    return ", ".join(f"{k}={'' if _is_na(v) else v}" for k, v in row.items())


# ----------------------------------------------------------------------------- coercion


def _to_bool(v: Any) -> Any:
    s = _code_key(v).lower()
    if s in _TRUE:
        return 1
    if s in _FALSE:
        return 0
    return _BAD


_BAD = object()


def _to_code(f: Field) -> Any:
    lookup = {c.lower(): c for c in f.codes} | {k.lower(): v for k, v in f.aliases.items()}

    def conv(v: Any) -> Any:
        return lookup.get(_code_key(v).lower(), _BAD)

    return conv


def _coerce(raw: RawTable, fields: Mapping[str, Field], date_format: str | None) -> None:
    """Convert each checked column to its type; a cell that cannot be read rejects its row."""
    df = raw.frame
    n = len(df)
    bad = np.zeros(n, dtype=bool)
    reasons: list[list[str]] = [[] for _ in range(n)]
    for name, f in fields.items():
        if name not in df.columns:
            continue
        col = df[name]
        present = col.notna().to_numpy()
        if f.kind in ("float", "int"):
            num = _numbers(col)
            fail = present & num.isna().to_numpy()
            what = "a number"
            out: pd.Series = num
            if f.kind == "int":
                frac = present & ~fail & (num.fillna(0) % 1 != 0).to_numpy()
                for i in np.flatnonzero(frac):
                    reasons[i].append(f"{name}: {col.iat[i]!r} is not an integer")
                bad |= frac
                what = "an integer"
                out = num.where(~frac).round().astype("Int64")
        elif f.kind == "date":
            out = pd.to_datetime(col, format=date_format or "ISO8601", errors="coerce")
            fail = present & out.isna().to_numpy()
            what = f"a date ({date_format or 'YYYY-MM-DD'})"
        elif f.kind == "bool":
            conv, fail = _read_cells(col, _to_bool)
            out = conv.astype("Int64")
            what = "yes/no (1/0)"
        elif f.kind == "code":
            conv, fail = _read_cells(col, _to_code(f))
            out = conv.astype("string")
            what = f.expectation()
        else:
            out = _cells(col, lambda v: None if _is_na(v) else _code_key(v)).astype("string")
            fail = np.zeros(n, dtype=bool)
            what = "text"
        for i in np.flatnonzero(fail):
            reasons[i].append(f"{name}: {col.iat[i]!r} is not {what}")
        bad |= fail
        df[name] = out
    _drop_rows(raw, bad, reasons, "unreadable value")


def _schema(
    fields: Mapping[str, Field], present: Sequence[str], oncotree_codes: frozenset[str] | None
) -> pa.DataFrameSchema:
    import pandera.pandas as pa

    cols: dict[str, pa.Column] = {}
    for name, f in fields.items():
        if name not in present:
            continue
        checks: list[pa.Check] = []
        if f.lo is not None and f.hi is not None:
            checks.append(pa.Check.in_range(f.lo, f.hi))
        if f.codes:
            checks.append(pa.Check.isin(list(f.codes)))
        if name in ("oncotree_code", "cancer_type") and oncotree_codes:
            checks.append(pa.Check.isin(sorted(oncotree_codes)))
        nullable = name not in ("patient_id", "line_number")
        cols[name] = pa.Column(checks=checks, nullable=nullable, required=False)
    return pa.DataFrameSchema(cols, strict=False)


def _validate(
    raw: RawTable, fields: Mapping[str, Field], label: str, oncotree_codes: frozenset[str] | None
) -> None:
    """Run the pandera schema; each failing row goes to the rejects, with every failed check."""
    import pandera.errors

    schema = _schema(fields, list(raw.frame.columns), oncotree_codes)
    try:
        schema.validate(raw.frame, lazy=True)
        return
    except pandera.errors.SchemaErrors as exc:
        fc = exc.failure_cases
    n = len(raw.frame)
    bad = np.zeros(n, dtype=bool)
    reasons: list[list[str]] = [[] for _ in range(n)]
    for rec in fc.itertuples(index=False):
        idx = getattr(rec, "index", None)
        if idx is None or (isinstance(idx, float) and np.isnan(idx)):
            raise IngestError(label, f"schema check failed on column {rec.column}: {rec.check}")
        i = int(idx)
        col = str(rec.column)
        f = fields.get(col)
        check = str(rec.check)
        value = rec.failure_case
        if "not_nullable" in check:
            msg = f"{col}: missing (required)"
        elif col in ("oncotree_code", "cancer_type") and "isin" in check:
            msg = f"{col}: {value!r} is not an OncoTree code of the configured code list"
        else:
            msg = f"{col}: {value!r} is outside {f.expectation() if f else check}"
        if msg not in reasons[i]:
            reasons[i].append(msg)
        bad[i] = True
    cat_bad = np.zeros(n, dtype=bool)
    # one category per reject: the first failed check decides it
    for j in np.flatnonzero(bad):
        i = int(j)
        first = reasons[i][0]
        if "missing (required)" in first:
            cat = "missing value"
        elif "OncoTree" in first:
            cat = "unknown OncoTree code"
        elif "outside one of" in first:
            cat = "unknown code"
        else:
            cat = "out of range"
        raw.rejects.add(
            int(raw.lines[i]), cat, _row_text(raw.frame.iloc[i]), detail="; ".join(reasons[i])
        )
        cat_bad[i] = True
    keep = ~cat_bad
    raw.frame = raw.frame.loc[keep].reset_index(drop=True)
    raw.lines = raw.lines[keep]


def _require(raw: RawTable, required: Sequence[str], path: Path, label: str) -> None:
    missing = [c for c in required if c not in raw.frame.columns]
    if missing:
        c = missing[0]
        raise IngestError(
            path,
            f"required column {c!r} is missing; map it with "
            f"cohort.inputs.{label}.columns.{c}: <source column>; columns present: "
            f"{_list(list(raw.frame.columns))}",
        )


def _duplicates(raw: RawTable, keys: list[str], what: str) -> None:
    """Identical repeats are rejected as duplicates; conflicting repeats reject every copy."""
    df = raw.frame
    if not len(df):
        return
    dup = df.duplicated(keys, keep=False).to_numpy()
    if not dup.any():
        return
    bad = np.zeros(len(df), dtype=bool)
    reasons: dict[int, tuple[str, str]] = {}
    sub = df.loc[dup]
    for _, g in sub.groupby(keys, sort=False, dropna=False):
        idx = list(g.index)
        first = idx[0]
        others = g.drop(columns=keys)
        differing = [
            c for c in others.columns if others[c].astype("string").fillna("<NA>").nunique() > 1
        ]
        lines = ", ".join(str(raw.lines[i]) for i in idx)
        if not differing:
            for i in idx[1:]:
                reasons[i] = ("duplicate row", f"identical to line {raw.lines[first]}")
                bad[i] = True
        else:
            for i in idx:
                reasons[i] = (
                    f"conflicting duplicate {what}",
                    f"lines {lines} disagree on {', '.join(differing[:5])}",
                )
                bad[i] = True
    for i in np.flatnonzero(bad):
        cat, detail = reasons[int(i)]
        raw.rejects.add(int(raw.lines[i]), cat, _row_text(df.iloc[i]), detail=detail)
    raw.frame = df.loc[~bad].reset_index(drop=True)
    raw.lines = raw.lines[~bad]


def _finish(
    raw: RawTable,
    path: Path,
    kind: str,
    warnings: list[str],
    scales: Sequence[ScaleWarning] = (),
) -> ReadResult:
    messages = [*(w.message() for w in scales), *warnings]
    report = FileReport(file=str(path), kind=kind, warnings=messages)
    if scales:
        report.extra["scale_warnings"] = [w.as_dict() for w in scales]
    frame = raw.frame.copy()
    frame.insert(len(frame.columns), "source_line", pd.Series(raw.lines, dtype="int64"))
    return ReadResult.build(frame, raw.rejects, report, records_read=raw.records)


def _typed_rest(raw: RawTable, checked: Mapping[str, Field]) -> None:
    """Unchecked columns: numbers where every present value is a number, text otherwise."""
    for c in raw.frame.columns:
        if c in checked:
            continue
        col = raw.frame[c]
        num = pd.to_numeric(col, errors="coerce")
        if col.notna().sum() and (num.notna() == col.notna()).all():
            raw.frame[c] = num.astype("float64")
        else:
            raw.frame[c] = _cells(col, lambda v: None if _is_na(v) else str(v)).astype("string")


def load_oncotree_codes(path: Path | str) -> frozenset[str]:
    """OncoTree codes from a flat TSV with a ``code`` column, or a file with one code per line."""
    p = Path(path)
    if not p.is_file():
        raise IngestError(p, "OncoTree code list not found (cohort.oncotree_codes)")
    text = _decode(p, p.read_bytes(), "utf-8", "oncotree_codes")
    rows = [r for r in csv.reader(io.StringIO(text), delimiter="\t") if r and r[0].strip()]
    if not rows:
        raise IngestError(p, "empty OncoTree code list")
    header = [h.strip().lower() for h in rows[0]]
    if "code" in header:
        i = header.index("code")
        return frozenset(r[i].strip() for r in rows[1:] if len(r) > i and r[i].strip())
    return frozenset(r[0].strip() for r in rows)


def read_patients(
    path: Path | str,
    cfg: TableInputConfig,
    *,
    oncotree_codes: frozenset[str] | None = None,
    label: str = "patients",
) -> ReadResult:
    """Read, map, type and check a patients table: one row per patient.

    ``label``: the ``cohort.inputs`` key of this table, named in messages and fixes.
    A column whose values look like another scale (:mod:`~precision_onco.ingest.scales`)
    gets a warning in the report naming the ``units`` entry that fixes it.
    """
    p = Path(path)
    raw = read_table(p, cfg, label=label)
    apply_mapping(raw, cfg, p, label=label)
    _require(raw, PATIENT_REQUIRED, p, label)
    _coerce(raw, PATIENT_FIELDS, cfg.date_format)
    scales = scale_warnings(raw.frame, PATIENT_FIELDS, label=label, configured=cfg.units)
    _validate(raw, PATIENT_FIELDS, str(p), oncotree_codes)
    _typed_rest(raw, PATIENT_FIELDS)
    _duplicates(raw, ["patient_id"], "patient")
    warnings = []
    if raw.records == 0:
        warnings.append("the patients table has a header but no rows")
    return _finish(raw, p, "patients", warnings, scales)


def read_lines(
    path: Path | str,
    cfg: TableInputConfig,
    *,
    tox_categories: Sequence[str] = (),
    data_cutoff: date | None = None,
    label: str = "lines",
) -> ReadResult:
    """Read, map, type and check a therapy-lines table: one row per (patient, line).

    Beyond the per-row checks, a line is rejected when it repeats a
    (patient, line number) with different data, starts before the previous
    line of the patient ends, ends before it starts, or starts after
    ``data_cutoff``. ``objective_response`` (CR/PR = 1, SD/PD = 0) is derived
    from ``best_response`` when the table has no such column. ``label``: the
    ``cohort.inputs`` key of this table (``lines`` or ``test_lines``), named in messages;
    scale warnings as in :func:`read_patients`.
    """
    p = Path(path)
    raw = read_table(p, cfg, label=label)
    apply_mapping(raw, cfg, p, label=label)
    _require(raw, LINE_REQUIRED, p, label)
    fields = dict(LINE_FIELDS)
    for cat in tox_categories:
        fields[f"ae_{cat}_max_grade"] = _GRADE
    for c in raw.frame.columns:
        if _GRADE_COL.match(str(c)):
            fields.setdefault(str(c), _GRADE)
    _coerce(raw, fields, cfg.date_format)
    scales = scale_warnings(raw.frame, fields, label=label, configured=cfg.units)
    _validate(raw, fields, str(p), None)
    _typed_rest(raw, fields)
    _duplicates(raw, ["patient_id", "line_number"], "line")
    _check_dates(raw, data_cutoff)
    df = raw.frame
    if "best_response" in df.columns and "objective_response" not in df.columns:
        df["objective_response"] = (
            df["best_response"].map({"CR": 1, "PR": 1, "SD": 0, "PD": 0}).astype("Int64")
        )
    warnings = []
    if raw.records == 0:
        warnings.append("the lines table has a header but no rows")
    order = (
        df.assign(_pos=np.arange(len(df)))
        .sort_values(["patient_id", "line_number"], kind="stable")["_pos"]
        .to_numpy()
    )
    raw.frame = df.iloc[order].reset_index(drop=True)
    raw.lines = raw.lines[order]
    return _finish(raw, p, "lines", warnings, scales)


def _check_dates(raw: RawTable, cutoff: date | None) -> None:
    df = raw.frame
    if "start_date" not in df.columns or not len(df):
        return
    n = len(df)
    bad = np.zeros(n, dtype=bool)
    reasons: list[list[str]] = [[] for _ in range(n)]
    cat: dict[int, str] = {}
    start = df["start_date"]
    end = df["end_date"] if "end_date" in df.columns else pd.Series(pd.NaT, index=df.index)
    flip = (end < start).to_numpy()
    for i in np.flatnonzero(flip):
        reasons[i].append(
            f"end_date {end.iat[i]:%Y-%m-%d} is before start_date {start.iat[i]:%Y-%m-%d}"
        )
        cat.setdefault(int(i), "end before start")
    if cutoff is not None:
        late = (start > pd.Timestamp(cutoff)).to_numpy()
        for i in np.flatnonzero(late):
            reasons[i].append(
                f"start_date {start.iat[i]:%Y-%m-%d} is after the data cut-off {cutoff:%Y-%m-%d}"
            )
            cat.setdefault(int(i), "after data cut-off")
    bad = flip.copy()
    if cutoff is not None:
        bad |= late
    # overlap with the patient's previous line (by line number), among lines not already rejected
    order = df.assign(_i=np.arange(n)).sort_values(["patient_id", "line_number"])
    prev_pid, prev_end, prev_no = None, pd.NaT, None
    for pid, no, s, e, i in zip(
        order["patient_id"],
        order["line_number"],
        order["start_date"],
        order["end_date"] if "end_date" in order else [pd.NaT] * n,
        order["_i"],
        strict=True,
    ):
        if bad[i]:
            continue
        if pid == prev_pid and pd.notna(s) and pd.notna(prev_end) and s < prev_end:
            reasons[i].append(
                f"start_date {s:%Y-%m-%d} is before line {prev_no} of the same "
                f"patient ends ({prev_end:%Y-%m-%d})"
            )
            cat.setdefault(int(i), "overlapping lines")
            bad[i] = True
            continue
        prev_pid, prev_end, prev_no = pid, e, no
    for i in np.flatnonzero(bad):
        raw.rejects.add(
            int(raw.lines[i]), cat[int(i)], _row_text(df.iloc[i]), detail="; ".join(reasons[i])
        )
    raw.frame = df.loc[~bad].reset_index(drop=True)
    raw.lines = raw.lines[~bad]
