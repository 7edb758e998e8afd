"""The recommender as an MLflow pyfunc (``mlflow models serve`` and the registry).

Kept apart from :mod:`precision_onco.recommend.service` so that loading a
recommender to serve it does not import MLflow.
"""

from __future__ import annotations

import logging
from typing import Any

import mlflow.pyfunc

from precision_onco.recommend.patient import PayloadError
from precision_onco.recommend.service import Recommender

__all__ = ["RecommenderPyfunc"]

log = logging.getLogger("precision_onco.recommend.service")


class RecommenderPyfunc(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
    """MLflow pyfunc: a list of patient payloads in, one answer (dict) per payload out.

    POST ``{"inputs": [payload, ...]}`` to ``/invocations``; a malformed payload
    gets HTTP 400 with the field at fault named.
    """

    def load_context(self, context: Any) -> None:
        import joblib

        self.recommender: Recommender = joblib.load(context.artifacts["recommender"])

    def predict(self, context: Any, model_input: list[dict[str, Any]],
                params: dict[str, Any] | None = None) -> list[dict[str, Any]]:  # fmt: skip
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
                raise MlflowException(f"the recommender failed ({type(exc).__name__}); see the "
                                      "server log", INTERNAL_ERROR) from None  # fmt: skip
        return out
