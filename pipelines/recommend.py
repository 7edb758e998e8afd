"""DVC stage `recommend`: ranked, explained, evidence-linked regimens for the held-out lines.

Scores with the registry's ``champion`` endpoint models (the local ``models/`` when
tracking is off), writes the recommendations, and registers the bundled
``recommender`` pyfunc that the CLI and `mlflow models serve` use.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from precision_onco import __version__
from precision_onco.compute import Compute, compute_session, read_table
from precision_onco.config import Config, Outputs, outputs
from precision_onco.models.fit import EndpointModel, load_models
from precision_onco.recommend.partitioned import (
    RecommendFiles,
    recommend_by_partition,
    recommend_to_files,
)
from precision_onco.recommend.pyfunc import log_recommender
from precision_onco.recommend.service import Recommender, champion_models, recommender_from
from precision_onco.stage import run_stage

log = logging.getLogger("pipelines.recommend")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else "absent"


def _recommend(
    cfg: Config,
    files: Outputs,
    held: pd.DataFrame,
    models: dict[str, EndpointModel],
    recommender: Recommender,
    compute: Compute,
) -> tuple[int, int, int]:
    """The held-out lines ranked and written: on Dask by the workers, each reading its own
    patients' rows and writing its part (the driver holds neither the tables nor the
    rankings); locally in one call. Returns the lines, ranked rows and excluded rows."""
    explain, separate, civic = recommender.explain, recommender.separate, recommender.civic
    if compute.distributed and len(held):
        where = RecommendFiles(
            features=files.features.resolve(),
            patients=files.patients.resolve(),
            lines=files.lines.resolve(),
            variants=files.variants.resolve(),
            ranked=files.recommendations.resolve(),
            excluded=files.recommendations_excluded.resolve(),
        )
        return recommend_to_files(
            held,
            where,
            models,
            cfg.catalog,
            cfg.recommend,
            explain=explain,
            separate=separate,
            civic=civic,
            compute=compute,
            partition_patients=cfg.compute.partition_patients,
        )
    rows = pd.read_parquet(files.features).merge(held, on=["patient_key", "line_number"])
    result = recommend_by_partition(
        rows,
        read_table(files.patients),
        read_table(files.lines),
        models,
        cfg.catalog,
        cfg.recommend,
        explain=explain,
        separate=separate,
        civic=civic,
        variants=read_table(files.variants),
        compute=compute,
    )
    result.ranked.to_parquet(files.recommendations, index=False)
    result.excluded.to_parquet(files.recommendations_excluded, index=False)
    return len(rows), len(result.ranked), len(result.excluded)


def main(cfg: Config) -> None:
    files = outputs(cfg)
    held = pd.read_parquet(files.predictions)[["patient_key", "line_number"]]
    local = load_models(files.models)
    unregistered: str | None = None
    if cfg.tracking.enabled and cfg.tracking.register:
        models, components = champion_models(cfg)
        # an endpoint of this run without a champion of this cohort (e.g. held back as too
        # small): this run's own model scores its held-out lines, and no recommender is
        # registered for serving
        missing = sorted(set(local) - set(models))
        if missing:
            decisions = json.loads(files.registry.read_text())
            why = "; ".join(
                f"{ep}: {decisions.get(ep, {}).get('reason', 'no champion')}" for ep in missing
            )
            unregistered = (
                f"no champion of cohort {cfg.cohort.name!r} for {', '.join(missing)} "
                f"({why}); this run's models score the held-out lines, and no "
                "recommender is registered for serving"
            )
            log.warning("%s", unregistered)
            for ep in missing:
                models[ep] = local[ep]
                components[ep] = {
                    "model": str(files.models / f"{ep}.joblib"),
                    "version": None,
                    "alias": None,
                    "cohort": cfg.cohort.name,
                    "note": "this run's model, not a registered champion",
                }
    else:
        models = local
        components = {
            ep: {"model": str(files.models / f"{ep}.joblib"), "version": None} for ep in models
        }
    provenance = {
        "components": components,
        "catalog_version": cfg.catalog.version,
        "package_version": __version__,
        "cohort": cfg.cohort.name,
        "config_sha256": _sha(Path("params.yaml")),
        "data_sha256": _sha(files.features),
        "built": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    recommender = recommender_from(models, cfg, root=Path.cwd(), provenance=provenance)
    if recommender.civic is not None:
        provenance["civic"] = {
            "source": recommender.civic.source,
            "release": recommender.civic.version,
            "licence": recommender.civic.licence,
        }
    recommender.set_threads(-1)
    t0 = time.perf_counter()
    with compute_session(cfg.compute, stage="recommend") as compute:
        n_lines, n_ranked, n_excluded = _recommend(cfg, files, held, models, recommender, compute)
    secs = time.perf_counter() - t0
    log.info(
        "%d patient-lines: %d ranked regimens, %d excluded with reasons, %.1f s "
        "(%.0f lines/s, preset %s)",
        n_lines,
        n_ranked,
        n_excluded,
        secs,
        n_lines / max(secs, 1e-9),
        cfg.recommend.preset,
    )
    recommender.set_threads(1)
    registry: dict[str, object] = {"components": components}
    if cfg.tracking.enabled and cfg.tracking.register and unregistered is None:
        registry.update(log_recommender(recommender, cfg))
    elif unregistered is not None:
        registry["not_registered"] = unregistered
    registry["provenance"] = provenance
    files.recommender.write_text(json.dumps(registry, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(run_stage("recommend", main))
