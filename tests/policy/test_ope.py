"""Off-policy estimators on a simulated problem whose answer is known exactly."""

from __future__ import annotations

import numpy as np
import pytest

from precision_onco.policy import dr_value, ipw_value, normalized_regret, overlap, with_ci

K = 3  # regimens


def _problem(n: int = 4000, seed: int = 1):
    """Confounded treatment choice: sicker patients (high x) get regimen 2 more often, and
    respond less whatever they get; regimen 1 is best for low x, regimen 2 for high x."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    logits = np.stack([np.zeros(n), 0.3 - 0.5 * x, 1.0 * x], axis=1)
    e = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    a = np.array([rng.choice(K, p=row) for row in e])
    base = -0.3 - 0.6 * x
    effect = np.stack([np.zeros(n), 0.9 - 0.8 * x, 0.2 + 0.7 * x], axis=1)
    p = 1 / (1 + np.exp(-(base[:, None] + effect)))
    y = rng.binomial(1, p[np.arange(n), a]).astype(float)
    groups = np.arange(n) // 2  # two lines per patient
    return x, e, a, p, y, groups


def _truth(p: np.ndarray, policy: np.ndarray) -> float:
    return float(p[np.arange(len(p)), policy].mean())


@pytest.fixture(scope="module")
def sim():
    return _problem(n=8000)


def _policies(x: np.ndarray, p: np.ndarray) -> dict[str, np.ndarray]:
    n = len(x)
    return {
        "oracle": p.argmax(axis=1),
        "always_0": np.zeros(n, int),
        "always_1": np.ones(n, int),
        "threshold": np.where(x > 0, 2, 1),
    }


@pytest.mark.parametrize("policy_name", ["oracle", "always_0", "always_1", "threshold"])
def test_ipw_and_dr_cover_the_true_value(sim, policy_name: str) -> None:
    x, e, a, p, y, groups = sim
    n = len(x)
    policy = _policies(x, p)[policy_name]
    truth = _truth(p, policy)
    prop_given = e[np.arange(n), a]
    # a deliberately wrong outcome model (ignores x): DR must still be right via the propensity
    mu = np.array([y[a == k].mean() for k in range(K)])
    ipw = with_ci(
        lambda r: ipw_value(y[r], policy[r], a[r], prop_given[r]), groups, n_boot=300, level=0.99
    )
    dr = with_ci(
        lambda r: dr_value(y[r], policy[r], a[r], prop_given[r], mu[policy[r]], mu[a[r]]),
        groups,
        n_boot=300,
        level=0.99,
    )
    assert ipw.covers(truth), (policy_name, truth, ipw)
    assert dr.covers(truth), (policy_name, truth, dr)
    assert ipw.high - ipw.low < 0.12 and dr.high - dr.low < 0.12


def test_confounding_biases_the_naive_mean_but_not_the_estimators(sim) -> None:
    x, e, a, p, y, groups = sim
    n = len(x)
    always_1 = np.ones(n, int)
    truth = _truth(p, always_1)
    naive = y[a == 1].mean()  # regimen 1 went to healthier patients
    ipw = ipw_value(y, always_1, a, e[np.arange(n), a])
    assert naive - truth > 0.08 and abs(ipw - truth) < 0.03


def test_dr_is_right_with_a_wrong_propensity_and_the_right_outcome_model(sim) -> None:
    x, e, a, p, y, groups = sim
    n = len(x)
    policy = p.argmax(axis=1)
    wrong = np.full(n, 1 / K)  # ignores the confounding
    dr = with_ci(
        lambda r: dr_value(y[r], policy[r], a[r], wrong[r], p[r, policy[r]], p[r, a[r]]),
        groups,
        n_boot=300,
        level=0.99,
    )
    assert dr.covers(_truth(p, policy))


def test_regret_of_oracle_and_random(sim) -> None:
    _, _, _, p, _, _ = sim
    v_oracle = _truth(p, p.argmax(axis=1))
    v_random = float(p.mean(axis=1).mean())  # uniform choice among the regimens
    assert normalized_regret(v_oracle, v_oracle, v_random) == 0.0
    assert normalized_regret(v_random, v_oracle, v_random) == pytest.approx(1.0)
    worst = _truth(p, p.argmin(axis=1))
    assert normalized_regret(worst, v_oracle, v_random) > 1


def test_overlap_share_and_clipping() -> None:
    assert overlap(np.array([0.01, 0.2, 0.04, 0.5]), threshold=0.05) == 0.5
    y = np.array([1.0, 0.0])
    # a zero propensity is clipped, not a division by zero
    assert np.isfinite(
        ipw_value(y, np.array([0, 1]), np.array([0, 1]), np.array([0.0, 0.5]), normalized=False)
    )
