"""DVC stage `evaluate`: held-out metrics and curves; MLflow run, registry and champion gate."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pandas as pd

from precision_onco.compute import compute_session, read_table
from precision_onco.config import Config, endpoint_roles, outputs
from precision_onco.features import candidate_features
from precision_onco.models.evaluate import evaluate, sample_size
from precision_onco.models.fit import load_models
from precision_onco.models.train import model_frame
from precision_onco.policy.pgx_dose import toxicity_by_genotype
from precision_onco.report.model_card import render_model_card, shap_summary
from precision_onco.stage import run_stage

log = logging.getLogger("pipelines.evaluate")


def model_card(
    cfg: Config,
    metrics: dict,
    curves: dict,
    models: dict,
    features: pd.DataFrame,
    predictions: pd.DataFrame,
    lines: pd.DataFrame,
    patients: pd.DataFrame,
    policy: dict | None,
    manifest: dict,
    policy_skipped: str | None,
) -> str:
    """The cohort model card (report.lang), with SHAP summaries on held-out lines."""
    held = features.merge(predictions[["patient_key", "line_number"]])
    rows = candidate_features(held, held["regimen_id"].tolist(), cfg.catalog)
    counts = patients["cancer_type"].value_counts() if "cancer_type" in patients.columns else {}
    cohort = {
        "name": cfg.cohort.name,
        "synthetic": cfg.cohort.synthetic,
        "external_validation": cfg.cohort.inputs.test_lines.path,
        "patients": len(patients),
        "lines": len(lines),
        "cancer_types": {str(k): int(v) for k, v in dict(counts).items()},
    }
    calibration = {ep: t["calibration"] for ep, t in curves.items() if "calibration" in t}
    roles = endpoint_roles(cfg.endpoints)
    return render_model_card(
        metrics,
        calibration=calibration,
        shap=shap_summary(models, rows),
        cohort=cohort,
        lang=cfg.report.lang,
        policy=policy,
        inputs=manifest,
        policy_skipped=policy_skipped,
        pgx=metrics.get("pgx"),
        efficacy=roles.efficacy,
        any_severe_ae=roles.any_severe_ae,
    )


def main(cfg: Config) -> None:
    files = outputs(cfg)
    lines = read_table(files.lines)
    patients = read_table(files.patients)
    predictions = pd.read_parquet(files.predictions)
    cv = pd.read_parquet(files.cv_predictions)
    truth_file = files.ground_truth
    truth = pd.read_parquet(truth_file) if cfg.cohort.synthetic and truth_file.is_file() else None
    with compute_session(cfg.compute, stage="evaluate") as compute:
        metrics, curves = evaluate(
            cfg,
            predictions,
            lines,
            patients,
            ground_truth=truth,
            cv_predictions=cv if len(cv.columns) > 2 else None,
            compute=compute,
        )
    manifest = json.loads(files.model_manifest.read_text())
    metrics = {"cohort": cfg.cohort.name, "synthetic": cfg.cohort.synthetic, **metrics}
    metrics["sample_size"] = sample_size(cfg, manifest, metrics)
    metrics["skipped_endpoints"] = manifest.get("skipped_endpoints", {})
    for ep, why in metrics["skipped_endpoints"].items():
        log.warning("endpoint %s not modelled: %s", ep, why)
    for s in metrics["sample_size"].values():
        if s["small"]:
            log.warning("%s", s["reason"])
    policy_file = files.policy
    policy = json.loads(policy_file.read_text()) if policy_file.is_file() else None
    if policy and policy.get("policies"):
        metrics["policy"] = {k: v for k, v in policy.items() if k != "pgx_dosing"}
    # pharmacogenomics (issue 17): toxicity models by genotype; recommended vs observed dosing
    metrics["pgx"] = {
        "toxicity_by_genotype": toxicity_by_genotype(
            predictions,
            lines,
            patients,
            cfg.catalog,
            endpoints=endpoint_roles(cfg.endpoints).pgx_dose,
            truth=truth,
            bootstrap=cfg.evaluation.bootstrap,
            bins=cfg.evaluation.calibration_bins,
            seed=cfg.evaluation.seed,
        )
    }
    if policy and policy.get("pgx_dosing"):
        metrics["pgx"]["dosing"] = policy["pgx_dosing"]
    plots = files.plots
    plots.mkdir(parents=True, exist_ok=True)
    for old in plots.glob("*.csv"):
        old.unlink()
    for ep, tables in curves.items():
        for name, df in tables.items():
            df.to_csv(plots / f"{name}_{ep}.csv", index=False)
    files.metrics.write_text(json.dumps(metrics, indent=2) + "\n")
    for ep, res in metrics.items():
        if isinstance(res, dict) and "overall" in res:
            o = res["overall"]
            log.info(
                "%s: AUC %.3f [%.3f, %.3f], ECE %.3f, Brier %.3f%s",
                ep,
                o["auc"],
                o.get("auc_low", float("nan")),
                o.get("auc_high", float("nan")),
                o["ece"],
                o["brier"],
                f" (Bayes-optimal AUC {res['bayes_optimal_auc']:.3f})"
                if "bayes_optimal_auc" in res
                else "",
            )
    models = load_models(files.models)
    features = pd.read_parquet(files.features)
    card = files.model_card
    card.write_text(
        model_card(
            cfg,
            metrics,
            curves,
            models,
            features,
            predictions,
            lines,
            patients,
            metrics.get("policy"),
            manifest,
            (policy or {}).get("skipped"),
        ),
        encoding="utf-8",
    )
    decisions = {}
    if cfg.tracking.enabled:
        from precision_onco.models.tracking import log_pipeline_run

        example = model_frame(features.head(20), cfg)
        ints = example.select_dtypes("integer").columns
        example[ints] = example[ints].astype("float64")  # missing values are possible
        extra = {"policy": policy_file} if policy else {}
        decisions = log_pipeline_run(
            cfg,
            models,
            metrics,
            curves,
            example,
            manifest,
            root=Path.cwd(),
            params_file=Path("params.yaml"),
            artifacts={"model_card": card, **extra},
        )
    files.registry.write_text(json.dumps(decisions, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(run_stage("evaluate", main))
