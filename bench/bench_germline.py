"""Benchmark the germline pass of ingest: a cohort's tumour/normal VCFs called for DPYD
and UGT1A1 from their normal column, one file after the other in this process (what each
ingest worker does with its batch of files).

Two ways, interleaved --repeat times, the best of each reported (CPU and wall ms per
file, and their ratio):

- ``plan``: as ingest calls them: the definitions' plan (defining positions, spans,
  allele matchers) built once and the calls memoized by the records read at the defining
  positions (``precision_onco.pgx.genotype``);
- ``per file``: the baseline, the plan and its memo dropped before every file, so that
  each file pays for both, as every file did before the plan.

Both must give the same readings (checked). The VCFs are those of the synthesize stage
(``data/raw/vcf``), or of ``--vcf-dir``; run ``dvc repro synthesize`` (or
``bench/bench_serve.py``, whose cohort is under bench/results/serve/cohort) first.

Usage: python bench/bench_germline.py [--vcf-dir DIR] [--files N] [--repeat R]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _files(vcf_dir: Path | None, n: int) -> list[Path]:
    dirs = (
        [vcf_dir]
        if vcf_dir
        else [ROOT / "data/raw/vcf", ROOT / "bench/results/serve/cohort/data/raw/vcf"]
    )
    for d in dirs:
        found = sorted(d.glob("*.vcf.gz")) + sorted(d.glob("*.vcf"))
        if found:
            return found[:n]
    sys.exit(f"no VCF under {', '.join(map(str, dirs))}: run `dvc repro synthesize` first")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vcf-dir", type=Path, default=None)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    from precision_onco.pgx import genotype, load_definitions, read_germline
    from precision_onco.pgx.genotype import GermlineReading

    files = _files(args.vcf_dir, args.files)
    defs = load_definitions()

    def plan() -> list[GermlineReading]:
        return [read_germline(f, definitions=defs) for f in files]

    def per_file() -> list[GermlineReading]:
        out = []
        for f in files:
            genotype._PLANS.clear()
            out.append(read_germline(f, definitions=defs))
        return out

    ways = {"plan": plan, "per file": per_file}
    assert plan() == per_file(), "the plan's readings differ from the per-file ones"
    best = {k: (float("inf"), float("inf")) for k in ways}
    for _ in range(args.repeat):
        for name, run in ways.items():
            genotype._PLANS.clear()
            c, t = time.process_time(), time.perf_counter()
            run()
            cpu, wall = time.process_time() - c, time.perf_counter() - t
            best[name] = (min(best[name][0], cpu), min(best[name][1], wall))
    n = len(files)
    print(f"germline pass of {n} VCFs ({files[0].parent}), best of {args.repeat}:")
    for name, (cpu, wall) in best.items():
        print(f"  {name:9s} CPU {cpu / n * 1e3:6.3f} ms/file, wall {wall / n * 1e3:6.3f} ms/file")
    ratio = best["per file"][0] / best["plan"][0]
    print(f"  per file / plan (CPU): {ratio:.2f}")


if __name__ == "__main__":
    main()
