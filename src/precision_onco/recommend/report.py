"""Recommendation rows: ranked regimens with drivers and catalog evidence, as JSON columns."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from precision_onco.catalog.catalog import Catalog
from precision_onco.config.schema import CatalogConfig, RecommendConfig
from precision_onco.features import candidate_features
from precision_onco.models.fit import EndpointModel
from precision_onco.recommend.explain import contributions, separation, top_drivers
from precision_onco.recommend.rank import KEYS, Ranking, rank_regimens

__all__ = ["EXPLAINED", "catalog_evidence", "recommendations"]

#: Endpoints whose drivers are explained for every ranked regimen.
EXPLAINED: tuple[str, ...] = ("response", "ae_grade3")


def catalog_evidence(regimen_id: str, row: Mapping[str, Any], catalog: Catalog) -> dict[str, Any]:
    """The catalog's evidence for a regimen and the biomarkers of the patient it relies on."""
    regs = {r.id: r for r in catalog.regimens}
    reg = regs.get(regimen_id)
    if reg is None:
        return {}
    ev = reg.evidence
    matched = [{"biomarker": b, "label": catalog.biomarkers[b].label}
               for b in reg.requires if row.get(f"bm_{b}") == 1]  # fmt: skip
    return {"trial": ev.trial, "population": ev.population, "published_orr": ev.orr,
            "published_grade3_rate": ev.grade3_rate, "citation": ev.citation,
            "biomarkers_matched": matched, "name": reg.name}  # fmt: skip


def recommendations(
    features: pd.DataFrame,
    patients: pd.DataFrame,
    lines: pd.DataFrame,
    models: Mapping[str, EndpointModel],
    catalog: CatalogConfig,
    recommend: RecommendConfig,
    *,
    explain: Sequence[str] = EXPLAINED,
    k: int = 3,
) -> Ranking:
    """Ranked regimens of every (patient, line) in ``features``, with ``drivers`` (JSON: the top
    ``k`` features up and down per explained endpoint; for the first regimen, what separates
    it from the second) and ``evidence`` (JSON: the catalog's trial and published rates, and
    the patient's biomarkers it relies on)."""
    ranking = rank_regimens(features, patients, lines, models, catalog, recommend)
    ranked = ranking.ranked
    cat = Catalog(catalog)
    feats = features.reset_index(drop=True)
    pos = {key: i for i, key in enumerate(zip(feats["patient_key"], feats["line_number"],
                                              strict=True))}  # fmt: skip
    base = feats.iloc[[pos[(p, n)] for p, n in zip(ranked["patient_key"], ranked["line_number"],
                                                    strict=True)]].reset_index(drop=True)  # fmt: skip
    cand = candidate_features(base, ranked["regimen_id"].tolist(), catalog)
    drivers: list[dict[str, Any]] = [{} for _ in range(len(ranked))]
    contribs: dict[str, pd.DataFrame] = {}
    for ep in explain:
        model = models.get(ep)
        if model is None or model.kind != "lightgbm" or not len(cand):
            continue
        c, _ = contributions(model, cand)
        contribs[ep] = c
        for i, d in enumerate(top_drivers(c, cand, k=k, catalog=catalog)):
            drivers[i][ep] = d
    arrays = {col: cand[col].to_numpy(dtype=object) for col in cand.columns}

    def row_of(i: int) -> dict[str, Any]:
        return {col: a[i] for col, a in arrays.items()}

    if "response" in contribs:
        c = contribs["response"]
        for _, g in ranked.groupby(KEYS, sort=False):
            if len(g) < 2:
                continue
            i, j = g.index[0], g.index[1]
            drivers[i]["first_vs_second"] = {
                "second": str(ranked.at[j, "regimen_id"]),
                "response": separation(c.iloc[i], c.iloc[j], row_of(i), row_of(j), k=k,
                                       catalog=catalog),
            }  # fmt: skip
    ranked = ranked.copy()
    ranked["drivers"] = [json.dumps(d) for d in drivers]
    bm = [col for col in cand.columns if col.startswith("bm_")]
    ranked["evidence"] = [json.dumps(catalog_evidence(r, {b: arrays[b][i] for b in bm}, cat))
                          for i, r in enumerate(ranked["regimen_id"])]  # fmt: skip
    return Ranking(ranked, ranking.excluded)
