"""The driver events of the simulated patients keep the known mutual exclusivities and
never repeat a gene in a patient."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from precision_onco.synth.baseline import simulate_baseline
from precision_onco.synth.genome import load_panel


@pytest.fixture(scope="module")
def baseline(small_config):
    cfg = small_config.synth
    rng = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(13, 0)))
    return simulate_baseline(
        rng,
        2000,
        cancer_mix=dict(cfg.cancer_mix),
        first_id=1,
        id_prefix=cfg.patient_id_prefix,
        diagnosis=(cfg.diagnosis_start, cfg.diagnosis_end),
        panel=load_panel(),
    )


def _genes(baseline, cancer: str) -> pd.Series:
    """The set of driver genes of each patient of ``cancer`` (empty for those without)."""
    p = baseline.patients
    pidx = p.loc[p["cancer_type"] == cancer, "pidx"]
    d = baseline.drivers
    genes = d[d["pidx"].isin(pidx)].groupby("pidx")["gene"].agg(frozenset)
    return genes.reindex(pidx, fill_value=frozenset())


@pytest.mark.parametrize(
    ("cancer", "exclusive"),
    [
        ("NSCLC", {"EGFR", "KRAS", "BRAF"}),
        ("MEL", {"BRAF", "NRAS", "NF1"}),
        ("COADREAD", {"KRAS", "NRAS", "BRAF"}),
        ("BRCA", {"PIK3CA", "AKT1"}),
    ],
)
def test_drivers_are_mutually_exclusive(baseline, cancer: str, exclusive: set[str]) -> None:
    genes = _genes(baseline, cancer)
    assert len(genes) > 100
    assert max(len(g & exclusive) for g in genes) == 1


def test_lung_co_drivers_never_come_with_egfr_or_alk(baseline) -> None:
    p = baseline.patients.set_index("pidx")
    genes = _genes(baseline, "NSCLC")
    alk = p.loc[genes.index, "alk_status"] == "rearranged"
    assert alk.any() and not any(g & {"EGFR", "KRAS", "BRAF"} for g in genes[alk.to_numpy()])
    targetable = alk.to_numpy() | np.array(["EGFR" in g for g in genes])
    assert not any(g & {"STK11", "KEAP1"} for g in genes[targetable])
    assert any(g & {"STK11", "KEAP1"} for g in genes[~targetable])


def test_no_gene_twice_in_a_patient(baseline) -> None:
    d = baseline.drivers
    assert not d.duplicated(["pidx", "gene"]).any()
    assert d["pidx"].is_monotonic_increasing
