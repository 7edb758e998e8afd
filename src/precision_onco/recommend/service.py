"""The recommender: champion endpoint models, catalog, utility presets and CIViC in one object.

One :class:`Recommender` answers for one patient at one line (:meth:`Recommender.recommend`):
the CLI calls it in process, and the registered MLflow pyfunc ``recommender``
(:class:`~precision_onco.recommend.pyfunc.RecommenderPyfunc`) calls it for each payload POSTed to
``/invocations`` — so both give the same answer for the same patient.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pandas as pd
from omegaconf import OmegaConf

from precision_onco.catalog.catalog import Catalog
from precision_onco.config.schema import CatalogConfig, FeaturesConfig, RecommendConfig
from precision_onco.features import build_features
from precision_onco.jsonable import json_value
from precision_onco.kb.civic import CivicKB
from precision_onco.models.fit import EndpointModel
from precision_onco.recommend.patient import PatientCase, PayloadError, parse_payload
from precision_onco.recommend.table import recommendations

__all__ = ["PatientResult", "Recommender", "load_presets"]

log = logging.getLogger(__name__)

#: One scoring at a time per process: LightGBM's native predictions (and TreeSHAP) crash
#: when several threads call them at once (a lock around the explanation alone was not
#: enough), so :meth:`Recommender.recommend` holds this lock for the whole call. Concurrency
#: comes from processes (the server's workers), not threads.
_SCORING_LOCK = threading.RLock()


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _serialized(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """``method`` under :data:`_SCORING_LOCK` (thread safe, one call at a time)."""

    @functools.wraps(method)
    def locked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with _SCORING_LOCK:
            return method(*args, **kwargs)

    return locked


#: Columns of a ranked row in a patient's answer (JSON columns decoded).
ANSWER_COLUMNS = ("rank", "regimen_id", "utility", "utility_low", "utility_high", "distinguishable")


def load_presets(
    presets_dir: Path, current: RecommendConfig | None = None
) -> dict[str, RecommendConfig]:
    """Every utility preset of ``presets_dir/*.yaml`` (the ``recommend`` group of ``conf/``,
    e.g. ``conf/recommend``); ``current`` (the composed ``recommend`` group, possibly
    overridden) replaces the preset of its name."""
    out: dict[str, RecommendConfig] = {}
    schema = OmegaConf.structured(RecommendConfig)
    for p in sorted(presets_dir.glob("*.yaml")):
        merged = OmegaConf.merge(schema, OmegaConf.load(p))
        cfg: RecommendConfig = OmegaConf.to_object(merged)  # type: ignore[assignment]
        out[cfg.preset] = cfg
    if current is not None:
        out[current.preset] = current
    return out


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame.to_dict(orient="records")`` up to :func:`json_value` (the same values once
    made JSON-ready), taken column by column: a few rows are not worth pandas' per-row
    boxing."""
    names = [str(c) for c in frame.columns]
    columns = [frame[c].to_numpy(dtype=object) for c in frame.columns]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


@dataclass
class PatientResult:
    """The answer for one patient at one line."""

    status: str  # ranked | no_eligible_regimen | cancer_type_not_in_catalog
    message: str
    patient_key: str
    line_number: int
    preset: str
    ranked: pd.DataFrame
    excluded: pd.DataFrame
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ranked regimens (drivers and evidence decoded), excluded, provenance."""
        ranked = []
        for rec in _records(self.ranked):
            row = {k: json_value(v) for k, v in rec.items() if k not in ("drivers", "evidence")}
            row["drivers"] = json.loads(rec["drivers"]) if rec.get("drivers") else {}
            row["evidence"] = json.loads(rec["evidence"]) if rec.get("evidence") else {}
            ranked.append(row)
        excluded = [{k: json_value(v) for k, v in r.items()} for r in _records(self.excluded)]
        return {
            "patient_key": self.patient_key,
            "line_number": self.line_number,
            "status": self.status,
            "message": self.message,
            "preset": self.preset,
            "ranked": ranked,
            "excluded": excluded,
            "provenance": self.provenance,
        }


@dataclass
class Recommender:
    """Everything needed to rank regimens for a new patient, picklable as one artifact."""

    models: dict[str, EndpointModel]
    catalog: CatalogConfig
    presets: dict[str, RecommendConfig]
    default_preset: str
    features: FeaturesConfig
    panel: pd.DataFrame
    # the endpoints explained, and the one the first regimen is told apart from the second on
    # (endpoint_roles of the configuration the recommender was built from)
    explain: tuple[str, ...]
    separate: str | None
    civic: CivicKB | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """Changes when a component changes: endpoint model versions, catalog, presets, CIViC."""
        parts = {
            "components": self.provenance.get("components", {}),
            "catalog": OmegaConf.to_yaml(OmegaConf.structured(self.catalog)),
            "presets": {k: dict(v.weights) for k, v in sorted(self.presets.items())},
            "default": self.default_preset,
            "civic": self.civic.version if self.civic else None,
            "features": OmegaConf.to_yaml(OmegaConf.structured(self.features)),
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[
            :16
        ]

    def prepare(self) -> None:
        """Compile each LightGBM model's boosters (:mod:`precision_onco.models.forest`) and
        the TreeSHAP tables of the explained endpoints: what the first request would pay
        otherwise (about a second for the default models). Loading does it once."""
        from precision_onco.models.explain import compiled_forest

        for ep, model in self.models.items():
            if model.kind == "lightgbm":
                forest = compiled_forest(model)
                if ep in self.explain:
                    forest.shap_part()

    def set_threads(self, n: int) -> None:
        for m in self.models.values():
            m.set_threads(n)

    def scoring_threads(self) -> int:
        """LightGBM threads the models predict with (their ``n_jobs``; 0: all cores), which
        TreeSHAP uses too: one patient's few rows are slower on many threads."""
        for m in self.models.values():
            members = getattr(m.estimator, "calibrated_classifiers_", None) or []
            for est in [c.estimator for c in members] or [m.estimator]:
                n = getattr(est, "n_jobs", None)
                if m.kind == "lightgbm" and isinstance(n, int):
                    return max(n, 0)
        return 0

    def preset(self, name: str | None) -> RecommendConfig:
        key = name or self.default_preset
        if key not in self.presets:
            raise PayloadError(
                f"preset: unknown preset {key!r} (available: {', '.join(sorted(self.presets))})"
            )
        return self.presets[key]

    @_serialized
    def recommend(self, case: PatientCase, preset: str | None = None) -> PatientResult:
        """Ranked, explained, evidence-linked regimens for ``case`` at its line."""
        rec = self.preset(preset or case.preset)
        cat = Catalog(self.catalog)
        empty = pd.DataFrame()
        cancer = str(case.patient.get("cancer_type") or "")

        def answer(
            status: str, msg: str, ranked: pd.DataFrame, excluded: pd.DataFrame
        ) -> PatientResult:
            return PatientResult(
                status,
                msg,
                case.patient_key,
                case.line_number,
                rec.preset,
                ranked,
                excluded,
                self.provenance,
            )

        if cancer not in cat.cancer_types:
            msg = (
                f"no recommendation: cancer type {cancer!r} is not in the therapy catalog "
                f"(catalog {self.catalog.version} covers {', '.join(cat.cancer_types)})"
            )
            return answer("cancer_type_not_in_catalog", msg, empty, empty)
        patients, lines, variants = case.tables()
        feats = build_features(
            patients, lines, variants, self.features, self.catalog, panel=self.panel
        )
        row = feats[feats["line_number"] == case.line_number]
        result = recommendations(
            row,
            patients,
            lines,
            self.models,
            self.catalog,
            rec,
            explain=self.explain,
            separate=self.separate,
            civic=self.civic,
            variants=variants,
            threads=self.scoring_threads(),
        )
        ranked = result.ranked.drop(columns=["preset"], errors="ignore")
        if not len(ranked):
            reasons = "; ".join(
                f"{r}: {why}"
                for r, why in zip(
                    result.excluded["regimen_id"], result.excluded["reason"], strict=True
                )
            )
            msg = (
                f"no eligible regimen in the catalog for this patient at line "
                f"{case.line_number} ({reasons})"
            )
            return answer("no_eligible_regimen", msg, ranked, result.excluded)
        tied = int((~ranked["distinguishable"].to_numpy(dtype=bool)[1:]).sum())
        msg = (
            f"{len(ranked)} eligible regimen(s); first: {ranked['regimen_id'].iloc[0]} "
            f"(utility {float(ranked['utility'].iloc[0]):.2f})"
            + (f", not distinguishable from {tied} other(s)" if tied else "")
        )
        return answer("ranked", msg, ranked, result.excluded)

    def recommend_payload(self, payload: Any) -> dict[str, Any]:
        """:meth:`recommend` for a JSON payload (see :mod:`precision_onco.recommend.patient`);
        ``"format": "fhir"`` answers with the FHIR bundle (see
        :mod:`precision_onco.recommend.formats`)."""
        from precision_onco.recommend.formats import format_answer, split_format

        payload, fmt = split_format(payload)
        case = parse_payload(
            payload,
            tox_categories=self.catalog.toxicity_categories,
            regimen_ids=[r.id for r in self.catalog.regimens],
        )
        return format_answer(self.recommend(case).to_dict(), case, self, fmt)


def recommender_from(
    models: Mapping[str, EndpointModel], cfg: Any, *, root: Path, provenance: Mapping[str, Any]
) -> Recommender:
    """Bundle ``models`` with the configuration ``cfg`` (a validated :class:`Config`)."""
    from precision_onco.config import ConfigError, endpoint_roles, find_conf_dir
    from precision_onco.features.build import load_panel

    try:
        presets = load_presets(find_conf_dir(root) / "recommend", cfg.recommend)
    except (ConfigError, OSError, ValueError):
        presets = {cfg.recommend.preset: cfg.recommend}
    civic = CivicKB.load(cfg.kb.civic, catalog=cfg.catalog, base_dir=root)
    roles = endpoint_roles(cfg.endpoints)
    return Recommender(
        dict(models),
        cfg.catalog,
        presets,
        cfg.recommend.preset,
        cfg.features,
        load_panel(cfg.features, root),
        roles.explained,
        roles.efficacy,
        civic,
        dict(provenance),
    )


def champion_models(cfg: Any) -> tuple[dict[str, EndpointModel], dict[str, Any]]:
    """The ``champion`` version of each endpoint model in the registry, and where each came
    from (model name, version, run id) for provenance."""
    import mlflow
    import mlflow.pyfunc
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from precision_onco.models.tracking import CHAMPION, open_store, registered_name

    mlflow.set_tracking_uri(cfg.tracking.uri)
    client = MlflowClient()
    models: dict[str, EndpointModel] = {}
    components: dict[str, Any] = {}
    for ep in cfg.endpoints:
        name = registered_name(cfg, ep)
        try:
            mv = open_store(
                functools.partial(client.get_model_version_by_alias, name, CHAMPION),
                uri=cfg.tracking.uri,
                what=f"reading {name}@{CHAMPION}",
            )
        except MlflowException:
            log.info("%s: no %s in the registry (endpoint skipped)", name, CHAMPION)
            continue
        py = mlflow.pyfunc.load_model(f"models:/{name}/{mv.version}")
        models[ep] = py.unwrap_python_model().model
        components[ep] = {
            "model": name,
            "version": int(mv.version),
            "alias": CHAMPION,
            "run_id": mv.run_id,
            "cohort": cfg.cohort.name,
        }
    return models, components
