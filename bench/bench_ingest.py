"""Benchmark the variant ingest against bare readers of the same files.

Builds (once, under bench/results/ingest_data/) a set of synthetic VCFs and a MAF
of about 1,000,000 records each from the synthesize stage's cohort (records are
replicated, so run `dvc repro synthesize` first), then measures in child processes
(so that peak RSS is per measurement):

- VCF: the ingest (`read_vcfs`: parsing, filters, CSQ annotation, VAF and depth,
  canonical table) against a bare cyvcf2 loop that reads the same fields
  (CHROM, POS, REF, ALT, FILTER, INFO/CSQ, FORMAT AF/AD/DP) and keeps nothing,
  and against a loop that only iterates the records;
- MAF: the ingest (`read_maf`) against a bare pyarrow CSV read of the same file.

Target: the ingest keeps at least half of the bare reader's throughput.

Usage: python bench/bench_ingest.py [--records N] [--files K]
"""

from __future__ import annotations

import argparse
import gzip
import json
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
        with pysam.BGZFile(str(path), "wb") as fh:
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
    t0 = time.perf_counter()
    n = 0
    if kind == "vcf_ingest":
        from precision_onco.config.schema import VcfInputConfig
        from precision_onco.ingest.vcf import read_vcfs

        frame, _, reports = read_vcfs(paths, VcfInputConfig())
        n = sum(r.read for r in reports)
    elif kind == "vcf_bare_fields":
        from cyvcf2 import VCF

        for p in paths:
            for v in VCF(p, lazy=True):
                n += 1
                (v.CHROM, v.POS, v.REF, v.ALT, v.FILTER, v.INFO.get("CSQ"), v.format("AF"),
                 v.format("AD"), v.format("DP"))  # fmt: skip
    elif kind == "vcf_bare_iterate":
        from cyvcf2 import VCF

        for p in paths:
            for _ in VCF(p, lazy=True):
                n += 1
    elif kind == "maf_ingest":
        from precision_onco.config.schema import MafInputConfig
        from precision_onco.ingest.maf import read_maf

        r = read_maf(paths[0], MafInputConfig())
        n = r.report.read
    elif kind == "maf_bare_pyarrow":
        import pyarrow.csv as pv

        with gzip.open(paths[0], "rb") as fh:
            skip = 0
            while fh.readline().startswith(b"#"):
                skip += 1
        t = pv.read_csv(paths[0], read_options=pv.ReadOptions(skip_rows=skip),
                        parse_options=pv.ParseOptions(delimiter="\t", quote_char=False))  # fmt: skip
        n = t.num_rows
    secs = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"kind": kind, "records": n, "seconds": secs, "peak_rss_mib": rss}))


def _run(kind: str, paths: list[Path]) -> dict[str, float]:
    proc = subprocess.run([sys.executable, __file__, "--child", kind, *map(str, paths)],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child[0], args.child[1:])
        return
    vcfs, maf = _build(args.records, args.files)
    res = {k: _run(k, vcfs) for k in ("vcf_bare_iterate", "vcf_bare_fields", "vcf_ingest")}
    res.update({k: _run(k, [maf]) for k in ("maf_bare_pyarrow", "maf_ingest")})
    for k, r in res.items():
        print(f"{k:<18} {r['records']:>10,} records {r['seconds']:>7.1f} s "
              f"{r['records'] / r['seconds']:>10,.0f} records/s  peak RSS {r['peak_rss_mib']:>6.0f} MiB")  # fmt: skip
    rate = {k: r["records"] / r["seconds"] for k, r in res.items()}
    print(f"VCF ingest / bare cyvcf2 loop reading the same fields: {rate['vcf_ingest'] / rate['vcf_bare_fields']:.2f} "
          f"(target >= 0.5); / iteration only: {rate['vcf_ingest'] / rate['vcf_bare_iterate']:.2f}")  # fmt: skip
    print(
        f"MAF ingest / bare pyarrow read: {rate['maf_ingest'] / rate['maf_bare_pyarrow']:.2f} (target >= 0.5)"
    )


if __name__ == "__main__":
    main()
