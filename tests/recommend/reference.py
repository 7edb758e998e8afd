"""The recommender's ranking and explanations as they were before the numpy fast path
(issue 15), frozen here so that tests can compare the fast path with them, answer for answer.

Do not optimise this module: it is the reference.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from precision_onco.catalog.catalog import Catalog
from precision_onco.config.schema import CatalogConfig, RecommendConfig
from precision_onco.features import candidate_features
from precision_onco.kb.civic import CivicKB
from precision_onco.models.fit import EndpointModel
from precision_onco.recommend.explain import separations, top_drivers
from precision_onco.recommend.rank import KEYS, Ranking, _supported, eligible_pairs, utility
from precision_onco.recommend.report import EXPLAINED, catalog_evidence


def contributions(model: EndpointModel, features: pd.DataFrame, *,
                  x: pd.DataFrame | None = None, codes: np.ndarray | None = None,
                  threads: int = 0) -> tuple[pd.DataFrame, np.ndarray]:  # fmt: skip
    """Per-row TreeSHAP contributions (log-odds) by feature, and the bias term.

    Returns ``(contrib, bias)``: ``contrib.sum(axis=1) + bias`` equals the mean raw
    log-odds of the model's members for each row. ``x``: the model matrix of
    ``features`` if already built, ``codes`` its float codes; ``threads``: LightGBM threads
    (0: all cores).
    """
    if model.kind != "lightgbm":
        raise ValueError(f"exact TreeSHAP needs a tree model; endpoint {model.endpoint!r} is "
                         f"{model.kind}")  # fmt: skip
    if codes is None:
        codes = model.codes(model.matrix(features) if x is None else x)
    a = codes
    members = getattr(model.estimator, "calibrated_classifiers_", None)
    boosters = [m.estimator.booster_ for m in members] if members else [model.estimator.booster_]
    total = np.zeros((len(a), len(model.columns) + 1))
    for b in boosters:
        total += np.asarray(b.predict(a, pred_contrib=True, num_threads=threads))
    total /= len(boosters)
    contrib = pd.DataFrame(total[:, :-1], columns=model.columns, index=features.index)
    return contrib, total[:, -1]


def reference_rank_regimens(
    features: pd.DataFrame,
    patients: pd.DataFrame,
    lines: pd.DataFrame,
    models: Mapping[str, EndpointModel],
    catalog: CatalogConfig,
    recommend: RecommendConfig,
    *,
    check_support: bool = True,
) -> Ranking:
    """Score every eligible regimen of every (patient, line) row of ``features`` and rank them.

    With ``check_support`` (the default), regimens the training data does not support for
    the row's cancer type (:func:`supported`) are excluded, with the reason; the policy study
    turns it off to keep every regimen practice could have given."""
    feats = features.reset_index(drop=True)
    pairs, excluded = eligible_pairs(feats, patients, lines, catalog)
    if check_support:
        pairs, unsupported = _supported(pairs, feats, models)
        if len(unsupported):
            excluded = pd.concat([excluded, unsupported], ignore_index=True)
    base = feats.iloc[pairs["row"].to_numpy()].reset_index(drop=True)
    cand = candidate_features(base, pairs["regimen_id"].tolist(), catalog)
    out = cand[KEYS + ["regimen_id"]].copy()
    out["pgx_dose"] = pairs["pgx_dose"].to_numpy(dtype=object)  # pharmacogenomics (issue 17)
    matrices: dict[tuple[object, ...], pd.DataFrame] = {}
    codes: dict[tuple[object, ...], np.ndarray] = {}
    for ep, model in models.items():
        if len(cand):
            key = model.input_key
            if key not in matrices:
                matrices[key] = model.matrix(cand)
                if model.kind == "lightgbm":
                    codes[key] = model.codes(matrices[key])
            p, lo, hi = model.predict_interval(cand, x=matrices[key], codes=codes.get(key))
        else:
            p = lo = hi = np.array([], float)
        out[f"p_{ep}"], out[f"p_{ep}_low"], out[f"p_{ep}_high"] = p, lo, hi
    weights = {k: float(v) for k, v in recommend.weights.items() if k in models}
    out["utility"] = utility(out, weights)
    # the utility's interval: each endpoint at the end of its interval that lowers (raises) it
    lows = pd.DataFrame({f"p_{k}": out[f"p_{k}_low" if w > 0 else f"p_{k}_high"]
                         for k, w in weights.items()})  # fmt: skip
    highs = pd.DataFrame({f"p_{k}": out[f"p_{k}_high" if w > 0 else f"p_{k}_low"]
                          for k, w in weights.items()})  # fmt: skip
    out["utility_low"] = utility(lows, weights)
    out["utility_high"] = utility(highs, weights)
    out = out.sort_values([*KEYS, "utility"], ascending=[True, True, False], kind="stable")
    out["rank"] = out.groupby(KEYS, sort=False).cumcount() + 1
    # not distinguishable: the utility interval overlaps the top regimen's
    top_low = out.groupby(KEYS, sort=False)["utility_low"].transform("first")
    top_high = out.groupby(KEYS, sort=False)["utility_high"].transform("first")
    overlap = (out["utility_high"] >= top_low) & (out["utility_low"] <= top_high)
    n_overlap = overlap.groupby([out[k] for k in KEYS], sort=False).transform("sum")
    out["distinguishable"] = np.where(out["rank"] == 1, n_overlap <= 1, ~overlap)
    out["preset"] = recommend.preset
    order = out.index.to_numpy()
    return Ranking(out.reset_index(drop=True), excluded, cand.iloc[order].reset_index(drop=True),
                   {key: a[order] for key, a in codes.items()})  # fmt: skip


def reference_recommendations(
    features: pd.DataFrame,
    patients: pd.DataFrame,
    lines: pd.DataFrame,
    models: Mapping[str, EndpointModel],
    catalog: CatalogConfig,
    recommend: RecommendConfig,
    *,
    explain: Sequence[str] = EXPLAINED,
    k: int = 3,
    threads: int = 0,
    civic: CivicKB | None = None,
    variants: pd.DataFrame | None = None,
) -> Ranking:
    """Ranked regimens of every (patient, line) in ``features``, with ``drivers`` (JSON: the top
    ``k`` features up and down per explained endpoint; for the first regimen, what separates
    it from the second) and ``evidence`` (JSON: the catalog's trial and published rates, the
    patient's biomarkers it relies on and, with ``civic`` and the patients' ``variants``, the
    matching CIViC evidence items)."""
    ranking = reference_rank_regimens(features, patients, lines, models, catalog, recommend)
    ranked, cand = ranking.ranked, ranking.candidates
    assert cand is not None
    cat = Catalog(catalog)
    drivers: list[dict[str, Any]] = [{} for _ in range(len(ranked))]
    contribs: dict[str, pd.DataFrame] = {}
    for ep in explain:
        model = models.get(ep)
        if model is None or model.kind != "lightgbm" or not len(cand):
            continue
        c, _ = contributions(model, cand, codes=ranking.codes.get(model.input_key),
                             threads=threads)  # fmt: skip
        contribs[ep] = c
        for i, d in enumerate(top_drivers(c, cand, k=k, catalog=catalog)):
            drivers[i][ep] = d
    arrays = {col: cand[col].to_numpy(dtype=object) for col in cand.columns
              if col.startswith("bm_")}  # fmt: skip
    if "response" in contribs and len(ranked):
        # rows are sorted by (patient, line, rank): the first and second of each line
        rank = ranked["rank"].to_numpy()
        first = np.flatnonzero(rank == 1)
        first = first[(first + 1 < len(rank)) & (rank[np.minimum(first + 1, len(rank) - 1)] == 2)]
        second = first + 1
        seps = separations(contribs["response"], cand, first, second, k=k, catalog=catalog)
        regimen = ranked["regimen_id"].to_numpy(dtype=object)
        for i, j, sep in zip(first, second, seps, strict=True):
            drivers[i]["first_vs_second"] = {"second": str(regimen[j]), "response": sep}
    ranked = ranked.copy()
    ranked["drivers"] = [json.dumps(d) for d in drivers]
    bm = [col for col in cand.columns if col.startswith("bm_")]
    by_patient: dict[str, list[tuple[str, str | None]]] = {}
    if civic is not None and variants is not None and len(variants):
        v = variants[variants["patient_key"].isin(set(ranked["patient_key"]))]
        for pk, gene, hgvsp in zip(v["patient_key"], v["gene"], v["hgvsp"], strict=True):
            if isinstance(gene, str):
                by_patient.setdefault(str(pk), []).append(
                    (gene, hgvsp if isinstance(hgvsp, str) else None)
                )
    cancer = cand["cancer_type"].to_numpy(dtype=object) if "cancer_type" in cand.columns else \
        [None] * len(cand)  # fmt: skip
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
    ranked["evidence"] = evidence
    return Ranking(ranked, ranking.excluded, cand, ranking.codes)
