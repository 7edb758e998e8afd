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
    patients, drivers = baseline.patients, baseline.drivers
    n = len(patients)
    hot = _hotspot_rows(drivers, panel)
    other = drivers[~drivers["event"].str.startswith("p.")]
    gene_level = gene_events(
        rng,
        other["pidx"].to_numpy(),
        other["gene"].to_numpy(),
        other["event"].to_numpy(),
        panel=panel,
    )
    driver_calls = pd.concat([hot, gene_level], ignore_index=True)
    driver_calls["driver"] = True
    lam = patients["tmb_rate"].to_numpy() * panel_size_mb / NONSYN_SHARE
    pas = passengers(rng, rng.poisson(lam), panel=panel, exclude_genes=exclude_from_passengers)
    pas["driver"] = False
    calls = pd.concat([driver_calls, pas], ignore_index=True)
    calls = calls.drop_duplicates(["pidx", "chrom", "pos"], keep="first").reset_index(drop=True)
    m = len(calls)
    purity = rng.beta(6, 4, n)[calls["pidx"].to_numpy()]
    clonal = calls["driver"].to_numpy() | (rng.random(m) < 0.6)
    frac = np.where(clonal, rng.normal(1.0, 0.08, m), rng.uniform(0.1, 0.6, m))
    vaf = np.clip(purity / 2 * frac, 0.02, 0.95)
    calls["filter"] = "PASS"
    # artefacts: low-VAF calls that a somatic caller flags
    n_art = rng.binomial(np.full(n, 3), 0.8)
    art = passengers(rng, n_art, panel=panel, exclude_genes=exclude_from_passengers)
    art["driver"] = False
    art["filter"] = rng.choice(ARTEFACT_FILTERS, size=len(art), p=[0.5, 0.2, 0.15, 0.15])
    art_vaf = np.where(
        art["filter"] == "germline",
        rng.normal(0.5, 0.04, len(art)),
        rng.uniform(0.01, 0.05, len(art)),
    )
    calls = pd.concat([calls, art], ignore_index=True)
    vaf = np.concatenate([vaf, np.clip(art_vaf, 0.005, 0.99)])
    calls = calls.drop_duplicates(["pidx", "chrom", "pos"], keep="first")
    vaf = vaf[calls.index.to_numpy()]
    calls = calls.reset_index(drop=True)
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
    # a few multi-allelic sites: a second ALT at an artefact site
    pick = calls.index[(calls["filter"] != "PASS") & (calls["variant_class"] == "SNV")]
    pick = pick[rng.random(len(pick)) < 0.05]
    if len(pick):
        second = calls.loc[pick].copy()
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
        calls.loc[pick, "filter"] = "multiallelic"
        second["filter"] = "multiallelic"
        calls = pd.concat([calls, second], ignore_index=True)
    calls = calls.sort_values(["pidx", "chrom", "pos", "multi"], kind="stable").reset_index(
        drop=True
    )
    is_nonsyn = calls["consequence"].isin(NONSYNONYMOUS) & (calls["filter"] == "PASS")
    tmb = np.bincount(calls.loc[is_nonsyn, "pidx"], minlength=n) / panel_size_mb
    return calls, tmb
