"""Tiny germline VCFs written from the published GRCh38 positions (CPIC, DPWG, dbSNP)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pysam
import pytest

#: name -> (chromosome, GRCh38 position, REF, ALT), plus strand (dbSNP).
DPYD = {
    "c.1905+1G>A": ("1", 97450058, "C", "T"),  # *2A rs3918290
    "c.1679T>G": ("1", 97515787, "A", "C"),  # *13 rs55886062
    "c.1156G>T": ("1", 97573943, "C", "A"),  # *12 rs78060119
    "c.703C>T": ("1", 97691776, "G", "A"),  # *8 rs1801266
    "c.2846A>T": ("1", 97082391, "T", "A"),  # rs67376798
    "c.1129-5923C>G": ("1", 97579893, "G", "C"),  # HapB3 rs75017182
    "c.557A>G": ("1", 97699474, "T", "C"),  # rs115232898
}
HAPB3_TAG = ("1", 97573863, "C", "T")  # c.1236G>A rs56038477
#: CPIC activity values, written here from the guideline (not read from the package).
DPYD_VALUE = {
    "c.1905+1G>A": 0.0,
    "c.1679T>G": 0.0,
    "c.1156G>T": 0.0,
    "c.703C>T": 0.0,
    "c.2846A>T": 0.5,
    "c.1129-5923C>G": 0.5,
    "c.557A>G": 0.5,
}
UGT28 = ("2", 233760233, "CAT", "CATAT")  # (TA)7, rs3064744
UGT6 = ("2", 233760498, "G", "A")  # rs4148323

Record = tuple[str, int, str, str, str]  # chrom, pos, ref, alt, sample columns ("0/1" or "GT\t..")


def panel(
    genotypes: dict[str, str] | None = None,
    *,
    ugt28: str = "0/0",
    ugt6: str = "0/0",
    tag: str | None = None,
) -> list[Record]:
    """Every defining position, reference (0/0) unless ``genotypes`` says otherwise."""
    genotypes = genotypes or {}
    recs = [(c, p, r, a, genotypes.get(name, "0/0")) for name, (c, p, r, a) in DPYD.items()]
    if tag is not None:
        recs.append((*HAPB3_TAG, tag))
    recs.append((*UGT28, ugt28))
    recs.append((*UGT6, ugt6))
    return recs


@pytest.fixture
def write_vcf(tmp_path: Path) -> Callable[..., Path]:
    """Write records to a VCF: ``write_vcf(records, samples=..., chr_prefix=..., bgzip=...)``."""
    counter = iter(range(10_000))

    def write(
        records: Sequence[Record],
        *,
        samples: Sequence[str] = ("S1",),
        chr_prefix: bool = True,
        bgzip: bool = False,
        index: bool = True,
        header: Sequence[str] = (),
        gt_header: bool = True,
        fmt: str = "GT",
        contig_lengths: tuple[int, int] = (248956422, 242193529),
    ) -> Path:
        pre = "chr" if chr_prefix else ""
        lines = ["##fileformat=VCFv4.2"]
        lines += [
            f"##contig=<ID={pre}1,length={contig_lengths[0]}>",
            f"##contig=<ID={pre}2,length={contig_lengths[1]}>",
        ]
        if gt_header:
            lines.append('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
        lines.append('##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">')
        lines.append('##INFO=<ID=END,Number=1,Type=Integer,Description="End position">')
        lines += list(header)
        cols = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
        if samples:
            cols += ["FORMAT", *samples]
        lines.append("\t".join(cols))
        body = []
        for chrom, pos, ref, alt, gts in sorted(records, key=lambda r: (r[0], r[1])):
            info = "."
            if ";END=" in f";{alt}":
                alt, info = alt.split(";", 1)
            row = [pre + chrom, str(pos), ".", ref, alt, "50", "PASS", info]
            if samples:
                row += [fmt, gts]
            body.append("\t".join(row))
        path = tmp_path / f"g{next(counter)}.vcf"
        path.write_text("\n".join(lines + body) + "\n", encoding="utf-8")
        if bgzip:
            out = pysam.tabix_index(str(path), preset="vcf", force=True) if index else None
            if out is None:
                gz = Path(f"{path}.gz")
                pysam.tabix_compress(str(path), str(gz), force=True)
                path.unlink()
                return gz
            return Path(out)
        return path

    return write
