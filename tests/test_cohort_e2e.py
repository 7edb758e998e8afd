"""End to end on a real cohort: the Chowell 2022 table through every DVC stage by config alone.

Runs `dvc exp run -S cohort=chowell2022` in a fresh copy of the repository (fast settings),
with the shared data beside it; skips, with the reason, when the shared data is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
COHORT = SHARED / "data" / "cohorts" / "chowell2022_icb_training.csv"
pytestmark = pytest.mark.slow

FAST = [
    "-S",
    "cohort=chowell2022",
    "-S",
    "evaluation.bootstrap=30",
    "-S",
    "policy.bootstrap=40",
    "-S",
    "policy.compare_training=false",
    "-S",
    "report.max_patients=15",
]


def _run(cmd: list[str], cwd: Path) -> str:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PRECISION_ONCO_PSEUDONYM_KEY": "test-key-" + "0" * 24,
    }
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{out}"
    return out


@pytest.fixture(scope="module")
def chowell_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    if not COHORT.is_file():
        pytest.skip(f"the Chowell cohort is not at {COHORT} (see ../shared/data/README.md)")
    base = tmp_path_factory.mktemp("cohort_e2e")
    (base / "shared").symlink_to(SHARED, target_is_directory=True)  # ../shared beside the repo
    dest = base / "repo"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for f in files:
        src = ROOT / f
        if src.is_file() and not f.startswith(("data/", "mlruns", "reports/")):
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / f)
    (dest / "dvc.lock").unlink(missing_ok=True)
    for cmd in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"],
    ):
        _run(cmd, dest)
    out = _run(["dvc", "exp", "run", *FAST], dest)
    return dest, out


def test_every_stage_runs_without_a_traceback(chowell_run: tuple[Path, str]) -> None:
    repo, out = chowell_run
    assert "Traceback" not in out
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    assert {
        "synthesize",
        "ingest",
        "featurize",
        "train",
        "policy",
        "evaluate",
        "recommend",
        "report",
    } <= ran
    # synthesize did not simulate anything for a real cohort, and says so
    manifest = json.loads((repo / "data/raw/synth_manifest.json").read_text())
    assert "not synthetic" in manifest["skipped"]
    assert not list((repo / "data/raw/vcf").glob("*.vcf.gz"))


def test_metrics_are_this_cohorts_and_cross_validated(chowell_run: tuple[Path, str]) -> None:
    repo, _ = chowell_run
    metrics = json.loads((repo / "reports/metrics.json").read_text())
    assert metrics["cohort"] == "chowell2022" and metrics["synthetic"] is False
    assert set(metrics["sample_size"]) == {"response"}
    cv = metrics["cross_validation"]["response"]["overall"]
    assert cv["auc_low"] <= cv["auc"] <= cv["auc_high"]
    assert cv["ece_low"] <= cv["ece"] <= cv["ece_high"]
    assert "ae_grade3" not in metrics  # the cohort records no adverse events


def test_inputs_are_declared_and_outcomes_absent(chowell_run: tuple[Path, str]) -> None:
    repo, out = chowell_run
    manifest = json.loads((repo / "models/manifest.json").read_text())
    inputs = set(manifest["features"])
    assert {"FCNA", "HED", "HLA_LOH", "MSI_SCORE", "tmb", "albumin"} <= inputs
    for col in ("OS_Months", "OS_Event", "PFS_Months", "PFS_Event", "RF16_prob", "BMI"):
        assert col not in inputs
    assert "model inputs (" in out
    card = (repo / "reports/model_card.html").read_text(encoding="utf-8")
    assert "chowell2022" in card and "FCNA" in card


def test_recommendations_only_for_regimens_the_data_supports(chowell_run: tuple[Path, str]) -> None:
    repo, _ = chowell_run
    ranked = pd.read_parquet(repo / "reports/recommendations.parquet")
    excluded = pd.read_parquet(repo / "reports/recommendations_excluded.parquet")
    assert set(ranked["regimen_id"]) <= {"anti_pd1_pdl1", "anti_ctla4", "anti_pd1_ctla4"}
    assert excluded["reason"].str.contains("training patient").any()
    pages = list((repo / "reports/patients").glob("*.html"))
    assert 0 < len(pages) <= 15
    assert "chowell2022" in pages[0].read_text(encoding="utf-8")


def test_registry_keeps_the_cohort_apart_and_holds_a_small_model(
    chowell_run: tuple[Path, str],
) -> None:
    """259 responders for ~45 candidate parameters is under 10 events per parameter: the
    version is registered under the cohort's own name, not promoted, and nothing is served."""
    repo, out = chowell_run
    registry = json.loads((repo / "reports/registry.json").read_text())
    assert registry["response"]["model"] == "precision_onco_chowell2022_response"
    assert registry["response"]["promoted"] is False
    assert "too little data" in registry["response"]["reason"]
    rec = json.loads((repo / "reports/recommender.json").read_text())
    assert "no champion of cohort 'chowell2022'" in rec["not_registered"]
    assert "too little data for response" in out
    card = (repo / "reports/model_card.html").read_text(encoding="utf-8")
    assert card.index('id="warnings"') < card.index('id="cohort"')
