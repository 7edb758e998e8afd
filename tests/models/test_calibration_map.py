"""The numpy calibration maps equal scikit-learn's fitted calibrators bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import _SigmoidCalibration
from sklearn.isotonic import IsotonicRegression

from precision_onco.models.fit import calibration_map


def _probe(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random points, every threshold exactly, midpoints and far outside the range."""
    lo, hi = float(x.min()), float(x.max())
    mids = (x[1:] + x[:-1]) / 2 if len(x) > 1 else x
    return np.concatenate(
        [
            rng.uniform(lo - 2, hi + 2, 2000),
            x,
            mids,
            np.nextafter(x, np.inf),
            np.nextafter(x, -np.inf),
            [lo - 1e6, hi + 1e6],
        ]
    )


@pytest.mark.parametrize("seed", range(6))
def test_isotonic_map_equals_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = [3, 40, 400, 4000, 50, 7][seed]
    raw = np.round(rng.normal(size=n), 2 if seed % 2 else 6)  # with ties when rounded
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-2 * raw))).astype(float)
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(raw, y)
    cmap = calibration_map(iso)
    assert cmap is not None and cmap.kind == (
        "isotonic" if len(iso.X_thresholds_) > 1 else "constant"
    )
    t = _probe(iso.X_thresholds_, rng)
    np.testing.assert_array_equal(cmap(t), iso.predict(t))
    assert len(np.unique(cmap(t))) >= min(2, len(iso.X_thresholds_))  # not a constant by accident


def test_a_one_threshold_isotonic_is_its_constant() -> None:
    iso = IsotonicRegression(out_of_bounds="clip").fit([0.0, 1.0, 2.0], [0.5, 0.5, 0.5])
    cmap = calibration_map(iso)
    assert cmap is not None
    t = np.array([-5.0, 0.0, 1.5, 9.0])
    np.testing.assert_array_equal(cmap(t), iso.predict(t))


def test_sigmoid_map_equals_sklearn() -> None:
    rng = np.random.default_rng(3)
    raw = rng.normal(size=500)
    y = (rng.uniform(size=500) < 1 / (1 + np.exp(-1.5 * raw + 0.3))).astype(float)
    sig = _SigmoidCalibration().fit(raw, y)
    cmap = calibration_map(sig)
    assert cmap is not None and cmap.kind == "sigmoid"
    t = rng.uniform(-50, 50, 5000)
    np.testing.assert_array_equal(cmap(t), sig.predict(t))


def test_other_calibrators_keep_their_own_predict() -> None:
    """Out-of-bounds other than clip (NaN or an error outside the range) is not mapped."""
    iso = IsotonicRegression(out_of_bounds="nan").fit([0.0, 1.0, 2.0], [0.1, 0.4, 0.9])
    assert calibration_map(iso) is None
    assert calibration_map(object()) is None


def test_every_member_of_the_trained_models_is_mapped(small_cohort, small_recommender) -> None:
    """Each calibrated member of the trained endpoint models: the mapped probabilities equal
    scikit-learn's own ``predict_proba`` of that member on the cohort's rows."""
    import pickle

    feats = small_cohort[3].head(400)
    rec = small_recommender[2]
    for model in rec.models.values():
        members = model.estimator.calibrated_classifiers_
        assert all(m is not None for m in model.calibration_maps())
        x = model.matrix(feats)
        want = np.stack([m.predict_proba(x)[:, 1] for m in members])
        got = model.member_probabilities(feats)
        assert got is not None
        np.testing.assert_array_equal(got, want)
        assert want.std() > 0.01  # real probabilities were compared
        for k, m in enumerate(members):
            raw = np.linspace(-8, 8, 3001)
            np.testing.assert_array_equal(
                model.calibrate(k, raw), np.clip(m.calibrators[0].predict(raw), 0, 1)
            )
        # the maps are derived: never pickled, rebuilt after loading
        assert "_calibration_maps" not in pickle.loads(pickle.dumps(model)).__dict__
