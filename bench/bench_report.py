"""Benchmark patient reports: HTML for every recommended patient of the default cohort (English
and French), and PDF through headless Chromium for a sample. Target: 1,000 HTML reports in
<= 60 s. Needs `dvc repro` first.

Usage: python bench/bench_report.py [--pdf N]
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "report.json"


def main() -> None:
    from precision_onco.config import endpoint_roles, load_params, outputs
    from precision_onco.features import load_panel
    from precision_onco.report.batch import answers_from_tables, write_patient_reports
    from precision_onco.report.pdf import html_to_pdf

    cfg = load_params(ROOT / "params.yaml")
    where = outputs(cfg, root=ROOT)
    if not where.recommender.is_file():
        sys.exit("no recommendations: run `dvc repro` first")
    n_pdf = int(sys.argv[sys.argv.index("--pdf") + 1]) if "--pdf" in sys.argv else 20
    rec = json.loads(where.recommender.read_text())
    tables = {
        t: pd.read_parquet(getattr(where, t)) for t in ("features", "patients", "lines", "variants")
    }
    genes = load_panel(cfg.features, ROOT)["symbol"].tolist()
    roles = endpoint_roles(cfg.endpoints)
    t0 = time.perf_counter()
    answers = answers_from_tables(
        pd.read_parquet(where.recommendations),
        pd.read_parquet(where.recommendations_excluded),
        rec.get("provenance", {}),
    )
    prep = time.perf_counter() - t0
    tmp = Path(tempfile.mkdtemp(prefix="bench_report_"))
    results: dict[str, Any] = {"patients": len(answers), "prepare_s": prep}
    for lang in ("en", "fr"):
        t = time.perf_counter()
        files = write_patient_reports(
            answers,
            catalog=cfg.catalog,
            genes=genes,
            langs=[lang],
            out_dir=tmp / lang,
            **tables,
            efficacy=roles.efficacy,
            any_severe_ae=roles.any_severe_ae,
        )
        secs = time.perf_counter() - t + prep
        per_1000 = secs / len(files) * 1000
        results[lang] = {
            "reports": len(files),
            "seconds": secs,
            "per_1000_s": per_1000,
            "mean_kb": sum(f.stat().st_size for f in files) / len(files) / 1024,
        }
        print(
            f"HTML ({lang}): {len(files)} patient reports in {secs:.1f} s "
            f"-> {per_1000:.1f} s per 1,000 (target <= 60 s: x{60 / per_1000:.1f} headroom); "
            f"mean {results[lang]['mean_kb']:.0f} KiB"
        )
    if shutil.which(cfg.report.chromium) or shutil.which("chromium"):
        sample = sorted((tmp / "en").glob("*.html"))[:n_pdf]
        t = time.perf_counter()
        for f in sample:
            html_to_pdf(f, f.with_suffix(".pdf"), chromium=cfg.report.chromium)
        secs = time.perf_counter() - t
        results["pdf"] = {
            "reports": len(sample),
            "seconds": secs,
            "per_report_s": secs / max(len(sample), 1),
        }
        print(
            f"PDF: {len(sample)} reports in {secs:.1f} s ({secs / max(len(sample), 1):.2f} s "
            "each, one headless Chromium per report)"
        )
    else:
        print("PDF: skipped (Chromium not installed: `make browser`)")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
