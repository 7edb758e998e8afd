"""VCF reader property: a multi-allelic record gives the rows of its alleles read one by one.

The reader has one record-to-row path for single- and multi-ALT records. A record with
ALT ``A1,A2,...`` (FORMAT AF or AD per allele, one CSQ entry per allele) must give, allele
for allele, the rows of the single-ALT records ``A1``, ``A2``, ... each carrying only its
own CSQ entry, and be rejected exactly when one of them is (a VAF outside 0-1).
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precision_onco.config.schema import VcfInputConfig
from precision_onco.ingest.vcf import read_vcf

CSQ = (
    '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl '
    'VEP. Format: Allele|Consequence|IMPACT|SYMBOL|HGVSp|CANONICAL">\n'
)


def _header(fmt: str) -> str:
    return (
        "##fileformat=VCFv4.2\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        f"{fmt}"
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">\n'
        f"{CSQ}##contig=<ID=chr1>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\n"
    )


AF = '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fraction">\n'
AD = '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'

allele = st.tuples(
    st.sampled_from(["T", "G", "CAG", "*"]),  # VEP alleles T, G, AG: unambiguous
    st.sampled_from([0.0, 0.125, 0.5, 1.0, 1.5]),  # AF (1.5 rejects the record)
    st.integers(0, 40),  # AD of the allele
    st.sampled_from(["", "missense_variant&splice_region_variant", "stop_gained"]),
    st.sampled_from(["", "ENSP1.1:p.Val600Glu", "ENSP2.1:p.%3D"]),
)


def _csq(ref: str, alt: str, cons: str, hgvsp: str) -> str:
    vep_allele = alt[1:] if len(alt) != len(ref) and alt[0] == ref[0] else alt
    return f"{vep_allele}|{cons}|MODERATE|GENE{len(alt)}|{hgvsp}|YES"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    alleles=st.lists(allele, min_size=2, max_size=3, unique_by=lambda a: a[0]),
    use_ad=st.booleans(),
    ref_depth=st.integers(0, 30),
    depth=st.integers(0, 99),
)
def test_split_record_equals_single_alt_records(
    tmp_path: Path,
    alleles: list[tuple[str, float, int, str, str]],
    use_ad: bool,
    ref_depth: int,
    depth: int,
) -> None:
    """Rows of ``chr1 100 C A1,A2`` = rows of ``chr1 100 C A1`` + rows of ``... A2``."""
    ref = "C"

    def record(pos: int, alts: list[tuple[str, float, int, str, str]]) -> str:
        info = "CSQ=" + ",".join(_csq(ref, a, c, h) for a, _, _, c, h in alts)
        if use_ad:
            values = ",".join(str(x) for x in [ref_depth, *(a[2] for a in alts)])
        else:
            values = ",".join(f"{a[1]:g}" for a in alts)
        alt = ",".join(a[0] for a in alts)
        sample = f"0/1:{values}:{depth}"
        fmt = "GT:AD:DP" if use_ad else "GT:AF:DP"
        return "\t".join(["chr1", str(pos), ".", ref, alt, ".", "PASS", info, fmt, sample]) + "\n"

    header = _header(AD if use_ad else AF)
    multi = tmp_path / "multi.vcf"
    multi.write_text(header + record(100, alleles), encoding="utf-8")
    single = tmp_path / "single.vcf"
    single.write_text(header + "".join(record(100, [a]) for a in alleles), encoding="utf-8")
    cfg = VcfInputConfig()
    m, s = read_vcf(multi, cfg), read_vcf(single, cfg)
    keep = ["alt", "gene", "consequence", "hgvsp", "depth", "filter"]
    if use_ad:
        # AD: alt / sum(AD) over every allele of the record (else alt / depth), never above 1
        total = ref_depth + sum(a[2] for a in alleles)
        kept = [a for a in alleles if a[0] != "*"]
        expected = [a[2] / total if total else (a[2] / depth if depth else None) for a in kept]
        assert m.report.rejected == 0
        assert m.frame["alt"].tolist() == [a[0] for a in kept]
        got = [None if v != v else v for v in m.frame["vaf"].astype(object).fillna(float("nan"))]
        assert got == expected
        assert m.frame[keep[1:4]].equals(s.frame[keep[1:4]])
        return
    if m.report.rejected:
        assert len(m.frame) == 0
        assert s.report.rejected >= 1
        assert m.rejects["reason"].iloc[0] in set(s.rejects["reason"])
        return
    assert s.report.rejected == 0
    assert m.frame[keep + ["vaf"]].equals(s.frame[keep + ["vaf"]].reset_index(drop=True))
    assert m.frame["source_line"].nunique() <= 1  # every allele row keeps the record's line
