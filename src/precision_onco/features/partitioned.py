"""Features by partition: :func:`build_features` over the parts of partitioned tables.

``ingest`` with ``compute=dask`` writes the patients, lines and variants tables as
partitioned Parquet, every patient's rows in the same part of the three tables. Features
are per patient (a line's history and genomics read that patient's rows only), so each
part is featurized by its own task and the parts concatenated, sorted by
(patient_key, line_number) as :func:`build_features` sorts: the frame is the one built
from the whole tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from precision_onco.compute import Compute, partition_files, read_part
from precision_onco.config.schema import CatalogConfig, FeaturesConfig
from precision_onco.features.build import _KEYS, build_features

__all__ = ["TABLES", "build_features_by_partition", "partitioned"]

#: The tables featurize reads, partitioned alike by ``ingest``.
TABLES = ("patients", "lines", "variants")


def partitioned(tables: Mapping[str, Path]) -> bool:
    """True when the three tables (name -> path, from the output catalog) are partitioned
    Parquet directories."""
    return all(Path(tables[t]).is_dir() for t in TABLES)


def _part(
    i: int,
    tables: Mapping[str, Path],
    cfg: FeaturesConfig,
    catalog: CatalogConfig,
    panel: pd.DataFrame,
    endpoint_columns: Sequence[str],
) -> pd.DataFrame:
    t = {name: read_part(partition_files(tables[name])[i]) for name in TABLES}
    return build_features(
        t["patients"],
        t["lines"],
        t["variants"],
        cfg,
        catalog,
        panel=panel,
        endpoint_columns=endpoint_columns,
    )


def build_features_by_partition(
    tables: Mapping[str, Path],
    cfg: FeaturesConfig,
    catalog: CatalogConfig,
    *,
    panel: pd.DataFrame,
    endpoint_columns: Sequence[str] = (),
    compute: Compute,
) -> pd.DataFrame:
    """:func:`build_features` of the partitioned ``tables`` (name -> path), one task per
    partition (the workers read their parts themselves)."""
    counts = {t: len(partition_files(tables[t])) for t in TABLES}
    if len(set(counts.values())) != 1 or not counts["lines"]:
        raise ValueError(
            f"{Path(tables['lines']).parent}: the partitioned tables do not have the same "
            "number of parts "
            f"({', '.join(f'{t}: {n}' for t, n in counts.items())}); re-run ingest"
        )
    parts = compute.map(
        _part,
        list(range(counts["lines"])),
        {t: Path(tables[t]).resolve() for t in TABLES},
        cfg,
        catalog,
        panel,
        list(endpoint_columns),
    )
    full = [p for p in parts if len(p)] or parts[:1]
    cols = full[0].columns
    for p in full[1:]:
        if list(p.columns) != list(cols):
            raise ValueError(
                "features of two partitions have different columns "
                f"({sorted(set(p.columns) ^ set(cols))}); featurize the whole tables "
                "(compute=local)"
            )
    out = pd.concat(full, ignore_index=True) if len(full) > 1 else full[0]
    dtypes = full[0].dtypes
    out = out.astype({c: t for c, t in dtypes.items() if out[c].dtype != t})
    return out.sort_values(list(_KEYS), kind="stable").reset_index(drop=True)
