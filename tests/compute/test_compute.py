"""The compute config group and precision_onco.compute on a real Dask LocalCluster."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from precision_onco.compute import LOCAL, ComputeError, compute_session, split_even
from precision_onco.config import ConfigError, compose
from precision_onco.config.schema import ComputeConfig
from tests.clusters import local_cluster

ROOT = Path(__file__).resolve().parents[2]


def _triple(x: int, offset: int) -> int:
    return 3 * x + offset


def _fail_on_two(x: int) -> int:
    if x == 2:
        raise ValueError(f"item {x} is bad")
    return x


def _sum_shared(x: int, table: dict[str, int]) -> int:
    return x + table["a"]


def test_default_is_local_and_dask_group_composes() -> None:
    _, cfg = compose([], conf_dir=ROOT / "conf")
    assert cfg.compute.backend == "local"
    _, cfg = compose(["compute=dask", "compute.n_workers=3"], conf_dir=ROOT / "conf")
    assert (cfg.compute.backend, cfg.compute.address, cfg.compute.n_workers) == ("dask", None, 3)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("compute.backend=spark", "config key 'compute.backend': 'spark' is not local or dask"),
        (
            "compute.address=localhost:8786",
            "config key 'compute.address': 'localhost:8786' is "
            "not a scheduler address such as tcp://host:8786",
        ),
        ("compute.n_workers=0", "config key 'compute.n_workers': must be at least 1, got 0"),
        (
            "compute.threads_per_worker=0",
            "config key 'compute.threads_per_worker': must be at least 1",
        ),
    ],
)
def test_bad_compute_config_is_named(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        compose(["compute=dask", override], conf_dir=ROOT / "conf")


def test_local_map_is_a_loop_in_order() -> None:
    with compute_session(ComputeConfig()) as c:
        assert c.client is None and not c.distributed and c.n_workers == 1
        assert c.map(_triple, [3, 1, 2], 1) == [10, 4, 7]
        assert list(c.imap(_triple, range(4), 0)) == [0, 3, 6, 9]
        assert c.partitions(1000) == 1
        assert c.map(_sum_shared, [1, 2], c.share({"a": 10})) == [11, 12]
    assert LOCAL.map(_triple, [], 0) == []


def test_compute_local_never_imports_dask() -> None:
    """compute=local through every distributed library entry point: no dask module loaded."""
    code = """
import sys
from precision_onco.compute import compute_session
from precision_onco.config.schema import ComputeConfig
import precision_onco.synth, precision_onco.ingest.cohort, precision_onco.ingest.vcf
import precision_onco.models.train, precision_onco.models.evaluate
import precision_onco.recommend.partitioned
with compute_session(ComputeConfig(backend="local")) as c:
    c.map(abs, [-1, 2])
    list(c.imap(abs, [-3]))
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed"))
print("LOADED", loaded)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert "LOADED []" in out, out


def test_split_even() -> None:
    assert split_even(10, 3) == [slice(0, 3), slice(3, 7), slice(7, 10)]
    assert split_even(2, 5) == [slice(0, 1), slice(1, 2)]
    assert split_even(0, 4) == [slice(0, 0)]


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of 2 worker processes for this module's Dask tests."""
    with compute_session(local_cluster(partitions_per_worker=3), stage="test") as c:
        yield c
    assert c.client is not None and c.client.status == "closed"


def test_dask_map_keeps_order_with_shared_values(cluster) -> None:
    assert cluster.distributed and cluster.n_workers == 2
    assert cluster.map(_triple, list(range(20)), 5) == [3 * x + 5 for x in range(20)]
    assert list(cluster.imap(_triple, list(range(9)), 0, ahead=2)) == [3 * x for x in range(9)]
    table = cluster.share({"a": 100})
    assert cluster.map(_sum_shared, [1, 2, 3], table) == [101, 102, 103]
    assert cluster.partitions(1000) == 6 and cluster.partitions(4) == 4
    # the tasks ran in the worker processes, not here
    pids = set(cluster.map(_pid, list(range(8))))
    assert len(pids) >= 1 and all(p != _pid(0) for p in pids)


def _pid(_: int) -> int:
    import os

    return os.getpid()


def test_dask_task_error_is_raised_here(cluster) -> None:
    with pytest.raises(ValueError, match="item 2 is bad"):
        cluster.map(_fail_on_two, [1, 2, 3])
    with pytest.raises(ValueError, match="item 2 is bad"):
        list(cluster.imap(_fail_on_two, [1, 2, 3]))


def test_client_closed_when_the_stage_fails() -> None:
    cfg = ComputeConfig(backend="dask", n_workers=1, processes=False, dashboard_address=None)
    seen = []
    with pytest.raises(RuntimeError, match="stage body failed"), compute_session(cfg) as c:
        seen.append(c)
        raise RuntimeError("stage body failed")
    client = seen[0].client
    assert client is not None and client.status == "closed"


def test_unreachable_scheduler_is_named() -> None:
    cfg = ComputeConfig(backend="dask", address="tcp://127.0.0.1:9", timeout=2)
    message = r"compute.address: cannot reach the Dask scheduler at tcp://127.0.0.1:9 within 2 s"
    with pytest.raises(ComputeError, match=message), compute_session(cfg):
        pass


def test_a_worker_out_of_memory_is_named() -> None:
    """A task that takes more than its worker's memory: the nanny restarts the worker and
    the stage gets one message naming the cluster, the tasks and compute.memory_limit."""
    import dask
    import numpy as np

    cfg = ComputeConfig(
        backend="dask", n_workers=1, memory_limit="400MiB", dashboard_address=None, timeout=30
    )
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        compute_session(cfg, stage="test") as cluster,
    ):
        message = (
            r"compute: the Dask cluster LocalCluster\(1 x 1 thread, 400MiB\) lost a worker "
            r"while running ones tasks \(KilledWorker.*raise compute.memory_limit"
        )
        with pytest.raises(ComputeError, match=message):
            cluster.map(np.ones, [200_000_000])  # 1.6 GB of float64 ones, touched
        with pytest.raises(ComputeError, match="lost a worker while running ones"):
            list(cluster.imap(np.ones, [200_000_000]))


def _hold_the_interpreter(n: int) -> int:
    return sum(range(n))  # one C call: the worker's event loop cannot run meanwhile


def test_a_worker_that_misses_its_heartbeats_is_named() -> None:
    """A task that holds the interpreter longer than the scheduler's worker-ttl: the
    scheduler removes its worker, and the message points at the heartbeat and at
    compute.partition_patients (smaller tasks), not only at memory."""
    import dask

    cfg = ComputeConfig(
        backend="dask", n_workers=1, memory_limit="1GiB", dashboard_address=None, timeout=30
    )
    ttl = {"distributed.scheduler.allowed-failures": 0, "distributed.scheduler.worker-ttl": "1s"}
    with dask.config.set(ttl), compute_session(cfg, stage="test") as cluster:
        message = (
            r"lost a worker while running _hold_the_interpreter tasks \(KilledWorker.*"
            r"fails to heartbeat.*lower compute.partition_patients"
        )
        with pytest.raises(ComputeError, match=message):
            cluster.map(_hold_the_interpreter, [2_000_000_000])
