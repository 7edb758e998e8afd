"""compute=dask gives the answer of compute=local, in process (fast): a 160-patient cohort
through the distributed library calls on a LocalCluster of 2 worker processes."""

from __future__ import annotations

import copy
import io
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from precision_onco.compute import (
    Compute,
    compute_session,
    n_partitions,
    partition_files,
    read_table,
)
from precision_onco.config import compose, endpoint_roles, outputs
from tests.clusters import local_cluster

ROOT = Path(__file__).resolve().parents[2]


def _pipeline(root: Path, cfg: Any, compute: Compute) -> dict[str, Any]:
    from precision_onco.features import build_features, load_panel
    from precision_onco.features.partitioned import build_features_by_partition, partitioned
    from precision_onco.ingest.cohort import ingest_cohort
    from precision_onco.ingest.write import write_outputs
    from precision_onco.models.evaluate import evaluate
    from precision_onco.models.train import train_all
    from precision_onco.recommend.partitioned import (
        RecommendFiles,
        recommend_by_partition,
        recommend_to_files,
    )
    from precision_onco.report.batch import answers_from_tables
    from precision_onco.report.partitioned import write_reports
    from precision_onco.synth import synthesize

    synthesize(cfg, root / "data" / "raw", compute=compute)
    ingested = ingest_cohort(cfg, root=root, compute=compute)
    # as the stages: ingest writes (compute=dask: partitioned Parquet, 4 parts of ~40
    # patients), featurize reads (dask: one task per part), the others read back whole
    processed = root / "data" / "processed"
    parts = n_partitions(len(ingested.patients), 40) if compute.distributed else 0
    files = outputs(cfg, root=root)
    paths = {t: getattr(files, t) for t in ("patients", "lines", "variants")}
    assert files.lines.parent == processed
    write_outputs(ingested, files, partitions=parts)
    assert partitioned(paths) == compute.distributed
    if compute.distributed:
        assert len(partition_files(processed / "variants.parquet")) == 4
        feats = build_features_by_partition(
            paths,
            cfg.features,
            cfg.catalog,
            panel=load_panel(cfg.features, root),
            compute=compute,
        )
    else:
        feats = build_features(
            ingested.patients,
            ingested.lines,
            ingested.variants,
            cfg.features,
            cfg.catalog,
            panel=load_panel(cfg.features, root),
        )
    tables = SimpleNamespace(
        **{t: read_table(processed / f"{t}.parquet") for t in ("patients", "lines", "variants")},
        rejects=ingested.rejects,
    )
    for t in ("patients", "lines", "variants"):
        pd.testing.assert_frame_equal(getattr(tables, t), getattr(ingested, t))
    res = train_all(cfg, feats, tables.lines, compute=compute)
    truth = pd.read_parquet(root / "data" / "raw" / "ground_truth.parquet")
    metrics, _ = evaluate(
        cfg,
        res.predictions,
        tables.lines,
        tables.patients,
        ground_truth=truth,
        cv_predictions=res.cv_predictions,
        compute=compute,
    )
    held = feats.merge(res.predictions[["patient_key", "line_number"]])
    ranking = recommend_by_partition(
        held,
        tables.patients,
        tables.lines,
        res.models,
        cfg.catalog,
        cfg.recommend,
        explain=endpoint_roles(cfg.endpoints).explained,
        separate=endpoint_roles(cfg.endpoints).efficacy,
        variants=tables.variants,
        compute=compute,
    )
    # as the recommend stage on Dask: the workers read the tables and write the parts
    feats.to_parquet(processed / "features.parquet", index=False)
    where = RecommendFiles(
        features=processed / "features.parquet",
        patients=files.patients,
        lines=files.lines,
        variants=files.variants,
        ranked=root / "reports" / "recommendations.parquet",
        excluded=root / "reports" / "recommendations_excluded.parquet",
    )
    where.ranked.parent.mkdir(parents=True, exist_ok=True)
    counts = recommend_to_files(
        res.predictions[["patient_key", "line_number"]],
        where,
        res.models,
        cfg.catalog,
        cfg.recommend,
        explain=endpoint_roles(cfg.endpoints).explained,
        separate=endpoint_roles(cfg.endpoints).efficacy,
        compute=compute,
        partition_patients=3,  # more partitions than 4 per worker: ranges by size
    )
    assert counts == (len(held), len(ranking.ranked), len(ranking.excluded))
    assert not where.spill.exists()
    answers = answers_from_tables(ranking.ranked, ranking.excluded, {"components": {}})
    pages = write_reports(
        answers,
        features=feats,
        patients=tables.patients,
        lines=tables.lines,
        variants=tables.variants,
        catalog=cfg.catalog,
        genes=None,
        langs=["en"],
        out_dir=root / "reports" / "patients",
        compute=compute,
        efficacy=endpoint_roles(cfg.endpoints).efficacy,
        any_severe_ae=endpoint_roles(cfg.endpoints).any_severe_ae,
    )
    # as the report stage on Dask: the tasks gather their patients' rows and answers
    from precision_onco.report.partitioned import ReportFiles, write_reports_from_files

    def from_files(out: str, **kw: Any) -> list[Path]:
        return write_reports_from_files(
            ReportFiles(
                ranked=where.ranked,
                excluded=where.excluded,
                features=processed / "features.parquet",
                patients=files.patients,
                lines=files.lines,
                variants=files.variants,
            ),
            {"components": {}},
            catalog=cfg.catalog,
            genes=None,
            langs=["en"],
            out_dir=root / "reports" / out,
            spill=root / "reports" / f".{out}.parts",
            compute=compute,
            efficacy=endpoint_roles(cfg.endpoints).efficacy,
            any_severe_ae=endpoint_roles(cfg.endpoints).any_severe_ae,
            partition_patients=3,
            **kw,
        )

    by_files = from_files("by_files")
    assert not (root / "reports" / ".by_files.parts").exists()
    assert [p.name for p in from_files("first", max_patients=2)] == [p.name for p in pages[:2]]
    raw = [p for p in sorted((root / "data" / "raw").rglob("*")) if p.is_file()]
    return {
        "patients": tables.patients,
        "lines": tables.lines,
        "variants": tables.variants,
        "rejects": tables.rejects,
        "features": feats,
        "predictions": res.predictions,
        "cv": res.cv_predictions,
        "metrics": metrics,
        "ranked": ranking.ranked,
        "excluded": ranking.excluded,
        "ranked_files": pd.read_parquet(where.ranked),
        "excluded_files": pd.read_parquet(where.excluded),
        "pages": [p.relative_to(root) for p in pages],
        "raw": {p.relative_to(root): p.read_bytes() for p in raw},
        "html": {p.relative_to(root): p.read_text("utf-8") for p in pages},
        "by_files": [p.name for p in by_files],
        "html_by_files": {p.name: p.read_text("utf-8") for p in by_files},
    }


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    _, cfg = compose(
        [
            "synth.n_patients=160",
            "synth.chunk_patients=40",
            "synth.calibration_patients=1500",
            "endpoints=response",
            "evaluation.bootstrap=20",
            "split.cv_folds=2",
        ],
        conf_dir=ROOT / "conf",
    )
    with compute_session(cfg.compute) as local:
        a = _pipeline(tmp_path_factory.mktemp("local"), cfg, local)
    dcfg = copy.deepcopy(cfg)
    dcfg.compute = local_cluster(partitions_per_worker=2)
    with compute_session(dcfg.compute) as dask:
        assert dask.distributed and dask.n_workers == 2
        b = _pipeline(tmp_path_factory.mktemp("dask"), dcfg, dask)
    return a, b


def test_same_raw_files(both: tuple[dict[str, Any], dict[str, Any]]) -> None:
    a, b = both
    assert len([p for p in a["raw"] if p.suffix == ".gz" and "vcf" in p.parts]) == 160
    assert a["raw"].keys() == b["raw"].keys()
    assert [p for p in a["raw"] if a["raw"][p] != b["raw"][p]] == []


@pytest.mark.parametrize(
    "table",
    [
        "patients",
        "lines",
        "variants",
        "rejects",
        "features",
        "predictions",
        "cv",
        "ranked",
        "excluded",
    ],
)
def test_same_tables(both: tuple[dict[str, Any], dict[str, Any]], table: str) -> None:
    a, b = both
    if table in ("patients", "lines", "variants", "features", "predictions", "cv", "ranked"):
        assert len(a[table]) > 0
    pd.testing.assert_frame_equal(a[table], b[table])


@pytest.mark.parametrize("table", ["ranked", "excluded"])
def test_the_parts_the_workers_write_hold_the_same_rankings(
    both: tuple[dict[str, Any], dict[str, Any]], table: str
) -> None:
    """recommend_to_files (the recommend stage on Dask: each task reads its patients' rows
    and writes its part, merged in order) gives the rows recommend_by_partition gives."""
    a, b = both
    buf = io.BytesIO()
    a[table].to_parquet(buf, index=False)  # the file recommend_by_partition's rows make
    want = pd.read_parquet(buf)
    assert len(want) > 0
    for run in (a, b):
        pd.testing.assert_frame_equal(run[f"{table}_files"], want)


def test_same_metrics(both: tuple[dict[str, Any], dict[str, Any]]) -> None:
    a, b = both
    assert "auc_low" in a["metrics"]["response"]["overall"]
    assert a["metrics"]["cross_validation"]["response"]["overall"]["n"] > 0
    assert a["metrics"] == b["metrics"]


def test_reports_from_the_files_are_the_reports(
    both: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """write_reports_from_files (the report stage on Dask: ranges of 3 patients, their
    rows gathered from the files) writes the files write_reports writes, in its order."""
    a, b = both
    generated = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
    for run in (a, b):
        assert run["by_files"] == [p.name for p in a["pages"]]
        for p in a["pages"]:
            want = generated.sub("<time>", a["html"][p])
            assert generated.sub("<time>", run["html_by_files"][p.name]) == want, p


def test_same_reports(both: tuple[dict[str, Any], dict[str, Any]]) -> None:
    a, b = both
    assert len(a["pages"]) > 5 and a["pages"] == b["pages"]
    generated = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")

    def norm(t: str) -> str:
        return generated.sub("<time>", t)

    assert [p for p in a["pages"] if norm(a["html"][p]) != norm(b["html"][p])] == []
