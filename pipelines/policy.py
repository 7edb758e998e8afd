"""DVC stage `policy`: does following the recommendations help?

Evaluates, on the held-out lines, the recommender (every preset), observed
practice, the guideline rule and random choice — IPW and doubly robust values
with bootstrap CIs, overlap, and on the synthetic cohort the truth and the
oracle. With ``policy.compare_training``, also trains the endpoint models the
other way (``model.propensity_weighting`` flipped) and compares the two.
Writes ``reports/policy.json``; `evaluate` puts it in metrics, model card and MLflow.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import time
from pathlib import Path

import pandas as pd

from precision_onco.compute import Compute, ComputeError, compute_session, read_table
from precision_onco.config import Config, endpoint_roles, outputs
from precision_onco.models.fit import load_models
from precision_onco.models.train import train_all
from precision_onco.policy.pgx_dose import held_out_dosing
from precision_onco.policy.study import policy_skip_reason, study_policies, training_variant
from precision_onco.recommend.service import load_presets
from precision_onco.stage import run_stage

log = logging.getLogger("pipelines.policy")


def _alternative(
    cfg: Config,
    features: pd.DataFrame,
    lines: pd.DataFrame,
    endpoints: set[str],
    compute: Compute,
) -> dict:
    """The endpoints the study needs, trained with ``model.propensity_weighting`` flipped
    (the fits as tasks on a distributed ``compute``, as in the train stage)."""
    alt = dataclasses.replace(
        cfg,
        model=dataclasses.replace(
            cfg.model, propensity_weighting=not cfg.model.propensity_weighting
        ),
        split=dataclasses.replace(cfg.split, cv_folds=0),
        endpoints={k: v for k, v in cfg.endpoints.items() if k in endpoints},
    )
    log.info(
        "training the %s variant of %s for comparison",
        training_variant(alt.model.propensity_weighting),
        ", ".join(sorted(alt.endpoints)),
    )
    return train_all(alt, features, lines, compute=compute).models


def main(cfg: Config) -> None:
    files = outputs(cfg)
    out = files.policy
    if not cfg.policy.enabled:
        out.write_text(
            json.dumps(
                {"enabled": False, "skipped": "switched off (policy.enabled=false)"}, indent=2
            )
            + "\n"
        )
        return
    features = pd.read_parquet(files.features)
    lines = read_table(files.lines)
    why = policy_skip_reason(features, cfg.catalog)
    if why:
        log.warning("policy study skipped: %s", why)
        out.write_text(json.dumps({"enabled": True, "skipped": why}, indent=2) + "\n")
        return
    models = load_models(files.models)
    presets = load_presets(Path("conf/recommend"), cfg.recommend)
    truth_file = files.ground_truth
    truth = pd.read_parquet(truth_file) if cfg.cohort.synthetic and truth_file.is_file() else None
    t0 = time.perf_counter()
    alternative = None
    roles = endpoint_roles(cfg.endpoints)
    if cfg.policy.compare_training:
        needed = set(roles.headline) | {k for p in presets.values() for k in p.weights}
        try:
            with compute_session(cfg.compute, stage="policy") as compute:
                alternative = _alternative(cfg, features, lines, needed & set(models), compute)
        except ComputeError:  # the cluster failed: not a reason to skip the comparison
            raise
        except ValueError as exc:  # e.g. too few rows of a class once weighted
            log.warning("comparison of training variants skipped: %s", exc)
    study = study_policies(
        cfg,
        features,
        read_table(files.patients),
        lines,
        pd.read_parquet(files.predictions),
        models,
        presets,
        truth=truth,
        alternative=alternative,
    )
    dosing = None
    if truth is not None:  # pharmacogenomics (issue 17): recommended vs observed dosing
        dosing = held_out_dosing(
            features,
            read_table(files.patients),
            lines,
            pd.read_parquet(files.predictions),
            models,
            cfg.catalog,
            cfg.recommend,
            truth,
            any_severe_ae=roles.any_severe_ae,
            toxicities=roles.pgx_dose,
            bootstrap=cfg.policy.bootstrap,
            seed=cfg.policy.seed,
        )
        log.info("pgx dosing: %s", dosing.get("summary", dosing.get("skipped")))
    result = {
        **study.as_json(),
        **({"pgx_dosing": dosing} if dosing is not None else {}),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    out.write_text(json.dumps(result, indent=2) + "\n")
    for name, p in result["policies"].items():
        u = p["utility"]
        log.info(
            "%-28s utility DR %s [%s, %s]%s",
            name,
            u["dr"],
            u["dr_low"],
            u["dr_high"],
            f", true {u['true']}, normalized regret {p.get('normalized_regret')}"
            if "true" in u
            else "",
        )
    log.info("summary: %s (%.0f s)", result.get("summary"), result["seconds"])


if __name__ == "__main__":
    sys.exit(run_stage("policy", main))
