"""Cross-fitted propensity of practice, restricted to each line's candidate regimens."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from precision_onco.config.schema import PropensityConfig
from precision_onco.models.propensity import Propensity, cross_fit_propensity, restrict_to

REGIMENS = np.array(["A", "B", "C"])
CONF = Path(__file__).resolve().parents[2] / "conf"


def _settings(**changes: object) -> PropensityConfig:
    """The propensity settings of ``conf/propensity/default.yaml``, with ``changes``."""
    merged = OmegaConf.merge(
        OmegaConf.structured(PropensityConfig), OmegaConf.load(CONF / "propensity" / "default.yaml")
    )
    base = OmegaConf.to_object(merged)
    assert isinstance(base, PropensityConfig)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _choices(n: int = 1500, seed: int = 7):
    """Lines of two per patient whose regimen depends on performance status (``ecog``):
    fit patients mostly get C, frail ones B; ``albumin`` nudges C. Returns
    ``(states, given, groups, true_proba)``."""
    rng = np.random.default_rng(seed)
    ecog = rng.integers(0, 4, n).astype(float)
    albumin = rng.normal(size=n)
    logits = np.stack([np.zeros(n), 0.9 * ecog - 1.2, 1.0 - 1.1 * ecog + 0.6 * albumin], axis=1)
    e = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    a = (e.cumsum(axis=1) > rng.random(n)[:, None]).argmax(axis=1)
    states = pd.DataFrame({"ecog": ecog, "albumin": albumin})
    given = pd.Series(REGIMENS[a])
    groups = pd.Series([f"P{i:04d}" for i in np.arange(n) // 2])
    return states, given, groups, e


@pytest.fixture(scope="module")
def fitted():
    states, given, groups, e = _choices()
    prop = cross_fit_propensity(
        states, ["ecog", "albumin"], given, groups, _settings(folds=5, n_estimators=60), seed=0
    )
    return states, given, groups, e, prop


def test_cross_fitted_probabilities_track_the_true_choice(fitted) -> None:
    states, given, _, e, prop = fitted
    n = len(given)
    assert prop.classes == ["A", "B", "C"]
    assert prop.proba.shape == (n, 3)
    assert np.allclose(prop.proba.sum(axis=1), 1.0, atol=1e-9)
    assert (prop.proba >= 0).all()
    a = pd.Series(given).map({r: j for j, r in enumerate(REGIMENS)}).to_numpy()
    p_given = prop.of(given)
    assert np.array_equal(p_given, prop.proba[np.arange(n), a])
    assert np.corrcoef(p_given, e[np.arange(n), a])[0, 1] > 0.8
    # the confounder is learnt: frail patients (ecog 3) rarely get C, fit ones (ecog 0) often
    ecog = states["ecog"].to_numpy()
    assert prop.proba[ecog == 0, 2].mean() > 0.5 > 0.15 > prop.proba[ecog == 3, 2].mean()
    assert np.abs(prop.proba - e).mean() < 0.08


def test_probabilities_are_out_of_fold() -> None:
    # each patient is the only one given its regimen: fitted without that patient, the model
    # has never seen the regimen and gives it probability 0 (an in-sample fit would not)
    states = pd.DataFrame({"ecog": [0.0, 1.0, 1.0, 2.0, 2.0, 3.0]})
    given = pd.Series(["A", "A", "B", "B", "C", "C"])
    groups = pd.Series(["p1", "p1", "p2", "p2", "p3", "p3"])
    settings = _settings(folds=5, n_estimators=10)
    prop = cross_fit_propensity(states, ["ecog"], given, groups, settings)
    assert prop.classes == ["A", "B", "C"]
    assert np.allclose(prop.proba.sum(axis=1), 1.0)
    assert np.array_equal(prop.of(given), np.zeros(6))
    assert (prop.proba[[0, 1], 1:] > 0).all() and (prop.proba[[4, 5], :2] > 0).all()


def test_missing_regimen_is_its_own_class() -> None:
    states = pd.DataFrame({"ecog": np.arange(8, dtype=float)})
    given = pd.Series(["A", None, "B", "A", None, "B", "A", "B"], dtype="object")
    groups = pd.Series([f"p{i}" for i in range(8)])
    prop = cross_fit_propensity(states, ["ecog"], given, groups, _settings(folds=2, n_estimators=5))
    assert prop.classes == ["A", "B", "unknown"]
    assert np.allclose(prop.proba.sum(axis=1), 1.0)


def test_lengths_must_agree() -> None:
    states = pd.DataFrame({"ecog": np.zeros(10)})
    with pytest.raises(ValueError, match=r"differ in length: 10, 9, 10"):
        cross_fit_propensity(
            states, ["ecog"], pd.Series(["A"] * 9), pd.Series(range(10)), _settings()
        )
    with pytest.raises(ValueError, match=r"differ in length: 10, 10, 11"):
        cross_fit_propensity(
            states, ["ecog"], pd.Series(["A"] * 10), pd.Series(range(11)), _settings()
        )


def test_a_single_regimen_has_probability_one() -> None:
    states = pd.DataFrame({"ecog": [0.0, 1.0, 2.0, 3.0]})
    prop = cross_fit_propensity(
        states,
        ["ecog"],
        pd.Series(["FOLFOX"] * 4),
        pd.Series(["p1", "p1", "p2", "p3"]),
        _settings(),
    )
    assert prop.classes == ["FOLFOX"]
    assert np.array_equal(prop.proba, np.ones((4, 1)))
    assert np.array_equal(prop.of(["FOLFOX", "other", "FOLFOX", "FOLFOX"]), [1.0, 0, 1, 1])


def test_a_fold_trained_on_a_single_regimen() -> None:
    # leaving out p3, the model only sees regimen A
    states = pd.DataFrame({"ecog": [0.0, 1.0, 0.0, 1.0, 2.0, 2.0]})
    given = pd.Series(["A", "A", "A", "A", "C", "C"])
    groups = pd.Series(["p1", "p1", "p2", "p2", "p3", "p3"])
    prop = cross_fit_propensity(states, ["ecog"], given, groups, _settings(folds=5, n_estimators=5))
    assert np.allclose(prop.proba.sum(axis=1), 1.0)
    assert np.array_equal(prop.of(given)[4:], [0.0, 0.0])


def test_of_gives_zero_to_a_regimen_never_given() -> None:
    prop = Propensity(["A", "B"], np.array([[0.3, 0.7], [0.9, 0.1], [0.5, 0.5]]))
    assert np.array_equal(prop.of(["B", "A", "Z"]), [0.7, 0.9, 0.0])
    assert np.array_equal(prop.of(pd.Series(["A", "B", "B"])), [0.3, 0.1, 0.5])


def test_restrict_to_renormalizes_over_each_lines_candidates() -> None:
    prop = Propensity(
        ["A", "B", "C"],
        np.array(
            [
                [0.2, 0.3, 0.5],  # line 0: candidates A, B -> 0.4, 0.6
                [0.0, 0.0, 1.0],  # line 1: candidates A, B both 0 -> 1/2 each
                [0.6, 0.4, 0.0],  # line 2: A, unknown Z, C -> 1, 0, 0
                [0.1, 0.1, 0.8],  # line 3: unknown Y, Z, W -> 1/3 each
            ]
        ),
    )
    # pairs interleaved across lines: the renormalization groups by line, not by adjacency
    pairs = pd.DataFrame({"regimen_id": ["A", "A", "Y", "B", "Z", "Z", "B", "W", "C", "A"]})
    line_index = np.array([0, 2, 3, 1, 2, 3, 0, 3, 2, 1])
    out = restrict_to(pairs, prop, line_index)
    expected = [0.4, 1.0, 1 / 3, 0.5, 0.0, 1 / 3, 0.6, 1 / 3, 0.0, 0.5]
    assert np.allclose(out, expected)
    sums = pd.Series(out).groupby(line_index).sum()
    assert np.allclose(sums.to_numpy(), 1.0)


def test_restrict_to_with_cross_fitted_propensity(fitted) -> None:
    _, given, _, e, prop = fitted
    # every line has candidates A and B; odd lines also C
    lines = np.arange(len(given))
    rows = [(i, r) for i in lines for r in (("A", "B", "C") if i % 2 else ("A", "B"))]
    pairs = pd.DataFrame(rows, columns=["line", "regimen_id"])
    out = restrict_to(pairs, prop, pairs["line"].to_numpy())
    assert np.allclose(pd.Series(out).groupby(pairs["line"]).sum().to_numpy(), 1.0)
    even = pairs["line"].to_numpy() % 2 == 0
    a_even = out[even & (pairs["regimen_id"] == "A").to_numpy()]
    p = prop.proba[lines % 2 == 0]
    assert np.allclose(a_even, p[:, 0] / (p[:, 0] + p[:, 1]))
