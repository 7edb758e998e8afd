"""Held-out evaluation: metrics with bootstrap intervals, subgroups, curves, Bayes-optimal AUC."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from precision_onco.compute import LOCAL, Compute
from precision_onco.config import Config
from precision_onco.config.schema import EvaluationConfig
from precision_onco.models.data import endpoint_labels
from precision_onco.models.metrics import auc, curves, metric_table

__all__ = ["SUBGROUPS", "evaluate", "flat_metrics", "sample_size", "truth_column"]

KEYS = ["patient_key", "line_number"]
#: Subgroups every metric is reported by (name -> column of the evaluation frame).
SUBGROUPS = {"cancer_type": "cancer_type", "line": "line_number", "sex": "sex"}


def truth_column(endpoint: str) -> str:
    """The ground-truth probability column of an endpoint (synthetic cohort)."""
    return f"p_{endpoint}"


def evaluate(
    cfg: Config,
    predictions: pd.DataFrame,
    lines: pd.DataFrame,
    patients: pd.DataFrame,
    *,
    ground_truth: pd.DataFrame | None = None,
    cv_predictions: pd.DataFrame | None = None,
    compute: Compute | None = None,
) -> tuple[dict[str, Any], dict[str, dict[str, pd.DataFrame]]]:
    """Metrics per endpoint on the held-out rows (and cross-validated rows, if given).

    Returns the metrics (the content of ``reports/metrics.json``) and, per
    endpoint, the ROC, precision-recall and calibration curves.
    """
    ev = cfg.evaluation
    endpoints = [c for c in predictions.columns if c in cfg.endpoints]
    pcols = [c for c in ("cancer_type", "sex") if c in patients.columns]
    lines = lines[_line_columns(cfg, lines, predictions, cv_predictions, pcols)]
    frame = predictions.merge(lines, on=KEYS, how="left", suffixes=("", "__line"))
    frame = frame.merge(patients[["patient_key", *pcols]], on="patient_key", how="left")
    labels, _ = endpoint_labels(frame, {k: cfg.endpoints[k] for k in endpoints})
    out: dict[str, Any] = {
        "test_rows": len(frame),
        "test_patients": int(frame["patient_key"].nunique()),
    }
    plots: dict[str, dict[str, pd.DataFrame]] = {}
    truth = None
    if ground_truth is not None and "regimen_id" in frame.columns:
        truth = frame[[*KEYS, "regimen_id"]].merge(
            ground_truth, on=[*KEYS, "regimen_id"], how="left"
        )
    held = {
        ep: frame.assign(_y=labels[ep], _p=frame[ep]) for ep in endpoints if ep in labels.columns
    }
    cv_frames: dict[str, pd.DataFrame] = {}
    if cv_predictions is not None:
        cvf = cv_predictions.merge(lines, on=KEYS, how="left", suffixes=("", "__line"))
        cvf = cvf.merge(patients[["patient_key", *pcols]], on="patient_key", how="left")
        cv_eps = [c for c in cv_predictions.columns if c in cfg.endpoints]
        cv_labels, _ = endpoint_labels(cvf, {k: cfg.endpoints[k] for k in cv_eps})
        cv_frames = {ep: cvf.assign(_y=cv_labels[ep], _p=cvf[ep]) for ep in cv_labels.columns}
    # every table (its own seed, so independent of the others) is one task of ``compute``
    cols = ["_y", "_p", *SUBGROUPS.values()]
    tables = (compute or LOCAL).map(
        _metric_task,
        [f[[c for c in cols if c in f.columns]] for f in (*held.values(), *cv_frames.values())],
        ev,
    )
    for ep, f in held.items():
        res = tables.pop(0)
        ok = f["_y"].notna() & f["_p"].notna()
        if truth is not None and truth_column(ep) in truth.columns:
            t = truth[truth_column(ep)]
            has = ok & t.notna()
            if has.any():
                res["bayes_optimal_auc"] = auc(f.loc[has, "_y"].to_numpy(), t[has].to_numpy())
                res["bayes_rows"] = int(has.sum())
                res["auc_gap_to_bayes"] = res["bayes_optimal_auc"] - res["overall"]["auc"]
            lo, hi = f"{ep}_low", f"{ep}_high"
            if lo in frame.columns and hi in frame.columns:
                inside = (t >= frame[lo]) & (t <= frame[hi])
                res["interval_coverage_of_truth"] = float(inside[t.notna()].mean())
                res["interval_mean_width"] = float((frame[hi] - frame[lo])[t.notna()].mean())
        out[ep] = res
        plots[ep] = curves(
            f.loc[ok, "_y"].to_numpy(), f.loc[ok, "_p"].to_numpy(), ev.calibration_bins
        )
    if cv_predictions is not None:
        out["cross_validation"] = {"folds": cfg.split.cv_folds}
        for ep in cv_frames:
            out["cross_validation"][ep] = tables.pop(0)
    return out, plots


def _line_columns(
    cfg: Config,
    lines: pd.DataFrame,
    predictions: pd.DataFrame,
    cv_predictions: pd.DataFrame | None,
    pcols: list[str],
) -> list[str]:
    """The columns of ``lines`` that the merged frames use: the keys, the endpoints'
    columns, the regimen and the subgroups, and any column whose name the predictions or
    the patients' subgroup columns also have (so that the merges name the columns as with
    the whole table). The rest (labs, dates, other grades) is left out of the copies."""
    keep = {*KEYS, "regimen_id", *SUBGROUPS.values(), *pcols, *predictions.columns}
    keep |= {e.column for e in cfg.endpoints.values()}
    if cv_predictions is not None:
        keep |= set(cv_predictions.columns)
    return [c for c in lines.columns if c in keep]


def _metric_task(frame: pd.DataFrame, ev: EvaluationConfig) -> dict[str, Any]:
    """One endpoint's metric table with its bootstrap intervals (seeded by ``ev.seed``)."""
    return metric_table(
        frame,
        "_y",
        "_p",
        SUBGROUPS,
        bootstrap=ev.bootstrap,
        bins=ev.calibration_bins,
        min_rows=ev.min_subgroup_rows,
        seed=ev.seed,
    )


def flat_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """``<endpoint>.<metric>`` -> value for the overall held-out metrics (for MLflow)."""
    flat: dict[str, float] = {}
    for ep, res in metrics.items():
        if not isinstance(res, dict) or "overall" not in res:
            continue
        for k, v in res["overall"].items():
            if isinstance(v, (int, float)) and np.isfinite(v):
                flat[f"{ep}.{k}"] = float(v)
        if "bayes_optimal_auc" in res:
            flat[f"{ep}.bayes_optimal_auc"] = float(res["bayes_optimal_auc"])
    flat.update(_flat_policy(metrics.get("policy")))
    flat.update(_flat_pgx(metrics.get("pgx")))
    return flat


def _flat_pgx(section: Any) -> dict[str, float]:
    """``pgx.dosing.<endpoint>.<recommended|observed|difference>`` and the safety counts
    (pharmacogenomics, issue 17; for MLflow)."""
    out: dict[str, float] = {}
    dosing = (section or {}).get("dosing") if isinstance(section, dict) else None
    if not isinstance(dosing, dict):
        return out
    for ep, res in (dosing.get("recommended_fluoropyrimidine") or {}).items():
        for k in ("recommended", "observed", "difference"):
            v = (res.get("all") or {}).get(k)
            if isinstance(v, (int, float)):
                out[f"pgx.dosing.{ep}.{k}"] = float(v)
    for k, v in (dosing.get("safety") or {}).items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out[f"pgx.safety.{k}"] = float(v)
    return out


def _flat_policy(section: Any) -> dict[str, float]:
    """``policy.<policy>.<outcome>.<estimate>`` and each policy's regret (for MLflow)."""
    out: dict[str, float] = {}
    if not isinstance(section, dict):
        return out
    for name, res in (section.get("policies") or {}).items():
        for key, v in res.items():
            if isinstance(v, dict):
                for k in ("ipw", "dr", "dr_low", "dr_high", "true"):
                    if isinstance(v.get(k), (int, float)):
                        out[f"policy.{name}.{key}.{k}"] = float(v[k])
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                out[f"policy.{name}.{key}"] = float(v)
    return out


def sample_size(
    cfg: Config, manifest: dict[str, Any], metrics: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Events and events per candidate input of each trained endpoint, and whether it is too
    small to promote (``evaluation.min_events_per_input``, ``evaluation.min_events``)."""
    ev = cfg.evaluation
    n_inputs = int(manifest.get("candidate_parameters") or len(manifest.get("features", [])) or 1)
    out: dict[str, dict[str, Any]] = {}
    for ep, info in (manifest.get("endpoints") or {}).items():
        rows, pos = int(info.get("train_rows", 0)), int(info.get("positives", 0))
        events = min(pos, rows - pos)
        epv = events / n_inputs
        test = (metrics.get(ep) or {}).get("overall", {})
        test_events = (
            min(
                int(test.get("positives", 0)), int(test.get("n", 0)) - int(test.get("positives", 0))
            )
            if test
            else 0
        )
        problems = []
        if epv < ev.min_events_per_input:
            problems.append(
                f"{events} events for {n_inputs} candidate parameters ({epv:.1f} "
                f"per parameter; at least {ev.min_events_per_input:g} advised)"
            )
        if events < ev.min_events:
            problems.append(f"{events} events in training (at least {ev.min_events} advised)")
        small = bool(problems)
        reason = (f"too little data for {ep}: " + "; ".join(problems)) if small else ""
        out[ep] = {
            "train_rows": rows,
            "events": events,
            "candidate_parameters": n_inputs,
            "events_per_input": round(epv, 2),
            "test_events": test_events,
            "small": small,
            "hold": small and not ev.promote_small,
            "reason": reason
            + (
                " (promoted anyway: evaluation.promote_small)"
                if small and ev.promote_small
                else " (not promoted: set evaluation.promote_small=true to promote)"
                if small
                else ""
            ),
            "small_test": test_events < ev.min_test_events,
        }
    return out
