"""Pharmacogenomic eligibility and starting doses for catalog regimens.

The eligibility step calls :func:`pgx_exclusions` for every regimen: a regimen
with a drug the guideline says to avoid (DPYD activity score 0 or 0.5, uracil
>= 150 ng/mL) is excluded with the reason and source; the other regimens get,
per drug with a rule (:func:`regimen_doses`), the starting-dose percent and its
source — or "untested" when neither genotype nor uracilemia is known.

The inputs are optional columns of the patient's state at line start:

``dpyd_activity_score``  CPIC activity score (0-2), from :mod:`precision_onco.pgx`
``dpyd_diplotype``       e.g. ``c.1679T>G/c.1156G>T`` (for the reason text)
``dpyd_activity_score_max``  the upper bound of an indeterminate call (positions not
                         tested): its rule is a ceiling on the starting dose
``ugt1a1_phenotype``     ``normal``, ``intermediate``, ``poor`` or ``indeterminate``
``ugt1a1_diplotype``     e.g. ``*28/*28``
``uracil_ng_ml``         plasma uracil before treatment, ng/mL (INCa/HAS 2018)

A state without any of them (the synthetic cohort today) changes nothing.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from precision_onco.config.schema import RegimenConfig
from precision_onco.errors import InputError
from precision_onco.pgx.call import GeneCall, not_tested_gene
from precision_onco.pgx.definitions import Definitions, load_definitions
from precision_onco.pgx.guidance import DrugGuidance, drug_guidance, interpret_uracil
from precision_onco.pgx.result import PgxResult

__all__ = [
    "PGX_STATE_COLUMNS",
    "add_to_payload",
    "attach_pgx_state",
    "dose_fraction",
    "payload_fields",
    "pgx_exclusions",
    "pgx_records",
    "regimen_doses",
    "starting_dose_fractions",
]

#: Columns of the line-start state (patients or lines table, clinical JSON) read here.
PGX_STATE_COLUMNS = (
    "dpyd_activity_score",
    "dpyd_diplotype",
    "dpyd_activity_score_max",
    "ugt1a1_phenotype",
    "ugt1a1_diplotype",
    "uracil_ng_ml",
)
_PHENOTYPES = ("normal", "intermediate", "poor")


def _value(row: pd.Series | dict[str, Any], key: str) -> Any:
    v = row.get(key) if hasattr(row, "get") else None
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    return v


def _score(value: Any, field: str) -> float:
    s = float(value)
    if s * 2 != round(s * 2) or not 0 <= s <= 2:
        raise InputError(f"{field} must be 0, 0.5, 1, 1.5 or 2, got {value!r}")
    return s


def _dpyd_call(score: Any, diplotype: Any, score_max: Any, defs: Definitions) -> GeneCall:
    gene = defs.genes["DPYD"]
    if score is None:
        call = not_tested_gene(gene)
        if score_max is None:
            return call
        bound = _score(score_max, "dpyd_activity_score_max")
        return GeneCall(
            gene="DPYD",
            phenotype="indeterminate",
            alleles=(),
            source=gene.source,
            activity_score_max=bound,
            diplotype=str(diplotype) if diplotype else None,
            not_tested=call.not_tested,
            to_test=f"the DPYD positions not tested ({call.to_test})",
        )
    s = _score(score, "dpyd_activity_score")
    phenotype = next(p["phenotype"] for p in gene.phenotypes if s >= p["min_score"])
    return GeneCall(
        gene="DPYD",
        phenotype=phenotype,
        alleles=(),
        source=gene.source,
        activity_score=s,
        diplotype=str(diplotype) if diplotype else None,
    )


def _ugt_call(phenotype: Any, diplotype: Any, defs: Definitions) -> GeneCall:
    gene = defs.genes["UGT1A1"]
    ph = str(phenotype).strip().lower() if phenotype is not None else None
    if ph is None or ph == "indeterminate":
        return not_tested_gene(gene)
    if ph not in _PHENOTYPES:
        raise InputError(
            f"ugt1a1_phenotype must be one of {', '.join(_PHENOTYPES)} or "
            f"indeterminate, got {phenotype!r}"
        )
    dip = str(diplotype) if diplotype else f"{ph} metaboliser"
    return GeneCall(gene="UGT1A1", phenotype=ph, alleles=(), source=gene.source, diplotype=dip)


@lru_cache(maxsize=4096)
def _guidance(
    score: Any, dpyd_dip: Any, score_max: Any, ugt_ph: Any, ugt_dip: Any, uracil: Any, drug: str
) -> DrugGuidance:
    defs = load_definitions()
    genes = {
        "DPYD": _dpyd_call(score, dpyd_dip, score_max, defs),
        "UGT1A1": _ugt_call(ugt_ph, ugt_dip, defs),
    }
    return drug_guidance(drug, genes, interpret_uracil(uracil, defs), defs)


def _row_guidance(row: Any, drug: str) -> DrugGuidance:
    return _guidance(*(_value(row, c) for c in PGX_STATE_COLUMNS), drug)


def _pgx_drugs(reg: RegimenConfig) -> list[str]:
    known = load_definitions().drugs
    return [d for d in reg.drugs if d in known]


def pgx_records(state: pd.DataFrame) -> list[dict[str, Any]]:
    """The state's :data:`PGX_STATE_COLUMNS` that are present, one dict per row (empty dicts
    when none is): what :func:`pgx_exclusions` reads, made once for all regimens."""
    cols = [c for c in PGX_STATE_COLUMNS if c in state.columns]
    if not cols:
        return [{} for _ in range(len(state))]
    return state[cols].to_dict(orient="records")


def pgx_exclusions(
    reg: RegimenConfig, state: pd.DataFrame, *, records: list[dict[str, Any]] | None = None
) -> list[tuple[np.ndarray, str]]:
    """Exclusion tests of one regimen from the state's pharmacogenomic columns.

    Parameters
    ----------
    reg : RegimenConfig
        A catalog regimen (its ``drugs`` are read).
    state : DataFrame
        Line-start state; :data:`PGX_STATE_COLUMNS` that are present are read.

    Returns
    -------
    list of (ndarray of bool, str)
        ``(hit, reason)`` pairs as the eligibility step takes them; empty when
        the regimen has no drug with a rule or the state has no PGx column.
    records : list of dict, optional
        :func:`pgx_records` of ``state``, when the caller made them already (one call for
        all regimens).
    """
    drugs = _pgx_drugs(reg)
    cols = [c for c in PGX_STATE_COLUMNS if c in state.columns]
    if not drugs or not cols:
        return []
    tests: list[tuple[np.ndarray, str]] = []
    if records is None:
        records = pgx_records(state)
    for drug in drugs:
        by_reason: dict[str, np.ndarray] = {}
        for i, row in enumerate(records):
            g = _row_guidance(row, drug)
            if g.avoid:
                best = next(r for r in g.rules if r.avoid)
                reason = f"{best.basis}: {best.action} ({drug}), {best.source}"
                by_reason.setdefault(reason, np.zeros(len(state), dtype=bool))[i] = True
        tests += [(hit, reason) for reason, hit in by_reason.items()]
    return tests


def regimen_doses(
    state: pd.DataFrame,
    rows: np.ndarray,
    regimen_ids: list[str],
    regimens: dict[str, RegimenConfig],
) -> list[str | None]:
    """Starting-dose guidance of each (row, regimen) pair, as JSON text (``None``: no rule).

    Each value is a JSON list of ``{"drug", "starting_dose_percent", "tested",
    "action", "source"}``, one per drug of the regimen with a pharmacogenomic
    rule (fluorouracil, capecitabine, irinotecan).
    """
    cols = [c for c in PGX_STATE_COLUMNS if c in state.columns]
    records = state[cols].to_dict(orient="records") if cols else [{}] * len(state)
    out: list[str | None] = []
    for i, rid in zip(rows, regimen_ids, strict=True):
        drugs = _pgx_drugs(regimens[rid])
        if not drugs:
            out.append(None)
            continue
        items = []
        for drug in drugs:
            g = _row_guidance(records[int(i)], drug)
            items.append(
                {
                    "drug": drug,
                    "starting_dose_percent": g.starting_dose_percent,
                    "tested": g.tested,
                    "action": g.action,
                    "source": g.source,
                }
            )
        out.append(json.dumps(items, ensure_ascii=False))
    return out


def starting_dose_fractions(
    state: pd.DataFrame, regimens: list[RegimenConfig]
) -> tuple[np.ndarray, np.ndarray]:
    """The guideline starting dose of every (row, regimen), as a fraction of the standard dose.

    The fraction is the lowest ``starting_dose_percent`` over the regimen's drugs with a rule
    (the regimen's relative starting dose, as the toxicity models take it); 1.0 for a regimen
    without such drug or when nothing was tested. Returns ``(fraction, avoid)`` of shape
    (n_rows, n_regimens); ``avoid`` is True where a drug is to be avoided (the regimen is
    then excluded, see :func:`pgx_exclusions`; its fraction is 1.0).
    """
    cols = [c for c in PGX_STATE_COLUMNS if c in state.columns]
    uniq, inverse = _distinct_states(state, cols)
    frac = np.ones((len(uniq), len(regimens)))
    avoid = np.zeros((len(uniq), len(regimens)), dtype=bool)
    for j, reg in enumerate(regimens):
        for drug in _pgx_drugs(reg):
            for i, key in enumerate(uniq):
                g = _row_guidance(dict(zip(cols, key, strict=True)), drug)
                if g.avoid:
                    avoid[i, j] = True
                elif g.starting_dose_percent is not None:
                    frac[i, j] = min(frac[i, j], g.starting_dose_percent / 100.0)
    if not len(state):
        return frac[:0], avoid[:0]
    return frac[inverse], avoid[inverse]


def _distinct_states(
    state: pd.DataFrame, cols: list[str]
) -> tuple[list[tuple[Any, ...]], np.ndarray]:
    """The distinct PGx states of ``state``'s rows (each the ``cols`` values of its first
    row, missing as None) and each row's index into them. A cohort has tens of thousands
    of rows and a dozen states: the rows are told apart by their columns' codes
    (``pd.factorize``, every kind of missing one code), not by a Python key per row."""
    n = len(state)
    if not cols or not n:
        return ([()] if n else []), np.zeros(n, dtype=int)
    codes = np.column_stack([pd.factorize(state[c], use_na_sentinel=True)[0] for c in cols])
    _, first, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    rows = state[cols].iloc[first].to_dict(orient="records")
    return [tuple(_value(r, c) for c in cols) for r in rows], inverse.reshape(-1)


def dose_fraction(pgx_dose: str | None) -> float:
    """The relative starting dose of a ranked regimen from its ``pgx_dose`` JSON text (see
    :func:`regimen_doses`): the lowest percent over its drugs / 100; 1.0 when the regimen
    has no drug with a rule or nothing was tested."""
    if pgx_dose is None or (isinstance(pgx_dose, float) and math.isnan(pgx_dose)):
        return 1.0
    pcts = [
        d["starting_dose_percent"]
        for d in json.loads(pgx_dose)
        if d.get("starting_dose_percent") is not None
    ]
    return min(pcts) / 100.0 if pcts else 1.0


def payload_fields(result: PgxResult) -> tuple[dict[str, Any], dict[str, Any]]:
    """Patient fields and current-line fields of a :class:`PgxResult` for a payload.

    Returns
    -------
    (dict, dict)
        ``dpyd_activity_score`` (or ``dpyd_activity_score_max`` when indeterminate),
        ``dpyd_diplotype``, ``ugt1a1_phenotype``, ``ugt1a1_diplotype``; and
        ``uracil_ng_ml`` when measured.
    """
    d, u = result.genes["DPYD"], result.genes["UGT1A1"]
    patient: dict[str, Any] = {"ugt1a1_phenotype": u.phenotype}
    if d.activity_score is not None:
        patient.update(dpyd_activity_score=d.activity_score, dpyd_diplotype=d.diplotype)
    elif d.activity_score_max is not None and d.activity_score_max < 2:
        patient["dpyd_activity_score_max"] = d.activity_score_max
    if u.diplotype:
        patient["ugt1a1_diplotype"] = u.diplotype
    line = {} if result.uracil.ng_ml is None else {"uracil_ng_ml": result.uracil.ng_ml}
    return patient, line


def add_to_payload(payload: dict[str, Any], result: PgxResult) -> dict[str, Any]:
    """``payload`` (a recommender payload) with the PGx fields of ``result`` added.

    Patient fields go to ``payload["patient"]``; uracilemia to the current line's
    entry of ``payload["lines"]`` (created when absent). Returns ``payload``.
    """
    patient, line = payload_fields(result)
    payload.setdefault("patient", {}).update(patient)
    if line:
        lines = payload.setdefault("lines", [])
        n = payload.get("line_number")
        current = next((r for r in lines if r.get("line_number") == n), None)
        if current is None:
            current = {"line_number": n}
            lines.append(current)
        current.update(line)
    return payload


def attach_pgx_state(
    state: pd.DataFrame, patients: pd.DataFrame, lines: pd.DataFrame
) -> pd.DataFrame:
    """``state`` with the PGx columns of its patient (patients table) and line (lines table).

    Columns already in ``state`` are kept; a line's value wins over the patient's.
    """
    out = state
    for table, keys in ((lines, ["patient_key", "line_number"]), (patients, ["patient_key"])):
        cols = [c for c in PGX_STATE_COLUMNS if c in table.columns and c not in out.columns]
        if not cols or not set(keys) <= set(table.columns) or not set(keys) <= set(out.columns):
            continue
        extra = table[keys + cols].drop_duplicates(keys, keep="last")
        out = out.merge(extra, on=keys, how="left", validate="many_to_one")
    return out


def gene_calls(patient: Any) -> dict[str, GeneCall]:
    """The DPYD and UGT1A1 calls recorded for a patient (a row or a mapping with the
    :data:`PGX_STATE_COLUMNS`), only for the genes with a result or a bound."""
    defs = load_definitions()
    out: dict[str, GeneCall] = {}
    score, dip, bound = (
        _value(patient, c)
        for c in ("dpyd_activity_score", "dpyd_diplotype", "dpyd_activity_score_max")
    )
    if score is not None or bound is not None:
        out["DPYD"] = _dpyd_call(score, dip, bound, defs)
    ph, udip = (_value(patient, c) for c in ("ugt1a1_phenotype", "ugt1a1_diplotype"))
    if ph is not None:
        out["UGT1A1"] = _ugt_call(ph, udip, defs)
    return out
