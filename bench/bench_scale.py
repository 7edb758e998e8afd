"""Scale bench: the pipeline's stages on growing synthetic cohorts, with 1 and 2 Dask workers.

For each cohort size and each worker count, a work directory under
bench/results/scale/<patients>_<mode>/ gets a params.yaml (composed from conf/ with the
overrides below) and the stage entry points in pipelines/ run there one after the
other, each in its own process, as `dvc repro` would run them. Measured per stage:

- wall time (s);
- peak resident memory of the stage's own process (the driver) and of its largest
  Dask worker process (sampled every 0.1 s over the process tree with psutil);
- CPU seconds of the stage and of every process it started.

Cost per patient = the stages' summed CPU seconds / patients (and wall seconds /
patients). Modes: `local` (compute=local), `dask1` and `dask2` (a LocalCluster of 1 or
2 worker processes, 1 thread each).

Settings that keep the bench affordable (stated in the output): two endpoints
(response, ae_grade3), 3-fold cross-validation (so train has 8 independent fits), a
calibration cohort of 4,000 patients (a fixed cost), MLflow tracking off. Reports
are HTML (no PDF, no FHIR bundles): one per patient with a recommendation.

With ``--same-inputs`` one work directory per cohort size is used and each stage is run
in every mode, one after the other, before the next stage: the modes then read the very
same inputs (the stages' outputs do not depend on the mode, see docs/scale.md), the
upstream stages are not repeated per mode, and the 1- and 2-worker timings of a stage are
taken minutes apart (the least exposed to a change of the machine's load). Stages named
by ``--once`` run in the last mode only. The load average is recorded before each stage.
Without ``synthesize`` in ``--stages`` an existing work directory is reused (its raw files
kept), so that a cohort is synthesized once for several benches.

Usage: python bench/bench_scale.py [--patients 2000 10000] [--modes local dask1 dask2]
                                   [--stages synthesize ingest ...] [--memory-limit 6GiB]
                                   [--same-inputs [--once synthesize train ...]]
Results: bench/results/scale.json (appended per run) and a table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results"
#: The DVC stages that run the pipeline, in dvc.yaml's order (compose writes params.yaml,
#: which the bench writes itself).
STAGES = [s for s in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"] if s != "compose"]
MODES = {
    "local": [],
    "dask1": ["compute=dask", "compute.n_workers=1"],
    "dask2": ["compute=dask", "compute.n_workers=2"],
}


def _params(workdir: Path, patients: int, mode: str, memory_limit: str, extra: list[str]) -> None:
    from omegaconf import OmegaConf

    from precision_onco.config import compose, endpoint_roles, to_yaml

    overrides = [
        f"synth.n_patients={patients}",
        "synth.calibration_patients=4000",
        "tracking.enabled=false",
        "split.cv_folds=3",
        f"compute.memory_limit={memory_limit}",
        *MODES[mode],
        *extra,
    ]
    cfg, typed = compose(overrides, conf_dir=ROOT / "conf")
    OmegaConf.set_struct(cfg, False)
    keep = endpoint_roles(typed.endpoints).headline  # the efficacy and any-severe-AE models
    cfg.endpoints = {k: v for k, v in cfg.endpoints.items() if k in keep}
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "params.yaml").write_text(to_yaml(cfg))


def _tree_sample(proc: object, peaks: dict[int, tuple[str, int]]) -> None:
    import psutil

    try:
        procs = [proc, *proc.children(recursive=True)]  # type: ignore[attr-defined]
    except psutil.Error:
        return
    for p in procs:
        try:
            rss = p.memory_info().rss
            role = "driver" if p.pid == proc.pid else _role(p)  # type: ignore[attr-defined]
        except psutil.Error:
            continue
        if rss > peaks.get(p.pid, ("", 0))[1]:
            peaks[p.pid] = (role, rss)


def _role(p: object) -> str:
    cmd = " ".join(p.cmdline())  # type: ignore[attr-defined]
    if "spawn_main" in cmd or "multiprocessing" in cmd:
        return "worker"  # Dask nanny/worker or a local pool process
    return "other"


def _stage(workdir: Path, stage: str) -> dict[str, Any]:
    import psutil

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    load = [round(x, 2) for x in os.getloadavg()]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    log = open(workdir / f"{stage}.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "pipelines" / f"{stage}.py")],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    ps = psutil.Process(proc.pid)
    peaks: dict[int, tuple[str, int]] = {}
    while proc.poll() is None:
        _tree_sample(ps, peaks)
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    log.close()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        tail = (workdir / f"{stage}.log").read_text().splitlines()[-15:]
        sys.exit(f"{stage} failed in {workdir}:\n" + "\n".join(tail))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    driver = max((r for role, r in peaks.values() if role == "driver"), default=0)
    worker = max((r for role, r in peaks.values() if role == "worker"), default=0)
    return {
        "load_before": load,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "driver_peak_mib": round(driver / 2**20),
        "worker_peak_mib": round(worker / 2**20),
    }


def _fresh(workdir: Path, stages: list[str]) -> None:
    if workdir.exists() and "synthesize" in stages:
        shutil.rmtree(workdir)


def _print(patients: int, mode: str, st: str, r: dict[str, Any]) -> None:
    print(
        f"  {patients:>8} {mode:<6} {st:<11} {r['wall_s']:>8.1f} s wall "
        f"{r['cpu_s']:>8.1f} s cpu  driver {r['driver_peak_mib']:>6} MiB  "
        f"worker {r['worker_peak_mib']:>6} MiB  load {r['load_before'][0]:.2f}",
        flush=True,
    )


def _totals(res: dict[str, Any], patients: int) -> dict[str, Any]:
    st_ = res["stages"].values()
    res["wall_s"] = round(sum(s["wall_s"] for s in st_), 1)
    res["cpu_s"] = round(sum(s["cpu_s"] for s in st_), 1)
    res["wall_ms_per_patient"] = round(1000 * res["wall_s"] / patients, 3)
    res["cpu_ms_per_patient"] = round(1000 * res["cpu_s"] / patients, 3)
    return res


def run(
    patients: int, mode: str, stages: list[str], memory_limit: str, extra: list[str]
) -> dict[str, Any]:
    workdir = OUT / "scale" / f"{patients}_{mode}"
    _fresh(workdir, stages)
    _params(workdir, patients, mode, memory_limit, extra)
    res: dict[str, Any] = {"patients": patients, "mode": mode, "stages": {}}
    for st in stages:
        r = _stage(workdir, st)
        res["stages"][st] = r
        _print(patients, mode, st, r)
    return _totals(res, patients)


def run_same_inputs(
    patients: int,
    modes: list[str],
    stages: list[str],
    once: list[str],
    memory_limit: str,
    extra: list[str],
) -> list[dict[str, Any]]:
    """Every stage in every mode in one work directory (see the module docstring)."""
    workdir = OUT / "scale" / f"{patients}_same"
    _fresh(workdir, stages)
    res = {m: {"patients": patients, "mode": m, "same_inputs": True, "stages": {}} for m in modes}
    for st in stages:
        for m in modes if st not in once else modes[-1:]:
            _params(workdir, patients, m, memory_limit, extra)
            r = _stage(workdir, st)
            res[m]["stages"][st] = r  # type: ignore[index]
            _print(patients, m, st, r)
    return [_totals(r, patients) for r in res.values()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, nargs="+", default=[2000])
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    ap.add_argument("--stages", nargs="+", default=STAGES, choices=STAGES)
    ap.add_argument("--memory-limit", default="6GiB", help="per Dask worker")
    ap.add_argument("--same-inputs", action="store_true", help="one work directory per size")
    ap.add_argument("--once", nargs="*", default=[], choices=STAGES, help="last mode only")
    ap.add_argument("--set", nargs="*", default=[], help="more config overrides (key=value)")
    args = ap.parse_args()
    print(
        f"machine: {os.cpu_count()} cores (shared with other sessions: timings are noisy); "
        "endpoints response and ae_grade3, cv_folds 3, calibration 4000 patients, "
        "tracking off"
    )
    if args.same_inputs:
        results = [
            r
            for n in args.patients
            for r in run_same_inputs(
                n, args.modes, args.stages, args.once, args.memory_limit, args.set
            )
        ]
    else:
        results = [
            run(n, m, args.stages, args.memory_limit, args.set)
            for n in args.patients
            for m in args.modes
        ]
    OUT.mkdir(parents=True, exist_ok=True)
    store = OUT / "scale.json"
    old = json.loads(store.read_text()) if store.is_file() else []
    store.write_text(json.dumps(old + results, indent=2) + "\n")
    print(
        f"\n{'patients':>9} {'mode':<6} "
        + " ".join(f"{s[:9]:>9}" for s in args.stages)
        + f" {'total s':>8} {'ms/pt':>7} {'cpu ms/pt':>9} {'max wkr MiB':>11}"
    )
    for r in results:
        st = r["stages"]
        print(
            f"{r['patients']:>9} {r['mode']:<6} "
            + " ".join(f"{st[s]['wall_s']:>9.1f}" if s in st else f"{'-':>9}" for s in args.stages)
            + f" {r['wall_s']:>8.1f} {r['wall_ms_per_patient']:>7.2f} "
            f"{r['cpu_ms_per_patient']:>9.2f} "
            f"{max(s['worker_peak_mib'] for s in st.values()):>11}"
        )


if __name__ == "__main__":
    main()
