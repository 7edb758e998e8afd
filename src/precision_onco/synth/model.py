"""The simulator's structural outcome model (documented in docs/synthetic_cohort.md).

For patient state ``s`` at line ``L`` and regimen ``r``:

* response: ``logit P(CR/PR) = a_r + f_r(s)`` where ``f_r`` collects the line,
  performance-status, albumin and NLR effects, the immunotherapy modifiers
  (TMB, PD-L1, MSI-H, STK11, KEAP1, EGFR driver, prior immunotherapy), the
  penalty of a biomarker the catalog excludes and of re-challenge with the
  same drug class;
* toxicity: for each category ``c`` (and an ``other`` remainder),
  ``logit P(grade >= 3 in c) = logit(q_rc) + d_r + g_r(s)`` with ``q_rc`` the
  trial's per-category rate and ``g_r`` the age, ECOG, albumin, renal
  (platinum) and prior-toxicity effects; ``P(any grade >= 3) = 1 - prod(1 - p)``
  assuming conditional independence across categories.

``a_r`` and ``d_r`` are calibrated so that the trial-like reference
population (ECOG 0-1, first eligible line, biomarker present) reproduces the
catalog's published ORR and grade >= 3 rate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from precision_onco.catalog import Catalog
from precision_onco.config.schema import EffectsConfig

__all__ = [
    "Intercepts",
    "RegimenArrays",
    "apply_relative_risk",
    "solve_intercepts",
    "response_offsets",
    "toxicity_offsets",
    "toxicity_probabilities",
]

_FLOOR = 0.002  # grade >= 3 rate of a category a trial did not report
_ALB_REF, _NLR_REF, _TMB_REF = 3.9, 3.5, 8.0


@dataclass(frozen=True)
class RegimenArrays:
    """Per-regimen constants the model needs, as arrays over the catalog order."""

    min_line: np.ndarray
    immunotherapy: np.ndarray
    platinum: np.ndarray
    classes: np.ndarray  # (R, n_classes) bool
    class_names: list[str]
    orr: np.ndarray
    grade3: np.ndarray
    category_logit: np.ndarray  # (R, K)
    other_logit: np.ndarray  # (R,)
    preference: np.ndarray
    excludes: list[list[str]]

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> RegimenArrays:
        cats = catalog.toxicity_categories
        regs = catalog.regimens
        class_names = list(catalog.config.regimen_classes)
        classes = np.array([[c in catalog.drug_classes(r) for c in class_names] for r in regs])
        q = np.array(
            [[r.evidence.grade3_by_category.get(c, _FLOOR) for c in cats] for r in regs], float
        )
        io = catalog.has_class("immunotherapy")
        imm = cats.index("immune_related") if "immune_related" in cats else None
        if imm is not None:
            q[~io, imm] = _FLOOR / 4
        g = catalog.published("grade3_rate")
        rest = 1.0 - (1.0 - g) / np.prod(1.0 - q, axis=1)
        return cls(
            min_line=np.array([r.lines.min for r in regs]),
            immunotherapy=io,
            platinum=catalog.has_platinum(),
            classes=classes,
            class_names=class_names,
            orr=catalog.published("orr"),
            grade3=g,
            category_logit=logit(np.clip(q, _FLOOR / 4, 0.95)),
            other_logit=logit(np.clip(rest, 0.01, 0.95)),
            preference=np.array([r.preference for r in regs], float),
            excludes=[list(r.excludes) for r in regs],
        )


@dataclass
class Intercepts:
    """Calibrated intercepts: response ``a`` and toxicity shift ``d``, per regimen."""

    response: np.ndarray
    toxicity: np.ndarray

    @classmethod
    def initial(cls, arrays: RegimenArrays) -> Intercepts:
        return cls(response=logit(arrays.orr), toxicity=np.zeros(len(arrays.orr)))

    def to_dict(self, regimen_ids: list[str]) -> dict[str, dict[str, float]]:
        return {
            rid: {"response": round(float(a), 6), "toxicity": round(float(d), 6)}
            for rid, a, d in zip(regimen_ids, self.response, self.toxicity, strict=True)
        }


def response_offsets(
    state: pd.DataFrame,
    status: pd.DataFrame,
    prior_classes: np.ndarray,
    arrays: RegimenArrays,
    effects: EffectsConfig,
) -> np.ndarray:
    """``f_r(s)`` for every row of ``state`` and every regimen: shape (n, R)."""
    e = effects
    line = state["line_number"].to_numpy(float)[:, None]
    ecog = state["ecog"].to_numpy()
    common = (
        e.response_ecog2 * (ecog == 2)
        + e.response_ecog3 * (ecog >= 3)
        + e.response_per_albumin_gdl * (state["albumin"].to_numpy() - _ALB_REF)
        + e.response_per_log_nlr * (np.log(state["nlr"].to_numpy()) - np.log(_NLR_REF))
    )
    tps = state["pdl1_tps"].to_numpy(float)
    pdl1 = np.where(
        np.isnan(tps),
        0.0,
        np.where(tps >= 50, e.io_pdl1_high, np.where(tps >= 1, e.io_pdl1_low, 0.0)),
    )
    io_mod = (
        e.io_per_log2_tmb * (np.log2(state["tmb"].to_numpy() + 1) - np.log2(_TMB_REF + 1))
        + pdl1
        + e.io_msi_high * (state["msi_status"].to_numpy() == "MSI-H")
        + e.io_stk11 * status["STK11_mutant"].to_numpy()
        + e.io_keap1 * status["KEAP1_mutant"].to_numpy()
        + e.io_egfr_driver * status["EGFR_sensitizing"].to_numpy()
        + e.io_prior_io * state["prior_io"].to_numpy()
    )
    off = e.response_per_extra_line * (line - arrays.min_line[None, :]) + common[:, None]
    off = off + arrays.immunotherapy[None, :] * io_mod[:, None]
    for j, excl in enumerate(arrays.excludes):
        if excl:
            hit = np.zeros(len(state), dtype=bool)
            for b in excl:
                hit |= status[b].to_numpy(bool)
            off[:, j] += e.anti_egfr_in_ras_braf_mutant * hit
    same_class = (prior_classes.astype(float) @ arrays.classes.T.astype(float)) > 0
    off += e.same_class_rechallenge * same_class
    return off


def toxicity_offsets(
    state: pd.DataFrame, arrays: RegimenArrays, effects: EffectsConfig
) -> np.ndarray:
    """``g_r(s)``, shared by all toxicity categories of a regimen: shape (n, R)."""
    e = effects
    age = state["age_at_line"].to_numpy(float)
    base = (
        e.tox_per_decade_over_60 * np.clip(age - 60, 0, None) / 10
        + e.tox_ecog2 * (state["ecog"].to_numpy() >= 2)
        + e.tox_per_albumin_gdl * (state["albumin"].to_numpy() - _ALB_REF)
        + e.tox_prior_grade3 * state["prior_grade3"].to_numpy()
    )
    renal = np.clip(60 - state["creatinine_clearance"].to_numpy(float), 0, None) / 10
    return (
        base[:, None]
        + arrays.platinum[None, :] * (e.tox_platinum_per_10_crcl_below_60 * renal)[:, None]
    )


def apply_relative_risk(p: np.ndarray, rr: np.ndarray | None) -> np.ndarray:
    """``p`` multiplied by the relative risk ``rr`` on the complementary log-log scale,
    ``1 - (1 - p) ** rr``: exact for rare events, bounded by 1 (pharmacogenomics)."""
    if rr is None:
        return p
    return 1.0 - np.power(1.0 - p, rr)


def toxicity_probabilities(
    tox_off: np.ndarray, arrays: RegimenArrays, shift: np.ndarray, rr: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-category, ``other`` and any-category grade >= 3 probabilities.

    ``rr`` (n, R, K), optional: relative risk per category (germline pharmacogenomics,
    :mod:`precision_onco.synth.pgx`). Returns arrays of shape (n, R, K), (n, R) and (n, R).
    """
    z = tox_off + shift[None, :]
    p_cat = apply_relative_risk(expit(arrays.category_logit[None, :, :] + z[:, :, None]), rr)
    p_other = expit(arrays.other_logit[None, :] + z)
    p_any = 1.0 - (1.0 - p_other) * np.prod(1.0 - p_cat, axis=2)
    return p_cat, p_other, p_any


def _bisect(
    f: Callable[[np.ndarray], np.ndarray], target: np.ndarray, lo: float = -12.0, hi: float = 12.0
) -> np.ndarray:
    a = np.full_like(target, lo, dtype=float)
    b = np.full_like(target, hi, dtype=float)
    for _ in range(60):
        mid = (a + b) / 2
        above = f(mid) > target
        b = np.where(above, mid, b)
        a = np.where(above, a, mid)
    return (a + b) / 2


def solve_intercepts(
    ref_regimen: np.ndarray,
    ref_resp_off: np.ndarray,
    ref_tox_off: np.ndarray,
    arrays: RegimenArrays,
    current: Intercepts,
    ref_tox_rr: np.ndarray | None = None,
) -> Intercepts:
    """Intercepts that make the reference rows' mean probabilities equal the published rates.

    ``ref_*`` hold, for every reference (row, regimen) pair, the regimen index
    and the offsets of that pair (and, optionally, its per-category relative risks). Regimens
    with no reference row keep their current intercepts.
    """
    R = len(arrays.orr)
    counts = np.bincount(ref_regimen, minlength=R)
    has = counts > 0

    def mean_resp(a: np.ndarray) -> np.ndarray:
        p = expit(a[ref_regimen] + ref_resp_off)
        return np.bincount(ref_regimen, weights=p, minlength=R) / np.maximum(counts, 1)

    def mean_tox(d: np.ndarray) -> np.ndarray:
        z = ref_tox_off + d[ref_regimen]
        cat = apply_relative_risk(
            expit(arrays.category_logit[ref_regimen] + z[:, None]), ref_tox_rr
        )
        other = expit(arrays.other_logit[ref_regimen] + z)
        p = 1.0 - (1.0 - other) * np.prod(1.0 - cat, axis=1)
        return np.bincount(ref_regimen, weights=p, minlength=R) / np.maximum(counts, 1)

    a = _bisect(mean_resp, arrays.orr)
    d = _bisect(mean_tox, arrays.grade3)
    return Intercepts(
        response=np.where(has, a, current.response), toxicity=np.where(has, d, current.toxicity)
    )
