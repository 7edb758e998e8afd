"""Variant calls of the synthetic tumour samples: drivers, passengers, artefacts, VAF and depth."""

from __future__ import annotations

import numpy as np
import pandas as pd

from precision_onco.errors import ConfigError
from precision_onco.synth.baseline import Baseline
from precision_onco.synth.genome import (
    NONSYN_SHARE,
    NONSYNONYMOUS,
    Panel,
    gene_events,
    passengers,
)

__all__ = ["ARTEFACT_FILTERS", "simulate_calls"]

#: FILTER values given to artefactual calls (as Mutect2 names them).
ARTEFACT_FILTERS = ("weak_evidence", "strand_bias", "clustered_events", "germline")


def _hotspot_rows(drivers: pd.DataFrame, panel: Panel) -> pd.DataFrame:
    hot = drivers[drivers["event"].str.startswith("p.")]
    merged = hot.merge(
        panel.hotspots,
        left_on=["gene", "event"],
        right_on=["gene", "hgvsp_short"],
        how="left",
        validate="many_to_one",
    )
    missing = merged[merged["pos"].isna()]
    if len(missing):
        pairs = sorted({f"{g} {e}" for g, e in zip(missing["gene"], missing["event"], strict=True)})
        raise ConfigError(f"hotspots missing from synth/data/hotspots.tsv: {pairs}")
    return merged[
        [
            "pidx",
            "gene",
            "chrom",
            "pos",
            "ref",
            "alt",
            "consequence",
            "variant_class",
            "hgvsp",
            "hgvsc",
        ]
    ].astype({"pos": "int64"})


#: A site of a sample: one call per site, the first one kept.
_SITE = ["pidx", "chrom", "pos"]


def _driver_calls(rng: np.random.Generator, drivers: pd.DataFrame, *, panel: Panel) -> pd.DataFrame:
    """The calls of the baseline's driver events: hotspots, then gene-level events."""
    hot = _hotspot_rows(drivers, panel)
    other = drivers[~drivers["event"].str.startswith("p.")]
    gene_level = gene_events(
        rng,
        other["pidx"].to_numpy(),
        other["gene"].to_numpy(),
        other["event"].to_numpy(),
        panel=panel,
    )
    calls = pd.concat([hot, gene_level], ignore_index=True)
    calls["driver"] = True
    return calls


def _tumour_vaf(rng: np.random.Generator, calls: pd.DataFrame, *, n_patients: int) -> np.ndarray:
    """Tumour VAF of the somatic calls: half the sample's purity times the clonal fraction
    (drivers and ~60 % of passengers clonal)."""
    m = len(calls)
    purity = rng.beta(6, 4, n_patients)[calls["pidx"].to_numpy()]
    clonal = calls["driver"].to_numpy() | (rng.random(m) < 0.6)
    frac = np.where(clonal, rng.normal(1.0, 0.08, m), rng.uniform(0.1, 0.6, m))
    return np.clip(purity / 2 * frac, 0.02, 0.95)


def _somatic_calls(
    rng: np.random.Generator,
    baseline: Baseline,
    *,
    panel: Panel,
    panel_size_mb: float,
    exclude_genes: frozenset[str],
) -> tuple[pd.DataFrame, np.ndarray]:
    """The PASS drivers and passengers of every tumour (one call a site, drivers first) and
    their tumour VAF; passengers at each patient's TMB rate over the panel."""
    drivers = _driver_calls(rng, baseline.drivers, panel=panel)
    lam = baseline.patients["tmb_rate"].to_numpy() * panel_size_mb / NONSYN_SHARE
    pas = passengers(rng, rng.poisson(lam), panel=panel, exclude_genes=exclude_genes)
    pas["driver"] = False
    calls = pd.concat([drivers, pas], ignore_index=True)
    calls = calls.drop_duplicates(_SITE, keep="first").reset_index(drop=True)
    vaf = _tumour_vaf(rng, calls, n_patients=len(baseline.patients))
    calls["filter"] = "PASS"
    return calls, vaf


def _artefact_calls(
    rng: np.random.Generator, n_patients: int, *, panel: Panel, exclude_genes: frozenset[str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Artefacts a somatic caller flags (up to 3 a sample) and their VAF: low, but about
    one half for the germline ones."""
    n_art = rng.binomial(np.full(n_patients, 3), 0.8)
    art = passengers(rng, n_art, panel=panel, exclude_genes=exclude_genes)
    art["driver"] = False
    art["filter"] = rng.choice(ARTEFACT_FILTERS, size=len(art), p=[0.5, 0.2, 0.15, 0.15])
    art_vaf = np.where(
        art["filter"] == "germline",
        rng.normal(0.5, 0.04, len(art)),
        rng.uniform(0.01, 0.05, len(art)),
    )
    return art, np.clip(art_vaf, 0.005, 0.99)


def _with_artefacts(
    calls: pd.DataFrame, vaf: np.ndarray, *, artefacts: pd.DataFrame, artefact_vaf: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray]:
    """The calls and the artefacts at other sites, with their VAF."""
    calls = pd.concat([calls, artefacts], ignore_index=True)
    vaf = np.concatenate([vaf, artefact_vaf])
    calls = calls.drop_duplicates(_SITE, keep="first")
    return calls.reset_index(drop=True), vaf[calls.index.to_numpy()]


def _sequenced(rng: np.random.Generator, calls: pd.DataFrame, vaf: np.ndarray) -> pd.DataFrame:
    """The calls with tumour and normal depths and alt counts (PASS calls with fewer than 4
    alt reads become ``weak_evidence``) and ``multi`` False."""
    calls = calls.copy()
    m = len(calls)
    depth = np.maximum(60, rng.negative_binomial(8, 8 / (8 + 450), m))
    alt_n = rng.binomial(depth, vaf)
    calls["t_depth"] = depth
    calls["t_alt_count"] = np.maximum(alt_n, 1)
    weak = (calls["filter"] == "PASS") & (calls["t_alt_count"] < 4)
    calls.loc[weak, "filter"] = "weak_evidence"
    n_depth = np.maximum(30, rng.negative_binomial(8, 8 / (8 + 220), m))
    germ = (calls["filter"] == "germline").to_numpy()
    calls["n_depth"] = n_depth
    calls["n_alt_count"] = np.where(germ, rng.binomial(n_depth, 0.5), rng.binomial(n_depth, 0.002))
    calls["multi"] = False
    return calls


def _second_alleles(rng: np.random.Generator, sites: pd.DataFrame) -> pd.DataFrame:
    """A second, low-VAF SNV allele at each of the (SNV) ``sites``: ``multi``, filtered
    ``multiallelic``."""
    second = sites.copy()
    bases = np.array(list("ACGT"))
    second["alt"] = [
        next(b for b in bases if b not in (r, a))
        for r, a in zip(second["ref"], second["alt"], strict=True)
    ]
    second["t_alt_count"] = np.maximum(1, rng.binomial(second["t_depth"].to_numpy(), 0.02))
    second["n_alt_count"] = 0
    second["hgvsp"] = ""
    second["hgvsc"] = ""
    second["consequence"] = "intron_variant"
    second["multi"] = True
    second["filter"] = "multiallelic"
    return second


def _with_multiallelic(rng: np.random.Generator, calls: pd.DataFrame) -> pd.DataFrame:
    """A few multi-allelic sites (~5 % of the SNV artefact sites): those calls filtered
    ``multiallelic``, their second alleles appended."""
    pick = calls.index[(calls["filter"] != "PASS") & (calls["variant_class"] == "SNV")]
    pick = pick[rng.random(len(pick)) < 0.05]
    if not len(pick):
        return calls
    second = _second_alleles(rng, calls.loc[pick])
    calls = calls.copy()
    calls.loc[pick, "filter"] = "multiallelic"
    return pd.concat([calls, second], ignore_index=True)


def _tmb(calls: pd.DataFrame, *, n_patients: int, panel_size_mb: float) -> np.ndarray:
    """Non-synonymous PASS calls per megabase of panel, per patient."""
    is_nonsyn = calls["consequence"].isin(NONSYNONYMOUS) & (calls["filter"] == "PASS")
    return np.bincount(calls.loc[is_nonsyn, "pidx"], minlength=n_patients) / panel_size_mb


def simulate_calls(
    rng: np.random.Generator,
    baseline: Baseline,
    *,
    panel: Panel,
    panel_size_mb: float,
    exclude_from_passengers: frozenset[str],
) -> tuple[pd.DataFrame, np.ndarray]:
    """All calls of every tumour sample, and the PASS non-synonymous TMB per patient.

    Returns
    -------
    calls : DataFrame
        One row per (sample, allele): ``pidx``, genomic and annotation fields,
        ``driver``, ``filter``, tumour ``t_depth``/``t_alt_count`` and normal
        ``n_depth``/``n_alt_count``, and ``multi`` (second allele of a
        multi-allelic site).
    tmb : ndarray
        Non-synonymous PASS calls per megabase of panel.
    """
    n = len(baseline.patients)
    calls, vaf = _somatic_calls(
        rng,
        baseline,
        panel=panel,
        panel_size_mb=panel_size_mb,
        exclude_genes=exclude_from_passengers,
    )
    art, art_vaf = _artefact_calls(rng, n, panel=panel, exclude_genes=exclude_from_passengers)
    calls, vaf = _with_artefacts(calls, vaf, artefacts=art, artefact_vaf=art_vaf)
    calls = _with_multiallelic(rng, _sequenced(rng, calls, vaf))
    calls = calls.sort_values(["pidx", "chrom", "pos", "multi"], kind="stable")
    calls = calls.reset_index(drop=True)
    return calls, _tmb(calls, n_patients=n, panel_size_mb=panel_size_mb)
