"""Off-policy evaluation of treatment policies from observational lines.

A *policy* picks one regimen per line. Its value — the mean outcome had every
line been treated as it says — is estimated from the outcomes of the regimens
actually given:

* **IPW**: ``mean(1[a = π(x)] / e(a | x) · y)``, with ``e`` the propensity of the
  regimen given (clipped from below); the self-normalized (Hájek) form divides
  by ``mean(1[a = π(x)] / e(a | x))`` instead of n.
* **Doubly robust** (AIPW): ``mean(μ(x, π(x)) + 1[a = π(x)] / e(a | x) · (y − μ(x, a)))``
  with ``μ`` an outcome model; consistent if either ``μ`` or ``e`` is right.

Confidence intervals come from a bootstrap over patients (lines of a patient are
resampled together). :func:`overlap` reports how often the policy's choice had
low observed probability — where every estimate leans on few lines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Estimate",
    "bootstrap_rows",
    "dr_value",
    "ipw_value",
    "normalized_regret",
    "overlap",
    "policy_dr",
    "policy_ipw",
    "with_ci",
]


@dataclass(frozen=True)
class Estimate:
    """A policy value with its bootstrap (percentile) confidence interval."""

    value: float
    low: float
    high: float
    n: int

    def covers(self, truth: float) -> bool:
        return self.low <= truth <= self.high


def _weights(pi_given: np.ndarray, propensity: np.ndarray, clip: float) -> np.ndarray:
    return np.asarray(pi_given, dtype=float) / np.maximum(np.asarray(propensity, float), clip)


def policy_ipw(
    y: np.ndarray,
    pi_given: np.ndarray,
    propensity: np.ndarray,
    *,
    clip: float = 0.01,
    normalized: bool = True,
) -> float:
    """IPW value of a (possibly stochastic) policy.

    Parameters
    ----------
    y : ndarray
        Observed outcome of each line.
    pi_given : ndarray
        Probability the policy gives each line's observed regimen (0/1 for a
        deterministic policy).
    propensity : ndarray
        Probability of the observed regimen under practice; ``clip`` bounds it from below.
    normalized : bool
        Self-normalized (Hájek) form: divide by the sum of the weights instead of n.
    """
    w = _weights(pi_given, propensity, clip)
    y = np.asarray(y, dtype=float)
    if normalized:
        total = w.sum()
        return float((w * y).sum() / total) if total > 0 else float("nan")
    return float((w * y).mean())


def policy_dr(
    y: np.ndarray,
    pi_given: np.ndarray,
    propensity: np.ndarray,
    mu_policy: np.ndarray,
    mu_given: np.ndarray,
    *,
    clip: float = 0.01,
) -> float:
    """Doubly robust (AIPW) value of a (possibly stochastic) policy: ``mu_policy`` is the
    outcome model averaged over the policy's choices on each line, ``mu_given`` the
    outcome model of the observed regimen; see :func:`policy_ipw` for the others."""
    w = _weights(pi_given, propensity, clip)
    y = np.asarray(y, dtype=float)
    return float(np.mean(np.asarray(mu_policy, float) + w * (y - np.asarray(mu_given, float))))


def ipw_value(
    y: np.ndarray,
    chosen: np.ndarray,
    given: np.ndarray,
    propensity: np.ndarray,
    *,
    clip: float = 0.01,
    normalized: bool = True,
) -> float:
    """Inverse-propensity-weighted value of the policy choosing ``chosen`` on each line.

    ``propensity``: the probability, under the observed practice, of the regimen
    actually ``given`` on each line; ``clip`` bounds it from below.
    """
    match = (np.asarray(chosen) == np.asarray(given)).astype(float)
    return policy_ipw(y, match, propensity, clip=clip, normalized=normalized)


def dr_value(
    y: np.ndarray,
    chosen: np.ndarray,
    given: np.ndarray,
    propensity: np.ndarray,
    mu_chosen: np.ndarray,
    mu_given: np.ndarray,
    *,
    clip: float = 0.01,
) -> float:
    """Doubly robust (AIPW) value: outcome model ``mu`` of the chosen regimen, corrected by
    the weighted residuals of the lines where the given regimen was the chosen one."""
    match = (np.asarray(chosen) == np.asarray(given)).astype(float)
    return policy_dr(y, match, propensity, mu_chosen, mu_given, clip=clip)


def bootstrap_rows(groups: np.ndarray, *, n_boot: int = 500, seed: int = 0) -> list[np.ndarray]:
    """``n_boot`` resamples of the rows, drawing whole ``groups`` (patients) with replacement."""
    groups = np.asarray(groups)
    uniq, inverse = np.unique(groups, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    starts = np.searchsorted(inverse[order], np.arange(len(uniq) + 1))
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(uniq), len(uniq))
        out.append(
            np.concatenate([order[starts[g] : starts[g + 1]] for g in pick])
            if len(pick)
            else np.array([], dtype=int)
        )
    return out


def with_ci(
    estimator: Callable[[np.ndarray], float],
    groups: np.ndarray,
    *,
    n_boot: int = 500,
    level: float = 0.95,
    seed: int = 0,
    resamples: list[np.ndarray] | None = None,
) -> Estimate:
    """``estimator(rows)`` on all rows, and its percentile CI from resampling ``groups``
    (patients) with replacement. ``estimator`` takes an index array of rows;
    ``resamples``: the :func:`bootstrap_rows` to use (shared by several estimates)."""
    groups = np.asarray(groups)
    point = estimator(np.arange(len(groups)))
    rows_list = (
        resamples if resamples is not None else bootstrap_rows(groups, n_boot=n_boot, seed=seed)
    )
    b = np.asarray([estimator(rows) for rows in rows_list], dtype=float)
    b = b[np.isfinite(b)]
    alpha = (1 - level) / 2
    low, high = np.quantile(b, [alpha, 1 - alpha]) if len(b) else (np.nan, np.nan)
    return Estimate(float(point), float(low), float(high), len(groups))


def overlap(chosen_propensity: np.ndarray, threshold: float = 0.05) -> float:
    """Share of lines whose policy choice had observed probability below ``threshold``."""
    p = np.asarray(chosen_propensity, dtype=float)
    return float((p < threshold).mean()) if len(p) else float("nan")


def normalized_regret(v_policy: float, v_oracle: float, v_random: float) -> float:
    """(V_oracle − V_policy) / (V_oracle − V_random): 0 for the oracle, 1 for random choice."""
    span = v_oracle - v_random
    return float((v_oracle - v_policy) / span) if span != 0 else float("nan")
