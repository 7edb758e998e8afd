"""Benchmark FHIR out: the ``report`` stage's bundles (``report.fhir=true``) for every patient
with a recommendation. Target: writing them adds < 10 s to the stage on the default cohort.

Reads the pipeline outputs under --root (default: this repository; run `dvc repro` first),
renders the HTML reports as the stage does (not timed: the stage renders them anyway), then
times ``write_cohort_bundles`` twice: as the stage runs it (build, validate every bundle and
its MHD submission with fhir.resources, write) and without validation, to show where the
time goes. On a cohort smaller than the default (5,000 patients) the figure is also scaled
linearly to the default cohort's number of patients, and says so.

Usage: python bench/bench_fhir.py [--root DIR] [--limit N] [--repeat R]
(with --limit the figure is scaled linearly to all the recommended patients, and says so)
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "fhir.json"
DEFAULT_PATIENTS = 5000


def main() -> None:
    from precision_onco.config import compose, endpoint_roles, load_params, outputs
    from precision_onco.features import load_panel
    from precision_onco.report.batch import answers_from_tables, write_patient_reports
    from precision_onco.report.fhir_out.produce import write_cohort_bundles

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=ROOT, help="pipeline outputs (params.yaml)")
    ap.add_argument("--limit", type=int, help="only the first N patients")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each setting (best kept)")
    args = ap.parse_args()
    cfg = load_params(args.root / "params.yaml")
    if not cfg.catalog.drugs:  # outputs older than the catalog's drug codes: this checkout's
        cfg.catalog = compose([], conf_dir=ROOT / "conf")[1].catalog
        print("catalog: this checkout's conf/catalog (the outputs' params.yaml has no drug codes)")
    data = outputs(cfg, root=args.root)
    roles = endpoint_roles(cfg.endpoints)
    if not data.recommendations.is_file():
        raise SystemExit(f"no {data.recommendations}: run `dvc repro` first")
    rec = json.loads(data.recommender.read_text())
    tables: dict[str, pd.DataFrame] = {
        t: pd.read_parquet(getattr(data, t)) for t in ("patients", "lines", "variants")
    }
    answers = answers_from_tables(
        pd.read_parquet(data.recommendations),
        pd.read_parquet(data.recommendations_excluded),
        rec.get("provenance", {}),
    )
    total = len(answers)
    if args.limit:
        answers = dict(list(answers.items())[: args.limit])
    tmp = Path(tempfile.mkdtemp(prefix="bench_fhir_"))
    html = write_patient_reports(
        answers,
        features=pd.read_parquet(data.features),
        **tables,
        catalog=cfg.catalog,
        genes=load_panel(cfg.features, ROOT)["symbol"].tolist(),
        langs=["en"],
        out_dir=tmp,
        efficacy=roles.efficacy,
        any_severe_ae=roles.any_severe_ae,
    )
    docs = {f.name.split(".")[0]: [f] for f in html}
    results: dict[str, Any] = {
        "bundles": len(answers),
        "cohort_patients": int(tables["patients"].shape[0]),
    }
    runs = (
        ("stage (report.fhir_validate=first)", "first"),
        ("every bundle through the fhir.resources models (all)", "all"),
        ("build and write only (none)", "none"),
    )
    best: dict[str, float] = {}
    files: list[Path] = []
    for attempt in range(args.repeat):  # interleaved; the best of each is reported
        for name, validate in runs:
            if validate == "all" and attempt:
                continue  # one full validation is the floor's check; it is slow
            out = tmp / f"{validate}{attempt}"
            out.mkdir()
            t0 = time.perf_counter()
            files = write_cohort_bundles(
                answers,
                **tables,
                catalog=cfg.catalog,
                lang="en",
                out_dir=out,
                reports=docs,
                validate=validate,
                efficacy=roles.efficacy,
                any_severe_ae=roles.any_severe_ae,
            )
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - t0)
            if validate == "all":  # write_cohort_bundles raises on the first invalid bundle
                print(
                    f"all {len(answers)} bundles and their submissions validate "
                    "(fhir.resources models)"
                )
            shutil.rmtree(out)
    for name, _ in runs:
        secs = best[name]
        results[name] = {
            "seconds": secs,
            "ms_per_patient": 1000 * secs / len(answers),
            "files": len(files),
        }
        print(
            f"{name}: {len(answers)} patients ({len(files)} files) in {secs:.1f} s = "
            f"{1000 * secs / len(answers):.1f} ms per patient (best of "
            f"{1 if 'all' in name else args.repeat})"
        )
    n = int(tables["patients"].shape[0])
    stage = results[runs[0][0]]["seconds"] * total / len(answers)
    scale = DEFAULT_PATIENTS / n
    where = f"{total} patients with a recommendation in a cohort of {n}"
    if len(answers) < total:
        where += f" (timed on {len(answers)}, scaled linearly)"
    if scale != 1:
        where += f"; scaled to the default {DEFAULT_PATIENTS}-patient cohort"
    results["stage_fhir_s_default_cohort"] = stage * scale
    print(f"{where}: the report stage spends {stage * scale:.1f} s on FHIR (target < 10 s)")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
