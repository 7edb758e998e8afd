"""The recommender's features, eligibility, ranking and explanations as they were before the
speed work of issue 15, frozen here so that tests can compare the fast path with them,
answer for answer (:func:`reference_recommend` is the previous ``Recommender.recommend``).
Later behaviour changes are added here as they are merged (issue 17's PGx inputs and
dose-aware candidates), so that the comparison stays one of speed work alone.

Do not optimise this module: it is the reference.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from precision_onco.catalog.biomarkers import to_short_hgvsp
from precision_onco.catalog.catalog import PLATINUM_DRUGS, Catalog
from precision_onco.catalog.eligibility import _OPS, Eligibility
from precision_onco.config.schema import (
    BiomarkerConfig,
    CatalogConfig,
    ContraindicationConfig,
    FeaturesConfig,
    RecommendConfig,
    RegimenConfig,
)
from precision_onco.features.build import (
    _KEYS,
    _LABS,
    _LINE_MEASURES,
    _STAGE,
    _extra_inputs,
    _history,
)
from precision_onco.kb.civic import CivicKB
from precision_onco.models.fit import EndpointModel
from precision_onco.pgx.regimens import (
    attach_pgx_state,
    dose_fraction,
    pgx_exclusions,
    regimen_doses,
)
from precision_onco.recommend.explain import separations, top_drivers
from precision_onco.recommend.rank import KEYS, Ranking, _state, _supported, utility
from precision_onco.recommend.table import catalog_evidence


def ref_variant_matches(
    rule: BiomarkerConfig, genes: pd.Series, hgvsp_short: pd.Series
) -> np.ndarray:
    """Boolean vector: which variants satisfy the variant part of ``rule``."""
    if not rule.genes:
        return np.zeros(len(genes), dtype=bool)
    in_gene = genes.isin(rule.genes).to_numpy()
    if not rule.hgvsp:
        protein = hgvsp_short.fillna("").astype(str)
        altering = ~protein.str.contains("=", regex=False) & (protein != "")
        return in_gene & altering.to_numpy()
    rx = re.compile("|".join(f"(?:{p})" for p in rule.hgvsp))
    hit = np.fromiter(
        (
            bool(g) and isinstance(h, str) and rx.search(h) is not None
            for g, h in zip(in_gene, hgvsp_short, strict=True)
        ),
        dtype=bool,
        count=len(in_gene),
    )
    return hit


def ref_marker_matches(rule: BiomarkerConfig, markers: pd.DataFrame) -> np.ndarray:
    if rule.marker is None:
        return np.zeros(len(markers), dtype=bool)
    if rule.marker not in markers.columns:
        raise ValueError(
            f"biomarker '{rule.label}' needs the clinical column '{rule.marker}', which is "
            f"absent (columns: {sorted(markers.columns)})"
        )
    col = markers[rule.marker]
    if rule.min is not None:
        return (pd.to_numeric(col, errors="coerce") >= rule.min).fillna(False).to_numpy(bool)
    if rule.equals is not None:
        return (col.astype("string") == rule.equals).fillna(False).to_numpy(bool)
    return col.notna().to_numpy()


def ref_biomarker_status(
    biomarkers: dict[str, BiomarkerConfig],
    *,
    markers: pd.DataFrame,
    variants: pd.DataFrame | None = None,
    key: str = "patient_key",
) -> pd.DataFrame:
    """Evaluate every biomarker for every row of ``markers``.

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
    DataFrame
        Boolean columns named by biomarker id, aligned with ``markers``.
    """
    out = pd.DataFrame(index=markers.index)
    keys = markers[key]
    short = None
    if variants is not None and len(variants):
        short = variants["hgvsp"].map(to_short_hgvsp)
    for bid, rule in biomarkers.items():
        present = ref_marker_matches(rule, markers)
        if rule.genes and short is not None and variants is not None:
            hit = ref_variant_matches(rule, variants["gene"], short)
            carriers = set(variants.loc[hit, key])
            present = present | keys.isin(carriers).to_numpy()
        out[bid] = present
    return out


def ref_genomics(
    variants: pd.DataFrame,
    patients: pd.Series,
    cfg: FeaturesConfig,
    panel: pd.DataFrame,
    catalog: CatalogConfig,
) -> pd.DataFrame:
    """One row per patient: gene indicators, biomarkers, pathway counts, TMB."""
    idx = pd.Index(patients.unique(), name="patient_key")
    out = pd.DataFrame(index=idx)
    if len(variants):
        v = variants
        keep = v["consequence"].isin(cfg.nonsynonymous) & ~(v["vaf"] < cfg.min_vaf)
        v = v.loc[keep.fillna(False).to_numpy(bool)]
    else:
        v = variants
    genes = panel["symbol"].tolist()
    if len(v):
        hit = v.loc[v["gene"].isin(genes), ["patient_key", "gene"]]
        rows_i = idx.get_indexer(hit["patient_key"])
        cols_i = pd.Index(genes).get_indexer(hit["gene"])
        ok = rows_i >= 0
        grid = np.zeros((len(idx), len(genes)), dtype=np.int8)
        grid[rows_i[ok], cols_i[ok]] = 1
        mat = pd.DataFrame(grid, index=idx, columns=genes)
        tmb = v.groupby("patient_key").size().reindex(idx, fill_value=0) / cfg.panel_size_mb
    else:
        mat = pd.DataFrame(0, index=idx, columns=genes)
        tmb = pd.Series(np.nan, index=idx)
    arr, gene_pos = mat.to_numpy(), {g: j for j, g in enumerate(genes)}
    pathways = {
        f"pathway_{pathway.lower()}": arr[:, [gene_pos[g] for g in members]]
        .sum(axis=1)
        .astype("int16")
        for pathway, members in panel.groupby("pathway")["symbol"]
        if pathway != "OTHER"
    }
    out = pd.concat(
        [
            out,
            mat.add_prefix("gene_").astype("int8"),
            pd.DataFrame(pathways, index=idx),
            tmb.astype("float64").rename("tmb"),
        ],
        axis=1,
    )
    # actionable, variant-defined biomarkers of the catalog (marker-defined ones are
    # line-level columns: PD-L1, MSI, ALK status, ...)
    rules = {k: b for k, b in catalog.biomarkers.items() if b.genes}
    if rules:
        units = pd.DataFrame({"patient_key": idx})
        status = ref_biomarker_status(rules, markers=units, variants=v if len(v) else None)
        status.index = idx
        out = out.join(status.astype("int8").add_prefix("bm_"))
    return out


def ref_contra_hits(
    c: ContraindicationConfig, state: pd.DataFrame, status: pd.DataFrame
) -> np.ndarray:
    n = len(state)
    if c.biomarkers:
        hit = np.zeros(n, dtype=bool)
        for b in c.biomarkers:
            hit |= status[b].to_numpy(bool)
    else:
        assert c.variable is not None and c.op is not None and c.value is not None
        if c.variable not in state.columns:
            raise ValueError(
                f"contraindication '{c.id}' needs the column '{c.variable}', which the patient "
                f"state lacks (columns: {sorted(state.columns)})"
            )
        values = pd.to_numeric(state[c.variable], errors="coerce").to_numpy(float)
        with np.errstate(invalid="ignore"):
            hit = _OPS[c.op](values, float(c.value)) & ~np.isnan(values)
    if c.max_line is not None:
        hit &= state["line_number"].to_numpy() <= c.max_line
    return hit


def ref_regimen_reasons(
    reg: RegimenConfig,
    state: pd.DataFrame,
    status: pd.DataFrame,
    catalog: Catalog,
) -> list[tuple[np.ndarray, str]]:
    """Exclusion tests for one regimen, in the order their reasons are reported."""
    line = state["line_number"].to_numpy()
    tests: list[tuple[np.ndarray, str]] = [
        (
            ~state["cancer_type"]
            .astype("string")
            .isin(reg.cancer_types)
            .fillna(False)
            .to_numpy(bool),
            f"indicated for {', '.join(reg.cancer_types)} only",
        )
    ]
    if reg.histologies:
        codes = (
            state["oncotree_code"].astype("string")
            if "oncotree_code" in state.columns
            else pd.Series(pd.NA, index=state.index, dtype="string")
        )
        unknown = codes.isna().to_numpy()
        tests.append(
            (
                unknown,
                f"indicated for {', '.join(reg.histologies)} histology only; the histology "
                "(OncoTree code) is not recorded",
            )
        )
        tests.append(
            (
                ~unknown & ~codes.isin(reg.histologies).fillna(False).to_numpy(bool),
                f"indicated for {', '.join(reg.histologies)} histology only",
            )
        )
    tests.append(
        (
            (line < reg.lines.min) | (line > reg.lines.max),
            f"allowed at lines {reg.lines.min}-{reg.lines.max} only",
        )
    )
    for b in reg.requires:
        tests.append(
            (~status[b].to_numpy(bool), f"requires {catalog.biomarkers[b].label} (not found)")
        )
    for b in reg.excludes:
        tests.append(
            (status[b].to_numpy(bool), f"not for patients with {catalog.biomarkers[b].label}")
        )
    for c in reg.contraindications:
        tests.append((ref_contra_hits(c, state, status), f"contraindicated: {c.label}"))
    return tests


def ref_eligibility(
    state: pd.DataFrame,
    status: pd.DataFrame,
    catalog: Catalog,
    *,
    prior_exposure: np.ndarray | None = None,
    with_reasons: bool = False,
) -> Eligibility:
    """Evaluate the catalog's eligibility rules.

    Parameters
    ----------
    state : DataFrame
        One row per patient at a line start, with ``cancer_type``,
        ``oncotree_code``, ``line_number`` and the variables named by the
        contraindications (``creatinine_clearance``, ``autoimmune_disease``, …).
    status : DataFrame
        Boolean biomarker columns (by biomarker id) aligned with ``state``,
        as returned by :func:`~precision_onco.catalog.biomarker_status`.
    catalog : Catalog
        The therapy catalog.
    prior_exposure : ndarray of bool, shape (n_rows, n_regimens), optional
        Regimens already received at an earlier line; excluded when the
        catalog forbids re-challenge.
    with_reasons : bool
        Also return the first exclusion reason of every excluded pair.

    Returns
    -------
    Eligibility
    """
    n, r = len(state), len(catalog.regimens)
    mask = np.ones((n, r), dtype=bool)
    reasons = np.full((n, r), None, dtype=object) if with_reasons else None
    for j, reg in enumerate(catalog.regimens):
        tests = ref_regimen_reasons(reg, state, status, catalog)
        if prior_exposure is not None and catalog.config.no_rechallenge:
            tests.append((prior_exposure[:, j], "already received at an earlier line"))
        # Pharmacogenomics (issue 17): avoid where DPYD/UGT1A1/uracilemia guidelines say so;
        # a no-op when the state has no PGx column (see precision_onco.pgx.regimens).
        tests += pgx_exclusions(reg, state)
        for hit, reason in tests:
            if reasons is not None:
                new = hit & mask[:, j]
                reasons[new, j] = reason
            mask[:, j] &= ~hit
    return Eligibility(mask=mask, reasons=reasons, regimen_ids=catalog.regimen_ids)


def ref_prior_exposure(features: pd.DataFrame, lines: pd.DataFrame, cat: Catalog) -> np.ndarray:
    """Regimens each patient received at a line before the row's line."""
    ids = {r: j for j, r in enumerate(cat.regimen_ids)}
    out = np.zeros((len(features), len(ids)), dtype=bool)
    if "regimen_id" not in lines.columns or not len(features):
        return out
    given = lines[["patient_key", "line_number", "regimen_id"]].dropna()
    given = given[given["regimen_id"].isin(list(ids))]
    rows = pd.DataFrame(
        {
            "patient_key": features["patient_key"].to_numpy(),
            "row_line": features["line_number"].to_numpy(),
            "row": np.arange(len(features)),
        }
    )
    pairs = rows.merge(given, on="patient_key")
    pairs = pairs[pairs["line_number"].to_numpy() < pairs["row_line"].to_numpy()]
    out[pairs["row"].to_numpy(), pairs["regimen_id"].map(ids).to_numpy(dtype=int)] = True
    return out


def ref_eligible_pairs(
    features: pd.DataFrame, patients: pd.DataFrame, lines: pd.DataFrame, catalog: CatalogConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(row, regimen_id) of every eligible pair, and the excluded pairs with their reason."""
    cat = Catalog(catalog)
    state = _state(features, patients)
    state = attach_pgx_state(state, patients, lines)  # pharmacogenomics (issue 17)
    bm_ids = list(cat.biomarkers)
    status = pd.DataFrame(
        {
            b: state[f"bm_{b}"].fillna(0).astype(bool).to_numpy()
            if f"bm_{b}" in state.columns
            else np.zeros(len(state), bool)
            for b in bm_ids
        }
    )
    for col in (
        "autoimmune_disease",
        "diabetes",
        "ild_history",
        "prior_irae_grade3",
        "creatinine_clearance",
        "bilirubin",
    ):
        if col not in state.columns:
            state[col] = np.nan
    el = ref_eligibility(
        state, status, cat, prior_exposure=ref_prior_exposure(state, lines, cat), with_reasons=True
    )
    rows, cols = np.nonzero(el.mask)
    pairs = pd.DataFrame({"row": rows, "regimen_id": np.asarray(el.regimen_ids, object)[cols]})
    # Pharmacogenomics (issue 17): starting-dose guidance per pair (JSON text, None: no rule).
    pairs["pgx_dose"] = regimen_doses(
        state, rows, pairs["regimen_id"].tolist(), {r.id: r for r in cat.regimens}
    )
    ex = el.excluded()
    excluded = pd.DataFrame(
        {
            "patient_key": state["patient_key"].to_numpy()[ex["row"]],
            "line_number": state["line_number"].to_numpy()[ex["row"]],
            "regimen_id": ex["regimen_id"].astype("string"),
            "reason": ex["reason"].astype("string"),
        }
    )
    return pairs, excluded


def ref_candidate_features(
    rows: pd.DataFrame, regimen_ids: Sequence[str] | pd.Series, catalog: CatalogConfig
) -> pd.DataFrame:
    """``rows`` (line states) with the features of the candidate regimen of each row.

    ``regimen_ids`` is aligned with ``rows``. Regimens outside the catalog keep
    their id; their class features are missing.
    """
    cat = Catalog(catalog)
    regs = {r.id: r for r in cat.regimens}
    out = rows.copy()
    ids = [None if pd.isna(r) else str(r) for r in regimen_ids]
    out["regimen_id"] = pd.Series(ids, index=rows.index, dtype="string")
    out["regimen_class"] = pd.Series(
        [regs[r].regimen_class if r in regs else None for r in ids],
        index=rows.index,
        dtype="string",
    )
    known = np.array([r in regs for r in ids], dtype=bool)
    for c in cat.config.regimen_classes:
        has = np.array(
            [float(c in Catalog.drug_classes(regs[r])) if r in regs else np.nan for r in ids]
        )
        out[f"regimen_has_{c}"] = has
        if f"prior_{c}" in rows.columns:
            before = (pd.to_numeric(rows[f"prior_{c}"]).to_numpy(dtype=float) > 0).astype(float)
            out[f"same_class_before_{c}"] = has * before
    out["regimen_platinum"] = np.array(
        [float(bool(PLATINUM_DRUGS & set(regs[r].drugs))) if r in regs else np.nan for r in ids]
    )
    rid = ids
    req = np.full(len(rows), np.nan)
    exc = np.full(len(rows), np.nan)
    for i, r in enumerate(rid):
        if r is None or not known[i]:
            continue
        reg = regs[r]
        if reg.requires:
            cols = [f"bm_{b}" for b in reg.requires if f"bm_{b}" in rows.columns]
            req[i] = float(bool(cols) and all(rows[c].iat[i] == 1 for c in cols))
        else:
            req[i] = 1.0
        cols = [f"bm_{b}" for b in reg.excludes if f"bm_{b}" in rows.columns]
        exc[i] = float(any(rows[c].iat[i] == 1 for c in cols))
    out["required_biomarkers_present"] = req
    out["excluded_biomarker_present"] = exc
    return out.copy()  # one block per dtype: later column selections stay fast


def ref_stage_rank(stage: pd.Series) -> pd.Series:
    s = stage.astype("string").str.upper().str.extract(r"^(IV|III|II|I|0)", expand=False)
    return s.map(_STAGE).astype("Float64").astype("float64")


def ref_build_features(
    patients: pd.DataFrame,
    lines: pd.DataFrame,
    variants: pd.DataFrame,
    cfg: FeaturesConfig,
    catalog: CatalogConfig,
    *,
    panel: pd.DataFrame,
    endpoint_columns: Iterable[str] = (),
) -> pd.DataFrame:
    """One row per (patient_key, line_number): the line state and the regimen given.

    Returns keys, ``regimen_id`` (the regimen actually given) and the features.
    """
    cat = Catalog(catalog)
    lines = lines.reset_index(drop=True)
    out = lines[["patient_key", "line_number"]].copy()
    out["line_number"] = out["line_number"].astype("int64")
    if "regimen_id" in lines.columns:
        out["regimen_id"] = lines["regimen_id"].astype("string")
    for c in _LABS:
        if c in lines.columns:
            out[c] = pd.to_numeric(lines[c], errors="coerce").astype("float64")
    for c in _LINE_MEASURES:
        if c in lines.columns:
            out[c] = pd.to_numeric(lines[c], errors="coerce").astype("float64")
    if "msi_status" in lines.columns:
        out["msi_high"] = (
            (lines["msi_status"] == "MSI-H").astype("float64").where(lines["msi_status"].notna())
        )
    pat = patients.set_index("patient_key")
    pcols: dict[str, pd.Series] = {}
    if "sex" in pat.columns:
        pcols["sex_male"] = (pat["sex"] == "M").astype("float64").where(pat["sex"].notna())
    if "cancer_type" in pat.columns:
        pcols["cancer_type"] = pat["cancer_type"].astype("string")
    if "stage" in pat.columns:
        pcols["stage_rank"] = ref_stage_rank(pat["stage"])
    if "smoking_status" in pat.columns:
        pcols["smoking_status"] = pat["smoking_status"].astype("string")
    for c, positive in (
        ("hr_status", "positive"),
        ("her2_status", "positive"),
        ("alk_status", "rearranged"),
        ("germline_brca", "pathogenic"),
    ):
        if c in pat.columns:
            pcols[c.replace("_status", "") + "_positive"] = (pat[c] == positive).astype("float64")
    for c in ("autoimmune_disease", "diabetes", "ild_history", "bmi"):
        if c in pat.columns:
            pcols[c] = pd.to_numeric(pat[c], errors="coerce").astype("float64")
    # germline pharmacogenomics (issue 17, added to the reference as it was merged)
    if "dpyd_activity_score" in pat.columns:
        pcols["dpyd_activity_score"] = pd.to_numeric(
            pat["dpyd_activity_score"], errors="coerce"
        ).astype("float64")
    if "ugt1a1_phenotype" in pat.columns:
        ph = pat["ugt1a1_phenotype"].astype("string")
        known = ph.isin(["normal", "intermediate", "poor"]).fillna(False).to_numpy(bool)
        pcols["ugt1a1_poor"] = (ph == "poor").astype("float64").where(known)
    if pcols:
        pf = pd.DataFrame(pcols)
        out = out.join(pf, on="patient_key")
    hist = _history(lines, cat)
    # a history column the table itself provides (e.g. a cohort's own prior-chemotherapy
    # flag) is taken from the table: the catalog-based count knows only catalog regimens
    given = [c for c in hist.columns if c in lines.columns]
    for c in given:
        hist[c] = pd.to_numeric(lines[c], errors="coerce").astype("float64").to_numpy()
    out = pd.concat([out, hist], axis=1)
    if len(variants):
        gen = ref_genomics(variants, out["patient_key"], cfg, panel, catalog)
        if "tmb" in out.columns:  # a measured TMB given with the line wins
            gen = gen.drop(columns="tmb")
        out = out.join(gen, on="patient_key")
    # marker-defined catalog biomarkers (PD-L1, MSI, ALK, HR, ...) at line start
    marker_rules = {k: b for k, b in catalog.biomarkers.items() if b.marker and not b.genes}
    if marker_rules:
        markers = lines.merge(patients, on="patient_key", how="left", suffixes=("", "_pt"))
        usable = {k: b for k, b in marker_rules.items() if b.marker in markers.columns}
        if usable:
            st = ref_biomarker_status(usable, markers=markers)
            out = pd.concat([out, st.astype("int8").add_prefix("bm_")], axis=1)
    out = _extra_inputs(out, lines, patients, cfg, endpoint_columns)
    if "cancer_type" in out.columns:  # a rule defined for some cancer types only
        for bid, rule in catalog.biomarkers.items():
            col = f"bm_{bid}"
            if rule.cancer_types and col in out.columns:
                defined = out["cancer_type"].astype("string").isin(rule.cancer_types)
                out[col] = out[col].astype("float64").where(defined.fillna(False).to_numpy(bool))
    out = out.drop(columns=[c for c in cfg.exclude if c in out.columns])
    return out.sort_values(list(_KEYS), kind="stable").reset_index(drop=True)


def reference_recommend(rec: Any, case: Any) -> dict[str, Any]:
    """The previous ``Recommender.recommend(case).to_dict()`` for a ranked case."""
    from precision_onco.recommend.service import PatientResult

    r = rec.preset(case.preset)
    patients, lines, variants = case.tables()
    feats = ref_build_features(
        patients, lines, variants, rec.features, rec.catalog, panel=rec.panel
    )
    row = feats[feats["line_number"] == case.line_number]
    result = reference_recommendations(
        row,
        patients,
        lines,
        rec.models,
        rec.catalog,
        r,
        civic=rec.civic,
        variants=variants,
        threads=rec.scoring_threads(),
    )
    ranked = result.ranked.drop(columns=["preset"], errors="ignore")
    return PatientResult(
        "ranked",
        "",
        case.patient_key,
        case.line_number,
        r.preset,
        ranked,
        result.excluded,
        rec.provenance,
    ).to_dict()


def contributions(
    model: EndpointModel,
    features: pd.DataFrame,
    *,
    x: pd.DataFrame | None = None,
    codes: np.ndarray | None = None,
    threads: int = 0,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Per-row TreeSHAP contributions (log-odds) by feature, and the bias term.

    Returns ``(contrib, bias)``: ``contrib.sum(axis=1) + bias`` equals the mean raw
    log-odds of the model's members for each row. ``x``: the model matrix of
    ``features`` if already built, ``codes`` its float codes; ``threads``: LightGBM threads
    (0: all cores).
    """
    if model.kind != "lightgbm":
        raise ValueError(
            f"exact TreeSHAP needs a tree model; endpoint {model.endpoint!r} is {model.kind}"
        )
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
    pairs, excluded = ref_eligible_pairs(feats, patients, lines, catalog)
    if check_support:
        pairs, unsupported = _supported(pairs, feats, models)
        if len(unsupported):
            excluded = pd.concat([excluded, unsupported], ignore_index=True)
    base = feats.iloc[pairs["row"].to_numpy()].reset_index(drop=True)
    cand = ref_candidate_features(base, pairs["regimen_id"].tolist(), catalog)
    # pharmacogenomics (issue 17, as merged): candidates scored at their recommended dose
    if "pgx_dose" in pairs.columns:
        cand["relative_dose"] = np.array([dose_fraction(d) for d in pairs["pgx_dose"]], float)
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
    lows = pd.DataFrame(
        {f"p_{k}": out[f"p_{k}_low" if w > 0 else f"p_{k}_high"] for k, w in weights.items()}
    )
    highs = pd.DataFrame(
        {f"p_{k}": out[f"p_{k}_high" if w > 0 else f"p_{k}_low"] for k, w in weights.items()}
    )
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
    return Ranking(
        out.reset_index(drop=True),
        excluded,
        cand.iloc[order].reset_index(drop=True),
        {key: a[order] for key, a in codes.items()},
    )


#: The endpoints the previous implementation explained (it had them as a constant; the
#: library now takes them from conf/endpoints through endpoint_roles).
EXPLAINED: tuple[str, ...] = ("response", "ae_grade3")


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
        c, _ = contributions(model, cand, codes=ranking.codes.get(model.input_key), threads=threads)
        contribs[ep] = c
        for i, d in enumerate(top_drivers(c, cand, k=k, catalog=catalog)):
            drivers[i][ep] = d
    arrays = {
        col: cand[col].to_numpy(dtype=object) for col in cand.columns if col.startswith("bm_")
    }
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
    ranked["evidence"] = evidence
    return Ranking(ranked, ranking.excluded, cand, ranking.codes)
