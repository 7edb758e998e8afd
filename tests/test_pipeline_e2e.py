"""End to end: the DVC pipeline in a fresh copy of the repository (real DVC, real Hydra)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PRECISION_ONCO_PSEUDONYM_KEY", None)
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{out}"
    return out


def _ran(output: str) -> set[str]:
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")}


def _make_repo(dest: Path) -> Path:
    """A git repository at ``dest`` holding the project's tracked files, with a small cohort
    configured."""
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
    synth = dest / "conf/synth/default.yaml"
    text = synth.read_text().replace("n_patients: 5000", "n_patients: 150")
    text = text.replace("calibration_patients: 20000", "calibration_patients: 2000")
    synth.write_text(text)
    # two endpoints and fewer resamples keep the repeated full runs short
    eps = dest / "conf/endpoints/default.yaml"
    eps.write_text(
        "\n".join(
            ln
            for ln in eps.read_text().splitlines()
            if not ln.startswith("ae_") or ln.startswith("ae_grade3:")
        )
        + "\n"
    )
    ev = dest / "conf/evaluation/default.yaml"
    ev.write_text(ev.read_text().replace("bootstrap: 200", "bootstrap: 30"))
    pol = dest / "conf/policy/default.yaml"
    pol.write_text(pol.read_text().replace("bootstrap: 500", "bootstrap: 50"))
    for cmd in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"],
    ):
        _run(cmd, dest)
    return dest


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make_repo(tmp_path_factory.mktemp("repo"))


@pytest.fixture(scope="module")
def first_run(repo: Path) -> str:
    """The output of the first `dvc repro` of ``repo``: every stage runs (the later tests
    start from its up-to-date pipeline)."""
    return _run(["dvc", "repro"], repo)


def _exp_run(dest: Path) -> tuple[Path, str, str]:
    """In ``dest`` (an up-to-date pipeline): the lock committed, then a `dvc exp run` with a
    Hydra override; returns ``dest``, that run's output and `dvc exp show`'s."""
    _run(["git", "add", "-A"], dest)
    _run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "lock"], dest)
    out = _run(["dvc", "exp", "run", "-S", "synth.n_patients=120"], dest)
    shown = _run(["dvc", "exp", "show", "--no-pager", "--csv"], dest)
    return dest, out, shown


@pytest.fixture(scope="module", autouse=True)
def exp_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Future[tuple[Path, str, str]] | None]:
    """The experiment of test_dvc_exp_run_with_hydra_override, in a copy of ``repo`` taken
    after the first run and started at once: it runs while the other tests' repros do (a
    stage keeps about one of 2 cores busy). The copy leaves out DVC's temporary folder and
    the MLflow store (which holds the absolute path of ``repo``'s artifacts; every stage that
    logs to it re-runs in the experiment). None when that test is not selected."""
    if not any(
        item.name == "test_dvc_exp_run_with_hydra_override" for item in request.session.items
    ):
        yield None
        return
    repo = request.getfixturevalue("repo")
    request.getfixturevalue("first_run")
    skip = {repo: {"mlruns.db", "mlartifacts"}, repo / ".dvc": {"tmp"}}
    dest = tmp_path_factory.mktemp("exp_repo")
    shutil.copytree(
        repo,
        dest,
        symlinks=True,
        dirs_exist_ok=True,
        ignore=lambda d, names: skip.get(Path(d), set()) & set(names),
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(_exp_run, dest)


def test_repro_then_noop(repo: Path, first_run: str) -> None:
    assert {"compose", "synthesize", "ingest"} <= _ran(first_run)
    assert (repo / "data/raw/ground_truth.parquet").is_file()
    assert len(list((repo / "data/raw/vcf").glob("*.vcf.gz"))) == 150
    for table in ("patients", "lines", "variants", "rejects"):
        assert (repo / f"data/processed/{table}.parquet").is_file()
    summary = json.loads((repo / "reports/ingest_summary.json").read_text())
    assert summary["tables"]["patients"] == 150
    # patients, lines and one VCF per patient; and the germline calls of the VCFs' normal
    # column (issue 17), one entry for all the files, every patient called
    assert len([f for f in summary["files"] if f["kind"] != "germline"]) == 152
    [germ] = [f for f in summary["files"] if f["kind"] == "germline"]
    assert (germ["read"], germ["ingested"], germ["rejected"]) == (150, 150, 0)
    assert all(f["read"] == f["ingested"] + f["rejected"] for f in summary["files"])
    assert {
        "compose",
        "synthesize",
        "ingest",
        "featurize",
        "train",
        "policy",
        "evaluate",
        "recommend",
        "report",
    } == _ran(first_run)
    recs = pd.read_parquet(repo / "reports/recommendations.parquet")
    assert len(recs) > 0 and recs["rank"].min() == 1
    pages = sorted((repo / "reports/patients").glob("*.en.html"))
    assert len(pages) == recs["patient_key"].nunique()
    assert "precision_onco_synthetic_recommender" in pages[0].read_text(encoding="utf-8")
    metrics = json.loads((repo / "reports/metrics.json").read_text())
    assert 0.5 < metrics["response"]["overall"]["auc"] <= 1
    assert "bayes_optimal_auc" in metrics["response"]
    policy = metrics["policy"]
    assert {"recommender_balanced", "practice", "guideline", "random", "oracle"} <= set(
        policy["policies"]
    )
    assert policy["policies"]["oracle"]["normalized_regret"] == 0
    assert {"naive", "propensity_weighted"} <= set(policy["training"])
    assert 'id="policy"' in (repo / "reports/model_card.html").read_text(encoding="utf-8")
    registry = json.loads((repo / "reports/registry.json").read_text())
    assert registry["response"]["promoted"] is True
    assert (repo / "mlruns.db").is_file()
    shown = _run(["dvc", "metrics", "show", "--json"], repo)
    assert "response" in shown
    second = _run(["dvc", "repro"], repo)
    assert _ran(second) == set()
    assert "up to date" in second


def test_config_edit_reruns_exactly_the_readers(repo: Path, first_run: str) -> None:
    paths = repo / "conf/paths/default.yaml"
    paths.write_text(paths.read_text().replace("models_dir: models", "models_dir: models2"))
    out = _run(["dvc", "repro"], repo)
    # a path is interpolated into dvc.yaml when DVC loads it, before `compose` rewrites
    # params.yaml: the stages that write there re-run on the next repro (documented)
    assert _ran(out) == {"compose"}
    out = _run(["dvc", "repro"], repo)
    assert _ran(out) == {"train", "policy", "evaluate", "recommend", "report"}
    synth = repo / "conf/synth/default.yaml"
    synth.write_text(synth.read_text().replace("seed: 20240601", "seed: 11"))
    out = _run(["dvc", "repro"], repo)
    assert _ran(out) == {
        "compose",
        "synthesize",
        "ingest",
        "featurize",
        "train",
        "policy",
        "evaluate",
        "recommend",
        "report",
    }
    assert "seed: 11" in (repo / "params.yaml").read_text()
    cohort = repo / "conf/cohort/synthetic.yaml"
    # the cohort's own cutoff (by default it interpolates the simulator's, synth.data_cutoff)
    text = cohort.read_text()
    assert "data_cutoff: ${synth.data_cutoff}" in text
    cohort.write_text(
        text.replace("data_cutoff: ${synth.data_cutoff}", 'data_cutoff: "2025-07-31"')
    )
    out = _run(["dvc", "repro"], repo)
    assert _ran(out) == {"compose", "ingest"}  # same tables out: the later stages are skipped


def test_dvc_exp_run_with_hydra_override(exp_run: Future[tuple[Path, str, str]]) -> None:
    repo, out, shown = exp_run.result()
    assert "synthesize" in _ran(out)
    assert len(list((repo / "data/raw/vcf").glob("*.vcf.gz"))) == 120
    assert "n_patients: 120" in (repo / "params.yaml").read_text()
    assert "synth.n_patients" in shown


def test_bad_config_fails_with_the_key(repo: Path) -> None:
    synth = repo / "conf/synth/default.yaml"
    original = synth.read_text()
    synth.write_text(original + "n_patientz: 3\n")
    try:
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        proc = subprocess.run(["dvc", "repro"], cwd=repo, env=env, capture_output=True, text=True)
        assert proc.returncode != 0
        assert "config key 'synth.n_patientz': unknown key" in proc.stdout + proc.stderr
        assert "Traceback" not in proc.stdout + proc.stderr
    finally:
        synth.write_text(original)
