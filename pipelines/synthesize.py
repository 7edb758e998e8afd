"""DVC stage `synthesize`: write the embedded synthetic cohort into paths.raw_dir."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from precision_onco.compute import compute_session
from precision_onco.config import Config
from precision_onco.stage import run_stage
from precision_onco.synth import skip_synthesis, synthesize

log = logging.getLogger("pipelines.synthesize")


def main(cfg: Config) -> None:
    if not cfg.cohort.synthetic:
        log.info("skipped: %s", skip_synthesis(cfg, Path(cfg.paths.raw_dir), root=Path.cwd()))
        return
    with compute_session(cfg.compute, stage="synthesize") as compute:
        summary = synthesize(
            cfg, Path(cfg.paths.raw_dir), progress=sys.stderr.isatty(), compute=compute
        )
    log.info(
        "synthesized %d patients, %d therapy lines, %d variant records, %d ground-truth rows",
        summary.n_patients,
        summary.n_lines,
        summary.n_variant_records,
        summary.n_truth_rows,
    )


if __name__ == "__main__":
    sys.exit(run_stage("synthesize", main))
