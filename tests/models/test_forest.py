"""The compiled TreeSHAP gives LightGBM's own ``pred_contrib`` values.

On the pipeline's endpoint models (small synthetic cohort), on boosters fitted here on the
real Chowell 2022 table, and on boosters built to reach every kind of split: categorical
features with more than 32 categories (several bitset words), unseen and negative
categories, missing values as NaN and as zero, zeros compared as numbers, single-leaf
trees, leaves deeper than the tables (computed per row) and a regression objective. The
split decisions are also checked path by path against LightGBM's ``pred_leaf``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from precision_onco.models import forest as compiled
from precision_onco.models.explain import compiled_forest, contributions
from precision_onco.models.forest import compile_boosters, raw_scores, tree_shap
from precision_onco.recommend.rank import rank_regimens

ROOT = Path(__file__).resolve().parents[2]
CHOWELL = ROOT.parent / "shared" / "data" / "cohorts" / "chowell2022_icb_training.csv"


def _lightgbm(boosters: list[lgb.Booster], x: np.ndarray) -> np.ndarray:
    return np.mean([np.asarray(b.predict(x, pred_contrib=True)) for b in boosters], axis=0)


def _assert_same(boosters: list[lgb.Booster], x: np.ndarray) -> None:
    """TreeSHAP equal to LightGBM's up to rounding; raw scores equal bit for bit."""
    forest = compile_boosters(boosters)
    ref = _lightgbm(boosters, x)
    got = tree_shap(forest, x)
    assert got.shape == ref.shape
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * scale)
    raw = np.array([b.predict(x, raw_score=True) for b in boosters])
    np.testing.assert_array_equal(raw_scores(forest, x), raw)


def _fit(
    x: np.ndarray,
    y: np.ndarray,
    *,
    categorical: list[int] | None = None,
    objective: str = "binary",
    rounds: int = 30,
    **params: Any,
) -> lgb.Booster:
    data = lgb.Dataset(
        x, y, categorical_feature=categorical or "auto", params={"verbose": -1}, free_raw_data=False
    )
    base = {
        "objective": objective,
        "verbose": -1,
        "num_leaves": 15,
        "min_data_in_leaf": 5,
        "seed": 3,
        "num_threads": 1,
    }
    return lgb.train({**base, **params}, data, num_boost_round=rounds)


def _mixed(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Numbers with NaNs and exact zeros, a 40-level categorical, a 3-level one."""
    rng = np.random.default_rng(seed)
    x = np.column_stack(
        [
            rng.normal(size=n),
            rng.integers(0, 40, n).astype(float),
            np.where(rng.random(n) < 0.3, 0.0, rng.exponential(size=n)),
            rng.integers(0, 3, n).astype(float),
            rng.normal(size=n),
        ]
    )
    x[rng.random(n) < 0.15, 0] = np.nan
    x[rng.random(n) < 0.1, 1] = np.nan
    logit = x[:, 4] + np.nan_to_num(x[:, 0]) + (np.nan_to_num(x[:, 1]) % 7 == 0) - x[:, 2]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    return x, y


def _probe(x: np.ndarray, seed: int) -> np.ndarray:
    """Rows of ``x`` with values the training never saw: unseen and negative categories,
    NaN everywhere, zeros, tiny values, infinities."""
    rng = np.random.default_rng(seed)
    p = x[rng.choice(len(x), 60)].copy()
    p[:5, 1] = [45.0, 100.0, -1.0, -3.0, 39.0]
    p[5:10] = np.nan
    p[10:15] = 0.0
    p[15:18, 0] = [1e-40, -1e-40, 1e-35]
    p[18:20, 2] = [np.inf, -np.inf]
    return p


def test_mixed_splits_equal_lightgbm() -> None:
    x, y = _mixed(600, 1)
    boosters = [
        _fit(x, y, categorical=[1, 3], seed=s, bagging_fraction=0.8, bagging_freq=1)
        for s in (1, 2, 3)
    ]
    _assert_same(boosters, np.vstack([x[:200], _probe(x, 2)]))


def test_zero_as_missing_and_no_missing_handling() -> None:
    x, y = _mixed(500, 3)
    options: list[dict[str, Any]] = [{"zero_as_missing": True}, {"use_missing": False}]
    for extra in options:
        booster = _fit(x, y, categorical=[1, 3], **extra)
        _assert_same([booster], np.vstack([x[:100], _probe(x, 4)]))


def test_regression_and_single_leaf_trees() -> None:
    x, y = _mixed(400, 5)
    reg = _fit(x, x[:, 4] * 2 + np.nan_to_num(x[:, 0]), objective="regression")
    _assert_same([reg], _probe(x, 6))
    # a label with no signal the trees can use: trees of a single leaf
    flat = _fit(x[:50], np.r_[np.zeros(25), np.ones(25)], min_data_in_leaf=40)
    forest = compile_boosters([flat])
    assert (forest.tree_root < 0).all()  # no split: each tree is its leaf's value
    _assert_same([flat], _probe(x, 7))


def test_deep_leaves_are_computed_per_row(monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = _mixed(800, 8)
    booster = _fit(x, y, categorical=[1, 3], num_leaves=63, min_data_in_leaf=3, rounds=15)
    monkeypatch.setattr(compiled, "TABLE_DEPTH", 3)
    tables = compile_boosters([booster]).shap_part().table_start
    assert (tables < 0).any() and (tables >= 0).any()
    _assert_same([booster], np.vstack([x[:100], _probe(x, 9)]))
    monkeypatch.setattr(compiled, "TABLE_BUDGET", 0)  # no table at all
    forest = compile_boosters([booster])
    assert (forest.shap_part().table_start < 0).all()
    probe = _probe(x, 10)
    np.testing.assert_allclose(tree_shap(forest, probe), _lightgbm([booster], probe), atol=1e-12)


def test_paths_follow_lightgbm_leaves() -> None:
    """For every row and tree, the leaf the split decisions lead to is LightGBM's
    (``pred_leaf``), and it is the one leaf whose whole path the row takes (its TreeSHAP
    pattern is all ones)."""
    x, y = _mixed(300, 11)
    booster = _fit(x, y, categorical=[1, 3])
    probe = np.vstack([x[:50], _probe(x, 12)])
    f = compile_boosters([booster])
    s = f.shap_part()
    leaf_of = np.asarray(booster.predict(probe, pred_leaf=True), dtype=int)
    for r, row in enumerate(probe):
        for t in range(len(f.tree_root)):
            node = int(f.tree_root[t])
            while node >= 0:
                node = int(f.left_child[node] if _left(f, row, node) else f.right_child[node])
            assert ~node - f.tree_leaf[t] == leaf_of[r, t]
            taken = [
                leaf
                for leaf in range(f.tree_leaf[t], f.tree_leaf[t + 1])
                if all(
                    _left(f, row, int(s.path_node[p])) == bool(s.path_left[p])
                    for p in range(s.path_start[leaf], s.path_start[leaf + 1])
                )
            ]
            assert taken == [~node]


def _left(f: Any, row: np.ndarray, n: int) -> bool:
    """The decision as written in LightGBM's tree.h, for the test (not the compiled one)."""
    v = float(row[f.feature[n]])
    if f.kind[n] == 1:
        if np.isnan(v) or v < 0:
            return False
        c = int(v)
        words = f.cat_words[f.cat_start[n] : f.cat_start[n] + f.cat_len[n]]
        return c // 32 < len(words) and bool((int(words[c // 32]) >> (c % 32)) & 1)
    if np.isnan(v):
        return bool(f.nan_left[n])
    if f.zero_left[n] >= 0 and abs(v) <= 1.0000000180025095e-35:
        return bool(f.zero_left[n])
    return bool(v <= f.threshold[n])


def test_pipeline_models_equal_lightgbm(small_cohort: Any, small_recommender: Any) -> None:
    """The endpoint models the recommender explains: contributions equal LightGBM's, and add
    up with the bias to the members' mean raw log-odds."""
    _, _, tables, feats = small_cohort
    rec = small_recommender[2]
    ranking = rank_regimens(
        feats, tables.patients, tables.lines, rec.models, rec.catalog, rec.preset(None)
    )
    assert ranking.candidates is not None and len(ranking.candidates) > 100
    for ep in rec.explain:
        model = rec.models[ep]
        codes = ranking.codes[model.input_key]
        members = model.estimator.calibrated_classifiers_
        boosters = [m.estimator.booster_ for m in members]
        assert len(boosters) > 1
        _assert_same(boosters, codes)
        contrib, bias = contributions(model, ranking.candidates, codes=codes)
        raw = np.mean([b.predict(codes, raw_score=True) for b in boosters], axis=0)
        np.testing.assert_allclose(contrib.sum(axis=1) + bias, raw, atol=1e-10)
        assert compiled_forest(model) is compiled_forest(model)  # compiled once per model


@pytest.mark.skipif(not CHOWELL.is_file(), reason=f"real Chowell 2022 table not found: {CHOWELL}")
def test_real_cohort_boosters_equal_lightgbm() -> None:
    """Boosters fitted on the real Chowell 2022 table (missing values as they come, cancer
    type as a categorical) give LightGBM's contributions on every row."""
    t = pd.read_csv(CHOWELL)
    y = t["Response (1:Responder; 0:Non-responder)"].to_numpy(dtype=float)
    cols = ["Age", "BMI", "NLR", "Platelets", "HGB", "Albumin", "TMB", "FCNA", "HED", "MSI_SCORE"]
    x = t[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    cancer = t["Cancer_Type"].astype("category").cat.codes.to_numpy(dtype=float)
    cancer[cancer < 0] = np.nan
    x = np.column_stack([cancer, x])
    boosters = [
        _fit(x, y, categorical=[0], seed=s, bagging_fraction=0.8, bagging_freq=1, rounds=80)
        for s in (1, 2)
    ]
    _assert_same(boosters, x)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    leaves=st.integers(2, 40),
    nan_share=st.floats(0, 0.5),
    zero_as_missing=st.booleans(),
)
def test_random_boosters_equal_lightgbm(
    seed: int, leaves: int, nan_share: float, zero_as_missing: bool
) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, 4))
    x[:, 1] = rng.integers(0, 35, 200)
    x[rng.random(x.shape) < nan_share] = np.nan
    x[rng.random(x.shape) < 0.1] = 0.0
    y = (np.nan_to_num(x[:, 0]) + rng.normal(size=200) > 0).astype(float)
    if y.min() == y.max():
        y[0] = 1 - y[0]
    booster = _fit(
        x,
        y,
        categorical=[1],
        num_leaves=leaves,
        min_data_in_leaf=3,
        zero_as_missing=zero_as_missing,
        rounds=10,
    )
    _assert_same([booster], np.vstack([x, rng.normal(size=(20, 4)) * 3]))


def test_prepared_recommender_compiles_nothing_more(
    small_recommender: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Recommender.prepare`` (the server and the pyfunc call it when they load the model)
    compiles every booster and the explained endpoints' tables: scoring after it builds
    nothing."""
    from precision_onco.recommend.examples import example_payload

    rec = small_recommender[2]
    rec.prepare()

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("compiled again after prepare()")

    monkeypatch.setattr(compiled, "compile_boosters", refuse)
    monkeypatch.setattr(compiled, "_build_shap", refuse)
    answer = rec.recommend_payload(example_payload("nsclc_kras_g12c"))
    assert answer["status"] == "ranked" and answer["ranked"][0]["drivers"]


def test_rows_split_between_threads_give_the_same_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many rows walked on several threads (a cohort's batch): every value is the one the
    calling thread alone gives, bit for bit; the walk is actually split (blocks)."""
    x, y = _mixed(900, 11)
    boosters = [_fit(x, y, categorical=[1, 3], seed=s) for s in (1, 2)]
    forest = compile_boosters(boosters)
    rows = np.vstack([x, _probe(x, 12)])
    assert len(rows) >= compiled.PARALLEL_ROWS
    one_shap, one_raw = tree_shap(forest, rows), raw_scores(forest, rows)
    split: list[int] = []
    real = compiled._parallel

    def spy(n: int, threads: int) -> Any:
        blocks = real(n, threads)
        split.append(0 if blocks is None else len(blocks) - 1)
        return blocks

    monkeypatch.setattr(compiled, "_parallel", spy)
    np.testing.assert_array_equal(tree_shap(forest, rows, threads=2), one_shap)
    np.testing.assert_array_equal(raw_scores(forest, rows, threads=0), one_raw)
    assert split[0] > 1 and split[1] > 1
    # a served request's few rows stay in the calling thread
    np.testing.assert_array_equal(tree_shap(forest, rows[:10], threads=2), one_shap[:10])
    assert split[2] == 0


def test_concurrent_threaded_walks_give_the_same_values() -> None:
    """Callers in several Python threads asking for threads at once: one walk takes them,
    the others walk in their own thread; every answer is the same."""
    from concurrent.futures import ThreadPoolExecutor

    x, y = _mixed(700, 13)
    forest = compile_boosters([_fit(x, y, categorical=[1, 3])])
    want = tree_shap(forest, x)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda _: tree_shap(forest, x, threads=2), range(12)))
    for g in got:
        np.testing.assert_array_equal(g, want)
    assert not compiled._PARALLEL_LOCK.locked()


def test_a_process_forked_after_threads_ran_walks_in_one_thread() -> None:
    """An OpenMP runtime whose threads were started does not survive a fork: a child forked
    after a threaded walk walks in its own thread, with the same values."""
    import multiprocessing as mp

    x, y = _mixed(600, 14)
    forest = compile_boosters([_fit(x, y, categorical=[1, 3])])
    want = tree_shap(forest, x, threads=2)
    assert compiled._THREADS[0]  # threads were started in this process
    _FORKED_INPUT[:] = [forest, x]  # inherited by the forked child
    with mp.get_context("fork").Pool(1) as pool:
        threaded, values = pool.apply(_child_walk)
    assert threaded is None
    np.testing.assert_array_equal(values, want)


_FORKED_INPUT: list[Any] = []


def _child_walk() -> tuple[Any, np.ndarray]:
    forest, x = _FORKED_INPUT
    return compiled._parallel(len(x), 2), tree_shap(forest, x, threads=2)
