"""Every config group is checked against its schema; errors name the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from precision_onco.config import ConfigError, compose, load_params, validate

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "conf"


def _compose(*overrides: str):
    return compose(list(overrides), conf_dir=CONF)


def test_default_config_composes_and_validates() -> None:
    raw, cfg = _compose()
    assert cfg.cohort.name == "synthetic"
    assert cfg.synth.n_patients == 5000
    assert {"cohort", "catalog", "paths", "synth"} <= set(raw)
    assert len(cfg.catalog.regimens) >= 17


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("+synth.n_patientz=3", "config key 'synth.n_patientz': unknown key"),
        ("+paths.raw=elsewhere", "config key 'paths.raw': unknown key"),
        (
            "+cohort.pseudonymization.key=abc",
            "config key 'cohort.pseudonymization.key': unknown key",
        ),
        ("synth.n_patients=many", "config key 'synth.n_patients': wrong type or value"),
        ("synth.panel_size_mb=big", "config key 'synth.panel_size_mb': wrong type or value"),
        ("cohort.synthetic=perhaps", "config key 'cohort.synthetic': wrong type or value"),
        ("catalog.regimens.0.lines.min=first", "config key 'catalog.regimens[0].lines.min'"),
        ("cohort.name=???", "config key 'cohort.name': a required value is missing"),
        ("catalog.version=???", "config key 'catalog.version': a required value is missing"),
    ],
)
def test_bad_override_names_the_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        _compose(override)
    assert message in str(err.value)


def test_semantic_errors_name_the_regimen() -> None:
    with pytest.raises(
        ConfigError, match=r"regimens\[0\] \(osimertinib\)\.requires.*unknown biomarker"
    ):
        _compose("catalog.regimens.0.requires=[NOT_A_MARKER]")
    with pytest.raises(ConfigError, match="regimen_class.*'cytokine' is not one of"):
        _compose("catalog.regimens.0.regimen_class=cytokine")
    with pytest.raises(ConfigError, match="synth.cancer_mix.*sum to"):
        _compose("synth.cancer_mix.NSCLC=0.9")


def test_experiment_group_overrides_values() -> None:
    _, cfg = _compose("experiment=small")
    assert cfg.synth.n_patients == 400


def test_unknown_group_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot compose"):
        _compose("cohort=does_not_exist")


def test_load_params_validates_and_names_file(tmp_path: Path) -> None:
    raw, _ = _compose()
    from omegaconf import OmegaConf

    data: Any = OmegaConf.to_container(raw, resolve=True)
    data["synth"]["bogus"] = 1
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as err:
        load_params(p)
    assert str(p) in str(err.value) and "synth.bogus" in str(err.value)
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "missing.yaml")


def test_validate_rejects_wrong_nested_type() -> None:
    raw, _ = _compose()
    from omegaconf import OmegaConf

    data: Any = OmegaConf.to_container(raw, resolve=True)
    data["catalog"]["regimens"][0]["evidence"]["orr"] = "high"
    with pytest.raises(ConfigError, match=r"catalog.regimens\[0\].evidence.orr"):
        validate(data)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "split.method=random",
            "config key 'split.method': 'random' is not one of group, temporal, column",
        ),
        (
            "model.kind=xgboost",
            "config key 'model.kind': 'xgboost' is not one of lightgbm, sklearn",
        ),
        (
            "model.calibration=platt",
            "config key 'model.calibration': 'platt' is not one of isotonic, sigmoid, none",
        ),
        ("report.lang=de", "config key 'report.lang': 'de' is not one of en, fr"),
        (
            "report.fhir_validate=some",
            "config key 'report.fhir_validate': 'some' is not one of all, first, none",
        ),
    ],
)
def test_a_choice_is_checked_at_composition_with_the_accepted_values(
    override: str, message: str
) -> None:
    """Choices fail when the config is composed, not when training starts."""
    with pytest.raises(ConfigError) as err:
        _compose(override)
    assert str(err.value) == message


def test_every_accepted_choice_composes() -> None:
    from precision_onco.config.schema import Calibration, SplitMethod, choices_of

    for method in choices_of(SplitMethod):
        extra = ["split.column=cancer_type"] if method == "column" else []
        assert _compose(f"split.method={method}", *extra)[1].split.method == method
    for cal in choices_of(Calibration):
        assert _compose(f"model.calibration={cal}")[1].model.calibration == cal


def test_shared_values_are_interpolated_not_copied() -> None:
    """The synthetic cohort's data cutoff and the TMB panel size follow the simulator's."""
    _, cfg = _compose("synth.panel_size_mb=2.5", "synth.data_cutoff=2024-01-01")
    assert cfg.features.panel_size_mb == 2.5
    assert cfg.cohort.data_cutoff == "2024-01-01"
    raw = yaml.safe_load((CONF / "features" / "default.yaml").read_text(encoding="utf-8"))
    assert raw["panel_size_mb"] == "${synth.panel_size_mb}"


# ------------------------------------------------------------ one default per value
#: Groups whose schema keeps its defaults although conf/ repeats them, and why. Anything
#: else conf/ sets is ``???`` in the schema (one default, in conf/).
KEPT_SCHEMA_DEFAULTS = {
    # conf/model/logistic.yaml sets only the keys of a scikit-learn model: the LightGBM
    # keys (early_stopping_rounds, max_rounds, ...) come from the schema there
    "model": "conf/model/logistic.yaml relies on them",
    # built in code without conf: SplitConfig(method=...) (tests/models), ComputeConfig()
    # (tests/compute, the CLI's local default), ServeConfig() (the CLI without params.yaml),
    # RecommendConfig(weights=...) (tests/recommend, tests/report)
    "split": "SplitConfig built in code",
    "compute": "ComputeConfig built in code",
    "serve": "ServeConfig built in code (cli serve without a config)",
    "recommend": "RecommendConfig built in code",
}


def _schema_defaults_repeated_in_conf() -> list[str]:
    """``group.key`` of every schema field with a default (not ``???``) that the group's
    default conf file sets to the same value."""
    import dataclasses
    import typing

    from omegaconf import MISSING

    from precision_onco.config.schema import Config

    chosen = {}
    for line in yaml.safe_load((CONF / "config.yaml").read_text())["defaults"]:
        if isinstance(line, dict):
            ((group, name),) = line.items()
            if not group.startswith("optional") and name is not None:
                chosen[group] = name
    hints = typing.get_type_hints(Config)
    found: list[str] = []

    def walk(cls: Any, data: dict, prefix: str) -> None:
        types = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.name not in data:
                continue
            if dataclasses.is_dataclass(types[f.name]) and isinstance(data[f.name], dict):
                walk(types[f.name], data[f.name], f"{prefix}{f.name}.")
                continue
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            else:
                continue
            if default != MISSING and default == data[f.name]:
                found.append(f"{prefix}{f.name}")

    for group, name in chosen.items():
        if dataclasses.is_dataclass(hints[group]):
            data = yaml.safe_load((CONF / group / f"{name}.yaml").read_text()) or {}
            walk(hints[group], data, f"{group}.")
    return found


def test_a_value_conf_sets_has_no_second_default_in_the_schema() -> None:
    repeated = [
        k
        for k in _schema_defaults_repeated_in_conf()
        if k.split(".")[0] not in KEPT_SCHEMA_DEFAULTS
    ]
    assert not repeated, (
        f"schema defaults repeated in conf/ (make them MISSING in config/schema.py): {repeated}"
    )
    # the walk sees the kept groups' repetitions (it would see new ones too)
    assert {k.split(".")[0] for k in _schema_defaults_repeated_in_conf()} == set(
        KEPT_SCHEMA_DEFAULTS
    )


def test_a_group_that_drops_a_key_conf_owns_fails_at_composition(tmp_path: Path) -> None:
    import shutil

    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    text = (conf / "evaluation" / "default.yaml").read_text()
    (conf / "evaluation" / "default.yaml").write_text(
        "\n".join(ln for ln in text.splitlines() if not ln.startswith("min_events:"))
    )
    with pytest.raises(ConfigError, match=r"evaluation\.min_events.*\?\?\?"):
        compose(conf_dir=conf)


def test_committed_params_yaml_is_what_compose_writes() -> None:
    """params.yaml is composed from conf/ and committed (DVC tracks stage parameters in it):
    a conf/ or schema change committed without re-composing would leave `dvc status`
    reporting changed stages on a fresh clone and the stages reading stale values."""
    from precision_onco.cli import _PARAMS_HEADER
    from precision_onco.config import to_yaml

    cfg, _ = compose(conf_dir=ROOT / "conf")
    committed = (ROOT / "params.yaml").read_text(encoding="utf-8")
    assert committed == _PARAMS_HEADER + to_yaml(cfg), (
        "params.yaml is out of date with conf/: run `precision-onco config compose` "
        "(or `dvc repro compose`) and commit it"
    )


def test_compose_writes_the_catalog_section_the_stages_depend_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`config compose` writes params.yaml's catalog to paths.outputs.catalog_params (the
    stages' DVC dependency in its place); inside `dvc exp run` it writes it from the
    params.yaml DVC composed, so that an override of the catalog reaches the file."""
    from omegaconf import OmegaConf

    from precision_onco.cli import main

    (tmp_path / "conf").symlink_to(CONF, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    assert main(["config", "compose"]) == 0
    written = tmp_path / "data" / "interim" / "catalog_params.yaml"
    params = OmegaConf.load(tmp_path / "params.yaml")
    assert OmegaConf.load(written) == params.catalog
    before = written.stat().st_mtime_ns
    assert main(["config", "compose"]) == 0
    assert written.stat().st_mtime_ns == before  # unchanged: not rewritten

    params.catalog.regimens[0].name = "Renamed by an experiment"
    OmegaConf.save(params, tmp_path / "params.yaml")
    monkeypatch.setenv("DVC_EXP_NAME", "exp-test")
    assert main(["config", "compose"]) == 0
    assert OmegaConf.load(written).regimens[0].name == "Renamed by an experiment"
