"""dvc.yaml's code dependencies match the code each stage runs.

For every stage, the modules its script imports (transitively, lazy imports included; see
``tests/codegraph.py``), the package data they read and the configuration files the
script reads directly must each be covered by one of the stage's ``deps`` (the file or a
directory above it). Otherwise editing that module leaves ``dvc repro`` "up to date" with
stale outputs. Conversely a code dependency the stage never runs is reported, and no stage
may depend on the whole ``src/`` (every edit would re-run everything).

The stage's ``params`` must likewise cover the parts of the composed configuration its
code reads (followed from the script's ``main(cfg: Config)`` into the functions the Config
is passed to), so that changing one re-runs it.

The rules are explained in docs/architecture.md ("DVC dependencies").
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.codegraph import ROOT, SRC, closure, config_reads, file_facts, module_path

#: The CLI's parser: ``_parser`` and the builder of every subcommand it calls.
PARSER = (
    "_parser",
    "_add_config",
    "_add_synthesize",
    "_add_variants",
    "_add_recommend",
    "_add_pgx",
    "_add_serve",
    "_add_predict",
)
#: Stages whose command is the console script: the CLI module and the functions it runs.
CLI_COMMANDS: dict[str, tuple[str, ...]] = {
    "precision-onco config compose": ("main", *PARSER, "_cmd_config_compose"),
}


def _stages() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))
    return doc["stages"]


def entry_point(cmd: str) -> tuple[Path, tuple[str, ...] | None]:
    """The file a stage's command runs and, for the CLI, the functions of that command."""
    words = cmd.split()
    if words[0] == "python" and words[1].endswith(".py"):
        return ROOT / words[1], None
    for prefix, functions in CLI_COMMANDS.items():
        if cmd.startswith(prefix):
            path = module_path("precision_onco.cli")
            assert path is not None
            return path, functions
    raise AssertionError(
        f"dvc.yaml: cannot tell which code the command {cmd!r} runs; use `python "
        "pipelines/<stage>.py` or add the command to CLI_COMMANDS in tests/test_dvc_deps.py"
    )


def needed(stage: str, spec: Mapping[str, Any]) -> set[Path]:
    """Every file the stage's command runs or reads (besides data and params.yaml)."""
    entry, functions = entry_point(spec["cmd"])
    modules, data = closure(entry, functions)
    files = {p for m in modules if (p := module_path(m)) is not None}
    return files | data | {entry.resolve()}


def code_deps(spec: Mapping[str, Any]) -> list[str]:
    """The stage's deps that are code or config (data deps are ``${paths...}``)."""
    return [d for d in spec.get("deps", []) if not str(d).startswith("${")]


def _covers(dep: str, path: Path) -> bool:
    d = (ROOT / dep).resolve()
    return path.resolve() == d or d in path.resolve().parents


def _rel(p: Path) -> str:
    return str(p.resolve().relative_to(ROOT))


def suggested_deps(files: set[Path]) -> list[str]:
    """The fewest deps covering exactly ``files``: a directory when all its files are
    needed (Python modules and package data), else the files one by one."""
    wanted = {p.resolve() for p in files}

    def contents(d: Path) -> set[Path]:
        return {
            p.resolve()
            for p in d.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        }

    out: list[str] = []
    for p in sorted(wanted):
        if any(_covers(o, p) for o in out):
            continue
        best = p
        for parent in p.parents:
            if parent in (ROOT, SRC, SRC / "precision_onco") or ROOT not in parent.parents:
                break
            if contents(parent) <= wanted:
                best = parent
        out.append(_rel(best))
    return sorted(out)


STAGES = _stages()


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_deps_cover_the_code_a_stage_runs(stage: str) -> None:
    spec = STAGES[stage]
    deps = code_deps(spec)
    files = needed(stage, spec)
    missing = sorted(_rel(f) for f in files if not any(_covers(d, f) for d in deps))
    assert not missing, (
        f"dvc.yaml stage '{stage}': deps do not cover {len(missing)} file(s) the stage runs "
        f"or reads: {', '.join(missing)}. Precise deps for it: {suggested_deps(files)}"
    )


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_deps_name_only_code_the_stage_runs(stage: str) -> None:
    spec = STAGES[stage]
    files = needed(stage, spec)
    unused = [d for d in code_deps(spec) if not any(_covers(d, f) for f in files)]
    assert not unused, (
        f"dvc.yaml stage '{stage}': deps {unused} hold no code or config the stage runs or "
        f"reads (an edit there would re-run it for nothing). Precise deps for it: "
        f"{suggested_deps(files)}"
    )
    broad = [d for d in code_deps(spec) if (ROOT / d).resolve() in (SRC, SRC / "precision_onco")]
    assert not broad, f"dvc.yaml stage '{stage}': {broad} would re-run it on every edit"


def test_parser_lists_every_subcommand_builder() -> None:
    """PARSER names every function that builds the CLI's arguments (the compose stage runs
    them all), so a lazy import added to one is seen."""
    path = module_path("precision_onco.cli")
    assert path is not None
    tree = ast.parse(path.read_text(encoding="utf-8"))
    builders = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    builders = {n for n in builders if n == "_parser" or n.startswith("_add_")}
    assert builders == set(PARSER)


def test_the_walk_sees_lazy_imports_and_package_data() -> None:
    """The walk on known facts: training reaches the propensity model (imported inside
    ``propensity_weights``) and featurizing reads the synthetic gene table."""
    train = needed("train", STAGES["train"])
    assert SRC / "precision_onco/models/propensity.py" in train
    assert SRC / "precision_onco/stage.py" in train
    assert SRC / "precision_onco/errors.py" in train
    featurize = needed("featurize", STAGES["featurize"])
    assert SRC / "precision_onco/synth/data/genes.tsv" in featurize
    assert SRC / "precision_onco/synth/data/hotspots.tsv" not in featurize
    policy = needed("policy", STAGES["policy"])
    assert ROOT / "conf/recommend" in policy and ROOT / "conf" not in policy
    assert ROOT / "conf" in needed("compose", STAGES["compose"])  # Hydra composes all of conf/


def test_type_checking_imports_are_not_a_stage_dependency(tmp_path: Path) -> None:
    """An import under ``if TYPE_CHECKING:`` never runs, so it is no stage's code; its
    ``else`` branch and a lazy import in a function do run. The package layering
    (``tests/test_layers.py``) still sees the type-only import."""
    entry = tmp_path / "stage.py"
    entry.write_text(
        "from typing import TYPE_CHECKING\n"
        "import typing\n"
        "if TYPE_CHECKING:\n"
        "    from precision_onco.recommend.patient import PatientCase\n"
        "if typing.TYPE_CHECKING:\n"
        "    import precision_onco.report.fhir_out\n"
        "else:\n"
        "    import precision_onco.errors\n"
        "def main() -> None:\n"
        "    from precision_onco.ingest.genes import GeneIndex\n",
        encoding="utf-8",
    )
    modules, _ = closure(entry)
    assert "precision_onco.recommend.patient" not in modules
    assert "precision_onco.report.fhir_out" not in modules
    assert {"precision_onco.errors", "precision_onco.ingest.genes"} <= modules
    typed = file_facts(entry).imports
    assert {"precision_onco.recommend.patient", "precision_onco.report.fhir_out"} <= typed


def test_a_missing_dependency_is_named() -> None:
    """The check on a made-up stage that forgets the propensity model's module."""
    spec = {
        "cmd": "python pipelines/train.py",
        "deps": ["pipelines/train.py", "src/precision_onco/models"],
    }
    files = needed("train", spec)
    missing = {_rel(f) for f in files if not any(_covers(d, f) for d in code_deps(spec))}
    assert "src/precision_onco/stage.py" in missing
    assert "src/precision_onco/models/propensity.py" not in missing
    assert "src/precision_onco/features/build.py" in missing


#: ``paths.*`` are interpolated into the stages' deps and outs: DVC re-plans a stage when
#: one changes, so they need not be params.
PARAMS_NOT_NEEDED = ("paths",)


#: Config sections that a stage depends on through a file the compose stage writes from
#: params.yaml (their values are not repeated in dvc.lock for every stage, only a hash).
PARAMS_AS_FILES = {"catalog": "${paths.interim_dir}/catalog_params.yaml"}


def _params_cover(params: list[str], key: str) -> bool:
    return any(key == p or key.startswith(p + ".") for p in params)


def uncovered_params(spec: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Config keys the stage reads that its ``params`` miss, and calls that hand the
    Config to code the walk cannot follow."""
    entry, functions = entry_point(spec["cmd"])
    if functions is not None:  # the CLI: compose reads conf/ itself (a dep), not params
        return [], []
    reads, unresolved = config_reads(entry)
    params = [str(p) for p in spec.get("params", [])]
    deps = _dvc_paths(spec.get("deps", []))
    params += [key for key, file in PARAMS_AS_FILES.items() if file in deps]
    wanted = [r for r in reads if r.split(".")[0] not in PARAMS_NOT_NEEDED]
    missing = sorted(r for r in wanted if not _params_cover(params, r))
    return missing, unresolved


def test_the_compose_stage_writes_the_files_that_stand_for_params() -> None:
    """Each section kept out of the stages' params is a params of the compose stage, which
    writes its file (so that DVC re-runs compose, then its readers, when it changes)."""
    compose_stage = STAGES["compose"]
    outs = _dvc_paths(compose_stage.get("outs", []))
    for key, file in PARAMS_AS_FILES.items():
        assert key in compose_stage.get("params", []) and file in outs


def test_a_section_read_without_its_file_or_params_is_reported() -> None:
    spec = dict(STAGES["recommend"])
    spec["deps"] = [d for d in spec["deps"] if d != PARAMS_AS_FILES["catalog"]]
    missing, _ = uncovered_params(spec)
    assert any(m == "catalog" or m.startswith("catalog.") for m in missing)


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_params_cover_the_config_a_stage_reads(stage: str) -> None:
    missing, unresolved = uncovered_params(STAGES[stage])
    assert not unresolved, (
        f"dvc.yaml stage '{stage}': the Config is passed to code the walk cannot follow: "
        f"{unresolved} (pass the groups it needs instead, or teach tests/codegraph.py)"
    )
    assert not missing, (
        f"dvc.yaml stage '{stage}': params do not cover {missing}, which the stage reads; "
        "add them to its params"
    )


def test_the_config_walk_follows_the_config_into_the_library() -> None:
    """train reads features.* and cohort.name only inside train_all (the leakage guard, the
    manifest), and evaluate the catalog only in its model card: both are found."""
    spec = dict(STAGES["train"], params=["endpoints", "model", "split", "catalog"])
    missing, _ = uncovered_params(spec)
    assert {"features", "cohort.name", "propensity"} <= set(missing)
    spec = dict(
        STAGES["evaluate"],
        params=["evaluation", "endpoints"],
        deps=[d for d in STAGES["evaluate"]["deps"] if d != PARAMS_AS_FILES["catalog"]],
    )
    missing, _ = uncovered_params(spec)
    assert "catalog" in missing and "report.lang" in missing and "tracking" in missing


# ------------------------------------------------------------------ the data catalog
def _dvc_paths(entries: list[Any]) -> list[str]:
    """The paths of a stage's ``deps``/``outs``/``metrics``/``plots`` (``{path: opts}`` too)."""
    return [str(next(iter(e))) if isinstance(e, Mapping) else str(e) for e in entries]


def _resolve(path: str, params: Mapping[str, Any]) -> str:
    """``${paths.x}`` replaced by params.yaml's value, as DVC does."""
    import re

    def value(m: re.Match[str]) -> str:
        node: Any = params
        for part in m.group(1).split("."):
            node = node[part]
        return str(node)

    return re.sub(r"\$\{([\w.]+)\}", value, path)


def catalog_drift(
    stages: Mapping[str, Mapping[str, Any]], params: Mapping[str, Any], catalog: set[str]
) -> list[str]:
    """How ``dvc.yaml`` and the data catalog disagree: a stage output the catalog lacks, a
    catalog entry no stage writes (nor lies inside a written directory), a data dependency
    that is no stage's output."""
    outs: set[str] = set()
    data_deps: set[str] = set()
    for spec in stages.values():
        for key in ("outs", "metrics", "plots"):
            outs |= {_resolve(p, params) for p in _dvc_paths(spec.get(key, []))}
        data_deps |= {
            _resolve(p, params) for p in _dvc_paths(spec.get("deps", [])) if p.startswith("${")
        }
    problems = [f"dvc.yaml writes {p}, which the catalog does not name" for p in outs - catalog]
    problems += [
        f"the catalog names {p}, which no dvc.yaml stage writes"
        for p in catalog - outs
        if not any(Path(o) in Path(p).parents for o in outs)
    ]
    problems += [f"dvc.yaml reads {p}, which no stage writes" for p in data_deps - outs]
    return sorted(problems)


def _catalog() -> tuple[dict[str, Any], set[str]]:
    from precision_onco.config import compose, outputs
    from precision_onco.synth import RAW_FILES

    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    _, cfg = compose(conf_dir=ROOT / "conf")
    files = outputs(cfg)
    named = {str(getattr(files, f)) for f in files.__dataclass_fields__}
    # the synthesize stage's raw files: the simulator's own layout under paths.raw_dir
    raw = {f"{cfg.paths.raw_dir}/{name}" for name in RAW_FILES.values()}
    return params, named | raw


def test_dvc_outputs_are_the_data_catalog() -> None:
    """The stage scripts and benches name their files through precision_onco.config.outputs
    (conf/paths/default.yaml); dvc.yaml must name the same ones."""
    params, catalog = _catalog()
    assert not catalog_drift(_stages(), params, catalog)


def test_a_drifted_output_name_is_reported() -> None:
    params, catalog = _catalog()
    stages = {k: dict(v) for k, v in _stages().items()}
    stages["featurize"]["outs"] = ["${paths.processed_dir}/features_v2.parquet"]
    assert catalog_drift(stages, params, catalog) == [
        "dvc.yaml reads data/processed/features.parquet, which no stage writes",
        "dvc.yaml writes data/processed/features_v2.parquet, which the catalog does not name",
        "the catalog names data/processed/features.parquet, which no dvc.yaml stage writes",
    ]
