"""Configuration: Hydra composition of ``conf/`` and validation against the schemas.

Two ways in, one validation:

* :func:`compose` composes ``conf/config.yaml`` with Hydra overrides
  (``synth.n_patients=500``, ``experiment=small``).
* :func:`load_params` reads the composed ``params.yaml`` that the DVC stages
  consume (written by ``precision-onco config compose`` or by
  ``dvc exp run -S ...`` through DVC's Hydra integration).

Both return a typed :class:`~precision_onco.config.schema.Config` after
:func:`validate`, which raises :class:`ConfigError` naming the offending key.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import (
    ConfigKeyError,
    MissingMandatoryValue,
    OmegaConfBaseException,
    ValidationError,
)

from precision_onco.config.endpoints import (
    EndpointRoles,
    endpoint_roles,
)
from precision_onco.config.outputs import Outputs, outputs
from precision_onco.config.schema import Config
from precision_onco.errors import ConfigError

__all__ = [
    "Config",
    "ConfigError",
    "EndpointRoles",
    "Outputs",
    "compose",
    "endpoint_roles",
    "find_conf_dir",
    "load_group",
    "load_params",
    "outputs",
    "to_yaml",
    "validate",
]

log = logging.getLogger(__name__)

#: libyaml's safe loader when PyYAML was built with it (six times faster on params.yaml)
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _describe(exc: OmegaConfBaseException) -> str:
    key = getattr(exc, "full_key", None) or "<root>"
    msg = getattr(exc, "msg", None) or str(exc).splitlines()[0]
    if isinstance(exc, MissingMandatoryValue):
        return f"config key '{key}': a required value is missing (still '???')"
    if isinstance(exc, ConfigKeyError):
        return f"config key '{key}': unknown key ({msg.splitlines()[0]})"
    if isinstance(exc, ValidationError):
        return f"config key '{key}': wrong type or value ({msg.splitlines()[0]})"
    return f"config key '{key}': {msg.splitlines()[0]}"


def validate(cfg: Mapping[str, Any] | DictConfig) -> Config:
    """Check a composed configuration against the schemas and return it typed.

    Parameters
    ----------
    cfg : mapping or DictConfig
        The composed configuration (all groups).

    Returns
    -------
    Config
        The same values as typed dataclasses.

    Raises
    ------
    ConfigError
        Naming the first unknown key, wrongly typed value or missing required value.
    """
    schema = OmegaConf.structured(Config)
    data = OmegaConf.to_container(cfg, resolve=False) if isinstance(cfg, DictConfig) else cfg
    _check_list_items(Config, data, "")
    try:
        merged = OmegaConf.merge(schema, cfg)
        typed = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        raise ConfigError(_describe(exc)) from None
    assert isinstance(typed, Config)
    _check_semantics(typed)
    return typed


def _check_list_items(cls: Any, data: Any, prefix: str) -> None:
    """Validate items of list-of-dataclass fields one by one, so errors carry their index.

    OmegaConf reports errors inside list items relative to the item; this
    walk adds the full path (``catalog.regimens[3].evidence.orr``).
    """
    if not (dataclasses.is_dataclass(cls) and isinstance(data, Mapping)):
        return
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        hint = hints[f.name]
        args = typing.get_args(hint)
        key = f"{prefix}{f.name}"
        value = data[f.name]
        if typing.get_origin(hint) in (list, list) and args and dataclasses.is_dataclass(args[0]):  # noqa: UP006
            if not isinstance(value, Sequence) or isinstance(value, str):
                continue
            for i, item in enumerate(value):
                label = f"{key}[{i}]"
                try:
                    OmegaConf.merge(OmegaConf.structured(args[0]), item)
                except OmegaConfBaseException as exc:
                    inner = getattr(exc, "full_key", "") or ""
                    exc.full_key = f"{label}.{inner}" if inner else label
                    raise ConfigError(_describe(exc)) from None
                _check_list_items(args[0], item, f"{label}.")
        elif dataclasses.is_dataclass(hint):
            _check_list_items(hint, value, f"{key}.")


def _check_semantics(cfg: Config) -> None:
    """Cross-field rules a type system cannot express."""
    known_classes = set(cfg.catalog.regimen_classes)
    biomarkers = set(cfg.catalog.biomarkers)
    seen: set[str] = set()
    ops = {"<", "<=", ">", ">=", "==", "!="}
    for i, reg in enumerate(cfg.catalog.regimens):
        where = f"catalog.regimens[{i}] ({reg.id})"
        if reg.id in seen:
            raise ConfigError(f"config key '{where}.id': duplicate regimen id '{reg.id}'")
        seen.add(reg.id)
        if reg.regimen_class not in known_classes:
            raise ConfigError(
                f"config key '{where}.regimen_class': '{reg.regimen_class}' is not one of "
                f"{sorted(known_classes)}"
            )
        for key in ("requires", "excludes"):
            for b in getattr(reg, key):
                if b not in biomarkers:
                    raise ConfigError(
                        f"config key '{where}.{key}': unknown biomarker '{b}' "
                        f"(defined: {sorted(biomarkers)})"
                    )
        for c in reg.contraindications:
            ckey = f"{where}.contraindications.{c.id}"
            if c.biomarkers:
                for b in c.biomarkers:
                    if b not in biomarkers:
                        raise ConfigError(
                            f"config key '{ckey}.biomarkers': unknown biomarker '{b}'"
                        )
            elif c.variable is None or c.op is None or c.value is None:
                raise ConfigError(
                    f"config key '{ckey}': give either biomarkers or all of variable, op and value"
                )
            elif c.op not in ops:
                raise ConfigError(f"config key '{ckey}.op': '{c.op}' is not one of {sorted(ops)}")
        if reg.lines.min > reg.lines.max:
            raise ConfigError(
                f"config key '{where}.lines': min {reg.lines.min} > max {reg.lines.max}"
            )
        for cat in reg.evidence.grade3_by_category:
            if cat not in cfg.catalog.toxicity_categories:
                raise ConfigError(
                    f"config key '{where}.evidence.grade3_by_category.{cat}': unknown toxicity "
                    f"category (defined: {cfg.catalog.toxicity_categories})"
                )
    mix = cfg.synth.cancer_mix
    if mix and abs(sum(mix.values()) - 1.0) > 1e-6:
        raise ConfigError(
            f"config key 'synth.cancer_mix': shares sum to {sum(mix.values())}, not 1"
        )
    if cfg.synth.n_patients < 1:
        raise ConfigError("config key 'synth.n_patients': must be at least 1")
    comp = cfg.compute
    if comp.backend not in ("local", "dask"):
        raise ConfigError(f"config key 'compute.backend': '{comp.backend}' is not local or dask")
    if comp.address is not None and not re.match(
        r"^(tcp|tls|inproc|ucx|ws|wss)://\S+$", comp.address
    ):
        raise ConfigError(
            f"config key 'compute.address': '{comp.address}' is not a scheduler "
            "address such as tcp://host:8786 (or null for a LocalCluster)"
        )
    for name in ("n_workers", "threads_per_worker", "partitions_per_worker"):
        if getattr(comp, name) < 1:
            raise ConfigError(
                f"config key 'compute.{name}': must be at least 1, got {getattr(comp, name)}"
            )
    germ = cfg.cohort.inputs.germline
    if germ.source not in ("none", "normal_column", "files"):
        raise ConfigError(
            f"config key 'cohort.inputs.germline.source': '{germ.source}' is not "
            "one of none, normal_column, files"
        )
    if germ.source == "files" and not germ.paths:
        raise ConfigError(
            "config key 'cohort.inputs.germline.paths': source 'files' needs the "
            "per-patient germline VCFs (files or glob patterns)"
        )
    _check_synth_pgx(cfg)
    _check_choices(cfg, "")
    endpoint_roles(cfg.endpoints)  # one endpoint per role


def _check_choices(obj: Any, prefix: str) -> None:
    """Every :func:`~precision_onco.config.schema.choice` field holds an accepted value."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        return
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = f"{prefix}{f.name}"
        accepted = f.metadata.get("choices")
        if accepted is not None and value not in typing.get_args(accepted):
            raise ConfigError(
                f"config key '{key}': {value!r} is not one of "
                f"{', '.join(typing.get_args(accepted))}"
            )
        if isinstance(value, Mapping):
            for k, v in value.items():
                _check_choices(v, f"{key}.{k}.")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                _check_choices(v, f"{key}[{i}].")
        else:
            _check_choices(value, f"{key}.")


def _check_synth_pgx(cfg: Config) -> None:
    pg = cfg.synth.pgx
    for key in ("dpyd_carrier_frequency", "ugt1a1_allele_frequency"):
        values = getattr(pg, key)
        for name, f in values.items():
            if not 0 <= f < 1:
                raise ConfigError(
                    f"config key 'synth.pgx.{key}.{name}': {f} is not a frequency in [0, 1)"
                )
        if sum(values.values()) >= 1:
            raise ConfigError(
                f"config key 'synth.pgx.{key}': frequencies sum to "
                f"{sum(values.values()):g}, not below 1"
            )
    for key in (
        "uracil_measured",
        "genotype_reported",
        "practice_avoid_known_deficient",
        "practice_reduce_known_partial",
        "practice_reduce_ugt1a1_poor",
        "practice_reduce_frail",
    ):
        v = getattr(pg, key)
        if not 0 <= v <= 1:
            raise ConfigError(f"config key 'synth.pgx.{key}': {v} is not a probability in [0, 1]")


def find_conf_dir(start: Path | None = None) -> Path:
    """Return the ``conf/`` directory of the project containing ``start`` (default: cwd)."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "conf" / "config.yaml").is_file():
            return d / "conf"
    raise ConfigError(f"no conf/config.yaml found in {here} or its parents")


def compose(
    overrides: Sequence[str] = (), *, conf_dir: Path | None = None
) -> tuple[DictConfig, Config]:
    """Compose ``conf/config.yaml`` with Hydra ``overrides`` and validate it.

    Returns the composed :class:`DictConfig` (for writing ``params.yaml``)
    and its typed form.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException

    conf = (conf_dir or find_conf_dir()).resolve()
    try:
        with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
            cfg = hydra_compose(config_name="config", overrides=list(overrides))
    except HydraException as exc:
        cause = (
            f" ({_describe(exc.__cause__)})"
            if isinstance(exc.__cause__, OmegaConfBaseException)
            else ""
        )
        raise ConfigError(f"cannot compose {conf}/config.yaml: {exc}{cause}") from None
    except OmegaConfBaseException as exc:
        raise ConfigError(_describe(exc)) from None
    return cfg, validate(cfg)


def _read_params(p: Path) -> dict[str, Any]:
    if not p.is_file():
        raise ConfigError(
            f"{p}: not found; compose it with `precision-onco config compose` (or `dvc repro`)"
        )
    try:
        raw = yaml.load(p.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: expected a mapping of config groups, got {type(raw).__name__}")
    return raw


def load_params(path: Path | str = "params.yaml") -> Config:
    """Read and validate the composed configuration a DVC stage consumes."""
    p = Path(path)
    raw = _read_params(p)
    try:
        return validate(raw)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None


def load_group(path: Path | str, name: str) -> Any:
    """The group ``name`` of ``params.yaml`` (e.g. ``serve``), validated against its schema
    alone (its default when the file has no such group).

    For a command that reads one group: validating every group (the catalog above all)
    takes seconds, which ``precision-onco serve`` would add to its start.
    """
    p = Path(path)
    hints = typing.get_type_hints(Config)
    if name not in hints or not dataclasses.is_dataclass(hints[name]):
        raise ConfigError(f"{name}: not a config group")
    data = _read_params(p).get(name) or {}
    try:
        _check_list_items(hints[name], data, f"{name}.")
        merged = OmegaConf.merge(
            OmegaConf.create({name: OmegaConf.structured(hints[name])}), {name: data}
        )
        typed = OmegaConf.to_object(merged)
        assert isinstance(typed, dict)
        return typed[name]
    except OmegaConfBaseException as exc:
        raise ConfigError(f"{p}: {_describe(exc)}") from None
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None


def to_yaml(cfg: DictConfig | Config) -> str:
    """Render a configuration as YAML (resolved, keys in schema order)."""
    node = cfg if isinstance(cfg, DictConfig) else OmegaConf.structured(cfg)
    return OmegaConf.to_yaml(node, resolve=True)
