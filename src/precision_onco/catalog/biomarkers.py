"""Biomarker rules of the catalog evaluated on variants and clinical markers."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from precision_onco.config.schema import BiomarkerConfig
from precision_onco.errors import InputError

__all__ = [
    "AMINO_ACIDS",
    "biomarker_status",
    "biomarker_status_columns",
    "biomarker_tested",
    "biomarker_tested_columns",
    "to_short_hgvsp",
    "untested_genes",
    "variant_matches",
]

#: Three-letter to one-letter amino-acid codes (HGVS), with ``Ter`` as ``*``.
AMINO_ACIDS: dict[str, str] = {
    "Ala": "A",
    "Arg": "R",
    "Asn": "N",
    "Asp": "D",
    "Cys": "C",
    "Gln": "Q",
    "Glu": "E",
    "Gly": "G",
    "His": "H",
    "Ile": "I",
    "Leu": "L",
    "Lys": "K",
    "Met": "M",
    "Phe": "F",
    "Pro": "P",
    "Ser": "S",
    "Thr": "T",
    "Trp": "W",
    "Tyr": "Y",
    "Val": "V",
    "Ter": "*",
    "Sec": "U",
    "Xaa": "X",
}
_THREE = re.compile("|".join(AMINO_ACIDS))


def to_short_hgvsp(hgvsp: object) -> str | None:
    """Normalise a protein change to the short one-letter form (``p.L858R``).

    Accepts VEP's ``ENSP…:p.Leu858Arg``, plain ``p.Leu858Arg`` or an already
    short ``p.L858R``; returns ``None`` for empty or missing input (``None``, ``pd.NA``,
    NaN of any float type, ``NaT``): missing stays missing, never the text ``p.<NA>``.
    """
    if hgvsp is None or (
        not isinstance(hgvsp, str) and pd.api.types.is_scalar(hgvsp) and bool(pd.isna(hgvsp))
    ):
        return None
    s = str(hgvsp).strip()
    if not s or s == ".":
        return None
    if ":" in s:
        s = s.rsplit(":", 1)[1]
    s = s.replace("%3D", "=")
    if not s.startswith("p."):
        s = "p." + s
    return _THREE.sub(lambda m: AMINO_ACIDS[m.group(0)], s)


def variant_matches(
    rule: BiomarkerConfig, genes: pd.Series | np.ndarray, hgvsp_short: pd.Series | np.ndarray
) -> np.ndarray:
    """Boolean vector: which variants satisfy the variant part of ``rule``."""
    if not rule.genes:
        return np.zeros(len(genes), dtype=bool)
    wanted = set(rule.genes)
    g_arr = np.asarray(genes, dtype=object)
    h_arr = np.asarray(hgvsp_short, dtype=object)
    in_gene = np.fromiter(
        (isinstance(g, str) and g in wanted for g in g_arr), dtype=bool, count=len(g_arr)
    )
    if not rule.hgvsp:
        # a protein change that alters the protein: recorded, not synonymous ("=")
        return in_gene & np.fromiter(
            (isinstance(h, str) and h != "" and "=" not in h for h in h_arr),
            dtype=bool,
            count=len(h_arr),
        )
    rx = _rule_regex(tuple(rule.hgvsp))
    hit = np.fromiter(
        (
            bool(g) and isinstance(h, str) and rx.search(h) is not None
            for g, h in zip(in_gene, h_arr, strict=True)
        ),
        dtype=bool,
        count=len(in_gene),
    )
    return hit


@functools.lru_cache(maxsize=256)
def _rule_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def _marker_matches(rule: BiomarkerConfig, markers: pd.DataFrame) -> np.ndarray:
    if rule.marker is None:
        return np.zeros(len(markers), dtype=bool)
    if rule.marker not in markers.columns:
        raise InputError(
            f"biomarker '{rule.label}' needs the clinical column '{rule.marker}', which is "
            f"absent (columns: {sorted(markers.columns)})"
        )
    col = markers[rule.marker]
    if rule.min is not None:
        return (pd.to_numeric(col, errors="coerce") >= rule.min).fillna(False).to_numpy(bool)
    if rule.equals is not None:
        return (col.astype("string") == rule.equals).fillna(False).to_numpy(bool)
    return col.notna().to_numpy()


def biomarker_status(
    biomarkers: dict[str, BiomarkerConfig],
    *,
    markers: pd.DataFrame,
    variants: pd.DataFrame | None = None,
    key: str = "patient_key",
) -> pd.DataFrame:
    """Evaluate every biomarker for every row of ``markers``: the columns of
    :func:`biomarker_status_columns` as a frame on ``markers``' index."""
    cols = biomarker_status_columns(biomarkers, markers=markers, variants=variants, key=key)
    return pd.DataFrame(cols, index=markers.index) if cols else pd.DataFrame(index=markers.index)


def biomarker_status_columns(
    biomarkers: dict[str, BiomarkerConfig],
    *,
    markers: pd.DataFrame,
    variants: pd.DataFrame | None = None,
    key: str = "patient_key",
) -> dict[str, np.ndarray]:
    """Evaluate every biomarker for every row of ``markers``, as boolean arrays (what the
    rules and features read; a served patient's request needs no frame of them).

    Parameters
    ----------
    biomarkers : dict of BiomarkerConfig
        The catalog's biomarker rules, by id.
    markers : DataFrame
        One row per unit (patient or patient-line) with ``key`` and the marker
        columns the rules name (``pdl1_tps``, ``msi_status``, …).
    variants : DataFrame, optional
        Variant calls with ``key``, ``gene`` and ``hgvsp`` (any HGVSp form).
    key : str
        Column joining variants to ``markers`` rows.

    Returns
    -------
    dict of str to ndarray of bool
        By biomarker id, aligned with ``markers``.
    """
    cols: dict[str, np.ndarray] = {}
    keys = markers[key].to_numpy(dtype=object)
    short = genes = var_keys = None
    if variants is not None and len(variants):
        short = np.array(
            [to_short_hgvsp(h) for h in variants["hgvsp"].to_numpy(dtype=object)], dtype=object
        )
        genes = variants["gene"].to_numpy(dtype=object)
        var_keys = variants[key].to_numpy(dtype=object)
    for bid, rule in biomarkers.items():
        present = _marker_matches(rule, markers)
        if rule.genes and short is not None and genes is not None and var_keys is not None:
            hit = variant_matches(rule, genes, short)
            carriers = set(var_keys[hit])
            present = present | np.fromiter(
                (k in carriers for k in keys), dtype=bool, count=len(keys)
            )
        cols[bid] = np.asarray(present, dtype=bool)
    return cols


def untested_genes(rule: BiomarkerConfig, covered: set[str] | None) -> list[str]:
    """The genes of ``rule`` that an assay covering ``covered`` did not test (all of them
    when coverage is unknown)."""
    return [g for g in rule.genes if covered is None or g not in covered]


def biomarker_tested(
    biomarkers: dict[str, BiomarkerConfig],
    *,
    markers: pd.DataFrame,
    covered: Sequence[set[str] | None],
) -> pd.DataFrame:
    """Was each biomarker tested, for every row of ``markers``? The columns of
    :func:`biomarker_tested_columns` as a frame on ``markers``' index."""
    out = biomarker_tested_columns(biomarkers, markers=markers, covered=covered)
    return pd.DataFrame(out, index=markers.index) if out else pd.DataFrame(index=markers.index)


def biomarker_tested_columns(
    biomarkers: dict[str, BiomarkerConfig],
    *,
    markers: pd.DataFrame,
    covered: Sequence[set[str] | None],
) -> dict[str, np.ndarray]:
    """Was each biomarker tested, for every row of ``markers``? As boolean arrays.

    A variant-defined rule was tested when the assay covered every gene it names
    (``covered``: the genes each row's assay covered, ``None`` when unknown): absent calls
    then mean wild type. A marker-defined rule was tested when its marker is recorded
    (``markers`` lacks the column: not tested). A rule defined by both was tested when
    either was. A rule with neither counts as tested.

    Returns
    -------
    dict of str to ndarray of bool
        By biomarker id, aligned with ``markers``.
    """
    if len(covered) != len(markers):
        raise ValueError(f"covered has {len(covered)} rows, markers {len(markers)}")
    out: dict[str, np.ndarray] = {}
    for bid, rule in biomarkers.items():
        if not rule.genes and rule.marker is None:
            out[bid] = np.ones(len(markers), dtype=bool)
            continue
        tested = np.zeros(len(markers), dtype=bool)
        if rule.genes:
            tested |= np.fromiter(
                (not untested_genes(rule, c) for c in covered), dtype=bool, count=len(markers)
            )
        if rule.marker is not None and rule.marker in markers.columns:
            tested |= markers[rule.marker].notna().to_numpy(bool)
        out[bid] = tested
    return out
