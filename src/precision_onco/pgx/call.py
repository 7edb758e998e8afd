"""Gene calls from defining-position genotypes: DPYD activity score, UGT1A1 diplotype.

DPYD (CPIC 2017/2024): the activity score is the sum of the two lowest allele
activity values, with 1 for every chromosome copy without a variant; variants
in different positions are taken to be in trans (phase is unknown from an
unphased VCF, and CPIC scores them so). UGT1A1 (DPWG): the phenotype counts the
decreased-function alleles (*28, *37, *6): none normal, one intermediate, two
poor; *28 with *6 is taken to be in trans, as DPWG does.

A position that is not tested or indeterminate can only lower DPYD's score or
add a UGT1A1 decreased allele, so the score found is an upper bound: the gene is
called when the bound already decides the phenotype (activity score 0, two
decreased UGT1A1 alleles) and ``indeterminate`` otherwise, with what to test.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from precision_onco.pgx.definitions import Allele, Definitions, Gene
from precision_onco.pgx.genotype import GermlineReading, LocusCall

__all__ = ["AlleleCall", "GeneCall", "call_gene", "call_genes", "not_tested_gene"]

T = TypeVar("T")
PHENOTYPES = ("normal", "intermediate", "poor", "indeterminate")


@dataclass(frozen=True)
class AlleleCall:
    """A defined allele found in the sample."""

    allele: Allele
    copies: int
    evidence: str

    def as_dict(self) -> dict[str, Any]:
        a = self.allele
        return {
            "name": a.name,
            "alias": a.alias,
            "rsid": a.rsid,
            "copies": self.copies,
            "zygosity": "homozygous" if self.copies == 2 else "heterozygous",
            "function": a.function,
            "activity_value": a.value,
            "evidence": self.evidence,
            # relative risk of severe toxicity at full dose (Meulendijks 2015), when published
            "relative_risk_full_dose": a.relative_risk,
        }


@dataclass(frozen=True)
class GeneCall:
    """The call of one gene for one sample."""

    gene: str
    phenotype: str
    alleles: tuple[AlleleCall, ...]
    source: str
    activity_score: float | None = None
    activity_score_max: float | None = None
    diplotype: str | None = None
    not_tested: tuple[dict[str, Any], ...] = ()
    indeterminate: tuple[dict[str, Any], ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    to_test: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.gene == "DPYD":
            out["activity_score"] = self.activity_score
            if self.activity_score is None and self.activity_score_max is not None:
                out["activity_score_max"] = self.activity_score_max
        out["diplotype"] = self.diplotype
        out.update(
            phenotype=self.phenotype,
            alleles=[a.as_dict() for a in self.alleles],
            not_tested=list(self.not_tested),
            indeterminate=list(self.indeterminate),
            to_test=self.to_test,
            notes=list(self.notes),
            source=self.source,
        )
        return out


def _unique(items: Iterable[T], key: Callable[[T], Any]) -> list[T]:
    """``items`` without repeats of ``key``, first occurrence kept, order kept."""
    seen: set[Any] = set()
    out = []
    for it in items:
        k = key(it)
        if k not in seen:
            seen.add(k)
            out.append(it)
    return out


def _star_key(name: str) -> tuple[int, str]:
    m = re.match(r"^\*(\d+)", name)
    return (int(m.group(1)) if m else 10**6, name)


def _allele_copies(
    allele: Allele, calls: dict[int, LocusCall], chrom: str
) -> tuple[int, bool, str, list[str]]:
    """(copies found, fully known, evidence, notes) of one allele from its loci."""
    defining = [v for v in allele.variants if v.role != "tag"]
    tags = [v for v in allele.variants if v.role == "tag"]
    notes: list[str] = []
    for v in defining:
        c = calls[v.pos]
        if c.known:
            if tags and calls[tags[0].pos].known:
                t = calls[tags[0].pos]
                if t.alleles.count(allele.name) != c.alleles.count(allele.name):
                    notes.append(
                        f"{allele.label}: the tag {tags[0].name} ({tags[0].rsid}) disagrees "
                        f"with the causal {allele.rsid}; the causal variant is used"
                    )
            return c.alleles.count(allele.name), True, f"{chrom}:{v.pos} ({allele.rsid})", notes
    for tag in tags:
        c = calls[tag.pos]
        if c.known:
            n = c.alleles.count(allele.name)
            if n:
                notes.append(
                    f"{allele.label} inferred from the tag {tag.name} ({tag.rsid}); the causal "
                    f"{allele.rsid} was not tested (linkage is near-complete, not perfect)"
                )
            return n, True, f"{chrom}:{tag.pos} ({tag.rsid}, tag)", notes
    c = calls[defining[0].pos]
    return c.alleles.count(allele.name), False, f"{chrom}:{defining[0].pos}", notes


def _missing(gene: Gene, calls: dict[int, LocusCall], chrom: str, undetermined: list[Allele]):
    not_tested, indeterminate = [], []
    for a in undetermined:
        for v in a.variants:
            c = calls[v.pos]
            if c.known:
                continue
            item = {
                "position": f"{chrom}:{v.pos}",
                "allele": v.name or a.label,
                "rsid": v.rsid or a.rsid,
            }
            if c.status == "not_tested":
                not_tested.append({**item, "reason": "; ".join(c.reasons)})
            else:
                indeterminate.append({**item, "reason": "; ".join(c.reasons)})
    return not_tested, indeterminate


def _to_test(gene: Gene, undetermined: list[Allele]) -> str | None:
    if not undetermined:
        return None
    names = ", ".join(f"{a.label} {a.rsid}" for a in undetermined)
    return f"genotype {gene.symbol} {names} (or the whole {gene.symbol} panel)"


def call_gene(gene: Gene, reading: GermlineReading, *, chrom_name: str | None = None) -> GeneCall:
    """Call ``gene`` from the defining-position genotypes of ``reading``.

    Parameters
    ----------
    gene : Gene
        The gene's definitions.
    reading : GermlineReading
        Output of :func:`~precision_onco.pgx.genotype.read_germline`.
    chrom_name : str, optional
        How to print the chromosome (default ``chr<N>``).

    Returns
    -------
    GeneCall
    """
    chrom = chrom_name or f"chr{gene.chrom}"
    calls = {pos: c for (sym, pos), c in reading.calls.items() if sym == gene.symbol}
    found: list[AlleleCall] = []
    undetermined: list[Allele] = []
    notes: list[str] = []
    for a in gene.alleles:
        n, known, evidence, extra = _allele_copies(a, calls, chrom)
        notes += extra
        if n:
            found.append(AlleleCall(a, min(n, 2), evidence))
        if not known:
            undetermined.append(a)
    # One locus may define several alleles (the TA repeat): report it once.
    undetermined = _unique(undetermined, lambda a: a.rsid)
    not_tested, indeterminate = _missing(gene, calls, chrom, undetermined)
    if gene.scoring == "activity_score":
        return _dpyd(gene, found, undetermined, not_tested, indeterminate, notes)
    return _ugt(gene, found, undetermined, not_tested, indeterminate, notes)


def _dpyd(gene, found, undetermined, not_tested, indeterminate, notes) -> GeneCall:
    values: list[tuple[float, str]] = []
    for ac in found:
        values += [(float(ac.allele.value), ac.allele.name)] * ac.copies
    values += [(gene.reference_value, gene.reference_name)] * 2
    values.sort(key=lambda t: t[0])
    two = values[:2]
    score = two[0][0] + two[1][0]
    if len([v for v in values if v[1] != gene.reference_name]) > 2:
        notes.append(
            "more than two variant alleles: phase unknown, scored with the two lowest values (CPIC)"
        )
    elif sum(ac.copies for ac in found) == 2 and len(found) == 2:
        notes.append("compound heterozygote: variants assumed in trans (phase unknown, CPIC)")
    diplotype = "/".join(sorted((t[1] for t in two), key=lambda n: n != gene.reference_name))
    determinate = not undetermined or score == 0
    phenotype = "indeterminate"
    if determinate:
        phenotype = next(p["phenotype"] for p in gene.phenotypes if score >= p["min_score"])
    return GeneCall(
        gene=gene.symbol,
        phenotype=phenotype,
        alleles=tuple(found),
        source=gene.source,
        activity_score=score if determinate else None,
        activity_score_max=None if determinate else score,
        diplotype=diplotype if determinate else None,
        not_tested=tuple(not_tested),
        indeterminate=tuple(indeterminate),
        notes=tuple(notes),
        to_test=None if determinate else _to_test(gene, undetermined),
    )


def _ugt(gene, found, undetermined, not_tested, indeterminate, notes) -> GeneCall:
    names: list[str] = []
    for ac in found:
        names += [ac.allele.name] * ac.copies
    decreased = sum(ac.copies for ac in found if ac.allele.decreased)
    names += [gene.reference_name] * max(0, 2 - len(names))
    names.sort(key=_star_key)
    if len(names) > 2:
        diplotype = f"{names[0]}/{names[1]}+{'+'.join(names[2:])}"
        notes.append("more than two variant alleles: phase unknown")
    else:
        diplotype = "/".join(names)
        if len(found) == 2 and sum(ac.copies for ac in found) == 2:
            notes.append("two different variants: assumed in trans (phase unknown, DPWG)")
    determinate = not undetermined or decreased >= 2
    phenotype = "indeterminate"
    if determinate:
        k = min(decreased, 2)
        phenotype = next(p["phenotype"] for p in gene.phenotypes if p["decreased_alleles"] == k)
    return GeneCall(
        gene=gene.symbol,
        phenotype=phenotype,
        alleles=tuple(found),
        source=gene.source,
        diplotype=diplotype if determinate else None,
        not_tested=tuple(not_tested),
        indeterminate=tuple(indeterminate),
        notes=tuple(notes),
        to_test=None if determinate else _to_test(gene, undetermined),
    )


def not_tested_gene(gene: Gene) -> GeneCall:
    """The call of a gene without any genotype (no germline VCF)."""
    items = tuple(
        {
            "position": f"chr{gene.chrom}:{v.pos}",
            "allele": v.name or a.label,
            "rsid": v.rsid or a.rsid,
            "reason": "no germline genotype",
        }
        for a in gene.alleles
        for v in a.variants
    )
    items = tuple(_unique(items, lambda i: i["position"]))
    uniq = _unique(gene.alleles, lambda a: a.rsid)
    return GeneCall(
        gene=gene.symbol,
        phenotype="indeterminate",
        alleles=(),
        source=gene.source,
        not_tested=items,
        to_test=_to_test(gene, uniq),
    )


def call_genes(reading: GermlineReading, definitions: Definitions) -> dict[str, GeneCall]:
    """Every gene of ``definitions`` called from ``reading``."""
    return {s: call_gene(g, reading) for s, g in definitions.genes.items()}
