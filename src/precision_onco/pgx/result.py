"""One patient's pharmacogenomic answer: gene calls, uracilemia, per-drug guidance."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from precision_onco.pgx.call import GeneCall, call_genes, not_tested_gene
from precision_onco.pgx.definitions import Definitions, load_definitions
from precision_onco.pgx.genotype import GermlineReading, read_germline
from precision_onco.pgx.guidance import DrugGuidance, UracilResult, drug_guidance, interpret_uracil

__all__ = ["PgxResult", "format_text", "pgx_from_vcf"]


@dataclass(frozen=True)
class PgxResult:
    """Gene calls, uracilemia and per-drug guidance for one sample."""

    genes: dict[str, GeneCall]
    uracil: UracilResult
    recommendations: tuple[DrugGuidance, ...]
    definitions: Definitions
    reading: GermlineReading | None = None

    def guidance(self, drug: str) -> DrugGuidance:
        """The guidance for ``drug`` (``KeyError`` if it has no rule)."""
        for g in self.recommendations:
            if g.drug == drug:
                return g
        raise KeyError(drug)

    def to_dict(self) -> dict[str, Any]:
        """The JSON answer (``precision-onco pgx --json``)."""
        d = self.definitions
        r = self.reading
        return {
            "sample": r.sample if r else None,
            "input": None
            if r is None
            else {
                "file": r.file,
                "sample_source": r.sample_source,
                "indexed": r.indexed,
                "gvcf": r.gvcf,
                "declared_covered": r.covered,
                "warnings": list(r.warnings),
            },
            "genes": {s: g.as_dict() for s, g in self.genes.items()},
            "uracil": self.uracil.as_dict(),
            "recommendations": [g.as_dict() for g in self.recommendations],
            "definitions": {"version": d.version, "build": d.build, "file": d.path},
            "sources": {k: {"citation": s.citation, "doi": s.doi} for k, s in d.sources.items()},
        }


def pgx_from_vcf(
    vcf: str | Path | None = None,
    *,
    sample: str | None = None,
    uracil_ng_ml: float | None = None,
    covered: bool = False,
    definitions: Definitions | None = None,
) -> PgxResult:
    """Call DPYD and UGT1A1 from a germline VCF and give per-drug dose guidance.

    Parameters
    ----------
    vcf : str or Path, optional
        Germline VCF (or tumour/normal VCF, the normal column). Without one,
        every gene is "not tested" and only uracilemia informs the guidance.
    sample : str, optional
        Sample column (required when the file has several).
    uracil_ng_ml : float, optional
        Plasma uracil before treatment, ng/mL.
    covered : bool
        The file covers every defining position (absent = reference).
    definitions : Definitions, optional
        Default: the definitions shipped with the package.

    Returns
    -------
    PgxResult
    """
    defs = definitions or load_definitions()
    reading = None
    if vcf is not None:
        reading = read_germline(vcf, definitions=defs, sample=sample, covered=covered)
        genes = call_genes(reading, defs)
    else:
        genes = {s: not_tested_gene(g) for s, g in defs.genes.items()}
    uracil = interpret_uracil(uracil_ng_ml, defs)
    recs = tuple(drug_guidance(drug, genes, uracil, defs) for drug in defs.drugs)
    return PgxResult(
        genes=genes, uracil=uracil, recommendations=recs, definitions=defs, reading=reading
    )


def _gene_lines(call: GeneCall) -> list[str]:
    if call.gene == "DPYD":
        score = (
            f"activity score {call.activity_score:g}"
            if call.activity_score is not None
            else "activity score indeterminate"
            + (
                f" (at most {call.activity_score_max:g})"
                if call.activity_score_max is not None
                else ""
            )
        )
    else:
        score = f"diplotype {call.diplotype or 'indeterminate'}"
    out = [
        f"{call.gene:<8} {score}; phenotype {call.phenotype}"
        + (f"; diplotype {call.diplotype}" if call.gene == "DPYD" and call.diplotype else "")
    ]
    alleles = ", ".join(
        f"{a.allele.label} {'hom' if a.copies == 2 else 'het'} [{a.evidence}]" for a in call.alleles
    )
    out.append(f"         alleles found: {alleles or 'none of the defined variants'}")
    for item in call.not_tested:
        out.append(f"         not tested: {item['allele']} {item['rsid']} {item['position']}")
    for item in call.indeterminate:
        out.append(
            f"         indeterminate: {item['allele']} {item['rsid']} {item['position']}: "
            f"{item['reason']}"
        )
    if call.to_test:
        out.append(f"         to test: {call.to_test}")
    out += [f"         note: {n}" for n in call.notes]
    return out


def format_text(result: PgxResult) -> str:
    """The plain-text answer of ``precision-onco pgx``."""
    r = result.reading
    d = result.definitions
    lines = []
    if r is not None:
        lines.append(
            f"sample {r.sample} ({r.sample_source}) in {r.file}"
            f"{' (indexed)' if r.indexed else ''}{' (gVCF)' if r.gvcf else ''}"
            f"{'; absent positions declared reference' if r.covered else ''}"
        )
        lines += [f"warning: {w}" for w in r.warnings]
    else:
        lines.append("no germline VCF: genes not tested")
    lines.append(f"definitions {d.version} ({d.build})")
    lines.append("")
    for call in result.genes.values():
        lines += _gene_lines(call)
    u = result.uracil
    if u.ng_ml is None:
        lines.append("uracil   not measured")
    else:
        lines.append(f"uracil   {u.ng_ml:g} ng/mL: {u.deficiency} DPD deficiency [{u.source}]")
    lines.append("")
    head = f"{'drug':<14} {'start dose':>10}  action [source]"
    lines += [head, "-" * len(head)]
    for g in result.recommendations:
        pct = (
            "avoid"
            if g.avoid
            else "—"
            if g.starting_dose_percent is None
            else f"{g.starting_dose_percent} %"
        )
        lines.append(f"{g.drug:<14} {pct:>10}  {g.action} [{g.source}]")
    lines.append("")
    lines.append("Decision support only: to be weighed by the treating oncologist.")
    return "\n".join(lines) + "\n"
