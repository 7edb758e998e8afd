"""The recommender: champion endpoint models, catalog, utility presets and CIViC in one object.

One :class:`Recommender` answers for one patient at one line (:meth:`Recommender.recommend`):
the CLI calls it in process, and the registered MLflow pyfunc ``recommender``
(:class:`~precision_onco.recommend.pyfunc.RecommenderPyfunc`) calls it for each payload POSTed to
``/invocations`` — so both give the same answer for the same patient.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from precision_onco.catalog.catalog import Catalog
from precision_onco.config.endpoints import EndpointRoles
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
    made JSON-ready), the values boxed in one pass: a few rows are not worth pandas' per-row
    boxing, nor a Series per column."""
    names = [str(c) for c in frame.columns]
    if not names:
        return []
    return [dict(zip(names, row, strict=True)) for row in frame.to_numpy(dtype=object)]


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
    #: ``endpoint_roles`` of the configuration the recommender was built from: the endpoints
    #: explained, the efficacy one (the first regimen is told apart from the second on it)
    #: and the efficacy and any-severe-AE ones its answer's report and FHIR bundle show
    roles: EndpointRoles
    civic: CivicKB | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def explain(self) -> tuple[str, ...]:
        """The endpoints explained (TreeSHAP drivers for every ranked regimen)."""
        return self.roles.explained

    @property
    def separate(self) -> str | None:
        """The endpoint the first regimen is told apart from the second on (efficacy)."""
        return self.roles.efficacy

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickled; one pickled before the recommender kept its ``roles`` gets them from
        what it kept then (:func:`_roles_of_old_state`)."""
        if "roles" not in state:
            state = _roles_of_old_state(state)
        self.__dict__.update(state)

    def fingerprint(self) -> str:
        """Changes when a component changes: endpoint model versions, catalog, presets, CIViC,
        features, endpoint roles (they change the answer: drivers, separation, reports)."""
        parts = {
            "components": self.provenance.get("components", {}),
            "roles": dataclasses.asdict(self.roles),
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
        """LightGBM threads the models predict with (:meth:`EndpointModel.threads`; 0: all
        cores), which TreeSHAP uses too: one patient's few rows are slower on many threads."""
        for m in self.models.values():
            if m.kind == "lightgbm":
                return m.threads()
        return 0

    def preset(self, name: str | None) -> RecommendConfig:
        key = name or self.default_preset
        if key not in self.presets:
            raise PayloadError(
                f"preset: unknown preset {key!r} (available: {', '.join(sorted(self.presets))})"
            )
        return self.presets[key]

    def _result(
        self,
        case: PatientCase,
        rec: RecommendConfig,
        ranked: pd.DataFrame,
        excluded: pd.DataFrame,
    ) -> PatientResult:
        """The answer for ``case`` from its ranked and excluded rows."""

        def answer(status: str, msg: str) -> PatientResult:
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

        if not len(ranked):
            reasons = "; ".join(
                f"{r}: {why}"
                for r, why in zip(excluded["regimen_id"], excluded["reason"], strict=True)
            )
            msg = (
                f"no eligible regimen in the catalog for this patient at line "
                f"{case.line_number} ({reasons})"
            )
            return answer("no_eligible_regimen", msg)
        tied = int((~ranked["distinguishable"].to_numpy(dtype=bool)[1:]).sum())
        msg = (
            f"{len(ranked)} eligible regimen(s); first: {ranked['regimen_id'].iloc[0]} "
            f"(utility {float(ranked['utility'].iloc[0]):.2f})"
            + (f", not distinguishable from {tied} other(s)" if tied else "")
        )
        return answer("ranked", msg)

    def _not_in_catalog(self, case: PatientCase, rec: RecommendConfig) -> PatientResult | None:
        """The answer for a cancer type the catalog does not cover (None: it covers it)."""
        cat = Catalog(self.catalog)
        cancer = str(case.patient.get("cancer_type") or "")
        if cancer in cat.cancer_types:
            return None
        msg = (
            f"no recommendation: cancer type {cancer!r} is not in the therapy catalog "
            f"(catalog {self.catalog.version} covers {', '.join(cat.cancer_types)})"
        )
        empty = pd.DataFrame()
        return PatientResult(
            "cancer_type_not_in_catalog",
            msg,
            case.patient_key,
            case.line_number,
            rec.preset,
            empty,
            empty,
            self.provenance,
        )

    def _ranking(
        self,
        rec: RecommendConfig,
        patients: pd.DataFrame,
        lines: pd.DataFrame,
        variants: pd.DataFrame,
        rows: pd.DataFrame,
    ) -> Any:
        return recommendations(
            rows,
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

    @_serialized
    def recommend(self, case: PatientCase, preset: str | None = None) -> PatientResult:
        """Ranked, explained, evidence-linked regimens for ``case`` at its line."""
        rec = self.preset(preset or case.preset)
        outside = self._not_in_catalog(case, rec)
        if outside is not None:
            return outside
        return self._alone(case, rec, case.tables())

    def _alone(self, case: PatientCase, rec: RecommendConfig, tables: Tables) -> PatientResult:
        patients, lines, variants = tables
        feats = build_features(
            patients, lines, variants, self.features, self.catalog, panel=self.panel
        )
        row = feats[feats["line_number"] == case.line_number]
        result = self._ranking(rec, patients, lines, variants, row)
        ranked = result.ranked.drop(columns=["preset"], errors="ignore")
        return self._result(case, rec, ranked, result.excluded)

    @_serialized
    def recommend_many(self, cases: Sequence[PatientCase]) -> list[PatientResult]:
        """:meth:`recommend` of each case, the cases of one preset whose tables have the same
        columns (names and types) computed together: their tables concatenated, features,
        scores and explanations taken once for all, the rows split back per case. Each answer
        is the one :meth:`recommend` gives for the case alone: each case gets its own key
        for the computation (two cases of one patient key, or of none, stay apart), and
        cases of other columns are not mixed, since a column that one case lacks and
        another has would be read as present but empty for the first."""
        if len(cases) == 1:
            return [self.recommend(cases[0])]
        out: list[PatientResult | None] = [None] * len(cases)
        groups: dict[tuple[object, ...], list[tuple[int, Tables]]] = {}
        for i, case in enumerate(cases):
            rec = self.preset(case.preset)
            outside = self._not_in_catalog(case, rec)
            if outside is not None:
                out[i] = outside
                continue
            tables = case.tables()
            groups.setdefault((rec.preset, *map(_columns, tables)), []).append((i, tables))
        for key, members in groups.items():
            rec = self.presets[str(key[0])]
            batch = [cases[i] for i, _ in members]
            results = self._batch(rec, batch, [t for _, t in members])
            for (i, _), res in zip(members, results, strict=True):
                out[i] = res
        return [r for r in out if r is not None]

    def _batch(
        self, rec: RecommendConfig, cases: Sequence[PatientCase], parts: Sequence[Tables]
    ) -> list[PatientResult]:
        if len(cases) == 1:
            return [self._alone(cases[0], rec, parts[0])]
        keys = [f"{_BATCH_KEY}{i:06d}" for i in range(len(cases))]
        tables = []
        for j in range(3):
            frames = []
            for key, part in zip(keys, parts, strict=True):
                frame = part[j]
                frame["patient_key"] = key
                frames.append(frame)
            tables.append(pd.concat(frames, ignore_index=True))
        patients, lines, variants = tables
        feats = build_features(
            patients, lines, variants, self.features, self.catalog, panel=self.panel
        )
        at = dict(zip(keys, (c.line_number for c in cases), strict=True))
        rows = feats[feats["line_number"].to_numpy() == feats["patient_key"].map(at).to_numpy()]
        result = self._ranking(rec, patients, lines, variants, rows)
        ranked = result.ranked.drop(columns=["preset"], errors="ignore")
        own = [c.patient_key for c in cases]
        by_key = _split(ranked, len(cases), own)
        excluded = _split(result.excluded, len(cases), own)
        return [self._result(case, rec, by_key[i], excluded[i]) for i, case in enumerate(cases)]

    def parse(self, payload: Any) -> tuple[PatientCase, str]:
        """A JSON payload (see :mod:`precision_onco.recommend.patient`) checked: the case and
        the answer's format (``"format"``: ``json`` or ``fhir``, see
        :mod:`precision_onco.recommend.formats`); an unknown preset is refused here too."""
        from precision_onco.recommend.formats import split_format

        payload, fmt = split_format(payload)
        case = parse_payload(
            payload,
            tox_categories=self.catalog.toxicity_categories,
            regimen_ids=[r.id for r in self.catalog.regimens],
            extra_inputs=self.extra_inputs,
        )
        self.preset(case.preset)
        return case, fmt

    @property
    def extra_inputs(self) -> tuple[str, ...]:
        """The cohort's own model inputs (``features.extra``) a payload must send."""
        return tuple(str(c) for c in self.features.extra)

    def minimal_payload(self) -> dict[str, Any]:
        """The smallest payload this recommender takes: a patient of its catalog's first
        cancer type at line 1, its ``features.extra`` inputs unknown (what the server
        scores to warm up when the example payloads are of another catalog)."""
        cancer = sorted({t for r in self.catalog.regimens for t in r.cancer_types})[0]
        patient: dict[str, Any] = {"cancer_type": cancer, **dict.fromkeys(self.extra_inputs)}
        return {"patient": patient, "line_number": 1, "lines": [], "variants": []}

    def answer(self, result: PatientResult, case: PatientCase, fmt: str) -> dict[str, Any]:
        """``result`` as the served answer in ``fmt``."""
        from precision_onco.recommend.formats import format_answer

        return format_answer(result.to_dict(), case, self, fmt)

    def recommend_payload(self, payload: Any) -> dict[str, Any]:
        """:meth:`recommend` for a JSON payload (see :meth:`parse`), answered in its format."""
        case, fmt = self.parse(payload)
        return self.answer(self.recommend(case), case, fmt)

    def recommend_payloads(self, items: Sequence[tuple[PatientCase, str]]) -> list[dict[str, Any]]:
        """:meth:`recommend_payload` of parsed payloads (from :meth:`parse`), computed together
        (:meth:`recommend_many`): the same answers."""
        results = self.recommend_many([case for case, _ in items])
        return [self.answer(r, c, f) for r, (c, f) in zip(results, items, strict=True)]


#: The any-severe-AE endpoint the answers' reports and FHIR bundles assumed before the
#: recommender kept its roles (the report layer's default then): what a recommender pickled
#: by those versions goes on answering with, when it has a model of it.
_OLD_ANY_SEVERE_AE = "ae_grade3"


def _roles_of_old_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """The pickled state of a recommender from before it kept its :class:`EndpointRoles`
    (it kept ``explain`` and ``separate``, from the roles of its configuration), with its
    roles: explained and efficacy from those, any-severe-AE :data:`_OLD_ANY_SEVERE_AE` when it
    has a model of it (the answers it gave then), no ``pgx_dose`` (not used to answer)."""
    out = {k: v for k, v in state.items() if k not in ("explain", "separate")}
    models = state.get("models") or {}
    out["roles"] = EndpointRoles(
        efficacy=state.get("separate"),
        any_severe_ae=_OLD_ANY_SEVERE_AE if _OLD_ANY_SEVERE_AE in models else None,
        explained=tuple(state.get("explain") or ()),
        pgx_dose=(),
    )
    log.warning(
        "recommender pickled without its endpoint roles: taken as %s (rebuild it with the "
        "recommend stage to carry those of its configuration)",
        out["roles"],
    )
    return out


#: Prefix of the keys the cases of a batch get for the computation.
_BATCH_KEY = "batch_"
#: A case's ``patients``, ``lines`` and ``variants`` tables (:meth:`PatientCase.tables`).
Tables = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]


def _columns(frame: pd.DataFrame) -> tuple[tuple[str, str], ...]:
    """A table's columns and their types: cases with the same ones can be computed together."""
    return tuple((str(c), str(t)) for c, t in frame.dtypes.items())


def _split(frame: pd.DataFrame, n: int, own: Sequence[str]) -> list[pd.DataFrame]:
    """The rows of each of the ``n`` cases of a batch (keys :data:`_BATCH_KEY` + number) in
    ``frame``, in their order, index reset, with the case's own ``patient_key`` back (the
    column's type kept)."""
    if "patient_key" not in frame.columns or not len(frame):
        return [frame.iloc[0:0].reset_index(drop=True) for _ in range(n)]
    pk = frame["patient_key"].to_numpy(dtype=object)
    case = np.array([int(str(k)[len(_BATCH_KEY) :]) for k in pk], dtype=np.int64)
    order = np.argsort(case, kind="stable")  # the rows of a case together, in their order
    bounds = np.searchsorted(case[order], np.arange(n + 1))
    keys = np.asarray(own, dtype=object)[case[order]]
    whole = frame.take(order).reset_index(drop=True)
    whole["patient_key"] = pd.array(keys, dtype=frame["patient_key"].dtype)
    return [whole.iloc[bounds[i] : bounds[i + 1]].reset_index(drop=True) for i in range(n)]


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
    return Recommender(
        models=dict(models),
        catalog=cfg.catalog,
        presets=presets,
        default_preset=cfg.recommend.preset,
        features=cfg.features,
        panel=load_panel(cfg.features, root),
        roles=endpoint_roles(cfg.endpoints),
        civic=civic,
        provenance=dict(provenance),
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
