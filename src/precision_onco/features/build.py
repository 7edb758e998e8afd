"""Model inputs for each (patient, therapy line), from information known when the line starts.

Three parts (DESIGN §3–§4):

- **Line state** (:func:`build_features`): demographics, stage and cancer type; ECOG,
  labs, PD-L1 and MSI at line start; germline pharmacogenomics (DPYD activity score,
  UGT1A1 poor metaboliser) and the relative starting dose of the regimen; the treatment
  history *before* the line
  (number of prior lines, prior regimen classes, prior best response, prior
  grade >= 3 toxicity); genomics from the tumour's variant calls (gene-level
  alteration indicators over the panel, the catalog's actionable biomarkers,
  pathway counts, TMB); and, for user cohorts, any other numeric column of the
  lines table. Outcomes of the line itself are never features.
- **Candidate regimen** (:func:`candidate_features`): the regimen and its class,
  its drug classes, whether the patient received one of those classes before,
  and whether the regimen's required or excluded biomarkers are present — so
  one model scores every candidate regimen of a line.

Variant calls carry no date in the canonical table: they describe the tumour
sample taken at diagnosis, before any line.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from precision_onco.catalog.biomarkers import biomarker_status_columns
from precision_onco.catalog.catalog import PLATINUM_DRUGS, Catalog
from precision_onco.config.schema import CatalogConfig, FeaturesConfig
from precision_onco.errors import ConfigError, InputError

__all__ = [
    "CATEGORICAL",
    "OUTCOME_COLUMNS",
    "build_features",
    "candidate_features",
    "load_panel",
    "model_matrix",
    "undeclared_numeric",
]

#: Columns that describe what happened during or after the line: never features.
OUTCOME_COLUMNS = frozenset(
    {
        "best_response",
        "objective_response",
        "end_date",
        "discontinued_for_toxicity",
        "source_line",
        "drugs",
        "held_out",
    }
)
_OUTCOME_RX = re.compile(r"^ae_.*_max_grade$")
#: Categorical model inputs (the rest are numeric).
CATEGORICAL = ("cancer_type", "regimen_id", "regimen_class", "smoking_status")
_KEYS = ("patient_key", "line_number")
_LABS = (
    "age_at_line",
    "ecog",
    "albumin",
    "nlr",
    "hemoglobin",
    "platelets",
    "creatinine_clearance",
    "alt",
    "bilirubin",
    "ldh",
    "pdl1_tps",
)
#: Canonical per-line measurements that are inputs when the lines table has them (TMB: the
#: measured value, which wins over the count from the variant calls; relative_dose: the
#: starting dose of the regimen given / its standard dose, issue 17 — a candidate regimen
#: is scored at its recommended starting dose instead, see recommend.rank).
_LINE_MEASURES = ("tmb", "relative_dose")
_STAGE = {"0": 0, "I": 1, "II": 2, "III": 3, "IV": 4}
_RESPONSE_RANK = {"PD": 0, "SD": 1, "PR": 2, "CR": 3}


def load_panel(cfg: FeaturesConfig, root: Path) -> pd.DataFrame:
    """The gene panel: ``symbol`` and ``pathway`` (``OTHER`` when not given)."""
    if cfg.panel_file:
        p = root / cfg.panel_file
        if not p.is_file():
            raise InputError(f"features.panel_file: {p} not found")
        panel = pd.read_csv(p, sep="\t", comment="#")
        if "symbol" not in panel.columns:
            raise InputError(f"features.panel_file: {p} has no 'symbol' column")
    else:
        with resources.files("precision_onco.synth").joinpath("data/genes.tsv").open() as fh:
            panel = pd.read_csv(fh, sep="\t", comment="#")
    if "pathway" not in panel.columns:
        panel["pathway"] = "OTHER"
    return panel[["symbol", "pathway"]].drop_duplicates("symbol").reset_index(drop=True)


#: A frame, or the columns of one being built (name -> values, all of the same length).
_Columns = TypeVar("_Columns", pd.DataFrame, dict[str, object])

_STAGE_RX = re.compile(r"^(IV|III|II|I|0)")


def _float_column(col: pd.Series) -> pd.Series:
    """``pd.to_numeric(col, errors="coerce").astype("float64")``, without the conversion
    calls when ``col`` already holds float64 numbers."""
    if col.dtype == np.float64:
        return col.copy()
    return pd.to_numeric(col, errors="coerce").astype("float64")


def _is(col: pd.Series, *values: str) -> np.ndarray:
    """Whether each value of ``col`` is one of the texts ``values``, as 0.0/1.0 (missing: 0):
    ``col.isin(values).astype("float64")`` without the pandas round trip."""
    ok = set(values)
    v = col.to_numpy(dtype=object)
    return np.fromiter(
        (isinstance(x, str) and x in ok for x in v), dtype=bool, count=len(v)
    ).astype("float64")


def _stage_rank(stage: pd.Series) -> pd.Series:
    """0-4 from the stage's leading Roman numeral (``IIIB`` -> 3), NaN when there is none."""
    out = np.full(len(stage), np.nan)
    for i, v in enumerate(stage.astype("string").to_numpy(dtype=object)):
        if isinstance(v, str):
            m = _STAGE_RX.match(v.upper())
            if m:
                out[i] = _STAGE[m.group(1)]
    return pd.Series(out, index=stage.index, dtype="float64")


def _pathway_members(panel: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """``pathway_<name>`` and the panel positions of its genes, pathways in sorted order
    (``OTHER`` left out)."""
    groups: dict[str, list[int]] = {}
    for j, pathway in enumerate(panel["pathway"].tolist()):
        if isinstance(pathway, str):
            groups.setdefault(pathway, []).append(j)
    return [
        (f"pathway_{p.lower()}", np.array(groups[p], dtype=int))
        for p in sorted(groups)
        if p != "OTHER"
    ]


def _take(col: object, pos: np.ndarray | None) -> object:
    """The values of ``col`` (a Series or an array) at positions ``pos`` (``None``: all, in
    order), their dtype kept."""
    v = col.to_numpy() if isinstance(col, pd.Series) and isinstance(col.dtype, np.dtype) else col
    if isinstance(v, pd.Series):
        v = v.array
    if pos is None:
        return v
    if isinstance(v, np.ndarray):
        return v[pos]
    if isinstance(v, ExtensionArray):
        return v.take(pos)
    return np.asarray(v)[pos]


def _join_on_key(
    cols: dict[str, object], index: pd.Index, right: dict[str, object], n: int
) -> dict[str, object]:
    """``cols`` (the ``n`` rows' columns, ``patient_key`` among them) with the columns
    ``right`` of a table on ``index`` (patient keys), as
    ``out.join(pd.DataFrame(right, index=index), on="patient_key")`` gives them: by position
    when every key is found once (the usual case: no missing values to introduce), else
    pandas' join."""
    pos = index.get_indexer(cols["patient_key"]) if index.is_unique else None
    if pos is None or (pos < 0).any() or not set(cols).isdisjoint(right):
        table = pd.DataFrame({c: _take(v, None) for c, v in right.items()}, index=index)
        out = pd.DataFrame(cols, index=pd.RangeIndex(n)).join(table, on="patient_key")
        return dict(out.items())
    # each row its own key in the table's order (one line per patient): no reordering
    at = None if np.array_equal(pos, np.arange(len(index))) else pos
    return {**cols, **{c: _take(v, at) for c, v in right.items()}}


def _concat(cols: dict[str, object], new: dict[str, object], n: int) -> dict[str, object]:
    """``pd.concat([out, new], axis=1)`` on the columns (a name in both: pandas' concat)."""
    if set(cols).isdisjoint(new):
        return {**cols, **new}
    index = pd.RangeIndex(n)
    out = pd.concat([pd.DataFrame(cols, index=index), pd.DataFrame(new, index=index)], axis=1)
    return dict(out.items())


def _marker_table(lines: pd.DataFrame, patients: pd.DataFrame, names: set[str]) -> pd.DataFrame:
    """The lines with the patients' columns (a patient's column also in the lines gets the
    suffix ``_pt``), as ``lines.merge(patients, on="patient_key", how="left")`` — only the
    ``names`` the marker rules read, taken by position when every patient is found once."""
    keys = patients["patient_key"]
    pos = pd.Index(keys).get_indexer(lines["patient_key"]) if keys.is_unique else None
    if pos is None or (pos < 0).any():
        return lines.merge(patients, on="patient_key", how="left", suffixes=("", "_pt"))
    cols: dict[str, pd.Series] = {"patient_key": lines["patient_key"]}
    for name in sorted(names):
        if name in lines.columns:
            cols[name] = lines[name]
            continue
        both = name.endswith("_pt") and name[:-3] in lines.columns
        src = name[:-3] if both else name
        if src in patients.columns and src != "patient_key" and (both or src not in lines.columns):
            col = patients[src].iloc[pos]
            col.index = lines.index
            cols[name] = col
    return pd.DataFrame(cols, index=lines.index)


def _genomics(
    variants: pd.DataFrame,
    patients: pd.Series,
    cfg: FeaturesConfig,
    panel: pd.DataFrame,
    catalog: CatalogConfig,
) -> tuple[pd.Index, dict[str, object]]:
    """One row per patient (the index returned): gene indicators, pathway counts, TMB,
    biomarkers, as columns of arrays."""
    idx = pd.Index(patients.unique(), name="patient_key")
    if len(variants):
        v = variants
        keep = v["consequence"].isin(cfg.nonsynonymous) & ~(v["vaf"] < cfg.min_vaf)
        v = v.loc[keep.fillna(False).to_numpy(bool)]
    else:
        v = variants
    genes = panel["symbol"].tolist()
    grid = np.zeros((len(idx), len(genes)), dtype=np.int8)
    if len(v):
        gene_pos = {g: j for j, g in enumerate(genes)}
        rows_i = idx.get_indexer(v["patient_key"])
        cols_i = np.array(
            [
                gene_pos.get(g, -1) if isinstance(g, str) else -1
                for g in v["gene"].to_numpy(dtype=object)
            ],
            dtype=int,
        )
        ok = (rows_i >= 0) & (cols_i >= 0)
        grid[rows_i[ok], cols_i[ok]] = 1
        counts = np.bincount(rows_i[rows_i >= 0], minlength=len(idx))
        tmb = counts / cfg.panel_size_mb
    else:
        tmb = np.full(len(idx), np.nan)
    pathways = _pathway_members(panel)
    cols: dict[str, object] = {f"gene_{g}": grid[:, j] for j, g in enumerate(genes)}
    for name, members in pathways:
        cols[name] = grid[:, members].sum(axis=1).astype("int16")
    cols["tmb"] = np.asarray(tmb, dtype="float64")
    # actionable, variant-defined biomarkers of the catalog (marker-defined ones are
    # line-level columns: PD-L1, MSI, ALK status, ...)
    rules = {k: b for k, b in catalog.biomarkers.items() if b.genes}
    if rules:
        units = pd.DataFrame({"patient_key": idx})
        status = biomarker_status_columns(rules, markers=units, variants=v if len(v) else None)
        cols.update(_indicators(status))
    return idx, cols


def _indicators(status: Mapping[str, np.ndarray]) -> dict[str, object]:
    """Boolean biomarker columns (by id) as ``bm_<id>`` int8 indicators."""
    return {f"bm_{c}": v.astype("int8") for c, v in status.items()}


def _history(lines: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """What happened on the patient's earlier lines, for every line."""
    return pd.DataFrame(_history_columns(lines, catalog), index=lines.index)


def _history_columns(lines: pd.DataFrame, catalog: Catalog) -> dict[str, np.ndarray]:
    """:func:`_history`'s columns, as arrays in the rows' order."""
    pos = _line_order(lines)
    pk = lines["patient_key"].to_numpy()[pos]
    start = np.r_[True, pk[1:] != pk[:-1]] if len(pk) else np.zeros(0, bool)
    group = np.cumsum(start) - 1
    cols = _regimen_history(lines, catalog, pos, start=start, group=group)
    cols["prior_lines"] = lines["line_number"].to_numpy(dtype="float64")[pos] - 1
    if "best_response" in lines.columns:
        rank = np.array(
            [
                _RESPONSE_RANK.get(v, np.nan) if isinstance(v, str) else np.nan
                for v in lines["best_response"].to_numpy(dtype=object)
            ],
            dtype="float64",
        )[pos]
        prev = _previous(rank, start)
        cols["prior_best_response"] = prev
        cols["prior_best_response_ever"] = _group_cummax(prev, group)
    for src, name in (
        ("ae_any_max_grade", "prior_grade3"),
        ("ae_immune_related_max_grade", "prior_irae_grade3"),
    ):
        if src in lines.columns:
            g = lines[src].to_numpy(dtype="float64", na_value=np.nan)[pos]
            cols[name] = np.clip(_before((g >= 3).astype("float64"), start, group), None, 1)
    inverse = np.empty(len(pos), dtype=int)
    inverse[pos] = np.arange(len(pos))
    return {k: v[inverse] for k, v in cols.items()}


def _line_order(lines: pd.DataFrame) -> np.ndarray:
    """Row positions of ``lines`` in (patient_key, line_number) order."""
    if _sorted_by_keys(lines):  # row positions in patient, line order
        return np.arange(len(lines))
    order = lines.sort_values(["patient_key", "line_number"], kind="stable").index
    return lines.index.get_indexer(order)


def _before(x: np.ndarray, start: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Sum of ``x`` over the patient's earlier lines (ordered rows)."""
    c = np.cumsum(x)
    first = np.flatnonzero(start)
    return c - x - (c - x)[first][group]


def _previous(x: np.ndarray, start: np.ndarray) -> np.ndarray:
    """``x`` of the patient's previous line (NaN at the first)."""
    out = np.r_[np.nan, x[:-1]] if len(x) else x.copy()
    out[start] = np.nan
    return out


def _regimen_history(
    lines: pd.DataFrame,
    catalog: Catalog,
    pos: np.ndarray,
    *,
    start: np.ndarray,
    group: np.ndarray,
) -> dict[str, np.ndarray]:
    """The ``prior_<class>`` and ``prior_platinum`` counts of the earlier lines' regimens."""
    classes = catalog.config.regimen_classes
    regs = {r.id: r for r in catalog.regimens}
    cols: dict[str, np.ndarray] = {}
    rid = (
        lines["regimen_id"].to_numpy(dtype=object)[pos]
        if "regimen_id" in lines.columns
        else np.full(len(pos), None, dtype=object)
    )
    comp = [set(Catalog.drug_classes(regs[r])) if r in regs else set() for r in rid]
    for c in classes:
        cols[f"prior_{c}"] = _before(np.array([float(c in s) for s in comp]), start, group)
    if "regimen_id" in lines.columns:
        plat = np.array(
            [float(r in regs and bool(PLATINUM_DRUGS & set(regs[r].drugs))) for r in rid]
        )
        cols["prior_platinum"] = _before(plat, start, group)
    return cols


def _group_cummax(x: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Running maximum of ``x`` within each run of equal ``group`` (NaN skipped, and NaN where
    ``x`` is): ``pd.Series(x).groupby(group).cummax()`` for consecutive groups."""
    if len(x) > 64:  # many rows: pandas' grouped kernel
        return pd.Series(x).groupby(group).cummax().to_numpy(dtype="float64")
    out = np.full(len(x), np.nan)
    best, current = np.nan, None
    for i, (v, g) in enumerate(zip(x.tolist(), group.tolist(), strict=True)):
        if g != current:
            best, current = np.nan, g
        if not math.isnan(v):
            best = v if math.isnan(best) or v > best else best
            out[i] = best
    return out


def _extra_inputs(
    out: _Columns,
    lines: pd.DataFrame,
    patients: pd.DataFrame,
    cfg: FeaturesConfig,
    endpoint_columns: Iterable[str],
) -> _Columns:
    """Add the declared ``features.extra`` columns (from the lines table, else the patients
    table); a declared column that is absent, not numeric or an outcome is an error."""
    forbidden = (
        OUTCOME_COLUMNS
        | set(endpoint_columns)
        | {"patient_key", "start_date", "regimen_id", "line_number"}
    )
    for c in cfg.extra:
        where = f"features.extra: {c!r}"
        if c in forbidden or _OUTCOME_RX.match(str(c)):
            raise ConfigError(
                f"{where} is an outcome, a key or the regimen given; it can never be a model input"
            )
        if c in out:
            raise ConfigError(f"{where} is already a canonical feature; list only other columns")
        if c in lines.columns:
            col = lines[c]
        elif c in patients.columns:
            col = pd.Series(out["patient_key"]).map(patients.set_index("patient_key")[c])
        else:
            near = difflib.get_close_matches(
                c, [str(x) for x in [*lines.columns, *patients.columns]], n=1, cutoff=0.6
            )
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ConfigError(f"{where} is not a column of the lines or patients table{hint}")
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
            raise ConfigError(
                f"{where} is not numeric (dtype {col.dtype}); map it to numbers "
                "with cohort.inputs.<table>.values"
            )
        out[c] = pd.to_numeric(col, errors="coerce").astype("float64").to_numpy()
    return out


def undeclared_numeric(lines: pd.DataFrame, features: pd.DataFrame) -> list[str]:
    """Numeric columns of the lines table that are neither inputs nor outcomes: what a user
    might have meant to declare in ``features.extra`` (listed in the featurize log)."""
    skip = (
        set(features.columns)
        | OUTCOME_COLUMNS
        | {"patient_key", "line_number", "start_date", "regimen_id"}
    )
    return [
        str(c)
        for c in lines.columns
        if c not in skip
        and not _OUTCOME_RX.match(str(c))
        and (pd.api.types.is_numeric_dtype(lines[c]) or pd.api.types.is_bool_dtype(lines[c]))
    ]


def build_features(
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
    base = _line_columns(lines)
    n = len(lines)
    # the columns are gathered as arrays and the frame made once at the end: on a one-row
    # input every pandas insert, join or concat costs as much as the whole row's values
    out = base
    # the patients' columns in the patients' row order, joined on their keys below
    pcols = _patient_columns(patients)
    if pcols:
        out = _join_on_key(out, pd.Index(patients["patient_key"]), pcols, n)
    out = _concat(out, _table_history(lines, cat), n)
    if len(variants):
        gen_index, gen = _genomics(variants, base["patient_key"], cfg, panel, catalog)
        if "tmb" in out:  # a measured TMB given with the line wins
            del gen["tmb"]
        out = _join_on_key(out, gen_index, gen, n)
    out = _marker_columns(out, lines, patients, catalog, n=n)
    out = _extra_inputs(out, lines, patients, cfg, endpoint_columns)
    if "cancer_type" in out:  # a rule defined for some cancer types only
        _restrict_to_cancer_types(out, catalog)
    for c in cfg.exclude:
        out.pop(c, None)
    return _features_frame(out, n)


def _line_columns(lines: pd.DataFrame) -> dict[str, object]:
    """The line's own columns (keys, regimen, labs, line measures, MSI-high)."""
    # built as one frame (not inserted one by one)
    base: dict[str, object] = {
        "patient_key": lines["patient_key"].copy(),
        "line_number": lines["line_number"].astype("int64"),
    }
    if "regimen_id" in lines.columns:
        base["regimen_id"] = lines["regimen_id"].astype("string")
    for c in (*_LABS, *_LINE_MEASURES):
        if c in lines.columns and c not in base:
            base[c] = _float_column(lines[c])
    if "msi_status" in lines.columns:
        base["msi_high"] = (
            (lines["msi_status"] == "MSI-H").astype("float64").where(lines["msi_status"].notna())
        )
    return base


def _patient_columns(pat: pd.DataFrame) -> dict[str, object]:
    """The patients' columns (sex, cancer type, stage, statuses, comorbidities, PGx), in the
    patients' row order."""
    pcols: dict[str, object] = {}
    if "sex" in pat.columns:
        sex = pat["sex"]
        pcols["sex_male"] = np.where(sex.notna().to_numpy(bool), _is(sex, "M"), np.nan)
    if "cancer_type" in pat.columns:
        pcols["cancer_type"] = pat["cancer_type"].astype("string")
    if "stage" in pat.columns:
        pcols["stage_rank"] = _stage_rank(pat["stage"])
    if "smoking_status" in pat.columns:
        pcols["smoking_status"] = pat["smoking_status"].astype("string")
    _status_columns(pcols, pat)
    for c in ("autoimmune_disease", "diabetes", "ild_history", "bmi"):
        if c in pat.columns:
            pcols[c] = _float_column(pat[c])
    _pgx_columns(pcols, pat)
    return pcols


def _status_columns(pcols: dict[str, object], pat: pd.DataFrame) -> None:
    """Add the ``*_positive`` indicators of the patients' HR, HER2, ALK and BRCA statuses."""
    for c, positive in (
        ("hr_status", "positive"),
        ("her2_status", "positive"),
        ("alk_status", "rearranged"),
        ("germline_brca", "pathogenic"),
    ):
        if c in pat.columns:
            # missing stays missing (NaN) whatever the column's dtype: a payload's null
            # (object dtype, where None == "positive" is False) is unknown, never negative
            col = pat[c]
            pcols[c.replace("_status", "") + "_positive"] = (
                (col == positive).astype("float64").where(col.notna())
            )


def _pgx_columns(pcols: dict[str, object], pat: pd.DataFrame) -> None:
    """Add germline pharmacogenomics (issue 17): missing when not (fully) tested."""
    if "dpyd_activity_score" in pat.columns:
        pcols["dpyd_activity_score"] = _float_column(pat["dpyd_activity_score"])
    if "ugt1a1_phenotype" in pat.columns:
        ph = pat["ugt1a1_phenotype"]
        if not isinstance(ph.dtype, pd.StringDtype):
            ph = ph.astype("string")
        known = _is(ph, "normal", "intermediate", "poor").astype(bool)
        pcols["ugt1a1_poor"] = np.where(known, _is(ph, "poor"), np.nan)


def _table_history(lines: pd.DataFrame, cat: Catalog) -> dict[str, object]:
    """The history columns, each taken from the lines table when it has one."""
    hist = _history_columns(lines, cat)
    # a history column the table itself provides (e.g. a cohort's own prior-chemotherapy
    # flag) is taken from the table: the catalog-based count knows only catalog regimens
    for c in hist:
        if c in lines.columns:
            hist[c] = pd.to_numeric(lines[c], errors="coerce").astype("float64").to_numpy()
    return dict(hist)


def _marker_columns(
    out: dict[str, object],
    lines: pd.DataFrame,
    patients: pd.DataFrame,
    catalog: CatalogConfig,
    *,
    n: int,
) -> dict[str, object]:
    """Add the marker-defined catalog biomarkers (PD-L1, MSI, ALK, HR, ...) at line start."""
    marker_rules = {k: b for k, b in catalog.biomarkers.items() if b.marker and not b.genes}
    if marker_rules:
        markers = _marker_table(lines, patients, {str(b.marker) for b in marker_rules.values()})
        usable = {k: b for k, b in marker_rules.items() if b.marker in markers.columns}
        if usable:
            st = biomarker_status_columns(usable, markers=markers)
            out = _concat(out, _indicators(st), n)
    return out


def _restrict_to_cancer_types(out: dict[str, object], catalog: CatalogConfig) -> None:
    """Blank (NaN) a biomarker column outside the cancer types its rule is defined for."""
    cancer = pd.array(out["cancer_type"], dtype="string").to_numpy(dtype=object)
    for bid, rule in catalog.biomarkers.items():
        col = f"bm_{bid}"
        if rule.cancer_types and col in out:
            types = set(rule.cancer_types)
            defined = np.fromiter(
                (isinstance(c, str) and c in types for c in cancer),
                dtype=bool,
                count=len(cancer),
            )
            values = np.asarray(out[col], dtype="float64")
            out[col] = np.where(defined, values, np.nan)


def _features_frame(out: dict[str, object], n: int) -> pd.DataFrame:
    """The columns as one frame, in (patient_key, line_number) order."""
    # arrays, not Series (all on the rows' RangeIndex): no index alignment per column
    frame = pd.DataFrame({c: _take(v, None) for c, v in out.items()}, index=pd.RangeIndex(n))
    if _sorted_by_keys(frame):  # e.g. one patient's lines: no reordering copy
        return frame
    return frame.sort_values(list(_KEYS), kind="stable").reset_index(drop=True)


def _sorted_by_keys(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` is already in (patient_key, line_number) order, so that a stable
    sort on them would keep every row where it is (keys missing: not decided, False)."""
    if len(frame) <= 1:
        return True
    pk = frame["patient_key"].to_numpy(dtype=object)
    line = frame["line_number"].to_numpy()
    if not all(isinstance(k, str) for k in pk) or line.dtype.kind not in "iu":
        return False
    return all(
        a < b or (a == b and la <= lb)
        for a, b, la, lb in zip(pk[:-1], pk[1:], line[:-1], line[1:], strict=True)
    )


def candidate_features(
    rows: pd.DataFrame, regimen_ids: Sequence[str] | pd.Series, catalog: CatalogConfig
) -> pd.DataFrame:
    """``rows`` (line states) with the features of the candidate regimen of each row.

    ``regimen_ids`` is aligned with ``rows``. Regimens outside the catalog keep
    their id; their class features are missing.
    """
    cat = Catalog(catalog)
    regs = {r.id: r for r in cat.regimens}
    ids = [None if pd.isna(r) else str(r) for r in regimen_ids]
    new: dict[str, object] = {}
    new["regimen_id"] = pd.Series(ids, index=rows.index, dtype="string")
    new["regimen_class"] = pd.Series(
        [regs[r].regimen_class if r in regs else None for r in ids],
        index=rows.index,
        dtype="string",
    )
    known = np.array([r in regs for r in ids], dtype=bool)
    drug_classes = {r: Catalog.drug_classes(reg) for r, reg in regs.items()}
    for c in cat.config.regimen_classes:
        has = np.array([float(c in drug_classes[r]) if r in regs else np.nan for r in ids])
        new[f"regimen_has_{c}"] = has
        if f"prior_{c}" in rows.columns:
            prior = rows[f"prior_{c}"]
            if prior.dtype != np.float64:
                prior = pd.to_numeric(prior)
            before = (prior.to_numpy(dtype=float) > 0).astype(float)
            new[f"same_class_before_{c}"] = has * before
    new["regimen_platinum"] = np.array(
        [float(bool(PLATINUM_DRUGS & set(regs[r].drugs))) if r in regs else np.nan for r in ids]
    )
    req = np.full(len(rows), np.nan)
    exc = np.full(len(rows), np.nan)
    # the biomarker indicators the candidates' rules read
    read = {
        f"bm_{b}" for r in set(ids) if r in regs for b in (*regs[r].requires, *regs[r].excludes)
    }
    bm = {c: rows[c].to_numpy(dtype=object) for c in rows.columns if c in read}
    for i, r in enumerate(ids):
        if r is None or not known[i]:
            continue
        reg = regs[r]
        if reg.requires:
            cols = [f"bm_{b}" for b in reg.requires if f"bm_{b}" in bm]
            req[i] = float(bool(cols) and all(bm[c][i] == 1 for c in cols))
        else:
            req[i] = 1.0
        cols = [f"bm_{b}" for b in reg.excludes if f"bm_{b}" in bm]
        exc[i] = float(any(bm[c][i] == 1 for c in cols))
    new["required_biomarkers_present"] = req
    new["excluded_biomarker_present"] = exc
    # columns the rows already have are replaced in place, the others appended in order
    out = rows.copy(deep=False)  # copy on write: ``rows`` is left as it is
    for c in [c for c in new if c in out.columns]:
        out[c] = new.pop(c)
    if new:
        out = pd.concat([out, pd.DataFrame(new, index=rows.index)], axis=1)
    return out.copy()  # one block per dtype: later column selections stay fast


def model_matrix(
    df: pd.DataFrame,
    columns: Sequence[str],
    levels: dict[str, list[str]] | None = None,
    *,
    keep_integers: bool = False,
) -> pd.DataFrame:
    """The model's input columns in order; categoricals as pandas categories with the
    training ``levels`` (unseen values become missing), the rest as floats.

    ``keep_integers``: numpy integer columns stay as they are (not float64), for a
    consumer that converts the whole matrix to floats itself (LightGBM does): the same
    values at an eighth of the memory for the int8 indicator columns."""
    data: dict[str, object] = {}
    numeric = [c for c in columns if c not in CATEGORICAL]
    dtypes = df.dtypes.to_dict()
    if keep_integers:
        data.update(
            {
                c: df[c].to_numpy()
                for c in numeric
                if c in dtypes
                and isinstance(dtypes[c], np.dtype)
                and np.issubdtype(dtypes[c], np.integer)
            }
        )
    # one block conversion for the columns that are already numeric (the usual case)
    fast = [
        c
        for c in numeric
        if c in dtypes
        and c not in data
        and pd.api.types.is_numeric_dtype(dtypes[c])
        and not pd.api.types.is_bool_dtype(dtypes[c])
    ]
    if fast:
        block = df[fast].to_numpy(dtype="float64", na_value=np.nan)
        data.update({c: block[:, j] for j, c in enumerate(fast)})
    for c in columns:
        if c in data:
            continue
        col = df[c] if c in df.columns else pd.Series(np.nan, index=df.index)
        if c in CATEGORICAL:
            values = col.astype("object").where(col.notna(), None)
            cats = (levels or {}).get(c)
            if cats is None:
                cats = sorted({str(v) for v in values.dropna()})
            known = set(cats)
            data[c] = pd.Categorical(
                values.map(
                    lambda v, known=known: str(v) if v is not None and str(v) in known else None
                ),
                categories=cats,
            )
        else:
            data[c] = pd.to_numeric(col, errors="coerce").astype("float64").to_numpy()
    return pd.DataFrame({c: data[c] for c in columns}, index=df.index)
