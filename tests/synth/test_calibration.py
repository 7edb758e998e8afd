"""The default synthetic cohort reproduces the published trial rates (DESIGN §5)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from precision_onco.synth import RAW_FILES, synthesize

# DESIGN §5: (ORR, grade >= 3 AE rate) of the pivotal trials. FOLFOX/FOLFIRI: published 0.33-0.45.
PUBLISHED: dict[str, tuple[float | tuple[float, float], float | tuple[float, float]]] = {
    "osimertinib": (0.80, 0.34),
    "pembrolizumab_nsclc": (0.45, 0.27),
    "pembrolizumab_carboplatin_pemetrexed": (0.48, 0.67),
    "carboplatin_pemetrexed": (0.19, 0.66),
    "sotorasib": (0.37, 0.21),
    "docetaxel": (0.13, 0.40),
    "dabrafenib_trametinib": (0.67, 0.40),
    "nivolumab_ipilimumab": (0.58, 0.59),
    "nivolumab": (0.45, 0.21),
    "pembrolizumab_crc": (0.44, 0.22),
    "folfox": ((0.33, 0.45), 0.66),
    "folfiri": ((0.33, 0.45), 0.66),
    "folfiri_cetuximab": (0.66, 0.79),
    "encorafenib_cetuximab": (0.20, 0.50),
    "alpelisib_fulvestrant": (0.27, 0.60),
    "fulvestrant": (0.13, 0.30),
    "olaparib": (0.60, 0.37),
    "capecitabine": (0.29, 0.51),
}
TOLERANCE = 0.06


@pytest.fixture(scope="module")
def default_cohort(default_config, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth_default")
    synthesize(default_config, out)
    return out


def _distance(value: float, target: float | tuple[float, float]) -> float:
    if isinstance(target, tuple):
        lo, hi = target
        return max(lo - value, 0.0, value - hi)
    return abs(value - target)


@pytest.mark.slow
def test_reference_rates_match_published_trials(default_cohort: Path, default_config) -> None:
    truth = pd.read_parquet(default_cohort / RAW_FILES["ground_truth"])
    lines = pd.read_csv(default_cohort / RAW_FILES["lines"])
    # ECOG at each line, keyed like the ground truth
    from precision_onco.ingest.pseudonymize import DEMO_KEY, pseudonymize

    lines["patient_key"] = pseudonymize(lines["patient_id"], DEMO_KEY)
    t = truth.merge(
        lines[["patient_key", "line_number", "ecog"]], on=["patient_key", "line_number"]
    )
    assert len(t) == len(truth)
    first_line = {r.id: r.lines.min for r in default_config.catalog.regimens}
    failures = []
    for regimen_id, (orr, g3) in PUBLISHED.items():
        ref = t[
            (t["regimen_id"] == regimen_id)
            & (t["line_number"] == first_line[regimen_id])
            & (t["ecog"] <= 1)
        ]
        assert len(ref) >= 20, f"{regimen_id}: only {len(ref)} reference rows"
        sim_orr, sim_g3 = ref["p_response"].mean(), ref["p_ae_grade3"].mean()
        if _distance(sim_orr, orr) > TOLERANCE or _distance(sim_g3, g3) > TOLERANCE:
            failures.append(
                f"{regimen_id}: ORR {sim_orr:.3f} vs {orr}, grade>=3 {sim_g3:.3f} vs {g3}"
            )
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_effects_degrade_realistically(default_cohort: Path) -> None:
    truth = pd.read_parquet(default_cohort / RAW_FILES["ground_truth"])
    lines = pd.read_csv(default_cohort / RAW_FILES["lines"])
    from precision_onco.ingest.pseudonymize import DEMO_KEY, pseudonymize

    lines["patient_key"] = pseudonymize(lines["patient_id"], DEMO_KEY)
    t = truth.merge(
        lines[["patient_key", "line_number", "ecog", "albumin"]], on=["patient_key", "line_number"]
    )
    chemo = t[t["regimen_id"] == "capecitabine"]
    assert (
        chemo[chemo["ecog"] >= 2]["p_response"].mean()
        < chemo[chemo["ecog"] <= 1]["p_response"].mean()
    )
    assert (
        chemo[chemo["ecog"] >= 2]["p_ae_grade3"].mean()
        > chemo[chemo["ecog"] <= 1]["p_ae_grade3"].mean()
    )
    by_line = t[t["regimen_id"] == "docetaxel"].groupby("line_number")["p_response"].mean()
    assert by_line.is_monotonic_decreasing
    # clinicians give frail patients gentler regimens: confounding by indication
    obs = lines.merge(
        t[t["observed"]][["patient_key", "line_number", "regimen_id"]],
        on=["patient_key", "line_number", "regimen_id"],
    )
    mel1 = obs[
        (obs["line_number"] == 1) & obs["regimen_id"].isin(["nivolumab", "nivolumab_ipilimumab"])
    ]
    combo_share = mel1.groupby(mel1["ecog"] >= 2)["regimen_id"].apply(
        lambda s: (s == "nivolumab_ipilimumab").mean()
    )
    assert combo_share[True] < combo_share[False]
