"""The MAF reader's two paths agree (property-based, Hypothesis).

``read_maf`` reads a clean file through pyarrow in one vectorised pass and falls back to
a careful row-by-row path that names every bad record. The two must give the same rows:

- on a clean file, the careful path (forced) gives exactly the fast path's frame, counts
  and warnings;
- on a file with bad records, the careful path ingests exactly the rows the fast path reads
  from the same file without them, and rejects each bad record with its own file line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import precision_onco.ingest.maf as maf
from precision_onco.config.schema import MafInputConfig
from precision_onco.ingest.contracts import ReadResult

COLUMNS = [
    "Hugo_Symbol",
    "Chromosome",
    "Start_Position",
    "Reference_Allele",
    "Tumor_Seq_Allele1",
    "Tumor_Seq_Allele2",
    "Tumor_Sample_Barcode",
    "Variant_Classification",
    "HGVSp_Short",
    "t_alt_count",
    "t_depth",
    "FILTER",
]

_bases = st.text(alphabet="ACGT", min_size=1, max_size=4)
_allele = st.one_of(_bases, st.just("-"))


@st.composite
def clean_row(draw: st.DrawFn) -> dict[str, str]:
    ref = draw(_allele)
    alt = draw(_allele.filter(lambda a: a != ref))
    depth = draw(st.integers(0, 900))
    alt_count = draw(st.integers(0, depth))
    # the alternate allele in Tumor_Seq_Allele2 (GDC), or in Allele1 when Allele2 repeats the
    # reference (older MAFs)
    a1, a2 = (alt, ref) if draw(st.booleans()) else (ref, alt)
    return {
        "Hugo_Symbol": draw(st.sampled_from(["KRAS", "TP53", "EGFR", "Unknown", ""])),
        "Chromosome": draw(st.sampled_from(["1", "chr12", "X", "MT", "7"])),
        "Start_Position": str(draw(st.integers(1, 248_000_000))),
        "Reference_Allele": draw(st.sampled_from([ref, ref.lower()])),
        "Tumor_Seq_Allele1": a1,
        "Tumor_Seq_Allele2": a2,
        "Tumor_Sample_Barcode": draw(st.sampled_from(["TCGA-AA-0001-01", "S2", "T_3"])),
        "Variant_Classification": draw(st.sampled_from([*maf.MAF_TO_SO, "Targeted_Region"])),
        "HGVSp_Short": draw(st.sampled_from(["p.G12C", "p.R175H", "", ".", "p.E746_A750del"])),
        "t_alt_count": str(alt_count),
        "t_depth": str(depth),
        "FILTER": draw(st.sampled_from(["PASS", ".", "", "panel_of_normals"])),
    }


#: Bad records: how each breaks a clean row, and the reason the careful path gives.
BREAKS: list[tuple[str, Any]] = [
    ("invalid Start_Position", lambda r: r | {"Start_Position": "12a"}),
    ("invalid Start_Position", lambda r: r | {"Start_Position": "0"}),
    ("invalid Reference_Allele", lambda r: r | {"Reference_Allele": "X"}),
    (
        "invalid Tumor_Seq_Allele2",
        lambda r: r | {"Tumor_Seq_Allele2": "A/T", "Reference_Allele": "G"},
    ),
    ("missing Tumor_Sample_Barcode", lambda r: r | {"Tumor_Sample_Barcode": " "}),
    ("invalid read count", lambda r: r | {"t_alt_count": "50", "t_depth": "10"}),
    ("non-numeric read count", lambda r: r | {"t_depth": "deep"}),
    ("wrong number of fields", None),
]


def _write(path: Path, rows: list[dict[str, str] | str], comments: int) -> Path:
    lines = ["#version 2.4"] * comments + ["\t".join(COLUMNS)]
    lines += [r if isinstance(r, str) else "\t".join(r[c] for c in COLUMNS) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _careful(path: Path, cfg: MafInputConfig, monkeypatch: pytest.MonkeyPatch) -> ReadResult:
    with monkeypatch.context() as m:
        m.setattr(maf, "_read_fast", lambda p, c: None)
        return maf.read_maf(path, cfg)


def _rows(r: ReadResult) -> pd.DataFrame:
    return r.frame.drop(columns=["source_file", "source_line"]).reset_index(drop=True)


_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_SETTINGS
@given(
    rows=st.lists(clean_row(), min_size=1, max_size=25),
    comments=st.integers(0, 2),
    pass_only=st.booleans(),
)
def test_on_a_clean_file_both_paths_give_the_same_rows(
    rows: list[dict[str, str]],
    comments: int,
    pass_only: bool,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if pass_only:
        rows = [r | {"FILTER": "PASS"} for r in rows]
    path = _write(tmp_path_factory.mktemp("maf") / "clean.maf", list(rows), comments)
    cfg = MafInputConfig(pass_only=pass_only)
    fast = maf._read_fast(path, cfg)
    assert fast is not None, "a clean file takes the fast path"
    careful = _careful(path, cfg, monkeypatch)
    pd.testing.assert_frame_equal(fast.frame, careful.frame)
    assert fast.report.read == careful.report.read == len(rows)
    assert careful.rejects.empty and fast.rejects.empty
    assert fast.report.warnings == careful.report.warnings
    assert fast.report.extra["samples"] == careful.report.extra["samples"]


@_SETTINGS
@given(
    rows=st.lists(clean_row(), min_size=2, max_size=20),
    breaks=st.lists(
        st.tuples(st.integers(0, 19), st.integers(0, len(BREAKS) - 1)),
        min_size=1,
        max_size=5,
        unique_by=lambda b: b[0],
    ),
)
def test_bad_records_are_rejected_with_their_line_and_the_rest_read_as_the_fast_path_would(
    rows: list[dict[str, str]],
    breaks: list[tuple[int, int]],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = MafInputConfig()
    broken: dict[int, str] = {}
    dirty: list[dict[str, str] | str] = list(rows)
    for i, k in breaks:
        if i >= len(rows):
            continue
        reason, how = BREAKS[k]
        dirty[i] = "\t".join(rows[i][c] for c in COLUMNS[:-1]) if how is None else how(rows[i])
        broken[i] = reason
    if not broken:
        return
    d = tmp_path_factory.mktemp("maf")
    got = maf.read_maf(_write(d / "dirty.maf", dirty, 1), cfg)
    header_line = 2  # one comment line, then the header
    want_rejects = {header_line + 1 + i: reason for i, reason in broken.items()}
    reasons = [str(r).split(":")[0] for r in got.rejects["reason"]]
    assert dict(zip(got.rejects["source_line"].astype(int), reasons, strict=True)) == want_rejects
    clean = [r for i, r in enumerate(rows) if i not in broken]
    assert got.report.read == len(rows) and got.report.ingested == len(clean)
    kept_lines = [header_line + 1 + i for i in range(len(rows)) if i not in broken]
    assert got.frame["source_line"].tolist() == kept_lines
    if clean:
        fast = maf._read_fast(_write(d / "clean.maf", list(clean), 1), cfg)
        assert fast is not None
        pd.testing.assert_frame_equal(_rows(fast), _rows(got))
