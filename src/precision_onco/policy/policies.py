"""Treatment policies over the candidate regimens of each line.

A policy is the probability it gives each candidate (``pi``, one value per
row of the candidate table, summing to 1 over a line's rows): a deterministic
policy puts 1 on one candidate, random choice spreads evenly, observed practice
is the propensity itself.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["argmax_policy", "guideline_scores", "random_policy", "weighted_sum"]


def argmax_policy(line: np.ndarray, score: np.ndarray) -> np.ndarray:
    """1 on each line's highest-scoring candidate (the first one on ties), 0 elsewhere.

    ``line``: the line of each candidate row (any sortable labels); ``score``: its score.
    """
    line = np.asarray(line)
    score = np.asarray(score, dtype=float)
    order = np.lexsort((np.arange(len(score)), -np.nan_to_num(score, nan=-np.inf), line))
    first = np.ones(len(order), dtype=bool)
    first[1:] = line[order][1:] != line[order][:-1]
    pi = np.zeros(len(score))
    pi[order[first]] = 1.0
    return pi


def random_policy(line: np.ndarray) -> np.ndarray:
    """Uniform choice among each line's candidates."""
    n = pd.Series(np.asarray(line)).groupby(np.asarray(line)).transform("size").to_numpy()
    return 1.0 / n


def weighted_sum(frame: pd.DataFrame, weights: Mapping[str, float], prefix: str) -> np.ndarray:
    """``sum_e weights[e] * frame[prefix + e]`` (the utility of every candidate row)."""
    out = np.zeros(len(frame))
    for ep, w in weights.items():
        out += float(w) * frame[f"{prefix}{ep}"].to_numpy(dtype=float)
    return out


def guideline_scores(
    regimen_id: pd.Series, preference: Mapping[str, int], order: Mapping[str, int]
) -> np.ndarray:
    """Score of the guideline rule: the catalog's most preferred eligible regimen (lowest
    ``preference``; ties by catalog ``order``) scores highest."""
    pref = regimen_id.map(preference).astype(float).fillna(np.inf).to_numpy()
    pos = regimen_id.map(order).astype(float).fillna(np.inf).to_numpy()
    return -(pref * 1000.0 + pos)
