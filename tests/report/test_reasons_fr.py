"""Every exclusion reason the eligibility rules can write has a French wording.

The reasons are those of every test of every regimen of each catalog of ``conf/catalog``
(:func:`precision_onco.catalog.eligibility._regimen_reasons`, the re-challenge rule and the
pharmacogenomic rules), each taken whether or not an earlier test excluded the regimen first,
for patient states that make the per-patient ones ("needs … testing") say each of their
kinds of gap: genes the assay did not cover (known or unknown coverage), markers not recorded.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from precision_onco.catalog import Catalog, biomarker_status
from precision_onco.catalog.biomarkers import biomarker_tested
from precision_onco.catalog.eligibility import _regimen_reasons, _State
from precision_onco.config import compose
from precision_onco.pgx.regimens import pgx_exclusions, pgx_records
from precision_onco.report.i18n import translate_reason

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = sorted(p.stem for p in (ROOT / "conf" / "catalog").glob("*.yaml"))
#: Words of the rules' English wording that a French reason does not keep.
ENGLISH = re.compile(
    r"\b(indicated|histology only|allowed|already|requires|not for patients|contraindicated|"
    r"needs|testing|assay|not recorded|training|received|avoid|no variant|ceiling)\b"
)
#: Pharmacogenomic results that make the guidelines avoid a drug.
PGX_ROWS: list[dict[str, Any]] = [
    {"dpyd_activity_score": 0.0, "dpyd_diplotype": "c.1905+1G>A/c.1905+1G>A"},
    {"dpyd_activity_score": 0.5},
    {"dpyd_activity_score_max": 0.5},
    {"dpyd_activity_score_max": 0.0},
    {"uracil_ng_ml": 200.0},
    {"ugt1a1_phenotype": "poor", "ugt1a1_diplotype": "*28/*28"},
]


def _markers(cat: Catalog) -> dict[str, Any]:
    """A recorded value of every marker the catalog's rules read."""
    out: dict[str, Any] = {}
    for rule in cat.biomarkers.values():
        if rule.marker:
            out[rule.marker] = 0.0 if rule.min is not None else out.get(rule.marker, "other")
    return out


def _states(cat: Catalog) -> tuple[pd.DataFrame, list[set[str] | None]]:
    """Line-start states (each cancer type of the catalog, histology unknown or not), with
    markers unrecorded or recorded, the assay covering nothing, everything or unknown, and
    the pharmacogenomic results of :data:`PGX_ROWS`; the genes each row's assay covered."""
    genes = {g for rule in cat.biomarkers.values() for g in rule.genes}
    variables = {
        c.variable: 0.0 for reg in cat.config.regimens for c in reg.contraindications if c.variable
    }
    rows, covered = [], []
    kinds: list[tuple[dict[str, Any], set[str] | None]] = [
        ({}, set()),
        ({}, None),
        (_markers(cat), set()),
        ({}, genes),
    ]
    for cancer in cat.cancer_types:
        for oncotree in (None, "XXXX"):
            for markers, cov in kinds:
                rows.append({"cancer_type": cancer, "oncotree_code": oncotree, **markers})
                covered.append(cov)
    for pgx in PGX_ROWS:
        rows.append({"cancer_type": cat.cancer_types[0], "oncotree_code": None, **pgx})
        covered.append(None)
    state = pd.DataFrame(rows)
    state["patient_key"] = [f"pk_{i}" for i in range(len(state))]
    state["line_number"] = 1
    for name in [*_markers(cat), *variables]:
        if name not in state.columns:
            state[name] = None
    return state.assign(**{k: v for k, v in variables.items() if state[k].isna().all()}), covered


def _every_reason(cat: Catalog) -> set[str]:
    state, covered = _states(cat)
    status = biomarker_status(cat.biomarkers, markers=state)
    tested = biomarker_tested(cat.biomarkers, markers=state, covered=covered)
    was_tested = {str(b): tested[b].to_numpy(bool) for b in tested.columns}
    st = _State(state, status)
    records = pgx_records(state)
    out = {"already received at an earlier line"}
    for reg in cat.config.regimens:
        tests = _regimen_reasons(reg, st, cat, was_tested, covered)
        tests += _regimen_reasons(reg, st, cat)  # without the tested columns
        for hit, reason in [*tests, *pgx_exclusions(reg, state, records=records)]:
            if isinstance(reason, str):
                out.add(reason)
            else:
                out |= {str(r) for r in np.asarray(reason)[hit] if r is not None}
    return out


def _expected(cat: Catalog) -> set[str]:
    """What the reasons of :func:`_every_reason` say, by the catalog's rules: their first
    words, and each kind of gap of the "needs … testing" reasons."""
    regs = cat.config.regimens
    out = {"indicated", "allowed", "already"}
    out |= {"requires"} if any(r.requires for r in regs) else set()
    out |= {"not"} if any(r.excludes for r in regs) else set()
    out |= {"contraindicated:"} if any(r.contraindications for r in regs) else set()
    tested = {b for r in regs for b in [*r.requires, *r.excludes]}
    tested |= {b for r in regs for c in r.contraindications for b in c.biomarkers}
    if any(cat.biomarkers[b].genes for b in tested):
        out.add("the patient's assay did not cover")
    if any(cat.biomarkers[b].marker and not cat.biomarkers[b].genes for b in tested):
        out.add("is not recorded")
    return out


def _said(reasons: set[str]) -> set[str]:
    gaps = ("the patient's assay did not cover", "is not recorded")
    return {r.split(" ", 1)[0] for r in reasons} | {g for g in gaps for r in reasons if g in r}


@pytest.mark.parametrize("catalog", CATALOGS)
def test_every_exclusion_reason_of_the_rules_is_worded_in_french(catalog: str) -> None:
    _, cfg = compose([f"catalog={catalog}"], conf_dir=ROOT / "conf")
    cat = Catalog(cfg.catalog)
    reasons = _every_reason(cat)
    assert _expected(cat) <= _said(reasons)  # the states made every kind of reason
    untranslated = {}
    for reason in sorted(reasons):
        fr = translate_reason(reason, "fr", cfg.catalog)
        if fr == reason or ENGLISH.search(fr):
            untranslated[reason] = fr
    assert untranslated == {}
