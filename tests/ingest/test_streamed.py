"""compute=dask ingest with the variant rows written by the workers (issue 19): the same
tables as the whole-cohort ingest, read back through ``compute.read_table``."""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from precision_onco.compute import Compute, compute_session, partition_files, read_table
from precision_onco.config import Config, outputs
from precision_onco.config.schema import ComputeConfig
from precision_onco.ingest.cohort import ingest_cohort
from precision_onco.ingest.streamed import ingest_cohort_partitioned
from precision_onco.ingest.write import write_outputs
from tests.clusters import local_cluster

PART_PATIENTS = 25  # 120 patients: 5 partitions, VCF batches of at most 25 files


@pytest.fixture(scope="module")
def cohorts(
    raw_cohort: tuple[Path, Config], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, Any]]:
    """The synthetic cohort as configured, and a mixed one: the cohort's MAF read as well
    (rows linked through the sample map) and two patients dropped from the patients table
    (their variant rows are orphans, with a warning)."""
    root, cfg = raw_cohort
    mixed = tmp_path_factory.mktemp("mixed")
    shutil.copytree(root / "data", mixed / "data")
    pats = pd.read_csv(mixed / "data/raw/patients.csv", dtype=str)
    pats.iloc[2:].to_csv(mixed / "data/raw/patients.csv", index=False)
    inputs = cfg.cohort.inputs
    maf = dataclasses.replace(inputs.maf, paths=["data/raw/cohort.maf.gz"])
    mcfg = dataclasses.replace(
        cfg, cohort=dataclasses.replace(cfg.cohort, inputs=dataclasses.replace(inputs, maf=maf))
    )
    return {"synthetic": (root, cfg), "mixed": (mixed, mcfg)}


@pytest.fixture(scope="module")
def dask() -> Any:
    cc = local_cluster(partitions_per_worker=2, partition_patients=PART_PATIENTS)
    with compute_session(cc) as compute:
        yield cc, compute


def _both(
    cohorts: dict[str, tuple[Path, Any]], name: str, dask: tuple[ComputeConfig, Compute], tmp: Path
) -> tuple[Any, Any, Any]:
    root, cfg = cohorts[name]
    whole = ingest_cohort(cfg, root=root)
    dcfg = copy.deepcopy(cfg)
    dcfg.compute = dask[0]
    files = outputs(dcfg, root=tmp)
    streamed = ingest_cohort_partitioned(dcfg, files, compute=dask[1], root=root)
    return whole, streamed, files


@pytest.mark.parametrize("name", ["synthetic", "mixed"])
def test_same_tables_as_whole_ingest(cohorts, dask, tmp_path: Path, name: str) -> None:
    whole, streamed, files = _both(cohorts, name, dask, tmp_path)
    assert len(whole.variants) > 1000
    assert len(streamed.variants) == 0 and streamed.variant_rows == len(whole.variants)
    assert len(streamed.rejects) == 0 and streamed.reject_rows == len(whole.rejects) > 100
    parts = partition_files(files.variants)
    assert [p.name for p in parts] == [f"part-{i:05d}.parquet" for i in range(5)]
    pd.testing.assert_frame_equal(read_table(files.variants), whole.variants)
    pd.testing.assert_frame_equal(pd.read_parquet(files.rejects), whole.rejects)
    for t in ("patients", "lines"):
        pd.testing.assert_frame_equal(getattr(streamed, t), getattr(whole, t))
    assert json.dumps(streamed.summary()) == json.dumps(whole.summary())
    if name == "mixed":
        assert any("belong to no patient" in w for w in whole.summary()["warnings"])
        assert whole.summary()["by_kind"]["maf"]["files"] == 1
    leftovers = [
        p.name for p in files.variants.parent.iterdir() if p not in (files.variants, files.rejects)
    ]
    assert leftovers == []


def test_written_like_write_outputs(cohorts, dask, tmp_path: Path) -> None:
    """The workers' variant parts are the parts ``write_outputs`` writes from the whole
    table: the same rows in the same part files, each patient in one partition number
    across patients, lines and variants."""
    whole, streamed, files = _both(cohorts, "synthetic", dask, tmp_path / "a")
    write_outputs(streamed, files, partitions=5, written=("variants", "rejects"))
    ref = outputs(cohorts["synthetic"][1], root=tmp_path / "b")
    write_outputs(whole, ref, partitions=5)
    for a, b in zip(partition_files(files.variants), partition_files(ref.variants), strict=True):
        pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))
    summary = json.loads(files.ingest_summary.read_text())
    assert summary["tables"]["variants"] == len(whole.variants)
    for i, part in enumerate(partition_files(files.patients)):
        keys = set(pd.read_parquet(part)["patient_key"])
        vkeys = set(pd.read_parquet(partition_files(files.variants)[i])["patient_key"])
        assert vkeys <= keys, i


def test_cohort_without_variant_files_is_read_whole(cohorts, dask, tmp_path: Path) -> None:
    """No VCF or MAF to stream: the tables of :func:`ingest_cohort`, written the same way."""
    root, cfg = cohorts["synthetic"]
    inputs = cfg.cohort.inputs
    vcf = dataclasses.replace(inputs.vcf, paths=[])
    cfg = dataclasses.replace(
        cfg, cohort=dataclasses.replace(cfg.cohort, inputs=dataclasses.replace(inputs, vcf=vcf))
    )
    whole = ingest_cohort(cfg, root=root)
    dcfg = copy.deepcopy(cfg)
    dcfg.compute = dask[0]
    files = outputs(dcfg, root=tmp_path)
    streamed = ingest_cohort_partitioned(dcfg, files, compute=dask[1], root=root)
    assert streamed.variant_rows == len(whole.variants) == 0
    pd.testing.assert_frame_equal(read_table(files.variants), whole.variants)
    pd.testing.assert_frame_equal(pd.read_parquet(files.rejects), whole.rejects)
    assert json.dumps(streamed.summary()) == json.dumps(whole.summary())
