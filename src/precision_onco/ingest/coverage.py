"""Which genes each patient's sequencing assay covered: ``genes_tested`` of the patients table.

A variant file lists what was found, not what was looked at: a VCF without a KRAS
record says nothing about KRAS unless the assay covered KRAS. The catalog's rules that
need a gene's absence (RAS and BRAF wild type for anti-EGFR antibodies, no EGFR driver
for immunotherapy alone) therefore hold only for genes in ``genes_tested``
(:func:`precision_onco.catalog.biomarkers.biomarker_tested`).

A patient's coverage is the union of what the cohort configuration
(:class:`~precision_onco.config.schema.CoverageConfig`) and the inputs say:

- ``coverage.genes`` and ``coverage.file``: the assay of every sample of the cohort
  (a gene list or the assay's target BED);
- the panel named by the patient's ``assay_panel`` column, a key of ``coverage.panels``;
- a ``genes_tested`` column already in the patients table (symbols separated by ``;``),
  or the genes a FHIR bundle's region-studied observations list;
- with ``coverage.called_genes`` (the default), every gene with a passing call: the
  assay evidently covered it.

A patient with none of these has ``genes_tested`` missing: nothing is known tested.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from precision_onco.config.schema import CoverageConfig, PanelConfig
from precision_onco.ingest.contracts import IngestError
from precision_onco.ingest.genes import GeneIndex, normalize_chrom

__all__ = ["SEPARATOR", "attach_coverage", "cohort_wide_genes", "parse_genes", "read_gene_file"]

#: Separator of the symbols in a ``genes_tested`` text.
SEPARATOR = ";"
_SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.@-]{0,39}$")
_NAME_END = re.compile(r"[_:;|,]")


def parse_genes(text: object) -> set[str]:
    """The symbols of a ``genes_tested`` text (``"KRAS;NRAS;BRAF"``); empty for missing."""
    if text is None or (isinstance(text, float) and np.isnan(text)) or text is pd.NA:
        return set()
    return {g.strip() for g in re.split(r"[;,\s]+", str(text)) if g.strip()}


def _bed_genes(path: Path, lines: Iterable[str], genes: GeneIndex | None) -> set[str]:
    out: set[str] = set()
    for n, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        f = line.rstrip("\n").split("\t")
        try:
            chrom, start, end = normalize_chrom(f[0]), int(f[1]), int(f[2])
        except (IndexError, ValueError):
            raise IngestError(
                path,
                "not a BED line (expected chrom, start, end[, name] separated by tabs)",
                line=n,
            ) from None
        if genes is not None:
            out |= genes.overlapping(chrom, start + 1, end)
            continue
        if len(f) < 4 or not f[3].strip():
            raise IngestError(
                path,
                "a target without a name: without cohort.inputs.vcf."
                "genes_bed to intersect the targets with, column 4 must name the "
                "gene (KRAS or KRAS_exon2)",
                line=n,
            )
        out.add(_NAME_END.split(f[3].strip(), maxsplit=1)[0])
    return out


def read_gene_file(path: Path | str, *, genes: GeneIndex | None = None) -> set[str]:
    """The genes of a coverage file: a gene list (one symbol per line, ``#`` comments) or a
    target BED (``.bed``/``.bed.gz``), whose genes are those its intervals overlap in
    ``genes`` when given, else the gene named by column 4 up to the first ``_``, ``:``, ``;``."""
    p = Path(path)
    if not p.is_file():
        raise IngestError(
            p,
            "coverage file not found (cohort.inputs.coverage: a gene list or "
            "the assay's target BED)",
        )
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "rt", encoding="utf-8") as fh:
        lines = fh.readlines()
    if ".bed" in p.name:
        out = _bed_genes(p, lines, genes)
    else:
        out = set()
        for n, line in enumerate(lines, start=1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            if not _SYMBOL.match(text):
                raise IngestError(
                    p,
                    f"not a gene symbol: {text[:40]!r} (a gene list has one HGNC symbol per line)",
                    line=n,
                )
            out.add(text)
    if not out:
        raise IngestError(p, "no genes found in the coverage file")
    return out


def cohort_wide_genes(cov: CoverageConfig, *, root: Path, genes: GeneIndex | None) -> set[str]:
    """The genes every patient was tested for (``coverage.genes`` and ``coverage.file``):
    a call in one of them adds nothing to a patient's coverage."""
    return _panel_genes(PanelConfig(genes=list(cov.genes), file=cov.file), root, genes)


def _panel_genes(panel: PanelConfig, root: Path, genes: GeneIndex | None) -> set[str]:
    out = set(panel.genes)
    if panel.file:
        out |= read_gene_file(root / panel.file, genes=genes)
    return out


class _Covered:
    """Per-patient gene sets sharing the cohort-wide genes: only a patient's genes beyond
    those are stored (one full set per patient took ~8 KiB each, the ingest driver's
    largest cost per patient)."""

    def __init__(self, base: set[str], n: int) -> None:
        self.base = frozenset(base)
        self.extra: list[set[str] | None] = [None] * n

    def add(self, i: int, genes: Iterable[str]) -> None:
        new = [g for g in genes if g not in self.base]
        if new:
            e = self.extra[i]
            if e is None:
                e = self.extra[i] = set()
            e.update(new)

    def texts(self) -> list[str | None]:
        """Each patient's genes, sorted and joined (``None``: no gene); patients of the
        same genes share one text (most of a cohort has one of a few panels)."""
        base = SEPARATOR.join(sorted(self.base)) if self.base else None
        memo: dict[frozenset[str], str] = {}

        def text(e: set[str]) -> str:
            key = frozenset(e)
            t = memo.get(key)
            if t is None:
                t = memo[key] = SEPARATOR.join(sorted(self.base | e))
            return t

        return [base if e is None else text(e) for e in self.extra]


def attach_coverage(
    patients: pd.DataFrame,
    variants: pd.DataFrame,
    cov: CoverageConfig,
    *,
    root: Path,
    genes: GeneIndex | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """``patients`` (keyed by raw ``patient_id``) with ``genes_tested`` filled in, and warnings.

    ``variants`` are the linked calls (``patient_id``, ``gene``, ``filter``).
    """
    warnings: list[str] = []
    if not len(patients) or "patient_id" not in patients.columns:
        return patients, warnings
    cohort_wide = cohort_wide_genes(cov, root=root, genes=genes)
    panels = {name: _panel_genes(p, root, genes) for name, p in cov.panels.items()}
    ids = patients["patient_id"].astype("string")
    covered = _Covered(set(cohort_wide), len(patients))
    if "genes_tested" in patients.columns:
        for i, text in enumerate(patients["genes_tested"]):
            covered.add(i, parse_genes(text))
    if "assay_panel" in patients.columns:
        unknown: set[str] = set()
        for i, name in enumerate(patients["assay_panel"]):
            if name is None or name is pd.NA or (isinstance(name, float) and np.isnan(name)):
                continue
            if str(name) in panels:
                covered.add(i, panels[str(name)])
            else:
                unknown.add(str(name))
        if unknown:
            warnings.append(
                f"assay_panel: {len(unknown)} panel name(s) not in cohort.inputs.coverage.panels "
                f"(e.g. {sorted(unknown)[0][:40]!r}; known: {sorted(panels) or 'none'}); those "
                "patients' coverage comes from the other sources only"
            )
    if cov.called_genes and len(variants) and "gene" in variants.columns:
        ok = variants["gene"].notna()
        if "filter" in variants.columns:
            ok &= variants["filter"].isna() | variants["filter"].isin(["PASS", "."])
        calls = variants.loc[ok, ["patient_id", "gene"]].astype("string").drop_duplicates()
        pos = {pid: i for i, pid in enumerate(ids)}
        for pid, gene in zip(calls["patient_id"], calls["gene"], strict=True):
            at = pos.get(str(pid))
            if at is not None:
                covered.add(at, (str(gene),))
    text = covered.texts()
    out = patients.copy()
    out["genes_tested"] = pd.array(text, dtype="string")
    return out, warnings
