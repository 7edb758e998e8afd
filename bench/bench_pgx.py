"""Benchmark ``precision-onco pgx`` on an indexed whole-genome-size germline VCF.

Builds (once, under bench/results/pgx_data/) a bgzipped, tabix-indexed VCF of
--records records (default 5,000,000) spread over chr1-22 in proportion to
their GRCh38 lengths, with --samples GT-only columns; the DPYD and UGT1A1
defining positions are among the records, each sample carrying a known
genotype there (so the bench also checks the calls). Then it measures, per
sample:

- the library call (:func:`precision_onco.pgx.pgx_from_vcf`: open, header and
  build checks, region queries, calls, guidance) in this process, best and
  median of --repeat runs;
- the command ``precision-onco pgx --vcf F --sample S --json`` end to end in a
  child process (interpreter start and imports included).

Target: under 1 s per sample. ``--stream`` also times the same file without
its index (read from start to end), for comparison.

Usage: python bench/bench_pgx.py [--records N] [--samples K] [--repeat R] [--stream]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "results" / "pgx_data"

#: GRCh38 chr1-22 lengths (Mb, rounded): records are spread in proportion.
_LENGTHS_MB = [
    249,
    242,
    198,
    190,
    182,
    171,
    159,
    145,
    138,
    134,
    135,
    133,
    114,
    107,
    102,
    90,
    83,
    80,
    59,
    64,
    47,
    51,
]
_CONTIG_BP = {"1": 248956422, "2": 242193529}

#: (chrom, pos, ref, alt) and each sample's GT there, cycling: the expected calls follow.
_DEFINING = [
    ("1", 97450058, "C", "T"),  # c.1905+1G>A
    ("1", 97515787, "A", "C"),  # c.1679T>G
    ("1", 97573943, "C", "A"),  # c.1156G>T
    ("1", 97691776, "G", "A"),  # c.703C>T
    ("1", 97082391, "T", "A"),  # c.2846A>T
    ("1", 97579893, "G", "C"),  # HapB3
    ("1", 97573863, "C", "T"),  # HapB3 tag
    ("1", 97699474, "T", "C"),  # c.557A>G
    ("2", 233760233, "CAT", "CATAT"),  # UGT1A1*28
    ("2", 233760498, "G", "A"),  # UGT1A1*6
]
#: Per sample (cycled): GT at each defining position, and the expected (AS, UGT1A1 diplotype).
_PROFILES = [
    (["0/0"] * 10, (2.0, "*1/*1")),
    (["0/0", "0/0", "0/0", "0/0", "0/1", "0/0", "0/0", "0/0", "0/1", "0/0"], (1.5, "*1/*28")),
    (["0/1", "0/0", "0/0", "0/0", "0/0", "0/1", "0/1", "0/0", "1/1", "0/0"], (0.5, "*28/*28")),
    (["0/0", "0/1", "0/1", "0/0", "0/0", "0/0", "0/0", "0/0", "0/1", "0/1"], (0.0, "*6/*28")),
]


def _build(records: int, samples: int) -> Path:
    import pysam

    DATA.mkdir(parents=True, exist_ok=True)
    out = DATA / f"germline_{records}_{samples}.vcf.gz"
    if out.exists() and Path(f"{out}.tbi").exists():
        return out
    t0 = time.perf_counter()
    rng = np.random.default_rng(17)
    names = [f"S{i + 1}" for i in range(samples)]
    plain = DATA / f"germline_{records}_{samples}.vcf"
    weights = np.array(_LENGTHS_MB, dtype=float) / sum(_LENGTHS_MB)
    per_chrom = rng.multinomial(records - len(_DEFINING), weights)
    defining = {(c, p): (r, a) for c, p, r, a in _DEFINING}
    gts = np.array(["0/0", "0/1", "1/1", "0/1"])
    bases = np.array(list("ACGT"))
    with plain.open("w", encoding="ascii") as fh:
        fh.write("##fileformat=VCFv4.2\n")
        for i, mb in enumerate(_LENGTHS_MB, start=1):
            length = _CONTIG_BP.get(str(i), mb * 1_000_000)
            fh.write(f"##contig=<ID=chr{i},length={length}>\n")
        fh.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        fh.write(
            "\t".join(
                ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *names]
            )
            + "\n"
        )
        for i, n in enumerate(per_chrom, start=1):
            chrom = str(i)
            span = _CONTIG_BP.get(chrom, _LENGTHS_MB[i - 1] * 1_000_000) - 10
            pos = np.unique(rng.integers(1, span, size=int(n) + 1000))[: int(n)]
            extra = np.array([p for (c, p) in defining if c == chrom], dtype=np.int64)
            pos = np.unique(np.concatenate([pos[~np.isin(pos, extra)], extra]))
            ref = bases[rng.integers(0, 4, len(pos))]
            alt = bases[(np.searchsorted(bases, ref) + rng.integers(1, 4, len(pos))) % 4]
            cols = gts[rng.integers(0, 4, (len(pos), samples))]
            lines = []
            for j, p in enumerate(pos.tolist()):
                if (chrom, p) in defining:
                    r, a = defining[(chrom, p)]
                    k = next(k for k, d in enumerate(_DEFINING) if d[:2] == (chrom, p))
                    g = "\t".join(_PROFILES[s % len(_PROFILES)][0][k] for s in range(samples))
                else:
                    r, a, g = ref[j], alt[j], "\t".join(cols[j])
                lines.append(f"chr{chrom}\t{p}\t.\t{r}\t{a}\t50\tPASS\t.\tGT\t{g}\n")
            fh.writelines(lines)
    pysam.tabix_index(str(plain), preset="vcf", force=True)
    print(
        f"built {out.name}: {records:,} records, {samples} samples, "
        f"{out.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t0:.0f} s"
    )
    return out


def _library(path: Path, names: list[str], repeat: int) -> dict[str, dict[str, float]]:
    from precision_onco.pgx import pgx_from_vcf

    out = {}
    for s, name in enumerate(names):
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            res = pgx_from_vcf(path, sample=name, uracil_ng_ml=10)
            times.append(time.perf_counter() - t0)
        score, diplotype = _PROFILES[s % len(_PROFILES)][1]
        got = (res.genes["DPYD"].activity_score, res.genes["UGT1A1"].diplotype)
        if got != (score, diplotype):
            sys.exit(f"wrong call for {name}: {got}, expected {(score, diplotype)}")
        out[name] = {"best_s": min(times), "median_s": statistics.median(times)}
    return out


def _startup() -> float:
    """Wall time of ``precision-onco --version``: interpreter start and the CLI's imports."""
    exe = shutil.which("precision-onco") or sys.exit("precision-onco not on PATH (make install)")
    best = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([exe, "--version"], capture_output=True, check=True)
        best.append(time.perf_counter() - t0)
    return min(best)


def _command(path: Path, name: str) -> float:
    exe = shutil.which("precision-onco") or sys.exit("precision-onco not on PATH (make install)")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [exe, "pgx", "--vcf", str(path), "--sample", name, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    secs = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(proc.stderr)
    json.loads(proc.stdout)
    return secs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=5_000_000)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--stream", action="store_true", help="also time the file without index")
    args = ap.parse_args()
    path = _build(args.records, args.samples)
    names = [f"S{i + 1}" for i in range(args.samples)]
    lib = _library(path, names, args.repeat)
    cmd = {n: _command(path, n) for n in names}
    print(f"\npgx on {path.name} ({args.records:,} records, indexed), per sample:")
    print(f"{'sample':<8} {'library best':>13} {'median':>9} {'command (wall)':>15}")
    for n in names:
        print(
            f"{n:<8} {lib[n]['best_s'] * 1000:>10.1f} ms {lib[n]['median_s'] * 1000:>6.1f} ms "
            f"{cmd[n]:>13.2f} s"
        )
    startup = _startup()
    worst_lib = max(v["median_s"] for v in lib.values())
    worst_cmd = max(cmd.values())
    print(f"precision-onco --version (interpreter start + imports): {startup:.2f} s")
    print(
        f"target under 1 s per sample: library median {worst_lib * 1000:.1f} ms "
        f"({'PASS' if worst_lib < 1 else 'FAIL'}); command {worst_cmd:.2f} s wall, "
        f"{worst_cmd - startup:.2f} s beyond start-up "
        f"({'PASS' if worst_cmd < 1 else 'over 1 s including start-up'})"
    )
    if args.stream:
        from precision_onco.pgx import pgx_from_vcf

        tbi = Path(f"{path}.tbi")
        hidden = tbi.with_suffix(".tbi.off")
        tbi.rename(hidden)
        try:
            t0 = time.perf_counter()
            pgx_from_vcf(path, sample=names[0])
            print(f"without the index (read start to end): {time.perf_counter() - t0:.1f} s")
        finally:
            hidden.rename(tbi)


if __name__ == "__main__":
    main()
