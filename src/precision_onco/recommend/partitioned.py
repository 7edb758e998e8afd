"""Recommendations computed by partitions of patients (the ``recommend`` stage on Dask).

Every (patient, line) is ranked and explained from its own rows only, so cutting the
held-out lines into partitions of whole patients and concatenating the partitions'
rankings gives the rankings of the whole cohort. Partitions are ranges of the sorted
patient keys, so the concatenation is in the order :func:`recommendations` sorts the
ranked rows in; the excluded rows are put in that order too, in both modes (by patient
and line, each line's rows in the order they were excluded).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from precision_onco.compute import LOCAL, Compute, split_even
from precision_onco.config.schema import CatalogConfig, RecommendConfig
from precision_onco.kb.civic import CivicKB
from precision_onco.models.fit import EndpointModel
from precision_onco.recommend.rank import Ranking
from precision_onco.recommend.table import recommendations

__all__ = ["recommend_by_partition"]


@dataclass(frozen=True)
class _Context:
    """What every partition needs (sent to the workers once)."""

    models: Mapping[str, EndpointModel]
    catalog: CatalogConfig
    recommend: RecommendConfig
    civic: CivicKB | None
    threads: int
    explain: tuple[str, ...]
    separate: str | None


def _of(frame: pd.DataFrame | None, keys: set[str]) -> pd.DataFrame | None:
    if frame is None or "patient_key" not in frame.columns:
        return frame
    return frame[frame["patient_key"].isin(keys)]


def _partition(
    part: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame | None], ctx: _Context
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, patients, lines, variants = part
    for m in ctx.models.values():
        m.set_threads(ctx.threads)
    r = recommendations(
        rows,
        patients,
        lines,
        ctx.models,
        ctx.catalog,
        ctx.recommend,
        explain=ctx.explain,
        separate=ctx.separate,
        civic=ctx.civic,
        variants=variants,
        threads=ctx.threads,
    )
    return r.ranked, r.excluded


def recommend_by_partition(
    rows: pd.DataFrame,
    patients: pd.DataFrame,
    lines: pd.DataFrame,
    models: Mapping[str, EndpointModel],
    catalog: CatalogConfig,
    recommend: RecommendConfig,
    *,
    explain: Sequence[str],
    separate: str | None,
    civic: CivicKB | None = None,
    variants: pd.DataFrame | None = None,
    compute: Compute | None = None,
) -> Ranking:
    """:func:`~precision_onco.recommend.table.recommendations` of ``rows`` (``explain``,
    ``separate``: as there); with a
    distributed ``compute``, by partitions of patients as its tasks (the same rows).

    Locally it is one call on the whole frame (nothing is split or copied). Only
    ``ranked`` and ``excluded`` are filled (not the explanation inputs).
    """
    comp = compute or LOCAL
    if not comp.distributed or len(rows) == 0:
        r = recommendations(
            rows,
            patients,
            lines,
            models,
            catalog,
            recommend,
            explain=explain,
            separate=separate,
            civic=civic,
            variants=variants,
        )
        return Ranking(r.ranked, _by_line(r.excluded))
    keys = np.sort(rows["patient_key"].astype(str).unique())
    parts = []
    for sl in split_even(len(keys), comp.partitions(len(keys))):
        ks = set(keys[sl].tolist())
        parts.append((_of(rows, ks), _of(patients, ks), _of(lines, ks), _of(variants, ks)))
    ctx = _Context(
        models, catalog, recommend, civic, comp.threads_per_worker, tuple(explain), separate
    )
    done: list[Any] = comp.map(_partition, parts, ctx)
    ranked = pd.concat([d[0] for d in done], ignore_index=True)
    return Ranking(ranked, _by_line(pd.concat([d[1] for d in done], ignore_index=True)))


def _by_line(excluded: pd.DataFrame) -> pd.DataFrame:
    """Excluded rows by (patient, line), keeping each line's own order (a stable sort)."""
    if not len(excluded):
        return excluded
    return excluded.sort_values(["patient_key", "line_number"], kind="stable", ignore_index=True)
