"""Writers for the synthetic cohort's raw files: bgzipped VEP-annotated VCFs, a GDC MAF, tables.

Every writer is deterministic: no timestamps, fixed ordering, fixed float formats.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterable, Iterator, Sequence
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pysam

from precision_onco.synth.genome import CONTIG_LENGTHS

__all__ = ["CSQ_FIELDS", "MafWriter", "vcf_text", "vcf_texts", "write_vcf"]

CSQ_FIELDS = (
    "Allele",
    "Consequence",
    "IMPACT",
    "SYMBOL",
    "Gene",
    "Feature_type",
    "Feature",
    "BIOTYPE",
    "HGVSc",
    "HGVSp",
    "VARIANT_CLASS",
)
_IMPACT = {
    "missense_variant": "MODERATE",
    "inframe_deletion": "MODERATE",
    "inframe_insertion": "MODERATE",
    "protein_altering_variant": "MODERATE",
    "stop_gained": "HIGH",
    "frameshift_variant": "HIGH",
    "splice_donor_variant": "HIGH",
    "splice_acceptor_variant": "HIGH",
    "start_lost": "HIGH",
    "synonymous_variant": "LOW",
    "intron_variant": "MODIFIER",
}
_VC_VEP = {
    "SNV": "SNV",
    "MNV": "substitution",
    "deletion": "deletion",
    "insertion": "insertion",
    "delins": "indel",
}
_CHROM_ORDER = {c: i for i, c in enumerate(CONTIG_LENGTHS)}
_FILTER_DESC = {
    "weak_evidence": "Mutation does not meet likelihood threshold",
    "strand_bias": "Evidence for alt allele comes from one read direction only",
    "clustered_events": "Clustered events observed in the tumor",
    "germline": "Evidence indicates this site is germline, not somatic",
    "multiallelic": "Site filtered because too many alt alleles pass tumor LOD",
    "germline_pgx": "Germline genotype at a pharmacogenomic defining position (force-called "
    "in the normal sample; not a somatic call)",
}


def _header(tumor: str, normal: str, file_date: str) -> str:
    lines = [
        "##fileformat=VCFv4.2",
        f"##fileDate={file_date}",
        "##source=precision_onco.synth",
        "##reference=GRCh38",
        *(f"##contig=<ID={c},length={n},assembly=GRCh38>" for c, n in CONTIG_LENGTHS.items()),
        '##FILTER=<ID=PASS,Description="All filters passed">',
        *(f'##FILTER=<ID={k},Description="{v}">' for k, v in _FILTER_DESC.items()),
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth across samples">',
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl '
        f'VEP. Format: {"|".join(CSQ_FIELDS)}">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths for the ref and alt '
        'alleles in the order listed">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth">',
        '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fractions of alternate alleles '
        'in the sample">',
        f"##tumor_sample={tumor}",
        f"##normal_sample={normal}",
        "\t".join(
            ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", normal, tumor]
        ),
    ]
    return "\n".join(lines) + "\n"


def _vep_allele(ref: str, alt: str) -> str:
    if len(ref) > len(alt):
        return "-"
    if len(alt) > len(ref):
        return alt[len(ref) :]
    return alt


def _csq_strings(calls: pd.DataFrame) -> list[str]:
    """The VEP ``CSQ`` entry of every call (one transcript per gene)."""
    out = []
    for gene, ref, alt, cons, vclass, hgvsc, hgvsp in zip(
        calls["gene"],
        calls["ref"],
        calls["alt"],
        calls["consequence"],
        calls["variant_class"],
        calls["hgvsc"],
        calls["hgvsp"],
        strict=True,
    ):
        tx = f"{gene}-201"
        fields = (
            _vep_allele(ref, alt),
            cons,
            _IMPACT.get(cons, "MODIFIER"),
            gene,
            "",
            "Transcript",
            tx,
            "protein_coding",
            f"{tx}:{hgvsc}" if hgvsc else "",
            f"{tx}:{hgvsp}".replace("=", "%3D") if hgvsp else "",
            _VC_VEP.get(vclass, "SNV"),
        )
        out.append("|".join(fields))
    return out


def _call_rows(calls: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    """One tuple of plain Python values per call, in order: ``pidx``, chrom, pos, ref, alt,
    filter, tumour and normal depth, tumour and normal alt count, CSQ, and the genotype
    (an explicit one for germline records, the same in normal and tumour; else None)."""
    csq = _csq_strings(calls)
    gts = calls["gt"].tolist() if "gt" in calls.columns else [None] * len(calls)
    return zip(
        calls["pidx"].tolist(),
        calls["chrom"].tolist(),
        calls["pos"].tolist(),
        calls["ref"].tolist(),
        calls["alt"].tolist(),
        calls["filter"].tolist(),
        calls["t_depth"].tolist(),
        calls["n_depth"].tolist(),
        calls["t_alt_count"].tolist(),
        calls["n_alt_count"].tolist(),
        csq,
        gts,
        strict=True,
    )


def _record(site: Sequence[tuple[Any, ...]]) -> str:
    """The VCF record of one site from its calls' rows (:func:`_call_rows`), one per ALT."""
    _, chrom, pos, ref, _, filt, t_depth, n_depth, _, _, _, gt = site[0]
    alts = [r[4] for r in site]
    t_alt = [int(r[8]) for r in site]
    n_alt = [int(r[9]) for r in site]
    t_ref = max(t_depth - sum(t_alt), 0)
    n_ref = max(n_depth - sum(n_alt), 0)
    t_af = ",".join(f"{a / t_depth:.4f}" for a in t_alt)
    n_af = ",".join(f"{a / n_depth:.4f}" for a in n_alt)
    gt_t = "0/1" if len(alts) == 1 else "0/1/2"
    gt_n = "0/0" if len(alts) == 1 else "0/0/0"
    if filt == "germline":
        gt_n = "0/1"
    if isinstance(gt, str):
        gt_n = gt_t = gt
    return (
        f"{chrom}\t{pos}\t.\t{ref}\t{','.join(alts)}\t.\t{filt}\t"
        f"DP={t_depth + n_depth};CSQ={','.join(r[10] for r in site)}\tGT:AD:DP:AF\t"
        f"{gt_n}:{n_ref},{','.join(map(str, n_alt))}:{n_depth}:{n_af}\t"
        f"{gt_t}:{t_ref},{','.join(map(str, t_alt))}:{t_depth}:{t_af}\n"
    )


def _sample_header(samples: pd.DataFrame, pidx: int) -> str:
    """The VCF header of the tumour/normal pair of ``pidx`` in ``samples``."""
    return _header(
        samples["tumor_sample_id"][pidx],
        samples["normal_sample_id"][pidx],
        samples["file_date"][pidx],
    )


def _patient_text(header: str, rows: Iterable[tuple[Any, ...]]) -> str:
    """``header`` and one record per site of a patient's sorted call ``rows``."""
    sites = groupby(rows, key=itemgetter(1, 2))
    return header + "".join(_record(list(site)) for _, site in sites)


def vcf_texts(calls: pd.DataFrame, samples: pd.DataFrame) -> Iterator[tuple[int, str]]:
    """``(pidx, VCF 4.2 text)`` of every tumour/normal pair of ``samples``.

    Samples with calls come in ``pidx`` order, then any without calls (header only).

    ``samples`` is indexed by ``pidx`` with ``tumor_sample_id``, ``normal_sample_id``
    and ``file_date``. One pass over plain Python values: the cohort's calls are
    hundreds of thousands of rows, so no per-site pandas indexing.
    """
    calls = calls.assign(_c=calls["chrom"].map(_CHROM_ORDER)).sort_values(
        ["pidx", "_c", "pos", "multi"], kind="stable"
    )
    for pidx, rows in groupby(_call_rows(calls), key=itemgetter(0)):
        yield pidx, _patient_text(_sample_header(samples, pidx), rows)
    for pidx in samples.index.difference(pd.Index(calls["pidx"].unique())):
        yield int(pidx), _sample_header(samples, pidx)


def vcf_text(calls: pd.DataFrame, *, tumor: str, normal: str, file_date: str) -> str:
    """The VCF 4.2 text of one tumour/normal pair (``calls`` of that patient only)."""
    pidx = int(calls["pidx"].iat[0])
    samples = pd.DataFrame(
        {"tumor_sample_id": [tumor], "normal_sample_id": [normal], "file_date": [file_date]},
        index=[pidx],
    )
    return next(vcf_texts(calls, samples))[1]


def write_vcf(path: Path, text: str) -> None:
    """Write ``text`` BGZF-compressed (readable by htslib, tabix and cyvcf2)."""
    with pysam.BGZFile(str(path), "wb", index=None) as fh:
        fh.write(text.encode("utf-8"))


# ------------------------------------------------------------------------------ MAF
_MAF_COLUMNS = (
    "Hugo_Symbol",
    "Entrez_Gene_Id",
    "Center",
    "NCBI_Build",
    "Chromosome",
    "Start_Position",
    "End_Position",
    "Strand",
    "Variant_Classification",
    "Variant_Type",
    "Reference_Allele",
    "Tumor_Seq_Allele1",
    "Tumor_Seq_Allele2",
    "dbSNP_RS",
    "Tumor_Sample_Barcode",
    "Matched_Norm_Sample_Barcode",
    "HGVSc",
    "HGVSp",
    "HGVSp_Short",
    "Transcript_ID",
    "t_depth",
    "t_ref_count",
    "t_alt_count",
    "n_depth",
    "n_ref_count",
    "n_alt_count",
    "Consequence",
    "IMPACT",
    "FILTER",
)
_MAF_CLASS = {
    "missense_variant": "Missense_Mutation",
    "synonymous_variant": "Silent",
    "stop_gained": "Nonsense_Mutation",
    "splice_donor_variant": "Splice_Site",
    "splice_acceptor_variant": "Splice_Site",
    "intron_variant": "Intron",
    "inframe_deletion": "In_Frame_Del",
    "inframe_insertion": "In_Frame_Ins",
    "protein_altering_variant": "In_Frame_Del",
}


def _maf_rows(calls: pd.DataFrame, samples: pd.DataFrame) -> pd.DataFrame:
    from precision_onco.catalog.biomarkers import to_short_hgvsp

    c = calls.merge(samples, on="pidx", how="left")
    ref, alt = c["ref"].astype(str), c["alt"].astype(str)
    lr, la = ref.str.len(), alt.str.len()
    is_del = (lr > la) & (la == 1)
    is_ins = (la > lr) & (lr == 1)
    start = c["pos"].to_numpy().copy()
    start = np.where(is_del, start + 1, start)
    maf_ref = np.where(is_del, ref.str[1:], np.where(is_ins, "-", ref))
    maf_alt = np.where(is_del, "-", np.where(is_ins, alt.str[1:], alt))
    end = np.where(is_ins, start + 1, start + np.char.str_len(maf_ref.astype(str)) - 1)
    vtype = np.select(
        [is_del, is_ins, (lr == 1) & (la == 1), lr == 2],
        ["DEL", "INS", "SNP", "DNP"],
        "ONP",
    )
    cons = c["consequence"].astype(str)
    vclass = cons.map(_MAF_CLASS).fillna("Missense_Mutation")
    fs = cons == "frameshift_variant"
    vclass = np.where(fs & is_del, "Frame_Shift_Del", np.where(fs, "Frame_Shift_Ins", vclass))
    t_depth = c["t_depth"].astype(int)
    n_depth = c["n_depth"].astype(int)
    return pd.DataFrame(
        {
            "Hugo_Symbol": c["gene"],
            "Entrez_Gene_Id": 0,
            "Center": "precision_onco",
            "NCBI_Build": "GRCh38",
            "Chromosome": c["chrom"],
            "Start_Position": start,
            "End_Position": end,
            "Strand": "+",
            "Variant_Classification": vclass,
            "Variant_Type": vtype,
            "Reference_Allele": maf_ref,
            "Tumor_Seq_Allele1": maf_ref,
            "Tumor_Seq_Allele2": maf_alt,
            "dbSNP_RS": "novel",
            "Tumor_Sample_Barcode": c["tumor_sample_id"],
            "Matched_Norm_Sample_Barcode": c["normal_sample_id"],
            "HGVSc": c["hgvsc"],
            "HGVSp": c["hgvsp"],
            "HGVSp_Short": c["hgvsp"].map(to_short_hgvsp).fillna(""),
            "Transcript_ID": c["gene"] + "-201",
            "t_depth": t_depth,
            "t_ref_count": t_depth - c["t_alt_count"].astype(int),
            "t_alt_count": c["t_alt_count"].astype(int),
            "n_depth": n_depth,
            "n_ref_count": n_depth - c["n_alt_count"].astype(int),
            "n_alt_count": c["n_alt_count"].astype(int),
            "Consequence": cons,
            "IMPACT": cons.map(_IMPACT).fillna("MODIFIER"),
            "FILTER": c["filter"],
        },
        columns=list(_MAF_COLUMNS),
    )


class MafWriter:
    """Streams PASS calls to a gzipped GDC-style MAF, chunk after chunk."""

    def __init__(self, path: Path) -> None:
        self._raw = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0)
        self._text = io.TextIOWrapper(self._gz, encoding="utf-8", newline="\n")
        self._text.write("#version gdc-1.0.0\n#annotation.spec precision_onco.synth\n")
        self._text.write("\t".join(_MAF_COLUMNS) + "\n")
        self.rows = 0

    def write(self, calls: pd.DataFrame, samples: pd.DataFrame) -> None:
        passed = calls[calls["filter"] == "PASS"]
        rows = _maf_rows(passed, samples)
        rows.to_csv(self._text, sep="\t", header=False, index=False, lineterminator="\n")
        self.rows += len(rows)

    def close(self) -> None:
        self._text.close()
        self._raw.close()
