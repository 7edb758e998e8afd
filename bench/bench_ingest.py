"""Benchmark the variant ingest against bare readers of the same files.

Builds (once, under bench/results/ingest_data/) a set of synthetic VCFs and a MAF
of about 1,000,000 records each from the synthesize stage's cohort (records are
replicated, so run `dvc repro synthesize` first), then measures in child processes
(so that peak RSS is per measurement):

- VCF: the ingest (`read_vcfs`: parsing, filters, CSQ annotation, VAF and depth,
  canonical table; with its default of one worker process per core, and in one
  process) against a bare cyvcf2 loop that reads the same fields
  (CHROM, POS, REF, ALT, FILTER, INFO/CSQ, FORMAT AF/AD/DP) and keeps nothing,
  and against a loop that only iterates the records;
- MAF: the ingest (`read_maf`) against a bare pyarrow CSV read of the same file.

Target: the ingest keeps at least half of the bare reader's throughput.

Each measurement runs --repeat times (interleaved); the best run is reported.
Imports happen before the clock starts in every child. Besides wall-clock seconds,
each child reports its CPU seconds (its threads and its worker processes included):
on a shared, loaded machine the CPU ratios are the steadier per-core figures.

Usage: python bench/bench_ingest.py [--records N] [--files K] [--repeat R]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "results" / "ingest_data"


def _build(records: int, files: int) -> tuple[list[Path], Path]:
    import pysam

    raw = ROOT / "data" / "raw"
    vcfs = sorted((raw / "vcf").glob("*.vcf.gz"))
    if not vcfs:
        sys.exit("no synthetic VCFs: run `dvc repro synthesize` first")
    DATA.mkdir(parents=True, exist_ok=True)
    tag = f"{records}_{files}"
    out_vcfs = [DATA / f"set_{tag}_{i:02d}.vcf.gz" for i in range(files)]
    out_maf = DATA / f"cohort_{tag}.maf.gz"
    if all(p.exists() for p in out_vcfs) and out_maf.exists():
        return out_vcfs, out_maf
    header: list[str] = []
    body: list[str] = []
    for p in vcfs:
        with gzip.open(p, "rt") as fh:
            for line in fh:
                if line.startswith("#"):
                    if not header or p == vcfs[0]:
                        header.append(line) if p == vcfs[0] else None
                else:
                    body.append(line)
    # one tumour/normal column pair for the whole set: rename the body's columns implicitly
    per_file = records // files
    k = 0
    for path in out_vcfs:
        with pysam.BGZFile(str(path), "wb", index=None) as fh:
            fh.write("".join(header).encode())
            chunk = []
            for _ in range(per_file):
                chunk.append(body[k % len(body)])
                k += 1
            fh.write("".join(chunk).encode())
    with gzip.open(raw / "cohort.maf.gz", "rt") as fh:
        lines = fh.readlines()
    comments = [x for x in lines if x.startswith("#")]
    head = [x for x in lines if not x.startswith("#")][:1]
    rows = [x for x in lines if not x.startswith("#")][1:]
    with gzip.open(out_maf, "wt", compresslevel=6) as fh:
        fh.writelines(comments + head)
        for i in range(records):
            fh.write(rows[i % len(rows)])
    return out_vcfs, out_maf


def _child(kind: str, paths: list[str]) -> None:
    # imports first: throughput is per record, module loading is a one-off cost
    import pyarrow.csv as pv
    from cyvcf2 import VCF

    from precision_onco.config.schema import MafInputConfig, VcfInputConfig
    from precision_onco.ingest.maf import read_maf
    from precision_onco.ingest.vcf import read_vcfs

    t0 = time.perf_counter()
    c0 = time.process_time()
    n = 0
    if kind in ("vcf_ingest", "vcf_ingest_1proc"):
        # one worker process per core, asked for explicitly: the default (0) keeps a small
        # input such as this one in one process (PARALLEL_MIN_FILES, PARALLEL_MIN_BYTES)
        workers = 1 if kind == "vcf_ingest_1proc" else (os.cpu_count() or 1)
        frame, _, reports = read_vcfs(paths, VcfInputConfig(), workers=workers)
        n = sum(r.read for r in reports)
    elif kind == "vcf_bare_fields":
        for p in paths:
            for v in VCF(p, lazy=True):
                n += 1
                (
                    v.CHROM,
                    v.POS,
                    v.REF,
                    v.ALT,
                    v.FILTER,
                    v.INFO.get("CSQ"),
                    v.format("AF"),
                    v.format("AD"),
                    v.format("DP"),
                )
    elif kind == "vcf_bare_iterate":
        for p in paths:
            for _ in VCF(p, lazy=True):
                n += 1
    elif kind == "maf_ingest":
        r = read_maf(paths[0], MafInputConfig())
        n = r.report.read
    elif kind == "maf_bare_pyarrow":
        with gzip.open(paths[0], "rb") as fh:
            skip = 0
            while fh.readline().startswith(b"#"):
                skip += 1
        t = pv.read_csv(
            paths[0],
            read_options=pv.ReadOptions(skip_rows=skip),
            parse_options=pv.ParseOptions(delimiter="\t", quote_char=False),
        )
        n = t.num_rows
    secs = time.perf_counter() - t0
    kids_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time() - c0 + kids_cpu.ru_utime + kids_cpu.ru_stime
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # worker processes (parallel VCF ingest): the largest one's peak, added as if concurrent
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    rss += kids * (os.cpu_count() or 1) if kids else 0
    out = {"kind": kind, "records": n, "seconds": secs, "cpu_seconds": cpu, "peak_rss_mib": rss}
    print(json.dumps(out))


def _run(kind: str, paths: list[Path]) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=2, help="runs of each measurement; best kept")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child[0], args.child[1:])
        return
    vcfs, maf = _build(args.records, args.files)
    res: dict[str, dict[str, float]] = {}
    cpu: dict[str, float] = {}  # least CPU seconds of each measurement
    # interleaved repeats, best of each: a shared 2-core machine is noisy
    for _ in range(args.repeat):
        for k, paths in (
            ("vcf_bare_iterate", vcfs),
            ("vcf_bare_fields", vcfs),
            ("vcf_ingest_1proc", vcfs),
            ("vcf_ingest", vcfs),
            ("maf_bare_pyarrow", [maf]),
            ("maf_ingest", [maf]),
        ):
            r = _run(k, paths)
            cpu[k] = min(cpu.get(k, r["cpu_seconds"]), r["cpu_seconds"])
            if k not in res or r["seconds"] < res[k]["seconds"]:
                res[k] = r
    for k, r in res.items():
        print(
            f"{k:<18} {r['records']:>10,} records {r['seconds']:>7.1f} s "
            f"{r['records'] / r['seconds']:>10,.0f} records/s  "
            f"peak RSS {r['peak_rss_mib']:>6.0f} MiB  CPU {cpu[k]:>6.1f} s"
        )
    rate = {k: r["records"] / r["seconds"] for k, r in res.items()}
    cores = os.cpu_count() or 1
    print(
        f"VCF ingest ({cores} worker processes) / bare cyvcf2 loop reading the same fields: "
        f"{rate['vcf_ingest'] / rate['vcf_bare_fields']:.2f}; "
        f"/ iteration only: {rate['vcf_ingest'] / rate['vcf_bare_iterate']:.2f}"
    )
    print(
        f"VCF ingest in one process / bare loop reading the same fields (per core): "
        f"{rate['vcf_ingest_1proc'] / rate['vcf_bare_fields']:.2f} (floor >= 0.6)"
    )
    print(
        "MAF ingest / bare pyarrow read: "
        f"{rate['maf_ingest'] / rate['maf_bare_pyarrow']:.2f} (floor >= 0.9)"
    )
    # records per CPU second: the same ratios, steadier when other work shares the cores
    per_cpu = {k: res[k]["records"] / cpu[k] for k in res}
    print(
        "By CPU time: VCF ingest in one process / bare loop: "
        f"{per_cpu['vcf_ingest_1proc'] / per_cpu['vcf_bare_fields']:.2f}; "
        f"worker processes / bare loop: {per_cpu['vcf_ingest'] / per_cpu['vcf_bare_fields']:.2f}; "
        f"MAF ingest / bare pyarrow read: {per_cpu['maf_ingest'] / per_cpu['maf_bare_pyarrow']:.2f}"
    )


if __name__ == "__main__":
    main()
