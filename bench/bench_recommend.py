"""Benchmark the recommender: batch, one new patient through the CLI path, and the served model.

Needs the default pipeline's outputs (`dvc repro`): the held-out lines, the
registry's `champion` recommender, and the synthetic cohort's raw VCFs.

1. Batch: every held-out (patient, line) of the default cohort ranked, scored
   with intervals and explained (TreeSHAP drivers, first vs second) and
   evidence-linked, in this process; best of two runs. Target >= 200 lines/s.
2. New patient (CLI path): for 40 held-out patients, their clinical JSON and
   VCF -> payload (VCF read, pseudonymized) -> checked -> recommended, after the
   champion is loaded (load time reported separately). Target <= 300 ms.
3. Served model: `mlflow models serve` of the champion on loopback; 200
   sequential POSTs of different patients' payloads. Target p95 <= 250 ms.

Usage: python bench/bench_recommend.py [--skip-serve]
"""

from __future__ import annotations

import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "recommend.json"


def _clinical(patient: pd.Series, lines: pd.DataFrame, n: int) -> dict[str, Any]:
    """A clinical JSON document for one patient of the processed tables, up to line ``n``."""

    def clean(d: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for k, v in d.items():
            if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
                continue
            if isinstance(v, pd.Timestamp):
                if pd.isna(v):
                    continue
                v = v.date().isoformat()
            out[k] = v.item() if hasattr(v, "item") else v
        return out

    keep_p = [
        "sex",
        "cancer_type",
        "oncotree_code",
        "stage",
        "smoking_status",
        "ecog",
        "hr_status",
        "her2_status",
        "germline_brca",
        "alk_status",
        "autoimmune_disease",
        "diabetes",
        "ild_history",
    ]
    p = clean({k: patient[k] for k in keep_p if k in patient.index})
    p["patient_id"] = str(patient["patient_id"])
    rows = []
    for _, r in lines[lines["line_number"] <= n].iterrows():
        d = clean(r.drop(labels=["patient_key", "source_line"], errors="ignore").to_dict())
        rows.append(d)
    return {"patient": p, "lines": rows}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.status, json.loads(resp.read())


def main() -> None:
    import mlflow

    from precision_onco.config import load_params, outputs
    from precision_onco.recommend.inputs import new_patient_payload
    from precision_onco.recommend.patient import parse_payload
    from precision_onco.recommend.table import recommendations

    logging.basicConfig(level=logging.ERROR)
    os.chdir(ROOT)
    cfg = load_params(ROOT / "params.yaml")
    files = outputs(cfg, root=ROOT)
    if not files.recommender.is_file():
        sys.exit("no recommender: run `dvc repro` first")
    results: dict[str, Any] = {}

    # ------------------------------------------------------------------ load
    mlflow.set_tracking_uri(cfg.tracking.uri)
    from precision_onco.models.tracking import registered_name

    uri = f"models:/{registered_name(cfg, 'recommender')}@champion"
    t0 = time.perf_counter()
    recommender = mlflow.pyfunc.load_model(uri).unwrap_python_model().recommender
    results["load_s"] = round(time.perf_counter() - t0, 2)
    print(f"champion recommender loaded in {results['load_s']:.2f} s ({uri})")

    # ------------------------------------------------------------------ batch
    features = pd.read_parquet(files.features)
    held = pd.read_parquet(files.predictions)[["patient_key", "line_number"]]
    rows = features.merge(held, on=["patient_key", "line_number"])
    patients = pd.read_parquet(files.patients)
    lines = pd.read_parquet(files.lines)
    variants = pd.read_parquet(files.variants)
    recommender.set_threads(-1)
    best = float("inf")
    for _ in range(2):
        t = time.perf_counter()
        res = recommendations(
            rows,
            patients,
            lines,
            recommender.models,
            cfg.catalog,
            cfg.recommend,
            explain=recommender.explain,
            separate=recommender.separate,
            civic=recommender.civic,
            variants=variants,
        )
        best = min(best, time.perf_counter() - t)
    rate = len(rows) / best
    results["batch"] = {
        "lines": len(rows),
        "ranked_rows": len(res.ranked),
        "seconds": best,
        "lines_per_s": rate,
        "target": 200,
        "ratio_to_target": rate / 200,
    }
    print(
        f"batch: {len(rows):,} held-out lines ({len(res.ranked):,} regimens scored with "
        f"intervals and explained) in {best:.2f} s -> {rate:.0f} lines/s "
        f"(target >= 200: x{rate / 200:.2f})"
    )

    # ------------------------------------------------------------------ new patients
    recommender.set_threads(1)
    from precision_onco.ingest.pseudonymize import pseudonymize, resolve_key

    raw = pd.read_csv(ROOT / cfg.paths.raw_dir / "patients.csv", dtype=str)
    key = resolve_key(cfg.cohort.pseudonymization, synthetic=cfg.cohort.synthetic)
    raw["patient_key"] = pseudonymize(raw["patient_id"], key)
    raw_id = raw.set_index("patient_key")["patient_id"]
    src = pd.Series(
        {
            pk: f"{cfg.paths.raw_dir}/vcf/{s}.vcf.gz"
            for pk, s in zip(raw["patient_key"], raw["tumor_sample_id"], strict=True)
        }
    )
    pick = held.drop_duplicates("patient_key")
    pick = pick[pick["patient_key"].isin(src.index)].sample(40, random_state=1)
    pat_idx = patients.set_index("patient_key")
    tmp = Path(tempfile.mkdtemp(prefix="bench_recommend_"))
    payloads: list[dict[str, Any]] = []
    cold: float | None = None
    latencies = []
    for pk, n in zip(pick["patient_key"], pick["line_number"], strict=True):
        prow = pat_idx.loc[pk].copy()
        prow["patient_id"] = raw_id[pk]
        doc = _clinical(prow, lines[lines["patient_key"] == pk], int(n))
        clinical = tmp / f"{pk}.json"
        clinical.write_text(json.dumps(doc))
        t = time.perf_counter()
        payload, _ = new_patient_payload(
            cfg, clinical=clinical, line=int(n), variants=ROOT / str(src[pk])
        )
        case = parse_payload(payload, tox_categories=cfg.catalog.toxicity_categories)
        recommender.recommend(case)
        dt = time.perf_counter() - t
        if cold is None:
            cold = dt
        latencies.append(dt)
        payloads.append(payload)
    lat = np.array(latencies) * 1000
    results["cli"] = {
        "patients": len(lat),
        "first_ms": (cold or 0) * 1000,
        "median_ms": float(np.median(lat)),
        "p95_ms": float(np.percentile(lat, 95)),
        "max_ms": float(lat.max()),
        "target_ms": 300,
    }
    print(
        "new patient (VCF + clinical JSON -> ranked, explained): "
        f"first {(cold or 0) * 1000:.0f} ms, "
        f"median {np.median(lat):.0f} ms, p95 {np.percentile(lat, 95):.0f} ms, max "
        f"{lat.max():.0f} ms over {len(lat)} patients (target <= 300 ms: "
        f"x{300 / np.percentile(lat, 95):.2f} headroom at p95)"
    )

    # ------------------------------------------------------------------ served
    if "--skip-serve" not in sys.argv:
        port = _free_port()
        log = (tmp / "serve.log").open("w")
        # the scoring server runs `uvicorn` from PATH: this interpreter's environment first
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        env = {**os.environ, "MLFLOW_TRACKING_URI": cfg.tracking.uri, "PATH": path}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "models",
                "serve",
                "-m",
                uri,
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            t = time.perf_counter()
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                        break
                except OSError:
                    if server.poll() is not None or time.perf_counter() - t > 180:
                        sys.exit(f"server did not start: see {tmp / 'serve.log'}")
                    time.sleep(0.5)
            results["serve_start_s"] = round(time.perf_counter() - t, 1)
            url = f"http://127.0.0.1:{port}/invocations"
            _post(url, {"inputs": [payloads[0]]})  # first request: server warm-up
            times = []
            for i in range(200):
                t = time.perf_counter()
                status, body = _post(url, {"inputs": [payloads[i % len(payloads)]]})
                times.append((time.perf_counter() - t) * 1000)
                assert status == 200 and body["predictions"][0]["status"], body
            p95 = float(np.percentile(times, 95))
            results["serve"] = {
                "requests": len(times),
                "median_ms": statistics.median(times),
                "p95_ms": p95,
                "max_ms": max(times),
                "target_p95_ms": 250,
            }
            print(
                f"served model: {len(times)} sequential requests on loopback: median "
                f"{statistics.median(times):.0f} ms, p95 {p95:.0f} ms, max {max(times):.0f} ms "
                f"(target p95 <= 250 ms: x{250 / p95:.2f} headroom); server started in "
                f"{results['serve_start_s']} s"
            )
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(f"-> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
