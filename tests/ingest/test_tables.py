"""Clinical tables to canonical patients and lines: Chowell 2022, formats, malformed input."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from precision_onco.config import compose
from precision_onco.config.schema import TableInputConfig
from precision_onco.ingest.cohort import Redactor, ingest_cohort
from precision_onco.ingest.contracts import REJECT_COLUMNS, IngestError, ReadResult
from precision_onco.ingest.tables import (
    _cells,
    _code_key,
    _is_na,
    _na,
    _na_cells,
    _to_bool,
    load_oncotree_codes,
    parse_code_list,
    read_lines,
    read_patients,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
CHOWELL = DATA / "cohorts" / "chowell2022_icb_training.csv"
ONCOTREE = DATA / "kb" / "oncotree_2025_10_03.flat.tsv"
KEY = "a-test-key-of-enough-length-0123456789"

needs_chowell = pytest.mark.skipif(
    not (CHOWELL.is_file() and ONCOTREE.is_file()),
    reason=f"real Chowell 2022 table or OncoTree list not found under {DATA}",
)


# ----------------------------------------------------------------------------- helpers


def _write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    """Write ``text`` (UTF-8) to ``tmp_path/name``."""
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _accounted(r: ReadResult, *, ingested: int, rejected: int) -> None:
    """Every record read is either a row of the frame or a reject, and the counts agree."""
    rep = r.report
    assert rep.read == rep.ingested + rep.rejected
    assert (rep.ingested, rep.rejected) == (ingested, rejected), rep.as_dict()
    assert len(r.frame) == rep.ingested
    assert len(r.rejects) == rep.rejected
    assert list(r.rejects.columns) == list(REJECT_COLUMNS)
    assert sum(rep.rejected_by_reason.values()) == rep.rejected


def _reasons(r: ReadResult) -> list[str]:
    return list(r.rejects["reason"])


# ----------------------------------------------------------------------------- Chowell 2022


@pytest.fixture(scope="module")
def chowell_cfg() -> Any:
    """The typed config composed with ``cohort=chowell2022``."""
    if not (CHOWELL.is_file() and ONCOTREE.is_file()):
        pytest.skip(f"real Chowell 2022 table or OncoTree list not found under {DATA}")
    _, cfg = compose(["cohort=chowell2022"], conf_dir=ROOT / "conf")
    return cfg


@pytest.fixture(scope="module")
def chowell_raw() -> pd.DataFrame:
    """The source table as pandas reads it."""
    if not CHOWELL.is_file():
        pytest.skip(f"real Chowell 2022 table not found: {CHOWELL}")
    return pd.read_csv(CHOWELL)


@pytest.fixture(scope="module")
def chowell_tables(chowell_cfg: Any) -> Any:
    """The whole-cohort ingest of Chowell 2022 with a test pseudonymization key."""
    mp = pytest.MonkeyPatch()
    mp.setenv("PRECISION_ONCO_PSEUDONYM_KEY", KEY)
    try:
        return ingest_cohort(chowell_cfg, root=ROOT)
    finally:
        mp.undo()


@needs_chowell
def test_chowell_patients_through_config(chowell_cfg: Any, chowell_raw: pd.DataFrame) -> None:
    """``read_patients`` with the cohort's mapping reads every row; codes become canonical."""
    pc = chowell_cfg.cohort.inputs.patients
    codes = load_oncotree_codes(ROOT / chowell_cfg.cohort.oncotree_codes)
    r = read_patients(ROOT / pc.path, pc, oncotree_codes=codes)
    _accounted(r, ingested=1184, rejected=0)
    df = r.frame
    assert set(df["sex"].dropna()) == {"M", "F"} and df["sex"].notna().all()
    sex_src = chowell_raw["Sex (1:Male; 0:Female)"]
    assert int((df["sex"] == "M").sum()) == int((sex_src == 1).sum())
    assert set(df["cancer_type"]) <= codes
    assert df["patient_id"].is_unique
    assert set(df["patient_id"]) == set(chowell_raw["SAMPLE_ID"].astype(str))


@needs_chowell
def test_chowell_lines_through_config(chowell_cfg: Any, chowell_raw: pd.DataFrame) -> None:
    """``read_lines``: one line per row, 0/1 columns recoded, regimens named as in the catalog."""
    lc = chowell_cfg.cohort.inputs.lines
    r = read_lines(ROOT / lc.path, lc, tox_categories=list(chowell_cfg.catalog.toxicity_categories))
    _accounted(r, ingested=1184, rejected=0)
    df = r.frame
    assert (df["line_number"] == 1).all()
    for canon, src in (
        ("prior_chemotherapy", "Chemo_before_IO (1:Yes; 0:No)"),
        ("objective_response", "Response (1:Responder; 0:Non-responder)"),
    ):
        assert str(df[canon].dtype) == "Int64"
        assert set(df[canon].dropna()) <= {0, 1}
        assert int((df[canon] == 1).sum()) == int((chowell_raw[src] == 1).sum())
    assert set(df["regimen_id"]) <= {"anti_pd1_pdl1", "anti_ctla4", "anti_pd1_ctla4"}
    assert df["albumin"].between(0.5, 7.0).all()


@needs_chowell
def test_chowell_whole_cohort_ingest(chowell_tables: Any, chowell_raw: pd.DataFrame) -> None:
    """The cohort ingest: 1,184 patients and lines, no rejects, values as in the source."""
    t = chowell_tables
    assert len(t.patients) == 1184 and len(t.lines) == 1184
    assert len(t.rejects) == 0
    s = t.summary()
    assert s["tables"] == {"patients": 1184, "lines": 1184, "variants": 0, "rejects": 0}
    for f in s["files"]:
        assert f["read"] == f["ingested"] + f["rejected"] == 1184 and f["rejected"] == 0
    assert set(t.patients["sex"]) == {"M", "F"}
    for canon, src in (
        ("prior_chemotherapy", "Chemo_before_IO (1:Yes; 0:No)"),
        ("objective_response", "Response (1:Responder; 0:Non-responder)"),
    ):
        assert str(t.lines[canon].dtype) == "Int64"
        assert set(t.lines[canon].dropna()) <= {0, 1}
        assert int((t.lines[canon] == 1).sum()) == int((chowell_raw[src] == 1).sum())
    codes = load_oncotree_codes(ONCOTREE)
    assert set(t.patients["cancer_type"]) <= codes
    assert set(t.lines["regimen_id"]) <= {"anti_pd1_pdl1", "anti_ctla4", "anti_pd1_ctla4"}
    assert set(t.lines["patient_key"]) == set(t.patients["patient_key"])


@needs_chowell
def test_chowell_ids_are_pseudonymized(chowell_tables: Any, chowell_raw: pd.DataFrame) -> None:
    """No raw SAMPLE_ID survives as a value of an output table or in the summary."""
    t = chowell_tables
    raw_ids = {str(x) for x in chowell_raw["SAMPLE_ID"]}
    for name in ("patients", "lines"):
        df: pd.DataFrame = getattr(t, name)
        assert "patient_id" not in df.columns and "SAMPLE_ID" not in df.columns
        assert df["patient_key"].str.match(r"^pk_[0-9a-f]{24}$").all()
        assert df["patient_key"].notna().all()
        for c in df.columns:
            col = df[c].dropna()
            if col.dtype.kind in "OSU" or str(col.dtype) in ("string", "str"):
                hits = set(col.astype(str)) & raw_ids
                assert not hits, f"{name}.{c} holds raw SAMPLE_IDs, e.g. {sorted(hits)[:3]}"
            elif col.dtype.kind in "iuf":
                # a numeric column may hold small numbers that happen to equal an id,
                # but it must not be the id column under another name
                as_ids = {str(int(v)) for v in col if float(v).is_integer()}
                assert len(as_ids & raw_ids) < len(raw_ids) // 2, f"{name}.{c} looks like SAMPLE_ID"
    assert not Redactor({r: "x" for r in raw_ids}).leaks(json.dumps(t.summary()))


# ----------------------------------------------------------------------------- formats

_FRAME = pd.DataFrame(
    {
        "patient_id": ["P1", "P2", "P3"],
        "sex": ["M", "F", "female"],
        "birth_year": [1950, 1961, 1972],
        "bmi": [22.5, 31.0, None],
        "ecog": [0, 1, 2],
        "diagnosis_date": ["2019-01-15", "2020-06-30", "2021-12-01"],
        "smoking_status": ["never", "former", "current"],
    }
)


def _written(tmp_path: Path, fmt: str) -> Path:
    p = tmp_path / f"patients.{fmt}"
    if fmt == "csv":
        _FRAME.to_csv(p, index=False)
    elif fmt == "tsv":
        _FRAME.to_csv(p, sep="\t", index=False)
    elif fmt == "parquet":
        _FRAME.to_parquet(p, index=False)
    else:
        _FRAME.to_excel(p, index=False, engine="openpyxl")
    return p


@pytest.mark.parametrize("fmt", ["tsv", "parquet", "xlsx"])
def test_formats_read_to_the_same_values(tmp_path: Path, fmt: str) -> None:
    """The same table as CSV, TSV, Parquet and XLSX gives the same canonical rows."""
    ref = read_patients(_written(tmp_path, "csv"), TableInputConfig())
    other = read_patients(_written(tmp_path, fmt), TableInputConfig())
    _accounted(ref, ingested=3, rejected=0)
    _accounted(other, ingested=3, rejected=0)
    pd.testing.assert_frame_equal(
        ref.frame.drop(columns="source_line"), other.frame.drop(columns="source_line")
    )
    assert list(ref.frame["sex"]) == ["M", "F", "F"]
    assert list(ref.frame["birth_year"]) == [1950, 1961, 1972]
    assert list(ref.frame["diagnosis_date"]) == list(pd.to_datetime(_FRAME["diagnosis_date"]))
    # rows keep their place in the file: data lines 2.. (text, XLSX) or rows 1.. (Parquet)
    first = 1 if fmt == "parquet" else 2
    assert list(other.frame["source_line"]) == [first, first + 1, first + 2]


def test_format_is_taken_from_the_setting_when_the_name_does_not_tell(tmp_path: Path) -> None:
    """An unknown extension is an error naming the setting; ``format`` overrides the name."""
    p = _write(tmp_path, "patient_id\tsex\nP1\tM\n", "patients.dat")
    with pytest.raises(IngestError, match="cannot tell the table format.*set the input's format"):
        read_patients(p, TableInputConfig())
    r = read_patients(p, TableInputConfig(format="tsv"))
    assert list(r.frame["sex"]) == ["M"]


# ----------------------------------------------------------------------------- mapping


def test_units_convert(tmp_path: Path) -> None:
    """``g/L->g/dL`` divides by ten before the range check."""
    p = _write(tmp_path, "patient_id,line_number,alb_gl\nP1,1,35\nP2,1,\n")
    cfg = TableInputConfig(columns={"albumin": "alb_gl"}, units={"albumin": "g/L->g/dL"})
    r = read_lines(p, cfg)
    _accounted(r, ingested=2, rejected=0)
    assert r.frame["albumin"].iloc[0] == pytest.approx(3.5)
    assert pd.isna(r.frame["albumin"].iloc[1])


def test_unknown_unit_conversion_is_an_error(tmp_path: Path) -> None:
    p = _write(tmp_path, "patient_id,line_number,albumin\nP1,1,35\n")
    with pytest.raises(
        IngestError,
        match=r"cohort\.inputs\.lines\.units\.albumin: unknown unit "
        r"conversion 'furlongs->g/dL'",
    ):
        read_lines(p, TableInputConfig(units={"albumin": "furlongs->g/dL"}))


def test_constants_fill_absent_columns(tmp_path: Path) -> None:
    """A constant gives every row the same value, then is typed like any column."""
    p = _write(tmp_path, "patient_id,regimen\nP1,pembrolizumab\nP2,nivolumab\n")
    cfg = TableInputConfig(columns={"regimen_id": "regimen"}, constants={"line_number": "1"})
    r = read_lines(p, cfg)
    _accounted(r, ingested=2, rejected=0)
    assert list(r.frame["line_number"]) == [1, 1]
    assert str(r.frame["line_number"].dtype) == "Int64"
    assert list(r.frame["regimen_id"]) == ["pembrolizumab", "nivolumab"]


def test_columns_with_spaces_and_code_lists(tmp_path: Path) -> None:
    """Source names with spaces, parentheses and colons; ``1:Yes; 0:No`` codes."""
    p = _write(tmp_path, 'ID,"Sex (1:Male; 0:Female)",Stage at IO start\nA,1,IV\nB,0,III\n')
    cfg = TableInputConfig(
        columns={"patient_id": "ID", "sex": "Sex (1:Male; 0:Female)", "stage": "Stage at IO start"},
        values={"sex": "1:M; 0:F"},
    )
    r = read_patients(p, cfg)
    _accounted(r, ingested=2, rejected=0)
    assert list(r.frame["sex"]) == ["M", "F"]
    assert list(r.frame["stage"]) == ["IV", "III"]


def test_parse_code_list() -> None:
    assert parse_code_list("1:Yes; 0:No") == {"1": "Yes", "0": "No"}
    assert parse_code_list("Head & Neck:HNSC;PD1/PDL1:anti_pd1_pdl1") == {
        "Head & Neck": "HNSC",
        "PD1/PDL1": "anti_pd1_pdl1",
    }
    with pytest.raises(IngestError, match=r"code list item 'Yes' is not 'source:value'"):
        parse_code_list("1:No; Yes", where="cohort.inputs.lines.values.x")


def test_unknown_source_column_names_the_key_and_suggests(tmp_path: Path) -> None:
    """A mapping to a missing column names the config key and the close match."""
    p = _write(tmp_path, "PatientID,Sex\nP1,M\n")
    cfg = TableInputConfig(columns={"patient_id": "Patient ID", "sex": "Sex"})
    with pytest.raises(IngestError) as ei:
        read_patients(p, cfg)
    msg = str(ei.value)
    assert re.search(
        r"cohort\.inputs\.patients\.columns\.patient_id: source column 'Patient ID' "
        r"not found; did you mean 'PatientID'\?",
        msg,
    ), msg
    assert msg.startswith(str(p))


def test_unknown_source_column_without_close_match_lists_columns(tmp_path: Path) -> None:
    p = _write(tmp_path, "patient_id,sex\nP1,M\n")
    with pytest.raises(
        IngestError,
        match=r"columns\.albumin: source column 'zzz' not found; "
        r"columns present: 'patient_id', 'sex'",
    ):
        read_lines(p, TableInputConfig(columns={"albumin": "zzz"}))


# ----------------------------------------------------------------------------- malformed rows


def test_conflicting_duplicate_patient(tmp_path: Path) -> None:
    """Both copies of a patient that disagree are rejected; other patients are kept."""
    p = _write(tmp_path, "patient_id,sex,birth_year\nP1,M,1960\nP2,F,1970\nP1,F,1960\nP3,M,1980\n")
    r = read_patients(p, TableInputConfig())
    _accounted(r, ingested=2, rejected=2)
    assert list(r.frame["patient_id"]) == ["P2", "P3"]
    assert list(r.rejects["source_line"]) == [2, 4]
    for reason in _reasons(r):
        assert re.fullmatch(r"conflicting duplicate patient: lines 2, 4 disagree on sex", reason)
    assert r.report.rejected_by_reason == {"conflicting duplicate patient": 2}


def test_identical_duplicate_row(tmp_path: Path) -> None:
    """An identical repeat is rejected once; the first copy is kept."""
    p = _write(tmp_path, "patient_id,sex\nP1,M\nP2,F\nP1,M\n")
    r = read_patients(p, TableInputConfig())
    _accounted(r, ingested=2, rejected=1)
    assert sorted(r.frame["patient_id"]) == ["P1", "P2"]
    assert _reasons(r) == ["duplicate row: identical to line 2"]
    assert list(r.rejects["source_line"]) == [4]


def test_unknown_recist_code(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "patient_id,line_number,best_response\nP1,1,PR\nP2,1,XR\nP3,1,progressive disease\n",
    )
    r = read_lines(p, TableInputConfig())
    _accounted(r, ingested=2, rejected=1)
    assert list(r.frame["best_response"]) == ["PR", "PD"]
    assert list(r.frame["objective_response"]) == [1, 0]
    assert re.fullmatch(
        r"unreadable value: best_response: 'XR' is not one of CR, PR, SD, PD, NE", _reasons(r)[0]
    )
    assert list(r.rejects["source_line"]) == [3]


@pytest.mark.parametrize("tox", [(), ("pneumonitis",)])
def test_ctcae_grade_out_of_range(tmp_path: Path, tox: Sequence[str]) -> None:
    """Grade 7 is not a CTCAE grade, whether or not the category is configured."""
    p = _write(tmp_path, "patient_id,line_number,ae_pneumonitis_max_grade\nP1,1,2\nP2,1,7\nP3,1,\n")
    r = read_lines(p, TableInputConfig(), tox_categories=tox)
    _accounted(r, ingested=2, rejected=1)
    assert list(r.frame["patient_id"]) == ["P1", "P3"]
    assert re.fullmatch(
        r"out of range: ae_pneumonitis_max_grade: .*7.* is outside 0–5", _reasons(r)[0]
    ), _reasons(r)


def test_negative_age(tmp_path: Path) -> None:
    p = _write(tmp_path, "patient_id,age_at_diagnosis\nP1,64\nP2,-3\nP3,\n")
    r = read_patients(p, TableInputConfig())
    _accounted(r, ingested=2, rejected=1)
    assert list(r.frame["patient_id"]) == ["P1", "P3"]
    assert re.fullmatch(
        r"out of range: age_at_diagnosis: -3(\.0)? is outside 0–120 years", _reasons(r)[0]
    ), _reasons(r)


def test_overlapping_lines(tmp_path: Path) -> None:
    """Line 2 starting before line 1 ends is rejected; line 1 and other patients are kept."""
    p = _write(
        tmp_path,
        "patient_id,line_number,start_date,end_date\n"
        "P1,1,2020-01-01,2020-06-01\nP1,2,2020-03-01,2020-09-01\n"
        "P2,1,2020-01-01,2020-06-01\nP2,2,2020-06-01,\n",
    )
    r = read_lines(p, TableInputConfig())
    _accounted(r, ingested=3, rejected=1)
    assert list(zip(r.frame["patient_id"], r.frame["line_number"], strict=True)) == [
        ("P1", 1),
        ("P2", 1),
        ("P2", 2),
    ]
    assert _reasons(r) == [
        "overlapping lines: start_date 2020-03-01 is before line 1 of the same "
        "patient ends (2020-06-01)"
    ]
    assert list(r.rejects["source_line"]) == [3]


def test_line_after_data_cutoff(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "patient_id,line_number,start_date\nP1,1,2020-01-01\nP1,2,2021-05-01\nP2,1,2020-12-31\n",
    )
    r = read_lines(p, TableInputConfig(), data_cutoff=date(2021, 1, 1))
    _accounted(r, ingested=2, rejected=1)
    assert _reasons(r) == [
        "after data cut-off: start_date 2021-05-01 is after the data cut-off 2021-01-01"
    ]
    assert list(r.rejects["source_line"]) == [3]


def test_end_before_start(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "patient_id,line_number,start_date,end_date\n"
        "P1,1,2020-05-01,2020-01-01\nP2,1,2020-01-01,2020-05-01\n",
    )
    r = read_lines(p, TableInputConfig())
    _accounted(r, ingested=1, rejected=1)
    assert _reasons(r) == ["end before start: end_date 2020-01-01 is before start_date 2020-05-01"]


def test_wrong_encoding_names_the_setting(tmp_path: Path) -> None:
    """Latin-1 bytes with the default UTF-8 config stop with a hint; the setting fixes it."""
    p = tmp_path / "patients.csv"
    p.write_bytes("patient_id,site\nP1,Köln\nP2,Orléans\n".encode("latin-1"))
    with pytest.raises(
        IngestError,
        match=r"patients\.csv:2: not valid utf-8 text .*set "
        r"cohort\.inputs\.patients\.encoding to the file's encoding",
    ):
        read_patients(p, TableInputConfig())
    r = read_patients(p, TableInputConfig(encoding="latin-1"))
    _accounted(r, ingested=2, rejected=0)
    assert list(r.frame["site"]) == ["Köln", "Orléans"]


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\xef\xbb\xbf"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "patients.csv"
    p.write_bytes(content)
    with pytest.raises(IngestError, match=r"patients\.csv: empty file \(expected a header row"):
        read_patients(p, TableInputConfig())


def test_header_only_is_a_warning(tmp_path: Path) -> None:
    """A header with no rows is not an error: zero rows and a warning."""
    r = read_patients(_write(tmp_path, "patient_id,birth_year\n"), TableInputConfig())
    _accounted(r, ingested=0, rejected=0)
    assert r.report.warnings == ["the patients table has a header but no rows"]
    r = read_lines(_write(tmp_path, "patient_id,line_number\n", "l.csv"), TableInputConfig())
    assert r.report.warnings == ["the lines table has a header but no rows"]


def test_header_only_with_a_code_column_is_a_warning(tmp_path: Path) -> None:
    """Header-only tables with a coded column (sex, best_response) also give the warning."""
    r = read_patients(_write(tmp_path, "patient_id,sex\n"), TableInputConfig())
    _accounted(r, ingested=0, rejected=0)
    assert r.report.warnings == ["the patients table has a header but no rows"]


def test_missing_required_column(tmp_path: Path) -> None:
    p = _write(tmp_path, "name,sex\nP1,M\n")
    with pytest.raises(
        IngestError,
        match=r"required column 'patient_id' is missing; map it with "
        r"cohort\.inputs\.patients\.columns\.patient_id: <source column>; "
        r"columns present: 'name', 'sex'",
    ):
        read_patients(p, TableInputConfig())
    with pytest.raises(IngestError, match=r"cohort\.inputs\.lines\.columns\.line_number"):
        read_lines(_write(tmp_path, "patient_id\nP1\n", "lines.csv"), TableInputConfig())


def test_missing_input_file(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"nope\.csv: input file not found"):
        read_patients(tmp_path / "nope.csv", TableInputConfig())


def test_wrong_number_of_fields(tmp_path: Path) -> None:
    p = _write(tmp_path, "patient_id,sex\nP1,M\nP2,F,extra\nP3\nP4,F\n")
    r = read_patients(p, TableInputConfig())
    _accounted(r, ingested=2, rejected=2)
    assert list(r.frame["patient_id"]) == ["P1", "P4"]
    assert _reasons(r) == [
        "wrong number of fields: expected 2 (as in the header), got 3",
        "wrong number of fields: expected 2 (as in the header), got 1",
    ]
    assert list(r.rejects["source_line"]) == [3, 4]
    assert list(r.frame["source_line"]) == [2, 5]


def test_non_numeric_lab_value(tmp_path: Path) -> None:
    p = _write(tmp_path, 'patient_id,line_number,albumin\nP1,1,3.9\nP2,1,abc\nP3,1,"4,1"\n')
    r = read_lines(p, TableInputConfig())
    _accounted(r, ingested=2, rejected=1)
    assert list(r.frame["albumin"]) == pytest.approx([3.9, 4.1])
    assert _reasons(r) == ["unreadable value: albumin: 'abc' is not a number"]
    assert list(r.rejects["source_line"]) == [3]


def test_value_outside_code_list(tmp_path: Path) -> None:
    p = _write(tmp_path, "patient_id,sex_code\nP1,1\nP2,2\nP3,0\nP4,\n")
    cfg = TableInputConfig(columns={"sex": "sex_code"}, values={"sex": "1:M; 0:F"})
    r = read_patients(p, cfg)
    _accounted(r, ingested=3, rejected=1)
    assert list(r.frame["sex"].astype(object).where(r.frame["sex"].notna(), None)) == [
        "M",
        "F",
        None,
    ]
    assert _reasons(r) == ["value not in code list: sex: '2' is not in the code list '1:M; 0:F'"]


def test_code_list_for_an_absent_column(tmp_path: Path) -> None:
    p = _write(tmp_path, "patient_id\nP1\n")
    with pytest.raises(
        IngestError,
        match=r"cohort\.inputs\.patients\.values\.sex: no column "
        r"'sex' to recode",
    ):
        read_patients(p, TableInputConfig(values={"sex": "1:M; 0:F"}))


def test_unknown_oncotree_code(tmp_path: Path) -> None:
    """With a code list, a cancer type that is not an OncoTree code is rejected."""
    codes_file = _write(
        tmp_path, "code\tname\nBRCA\tBreast\nNSCLC\tNon-Small Cell Lung\n", "oncotree.tsv"
    )
    codes = load_oncotree_codes(codes_file)
    assert codes == frozenset({"BRCA", "NSCLC"})
    p = _write(tmp_path, "patient_id,cancer_type\nP1,BRCA\nP2,Lung cancer\nP3,NSCLC\n")
    r = read_patients(p, TableInputConfig(), oncotree_codes=codes)
    _accounted(r, ingested=2, rejected=1)
    assert list(r.frame["cancer_type"]) == ["BRCA", "NSCLC"]
    assert list(r.rejects["source_line"]) == [3]
    assert "'Lung cancer'" in _reasons(r)[0]
    # without a code list, the same text is kept as it is
    assert len(read_patients(p, TableInputConfig()).frame) == 3


def test_unknown_oncotree_code_reason(tmp_path: Path) -> None:
    """The reject of an unknown OncoTree code says so."""
    p = _write(tmp_path, "patient_id,cancer_type\nP1,BRCA\nP2,Lung cancer\n")
    r = read_patients(p, TableInputConfig(), oncotree_codes=frozenset({"BRCA", "NSCLC"}))
    _accounted(r, ingested=1, rejected=1)
    assert _reasons(r) == [
        "unknown OncoTree code: cancer_type: 'Lung cancer' is not an OncoTree "
        "code of the configured code list"
    ]
    assert r.report.rejected_by_reason == {"unknown OncoTree code": 1}


@needs_chowell
def test_real_oncotree_list() -> None:
    codes = load_oncotree_codes(ONCOTREE)
    assert {"NSCLC", "MEL", "BRCA", "COADREAD", "LIVER", "STOMACH", "OVARY"} <= codes
    assert "code" not in codes and "TISSUE" in codes


@pytest.mark.parametrize("bad", ["2020-13-45", "yesterday", "31/12/2020"])
def test_unparseable_date(tmp_path: Path, bad: str) -> None:
    p = _write(tmp_path, f"patient_id,diagnosis_date\nP1,2020-02-29\nP2,{bad}\nP3,\n")
    r = read_patients(p, TableInputConfig())
    _accounted(r, ingested=2, rejected=1)
    assert list(r.frame["patient_id"]) == ["P1", "P3"]
    assert r.frame["diagnosis_date"].iloc[0] == pd.Timestamp("2020-02-29")
    assert _reasons(r) == [f"unreadable value: diagnosis_date: {bad!r} is not a date (YYYY-MM-DD)"]


def test_date_format_setting(tmp_path: Path) -> None:
    p = _write(tmp_path, "patient_id,diagnosis_date\nP1,31/12/2020\n")
    r = read_patients(p, TableInputConfig(date_format="%d/%m/%Y"))
    assert r.frame["diagnosis_date"].iloc[0] == pd.Timestamp("2020-12-31")


def test_every_reason_of_a_row_is_kept(tmp_path: Path) -> None:
    """A row failing several checks is one reject listing each failure."""
    p = _write(tmp_path, "patient_id,ecog,bmi\nP1,1,25\nP2,7,300\n")
    r = read_patients(p, TableInputConfig())
    _accounted(r, ingested=1, rejected=1)
    reason = _reasons(r)[0]
    assert reason.startswith("out of range: ")
    assert "ecog" in reason and "0–4" in reason and "bmi" in reason and "10–90 kg/m²" in reason


# --- cell maps computed once per distinct text cell ------------------------------------

_CELL = st.one_of(
    st.sampled_from(["1", "1.0", " yes ", "NA", "", "n/a", "PR", "pr", "3,5", "  "]),
    st.text(max_size=4),
    st.none(),
    st.just(float("nan")),
)
_ODD = st.one_of(_CELL, st.sampled_from([1, 1.0, True, 0, False, 0.0, 2.5, pd.NA]))


@settings(max_examples=200, deadline=None)
@given(cells=st.lists(_CELL, max_size=30), odd=st.lists(_ODD, max_size=30))
def test_cell_maps_equal_pandas_map(cells: list[object], odd: list[object]) -> None:
    """``_cells`` and ``_na_cells`` give what ``Series.map`` / ``DataFrame.map`` give, on
    text columns (cells repeat) and on mixed ones where equal cells of different types
    (``1``, ``1.0``, ``True``) must not share one result."""

    def key_or_bool(v: object) -> object:
        return None if _is_na(v) else (_code_key(v), _to_bool(v))

    for values in (cells, odd):
        col = pd.Series(values, dtype=object)
        for fn in (_na, key_or_bool):
            pd.testing.assert_series_equal(_cells(col, fn), col.map(fn))
        text = pd.Series([v for v in values if isinstance(v, str)], dtype="string")
        pd.testing.assert_series_equal(_cells(text, key_or_bool), text.map(key_or_bool))
    frame = pd.DataFrame({"a": pd.Series(cells, dtype=object)})
    frame["b"] = pd.Series(odd[: len(cells)] + [None] * (len(cells) - len(odd)), dtype=object)
    pd.testing.assert_frame_equal(_na_cells(frame), frame.map(_na))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('ab,"\r\n\t\u2028\x0c é')), max_size=60))
def test_text_lines_are_stringio_lines(text: str) -> None:
    """The reader's line splitter gives the lines that ``StringIO(newline="")`` gives, lone
    carriage returns, form feeds and unicode line separators included."""
    import io

    from precision_onco.ingest.tables import _text_lines

    assert list(_text_lines(text)) == list(io.StringIO(text, newline=""))


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_shared_cells_read_as_before(tmp_path: Path, end: str) -> None:
    """Cells shared between rows (a column's repeated codes) and cells of a column too
    varied to share read the same, with their line numbers, whatever the line ends."""
    from precision_onco.ingest import tables as tb

    n = 2 * tb._MEMO_CHECK + 3
    rows = [
        f'P{i},{"NSCLC" if i % 2 else "CRC"},"line {i}{end}continued",{i % 7}' for i in range(n)
    ]
    p = tmp_path / "t.csv"
    p.write_bytes((end.join(["id,cancer,note,ecog", *rows]) + end).encode())
    raw = tb.read_table(p, TableInputConfig(path=str(p)))
    assert raw.records == n and len(raw.frame) == n
    assert raw.frame["id"].tolist() == [f"P{i}" for i in range(n)]
    assert raw.frame["note"].iloc[5] == f"line 5{end}continued"  # kept as written
    assert raw.frame["ecog"].tolist() == [str(i % 7) for i in range(n)]
    # each record spans two physical lines (the quoted line end)
    assert raw.lines.tolist() == [2 + 2 * i for i in range(n)]
    assert raw.frame["cancer"].tolist() == ["CRC" if i % 2 == 0 else "NSCLC" for i in range(n)]
