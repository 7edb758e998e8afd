"""LightGBM boosters compiled to flat arrays: raw scores and TreeSHAP without LightGBM calls.

A served request scores about ten candidate rows with every member of every endpoint
model (45 boosters here) and explains them with two endpoints' members. Through
LightGBM that is one native call per booster, each with a fixed cost larger than the
arithmetic, and TreeSHAP by LightGBM's recursive algorithm; native calls from several
threads have also crashed (issue 15). Here the boosters of a model are read once
from their text form (``Booster.model_to_string``: LightGBM's own node arrays, every
number written with 17 significant digits, so read back exactly) and walked by Numba
functions.

**Raw scores** (:func:`raw_scores`) follow LightGBM's prediction exactly: the same split
decisions (``tree.h``: ``NumericalDecision`` with missing type None, Zero or NaN and the
default side, ``CategoricalDecision`` with NaN and negative categories to the right),
the leaf values summed tree by tree from 0 in the booster's order, as
``GBDT::PredictRaw`` does. They are bit-for-bit LightGBM's (tested).

**TreeSHAP** (:func:`tree_shap`) gives LightGBM's ``pred_contrib`` values (exact,
path-dependent TreeSHAP; Lundberg et al., 2020) up to floating-point rounding. For each
leaf ``l`` of a tree they are a sum over the distinct features ``j`` on the leaf's path::

    phi_j += v_l * (o_j - z_j) * sum_{S ⊆ P_l \\ {j}} |S|! (d - |S| - 1)! / d!
                                 * prod_{i in S} o_i * prod_{i in P_l \\ S \\ {j}} z_i

where ``d`` is the number of distinct features on the path, ``z_i`` the product of the
data-count fractions of the path's splits on feature ``i`` and ``o_i`` is 1 when the row
takes every split of the path on feature ``i``, else 0. Since the ``o_i`` are 0 or 1, the
term depends on the row only through the ``d``-bit pattern of the features it follows: the
terms of every pattern are computed once per leaf (as in Yang's Fast TreeSHAP, 2021), and a
row then costs, per leaf, its pattern and ``d`` additions. Leaves with more than
:data:`TABLE_DEPTH` distinct features on their path, or beyond :data:`TABLE_BUDGET`,
have their terms computed per row from the same polynomial.

The compiled form holds no LightGBM object: it is safe to call from several threads and
survives a fork. Many rows (a cohort's batch) can be split between threads
(``threads=``); a served request's few rows, a forked process and a second concurrent
caller walk in their own thread.
"""

from __future__ import annotations

import math
import os
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

__all__ = [
    "TABLE_BUDGET",
    "TABLE_DEPTH",
    "CompiledForest",
    "compile_boosters",
    "forest_for",
    "raw_scores",
    "tree_shap",
    "warm_up",
]

#: Leaves whose path has at most this many distinct features get a table of their terms.
TABLE_DEPTH = 12
#: Most table entries (float64) kept for one compiled forest (64 MiB).
TABLE_BUDGET = 8 * 2**20
#: LightGBM's ``kZeroThreshold`` (1e-35 as a C float): a value within it of 0 is a zero.
_ZERO = 1.0000000180025095e-35
#: ``decision_type`` bits in LightGBM's model text.
_CATEGORICAL_MASK, _DEFAULT_LEFT_MASK = 1, 2
_MISSING_NONE, _MISSING_ZERO, _MISSING_NAN = 0, 1, 2


@dataclass(frozen=True)
class _Shap:
    """Per leaf: its path's splits (``path_node``, ``path_left``: the path goes left,
    ``path_elem``: the distinct feature's position on the path), distinct features
    (``elem_feature``, ``elem_zero``) and table offset (-1: computed per row). Per internal
    node: the position of its feature among the distinct features of the path from the root
    to it (``node_elem``; the path to a node is unique), which sets a leaf's pattern bit,
    and the nodes of each tree parents first (``preorder``)."""

    path_start: np.ndarray
    path_node: np.ndarray
    path_left: np.ndarray
    path_elem: np.ndarray
    elem_start: np.ndarray
    elem_count: np.ndarray
    elem_feature: np.ndarray
    elem_zero: np.ndarray
    table_start: np.ndarray
    table: np.ndarray
    node_elem: np.ndarray
    preorder: np.ndarray
    bias: float


@dataclass(frozen=True)
class CompiledForest:
    """The trees of one or more boosters (same features) as flat arrays.

    Per tree: its booster, root node (-1: a single leaf, of value ``tree_const``) and the
    first of its nodes and leaves. Per internal node: ``feature``, ``threshold``, ``kind``
    (0 numerical, 1 categorical), the side of a NaN (``nan_left``) and of a zero when zero
    means missing (``zero_left``: 1 left, 0 right, -1 compared as a number), the bitset
    ``cat_words[cat_start:cat_start + cat_len]`` of a categorical split, the children
    (``~leaf`` for a leaf) and the data count. Per leaf: value and data count. The TreeSHAP
    tables are built on first use.
    """

    n_features: int
    n_boosters: int
    tree_booster: np.ndarray
    tree_root: np.ndarray
    tree_const: np.ndarray
    tree_node: np.ndarray
    tree_leaf: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    kind: np.ndarray
    nan_left: np.ndarray
    zero_left: np.ndarray
    cat_start: np.ndarray
    cat_len: np.ndarray
    cat_words: np.ndarray
    left_child: np.ndarray
    right_child: np.ndarray
    node_count: np.ndarray
    value: np.ndarray
    leaf_count: np.ndarray
    _shap: list[_Shap] = field(default_factory=list, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def nodes(self) -> tuple[np.ndarray, ...]:
        """The node arrays the compiled walks take, in their order."""
        return (
            self.feature,
            self.threshold,
            self.kind,
            self.nan_left,
            self.zero_left,
            self.cat_start,
            self.cat_len,
            self.cat_words,
            self.left_child,
            self.right_child,
            self.value,
        )

    def shap_part(self) -> _Shap:
        """The TreeSHAP paths and tables, built once."""
        with self._lock:
            if not self._shap:
                self._shap.append(_build_shap(self))
            return self._shap[0]


def _trees(text: str) -> tuple[int, list[dict[str, str]]]:
    """The number of features and each tree's ``key=value`` lines of a model's text."""
    head, _, rest = text.partition("\nTree=")
    header = dict(line.split("=", 1) for line in head.splitlines() if "=" in line)
    if int(header.get("num_tree_per_iteration", "1")) != 1:
        raise ValueError("compiled boosters must have one tree per round (binary or regression)")
    body = rest.partition("\nend of trees")[0]
    trees = []
    for block in ("Tree=" + body).split("\nTree="):
        lines = block.splitlines()
        trees.append(dict(line.split("=", 1) for line in lines[1:] if "=" in line))
    return int(header["max_feature_idx"]) + 1, trees


def _numbers(tree: dict[str, str], key: str, dtype: Any) -> np.ndarray:
    text = tree.get(key, "").strip()
    return np.array(text.split(), dtype=dtype) if text else np.zeros(0, dtype=dtype)


class _Arrays:
    """The concatenated arrays of :class:`CompiledForest`, filled tree by tree."""

    def __init__(self) -> None:
        self.per_tree: dict[str, list[Any]] = {k: [] for k in ("booster", "root", "const")}
        self.tree_node: list[int] = [0]
        self.tree_leaf: list[int] = [0]
        self.parts: dict[str, list[np.ndarray]] = {
            k: []
            for k in (
                "feature",
                "threshold",
                "kind",
                "nan_left",
                "zero_left",
                "cat_start",
                "cat_len",
                "cat_words",
                "left_child",
                "right_child",
                "node_count",
                "value",
                "leaf_count",
            )
        }
        self.n_words = 0

    def add(self, tree: dict[str, str], booster: int) -> None:
        n0, l0 = self.tree_node[-1], self.tree_leaf[-1]
        value = _numbers(tree, "leaf_value", np.float64)
        feature = _numbers(tree, "split_feature", np.int64)
        self.per_tree["booster"].append(booster)
        if int(tree["num_leaves"]) == 1:
            self.per_tree["root"].append(-1)
            self.per_tree["const"].append(float(value[0]))
            self.tree_node.append(n0)
            self.tree_leaf.append(l0)
            return
        self.per_tree["root"].append(n0)
        self.per_tree["const"].append(0.0)
        threshold = _numbers(tree, "threshold", np.float64)
        decision = _numbers(tree, "decision_type", np.int64)
        categorical = (decision & _CATEGORICAL_MASK) != 0
        default_left = (decision & _DEFAULT_LEFT_MASK) != 0
        missing = (decision >> 2) & 3
        bounds = _numbers(tree, "cat_boundaries", np.int64)
        words = _numbers(tree, "cat_threshold", np.uint32)
        cat_start = np.zeros(len(feature), np.int64)
        cat_len = np.zeros(len(feature), np.int64)
        if len(bounds):  # a categorical split's threshold is the index of its bitset
            cat = np.where(categorical, threshold, 0).astype(np.int64)
            cat_start = np.where(categorical, self.n_words + bounds[cat], 0)
            cat_len = np.where(
                categorical, bounds[np.minimum(cat + 1, len(bounds) - 1)] - bounds[cat], 0
            )
        self.n_words += len(words)

        def child(c: np.ndarray) -> np.ndarray:
            return np.where(c >= 0, c + n0, ~(~c + l0))

        p = self.parts
        p["feature"].append(feature)
        p["threshold"].append(np.where(categorical, 0.0, threshold))
        p["kind"].append(categorical.astype(np.int8))
        # a NaN: the default side when missing values are NaN or zero, else read as 0.0
        nan_default = (missing == _MISSING_NAN) | (missing == _MISSING_ZERO)
        p["nan_left"].append(np.where(nan_default, default_left, threshold >= 0.0) & ~categorical)
        # a zero: the default side when zeros are the missing values
        p["zero_left"].append(
            np.where(missing == _MISSING_ZERO, default_left.astype(np.int8), -1).astype(np.int8)
        )
        p["cat_start"].append(cat_start)
        p["cat_len"].append(cat_len)
        p["cat_words"].append(words)
        p["left_child"].append(child(_numbers(tree, "left_child", np.int64)))
        p["right_child"].append(child(_numbers(tree, "right_child", np.int64)))
        p["node_count"].append(_numbers(tree, "internal_count", np.float64))
        p["value"].append(value)
        p["leaf_count"].append(_numbers(tree, "leaf_count", np.float64))
        self.tree_node.append(n0 + len(feature))
        self.tree_leaf.append(l0 + len(value))

    def build(self, n_features: int, n_boosters: int) -> CompiledForest:
        dtypes = {
            "feature": np.int64,
            "threshold": np.float64,
            "kind": np.int8,
            "nan_left": np.bool_,
            "zero_left": np.int8,
            "cat_start": np.int64,
            "cat_len": np.int64,
            "cat_words": np.uint32,
            "left_child": np.int64,
            "right_child": np.int64,
            "node_count": np.float64,
            "value": np.float64,
            "leaf_count": np.float64,
        }
        a: dict[str, np.ndarray] = {
            k: (np.concatenate(v).astype(dtypes[k]) if v else np.zeros(0, dtypes[k]))
            for k, v in self.parts.items()
        }
        return CompiledForest(
            n_features=n_features,
            n_boosters=n_boosters,
            tree_booster=np.array(self.per_tree["booster"], dtype=np.int64),
            tree_root=np.array(self.per_tree["root"], dtype=np.int64),
            tree_const=np.array(self.per_tree["const"], dtype=np.float64),
            tree_node=np.array(self.tree_node, dtype=np.int64),
            tree_leaf=np.array(self.tree_leaf, dtype=np.int64),
            feature=a["feature"],
            threshold=a["threshold"],
            kind=a["kind"],
            nan_left=a["nan_left"],
            zero_left=a["zero_left"],
            cat_start=a["cat_start"],
            cat_len=a["cat_len"],
            cat_words=a["cat_words"],
            left_child=a["left_child"],
            right_child=a["right_child"],
            node_count=a["node_count"],
            value=a["value"],
            leaf_count=a["leaf_count"],
        )


def compile_boosters(boosters: list[Any]) -> CompiledForest:
    """The trees of ``boosters`` (LightGBM ``Booster`` objects with the same features, one
    tree per round: a binary model's calibrated members) as a :class:`CompiledForest`."""
    out = _Arrays()
    n_features = -1
    for k, booster in enumerate(boosters):
        n, trees = _trees(booster.model_to_string())
        if n_features not in (-1, n):
            raise ValueError("the boosters do not have the same features")
        n_features = n
        for tree in trees:
            out.add(tree, k)
    return out.build(n_features, len(boosters))


_FORESTS: weakref.WeakKeyDictionary[Any, CompiledForest] = weakref.WeakKeyDictionary()
_FORESTS_LOCK = threading.Lock()


def forest_for(owner: Any, boosters: list[Any]) -> CompiledForest:
    """The compiled forest of ``boosters``, built once per ``owner`` (the estimator that
    holds them) and kept as long as it lives."""
    with _FORESTS_LOCK:
        forest = _FORESTS.get(owner)
        if forest is None:
            forest = compile_boosters(boosters)
            _FORESTS[owner] = forest
        return forest


def _matrix(forest: CompiledForest, x: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != forest.n_features:
        raise ValueError(f"expected a matrix of {forest.n_features} features, got shape {a.shape}")
    return a


def raw_scores(forest: CompiledForest, x: np.ndarray, *, threads: int = 1) -> np.ndarray:
    """Each booster's raw score of each row of ``x`` (LightGBM's inputs as floats): shape
    ``(boosters, rows)``, bit-for-bit ``booster.predict(x, raw_score=True)``. ``threads``
    (LightGBM's ``num_threads``: 1 one, 0 or less every core) splits the rows of a large
    ``x`` between threads (:func:`_parallel`); each row's sum is the same."""
    a = _matrix(forest, x)
    out = np.zeros((forest.n_boosters, a.shape[0]), dtype=np.float64)
    f = forest
    args = (f.tree_booster, f.tree_root, f.tree_const, *f.nodes(), out)
    _walk(_raw, _raw_par, a, args, threads)
    return out


def tree_shap(forest: CompiledForest, x: np.ndarray, *, threads: int = 1) -> np.ndarray:
    """TreeSHAP values of the rows of ``x``: shape ``(rows, features + 1)``, the bias last —
    ``booster.predict(x, pred_contrib=True)`` averaged over the forest's boosters.
    ``threads`` as in :func:`raw_scores`: each row's sums are the same."""
    a = _matrix(forest, x)
    s = forest.shap_part()
    out = np.zeros((a.shape[0], forest.n_features + 1), dtype=np.float64)
    f = forest
    args = (
        f.tree_node,
        f.tree_leaf,
        s.preorder,
        *f.nodes(),
        s.node_elem,
        s.path_start,
        s.path_node,
        s.path_left,
        s.path_elem,
        s.elem_start,
        s.elem_count,
        s.elem_feature,
        s.elem_zero,
        s.table_start,
        s.table,
        out,
    )
    _walk(_shap_rows, _shap_par, a, args, threads)
    out[:, :-1] /= f.n_boosters
    out[:, -1] = s.bias
    return out


#: Fewest rows worth splitting between threads (a served patient's ten rows are not).
PARALLEL_ROWS = 256
#: One multi-threaded walk at a time in a process; a caller that finds it taken walks its
#: rows in its own thread (the same values).
_PARALLEL_LOCK = threading.Lock()
#: ``[threads started here, forked after threads were started]``: a process forked once
#: Numba's threads ran walks in one thread (an OpenMP runtime whose threads were started
#: before a fork does not survive it in the child).
_THREADS = [False, False]


def _forked() -> None:
    _THREADS[1] = _THREADS[1] or _THREADS[0]


os.register_at_fork(after_in_child=_forked)


def _walk(one: Any, split: Any, a: np.ndarray, args: tuple[Any, ...], threads: int) -> None:
    """``split`` over row blocks on Numba's threads (:func:`_parallel`) when the rows are
    worth it and no other threaded walk runs (:data:`_PARALLEL_LOCK`), else ``one`` (a walk
    of rows ``r0`` to ``r1``) over every row of ``a`` in this thread."""
    blocks = _parallel(a.shape[0], threads)
    if blocks is not None and _PARALLEL_LOCK.acquire(blocking=False):
        try:
            _THREADS[0] = True
            split(a, blocks, *args)
            return
        finally:
            _PARALLEL_LOCK.release()
    one(a, 0, a.shape[0], *args)


def _parallel(rows: int, threads: int) -> np.ndarray | None:
    """The row blocks to walk on ``threads`` threads (``<= 0``: Numba's thread count, every
    core by default), that many set for this thread's next threaded call; ``None`` for one
    thread: ``threads == 1``, fewer than :data:`PARALLEL_ROWS` rows, or a process forked
    after threads were started."""
    most = int(getattr(numba.config, "NUMBA_NUM_THREADS", 1))  # set at import (untyped)
    n = most if threads <= 0 else min(threads, most)
    if n <= 1 or rows < PARALLEL_ROWS or _THREADS[1]:
        return None
    numba.set_num_threads(n)
    parts = min(rows // 16, 8 * n)
    return np.linspace(0, rows, parts + 1).astype(np.int64)


def _build_shap(f: CompiledForest) -> _Shap:
    """Each leaf's path (splits, distinct features and their zero fractions) and tables."""
    n_leaves = len(f.value)
    steps: list[list[tuple[int, bool, int]]] = [[] for _ in range(n_leaves)]
    elems: list[tuple[list[int], list[float]]] = [([], []) for _ in range(n_leaves)]
    bias = 0.0
    feature, left, right = f.feature.tolist(), f.left_child.tolist(), f.right_child.tolist()
    node_elem = np.zeros(len(feature), dtype=np.int64)
    preorder: list[int] = []
    count, leaf_count = f.node_count.tolist(), f.leaf_count.tolist()
    for t, root in enumerate(f.tree_root.tolist()):
        if root < 0:
            bias += float(f.tree_const[t])
            continue
        total = count[root]
        stack: list[tuple[int, list[tuple[int, bool, int]], list[int], list[float]]]
        stack = [(root, [], [], [])]
        while stack:
            node, path, feats, zeros = stack.pop()
            if node < 0:
                leaf = ~node
                steps[leaf], elems[leaf] = path, (feats, zeros)
                bias += leaf_count[leaf] / total * float(f.value[leaf])
                continue
            j = feature[node]
            node_elem[node] = feats.index(j) if j in feats else len(feats)
            preorder.append(node)
            for c, goes_left in ((left[node], True), (right[node], False)):
                frac = (count[c] if c >= 0 else leaf_count[~c]) / count[node]
                if j in feats:
                    e = feats.index(j)
                    z = [*zeros[:e], zeros[e] * frac, *zeros[e + 1 :]]
                    stack.append((c, [*path, (node, goes_left, e)], feats, z))
                else:
                    e = len(feats)
                    stack.append((c, [*path, (node, goes_left, e)], [*feats, j], [*zeros, frac]))
    counts = np.array([len(e[0]) for e in elems], dtype=np.int64)
    lengths = np.array([len(s) for s in steps], dtype=np.int64)
    flat = [step for s in steps for step in s]
    # tables for the leaves of at most `deepest` distinct features (the largest depth within
    # the budget), in leaf order: a tree's tables are contiguous
    sizes = counts * (2 ** np.minimum(counts, TABLE_DEPTH + 1))
    deepest = TABLE_DEPTH
    while deepest > 0 and sizes[counts <= deepest].sum() > TABLE_BUDGET:
        deepest -= 1
    tabled = counts <= deepest
    table_start = np.where(tabled, np.cumsum(np.where(tabled, sizes, 0)) - sizes, -1)
    part = _Shap(
        path_start=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        path_node=np.array([s[0] for s in flat], dtype=np.int64),
        path_left=np.array([s[1] for s in flat], dtype=np.bool_),
        path_elem=np.array([s[2] for s in flat], dtype=np.int64),
        elem_start=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        elem_count=counts,
        elem_feature=np.array([j for e in elems for j in e[0]], dtype=np.int64),
        elem_zero=np.array([z for e in elems for z in e[1]], dtype=np.float64),
        table_start=table_start.astype(np.int64),
        table=np.zeros(int(sizes[tabled].sum()), dtype=np.float64),
        node_elem=node_elem,
        preorder=np.array(preorder, dtype=np.int64),
        bias=bias / f.n_boosters,
    )
    _fill_tables(
        f.value, part.elem_start, part.elem_count, part.elem_zero, part.table_start, part.table
    )
    return part


@numba.njit(cache=True)
def _goes_left(fval, kind, nan_left, zero_left, threshold, cat_start, cat_len, cat_words):
    """LightGBM's decision at a node (tree.h ``NumericalDecision``, ``CategoricalDecision``)
    for the value ``fval``; the node's fields are passed one by one (scalars compile to a
    call the compiler inlines, arrays did not)."""
    if kind == 0:
        if math.isnan(fval):
            return nan_left
        if zero_left >= 0 and -_ZERO <= fval <= _ZERO:
            return zero_left == 1
        return fval <= threshold
    if math.isnan(fval) or fval < 0:  # NaN and negative categories go right
        return False
    c = int(fval)
    w = c >> 5
    if w >= cat_len:
        return False
    return (cat_words[cat_start + w] >> (c & 31)) & 1 == 1


@numba.njit(cache=True)
def _raw(
    x,
    r0,
    r1,
    tree_booster,
    tree_root,
    tree_const,
    feature,
    threshold,
    kind,
    nan_left,
    zero_left,
    cat_start,
    cat_len,
    cat_words,
    left_child,
    right_child,
    value,
    out,
):
    # rows r0 to r1, row by row, tree by tree in the boosters' order: each sum is taken as
    # LightGBM takes it
    for r in range(r0, r1):
        for t in range(len(tree_root)):
            k = tree_booster[t]
            node = tree_root[t]
            if node < 0:
                out[k, r] += tree_const[t]
                continue
            while node >= 0:
                if _goes_left(
                    x[r, feature[node]],
                    kind[node],
                    nan_left[node],
                    zero_left[node],
                    threshold[node],
                    cat_start[node],
                    cat_len[node],
                    cat_words,
                ):
                    node = left_child[node]
                else:
                    node = right_child[node]
            out[k, r] += value[~node]


@numba.njit(cache=True)
def _weights(d: int) -> np.ndarray:
    """``k! (d - 1 - k)! / d!`` for k = 0 .. d - 1 (the Shapley weight of a subset of k)."""
    w = np.empty(d)
    for k in range(d):
        w[k] = math.exp(math.lgamma(k + 1) + math.lgamma(d - k) - math.lgamma(d + 1))
    return w


@numba.njit(cache=True)
def _terms(v: float, z: np.ndarray, o: np.ndarray, w: np.ndarray, out: np.ndarray) -> None:
    """``out[j]``: the leaf's term for its ``j``-th distinct feature (module docstring)."""
    d = len(z)
    poly = np.zeros(d + 1)  # coefficients of prod_i (z_i + o_i t)
    poly[0] = 1.0
    for i in range(d):
        for k in range(i + 1, 0, -1):
            poly[k] = poly[k] * z[i] + poly[k - 1] * o[i]
        poly[0] = poly[0] * z[i]
    q = np.empty(d)
    for j in range(d):  # divide out (z_j + o_j t): the product over the other features
        if o[j] != 0.0:
            q[d - 1] = poly[d] / o[j]
            for k in range(d - 1, 0, -1):
                q[k - 1] = (poly[k] - z[j] * q[k]) / o[j]
        else:
            for k in range(d):
                q[k] = poly[k] / z[j]
        s = 0.0
        for k in range(d):
            s += q[k] * w[k]
        out[j] = v * (o[j] - z[j]) * s


@numba.njit(cache=True)
def _fill_tables(value, elem_start, elem_count, elem_zero, table_start, table):
    for leaf in range(len(value)):
        start = table_start[leaf]
        if start < 0:
            continue
        d = elem_count[leaf]
        z = elem_zero[elem_start[leaf] : elem_start[leaf] + d]
        w = _weights(d)
        o = np.empty(d)
        out = np.empty(d)
        for pattern in range(1 << d):
            for i in range(d):
                o[i] = 1.0 if (pattern >> i) & 1 else 0.0
            _terms(value[leaf], z, o, w, out)
            table[start + pattern * d : start + (pattern + 1) * d] = out


@numba.njit(cache=True)
def _shap_rows(
    x,
    r0,
    r1,
    tree_node,
    tree_leaf,
    preorder,
    feature,
    threshold,
    kind,
    nan_left,
    zero_left,
    cat_start,
    cat_len,
    cat_words,
    left_child,
    right_child,
    value,
    node_elem,
    path_start,
    path_node,
    path_left,
    path_elem,
    elem_start,
    elem_count,
    elem_feature,
    elem_zero,
    table_start,
    table,
    out,
):
    # Rows r0 to r1, tree by tree, every row (a tree's tables stay in the cache while its
    # rows are scored). For a row, the nodes parents first pass down the bits of the path's
    # features the row does not follow (`miss`, slot n for node n, slot n_nodes + l for
    # leaf l) without a branch on the row's way; at a leaf its pattern is the other bits.
    n_nodes = len(feature)
    left = np.empty(n_nodes, dtype=np.bool_)
    miss = np.zeros(n_nodes + len(value), dtype=np.int64)
    max_d = 1
    for leaf in range(len(value)):
        max_d = max(max_d, elem_count[leaf])
    o = np.empty(max_d)
    terms = np.empty(max_d)
    for t in range(len(tree_node) - 1):
        if tree_node[t] == tree_node[t + 1]:
            continue  # a single leaf: only the bias
        for r in range(r0, r1):
            miss[preorder[tree_node[t]]] = 0  # the root
            for i in range(tree_node[t], tree_node[t + 1]):
                n = preorder[i]
                go = _goes_left(
                    x[r, feature[n]],
                    kind[n],
                    nan_left[n],
                    zero_left[n],
                    threshold[n],
                    cat_start[n],
                    cat_len[n],
                    cat_words,
                )
                left[n] = go
                e = node_elem[n]
                bit = (np.int64(1) << min(e, 62)) * np.int64(e < 63)
                g = np.int64(go)
                m = miss[n]
                c = left_child[n]
                miss[c if c >= 0 else n_nodes + ~c] = m | (bit * (1 - g))
                c = right_child[n]
                miss[c if c >= 0 else n_nodes + ~c] = m | (bit * g)
            for leaf in range(tree_leaf[t], tree_leaf[t + 1]):
                d = elem_count[leaf]
                e0 = elem_start[leaf]
                start = table_start[leaf]
                if start >= 0:
                    base = start + (((1 << d) - 1) & ~miss[n_nodes + leaf]) * d
                    for j in range(d):
                        out[r, elem_feature[e0 + j]] += table[base + j]
                else:  # a deep leaf: its terms from the decisions along its path
                    for j in range(d):
                        o[j] = 1.0
                    for p in range(path_start[leaf], path_start[leaf + 1]):
                        if left[path_node[p]] != path_left[p]:
                            o[path_elem[p]] = 0.0
                    _terms(value[leaf], elem_zero[e0 : e0 + d], o[:d], _weights(d), terms[:d])
                    for j in range(d):
                        out[r, elem_feature[e0 + j]] += terms[j]


@numba.njit(cache=True, parallel=True)
def _raw_par(x, blocks, *args):
    """:func:`_raw` of each row block of ``blocks`` on Numba's threads."""
    for b in numba.prange(len(blocks) - 1):
        _raw(x, blocks[b], blocks[b + 1], *args)


@numba.njit(cache=True, parallel=True)
def _shap_par(x, blocks, *args):
    """:func:`_shap_rows` of each row block of ``blocks`` on Numba's threads (each block has
    its own work arrays)."""
    for b in numba.prange(len(blocks) - 1):
        _shap_rows(x, blocks[b], blocks[b + 1], *args)


def warm_up() -> None:
    """Compile the Numba functions (into their on-disk cache) on a small booster fitted here,
    with a categorical split and missing values: ``make install`` runs it once, so that a
    server or a stage loads them compiled instead of compiling them at its start."""
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    x = np.column_stack([rng.integers(0, 40, 200), rng.normal(size=200)]).astype(float)
    x[::7, 1] = np.nan
    y = (x[:, 0] % 3 == 0).astype(float)
    params = {"objective": "binary", "verbose": -1, "num_leaves": 4, "min_data_in_leaf": 5}
    booster = lgb.train(params, lgb.Dataset(x, y, categorical_feature=[0]), num_boost_round=3)
    forest = compile_boosters([booster])
    raw_scores(forest, x[:3])
    tree_shap(forest, x[:3])
    many = np.repeat(x, 2, axis=0)[:PARALLEL_ROWS]
    raw_scores(forest, many, threads=2)
    tree_shap(forest, many, threads=2)
