"""Benchmark the synthetic-cohort simulator.

Prints wall time for the default 5,000-patient cohort (target: 60 s or less on a
2-core machine) and, with ``--large``, wall time and peak resident memory of a
100,000-patient cohort written in streaming chunks (target: under 4 GiB).
Baseline in the same run: the calibration step alone, so the share spent writing
files is visible.

Usage: python bench/bench_synthesize.py [--large] [--patients N]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _child(n: int, out: Path) -> None:
    from precision_onco.catalog import Catalog
    from precision_onco.config import compose
    from precision_onco.synth import calibrate, synthesize

    _, cfg = compose([f"synth.n_patients={n}"], conf_dir=ROOT / "conf")
    t0 = time.perf_counter()
    calibrate(cfg.synth, Catalog(cfg.catalog))
    t_cal = time.perf_counter() - t0
    t0 = time.perf_counter()
    summary = synthesize(cfg, out)
    t_all = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "patients": n,
                "seconds": round(t_all, 2),
                "calibration_seconds": round(t_cal, 2),
                "lines": summary.n_lines,
                "variant_records": summary.n_variant_records,
                "peak_rss_mib": round(peak_kib / 1024, 1),
            }
        )
    )


def _measure(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(n), tmp],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--large", action="store_true", help="also run 100,000 patients")
    ap.add_argument("--patients", type=int, default=5000)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(int(args.child[0]), Path(args.child[1]))
        return
    r = _measure(args.patients)
    print(
        f"synthesize {r['patients']:,} patients: {r['seconds']:.1f} s "
        f"(calibration alone {r['calibration_seconds']:.1f} s; target <= 60 s), "
        f"{r['lines']:,} lines, {r['variant_records']:,} variant records, "
        f"peak RSS {r['peak_rss_mib']:.0f} MiB, {r['patients'] / r['seconds']:.0f} patients/s"
    )
    if args.large:
        big = _measure(100_000)
        print(
            f"synthesize {big['patients']:,} patients: {big['seconds']:.1f} s, peak RSS "
            f"{big['peak_rss_mib']:.0f} MiB (target < 4096 MiB), ratio of time per patient "
            f"to the {r['patients']:,} run: "
            f"{(big['seconds'] / big['patients']) / (r['seconds'] / r['patients']):.2f}"
        )


if __name__ == "__main__":
    main()
