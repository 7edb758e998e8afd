"""The recommender as an MLflow pyfunc (``mlflow models serve`` and the registry).

Kept apart from :mod:`precision_onco.recommend.service` so that loading a
recommender to serve it does not import MLflow.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import mlflow.pyfunc

from precision_onco.recommend.patient import PayloadError
from precision_onco.recommend.service import Recommender

__all__ = ["RecommenderPyfunc", "log_recommender"]

log = logging.getLogger("precision_onco.recommend.service")  # the recommender's log, as before


class RecommenderPyfunc(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined]
    """MLflow pyfunc: a list of patient payloads in, one answer (dict) per payload out.

    POST ``{"inputs": [payload, ...]}`` to ``/invocations``; a malformed payload
    gets HTTP 400 with the field at fault named.
    """

    def load_context(self, context: Any) -> None:
        import joblib

        self.recommender: Recommender = joblib.load(context.artifacts["recommender"])
        self.recommender.prepare()

    def predict(
        self, context: Any, model_input: list[dict[str, Any]], params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import INTERNAL_ERROR, INVALID_PARAMETER_VALUE

        out = []
        for i, payload in enumerate(model_input):
            try:
                out.append(self.recommender.recommend_payload(payload))
            except PayloadError as exc:
                where = f"inputs[{i}]: " if len(model_input) > 1 else ""
                raise MlflowException(f"{where}{exc}", INVALID_PARAMETER_VALUE) from None
            except Exception as exc:  # not the caller's fault: a server error, logged here
                log.exception("recommender failed on inputs[%d]", i)
                raise MlflowException(
                    f"the recommender failed ({type(exc).__name__}); see the server log",
                    INTERNAL_ERROR,
                ) from None
        return out


def log_recommender(
    recommender: Recommender, cfg: Any, *, root: Path | None = None
) -> dict[str, Any]:
    """Log ``recommender`` as an MLflow pyfunc and register it as ``<prefix>_recommender``.

    A new version is registered only when its fingerprint (component versions,
    catalog, presets, CIViC release, features) differs from the current
    champion's; being built from the endpoint champions, it becomes the champion.
    """
    import tempfile

    import joblib
    import mlflow
    from mlflow.exceptions import MlflowException

    from precision_onco.models.tracking import (
        CHAMPION,
        package_versions,
        registered_name,
        use_experiment,
    )

    name = registered_name(cfg, "recommender")
    client = use_experiment(cfg, root or Path.cwd())
    fp = recommender.fingerprint()
    try:
        cur = client.get_model_version_by_alias(name, CHAMPION)
        if cur.tags.get("fingerprint") == fp:
            log.info("%s v%s is already this recommender (fingerprint %s)", name, cur.version, fp)
            return {
                "model": name,
                "version": int(cur.version),
                "fingerprint": fp,
                "registered": False,
            }
    except MlflowException:
        pass
    versions = package_versions()
    with mlflow.start_run(run_name="recommender") as run, tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tags({"kind": "recommender", "fingerprint": fp, "cohort": cfg.cohort.name})
        mlflow.log_dict(recommender.provenance, "provenance/recommender.json")
        path = Path(tmp) / "recommender.joblib"
        joblib.dump(recommender, path)
        info = mlflow.pyfunc.log_model(
            name="recommender",
            python_model=RecommenderPyfunc(),
            artifacts={"recommender": str(path)},
            pip_requirements=[f"{p}=={v}" for p, v in versions.items() if p != "precision-onco"],
        )
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(
            name,
            description=f"precision_onco recommender of cohort {cfg.cohort.name}: ranked, "
            "explained regimens for one patient payload",
            tags={"cohort": cfg.cohort.name},
        )
    mv = client.create_model_version(
        name, info.model_uri, run_id=run.info.run_id, tags={"cohort": cfg.cohort.name}
    )
    client.set_model_version_tag(name, mv.version, "fingerprint", fp)
    for ep, comp in recommender.provenance.get("components", {}).items():
        client.set_model_version_tag(name, mv.version, f"component.{ep}", str(comp["version"]))
    client.set_registered_model_alias(name, CHAMPION, mv.version)
    log.info(
        "%s v%s registered (%s): built from the endpoint champions", name, mv.version, CHAMPION
    )
    return {
        "model": name,
        "version": int(mv.version),
        "fingerprint": fp,
        "registered": True,
        "run_id": run.info.run_id,
    }
