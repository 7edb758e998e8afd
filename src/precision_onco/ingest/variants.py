"""Variant files of either format: detect VCF or MAF from the content and read them."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from precision_onco.config.schema import MafInputConfig, VcfInputConfig
from precision_onco.ingest.contracts import IngestError, ReadResult
from precision_onco.ingest.genes import GeneIndex
from precision_onco.ingest.maf import read_maf
from precision_onco.ingest.vcf import read_vcf

__all__ = ["read_variants", "sniff_format"]


def sniff_format(path: Path | str) -> str:
    """``"vcf"`` or ``"maf"`` from the first lines of the file (plain or gzipped)."""
    p = Path(path)
    if not p.is_file():
        raise IngestError(p, "file not found")
    if p.stat().st_size == 0:
        raise IngestError(p, "empty file (expected a VCF or a MAF)")
    with p.open("rb") as fh:
        head = fh.read(1 << 16)
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(p, "rb") as gz:
                head = gz.read(1 << 16)
        except (EOFError, OSError, zlib.error) as exc:
            raise IngestError(p, f"unreadable gzip data ({exc})") from None
    text = head.decode("utf-8", errors="replace")
    if text.startswith("##fileformat=VCF"):
        return "vcf"
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if "Hugo_Symbol" in line.split("\t") and "Tumor_Sample_Barcode" in line.split("\t"):
            return "maf"
        break
    raise IngestError(
        p,
        "neither a VCF (first line '##fileformat=VCFv4.x') nor a MAF (a header "
        "line with Hugo_Symbol and Tumor_Sample_Barcode columns)",
    )


def read_variants(
    path: Path | str,
    *,
    vcf: VcfInputConfig | None = None,
    maf: MafInputConfig | None = None,
    genes: GeneIndex | None = None,
    tumor_sample: str | None = None,
    pass_only: bool | None = None,
) -> ReadResult:
    """Read a VCF or MAF (format detected from the content) into canonical variant rows."""
    if sniff_format(path) == "vcf":
        return read_vcf(
            path,
            vcf or VcfInputConfig(),
            genes=genes,
            tumor_sample=tumor_sample,
            pass_only=pass_only,
        )
    mcfg = maf or MafInputConfig()
    if pass_only is not None:
        mcfg = MafInputConfig(
            vaf_column=mcfg.vaf_column, vaf_scale=mcfg.vaf_scale, pass_only=pass_only
        )
    return read_maf(path, mcfg)
