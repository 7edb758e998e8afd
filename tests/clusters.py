"""The Dask LocalCluster the compute=dask tests run on, configured in one place."""

from __future__ import annotations

from typing import Any

from precision_onco.config.schema import ComputeConfig


def local_cluster(*, partitions_per_worker: int, **options: Any) -> ComputeConfig:
    """compute=dask on a LocalCluster small enough for a shared test machine: 2 worker
    processes of one thread and 1 GiB each, no dashboard; ``options``: other
    :class:`ComputeConfig` fields (e.g. ``partition_patients``)."""
    return ComputeConfig(
        backend="dask",
        n_workers=2,
        threads_per_worker=1,
        memory_limit="1GiB",
        processes=True,
        dashboard_address=None,
        partitions_per_worker=partitions_per_worker,
        **options,
    )
