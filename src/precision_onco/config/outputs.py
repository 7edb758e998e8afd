"""The data catalog of stage outputs (``paths.outputs`` in ``conf/paths/default.yaml``) as paths.

Stage scripts and benches name the files they read and write through :func:`outputs`, so a
file name is written once, in ``conf/``; ``dvc.yaml`` repeats them (DVC needs literal
paths) and ``tests/test_dvc_deps.py`` checks that the two agree.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from precision_onco.config.schema import Config, OutputsConfig

__all__ = ["Outputs", "outputs"]


@dataclass(frozen=True)
class Outputs:
    """Every entry of :class:`~precision_onco.config.schema.OutputsConfig`, as a path."""

    patients: Path
    lines: Path
    variants: Path
    rejects: Path
    ingest_summary: Path
    ingest_metrics: Path
    features: Path
    models: Path
    model_manifest: Path
    predictions: Path
    cv_predictions: Path
    policy: Path
    metrics: Path
    plots: Path
    registry: Path
    model_card: Path
    recommendations: Path
    recommendations_excluded: Path
    recommender: Path
    patient_reports: Path
    ground_truth: Path
    catalog_params: Path


def outputs(cfg: Config, *, root: Path | None = None) -> Outputs:
    """The catalog of ``cfg`` (``paths.outputs``), relative to the working directory, or
    under ``root`` when given."""
    cat: OutputsConfig = cfg.paths.outputs
    base = root if root is not None else Path()
    return Outputs(
        **{f.name: base / getattr(cat, f.name) for f in dataclasses.fields(OutputsConfig)}
    )
