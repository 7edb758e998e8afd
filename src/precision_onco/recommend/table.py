"""Recommendation rows: ranked regimens with drivers and catalog evidence, as JSON columns."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from precision_onco.catalog.catalog import Catalog
from precision_onco.config.schema import CatalogConfig, RecommendConfig
from precision_onco.kb.civic import CivicKB
from precision_onco.models.fit import EndpointModel
from precision_onco.recommend.explain import contributions, separations, top_drivers
from precision_onco.recommend.rank import Ranking, rank_regimens

__all__ = ["catalog_evidence", "recommendations"]


def catalog_evidence(regimen_id: str, row: Mapping[str, Any], catalog: Catalog) -> dict[str, Any]:
    """The catalog's evidence for a regimen and the biomarkers of the patient it relies on
    (``row``: the patient's ``bm_<biomarker>`` indicators)."""
    try:
        reg = catalog.regimen(regimen_id)
    except ValueError:  # a regimen outside the catalog
        return {}
    ev = reg.evidence
    matched = [
        {"biomarker": b, "label": catalog.config.biomarkers[b].label}
        for b in reg.requires
        if row.get(f"bm_{b}") == 1
    ]
    return {
        "trial": ev.trial,
        "population": ev.population,
        "population_fr": ev.population_fr or ev.population,
        "published_orr": ev.orr,
        "published_grade3_rate": ev.grade3_rate,
        "citation": ev.citation,
        "biomarkers_matched": matched,
        "name": reg.name,
    }


def recommendations(
    features: pd.DataFrame,
    patients: pd.DataFrame,
    lines: pd.DataFrame,
    models: Mapping[str, EndpointModel],
    catalog: CatalogConfig,
    recommend: RecommendConfig,
    *,
    explain: Sequence[str],
    separate: str | None,
    k: int = 3,
    threads: int = 0,
    civic: CivicKB | None = None,
    variants: pd.DataFrame | None = None,
) -> Ranking:
    """Ranked regimens of every (patient, line) in ``features``, with ``drivers`` (JSON: the top
    ``k`` features up and down per endpoint of ``explain``; for the first regimen, what
    separates it from the second on the endpoint ``separate``, one of ``explain``; both from
    :func:`precision_onco.config.endpoint_roles`) and ``evidence`` (JSON: the catalog's
    trial and published rates, the patient's biomarkers it relies on and, with ``civic`` and
    the patients' ``variants``, the matching CIViC evidence items)."""
    ranking = rank_regimens(features, patients, lines, models, catalog, recommend)
    ranked, cand = ranking.ranked, ranking.candidates
    assert cand is not None
    cat = Catalog(catalog)
    drivers, contribs = _drivers(
        ranking, cand, models, explain=explain, k=k, threads=threads, catalog=catalog
    )
    if separate is not None and separate in contribs and len(ranked):
        _add_separations(drivers, contribs[separate], ranked, cand, separate, k=k, catalog=catalog)
    ranked = ranked.copy()
    ranked["drivers"] = [json.dumps(d) for d in drivers]
    by_patient: dict[str, list[tuple[str, str | None]]] = {}
    if civic is not None and variants is not None and len(variants):
        by_patient = _variants_by_patient(variants, ranked)
    ranked["evidence"] = _evidence(ranked, cand, cat, civic=civic, by_patient=by_patient)
    return Ranking(ranked, ranking.excluded, cand, ranking.codes)


def _drivers(
    ranking: Ranking,
    cand: pd.DataFrame,
    models: Mapping[str, EndpointModel],
    *,
    explain: Sequence[str],
    k: int,
    threads: int,
    catalog: CatalogConfig,
) -> tuple[list[dict[str, Any]], dict[str, pd.DataFrame]]:
    """Each ranked row's top drivers per endpoint of ``explain``, and their contributions."""
    drivers: list[dict[str, Any]] = [{} for _ in range(len(ranking.ranked))]
    contribs: dict[str, pd.DataFrame] = {}
    for ep in explain:
        model = models.get(ep)
        if model is None or model.kind != "lightgbm" or not len(cand):
            continue
        c, _ = contributions(model, cand, codes=ranking.codes.get(model.input_key), threads=threads)
        contribs[ep] = c
        for i, d in enumerate(top_drivers(c, cand, k=k, catalog=catalog)):
            drivers[i][ep] = d
    return drivers, contribs


def _add_separations(
    drivers: list[dict[str, Any]],
    contrib: pd.DataFrame,
    ranked: pd.DataFrame,
    cand: pd.DataFrame,
    separate: str,
    *,
    k: int,
    catalog: CatalogConfig,
) -> None:
    """Add to each line's first row what separates it from the second on ``separate``."""
    # rows are sorted by (patient, line, rank): the first and second of each line
    rank = ranked["rank"].to_numpy()
    first = np.flatnonzero(rank == 1)
    first = first[(first + 1 < len(rank)) & (rank[np.minimum(first + 1, len(rank) - 1)] == 2)]
    second = first + 1
    seps = separations(contrib, cand, first, second, k=k, catalog=catalog)
    regimen = ranked["regimen_id"].to_numpy(dtype=object)
    for i, j, sep in zip(first, second, seps, strict=True):
        drivers[i]["first_vs_second"] = {"second": str(regimen[j]), separate: sep}


def _variants_by_patient(
    variants: pd.DataFrame, ranked: pd.DataFrame
) -> dict[str, list[tuple[str, str | None]]]:
    """The ranked patients' (gene, protein change) variants, by patient key."""
    by_patient: dict[str, list[tuple[str, str | None]]] = {}
    v = variants[variants["patient_key"].isin(set(ranked["patient_key"]))]
    for pk, gene, hgvsp in zip(v["patient_key"], v["gene"], v["hgvsp"], strict=True):
        if isinstance(gene, str):
            by_patient.setdefault(str(pk), []).append(
                (gene, hgvsp if isinstance(hgvsp, str) else None)
            )
    return by_patient


def _evidence(
    ranked: pd.DataFrame,
    cand: pd.DataFrame,
    cat: Catalog,
    *,
    civic: CivicKB | None,
    by_patient: dict[str, list[tuple[str, str | None]]],
) -> list[str]:
    """Each ranked row's evidence (JSON): the catalog's and, with ``civic``, CIViC's."""
    arrays = {
        col: cand[col].to_numpy(dtype=object) for col in cand.columns if col.startswith("bm_")
    }
    bm = [col for col in cand.columns if col.startswith("bm_")]
    cancer = (
        cand["cancer_type"].to_numpy(dtype=object)
        if "cancer_type" in cand.columns
        else [None] * len(cand)
    )
    evidence = []
    known = set(cat.regimen_ids)
    for i, (pk, r) in enumerate(zip(ranked["patient_key"], ranked["regimen_id"], strict=True)):
        ev = catalog_evidence(r, {b: arrays[b][i] for b in bm}, cat)
        if civic is not None and r in known:
            present = [b[3:] for b in bm if arrays[b][i] == 1]
            ct = cancer[i] if isinstance(cancer[i], str) else None
            ev["civic"] = civic.match(
                cancer_type=ct,
                drugs=list(cat.regimen(r).drugs),
                variants=by_patient.get(str(pk), []),
                biomarkers=present,
            )
            ev["civic_release"] = civic.version
        evidence.append(json.dumps(ev))
    return evidence
