"""The bootstrap of :func:`summarize` in blocks of resamples: bounded memory, the same
intervals for a cohort that fits one block, honest ones beyond."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from precision_onco.models import metrics
from precision_onco.models.metrics import (
    _auc_rows,
    _ece_rows,
    resample_blocks,
    stratified_resamples,
    summarize,
)


def _all_at_once(y: np.ndarray, p: np.ndarray, bootstrap: int, bins: int, seed: int) -> dict:
    """Every resample drawn at once (what summarize did before it had blocks)."""
    rng = np.random.default_rng(seed)
    n = len(y)
    ix = stratified_resamples(y, bootstrap, rng)
    yb, pb = y[ix], p[ix]
    plain = rng.integers(0, n, size=(bootstrap, n))
    yp, pp = y[plain], p[plain]
    return {
        "auc": _auc_rows(yb, pb),
        "brier": ((pp - yp) ** 2).mean(axis=1),
        "ece": _ece_rows(yp, pp, bins),
        "average_precision": np.array(
            [average_precision_score(yb[b], pb[b]) for b in range(bootstrap)]
        ),
    }


def _cohort(n: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.95, n)
    y = (rng.uniform(size=n) < p).astype(float)
    return y, p


@pytest.mark.parametrize(("bootstrap", "n"), [(200, 1), (200, 20_000), (200, 20_972), (7, 10**6)])
def test_the_blocks_cover_every_resample_within_the_bound(bootstrap: int, n: int) -> None:
    sizes = resample_blocks(bootstrap, n)
    assert sum(sizes) == bootstrap and all(s >= 1 for s in sizes)
    assert all(s * n <= metrics.RESAMPLE_BLOCK_VALUES for s in sizes) or sizes == [1] * bootstrap


def test_a_cohort_of_one_block_gets_the_intervals_of_every_resample_drawn_at_once() -> None:
    y, p = _cohort(3_000)
    assert resample_blocks(200, len(y)) == [200]
    got = summarize(y, p, bootstrap=200, bins=10, rng=np.random.default_rng(11))
    boot = _all_at_once(y, p, 200, 10, 11)
    for k, values in boot.items():
        lo, hi = metrics.bc_interval(values, got[k])
        assert (got[f"{k}_low"], got[f"{k}_high"]) == (lo, hi)


def test_blocks_give_reproducible_intervals_close_to_one_block(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cut into blocks of 13 resamples: the same intervals for the same seed, and about the
    intervals of one block (the resamples differ, their spread does not)."""
    y, p = _cohort(4_000)
    one = summarize(y, p, bootstrap=400, bins=10, rng=np.random.default_rng(5))
    monkeypatch.setattr(metrics, "RESAMPLE_BLOCK_VALUES", 13 * 4_000)
    assert resample_blocks(400, 4_000) == [13] * 30 + [10]
    a = summarize(y, p, bootstrap=400, bins=10, rng=np.random.default_rng(5))
    b = summarize(y, p, bootstrap=400, bins=10, rng=np.random.default_rng(5))
    assert a == b
    assert a.keys() == one.keys()
    for k in ("auc", "brier", "ece", "average_precision"):
        assert a[k] == one[k]  # the point estimates do not resample
        width = one[f"{k}_high"] - one[f"{k}_low"]
        assert a[f"{k}_low"] == pytest.approx(one[f"{k}_low"], abs=0.25 * width)
        assert a[f"{k}_high"] == pytest.approx(one[f"{k}_high"], abs=0.25 * width)
        assert a[f"{k}_low"] <= a[k] <= a[f"{k}_high"]
