"""`precision-onco variants`: conversion, pseudonymized outputs, and one-line errors."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from precision_onco.cli import main
from precision_onco.ingest.cohort import Redactor

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
KEY_ENV = "PRECISION_ONCO_PSEUDONYM_KEY"
PK = r"^pk_[0-9a-f]{24}$"
#: A log record on stderr (e.g. the demo-key warning), as configured by ``configure_logging``.
LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d (DEBUG|INFO|WARNING) [\w.]+: ")

VCF = (
    "##fileformat=VCFv4.2\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fraction">\n'
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">\n'
    "##contig=<ID=chr1>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\tNORMAL\n"
    "chr1\t100\t.\tA\tT\t.\tPASS\t.\tGT:AF:DP\t0/1:0.25:40\t0/0:0:30\n"
    "chr1\t300\t.\tC\tG\t.\tPASS\t.\tGT:AF:DP\t0/1:0.5:20\t0/0:0:30\n"
)

MAF_COLUMNS = (
    "Hugo_Symbol",
    "Chromosome",
    "Start_Position",
    "Reference_Allele",
    "Tumor_Seq_Allele2",
    "Tumor_Sample_Barcode",
    "Variant_Classification",
    "t_alt_count",
    "t_depth",
)


def maf_line(sample: str, gene: str = "KRAS") -> str:
    """One MAF data row of ``sample``."""
    return "\t".join([gene, "12", "25245350", "C", "A", sample, "Missense_Mutation", "10", "40"])


def shared(name: str) -> Path:
    """A file of the shared real data folder, or skip the test when it is absent."""
    path = DATA / name
    if not path.is_file():
        pytest.skip(f"{path} absent (shared test data)")
    return path


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose the key themselves (--demo-key or an explicit environment variable)."""
    monkeypatch.delenv(KEY_ENV, raising=False)


def string_values(df: pd.DataFrame) -> set[str]:
    """Every distinct value of the text columns of ``df``."""
    out: set[str] = set()
    for c in df.columns:
        if df[c].dtype.kind == "O" or str(df[c].dtype) in ("string", "str"):
            out |= set(df[c].dropna().astype(str))
    return out


def one_error_line(err: str) -> str:
    """The error of a failed command: exactly one line, no traceback (log lines aside)."""
    assert "Traceback" not in err
    lines = [ln for ln in err.strip().splitlines() if not LOG_LINE.match(ln)]
    assert len(lines) == 1, err
    assert lines[0].startswith("precision-onco: error: ")
    return lines[0]


# --- real files ----------------------------------------------------------------------------


def test_a25_all_filters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A25 with --all-filters: 1,445 pseudonymized rows and an (empty) rejects table."""
    src = shared("vcf/A25.mutect2.vep.vcf")
    out, rej = tmp_path / "out" / "variants.parquet", tmp_path / "rejects.parquet"
    rc = main(
        [
            "variants",
            str(src),
            "--out",
            str(out),
            "--rejects",
            str(rej),
            "--all-filters",
            "--demo-key",
        ]
    )
    assert rc == 0
    stdout = capsys.readouterr().out
    assert f"1,445 variant rows -> {out}; 0 rejects -> {rej}" in stdout
    var, rejects = pd.read_parquet(out), pd.read_parquet(rej)
    assert len(var) == 1445 and len(rejects) == 0
    assert "patient_id" not in var.columns
    assert var["patient_key"].str.match(PK).all()
    assert var["sample_id"].str.match(PK).all()
    assert var["patient_key"].nunique() == 1
    assert "TP53" in set(var["gene"])
    assert not string_values(var) & {"A25", "N1", "TUMOR", "NORMAL"}


def test_outputs_do_not_leak_sample_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A25 + vcf2maf test VCF, PASS only: no raw sample name in outputs, rejects or summary."""
    a25, v2m = shared("vcf/A25.mutect2.vep.vcf"), shared("vcf/vcf2maf_test_b38.vcf")
    out, rej = tmp_path / "variants.parquet", tmp_path / "rejects.parquet"
    rc = main(
        [
            "variants",
            str(a25),
            str(v2m),
            "--out",
            str(out),
            "--rejects",
            str(rej),
            "--demo-key",
            "--json",
        ]
    )
    assert rc == 0
    reports = json.loads(capsys.readouterr().out)
    assert [(d["kind"], d["read"], d["ingested"], d["rejected"]) for d in reports][0] == (
        "vcf",
        1428,
        421,
        1007,
    )
    for d in reports:
        assert d["read"] == d["ingested"] + d["rejected"]
        assert d["tumor_sample_column"].startswith("pk_")
    var, rejects = pd.read_parquet(out), pd.read_parquet(rej)
    assert len(rejects) == 1007
    assert set(var["sample_id"].map(lambda s: s[:3])) == {"pk_"}
    assert var["sample_id"].nunique() == 2 and var["patient_key"].nunique() == 2
    raw = {"A25", "N1", "TUMOR", "NORMAL"}
    redact = Redactor({r: "x" for r in raw})
    for name, df in (("variants", var), ("rejects", rejects)):
        values = string_values(df)
        assert not values & raw, f"{name} has a raw sample name as a value"
        assert not any(redact.leaks(v) for v in values), f"{name} leaks a raw sample name"
    assert not redact.leaks(json.dumps(reports))


def test_maf_detected_from_content(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A MAF named .tsv is read as a MAF; --sample-regex links two samples to one patient."""
    rows = [
        maf_line("TCGA-AB-2988-03A"),
        maf_line("TCGA-AB-2988-04A", "NRAS"),
        maf_line("TCGA-AB-2869-03A"),
    ]
    text = "#version 2.4\n" + "\t".join(MAF_COLUMNS) + "\n" + "\n".join(rows) + "\n"
    src = tmp_path / "calls.tsv"
    src.write_bytes(gzip.compress(text.encode()))
    out = tmp_path / "v.parquet"
    rc = main(
        [
            "variants",
            str(src),
            "--out",
            str(out),
            "--demo-key",
            "--json",
            "--sample-regex",
            r"^(TCGA-..-....)",
        ]
    )
    assert rc == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert (report["kind"], report["read"], report["ingested"], report["rejected"]) == (
        "maf",
        3,
        3,
        0,
    )
    var = pd.read_parquet(out)
    assert len(var) == 3
    assert var["patient_key"].str.match(PK).all()
    assert var["sample_id"].nunique() == 3
    assert var["patient_key"].nunique() == 2
    assert not any("TCGA" in v for v in string_values(var))


def test_genes_bed_fills_gene(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--genes-bed names the gene of an unannotated VCF."""
    src, bed = tmp_path / "s.vcf", tmp_path / "genes.bed"
    src.write_text(VCF)
    bed.write_text("chr1\t50\t200\tGENEA\n")
    out = tmp_path / "v.parquet"
    assert (
        main(["variants", str(src), "--out", str(out), "--genes-bed", str(bed), "--demo-key"]) == 0
    )
    assert "gene taken from the gene intervals" in capsys.readouterr().out
    assert pd.read_parquet(out)["gene"].fillna("-").tolist() == ["GENEA", "-"]


# --- errors: one line, non-zero exit, no traceback -----------------------------------------


def test_missing_input_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that does not exist: exit 2 and one line naming it; nothing written."""
    monkeypatch.setenv(KEY_ENV, "0123456789abcdef0123456789abcdef")
    missing, out = tmp_path / "no_such_sample.vcf", tmp_path / "v.parquet"
    rc = main(["variants", str(missing), "--out", str(out), "--demo-key"])
    assert rc != 0
    err = capsys.readouterr().err
    assert err == f"precision-onco: error: {missing}: file not found\n"  # nothing else on stderr
    assert not out.exists()


def test_no_key_without_demo_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No key in the environment and no --demo-key: refused, naming the environment variable."""
    src, out = tmp_path / "s.vcf", tmp_path / "v.parquet"
    src.write_text(VCF)
    rc = main(["variants", str(src), "--out", str(out)])
    assert rc != 0
    line = one_error_line(capsys.readouterr().err)
    assert KEY_ENV in line and "--demo-key" in line
    assert not out.exists()


def test_env_key_is_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a key in the environment the command runs without --demo-key; keys differ by key."""
    src = tmp_path / "s.vcf"
    src.write_text(VCF)
    monkeypatch.setenv(KEY_ENV, "0123456789abcdef0123456789abcdef")
    assert main(["variants", str(src), "--out", str(tmp_path / "a.parquet")]) == 0
    monkeypatch.delenv(KEY_ENV)
    assert main(["variants", str(src), "--out", str(tmp_path / "b.parquet"), "--demo-key"]) == 0
    a, b = pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "b.parquet")
    assert a["patient_key"].str.match(PK).all()
    assert set(a["patient_key"]).isdisjoint(set(b["patient_key"]))


def test_unknown_tumor_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--tumor-sample naming no column: one line naming the sample."""
    src = tmp_path / "s.vcf"
    src.write_text(VCF)
    rc = main(
        [
            "variants",
            str(src),
            "--out",
            str(tmp_path / "v.parquet"),
            "--demo-key",
            "--tumor-sample",
            "SAMPLE_X",
        ]
    )
    assert rc != 0
    assert "tumour sample 'SAMPLE_X' is not a sample column" in one_error_line(
        capsys.readouterr().err
    )


_GZ = gzip.compress(VCF.encode(), mtime=0)
BAD_FILES: dict[str, bytes] = {
    "no-chrom": VCF.split("#CHROM")[0].encode() + VCF.split("\n")[-3].encode() + b"\n",
    "empty": b"",
    "not-variants": b"a\tb\n1\t2\n",
    "truncated-gzip": _GZ[: len(_GZ) // 2],
}


@pytest.mark.parametrize(
    ("kind", "match"),
    [
        ("no-chrom", "missing the '#CHROM' header line"),
        ("empty", "empty file"),
        ("not-variants", "neither a VCF"),
        ("truncated-gzip", "gzip data"),
    ],
)
def test_bad_file_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, match: str
) -> None:
    """Unreadable inputs: exit 2, one line naming the file and the problem."""
    path = tmp_path / f"{kind}.vcf"
    path.write_bytes(BAD_FILES[kind])
    rc = main(["variants", str(path), "--out", str(tmp_path / "v.parquet"), "--demo-key"])
    assert rc == 2
    line = one_error_line(capsys.readouterr().err)
    assert str(path) in line and match in line


def test_ragged_maf_error_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A MAF row with a stray extra field: the failure (or reject) names the file."""
    rows = [maf_line("S1"), maf_line("S2") + "\tstray", maf_line("S3")]
    src = tmp_path / "ragged.maf"
    src.write_text("\t".join(MAF_COLUMNS) + "\n" + "\n".join(rows) + "\n")
    rc = main(["variants", str(src), "--out", str(tmp_path / "v.parquet"), "--demo-key"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if rc != 0:
        assert str(src) in one_error_line(err)
