"""MAF ingest: the real TCGA-LAML MAF, malformed rows and files, and VCF/MAF detection."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from precision_onco.config.schema import MafInputConfig, VcfInputConfig
from precision_onco.ingest.contracts import IngestError, ReadResult
from precision_onco.ingest.maf import read_maf
from precision_onco.ingest.variants import read_variants, sniff_format

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"

COLUMNS = (
    "Hugo_Symbol",
    "Chromosome",
    "Start_Position",
    "Reference_Allele",
    "Tumor_Seq_Allele2",
    "Tumor_Sample_Barcode",
    "Variant_Classification",
    "HGVSp_Short",
    "t_alt_count",
    "t_depth",
)


def row(sample: str = "S1", **values: str) -> dict[str, str]:
    """One MAF row (KRAS G12V, 10 of 40 reads) with ``values`` overriding columns."""
    base = {
        "Hugo_Symbol": "KRAS",
        "Chromosome": "12",
        "Start_Position": "25245350",
        "Reference_Allele": "C",
        "Tumor_Seq_Allele2": "A",
        "Tumor_Sample_Barcode": sample,
        "Variant_Classification": "Missense_Mutation",
        "HGVSp_Short": "p.G12V",
        "t_alt_count": "10",
        "t_depth": "40",
    }
    return {**base, **values}


def maf_text(
    rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS, prefix: str = ""
) -> str:
    """A tab-separated MAF with ``columns`` (after optional comment lines ``prefix``)."""
    lines = ["\t".join(columns)] + ["\t".join(r.get(c, "") for c in columns) for r in rows]
    return prefix + "\n".join(lines) + "\n"


def write(path: Path, text: str | bytes) -> Path:
    """Write ``text`` (or raw bytes) to ``path`` and return it."""
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def balanced(r: ReadResult) -> None:
    """Every data row read is ingested or rejected; the frame has the ingested rows."""
    assert r.report.read == r.report.ingested + r.report.rejected
    assert r.report.rejected == len(r.rejects)
    assert r.report.ingested == len(r.frame)


# --- the real TCGA-LAML MAF ----------------------------------------------------------------


def test_tcga_laml_maf() -> None:
    """TCGA-LAML: 2,207 rows of 193 samples, nothing rejected, VAF read as a percentage."""
    path = DATA / "maf" / "tcga_laml.maf.gz"
    if not path.is_file():
        pytest.skip(f"{path} absent (shared test data)")
    r = read_maf(path, MafInputConfig())
    balanced(r)
    assert (r.report.read, r.report.ingested, r.report.rejected) == (2207, 2207, 0)
    assert r.frame["sample_id"].nunique() == 193
    assert r.report.extra["samples"] == 193
    assert r.rejects.empty
    assert r.frame["chrom"].str.startswith("chr").all()
    # i_TumorVAF_WU is in percent: detected, and every fraction is in 0-1
    assert any("read as a percentage" in w for w in r.report.warnings)
    assert r.frame["vaf"].dropna().between(0, 1).all()


# --- valid variations ----------------------------------------------------------------------


def test_version_comment_lines_accepted(tmp_path: Path) -> None:
    """'#version' comment lines before the header are skipped; line numbers count them."""
    text = maf_text([row("S1"), row("S2")], prefix="#version 2.4\n#annotation: test\n")
    r = read_maf(write(tmp_path / "v.maf", text), MafInputConfig())
    balanced(r)
    assert r.frame["sample_id"].tolist() == ["S1", "S2"]
    assert r.frame["source_line"].tolist() == [4, 5]
    row0 = r.frame.iloc[0]
    assert (row0["chrom"], row0["pos"], row0["gene"], row0["hgvsp"]) == (
        "chr12",
        25245350,
        "KRAS",
        "p.G12V",
    )
    assert row0["consequence"] == "missense_variant"
    assert row0["vaf"] == pytest.approx(0.25)
    assert row0["depth"] == 40


def test_gzipped_maf(tmp_path: Path) -> None:
    """A gzipped MAF reads like the plain one."""
    text = maf_text([row("S1"), row("S2")], prefix="#version 2.4\n")
    r = read_maf(write(tmp_path / "v.maf.gz", gzip.compress(text.encode())), MafInputConfig())
    balanced(r)
    assert r.report.ingested == 2


def test_percent_vaf_column_detected(tmp_path: Path) -> None:
    """A VAF column with values above 1 is read as a percentage, with a warning."""
    cols = (*COLUMNS[:8], "VAF")
    rows = [row("S1", VAF="20"), row("S2", VAF="35.5"), row("S3", VAF="")]
    r = read_maf(write(tmp_path / "p.maf", maf_text(rows, cols)), MafInputConfig(vaf_column="VAF"))
    balanced(r)
    assert r.frame["vaf"].iloc[:2].tolist() == pytest.approx([0.20, 0.355])
    assert r.frame["vaf"].isna().iloc[2]
    assert r.report.warnings == ["VAF column 'VAF' read as a percentage (values above 1)"]


def test_vaf_column_found_without_config(tmp_path: Path) -> None:
    """Without read counts or configuration, a 't_vaf' column is used (fractions kept)."""
    cols = (*COLUMNS[:8], "t_vaf")
    rows = [row("S1", t_vaf="0.2"), row("S2", t_vaf="0.45")]
    r = read_maf(write(tmp_path / "f.maf", maf_text(rows, cols)), MafInputConfig())
    balanced(r)
    assert r.frame["vaf"].tolist() == pytest.approx([0.2, 0.45])
    assert not r.report.warnings


def test_declared_fraction_scale(tmp_path: Path) -> None:
    """vaf_scale='fraction' turns off percentage detection: a value above 1 is rejected."""
    cols = (*COLUMNS[:8], "VAF")
    rows = [row("S1", VAF="0.5"), row("S2", VAF="50")]
    cfg = MafInputConfig(vaf_column="VAF", vaf_scale="fraction")
    r = read_maf(write(tmp_path / "f.maf", maf_text(rows, cols)), cfg)
    balanced(r)
    assert r.frame["sample_id"].tolist() == ["S1"]
    assert r.rejects["reason"].tolist() == ["invalid VAF: allele fraction 50 is outside 0-1"]


def test_no_allele_fraction_warns(tmp_path: Path) -> None:
    """Neither read counts nor a VAF column: rows kept, VAF empty, a warning says what to set."""
    cols = COLUMNS[:8]
    r = read_maf(write(tmp_path / "n.maf", maf_text([row("S1")], cols)), MafInputConfig())
    balanced(r)
    assert r.frame["vaf"].isna().all()
    assert any("set cohort.inputs.maf.vaf_column" in w for w in r.report.warnings)


# --- fatal problems ------------------------------------------------------------------------


@pytest.mark.parametrize("column", ["Hugo_Symbol", "Tumor_Sample_Barcode", "Start_Position"])
def test_missing_required_column(tmp_path: Path, column: str) -> None:
    """A MAF without a required column is refused, naming the column and the header line."""
    cols = tuple(c for c in COLUMNS if c != column)
    path = write(tmp_path / "m.maf", maf_text([row()], cols, prefix="#version 2.4\n"))
    with pytest.raises(
        IngestError, match=rf"m\.maf:2: not a MAF: missing required column\(s\) '{column}'"
    ):
        read_maf(path, MafInputConfig())


def test_misspelt_column_gets_a_hint(tmp_path: Path) -> None:
    """A near-miss column name is suggested."""
    cols = tuple("Hugo_Symbl" if c == "Hugo_Symbol" else c for c in COLUMNS)
    text = maf_text([{**row(), "Hugo_Symbl": "KRAS"}], cols)
    with pytest.raises(IngestError, match=r"'Hugo_Symbol' \(found 'Hugo_Symbl'\?\)"):
        read_maf(write(tmp_path / "m.maf", text), MafInputConfig())


def test_configured_vaf_column_absent(tmp_path: Path) -> None:
    """A configured VAF column that the MAF lacks is a fatal error naming the column."""
    path = write(tmp_path / "m.maf", maf_text([row()]))
    with pytest.raises(IngestError, match=r"configured VAF column 'TVAF' is not in the MAF"):
        read_maf(path, MafInputConfig(vaf_column="TVAF"))


def test_truncated_gzip_maf(tmp_path: Path) -> None:
    """A gzipped MAF cut in half is refused with a gzip message."""
    data = gzip.compress(maf_text([row(f"S{i}") for i in range(2000)]).encode())
    path = write(tmp_path / "cut.maf.gz", data[: len(data) // 2])
    with pytest.raises(IngestError, match=r"cut\.maf\.gz: truncated or corrupt gzip data"):
        read_maf(path, MafInputConfig())


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", r"empty file \(expected a MAF\)"),
        ("#version 2.4\n\n#only comments\n", r"no header line \(only comments or blank lines\)"),
    ],
    ids=["empty", "comments-only"],
)
def test_empty_maf(tmp_path: Path, text: str, match: str) -> None:
    """An empty or comment-only file is refused."""
    with pytest.raises(IngestError, match=match):
        read_maf(write(tmp_path / "e.maf", text), MafInputConfig())


def test_maf_not_utf8(tmp_path: Path) -> None:
    """A latin-1 byte is refused with the line it is on."""
    text = maf_text([row("S1"), row("S\xe92")])
    with pytest.raises(IngestError, match=r"e\.maf:3: not UTF-8 text"):
        read_maf(write(tmp_path / "e.maf", text.encode("latin-1")), MafInputConfig())


# --- row rejects: the rest of the file is kept ---------------------------------------------


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"t_alt_count": "x"}, "non-numeric read count: t_alt_count='x', t_depth='40'"),
        ({"t_depth": "abc"}, "non-numeric read count: t_alt_count='10', t_depth='abc'"),
        (
            {"t_alt_count": "50"},
            "invalid read count: t_alt_count 50 exceeds t_depth 40 or is negative",
        ),
        (
            {"Reference_Allele": "CZ"},
            "invalid Reference_Allele: 'CZ' is not A/C/G/T/N bases or '-'",
        ),
        (
            {"Tumor_Seq_Allele2": "A1"},
            "invalid Tumor_Seq_Allele2: 'A1' is not A/C/G/T/N bases or '-'",
        ),
        (
            {"Start_Position": "12x"},
            "invalid Start_Position: Start_Position '12x' is not a positive integer",
        ),
        ({"Tumor_Sample_Barcode": " "}, "missing Tumor_Sample_Barcode: empty sample barcode"),
    ],
    ids=["t_alt_count", "t_depth", "alt>depth", "ref", "alt", "pos", "barcode"],
)
def test_bad_row_rejected(tmp_path: Path, bad: dict[str, str], reason: str) -> None:
    """One bad row is rejected with its line and reason; the valid rows are all ingested."""
    rows = [row("S1"), row("S2", **bad), row("S3")]
    path = write(tmp_path / "r.maf", maf_text(rows, prefix="#version 2.4\n"))
    r = read_maf(path, MafInputConfig())
    balanced(r)
    assert r.frame["sample_id"].tolist() == ["S1", "S3"]
    assert r.rejects["source_line"].tolist() == [4]
    assert r.rejects["reason"].tolist() == [reason]
    assert r.rejects["raw"].iloc[0].startswith("KRAS 12 ")  # one-line excerpt, tabs as spaces


def test_missing_read_counts_are_not_rejected(tmp_path: Path) -> None:
    """Empty or 'NA' read counts leave VAF and depth empty; the row is kept."""
    rows = [row("S1", t_alt_count="", t_depth=""), row("S2", t_alt_count="NA", t_depth="NA")]
    r = read_maf(write(tmp_path / "na.maf", maf_text(rows)), MafInputConfig())
    balanced(r)
    assert r.report.ingested == 2
    assert r.frame["vaf"].isna().all() and r.frame["depth"].isna().all()


def test_non_numeric_vaf_column_rejected(tmp_path: Path) -> None:
    """A configured VAF column value that is not a number rejects that row, naming the value."""
    cols = (*COLUMNS[:8], "VAF")
    rows = [row("S1", VAF="0.2"), row("S2", VAF="abc"), row("S3", VAF="0.4")]
    r = read_maf(write(tmp_path / "v.maf", maf_text(rows, cols)), MafInputConfig(vaf_column="VAF"))
    balanced(r)
    assert r.frame["sample_id"].tolist() == ["S1", "S3"]
    assert r.frame["vaf"].tolist() == pytest.approx([0.2, 0.4])
    assert r.rejects["reason"].tolist() == ["non-numeric VAF: VAF='abc' is not a number"]
    assert r.rejects["source_line"].tolist() == [3]


def test_pass_only_applies_filter_column(tmp_path: Path) -> None:
    """pass_only=True rejects rows whose FILTER is not PASS or '.'."""
    cols = (*COLUMNS, "FILTER")
    rows = [row("S1", FILTER="PASS"), row("S2", FILTER="panel_of_normals"), row("S3", FILTER="")]
    path = write(tmp_path / "f.maf", maf_text(rows, cols))
    r = read_maf(path, MafInputConfig(pass_only=True))
    balanced(r)
    assert r.frame["sample_id"].tolist() == ["S1", "S3"]
    assert r.rejects["reason"].tolist() == ["not PASS: FILTER=panel_of_normals"]
    assert read_maf(path, MafInputConfig()).report.ingested == 3


def test_row_with_extra_field_rejected(tmp_path: Path) -> None:
    """A row with more fields than the header is rejected; the other rows are ingested."""
    text = maf_text([row("S1"), row("S2"), row("S3")])
    lines = text.splitlines(keepends=True)
    lines[2] = lines[2].rstrip("\n") + "\tstray\n"
    r = read_maf(write(tmp_path / "x.maf", "".join(lines)), MafInputConfig())
    balanced(r)
    assert r.frame["sample_id"].tolist() == ["S1", "S3"]
    assert r.rejects["source_line"].tolist() == [3]


# --- format detection ----------------------------------------------------------------------


def test_sniff_and_read_variants_maf(tmp_path: Path) -> None:
    """A MAF with no telling file name is detected from its header and read as a MAF."""
    path = write(tmp_path / "calls.txt", maf_text([row("S1")], prefix="#version 2.4\n"))
    assert sniff_format(path) == "maf"
    r = read_variants(path)
    assert r.report.kind == "maf"
    assert r.frame["sample_id"].tolist() == ["S1"]
    gz = write(tmp_path / "calls.gz", gzip.compress(path.read_bytes()))
    assert sniff_format(gz) == "maf"


def test_sniff_vcf(tmp_path: Path) -> None:
    """A file starting with ##fileformat=VCF is a VCF, whatever its name."""
    header = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tT1\n"
    record = "1\t100\t.\tA\tT\t.\tPASS\t.\tGT\t0/1\n"
    path = write(
        tmp_path / "calls.txt", "##fileformat=VCFv4.2\n##contig=<ID=1>\n" + header + record
    )
    assert sniff_format(path) == "vcf"
    r = read_variants(path, vcf=VcfInputConfig())
    assert r.report.kind == "vcf"
    assert r.frame["chrom"].tolist() == ["chr1"]


def test_read_variants_pass_only_overrides_maf_config(tmp_path: Path) -> None:
    """read_variants(pass_only=True) applies FILTER to a MAF whose config keeps everything."""
    cols = (*COLUMNS, "FILTER")
    path = write(
        tmp_path / "f.maf", maf_text([row("S1", FILTER="PASS"), row("S2", FILTER="x")], cols)
    )
    r = read_variants(path, maf=MafInputConfig(vaf_column=None), pass_only=True)
    assert r.frame["sample_id"].tolist() == ["S1"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", r"empty file \(expected a VCF or a MAF\)"),
        ("a\tb\n1\t2\n", r"neither a VCF .* nor a MAF"),
    ],
    ids=["empty", "other-table"],
)
def test_sniff_refuses_other_files(tmp_path: Path, text: str, match: str) -> None:
    """An empty file or a table that is neither VCF nor MAF is refused."""
    with pytest.raises(IngestError, match=match):
        sniff_format(write(tmp_path / "x.tsv", text))
