"""The simulated sequencing panel: gene spans, recurrent hotspots and passenger mutations.

Gene spans (GRCh38, approximate where noted in the table) and hotspot
coordinates live in ``synth/data/*.tsv``; they drive a simulator, not a
clinical annotation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from precision_onco.catalog.biomarkers import AMINO_ACIDS
from precision_onco.errors import ConfigError

__all__ = ["CONTIG_LENGTHS", "NONSYNONYMOUS", "Panel", "load_panel", "passengers"]

#: GRCh38 primary-assembly chromosome lengths.
CONTIG_LENGTHS: dict[str, int] = {
    "chr1": 248956422,
    "chr2": 242193529,
    "chr3": 198295559,
    "chr4": 190214555,
    "chr5": 181538259,
    "chr6": 170805979,
    "chr7": 159345973,
    "chr8": 145138636,
    "chr9": 138394717,
    "chr10": 133797422,
    "chr11": 135086622,
    "chr12": 133275309,
    "chr13": 114364328,
    "chr14": 107043718,
    "chr15": 101991189,
    "chr16": 90338345,
    "chr17": 83257441,
    "chr18": 80373285,
    "chr19": 58617616,
    "chr20": 64444167,
    "chr21": 46709983,
    "chr22": 50818468,
    "chrX": 156040895,
    "chrY": 57227415,
}

#: Sequence Ontology consequences counted as non-synonymous for TMB.
NONSYNONYMOUS = frozenset(
    {
        "missense_variant",
        "stop_gained",
        "frameshift_variant",
        "inframe_deletion",
        "inframe_insertion",
        "protein_altering_variant",
        "start_lost",
        "stop_lost",
        "splice_acceptor_variant",
        "splice_donor_variant",
    }
)

_AA3 = [a for a in AMINO_ACIDS if a not in ("Ter", "Sec", "Xaa")]
_BASES = np.array(list("ACGT"))
# passenger consequence mix: (consequence, variant_class, share)
_PASSENGER_MIX = (
    ("missense_variant", "SNV", 0.66),
    ("synonymous_variant", "SNV", 0.20),
    ("stop_gained", "SNV", 0.05),
    ("frameshift_variant", "deletion", 0.025),
    ("frameshift_variant", "insertion", 0.015),
    ("splice_donor_variant", "SNV", 0.01),
    ("intron_variant", "SNV", 0.04),
)


@dataclass(frozen=True)
class Panel:
    """Genes and hotspots of the simulated assay."""

    genes: pd.DataFrame
    hotspots: pd.DataFrame

    def hotspot(self, gene: str, hgvsp_short: str) -> pd.Series:
        hit = self.hotspots[
            (self.hotspots["gene"] == gene) & (self.hotspots["hgvsp_short"] == hgvsp_short)
        ]
        if hit.empty:
            raise ConfigError(f"no hotspot {gene} {hgvsp_short} in synth/data/hotspots.tsv")
        return hit.iloc[0]


@lru_cache(maxsize=1)
def load_panel() -> Panel:
    """Read the packaged gene and hotspot tables."""
    base = resources.files("precision_onco.synth") / "data"
    with (base / "genes.tsv").open("r", encoding="utf-8") as fh:
        genes = pd.read_csv(fh, sep="\t", comment="#")
    with (base / "hotspots.tsv").open("r", encoding="utf-8") as fh:
        hotspots = pd.read_csv(fh, sep="\t", comment="#", dtype={"pos": "int64"})
    return Panel(genes=genes.reset_index(drop=True), hotspots=hotspots.reset_index(drop=True))


def _protein_change(
    consequence: np.ndarray,
    ref_aa: np.ndarray,
    alt_aa: np.ndarray,
    codon: np.ndarray,
    fs_len: np.ndarray,
) -> np.ndarray:
    out = np.empty(len(consequence), dtype=object)
    for i, (c, r, a, p, n) in enumerate(
        zip(consequence, ref_aa, alt_aa, codon, fs_len, strict=True)
    ):
        if c == "missense_variant":
            out[i] = f"p.{r}{p}{a}"
        elif c == "synonymous_variant":
            out[i] = f"p.{r}{p}="
        elif c == "stop_gained":
            out[i] = f"p.{r}{p}Ter"
        elif c == "frameshift_variant":
            out[i] = f"p.{r}{p}{a}fsTer{n}"
        else:
            out[i] = ""
    return out


def _draw(
    rng: np.random.Generator,
    pidx: np.ndarray,
    gene_rows: np.ndarray,
    kinds: np.ndarray,
    genes: pd.DataFrame,
) -> pd.DataFrame:
    """Variants in given genes (rows of ``genes``) with given ``_PASSENGER_MIX`` kinds."""
    n = len(pidx)
    start = genes["start"].to_numpy()[gene_rows]
    end = genes["end"].to_numpy()[gene_rows]
    pos = start + (rng.random(n) * (end - start)).astype(np.int64)
    consequence = np.array([_PASSENGER_MIX[k][0] for k in kinds], dtype=object)
    vclass = np.array([_PASSENGER_MIX[k][1] for k in kinds], dtype=object)
    ref_i = rng.integers(0, 4, n)
    ref = _BASES[ref_i].astype(object)
    alt = _BASES[(ref_i + rng.integers(1, 4, n)) % 4].astype(object)
    dels = vclass == "deletion"
    ins = vclass == "insertion"
    ref[dels] = ref[dels] + alt[dels]
    alt[dels] = np.array([r[0] for r in ref[dels]], dtype=object)
    alt[ins] = ref[ins] + _BASES[rng.integers(0, 4, int(ins.sum()))]
    plen = genes["protein_length"].to_numpy()[gene_rows]
    codon = 1 + (rng.random(n) * (plen - 1)).astype(np.int64)
    aa_i = rng.integers(0, len(_AA3), n)
    aa = np.array(_AA3, dtype=object)
    ref_aa = aa[aa_i]
    alt_aa = aa[(aa_i + rng.integers(1, len(_AA3), n)) % len(_AA3)]
    fs_len = rng.integers(2, 40, n)
    hgvsp = _protein_change(consequence, ref_aa, alt_aa, codon, fs_len)
    cpos = 3 * (codon - 1) + rng.integers(1, 4, n)
    hgvsc = np.array(
        [
            ""
            if c == "intron_variant"
            else f"c.{p}del"
            if d
            else f"c.{p}_{p + 1}ins{a[-1]}"
            if i
            else f"c.{p}{r[0]}>{a[0]}"
            for c, p, d, i, r, a in zip(consequence, cpos, dels, ins, ref, alt, strict=True)
        ],
        dtype=object,
    )
    return pd.DataFrame(
        {
            "pidx": pidx,
            "gene": genes["symbol"].to_numpy()[gene_rows],
            "chrom": genes["chrom"].to_numpy()[gene_rows],
            "pos": pos,
            "ref": ref,
            "alt": alt,
            "consequence": consequence,
            "variant_class": vclass,
            "hgvsp": hgvsp,
            "hgvsc": hgvsc,
        }
    )


#: Share of the passenger mix that counts as non-synonymous.
NONSYN_SHARE = sum(m[2] for m in _PASSENGER_MIX if m[0] in NONSYNONYMOUS)


def passengers(
    rng: np.random.Generator,
    counts: np.ndarray,
    *,
    panel: Panel,
    exclude_genes: frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """Draw passenger mutations, ``counts[i]`` of them for patient ``i``.

    Genes are drawn in proportion to their protein length; positions fall
    inside the gene span; the consequence mix is that of ``_PASSENGER_MIX``.
    """
    genes = panel.genes[~panel.genes["symbol"].isin(exclude_genes)].reset_index(drop=True)
    n = int(counts.sum())
    pidx = np.repeat(np.arange(len(counts)), counts)
    weights = genes["protein_length"].to_numpy(float)
    rows = rng.choice(len(genes), size=n, p=weights / weights.sum())
    kinds = rng.choice(len(_PASSENGER_MIX), size=n, p=[m[2] for m in _PASSENGER_MIX])
    return _draw(rng, pidx, rows, kinds, genes)


def gene_events(
    rng: np.random.Generator,
    pidx: np.ndarray,
    genes: np.ndarray,
    events: np.ndarray,
    *,
    panel: Panel,
) -> pd.DataFrame:
    """Non-hotspot driver events: ``lof`` (stop-gain or frameshift) or ``missense``."""
    table = panel.genes
    row_of = {g: i for i, g in enumerate(table["symbol"])}
    missing = sorted(set(genes) - set(row_of))
    if missing:
        raise ConfigError(f"driver genes {missing} are not in synth/data/genes.tsv")
    rows = np.array([row_of[g] for g in genes], dtype=np.int64)
    lof_kind = rng.choice([2, 3, 4], size=len(pidx), p=[0.6, 0.25, 0.15])
    kinds = np.where(np.asarray(events) == "lof", lof_kind, 0)
    return _draw(rng, np.asarray(pidx), rows, kinds, table)
