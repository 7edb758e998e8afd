"""MLflow: one parent run per pipeline run, a child run per endpoint, the registry and its gate.

Each endpoint's model is logged as an MLflow pyfunc (input: the feature table;
output: the calibrated probability), registered as ``<prefix>_<endpoint>``, and
the ``champion`` alias moves to the new version only when none of its
held-out gate metrics is worse than the current champion's by more than
``tracking.tolerance`` (AUC lower, Brier higher).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import joblib
import numpy as np
import pandas as pd

from precision_onco.config import Config
from precision_onco.errors import UserError
from precision_onco.models.fit import EndpointModel

T = TypeVar("T")

__all__ = [
    "CHAMPION",
    "EndpointPyfunc",
    "GateDecision",
    "cohort_definition",
    "gate",
    "log_pipeline_run",
    "StoreLockedError",
    "open_store",
    "package_versions",
    "registered_name",
    "use_experiment",
]

log = logging.getLogger(__name__)

CHAMPION = "champion"
_HIGHER_IS_BETTER = {"auc": True, "average_precision": True, "brier": False, "ece": False}
_PACKAGES = (
    "precision-onco",
    "lightgbm",
    "scikit-learn",
    "pandas",
    "numpy",
    "pyarrow",
    "mlflow",
    "shap",
    "cyvcf2",
    "dvc",
    "hydra-core",
)


try:
    import mlflow.pyfunc

    _PythonModel: Any = mlflow.pyfunc.PythonModel
except ImportError:  # pragma: no cover - mlflow is a dependency
    _PythonModel = object


class EndpointPyfunc(_PythonModel):
    """MLflow pyfunc wrapper: a feature table in, ``probability`` of the endpoint out."""

    def load_context(self, context: Any) -> None:
        self.model: EndpointModel = joblib.load(context.artifacts["model"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        return pd.DataFrame({"probability": self.model.predict_proba(model_input)})


def registered_name(cfg: Config, what: str) -> str:
    """The registry name of an endpoint model or of the recommender for this run's cohort:
    ``<tracking.model_prefix>_<cohort.name>_<what>``. Cohorts never share a registered model,
    so a champion is only compared with, and only replaced by, models of its own cohort."""
    cohort = re.sub(r"[^A-Za-z0-9_]+", "_", cfg.cohort.name).strip("_") or "cohort"
    return f"{cfg.tracking.model_prefix}_{cohort}_{what}"


def cohort_definition(cfg: Config, endpoint: str | None = None) -> str:
    """A fingerprint of what a model's held-out figures are measured on: the cohort's inputs
    and their mapping, the split and, for an endpoint, its definition. Champions are compared
    only with models of the same definition."""
    parts: dict[str, Any] = {
        "inputs": _asdict(cfg.cohort.inputs),
        "split": _asdict(cfg.split),
        "synthetic": cfg.cohort.synthetic,
    }
    if endpoint is not None and endpoint in cfg.endpoints:
        parts["endpoint"] = _asdict(cfg.endpoints[endpoint])
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str


def gate(
    new: Mapping[str, float],
    champion: Mapping[str, float] | None,
    metrics: list[str],
    tolerance: float,
) -> GateDecision:
    """Promote when there is no champion, or no gate metric is worse beyond ``tolerance``."""
    if champion is None:
        return GateDecision(True, "no champion yet")
    worse = []
    for m in metrics:
        if m not in new or m not in champion:
            continue
        better_high = _HIGHER_IS_BETTER.get(m, True)
        delta = (new[m] - champion[m]) if better_high else (champion[m] - new[m])
        if delta < -tolerance:
            worse.append(f"{m} {new[m]:.4f} vs champion {champion[m]:.4f}")
    if worse:
        return GateDecision(
            False, f"worse than the champion beyond tolerance {tolerance}: " + "; ".join(worse)
        )
    return GateDecision(
        True, f"not worse than the champion within tolerance {tolerance} on {', '.join(metrics)}"
    )


def _git(root: Path) -> dict[str, str]:
    def run(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "git_commit": run("rev-parse", "HEAD") or "unknown",
        "git_dirty": "true" if run("status", "--porcelain", "--untracked-files=no") else "false",
    }


def _dvc_hashes(root: Path) -> dict[str, str]:
    """md5 of every output recorded in ``dvc.lock`` (the data this run read and wrote)."""
    import yaml

    lock = root / "dvc.lock"
    if not lock.is_file():
        return {}
    doc = yaml.safe_load(lock.read_text(encoding="utf-8")) or {}
    out: dict[str, str] = {}
    for stage in (doc.get("stages") or {}).values():
        for o in stage.get("outs", []) + stage.get("deps", []):
            if o.get("path", "").startswith(("data/", "models", "reports")) and o.get("md5"):
                out[o["path"]] = o["md5"]
    return out


def package_versions() -> dict[str, str]:
    out = {}
    for p in _PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            continue
    return out


def _flat(prefix: str, obj: Any, out: dict[str, Any]) -> None:
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(obj, (list, tuple)):
        out[prefix] = json.dumps(list(obj))[:500]
    else:
        out[prefix] = obj


def _plot_png(curves: Mapping[str, pd.DataFrame], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(12, 3.8))
    roc = curves["roc"]
    ax[0].plot(roc["fpr"], roc["tpr"])
    ax[0].plot([0, 1], [0, 1], ls=":", c="grey")
    ax[0].set(title="ROC", xlabel="false positive rate", ylabel="true positive rate")
    pr = curves["pr"]
    ax[1].plot(pr["recall"], pr["precision"])
    ax[1].set(title="Precision-recall", xlabel="recall", ylabel="precision")
    cal = curves["calibration"]
    ax[2].plot(cal["predicted"], cal["observed"], marker="o")
    ax[2].plot([0, 1], [0, 1], ls=":", c="grey")
    ax[2].set(title="Calibration", xlabel="predicted", ylabel="observed")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _importance(model: EndpointModel) -> pd.DataFrame | None:
    if model.kind != "lightgbm":
        return None
    gains = np.zeros(len(model.columns))
    cals = getattr(model.estimator, "calibrated_classifiers_", None) or []
    for c in cals:
        gains += c.estimator.booster_.feature_importance(importance_type="gain")
    if not cals:
        gains = model.estimator.booster_.feature_importance(importance_type="gain")
    df = pd.DataFrame({"feature": model.columns, "gain": gains / max(len(cals), 1)})
    return df.sort_values("gain", ascending=False).reset_index(drop=True)


def use_experiment(cfg: Config, root: Path) -> Any:
    """Point MLflow at ``tracking.uri`` and the experiment (created with its artifact
    location under ``root`` when new); returns a client."""
    import mlflow
    from mlflow import MlflowClient

    tr = cfg.tracking
    mlflow.set_tracking_uri(tr.uri)
    client = MlflowClient()

    def open_experiment() -> None:
        if client.get_experiment_by_name(tr.experiment) is None:
            art = tr.artifact_location
            if "://" not in art:
                art = (root / art).resolve().as_uri()
            client.create_experiment(tr.experiment, artifact_location=art)
        mlflow.set_experiment(tr.experiment)

    open_store(open_experiment, uri=tr.uri, what=f"opening experiment {tr.experiment!r}")
    return client


class StoreLockedError(UserError):
    """The tracking store stayed locked (another process writing to a SQLite store)."""


#: Retries (with doubling waits from :data:`STORE_FIRST_WAIT_S`) while the store is locked.
STORE_RETRIES = 5
STORE_FIRST_WAIT_S = 0.5


def open_store(
    fn: Callable[[], T],
    *,
    uri: str,
    what: str,
    retries: int | None = None,
    first_wait_s: float | None = None,
) -> T:
    """``fn()`` (a first call to the tracking store), retried with backoff while the store is
    locked (:func:`precision_onco.models.store.with_store_retry`, one warning line per retry);
    still locked after the last retry: :class:`StoreLockedError` in one line."""
    from precision_onco.models.store import is_locked, with_store_retry

    n = STORE_RETRIES if retries is None else retries
    wait = STORE_FIRST_WAIT_S if first_wait_s is None else first_wait_s
    t0 = time.monotonic()
    try:
        return with_store_retry(fn, what=what, retries=n, first_wait_s=wait)
    except Exception as exc:
        if not is_locked(exc):
            raise
        raise StoreLockedError(
            f"tracking store {uri}: still locked after {n} retries ({time.monotonic() - t0:.0f} s) "
            f"({what}); another process is writing to it — run again once it is done"
        ) from None


def log_pipeline_run(
    cfg: Config,
    models: Mapping[str, EndpointModel],
    metrics: Mapping[str, Any],
    curves: Mapping[str, Mapping[str, pd.DataFrame]],
    example: pd.DataFrame,
    manifest: Mapping[str, Any],
    *,
    root: Path,
    params_file: Path | None = None,
    artifacts: Mapping[str, Path] | None = None,
) -> dict[str, Any]:
    """Log the run to MLflow, register each endpoint's model and apply the champion gate.

    Returns, per endpoint, the registered version and the gate decision.
    """
    import mlflow

    from precision_onco.models.evaluate import flat_metrics

    client = use_experiment(cfg, root)
    flat = flat_metrics(dict(metrics))
    versions = package_versions()
    decisions: dict[str, Any] = {}
    small = _holds(metrics)
    with mlflow.start_run(run_name=f"{cfg.cohort.name}-{cfg.model.kind}") as parent:
        _log_parent(cfg, root, metrics, flat, versions, manifest, params_file=params_file)
        for ep, model in models.items():
            decision = _log_endpoint(
                cfg,
                client,
                ep,
                model,
                parent=parent.info.run_id,
                metrics={k.split(".", 1)[1]: v for k, v in flat.items() if k.startswith(f"{ep}.")},
                curves=curves.get(ep),
                example=example,
                versions=versions,
                hold=small.get(ep),
            )
            if decision is not None:
                decisions[ep] = decision
        mlflow.log_dict(decisions, "registry/gate_decisions.json")
        for folder, path in (artifacts or {}).items():
            mlflow.log_artifact(str(path), artifact_path=folder)
    return decisions


def _log_parent(
    cfg: Config,
    root: Path,
    metrics: Mapping[str, Any],
    flat: dict[str, float],
    versions: dict[str, str],
    manifest: Mapping[str, Any],
    *,
    params_file: Path | None,
) -> None:
    """Log the pipeline run's tags, params, config file, provenance and metrics."""
    import mlflow

    mlflow.set_tags(_parent_tags(cfg, root))
    mlflow.log_params(_run_params(cfg))
    if params_file is not None and params_file.is_file():
        mlflow.log_artifact(str(params_file), artifact_path="config")
    mlflow.log_dict(_dvc_hashes(root), "provenance/dvc_hashes.json")
    mlflow.log_dict(versions, "provenance/package_versions.json")
    mlflow.log_dict(dict(manifest), "provenance/train_manifest.json")
    mlflow.log_dict(dict(metrics), "metrics/metrics.json")
    mlflow.log_metrics(flat)


def _holds(metrics: Mapping[str, Any]) -> dict[str, str]:
    """The reason not to promote each endpoint held back as too small for its cohort."""
    return {
        ep: r["reason"]
        for ep, r in (metrics.get("sample_size") or {}).items()
        if isinstance(r, dict) and r.get("hold")
    }


def _parent_tags(cfg: Config, root: Path) -> dict[str, Any]:
    """The pipeline run's tags: git state, cohort and its definition, leakage guard, override."""
    return {
        **_git(root),
        "cohort": cfg.cohort.name,
        "synthetic": cfg.cohort.synthetic,
        "kind": "pipeline",
        "cohort_definition": cohort_definition(cfg),
        "leakage_guard": "on" if cfg.features.leakage.enabled else "off",
        "leakage_allowed": ",".join(cfg.features.leakage.allow) or "none",
        "small_cohort_override": str(cfg.evaluation.promote_small),
    }


def _run_params(cfg: Config) -> dict[str, str]:
    """The model, split and features settings flattened, and the cohort (500 chars max)."""
    params: dict[str, Any] = {}
    _flat("model", _asdict(cfg.model), params)
    _flat("split", _asdict(cfg.split), params)
    _flat("features", _asdict(cfg.features), params)
    params["cohort"] = cfg.cohort.name
    return {k: str(v)[:500] for k, v in params.items()}


def _log_endpoint(
    cfg: Config,
    client: Any,
    ep: str,
    model: EndpointModel,
    *,
    parent: str,
    metrics: dict[str, float],
    curves: Mapping[str, pd.DataFrame] | None,
    example: pd.DataFrame,
    versions: Mapping[str, str],
    hold: str | None,
) -> dict[str, Any] | None:
    """One endpoint's nested run; its registry version and gate decision when registering."""
    import mlflow

    tr = cfg.tracking
    with mlflow.start_run(run_name=ep, nested=True) as child:
        mlflow.set_tags({"endpoint": ep, "kind": "endpoint", "parent": parent})
        mlflow.log_params(
            {
                "endpoint": ep,
                "column": cfg.endpoints[ep].column,
                "threshold": str(cfg.endpoints[ep].threshold),
                "best_iteration": str(model.best_iteration),
                "n_features": len(model.columns),
            }
        )
        mlflow.log_metrics(metrics)
        model_uri = _log_endpoint_artifacts(ep, model, curves, example, versions=versions)
        if not tr.register:
            return None
        return _register(
            client,
            registered_name(cfg, ep),
            model_uri,
            child.info.run_id,
            metrics,
            tr.gate_metrics,
            tr.tolerance,
            cohort=cfg.cohort.name,
            definition=cohort_definition(cfg, ep),
            hold=hold,
        )


def _log_endpoint_artifacts(
    ep: str,
    model: EndpointModel,
    curves: Mapping[str, pd.DataFrame] | None,
    example: pd.DataFrame,
    *,
    versions: Mapping[str, str],
) -> str:
    """Log an endpoint's curves, importance and pyfunc model; returns its URI."""
    import mlflow
    from mlflow.models import infer_signature

    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        for name, df in (curves or {}).items():
            df.to_csv(t / f"{name}.csv", index=False)
            mlflow.log_artifact(str(t / f"{name}.csv"), artifact_path="curves")
        if curves is not None:
            _plot_png(curves, t / "curves.png", f"{ep} (held-out test set)")
            mlflow.log_artifact(str(t / "curves.png"), artifact_path="curves")
        imp = _importance(model)
        if imp is not None:
            imp.to_csv(t / "feature_importance.csv", index=False)
            mlflow.log_artifact(str(t / "feature_importance.csv"))
        joblib.dump(model, t / "model.joblib")
        x = example[[c for c in model.columns if c in example.columns]].head(5)
        signature = infer_signature(x, pd.DataFrame({"probability": model.predict_proba(x)}))
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=EndpointPyfunc(),
            artifacts={"model": str(t / "model.joblib")},
            signature=signature,
            input_example=x,
            pip_requirements=[f"{p}=={v}" for p, v in versions.items() if p != "precision-onco"],
        )
    return str(info.model_uri)


def _register(
    client: Any,
    name: str,
    model_uri: str,
    run_id: str,
    new: Mapping[str, float],
    gate_metrics: list[str],
    tolerance: float,
    *,
    cohort: str,
    definition: str,
    hold: str | None = None,
) -> dict[str, Any]:
    """Register a version; move ``champion`` to it when the gate allows. ``hold``: a reason
    not to promote at all (a cohort too small for the endpoint)."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(
            name,
            description=f"precision_onco endpoint model of cohort {cohort}",
            tags={"cohort": cohort},
        )
    mv = client.create_model_version(
        name, model_uri, run_id=run_id, tags={"cohort": cohort, "cohort_definition": definition}
    )
    for m, v in new.items():
        client.set_model_version_tag(name, mv.version, f"metric.{m}", f"{v:.6f}")
    champion = None
    try:
        cur = client.get_model_version_by_alias(name, CHAMPION)
        champ_version = cur.version
        if cur.tags.get("cohort_definition") == definition:
            champion = {
                k.removeprefix("metric."): float(v)
                for k, v in cur.tags.items()
                if k.startswith("metric.")
            }
        else:
            log.info(
                "%s: champion v%s was evaluated on another definition of cohort %s "
                "(inputs, split or endpoint changed): its figures are not comparable",
                name,
                champ_version,
                cohort,
            )
    except MlflowException:
        champ_version = None
    decision = gate(new, champion, list(gate_metrics), tolerance)
    if hold is not None:
        decision = GateDecision(False, hold)
    elif champion is None and champ_version is not None:
        decision = GateDecision(
            True,
            f"the champion v{champ_version} was evaluated on another "
            "definition of this cohort; its figures are not comparable",
        )
    client.set_model_version_tag(name, mv.version, "gate", decision.reason)
    if decision.promote:
        client.set_registered_model_alias(name, CHAMPION, mv.version)
    log.info(
        "%s v%s: %s%s",
        name,
        mv.version,
        "champion — "
        if decision.promote
        else f"champion stays v{champ_version} — "
        if champ_version
        else "no champion — ",
        decision.reason,
    )
    return {
        "model": name,
        "version": int(mv.version),
        "promoted": decision.promote,
        "champion_version": int(mv.version)
        if decision.promote
        else (int(champ_version) if champ_version else None),
        "reason": decision.reason,
    }


def _asdict(obj: Any) -> dict[str, Any]:
    import dataclasses

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    return dict(obj)
