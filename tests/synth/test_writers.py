"""vcf_texts: one text per sample in pidx order (header-only ones last), one record per
site with every ALT of a multi-allelic site, the genotypes a filter or a germline record
gives."""

from __future__ import annotations

import pandas as pd

from precision_onco.synth.writers import vcf_texts


def _call(pidx: int, chrom: str, pos: int, alt: str, **kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "pidx": pidx,
        "chrom": chrom,
        "pos": pos,
        "ref": "G",
        "alt": alt,
        "filter": "PASS",
        "t_depth": 100,
        "n_depth": 50,
        "t_alt_count": 20,
        "n_alt_count": 0,
        "multi": False,
        "gene": "KRAS",
        "consequence": "missense_variant",
        "variant_class": "SNV",
        "hgvsc": "c.35G>A",
        "hgvsp": "p.Gly12Asp",
        "gt": None,
    }
    return row | kw


def test_texts_records_and_genotypes() -> None:
    calls = pd.DataFrame(
        [
            _call(1, "chr12", 500, "C", multi=True, filter="multiallelic", t_alt_count=2),
            _call(1, "chr12", 500, "A", filter="multiallelic"),
            _call(1, "chr1", 900, "T", filter="germline", n_alt_count=25),
            _call(0, "chr1", 97, "A", gt="0/1", t_alt_count=48, n_alt_count=26),
        ]
    )
    samples = pd.DataFrame(
        {
            "tumor_sample_id": ["P0-T1", "P1-T1", "P2-T1"],
            "normal_sample_id": ["P0-N1", "P1-N1", "P2-N1"],
            "file_date": ["20240101", "20240102", "20240103"],
        },
        index=[2, 0, 1],
    )
    texts = list(vcf_texts(calls, samples))
    assert [p for p, _ in texts] == [0, 1, 2]
    body = {p: [x for x in t.splitlines() if not x.startswith("#")] for p, t in texts}
    heads = {p: [x for x in t.splitlines() if x.startswith("##tumor_sample=")] for p, t in texts}
    assert heads == {
        0: ["##tumor_sample=P1-T1"],
        1: ["##tumor_sample=P2-T1"],
        2: ["##tumor_sample=P0-T1"],
    }
    assert body[2] == []
    assert [r.split("\t")[9:] for r in body[0]] == [["0/1:24,26:50:0.5200", "0/1:52,48:100:0.4800"]]
    chrom1, chrom12 = (r.split("\t") for r in body[1])  # chr1 before chr12
    assert chrom1[:2] == ["chr1", "900"] and chrom1[6] == "germline"
    assert chrom1[9:] == ["0/1:25,25:50:0.5000", "0/1:80,20:100:0.2000"]
    assert chrom12[:2] == ["chr12", "500"] and chrom12[4] == "A,C"
    assert chrom12[9:] == ["0/0/0:50,0,0:50:0.0000,0.0000", "0/1/2:78,20,2:100:0.2000,0.0200"]
    assert chrom12[7].startswith("DP=150;CSQ=") and chrom12[7].count("KRAS-201:c.35G>A") == 2
