"""VCF ingest: real public VCFs (counts, VAF, annotation, tumour column) and malformed input."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from precision_onco.config.schema import VcfInputConfig
from precision_onco.ingest.contracts import IngestError, ReadResult
from precision_onco.ingest.genes import GeneIndex
from precision_onco.ingest.vcf import read_header, read_vcf, read_vcfs

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"

HEADER = (
    "##fileformat=VCFv4.2\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fraction">\n'
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">\n'
    "##contig=<ID=chr1>\n"
    "##contig=<ID=chr7>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\tNORMAL\n"
)
#: Line number of the first record after :data:`HEADER`.
FIRST = HEADER.count("\n") + 1


def rec(
    pos: str = "100",
    ref: str = "A",
    alt: str = "T",
    *,
    chrom: str = "chr1",
    info: str = ".",
    samples: tuple[str, ...] = ("0/1:0.25:40", "0/0:0:30"),
) -> str:
    """One tab-separated record line (TUMOR AF 0.25, DP 40 unless told)."""
    return "\t".join([chrom, pos, ".", ref, alt, ".", "PASS", info, "GT:AF:DP", *samples]) + "\n"


def write(path: Path, text: str | bytes) -> Path:
    """Write ``text`` (or raw bytes) to ``path`` and return it."""
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def shared(name: str) -> Path:
    """A file of the shared real data folder, or skip the test when it is absent."""
    path = DATA / name
    if not path.is_file():
        pytest.skip(f"{path} absent (shared test data)")
    return path


def balanced(r: ReadResult) -> None:
    """Every record read is ingested or rejected, and the frame agrees with the rejects."""
    assert r.report.read == r.report.ingested + r.report.rejected
    assert r.report.rejected == len(r.rejects)


# --- real public files ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def a25_all() -> ReadResult:
    """A25 (Mutect2 + VEP) read with every FILTER kept."""
    return read_vcf(shared("vcf/A25.mutect2.vep.vcf"), VcfInputConfig(), pass_only=False)


def test_coad_vcf_counts_and_braf_from_info() -> None:
    """T001: every record ingested; BRAF VAF/depth come from INFO TVAF/TDP."""
    r = read_vcf(shared("vcf/T001-COAD.grch38.vcf.gz"), VcfInputConfig())
    balanced(r)
    assert (r.report.read, r.report.ingested, r.report.rejected) == (3313, 3313, 0)
    braf = r.frame[(r.frame["chrom"] == "chr7") & (r.frame["pos"] == 140753336)]
    assert len(braf) == 1
    row = braf.iloc[0]
    assert (row["ref"], row["alt"]) == ("A", "T")
    assert row["vaf"] == pytest.approx(0.3148, abs=1e-4)
    assert row["depth"] == 54


def test_a25_default_keeps_only_pass() -> None:
    """A25: by default the non-PASS records are rejected as 'not PASS'."""
    r = read_vcf(shared("vcf/A25.mutect2.vep.vcf"), VcfInputConfig())
    balanced(r)
    assert len(r.frame) == 421
    assert r.report.rejected == 1007
    assert r.report.rejected_by_reason == {"not PASS": 1007}
    assert r.rejects["reason"].str.startswith("not PASS").all()
    assert (r.frame["filter"] == "PASS").all()


def test_a25_all_filters_splits_multiallelic(a25_all: ReadResult) -> None:
    """A25 with every FILTER: 1,428 records give 1,445 rows (multi-allelic records split)."""
    balanced(a25_all)
    assert (a25_all.report.read, a25_all.report.ingested, a25_all.report.rejected) == (
        1428,
        1428,
        0,
    )
    assert len(a25_all.frame) == 1445
    assert a25_all.report.extra["variant_rows"] == 1445
    # a split record keeps its line number on every allele row
    per_line = a25_all.frame.groupby("source_line").size()
    assert (per_line > 1).sum() > 0
    assert int((per_line - 1).sum()) == 1445 - 1428


def test_a25_vep_annotation(a25_all: ReadResult) -> None:
    """Gene and HGVSp come from VEP CSQ; the tumour is the ##tumor_sample= column."""
    tp53 = a25_all.frame[a25_all.frame["gene"] == "TP53"]
    assert tp53["hgvsp"].dropna().str.endswith("p.Arg280Ser").any()
    assert set(a25_all.frame["sample_id"]) == {"A25"}
    assert a25_all.report.extra["tumor_sample_column"] == "A25"
    assert not a25_all.report.warnings


def test_vcf2maf_picks_tumor_not_normal() -> None:
    """vcf2maf test VCF (TUMOR + NORMAL): the TUMOR column is read."""
    r = read_vcf(shared("vcf/vcf2maf_test_b38.vcf"), VcfInputConfig())
    balanced(r)
    assert len(r.frame) > 0
    assert set(r.frame["sample_id"]) == {"TUMOR"}
    assert r.report.extra["tumor_sample_column"] == "TUMOR"


# --- fatal problems: IngestError naming the file -------------------------------------------


@pytest.mark.parametrize("n_records", [3, 4000], ids=["header-cut", "records-cut"])
def test_truncated_gzip(tmp_path: Path, n_records: int) -> None:
    """A gzip cut in half stops the file with a message about gzip (header or records cut)."""
    text = HEADER + "".join(rec(str(100 + i)) for i in range(n_records))
    data = gzip.compress(text.encode())
    path = write(tmp_path / "cut.vcf.gz", data[: len(data) // 2])
    with pytest.raises(IngestError, match=r"cut\.vcf\.gz: (unreadable|truncated or corrupt) gzip"):
        read_vcf(path, VcfInputConfig())


def test_intact_gzip_reads(tmp_path: Path) -> None:
    """The same gzipped file, not cut, reads completely (control for the truncation test)."""
    text = HEADER + "".join(rec(str(100 + i)) for i in range(3))
    path = write(tmp_path / "ok.vcf.gz", gzip.compress(text.encode()))
    r = read_vcf(path, VcfInputConfig())
    balanced(r)
    assert r.report.ingested == 3


def test_missing_chrom_line(tmp_path: Path) -> None:
    """Records before any '#CHROM' line: the error names the line."""
    text = HEADER.split("#CHROM")[0] + rec("100")
    path = write(tmp_path / "nochrom.vcf", text)
    with pytest.raises(IngestError, match=rf"nochrom\.vcf:{FIRST - 1}: missing the '#CHROM'"):
        read_vcf(path, VcfInputConfig())


def test_header_only_without_chrom(tmp_path: Path) -> None:
    """Only ## lines: no '#CHROM' line at all."""
    path = write(tmp_path / "meta.vcf", HEADER.split("#CHROM")[0])
    with pytest.raises(IngestError, match=r"missing the '#CHROM' header line"):
        read_vcf(path, VcfInputConfig())


def test_not_a_vcf(tmp_path: Path) -> None:
    """A first line other than ##fileformat=VCF is refused."""
    path = write(tmp_path / "calls.vcf", "Hugo_Symbol\tChromosome\nKRAS\t12\n")
    with pytest.raises(IngestError, match=r"calls\.vcf:1: not a VCF: the first line must be"):
        read_vcf(path, VcfInputConfig())


def test_empty_file(tmp_path: Path) -> None:
    """A zero-byte file is refused as empty."""
    path = write(tmp_path / "empty.vcf", "")
    with pytest.raises(IngestError, match=r"empty\.vcf: empty file \(expected a VCF\)"):
        read_vcf(path, VcfInputConfig())


def test_missing_file(tmp_path: Path) -> None:
    """A path that does not exist is refused, naming it."""
    with pytest.raises(IngestError, match=r"nowhere\.vcf: file not found"):
        read_vcf(tmp_path / "nowhere.vcf", VcfInputConfig())


def _latin1_header() -> bytes:
    text = HEADER.replace("##contig=<ID=chr1>\n", "##contig=<ID=chr1>\n##source=caf\xe9\n")
    return text.encode("latin-1") + rec("100").encode()


def test_header_not_utf8(tmp_path: Path) -> None:
    """A latin-1 byte in a ## line is refused as not UTF-8."""
    path = write(tmp_path / "latin.vcf", _latin1_header())
    with pytest.raises(IngestError, match=r"latin\.vcf:\d+: header is not UTF-8 text"):
        read_vcf(path, VcfInputConfig())


def test_header_not_utf8_names_the_line(tmp_path: Path) -> None:
    """The non-UTF-8 error points at the ## line holding the bad byte (line 6)."""
    path = write(tmp_path / "latin.vcf", _latin1_header())
    with pytest.raises(IngestError) as err:
        read_vcf(path, VcfInputConfig())
    assert err.value.line == 6


def test_latin1_byte_in_a_record_loses_nothing(tmp_path: Path) -> None:
    """A latin-1 byte in one record's INFO must not make the valid records of the file be lost."""
    bad = rec("200", info="NOTE=caf\xe9").encode("latin-1")
    path = write(
        tmp_path / "latinrec.vcf", (HEADER + rec("100")).encode() + bad + rec("300").encode()
    )
    r = read_vcf(path, VcfInputConfig())
    balanced(r)
    assert {100, 300} <= set(r.frame["pos"])


def test_unknown_tumor_sample(tmp_path: Path) -> None:
    """A requested tumour column that is not in the file is named in the error."""
    path = write(tmp_path / "t.vcf", HEADER + rec("100"))
    with pytest.raises(IngestError, match=r"tumour sample 'SAMPLE_X' is not a sample column"):
        read_vcf(path, VcfInputConfig(), tumor_sample="SAMPLE_X")


def test_explicit_tumor_sample_is_used(tmp_path: Path) -> None:
    """tumor_sample= selects that column (here the NORMAL one, AF 0)."""
    path = write(tmp_path / "t.vcf", HEADER + rec("100"))
    r = read_vcf(path, VcfInputConfig(), tumor_sample="NORMAL")
    assert r.frame["sample_id"].tolist() == ["NORMAL"]
    assert r.frame["vaf"].tolist() == [0.0]


def test_ambiguous_tumor_column(tmp_path: Path) -> None:
    """Two samples, neither recognizable: the error says how to choose."""
    text = HEADER.replace("TUMOR\tNORMAL", "S1\tS2") + rec("100")
    path = write(tmp_path / "amb.vcf", text)
    with pytest.raises(IngestError, match=r"cannot tell the tumour column among \['S1', 'S2'\]"):
        read_vcf(path, VcfInputConfig())


def test_tumor_sample_header_line(tmp_path: Path) -> None:
    """'##tumor_sample=' picks the column even when names say nothing."""
    text = HEADER.replace("TUMOR\tNORMAL", "S1\tS2").replace(
        "##contig=<ID=chr1>", "##tumor_sample=S2\n##contig=<ID=chr1>"
    )
    path = write(tmp_path / "hdr.vcf", text + rec("100"))
    assert read_header(path).tumor_header == "S2"
    assert read_vcf(path, VcfInputConfig()).frame["sample_id"].tolist() == ["S2"]


# --- record rejects: the rest of the file is kept ------------------------------------------


@pytest.mark.parametrize("pos", ["2x0", "abc"])
def test_non_integer_pos_rejected(tmp_path: Path, pos: str) -> None:
    """A record whose POS is not an integer is rejected with its line; the others are kept."""
    path = write(tmp_path / "pos.vcf", HEADER + rec("100") + rec(pos) + rec("300"))
    r = read_vcf(path, VcfInputConfig())
    balanced(r)
    assert r.frame["pos"].tolist() == [100, 300]
    assert r.frame["source_line"].tolist() == [FIRST, FIRST + 2]
    assert r.rejects["source_line"].tolist() == [FIRST + 1]
    assert r.rejects["reason"].iloc[0] == (
        f"unparseable record: malformed record: POS {pos!r} is not a positive integer"
    )
    assert r.report.rejected_by_reason == {"unparseable record": 1}


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_several_unparseable_records(tmp_path: Path, gz: bool) -> None:
    """Bad first and middle records (plain or gzipped): each rejected, line numbers kept."""
    text = HEADER + rec("1x") + rec("100") + rec("2y") + rec("300") + rec("400")
    path = tmp_path / ("many.vcf.gz" if gz else "many.vcf")
    write(path, gzip.compress(text.encode()) if gz else text)
    r = read_vcf(path, VcfInputConfig())
    balanced(r)
    assert r.report.read == 5
    assert r.frame["pos"].tolist() == [100, 300, 400]
    assert r.frame["source_line"].tolist() == [FIRST + 1, FIRST + 3, FIRST + 4]
    assert r.rejects["source_line"].tolist() == [FIRST, FIRST + 2]
    assert r.rejects["reason"].str.contains("POS").all()


@pytest.mark.parametrize(
    ("ref", "alt", "reason"),
    [
        ("AZ", "T", r"^invalid REF: REF 'AZ' has a character other than A, C, G, T, N$"),
        ("A", "T1", r"^invalid ALT: ALT 'T1' is not a base sequence"),
        ("A", "T,X", r"^invalid ALT: ALT 'X' is not a base sequence"),
    ],
    ids=["ref", "alt", "second-alt"],
)
def test_invalid_bases_rejected(tmp_path: Path, ref: str, alt: str, reason: str) -> None:
    """Invalid REF/ALT bases reject the record, naming REF or ALT; the others are kept."""
    path = write(tmp_path / "bases.vcf", HEADER + rec("100") + rec("200", ref, alt) + rec("300"))
    r = read_vcf(path, VcfInputConfig())
    balanced(r)
    assert r.frame["pos"].tolist() == [100, 300]
    assert r.rejects["source_line"].tolist() == [FIRST + 1]
    assert r.rejects["reason"].str.match(reason).all()


def test_symbolic_and_star_alleles_accepted(tmp_path: Path) -> None:
    """'<DEL>' is a valid ALT; a '*' allele yields no row but the record is ingested."""
    samples = ("0/1:0.3,0.1:40", "0/0:0,0:30")
    text = HEADER + rec("100", "A", "<DEL>", samples=("0/1:0.3:40", "0/0:0:30"))
    text += rec("200", "A", "T,*", samples=samples)
    r = read_vcf(write(tmp_path / "sym.vcf", text), VcfInputConfig())
    balanced(r)
    assert r.report.ingested == 2
    assert r.frame["alt"].tolist() == ["<DEL>", "T"]


@pytest.mark.parametrize(
    "samples",
    [("0/1:0.1:30", "0/0:0:30", "0/1:0.5:9"), ("0/1:0.1:30",), ()],
    ids=["extra-column", "missing-normal", "no-sample-columns"],
)
@pytest.mark.parametrize("in_thread", [False, True], ids=["checked-first", "checked-beside"])
def test_sample_count_mismatch_rejected(
    tmp_path: Path, samples: tuple[str, ...], in_thread: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record whose sample columns do not match the header is rejected, naming the samples,
    whether the column-count check runs before the scan (a small file) or beside it."""
    import precision_onco.ingest.vcf as vcf

    if in_thread:
        monkeypatch.setattr(vcf, "BACKGROUND_CHECK_MIN_BYTES", 0)
    started = vcf._Background.start
    threads: list[object] = []

    def start(self: vcf._Background) -> None:
        threads.append(self)
        started(self)

    monkeypatch.setattr(vcf._Background, "start", start)
    path = write(
        tmp_path / "ns.vcf", HEADER + rec("100") + rec("200", samples=samples) + rec("300")
    )
    r = read_vcf(path, VcfInputConfig())
    assert len(threads) == int(in_thread)
    balanced(r)
    assert r.frame["pos"].tolist() == [100, 300]
    assert r.rejects["source_line"].tolist() == [FIRST + 1]
    assert r.rejects["reason"].str.contains("sample count mismatch").all()


def test_non_numeric_format_af_rejected(tmp_path: Path) -> None:
    """A FORMAT AF that is not a number rejects the record as a non-numeric VAF."""
    bad = rec("200", samples=("0/1:abc:40", "0/0:0:30"))
    path = write(tmp_path / "af.vcf", HEADER + rec("100") + bad + rec("300"))
    r = read_vcf(path, VcfInputConfig())
    balanced(r)
    assert r.frame["pos"].tolist() == [100, 300]
    assert r.rejects["source_line"].tolist() == [FIRST + 1]
    assert r.rejects["reason"].iloc[0] == (
        "unparseable record: non-numeric VAF: FORMAT AF of sample 'TUMOR' is 'abc'"
    )


def test_af_outside_unit_interval_rejected(tmp_path: Path) -> None:
    """A FORMAT AF above 1 rejects the record as an invalid VAF."""
    bad = rec("200", samples=("0/1:1.5:40", "0/0:0:30"))
    path = write(tmp_path / "af.vcf", HEADER + rec("100") + bad + rec("300"))
    r = read_vcf(path, VcfInputConfig())
    balanced(r)
    assert r.frame["pos"].tolist() == [100, 300]
    assert r.rejects["reason"].tolist() == [
        "invalid VAF: allele fraction 1.5 of ALT 'T' is outside 0-1"
    ]


def test_pass_only_override(tmp_path: Path) -> None:
    """A non-PASS record is rejected by default and kept with pass_only=False."""
    text = HEADER + rec("100") + rec("200").replace("\tPASS\t", "\tLowQual\t")
    path = write(tmp_path / "f.vcf", text)
    r = read_vcf(path, VcfInputConfig())
    balanced(r)
    assert r.rejects["reason"].tolist() == ["not PASS: FILTER=LowQual"]
    kept = read_vcf(path, VcfInputConfig(), pass_only=False)
    balanced(kept)
    assert kept.frame["filter"].tolist() == ["PASS", "LowQual"]


# --- annotation ----------------------------------------------------------------------------


def test_unannotated_vcf_warns_how_to_annotate(tmp_path: Path) -> None:
    """No CSQ/ANN and no gene intervals: gene empty, the report says how to annotate."""
    path = write(tmp_path / "plain.vcf", HEADER + rec("100") + rec("300"))
    r = read_vcf(path, VcfInputConfig())
    balanced(r)
    assert r.frame["gene"].isna().all()
    assert r.report.extra["unannotated_rows"] == 2
    (warning,) = r.report.warnings
    assert warning.startswith("2 variant rows have no CSQ or ANN annotation")
    assert "Ensembl VEP" in warning and "SnpEff" in warning and "--genes-bed" in warning


def test_unannotated_vcf_with_gene_bed(tmp_path: Path) -> None:
    """With a BED of gene intervals the gene is filled (BED starts are 0-based)."""
    bed = write(
        tmp_path / "genes.bed", "chr1\t50\t200\tGENEA\nchr1\t200\t400\tGENEB\nchr7\t1\t9\tG7\n"
    )
    text = HEADER + rec("100") + rec("200") + rec("201") + rec("500")
    r = read_vcf(
        write(tmp_path / "plain.vcf", text), VcfInputConfig(), genes=GeneIndex.from_file(bed)
    )
    balanced(r)
    assert r.frame["gene"].fillna("-").tolist() == ["GENEA", "GENEA", "GENEB", "-"]
    assert any("gene taken from the gene intervals" in w for w in r.report.warnings)


def test_csq_annotation_prefers_canonical(tmp_path: Path) -> None:
    """VEP CSQ: the allele's CANONICAL transcript gives gene, consequence and HGVSp."""
    csq = (
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl '
        'VEP. Format: Allele|Consequence|IMPACT|SYMBOL|HGVSp|CANONICAL">\n'
    )
    text = HEADER.replace("##contig=<ID=chr1>\n", csq + "##contig=<ID=chr1>\n")
    info = (
        "CSQ=T|intron_variant|MODIFIER|GENEX|ENSP1.1:p.Val1Leu|,"
        "T|missense_variant&splice_region_variant|MODERATE|GENEX|ENSP2.1:p.Val600Glu|YES"
    )
    r = read_vcf(write(tmp_path / "csq.vcf", text + rec("100", info=info)), VcfInputConfig())
    balanced(r)
    row = r.frame.iloc[0]
    assert (row["gene"], row["consequence"], row["hgvsp"]) == (
        "GENEX",
        "missense_variant",
        "p.Val600Glu",
    )
    assert not r.report.warnings


def _small_set(tmp_path: Path) -> list[Path]:
    files = []
    for k in range(4):
        body = "".join(rec(str(100 + 10 * i), info=f"K={k}") for i in range(5 + k))
        if k == 2:
            body += rec("bad")  # one unparseable record in the third file
        files.append(write(tmp_path / f"s{k}.vcf", HEADER + body))
    return files


def test_worker_processes_give_the_same_result(tmp_path: Path) -> None:
    """Reading with a pool of worker processes gives the rows, rejects and reports of one
    process."""
    files = _small_set(tmp_path)
    one = read_vcfs(files, VcfInputConfig(), workers=1)
    two = read_vcfs(files, VcfInputConfig(), workers=2)
    assert len(one[0]) == 5 + 6 + 7 + 8
    assert one[0].equals(two[0])
    assert one[1].equals(two[1]) and len(one[1]) == 1
    assert [r.as_dict() for r in one[2]] == [r.as_dict() for r in two[2]]
    assert [Path(r.file).name for r in two[2]] == ["s0.vcf", "s1.vcf", "s2.vcf", "s3.vcf"]


def test_fatal_error_in_a_worker_names_the_file(tmp_path: Path) -> None:
    """An IngestError raised in a worker process reaches the caller intact."""
    files = _small_set(tmp_path)
    write(files[1], "not a vcf\n")
    with pytest.raises(IngestError, match=r"s1\.vcf:1: not a VCF") as info:
        read_vcfs(files, VcfInputConfig(), workers=2)
    assert info.value.line == 1
