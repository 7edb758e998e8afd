"""CIViC clinical evidence matched to a patient's variants, biomarkers, disease and regimen.

A CIViC release's *ClinicalEvidenceSummaries* TSV (one row per evidence item) is
loaded once with :meth:`CivicKB.load`, filtered to the configured evidence types
and levels, normalised and indexed; :meth:`CivicKB.match` then returns the items
that apply to one (patient line, regimen) in well under a millisecond.

Matching rules (an item matches when all three hold):

1. **Variant.** The item's gene and CIViC variant name match the patient, by the
   first that applies of

   * ``variant`` - a patient variant of the item's gene whose protein change
     without ``p.`` equals the CIViC variant name (``p.V600E`` ~ ``V600E``,
     ``p.E746_A750del`` ~ ``E746_A750del``); case-insensitive, three-letter
     protein changes (``p.Val600Glu``) are shortened first;
   * ``codon`` - a single-residue substitution of the item's gene whose codon
     (reference residue and position) equals the CIViC variant name
     (``p.V600E`` ~ ``V600``, ``p.G12C`` ~ ``G12``);
   * ``gene`` - the CIViC variant is the gene-level ``MUTATION`` and the patient
     has a variant of that gene that is not synonymous (a protein change
     containing ``=``); a variant without a protein change counts;
   * ``biomarker:<id>`` - a patient biomarker ``<id>`` whose
     ``kb.civic.biomarker_variants[<id>]`` lists the CIViC variant name and whose
     genes include the item's gene. A biomarker's genes are its catalog
     ``genes``; for a biomarker without genes (a marker rule such as
     ``ALK_rearranged``, ``MSI_high`` or ``germline_BRCA``) they are the CIViC
     genes named by an upper-case ``_``-separated token of its id, exactly
     (``ALK``) or followed by digits only (``BRCA`` -> ``BRCA1``, ``BRCA2``).

2. **Disease.** ``cancer_type`` is ``None`` (no disease filter) or the item's
   disease is one of ``kb.civic.diseases[cancer_type]`` (case-insensitive). A
   cancer type missing from that mapping matches nothing.

3. **Drug.** At least one regimen drug (case-insensitive) is among the item's
   drugs; items without drugs never match a regimen.

Matches are sorted by evidence level (A first), direction (``Supports`` before
``Does Not Support``), rating (highest first, unrated last) and evidence id, and
truncated to ``kb.civic.max_items`` (a value of 0 or less keeps all).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from precision_onco.catalog.biomarkers import to_short_hgvsp
from precision_onco.config.schema import CatalogConfig, CivicConfig
from precision_onco.errors import InputError

__all__ = ["ITEM_KEYS", "REQUIRED_COLUMNS", "CivicError", "CivicKB", "civic_version"]

#: Columns a ClinicalEvidenceSummaries TSV must have.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "gene",
    "variant",
    "disease",
    "drugs",
    "drug_interaction_type",
    "evidence_type",
    "evidence_direction",
    "evidence_level",
    "clinical_significance",
    "citation_id",
    "source_type",
    "citation",
    "nct_ids",
    "rating",
    "evidence_id",
    "evidence_civic_url",
)

#: Keys of every matched item, in order.
ITEM_KEYS: tuple[str, ...] = (
    "gene",
    "variant",
    "disease",
    "drugs",
    "drug_interaction_type",
    "evidence_type",
    "evidence_level",
    "evidence_direction",
    "clinical_significance",
    "rating",
    "citation",
    "citation_id",
    "source_type",
    "nct_ids",
    "evidence_id",
    "url",
)

_GENE_LEVEL = "MUTATION"
_LEVEL_RANK = {lvl: i for i, lvl in enumerate("ABCDE")}
_DIRECTION_RANK = {"supports": 0, "does not support": 1}
_VERSION_RX = re.compile(r"(?i)^civic_(\d{4}-\d{2}-\d{2})(?=[_.\-]|$)")
_SUBSTITUTION_RX = re.compile(r"^([A-Z])(\d+)[A-Z*]$")
_GENE_TOKEN_RX = re.compile(r"^[A-Z][A-Z0-9-]*$")
_HINT = "set kb.civic.tsv to a CIViC ClinicalEvidenceSummaries TSV"


class CivicError(InputError):
    """A CIViC evidence file is missing, unreadable or not in the expected format."""


def civic_version(path: str | Path, configured: str | None = None) -> str:
    """The CIViC release of ``path``: ``configured`` if set, else the file name's date.

    ``civic_2021-08-01_ClinicalEvidenceSummaries.tsv`` gives ``"2021-08-01"``; a
    name without a ``civic_YYYY-MM-DD`` prefix gives ``"unknown"``.
    """
    if configured:
        return str(configured)
    m = _VERSION_RX.match(Path(path).name)
    return m.group(1) if m else "unknown"


def _split_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _text(value: str) -> str | None:
    value = value.strip()
    return value or None


def _parse_ints(values: Sequence[str], column: str, path: Path, *, optional: bool) -> list[Any]:
    """Parse a column of integers (``"3"``, ``"3.0"``); empty is ``None`` when ``optional``."""
    out: list[Any] = []
    for value in values:
        if not value and optional:
            out.append(None)
            continue
        try:
            number = float(value)
            if not number.is_integer():
                raise ValueError(value)
        except ValueError:
            what = "integers or be empty" if optional else "integers"
            raise CivicError(
                f"{path}: column '{column}' must hold {what} (found {value!r})"
            ) from None
        out.append(int(number))
    return out


def _protein_change(hgvsp: str | None) -> str | None:
    """``p.V600E``, ``V600E``, ``p.Val600Glu`` or ``ENSP…:p.V600E`` -> ``V600E``."""
    short = to_short_hgvsp(hgvsp)
    if short is None:
        return None
    change = short[2:].strip().upper()
    return change or None


def _gene_tokens(biomarker_id: str) -> list[str]:
    return [t for t in biomarker_id.split("_") if _GENE_TOKEN_RX.match(t)]


def _token_names_gene(token: str, gene: str) -> bool:
    if gene == token:
        return True
    rest = gene[len(token) :]
    return gene.startswith(token) and rest.isdigit()


def _read_tsv(path: Path) -> pd.DataFrame:
    required = set(REQUIRED_COLUMNS)
    try:
        frame = pd.read_csv(
            path,
            sep="\t",
            dtype=str,
            keep_default_na=False,
            usecols=lambda c: str(c).strip() in required,
            encoding="utf-8",
        )
    except pd.errors.EmptyDataError:
        raise CivicError(
            f"{path}: empty file; expected a tab-separated CIViC ClinicalEvidenceSummaries "
            "TSV with a header row"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CivicError(
            f"{path}: not a readable tab-separated CIViC ClinicalEvidenceSummaries TSV ({first})"
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise CivicError(
            f"{path}: missing required column(s) {missing}; expected a tab-separated CIViC "
            f"ClinicalEvidenceSummaries TSV with columns {list(REQUIRED_COLUMNS)}"
        )
    return frame


def _normalize(frame: pd.DataFrame, cfg: CivicConfig, path: Path) -> pd.DataFrame:
    """Filter to the configured evidence types and levels and add matching keys."""
    types = {t.strip().lower() for t in cfg.evidence_types}
    levels = {lvl.strip().upper() for lvl in cfg.levels}
    frame = frame.apply(lambda col: col.str.strip())
    keep = frame["evidence_type"].str.lower().isin(types)
    keep &= frame["evidence_level"].str.upper().isin(levels)
    out = frame.loc[keep, list(REQUIRED_COLUMNS)].reset_index(drop=True)
    evidence_id = _parse_ints(out["evidence_id"].tolist(), "evidence_id", path, optional=False)
    rating = _parse_ints(out["rating"].tolist(), "rating", path, optional=True)
    out["evidence_id"] = pd.Series(evidence_id, dtype="int64")
    out["rating"] = pd.Series(rating, dtype="Int64")
    out["drugs"] = [tuple(_split_list(v)) for v in out["drugs"]]
    out["nct_ids"] = [tuple(_split_list(v)) for v in out["nct_ids"]]
    out["evidence_level"] = out["evidence_level"].str.upper()
    out["gene_key"] = out["gene"].str.upper()
    out["variant_key"] = out["variant"].str.upper()
    out["disease_key"] = out["disease"].str.lower()
    out["drug_keys"] = [frozenset(d.lower() for d in drugs) for drugs in out["drugs"]]
    return out


def _variant_keys(
    variants: Sequence[tuple[str, str | None]],
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    """The ``(gene, variant)`` keys the patient's variants are looked up by: the exact protein
    changes, the codons of the substitutions, and one gene-level key per variant (synonymous
    variants and those without a gene give none)."""
    exact: list[tuple[str, str]] = []
    codons: list[tuple[str, str]] = []
    mutated: list[tuple[str, str]] = []
    for gene, hgvsp in variants:
        if not gene:
            continue
        g = str(gene).strip().upper()
        change = _protein_change(hgvsp)
        if change is not None and "=" in change:
            continue  # synonymous: matches nothing
        if change is not None:
            exact.append((g, change))
            m = _SUBSTITUTION_RX.match(change)
            if m:
                codons.append((g, m.group(1) + m.group(2)))
        mutated.append((g, _GENE_LEVEL))
    return exact, codons, mutated


@dataclass(frozen=True, eq=False)
class CivicKB:
    """Indexed CIViC clinical evidence items of one release.

    Parameters
    ----------
    items : DataFrame
        Normalised evidence items (see :meth:`load`): the :data:`REQUIRED_COLUMNS`
        with ``drugs`` and ``nct_ids`` as tuples, ``evidence_id`` as int,
        ``rating`` as nullable int, plus the matching keys ``gene_key``,
        ``variant_key`` (upper case), ``disease_key`` (lower case) and
        ``drug_keys`` (frozenset of lower-case drug names).
    source : str
        The file name the items came from.
    version : str
        The CIViC release (``YYYY-MM-DD``) or ``"unknown"``.
    licence : str
        The licence of the data, shown with every report that cites it.
    config : CivicConfig
        Disease names, biomarker variants and ``max_items`` used by :meth:`match`.
    catalog : CatalogConfig, optional
        The therapy catalog; its biomarkers' ``genes`` restrict biomarker matches.
    """

    items: pd.DataFrame = field(repr=False)
    source: str
    version: str
    licence: str
    config: CivicConfig = field(default_factory=CivicConfig, repr=False)
    catalog: CatalogConfig | None = field(default=None, repr=False)
    _by_variant: dict[tuple[str, str], tuple[int, ...]] = field(init=False, repr=False)
    _by_biomarker: dict[str, tuple[int, ...]] = field(init=False, repr=False)
    _diseases: dict[str, frozenset[str]] = field(init=False, repr=False)
    _disease_keys: tuple[str, ...] = field(init=False, repr=False)
    _drug_keys: tuple[frozenset[str], ...] = field(init=False, repr=False)
    _sort_keys: tuple[tuple[int, int, int, int], ...] = field(init=False, repr=False)
    _records: tuple[dict[str, Any], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        items = self.items
        genes = items["gene_key"].tolist()
        variants = items["variant_key"].tolist()
        drug_keys = tuple(items["drug_keys"].tolist())
        by_variant: dict[tuple[str, str], list[int]] = {}
        for i, (gene, variant, drugs) in enumerate(zip(genes, variants, drug_keys, strict=True)):
            if drugs:  # an item without drugs never matches a regimen
                by_variant.setdefault((gene, variant), []).append(i)
        by_biomarker: dict[str, tuple[int, ...]] = {}
        all_genes = set(genes)
        for biomarker, names in self.config.biomarker_variants.items():
            wanted = {str(n).strip().upper() for n in names}
            bgenes = self._biomarker_genes(biomarker, all_genes)
            rows = [
                i
                for (gene, variant), idx in by_variant.items()
                if gene in bgenes and variant in wanted
                for i in idx
            ]
            by_biomarker[biomarker] = tuple(sorted(rows))
        diseases = {
            ct: frozenset(str(d).strip().lower() for d in names)
            for ct, names in self.config.diseases.items()
        }
        sort_keys = tuple(
            (
                _LEVEL_RANK.get(level, len(_LEVEL_RANK)),
                _DIRECTION_RANK.get(direction.lower(), len(_DIRECTION_RANK)),
                -(int(rating) if pd.notna(rating) else -1),
                int(eid),
            )
            for level, direction, rating, eid in zip(
                items["evidence_level"],
                items["evidence_direction"],
                items["rating"],
                items["evidence_id"],
                strict=True,
            )
        )
        records = tuple(self._record(row) for row in items.itertuples(index=False))
        object.__setattr__(self, "_by_variant", {k: tuple(v) for k, v in by_variant.items()})
        object.__setattr__(self, "_by_biomarker", by_biomarker)
        object.__setattr__(self, "_diseases", diseases)
        object.__setattr__(self, "_disease_keys", tuple(items["disease_key"].tolist()))
        object.__setattr__(self, "_drug_keys", drug_keys)
        object.__setattr__(self, "_sort_keys", sort_keys)
        object.__setattr__(self, "_records", records)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(
        cls,
        cfg: CivicConfig,
        *,
        catalog: CatalogConfig | None = None,
        base_dir: Path | None = None,
    ) -> CivicKB | None:
        """Read, filter and index the release TSV named by ``cfg.tsv``.

        Parameters
        ----------
        cfg : CivicConfig
            The ``kb.civic`` config group.
        catalog : CatalogConfig, optional
            The therapy catalog, whose biomarker ``genes`` restrict biomarker
            matches (without it every biomarker uses the id-token gene rule).
        base_dir : Path, optional
            Directory a relative ``cfg.tsv`` is resolved against (default: the
            current directory).

        Returns
        -------
        CivicKB or None
            ``None`` when ``cfg.tsv`` is null (CIViC matching is off).

        Raises
        ------
        CivicError
            The file is missing, empty, not a TSV, lacks required columns or holds
            a non-integer ``evidence_id``; the message names the file.
        """
        if cfg.tsv is None or not str(cfg.tsv).strip():
            return None
        path = Path(str(cfg.tsv)).expanduser()
        if not path.is_absolute():
            path = (base_dir if base_dir is not None else Path.cwd()) / path
        if not path.is_file():
            raise CivicError(f"{path}: no such file; {_HINT}")
        items = _normalize(_read_tsv(path), cfg, path)
        return cls(
            items=items,
            source=path.name,
            version=civic_version(path, cfg.version),
            licence=cfg.licence,
            config=cfg,
            catalog=catalog,
        )

    def _biomarker_genes(self, biomarker: str, known_genes: set[str]) -> frozenset[str]:
        rule = self.catalog.biomarkers.get(biomarker) if self.catalog is not None else None
        if rule is not None and rule.genes:
            return frozenset(g.strip().upper() for g in rule.genes)
        tokens = _gene_tokens(biomarker)
        return frozenset(g for g in known_genes if any(_token_names_gene(t, g) for t in tokens))

    @staticmethod
    def _record(row: Any) -> dict[str, Any]:
        rating = row.rating
        return {
            "gene": row.gene,
            "variant": row.variant,
            "disease": row.disease,
            "drugs": list(row.drugs),
            "drug_interaction_type": _text(row.drug_interaction_type),
            "evidence_type": row.evidence_type,
            "evidence_level": row.evidence_level,
            "evidence_direction": _text(row.evidence_direction),
            "clinical_significance": _text(row.clinical_significance),
            "rating": int(rating) if pd.notna(rating) else None,
            "citation": _text(row.citation),
            "citation_id": _text(row.citation_id),
            "source_type": _text(row.source_type),
            "nct_ids": list(row.nct_ids),
            "evidence_id": int(row.evidence_id),
            "url": _text(row.evidence_civic_url),
        }

    # ----------------------------------------------------------------- matching
    def biomarker_genes(self, biomarker: str) -> list[str]:
        """The CIViC genes biomarker ``biomarker`` stands for (see the module rules)."""
        return sorted(self._biomarker_genes(biomarker, set(self.items["gene_key"])))

    def match(
        self,
        *,
        cancer_type: str | None,
        drugs: Sequence[str],
        variants: Sequence[tuple[str, str | None]],
        biomarkers: Sequence[str],
    ) -> list[dict[str, Any]]:
        """The evidence items for one patient line and one regimen, best first.

        Parameters
        ----------
        cancer_type : str or None
            Catalog cancer type (``NSCLC``); ``None`` disables the disease filter.
        drugs : sequence of str
            The regimen's drugs; an item must name at least one of them.
        variants : sequence of (gene, hgvsp)
            The patient's variants: gene symbol and short HGVSp (``p.V600E``) or
            ``None`` when the protein change is unknown.
        biomarkers : sequence of str
            Catalog biomarker ids present in the patient (``EGFR_sensitizing``).

        Returns
        -------
        list of dict
            JSON-serialisable items with the keys of :data:`ITEM_KEYS` plus
            ``matched_by`` (``variant``, ``codon``, ``gene`` or ``biomarker:<id>``),
            sorted and truncated as described in the module docstring.
        """
        allowed: frozenset[str] | None = None
        if cancer_type is not None:
            allowed = self._diseases.get(cancer_type)
            if allowed is None:
                return []
        wanted_drugs = {d.strip().lower() for d in drugs if d and d.strip()}
        if not wanted_drugs:
            return []
        hits = self._hits(variants, biomarkers)
        selected = self._selected(hits, allowed=allowed, drugs=wanted_drugs)
        return [self._item(i, matched_by=hits[i]) for i in selected]

    def _hits(
        self, variants: Sequence[tuple[str, str | None]], biomarkers: Sequence[str]
    ) -> dict[int, str]:
        """The items the variants and biomarkers match (drugs and disease aside), each with
        the first rule that matched it: ``variant``, ``codon``, ``gene``, then
        ``biomarker:<id>``."""
        exact, codons, mutated = _variant_keys(variants)
        hits: dict[int, str] = {}
        for keys, label in ((exact, "variant"), (codons, "codon"), (mutated, "gene")):
            for key in keys:
                for i in self._by_variant.get(key, ()):
                    hits.setdefault(i, label)
        for biomarker in biomarkers:
            for i in self._by_biomarker.get(biomarker, ()):
                hits.setdefault(i, f"biomarker:{biomarker}")
        return hits

    def _selected(
        self, hits: Mapping[int, str], *, allowed: frozenset[str] | None, drugs: set[str]
    ) -> list[int]:
        """The hits of a disease in ``allowed`` (any when None) naming one of ``drugs``, best
        first, at most ``config.max_items`` of them (all when not positive)."""
        selected = [
            i
            for i in hits
            if (allowed is None or self._disease_keys[i] in allowed)
            and not drugs.isdisjoint(self._drug_keys[i])
        ]
        selected.sort(key=self._sort_keys.__getitem__)
        if self.config.max_items > 0:
            selected = selected[: self.config.max_items]
        return selected

    def _item(self, i: int, *, matched_by: str) -> dict[str, Any]:
        """Item ``i`` as :meth:`match` returns it: a copy of its record, with ``matched_by``."""
        rec = self._records[i]
        return {
            **rec,
            "drugs": list(rec["drugs"]),
            "nct_ids": list(rec["nct_ids"]),
            "matched_by": matched_by,
        }

    def __len__(self) -> int:
        return len(self.items)
