"""Typed view of the pharmacogenomic definitions file (``pgx/data/pgx_definitions.yaml``).

Allele definitions, activity values, uracilemia thresholds and dose rules are
data with their sources; this module only reads and checks them, so that a
wrong key or value fails with a message naming the file and the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from precision_onco.errors import InputError

__all__ = [
    "DEFAULT_DEFINITIONS",
    "Allele",
    "Definitions",
    "DefinitionsError",
    "DoseRule",
    "Gene",
    "Locus",
    "Source",
    "UracilBand",
    "VariantDef",
    "load_definitions",
]

#: The definitions shipped with the package.
DEFAULT_DEFINITIONS = "data/pgx_definitions.yaml"


class DefinitionsError(InputError):
    """The definitions file is malformed (names the file and the field)."""


@dataclass(frozen=True)
class Source:
    """A guideline or publication a value comes from."""

    key: str
    short: str
    citation: str
    doi: str | None = None


@dataclass(frozen=True)
class VariantDef:
    """One defining variant of an allele (GRCh38, plus strand).

    A repeat variant (``repeat`` set) is defined by its net change in repeat units
    at the anchor ``pos`` (whose base is ``ref``), not by an ALT sequence.
    """

    pos: int
    ref: str
    alt: str | None = None
    repeat: str | None = None
    units: int = 0
    span: int = 0
    role: str = "defining"
    rsid: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Allele:
    """A named allele (star allele or HGVS name) and its function."""

    name: str
    rsid: str
    function: str
    variants: tuple[VariantDef, ...]
    alias: str | None = None
    value: float | None = None
    decreased: bool = False
    relative_risk: float | None = None
    relative_risk_source: str | None = None

    @property
    def label(self) -> str:
        """``c.1905+1G>A (*2A)``: the name with its alias when it has one."""
        return f"{self.name} ({self.alias})" if self.alias else self.name


@dataclass(frozen=True)
class Locus:
    """A position that one or more alleles are defined at."""

    chrom: str
    pos: int
    ref: str
    span: int = 0

    @property
    def end(self) -> int:
        return self.pos + max(self.span, len(self.ref) - 1)


@dataclass(frozen=True)
class Gene:
    """A pharmacogene: its alleles and how a phenotype is derived."""

    symbol: str
    chrom: str
    scoring: str
    reference_name: str
    alleles: tuple[Allele, ...]
    phenotypes: tuple[dict[str, Any], ...]
    source: str
    reference_value: float = 1.0

    def loci(self) -> list[Locus]:
        """Every distinct defining position, in file order."""
        seen: dict[int, Locus] = {}
        for allele in self.alleles:
            for v in allele.variants:
                if v.pos not in seen:
                    seen[v.pos] = Locus(self.chrom, v.pos, v.ref, v.span)
        return list(seen.values())


@dataclass(frozen=True)
class DoseRule:
    """What to do for one genotype class or uracil band."""

    action: str
    source: tuple[str, ...]
    starting_dose_percent: int | None = None
    avoid: bool = False
    starting_dose_range_percent: tuple[int, int] | None = None


@dataclass(frozen=True)
class UracilBand:
    """A uracilemia band: ``min`` ng/mL inclusive up to the next band's ``min``."""

    min: float
    deficiency: str
    phenotype: str
    rule: DoseRule


@dataclass(frozen=True)
class Definitions:
    """Everything :mod:`precision_onco.pgx` reads from the definitions file."""

    version: str
    build: str
    path: str
    contig_lengths: dict[str, dict[str, int]]
    sources: dict[str, Source]
    genes: dict[str, Gene]
    uracil_bands: tuple[UracilBand, ...]
    uracil_source: str
    drugs: dict[str, dict[str, Any]]
    dpyd_rules: dict[float, DoseRule]
    ugt1a1_rules: dict[str, DoseRule]

    def cite(self, keys: tuple[str, ...] | list[str] | str) -> str:
        """Short names of the sources ``keys``, joined by ``; ``."""
        keys = (keys,) if isinstance(keys, str) else keys
        return "; ".join(self.sources[k].short for k in keys)


def _req(d: Any, key: str, where: str, path: str) -> Any:
    if not isinstance(d, dict) or key not in d:
        raise DefinitionsError(f"{path}: {where}: missing required field '{key}'")
    return d[key]


def _sources_of(raw: Any, default: str, known: dict[str, Source], where: str, path: str) -> tuple:
    keys = tuple(raw) if isinstance(raw, list) else (raw or default,)
    for k in keys:
        if k not in known:
            raise DefinitionsError(
                f"{path}: {where}: unknown source '{k}' (known: {', '.join(known)})"
            )
    return keys


def _rule(
    raw: dict[str, Any], default_source: str, sources: dict[str, Source], where: str, path: str
) -> DoseRule:
    avoid = bool(raw.get("avoid", False))
    pct = raw.get("starting_dose_percent")
    if not avoid and not isinstance(pct, int):
        raise DefinitionsError(
            f"{path}: {where}: needs 'starting_dose_percent' (an integer) or 'avoid: true'"
        )
    rng = raw.get("starting_dose_range_percent")
    return DoseRule(
        action=str(_req(raw, "action", where, path)).strip(),
        source=_sources_of(raw.get("source"), default_source, sources, where, path),
        starting_dose_percent=None if avoid or pct is None else int(pct),
        avoid=avoid,
        starting_dose_range_percent=(int(rng[0]), int(rng[1])) if rng else None,
    )


def _variant(raw: dict[str, Any], where: str, path: str) -> VariantDef:
    pos = _req(raw, "pos", where, path)
    ref = str(_req(raw, "ref", where, path)).upper()
    if not isinstance(pos, int) or pos < 1:
        raise DefinitionsError(f"{path}: {where}: pos must be a positive integer, got {pos!r}")
    if raw.get("repeat") is None and raw.get("alt") is None:
        raise DefinitionsError(f"{path}: {where}: a variant needs 'alt' or 'repeat'")
    return VariantDef(
        pos=pos,
        ref=ref,
        alt=str(raw["alt"]).upper() if raw.get("alt") else None,
        repeat=raw.get("repeat"),
        units=int(raw.get("units", 0)),
        span=int(raw.get("span", 0)),
        role=str(raw.get("role", "defining")),
        rsid=raw.get("rsid"),
        name=raw.get("name"),
    )


def _gene(symbol: str, raw: dict[str, Any], sources: dict[str, Source], path: str) -> Gene:
    alleles = []
    for i, a in enumerate(_req(raw, "alleles", f"genes.{symbol}", path)):
        where = f"genes.{symbol}.alleles[{i}]"
        rr = a.get("relative_risk") or {}
        alleles.append(
            Allele(
                name=str(_req(a, "name", where, path)),
                rsid=str(_req(a, "rsid", where, path)),
                function=str(_req(a, "function", where, path)),
                alias=a.get("alias"),
                value=float(a["value"]) if "value" in a else None,
                decreased=bool(a.get("decreased", False)),
                variants=tuple(
                    _variant(v, f"{where}.variants[{j}]", path)
                    for j, v in enumerate(_req(a, "variants", where, path))
                ),
                relative_risk=rr.get("value"),
                relative_risk_source=rr.get("source"),
            )
        )
    scoring = _req(raw, "scoring", f"genes.{symbol}", path)
    if scoring not in ("activity_score", "diplotype"):
        raise DefinitionsError(
            f"{path}: genes.{symbol}.scoring must be 'activity_score' or "
            f"'diplotype', got {scoring!r}"
        )
    if scoring == "activity_score" and any(a.value is None for a in alleles):
        raise DefinitionsError(f"{path}: genes.{symbol}: every allele needs an activity 'value'")
    return Gene(
        symbol=symbol,
        chrom=str(_req(raw, "chrom", f"genes.{symbol}", path)),
        scoring=scoring,
        reference_name=str(raw.get("reference_name", "*1")),
        alleles=tuple(alleles),
        phenotypes=tuple(_req(raw, "phenotypes", f"genes.{symbol}", path)),
        source=_sources_of(raw.get("source"), "", sources, f"genes.{symbol}", path)[0],
        reference_value=float(raw.get("reference_value", 1)),
    )


def _parse(raw: Any, path: str) -> Definitions:
    if not isinstance(raw, dict):
        raise DefinitionsError(f"{path}: expected a mapping at the top level")
    sources = {
        k: Source(
            key=k,
            short=str(_req(v, "short", f"sources.{k}", path)),
            citation=" ".join(str(_req(v, "citation", f"sources.{k}", path)).split()),
            doi=v.get("doi"),
        )
        for k, v in _req(raw, "sources", "top level", path).items()
    }
    genes = {
        s: _gene(s, g, sources, path) for s, g in _req(raw, "genes", "top level", path).items()
    }
    ur = _req(raw, "uracil", "top level", path)
    bands = tuple(
        UracilBand(
            min=float(_req(b, "min", f"uracil.bands[{i}]", path)),
            deficiency=str(_req(b, "deficiency", f"uracil.bands[{i}]", path)),
            phenotype=str(_req(b, "phenotype", f"uracil.bands[{i}]", path)),
            rule=_rule(b, ur.get("source", ""), sources, f"uracil.bands[{i}]", path),
        )
        for i, b in enumerate(_req(ur, "bands", "uracil", path))
    )
    if [b.min for b in bands] != sorted(b.min for b in bands):
        raise DefinitionsError(f"{path}: uracil.bands must be in increasing order of 'min'")
    gr = _req(raw, "gene_rules", "top level", path)
    dp = _req(gr, "DPYD", "gene_rules", path)
    dpyd_rules = {
        float(_req(r, "score", f"gene_rules.DPYD[{i}]", path)): _rule(
            r, dp.get("source", ""), sources, f"gene_rules.DPYD[{i}]", path
        )
        for i, r in enumerate(_req(dp, "by_activity_score", "gene_rules.DPYD", path))
    }
    ug = _req(gr, "UGT1A1", "gene_rules", path)
    ugt_rules = {
        ph: _rule(r, ug.get("source", ""), sources, f"gene_rules.UGT1A1.{ph}", path)
        for ph, r in _req(ug, "by_phenotype", "gene_rules.UGT1A1", path).items()
    }
    drugs = dict(_req(raw, "drugs", "top level", path))
    for drug, d in drugs.items():
        if d.get("gene") not in genes:
            raise DefinitionsError(f"{path}: drugs.{drug}.gene must be one of {list(genes)}")
    return Definitions(
        version=str(_req(raw, "version", "top level", path)),
        build=str(_req(raw, "build", "top level", path)),
        path=path,
        contig_lengths={
            b: {str(c): int(n) for c, n in v.items()}
            for b, v in raw.get("contig_lengths", {}).items()
        },
        sources=sources,
        genes=genes,
        uracil_bands=bands,
        uracil_source=str(ur.get("source", "")),
        drugs=drugs,
        dpyd_rules=dpyd_rules,
        ugt1a1_rules=ugt_rules,
    )


@lru_cache(maxsize=8)
def _load(path: str | None) -> Definitions:
    if path is None:
        ref = resources.files("precision_onco.pgx").joinpath(DEFAULT_DEFINITIONS)
        text, shown = ref.read_text(encoding="utf-8"), f"precision_onco/pgx/{DEFAULT_DEFINITIONS}"
    else:
        p = Path(path)
        if not p.is_file():
            raise DefinitionsError(f"{path}: no such definitions file")
        text, shown = p.read_text(encoding="utf-8"), str(p)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DefinitionsError(f"{shown}: not valid YAML ({exc})") from None
    return _parse(raw, shown)


def load_definitions(path: str | Path | None = None) -> Definitions:
    """Read and check a definitions file (default: the one shipped with the package).

    Parameters
    ----------
    path : str or Path, optional
        A YAML file shaped like ``pgx/data/pgx_definitions.yaml``.

    Returns
    -------
    Definitions
        The parsed definitions (cached per path).
    """
    return _load(None if path is None else str(path))
