"""Train every configured endpoint on the training patients and predict the held-out ones."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from precision_onco.compute import LOCAL, Compute
from precision_onco.config import Config
from precision_onco.config.schema import ModelConfig
from precision_onco.errors import InputError
from precision_onco.features import candidate_features
from precision_onco.models.data import assign_split, endpoint_labels
from precision_onco.models.fit import EndpointModel, fit_endpoint, propensity_weights
from precision_onco.models.leakage import check_model, check_names, check_single
from precision_onco.models.metrics import auc

__all__ = ["KEYS", "TrainResult", "feature_columns", "model_frame", "regimen_support", "train_all"]

log = logging.getLogger(__name__)

KEYS = ["patient_key", "line_number"]
#: Fewer training rows than this in either class: the endpoint is skipped, with the reason.
MIN_CLASS_ROWS = 10


@dataclass
class TrainResult:
    models: dict[str, EndpointModel]
    predictions: pd.DataFrame  # held-out rows: keys, regimen_id, one probability per endpoint
    cv_predictions: pd.DataFrame | None
    manifest: dict[str, Any] = field(default_factory=dict)


def model_frame(features: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Line states with the features of the regimen actually given."""
    regimen = (
        features["regimen_id"]
        if "regimen_id" in features.columns
        else pd.Series([None] * len(features), index=features.index)
    )
    return candidate_features(features, regimen, cfg.catalog)


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """Every model input of ``frame`` (everything but the keys)."""
    return [c for c in frame.columns if c not in KEYS]


def candidate_parameters(rows: pd.DataFrame, columns: list[str]) -> int:
    """Candidate parameters of the inputs on the training rows: one per non-constant numeric
    input, one per extra level of a categorical input (for events-per-parameter checks)."""
    from precision_onco.features import CATEGORICAL

    n = 0
    for c in columns:
        if c not in rows.columns:
            continue
        levels = rows[c].nunique(dropna=True)
        n += max(levels - 1, 0) if c in CATEGORICAL else int(levels > 1)
    return max(n, 1)


def regimen_support(rows: pd.DataFrame) -> dict[str, int]:
    """Training patients per ``"<cancer_type>|<regimen_id>"`` (missing cancer type: empty)."""
    if "regimen_id" not in rows.columns:
        return {}
    cancer = (
        rows["cancer_type"].astype("string").fillna("")
        if "cancer_type" in rows.columns
        else pd.Series("", index=rows.index, dtype="string")
    )
    key = cancer + "|" + rows["regimen_id"].astype("string")
    n = rows.groupby(key.to_numpy(), dropna=True)["patient_key"].nunique()
    return {str(k): int(v) for k, v in n.items()}


def train_all(
    cfg: Config, features: pd.DataFrame, lines: pd.DataFrame, *, compute: Compute | None = None
) -> TrainResult:
    """Fit one calibrated model per endpoint; predict the held-out test patients.

    With ``split.cv_folds`` > 1, also returns patient-grouped K-fold out-of-fold
    predictions over every labelled row (the test rows included). The fits are
    independent: with a distributed ``compute`` each is a task (the same models).
    """
    t0 = time.perf_counter()
    data = features.merge(lines, on=KEYS, how="left", suffixes=("", "__line"))
    labels, skipped = endpoint_labels(data, cfg.endpoints)
    if labels.empty:
        raise InputError(
            "no endpoint can be trained: " + "; ".join(f"{k}: {v}" for k, v in skipped.items())
            if skipped
            else "no endpoints configured"
        )
    split = assign_split(data, cfg.split)
    frame = model_frame(features, cfg)
    cols = [c for c in feature_columns(frame) if c != cfg.split.column]  # a split label is no input
    check_names(cfg.features)
    log.info("model inputs (%d): %s", len(cols), ", ".join(cols))
    groups = frame["patient_key"].astype(str)
    weights = _propensity(cfg, features, groups)
    test = (split == "test").to_numpy()
    jobs, guards, too_few = _endpoint_jobs(cfg, frame, labels, split, cols=cols, test=test)
    skipped.update(too_few)
    labels = labels.drop(columns=list(too_few))
    cv_jobs = _cv_jobs(cfg, labels, groups) if cfg.split.cv_folds > 1 else []
    # the independent fits (endpoints, cross-validation folds) as tasks, the data sent once
    fit_data = _FitData(frame, groups, cols, cfg.model, weights)
    done = (compute or LOCAL).map(_run_fit, [*jobs, *cv_jobs], fit_data)
    models, preds, fit_info = _endpoint_results(
        cfg, frame, labels, jobs, done[: len(jobs)], guards=guards, test=test
    )
    if not models:
        raise InputError(
            "no endpoint could be trained: " + "; ".join(f"{k}: {v}" for k, v in skipped.items())
        )
    cv = _cv_frame(frame, labels, cv_jobs, done[len(jobs) :]) if cv_jobs else None
    manifest = _manifest(
        cfg, frame, labels, split, cols=cols, fit_info=fit_info, skipped=skipped, test=test, t0=t0
    )
    return TrainResult(models, preds.reset_index(drop=True), cv, manifest)


def _propensity(cfg: Config, features: pd.DataFrame, groups: pd.Series) -> np.ndarray | None:
    """Propensity weights of the regimen given (None without ``model.propensity_weighting``)."""
    if not cfg.model.propensity_weighting:
        return None
    state_cols = [c for c in features.columns if c not in KEYS and c != "regimen_id"]
    return propensity_weights(
        features,
        state_cols,
        features.get("regimen_id", pd.Series(index=features.index, dtype="string")),
        groups,
        cfg.model,
        cfg.split.seed,
        cfg.propensity,
    )


def _endpoint_jobs(
    cfg: Config,
    frame: pd.DataFrame,
    labels: pd.DataFrame,
    split: pd.Series,
    *,
    cols: list[str],
    test: np.ndarray,
) -> tuple[list[_FitJob], dict[str, Any], dict[str, str]]:
    """Each endpoint's fit and leakage check; too few rows of a class: skipped, logged."""
    need = max(MIN_CLASS_ROWS, 2 * cfg.model.calibration_folds)
    jobs: list[_FitJob] = []
    guards: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for ep in list(labels.columns):
        y = labels[ep]
        train = (~test) & y.notna().to_numpy()
        pos = int(y[train].sum())
        if min(pos, int(train.sum()) - pos) < need:
            skipped[ep] = (
                f"too few training rows of one class ({pos} positive of "
                f"{int(train.sum())}; at least {need} of each needed)"
            )
            log.warning("endpoint %s skipped: %s", ep, skipped[ep])
            continue
        guards[ep] = check_single(ep, frame.loc[train], y[train].to_numpy(), cols, cfg.features)
        rows = np.flatnonzero(train)
        validation = (split[train] == "validation").to_numpy()
        jobs.append(
            _FitJob(
                ep,
                rows,
                y[train].to_numpy(),
                validation,
                cfg.split.seed,
                predict=np.flatnonzero(test),
            )
        )
    return jobs, guards, skipped


def _endpoint_results(
    cfg: Config,
    frame: pd.DataFrame,
    labels: pd.DataFrame,
    jobs: list[_FitJob],
    done: list[tuple[Any, tuple[Any, ...], float]],
    *,
    guards: dict[str, Any],
    test: np.ndarray,
) -> tuple[dict[str, EndpointModel], pd.DataFrame, dict[str, Any]]:
    """The endpoints' models, held-out predictions and fit summaries (AUC guarded)."""
    models: dict[str, EndpointModel] = {}
    preds = frame.loc[test, KEYS].copy()
    if "regimen_id" in frame.columns:
        preds["regimen_id"] = frame.loc[test, "regimen_id"]
    fit_info: dict[str, Any] = {}
    for job, (m, (p, lo, hi), secs) in zip(jobs, done, strict=True):
        assert m is not None  # an endpoint's own fit returns its model
        ep = job.endpoint
        m.support = regimen_support(frame.iloc[job.rows])
        m.min_support = cfg.model.min_regimen_patients
        models[ep] = m
        preds[ep], preds[f"{ep}_low"], preds[f"{ep}_high"] = p, lo, hi
        y_test = labels[ep][test].to_numpy()
        has = np.isfinite(y_test)
        guard = guards[ep]
        if has.any():
            strongest = [guard["strongest_input"]] if guard else []
            check_model(ep, auc(y_test[has], preds[ep].to_numpy()[has]), strongest, cfg.features)
        fit_info[ep] = _fit_summary(job, m, guard, seconds=secs)
    return models, preds, fit_info


def _fit_summary(job: _FitJob, m: EndpointModel, guard: Any, *, seconds: float) -> dict[str, Any]:
    """One endpoint's fit for the manifest, logged in one line."""
    info = {
        "train_rows": len(job.rows),
        "positives": int(job.y.sum()),
        "best_iteration": m.best_iteration,
        "leakage_check": guard,
        "seconds": round(seconds, 2),
    }
    log.info(
        "%s: %d training rows (%d positive), %s rounds, %.1f s",
        job.endpoint,
        len(job.rows),
        job.y.sum(),
        m.best_iteration,
        seconds,
    )
    return info


def _manifest(
    cfg: Config,
    frame: pd.DataFrame,
    labels: pd.DataFrame,
    split: pd.Series,
    *,
    cols: list[str],
    fit_info: dict[str, Any],
    skipped: dict[str, str],
    test: np.ndarray,
    t0: float,
) -> dict[str, Any]:
    """The training manifest: cohort, inputs, endpoints trained and skipped, split, time."""
    first = next(iter(fit_info))
    fit_rows = frame.loc[(~test) & labels[first].notna().to_numpy()] if first in labels else frame
    return {
        "cohort": cfg.cohort.name,
        "candidate_parameters": candidate_parameters(fit_rows, cols),
        "endpoints": {
            ep: {
                "column": cfg.endpoints[ep].column,
                "threshold": cfg.endpoints[ep].threshold,
                "label": cfg.endpoints[ep].label,
                **fit_info[ep],
            }
            for ep in fit_info
        },
        "skipped_endpoints": skipped,
        "features": cols,
        "declared_extra": list(cfg.features.extra),
        "leakage_guard": {
            "enabled": cfg.features.leakage.enabled,
            "allowed": list(cfg.features.leakage.allow),
        },
        "split": {k: int(v) for k, v in split.value_counts().items()},
        "split_patients": {
            k: int(frame.loc[(split == k).to_numpy(), "patient_key"].nunique())
            for k in ("train", "validation", "test")
        },
        "model": cfg.model.kind,
        "seconds": round(time.perf_counter() - t0, 2),
    }


@dataclass(frozen=True)
class _FitData:
    """What every fit reads (sent to the workers once)."""

    frame: pd.DataFrame
    groups: pd.Series
    cols: list[str]
    model: ModelConfig
    weights: np.ndarray | None


@dataclass(frozen=True)
class _FitJob:
    """One independent fit: ``endpoint`` on the ``rows`` (positions in the frame)."""

    endpoint: str
    rows: np.ndarray
    y: np.ndarray
    validation: np.ndarray
    seed: int
    #: rows to predict: with intervals (the held-out test rows) or, for a cross-validation
    #: fold, its held-out fold (probabilities only)
    predict: np.ndarray
    fold: int | None = None


def _run_fit(job: _FitJob, data: _FitData) -> tuple[EndpointModel | None, tuple[Any, ...], float]:
    """Fit one job and predict its rows: (model, predictions, seconds); a fold's model is
    not returned (only its out-of-fold probabilities are used)."""
    t0 = time.perf_counter()
    m = fit_endpoint(
        job.endpoint,
        data.frame.iloc[job.rows],
        job.y,
        data.groups.iloc[job.rows],
        job.validation,
        data.cols,
        data.model,
        seed=job.seed,
        weights=None if data.weights is None else data.weights[job.rows],
    )
    rows = data.frame.iloc[job.predict]
    if job.fold is not None:
        return None, (m.predict_proba(rows),), time.perf_counter() - t0
    return m, tuple(m.predict_interval(rows)), time.perf_counter() - t0


def _cv_jobs(cfg: Config, labels: pd.DataFrame, groups: pd.Series) -> list[_FitJob]:
    """Patient-grouped K-fold cross-validation fits of every endpoint (folds drawn here, in
    order, from ``split.seed``)."""
    jobs = []
    rng = np.random.default_rng(cfg.split.seed)
    for ep in labels.columns:
        y = labels[ep]
        rows = np.flatnonzero(y.notna().to_numpy())
        # patients shuffled into folds (GroupKFold alone is deterministic by size)
        pats = groups.iloc[rows].unique()
        fold_of = dict(
            zip(rng.permutation(pats), np.arange(len(pats)) % cfg.split.cv_folds, strict=True)
        )
        fold = groups.iloc[rows].map(fold_of).to_numpy()
        for k in range(cfg.split.cv_folds):
            tr, te = rows[fold != k], rows[fold == k]
            tr_groups = groups.iloc[tr]
            n_val = max(1, int(round(cfg.split.validation_fraction * tr_groups.nunique())))
            val_pats = set(rng.permutation(tr_groups.unique())[:n_val])
            jobs.append(
                _FitJob(
                    ep,
                    tr,
                    y.iloc[tr].to_numpy(),
                    tr_groups.isin(val_pats).to_numpy(),
                    cfg.split.seed + k,
                    predict=te,
                    fold=k,
                )
            )
    return jobs


def _cv_frame(
    frame: pd.DataFrame,
    labels: pd.DataFrame,
    jobs: list[_FitJob],
    done: list[tuple[Any, tuple[Any, ...], float]],
) -> pd.DataFrame:
    """Out-of-fold probabilities from patient-grouped K-fold CV, per endpoint."""
    out = frame[KEYS].copy()
    for ep in labels.columns:
        oof = np.full(len(frame), np.nan)
        folds = 0
        for job, (_, (p,), _) in zip(jobs, done, strict=True):
            if job.endpoint == ep:
                oof[job.predict] = p
                folds += 1
        out[ep] = oof
        log.info("%s: %d-fold patient-grouped cross-validation done", ep, folds)
    return out
