"""DVC stage `report`: a self-contained HTML report per patient (last recommended line), in
``report.lang``; PDF too with ``report.pdf=true``; a FHIR R4 bundle and an IHE MHD submission
per patient with ``report.fhir=true`` (docs/fhir.md)."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

from precision_onco.compute import Compute, compute_session, read_table
from precision_onco.config import Config, Outputs, endpoint_roles, outputs
from precision_onco.features import load_panel
from precision_onco.report.batch import Answers, answers_from_tables
from precision_onco.report.fhir_out import load_identifier_map
from precision_onco.report.fhir_out.produce import write_cohort_bundles
from precision_onco.report.partitioned import (
    ReportFiles,
    print_pdfs,
    write_reports,
    write_reports_from_files,
)
from precision_onco.stage import run_stage

log = logging.getLogger("pipelines.report")


def _tables(where: Outputs) -> dict[str, pd.DataFrame]:
    return {t: read_table(getattr(where, t)) for t in ("patients", "lines", "variants")}


def _answers(cfg: Config, where: Outputs, provenance: dict[str, Any]) -> Answers:
    answers = answers_from_tables(
        pd.read_parquet(where.recommendations),
        pd.read_parquet(where.recommendations_excluded),
        provenance,
    )
    if cfg.report.max_patients is not None:
        answers = dict(list(answers.items())[: cfg.report.max_patients])
    return answers


def main(cfg: Config) -> None:
    with compute_session(cfg.compute, stage="report") as compute:
        _reports(cfg, compute)


def _reports(cfg: Config, compute: Compute) -> None:
    where = outputs(cfg)
    rec = json.loads(where.recommender.read_text(encoding="utf-8"))
    provenance = dict(rec.get("provenance", {}))
    if rec.get("not_registered"):
        provenance["not_registered"] = rec["not_registered"]
    if rec.get("model"):
        provenance["recommender"] = {k: rec.get(k) for k in ("model", "version", "run_id")}
    out = where.patient_reports
    for old in out.glob("*.html") if out.is_dir() else []:
        old.unlink()
    roles = endpoint_roles(cfg.endpoints)
    genes = load_panel(cfg.features, Path.cwd())["symbol"].tolist()
    t0 = time.perf_counter()
    if compute.distributed:  # the workers read their own patients' rows
        files = write_reports_from_files(
            ReportFiles(
                ranked=where.recommendations.resolve(),
                excluded=where.recommendations_excluded.resolve(),
                features=where.features.resolve(),
                patients=where.patients.resolve(),
                lines=where.lines.resolve(),
                variants=where.variants.resolve(),
            ),
            provenance,
            catalog=cfg.catalog,
            genes=genes,
            langs=[cfg.report.lang],
            out_dir=out.resolve(),
            spill=out.resolve().with_name(f".{out.name}.parts"),
            compute=compute,
            efficacy=roles.efficacy,
            any_severe_ae=roles.any_severe_ae,
            max_patients=cfg.report.max_patients,
            partition_patients=cfg.compute.partition_patients,
        )
        answers, tables = None, None
    else:
        answers, tables = _answers(cfg, where, provenance), _tables(where)
        files = write_reports(
            answers,
            features=pd.read_parquet(where.features),
            **tables,
            catalog=cfg.catalog,
            genes=genes,
            langs=[cfg.report.lang],
            out_dir=out,
            compute=compute,
            efficacy=roles.efficacy,
            any_severe_ae=roles.any_severe_ae,
        )
    log.info(
        "%d patient reports (%s) in %.1f s -> %s",
        len(files),
        cfg.report.lang,
        time.perf_counter() - t0,
        out,
    )
    for old in out.glob("*.pdf"):
        old.unlink()
    if cfg.report.pdf:
        t1 = time.perf_counter()
        print_pdfs(files, chromium=cfg.report.chromium, compute=compute)
        log.info("%d PDF in %.1f s", len(files), time.perf_counter() - t1)
    for old in [*out.glob("*.fhir.json"), *out.glob("*.mhd.json")]:
        old.unlink()
    if cfg.report.fhir:
        t2 = time.perf_counter()
        if answers is None or tables is None:  # on Dask the bundles are written here
            answers, tables = _answers(cfg, where, provenance), _tables(where)
        docs: dict[str, list[Path]] = {}
        for f in files:
            pdf = f.with_suffix(".pdf")
            docs[f.name.split(".")[0]] = [f, pdf] if pdf.is_file() else [f]
        ids = (
            load_identifier_map(cfg.report.fhir_identifiers)
            if cfg.report.fhir_identifiers
            else None
        )
        bundles = write_cohort_bundles(
            answers,
            **tables,
            catalog=cfg.catalog,
            lang=cfg.report.lang,
            out_dir=out,
            reports=docs,
            identifiers=ids,
            validate=cfg.report.fhir_validate,
            efficacy=roles.efficacy,
            any_severe_ae=roles.any_severe_ae,
        )
        log.info(
            "%d FHIR files (validated bundles and MHD submissions) in %.1f s",
            len(bundles),
            time.perf_counter() - t2,
        )


if __name__ == "__main__":
    sys.exit(run_stage("report", main))
