"""Genotypes at the pharmacogenomic defining positions, read from a germline VCF.

The VCF (plain or bgzipped; ``.tbi``/``.csi`` index used when present) is read
through cyvcf2. Contig names may carry ``chr`` or not. The sample is the only
one, the one named, or the ``##normal_sample=`` column of a tumour/normal file.

A defining position is *called* only from a record of the sample at that
position (or a gVCF reference block spanning it). A position absent from the
file is *not tested*, never silently reference, unless the caller declares that
the file covers every position (``covered=True``). A half call (``./1``), a
missing GT, an ALT that is no defined allele, a deletion that spans the
position, or a REF that is not the GRCh38 base make the position
*indeterminate* with the reason; the gene is then scored only as far as the
remaining evidence allows (see :mod:`precision_onco.pgx.call`).
"""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cyvcf2 import VCF

from precision_onco.errors import InputError
from precision_onco.pgx.definitions import Definitions, Gene, Locus

__all__ = ["GermlineReading", "LocusCall", "PgxInputError", "read_germline"]

log = logging.getLogger(__name__)

_CONTIG = re.compile(r"^##contig=<ID=([^,>]+)(?:.*?length=(\d+))?", re.MULTILINE)
_REFERENCE = re.compile(r"^##reference=(.*)$", re.MULTILINE)
_NORMAL = re.compile(r"^##normal_sample=(.*)$", re.MULTILINE)
_GRCH37 = re.compile(r"(?i)(grch37|hg19|b37|hs37|human_g1k_v37)")
_SOMATIC = re.compile(r"(?im)^##(?:INFO|FORMAT)=<.*\b(somatic|tumou?r)\b")
_BLOCK_ALTS = frozenset({"<NON_REF>", "<*>"})


class PgxInputError(InputError):
    """A germline VCF that cannot be called (the message names the file and what to fix)."""


@dataclass(frozen=True)
class LocusCall:
    """The sample's genotype at one defining position.

    Attributes
    ----------
    locus : Locus
        The position (GRCh38) and its reference base.
    status : str
        ``called``, ``assumed_reference`` (absent, declared covered), ``not_tested``
        or ``indeterminate``.
    alleles : tuple of str
        The defined alleles found, one entry per chromosome copy.
    unknown_copies : int
        Chromosome copies whose allele at this position is not known.
    reasons : tuple of str
        Why the position is not (fully) called.
    observed : str
        The record(s) read, e.g. ``chr1:97450058 C>T GT 0/1``.
    """

    locus: Locus
    status: str
    alleles: tuple[str, ...] = ()
    unknown_copies: int = 0
    reasons: tuple[str, ...] = ()
    observed: str = ""

    @property
    def known(self) -> bool:
        return self.status in ("called", "assumed_reference")


@dataclass(frozen=True)
class GermlineReading:
    """What was read from one germline VCF for one sample."""

    file: str
    sample: str
    sample_source: str
    indexed: bool
    gvcf: bool
    covered: bool
    calls: dict[tuple[str, int], LocusCall]
    warnings: tuple[str, ...] = field(default_factory=tuple)


@dataclass
class _Rec:
    """The fields of one VCF record the caller needs (cyvcf2 records are transient)."""

    chrom: str
    pos: int
    end: int
    ref: str
    alts: list[str]
    gt: list[int] | None
    block: bool

    def text(self) -> str:
        gt = (
            "no GT"
            if self.gt is None
            else "GT " + "/".join("." if a < 0 else str(a) for a in self.gt)
        )
        return f"{self.chrom}:{self.pos} {self.ref}>{','.join(self.alts)} {gt}"

    def key(self) -> tuple[object, ...]:
        """Every field, hashable (what :func:`_locus_calls` reads of the record)."""
        gt = None if self.gt is None else tuple(self.gt)
        return (self.chrom, self.pos, self.end, self.ref, tuple(self.alts), gt, self.block)


def _index_of(path: Path) -> bool:
    return any(os.path.isfile(f"{path}{ext}") for ext in (".tbi", ".csi"))


def _pick_sample(vcf: VCF, path: Path, sample: str | None, header: str) -> tuple[int, str, str]:
    samples = list(vcf.samples)
    if not samples:
        raise PgxInputError(
            f"{path}: no sample column (a sites-only VCF): a germline genotype (GT) per "
            "sample is needed"
        )
    if sample is not None:
        if sample not in samples:
            raise PgxInputError(f"{path}: no sample '{sample}'; the file has {', '.join(samples)}")
        return samples.index(sample), sample, "--sample"
    if len(samples) == 1:
        return 0, samples[0], "only sample"
    normal = _NORMAL.search(header)
    if normal and normal.group(1).strip() in samples:
        name = normal.group(1).strip()
        return samples.index(name), name, "##normal_sample header"
    raise PgxInputError(
        f"{path}: {len(samples)} samples ({', '.join(samples)}) and no --sample: name the "
        "germline (normal) column with --sample NAME"
    )


def _check_build(path: Path, header: str, defs: Definitions) -> None:
    lengths = {c.removeprefix("chr"): int(n) for c, n in _CONTIG.findall(header) if n}
    other = {b: v for b, v in defs.contig_lengths.items() if b != defs.build}
    for build, ref_lengths in other.items():
        hit = [c for c, n in ref_lengths.items() if lengths.get(c) == n]
        if hit:
            raise PgxInputError(
                f"{path}: the header's contig lengths are {build} (chr{hit[0]} length "
                f"{lengths[hit[0]]:,}) but the allele definitions are {defs.build} positions: "
                f"lift the VCF over to {defs.build} first"
            )
    ref = _REFERENCE.search(header)
    if ref and _GRCH37.search(ref.group(1)) and defs.build == "GRCh38":
        raise PgxInputError(
            f"{path}: ##reference={ref.group(1).strip()} is GRCh37 but the allele definitions "
            "are GRCh38 positions: lift the VCF over to GRCh38 first"
        )


def _rec(v: Any, index: int) -> _Rec:
    fmt = v.FORMAT
    gt = None
    if "GT" in fmt:
        g = v.genotypes[index]
        gt = [int(a) for a in g[:-1]]
    alts = list(v.ALT)
    has_end = v.INFO.get("END") is not None
    block = has_end or (bool(alts) and all(a in _BLOCK_ALTS for a in alts)) or not alts
    return _Rec(
        chrom=v.CHROM,
        pos=v.POS,
        end=v.end,
        ref=v.REF.upper(),
        alts=[a.upper() for a in alts],
        gt=gt,
        block=block,
    )


def _trim(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Minimal representation: common suffix, then common prefix, removed."""
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while ref and alt and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def _repeat_units(seq: str, unit: str) -> int:
    """``k`` if ``seq`` is ``k`` copies of ``unit`` (or of a rotation of it), else 0."""
    k = len(seq) // len(unit)
    if k == 0 or len(seq) % len(unit):
        return 0
    rotations = {unit[i:] + unit[:i] for i in range(len(unit))}
    return k if any(seq == r * k for r in rotations) else 0


class _LocusMatcher:
    """Maps a record's ALT alleles to the alleles defined at one locus."""

    def __init__(self, gene: Gene, locus: Locus) -> None:
        self.locus = locus
        self.snv: dict[str, str] = {}
        self.repeat: dict[int, str] = {}
        self.unit: str | None = None
        for a in gene.alleles:
            for v in a.variants:
                if v.pos != locus.pos:
                    continue
                if v.repeat:
                    self.unit, self.repeat[v.units] = v.repeat.upper(), a.name
                elif v.alt:
                    self.snv[v.alt] = a.name

    def classify(self, rec: _Rec, i: int) -> str:
        """``ref``, an allele name, or ``?<description>`` for an undefined allele."""
        if i == 0:
            return "ref"
        alt = rec.alts[i - 1]
        if alt.startswith("<") or alt == "*":
            return f"?{alt}"
        pos, ref, alt = _trim(rec.pos, rec.ref, alt)
        lo, hi = self.locus.pos, self.locus.end
        if self.unit:
            if (not ref) != (not alt) and lo <= pos - 1 <= hi:
                k = _repeat_units(ref or alt, self.unit)
                if k:
                    units = k if alt else -k
                    name = self.repeat.get(units)
                    total = 6 + units  # reference (TA)6, named for the message only
                    return name or f"?({self.unit[::-1]}){total} repeat"
            touches = bool(ref) and pos <= hi and pos + len(ref) - 1 >= lo
            touches |= not ref and lo < pos <= hi
            return self._undefined(rec, i) if touches else "ref"
        if pos == lo and ref == self.locus.ref and alt in self.snv:
            return self.snv[alt]
        touches = bool(ref) and pos <= lo <= pos + len(ref) - 1
        return self._undefined(rec, i) if touches else "ref"

    def _undefined(self, rec: _Rec, i: int) -> str:
        where = "" if rec.pos == self.locus.pos else f" (record at {rec.chrom}:{rec.pos})"
        return f"?{rec.ref}>{rec.alts[i - 1]}{where}"

    def primary(self, rec: _Rec) -> bool:
        """Does ``rec`` genotype this position (not merely overlap it)?"""
        if rec.block:
            return rec.pos <= self.locus.pos <= rec.end
        if self.unit:
            return self.locus.pos <= rec.pos <= self.locus.end
        return rec.pos == self.locus.pos


def _indeterminate(locus: Locus, reason: str, *, observed: str) -> LocusCall:
    """A position none of whose copies is known, for one reason."""
    return LocusCall(locus, "indeterminate", unknown_copies=2, observed=observed, reasons=(reason,))


def _ref_mismatch(
    locus: Locus, primary: list[_Rec], *, where: str, build: str, names: str, observed: str
) -> LocusCall | None:
    """The call when a record's REF is not the reference base of ``build``, else None."""
    for r in primary:
        if r.pos == locus.pos and r.ref[:1] != locus.ref[:1]:
            return _indeterminate(
                locus,
                f"REF {r.ref} at {where} but {build} has {locus.ref} there ({names}): the file "
                f"is probably on another build (GRCh37 vs GRCh38?); lift it over to {build}",
                observed=observed,
            )
    return None


def _overlap_unknowns(
    m: _LocusMatcher, overlapping: list[_Rec], *, where: str
) -> tuple[int, list[str]]:
    """Copies made unknown by variants of other records that overlap the position, and why."""
    unknown = 0
    reasons: list[str] = []
    for r in overlapping:
        if r.gt is None:
            continue
        carried = [m.classify(r, a) for a in r.gt if a > 0]
        bad = [c for c in carried if c != "ref"]
        if bad:
            unknown += len(bad)
            reasons.append(
                f"a variant at {r.chrom}:{r.pos} ({r.ref}>{','.join(r.alts)}) "
                f"overlaps {where}: the allele there is not known"
            )
    return unknown, reasons


def _absent_call(
    locus: Locus, *, unknown: int, reasons: list[str], covered: bool, where: str, observed: str
) -> LocusCall:
    """The call at a position no record genotypes."""
    if unknown:
        return LocusCall(
            locus,
            "indeterminate",
            unknown_copies=min(2, unknown),
            reasons=tuple(reasons),
            observed=observed,
        )
    if covered:
        return LocusCall(
            locus, "assumed_reference", reasons=("absent; the file is declared to cover it",)
        )
    return LocusCall(
        locus, "not_tested", unknown_copies=2, reasons=(f"{where} is not in the file",)
    )


def _usable_gt(
    locus: Locus, rec: _Rec, *, single: bool, where: str, observed: str
) -> list[int] | LocusCall:
    """The GT of a genotyping record, or the call when it has none usable."""
    if rec.gt is None:
        return _indeterminate(locus, f"no GT for the sample at {where}", observed=observed)
    if all(a < 0 for a in rec.gt):
        if single:
            return LocusCall(
                locus,
                "not_tested",
                unknown_copies=2,
                observed=observed,
                reasons=(f"no call (./.) at {where}",),
            )
        return rec.gt
    if len(rec.gt) != 2:
        return _indeterminate(
            locus, f"{len(rec.gt)}-ploid genotype at {where} (expected diploid)", observed=observed
        )
    return rec.gt


def _copies(
    m: _LocusMatcher, rec: _Rec, gt: list[int], *, where: str, names: str
) -> tuple[list[str], int, int, list[str]]:
    """Defined non-reference alleles, undefined and uncalled copies, and reasons of one GT."""
    if all(a < 0 for a in gt):
        return [], 0, 2, []
    reasons: list[str] = []
    if any(a < 0 for a in gt):
        reasons.append(
            f"half call ({rec.text().split('GT ')[-1]}) at {where}: one allele not called"
        )
    nonref: list[str] = []
    unknown = 0
    for a in gt:
        if a <= 0:
            continue
        c = m.classify(rec, a)
        if c.startswith("?"):
            unknown += 1
            reasons.append(f"{c[1:]} at {where} is not a defined allele (defined here: {names})")
        elif c != "ref":
            nonref.append(c)
    return nonref, unknown, sum(a < 0 for a in gt), reasons


def _call_locus(
    m: _LocusMatcher, names: str, recs: list[_Rec], chrom: str, build: str, covered: bool
) -> LocusCall:
    """The call at ``m``'s locus (``names``: the alleles defined there) from ``recs``."""
    locus = m.locus
    where = f"{chrom}:{locus.pos}"
    primary = [r for r in recs if m.primary(r)]
    observed = "; ".join(r.text() for r in recs)
    mismatch = _ref_mismatch(
        locus, primary, where=where, build=build, names=names, observed=observed
    )
    if mismatch is not None:
        return mismatch
    overlapping = [r for r in recs if r not in primary]
    unknown, reasons = _overlap_unknowns(m, overlapping, where=where)
    if not primary:
        return _absent_call(
            locus, unknown=unknown, reasons=reasons, covered=covered, where=where, observed=observed
        )
    found: list[str] = []
    missing = 0
    for r in primary:
        gt = _usable_gt(locus, r, single=len(primary) == 1, where=where, observed=observed)
        if isinstance(gt, LocusCall):
            return gt
        alleles, undefined, uncalled, why = _copies(m, r, gt, where=where, names=names)
        found += alleles
        unknown += undefined
        missing = max(missing, uncalled)
        reasons += why
    unknown += missing
    if len(found) + unknown > 2:
        return _indeterminate(locus, f"records at {where} disagree ({observed})", observed=observed)
    status = "indeterminate" if unknown else "called"
    return LocusCall(
        locus,
        status,
        alleles=tuple(found),
        unknown_copies=unknown,
        reasons=tuple(reasons),
        observed=observed,
    )


def _contig_name(gene_chrom: str, seqnames: set[str]) -> str | None:
    for name in (gene_chrom, f"chr{gene_chrom}"):
        if name in seqnames:
            return name
    return None


#: Most distinct record sets a definitions object's memo of calls keeps (then it starts
#: again): a cohort's files share a few patterns, each call a few hundred bytes.
_MEMO_SIZE = 4096


@dataclass
class _Plan:
    """What calling a file needs from the definitions alone, computed once per definitions
    object (not per file): the defining positions, their bounds by chromosome for a file
    read from start to end, each position's allele matcher, and the memo of calls."""

    loci: list[tuple[Gene, Locus]]
    # by chromosome: each locus' (gene, position), first and last base; all of them
    spans: dict[str, list[tuple[tuple[str, int], int, int]]]
    bounds: dict[str, tuple[int, int]]
    # (gene, position) of each locus, in order -> (matcher, the alleles defined there, the
    # chromosome as shown)
    matchers: dict[tuple[str, int], tuple[_LocusMatcher, str, str]]
    memo: dict[tuple[object, ...], dict[tuple[str, int], LocusCall]] = field(default_factory=dict)


#: id(definitions) -> (definitions, plan); the definitions object is kept so that its id
#: is not reused while its plan is here. At most _MAX_PLANS (then it starts again).
_PLANS: dict[int, tuple[Definitions, _Plan]] = {}
_MAX_PLANS = 16


def _plan(definitions: Definitions) -> _Plan:
    """The :class:`_Plan` of ``definitions`` (built on first use)."""
    hit = _PLANS.get(id(definitions))
    if hit is not None and hit[0] is definitions:
        return hit[1]
    loci = [(g, loc) for g in definitions.genes.values() for loc in g.loci()]
    spans: dict[str, list[tuple[tuple[str, int], int, int]]] = {}
    matchers = {}
    for g, loc in loci:
        spans.setdefault(g.chrom, []).append(((g.symbol, loc.pos), loc.pos, loc.end))
        m = _LocusMatcher(g, loc)
        names = ", ".join(sorted({*m.snv.values(), *m.repeat.values()}))
        matchers[(g.symbol, loc.pos)] = (m, names, f"chr{g.chrom}")  # definitions' naming
    bounds = {c: (min(lo for _, lo, _ in v), max(hi for _, _, hi in v)) for c, v in spans.items()}
    plan = _Plan(loci, spans, bounds, matchers)
    if len(_PLANS) >= _MAX_PLANS:  # many definitions objects (files): keep the recent ones
        _PLANS.clear()
    _PLANS[id(definitions)] = (definitions, plan)
    return plan


def _open_vcf(p: Path) -> VCF:
    """The VCF at ``p``, opened through cyvcf2."""
    if not p.is_file():
        raise PgxInputError(f"{p}: no such file")
    try:
        return VCF(str(p))
    except (OSError, AssertionError, Exception) as exc:  # cyvcf2 raises bare Exceptions
        raise PgxInputError(f"{p}: not a readable VCF ({exc})") from None


def _checked_sample(
    vcf: VCF, p: Path, sample: str | None, header: str, definitions: Definitions
) -> tuple[int, str, str]:
    """The sample column (index, name, how chosen) of a file on the right build with GTs."""
    _check_build(p, header, definitions)
    picked = _pick_sample(vcf, p, sample, header)
    if "##FORMAT=<ID=GT," not in header:
        raise PgxInputError(
            f"{p}: no GT field in the FORMAT header: genotypes are needed "
            "(a file of sites or of allele depths only cannot be called)"
        )
    return picked


def _records(
    vcf: VCF, p: Path, idx: int, plan: _Plan, *, indexed: bool
) -> dict[tuple[str, int], list[_Rec]]:
    """The sample's records overlapping each defining position, by (gene, position)."""
    loci = plan.loci
    recs: dict[tuple[str, int], list[_Rec]] = {(g.symbol, loc.pos): [] for g, loc in loci}
    if indexed:
        seqnames = set(vcf.seqnames)
        contigs = {g.symbol: _contig_name(g.chrom, seqnames) for g, _ in loci}
        for g, loc in loci:
            contig = contigs[g.symbol]
            if contig is None:
                continue
            for v in vcf(f"{contig}:{loc.pos}-{loc.end}"):
                recs[(g.symbol, loc.pos)].append(_rec(v, idx))
        return recs
    try:
        _stream(vcf, idx, plan, recs)
    except Exception as exc:  # cyvcf2 raises bare Exceptions on a bad line
        raise PgxInputError(
            f"{p}: a record htslib cannot parse ({exc}); check the file with `bcftools view`"
        ) from None
    return recs


def _locus_calls(
    plan: _Plan,
    recs: dict[tuple[str, int], list[_Rec]],
    *,
    build: str,
    covered: bool,
) -> dict[tuple[str, int], LocusCall]:
    """The call at every defining position, by (gene, position): a pure function of the
    records' fields, so a cohort's files with the same records at the defining positions
    (most of them: reference everywhere) are called once (:attr:`_Plan.memo`)."""
    key = (build, covered, *(tuple(map(_Rec.key, recs[k])) for k in plan.matchers))
    hit = plan.memo.get(key)
    if hit is None:
        hit = {
            k: _call_locus(m, names, recs[k], shown, build, covered)
            for k, (m, names, shown) in plan.matchers.items()
        }
        if len(plan.memo) >= _MEMO_SIZE:
            plan.memo.clear()
        plan.memo[key] = hit
    return dict(hit)  # the caller's own dict; the (frozen) calls are shared


def _reading_warnings(
    header: str, *, n_samples: int, calls: dict[tuple[str, int], LocusCall], build: str
) -> list[str]:
    """A somatic-looking single-sample file, and REFs that are not the definitions' build."""
    warnings: list[str] = []
    # A column picked out of several (by name or ##normal_sample) is taken as the normal.
    somatic = _SOMATIC.search(header) if n_samples == 1 else None
    if somatic:
        warnings.append(
            f"the header describes {somatic.group(1).lower()} calls: a somatic call set does not "
            "report germline genotypes at reference positions, and its GT is the tumour's; "
            "prefer the germline VCF (or the normal column of a tumour/normal VCF)"
        )
    n_ref = sum(any(r.startswith("REF ") for r in c.reasons) for c in calls.values())
    if n_ref:
        warnings.append(
            f"REF differs from {build} at {n_ref} defining position(s): "
            f"is the file on GRCh37? The definitions are {build}"
        )
    return warnings


def _log_reading(
    p: Path, name: str, *, indexed: bool, calls: dict[tuple[str, int], LocusCall]
) -> None:
    if indexed is False:
        log.info(
            "%s has no index: read from start to end (bgzip + tabix -p vcf for region queries)", p
        )
    status = Counter(c.status for c in calls.values())
    log.debug("%s sample %s: %s", p, name, dict(status))


def read_germline(
    path: str | Path, *, definitions: Definitions, sample: str | None = None, covered: bool = False
) -> GermlineReading:
    """Genotype every defining position of ``definitions`` in one sample of a VCF.

    Parameters
    ----------
    path : str or Path
        A germline VCF (plain or bgzipped; indexed region queries when a ``.tbi``
        or ``.csi`` is beside it), or a tumour/normal VCF (the normal column).
    definitions : Definitions
        Allele definitions (:func:`~precision_onco.pgx.definitions.load_definitions`).
    sample : str, optional
        The sample column; required when the file has several and no
        ``##normal_sample=`` header.
    covered : bool
        The file covers every defining position (e.g. a whole-genome call set
        that omits reference sites): an absent position is reference, not
        "not tested". gVCF reference blocks are always read as reference.

    Returns
    -------
    GermlineReading
        One :class:`LocusCall` per (gene, position).
    """
    p = Path(path)
    vcf = _open_vcf(p)
    try:
        header = vcf.raw_header
        idx, name, how = _checked_sample(vcf, p, sample, header, definitions)
        n_samples = len(vcf.samples)
        gvcf = "##GVCFBlock" in header or "##ALT=<ID=NON_REF" in header
        indexed = _index_of(p)
        plan = _plan(definitions)
        recs = _records(vcf, p, idx, plan, indexed=indexed)
        calls = _locus_calls(plan, recs, build=definitions.build, covered=covered)
    finally:
        vcf.close()
    warnings = _reading_warnings(header, n_samples=n_samples, calls=calls, build=definitions.build)
    _log_reading(p, name, indexed=indexed, calls=calls)
    return GermlineReading(
        file=str(p),
        sample=name,
        sample_source=how,
        indexed=indexed,
        gvcf=gvcf,
        covered=covered,
        calls=calls,
        warnings=tuple(warnings),
    )


def _stream(vcf: VCF, idx: int, plan: _Plan, recs: dict[tuple[str, int], list[_Rec]]) -> None:
    """Read a file without an index, keeping records that overlap a defining position."""
    spans, bounds = plan.spans, plan.bounds
    for v in vcf:
        chrom = v.CHROM.removeprefix("chr")
        b = bounds.get(chrom)
        if b is None:
            continue
        pos = v.POS
        if b[1] < pos:
            continue
        end = v.end
        if end < b[0]:
            continue
        for key, lo, hi in spans[chrom]:
            if hi >= pos and end >= lo:
                recs[key].append(_rec(v, idx))
