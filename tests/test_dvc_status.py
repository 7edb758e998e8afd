"""Editing one module makes `dvc status` report exactly the stages that import it.

A real DVC repository in a temporary directory holds a copy of ``src/``, ``pipelines/``
and ``conf/`` and the stages of ``dvc.yaml`` with their code deps (the data deps and
outputs are left out: without data, they would only report as missing). The lock file is
recorded with ``dvc commit`` (no stage runs); then one file is edited and ``dvc status``
must name exactly the stages whose import walk (``tests/test_dvc_deps.py``) reaches it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.codegraph import ROOT
from tests.test_dvc_deps import STAGES, code_deps, needed

dvc_repo = pytest.importorskip("dvc.repo")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("dvc_status")
    for d in ("src/precision_onco", "pipelines", "conf"):
        shutil.copytree(ROOT / d, root / d, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    stages = {name: {"cmd": s["cmd"], "deps": code_deps(s)} for name, s in STAGES.items()}
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}), encoding="utf-8")
    dvc_repo.Repo.init(str(root), no_scm=True).commit(force=True)
    assert (root / "dvc.lock").is_file()
    yield root


def _status(root: Path) -> set[str]:
    """Names of the stages `dvc status` reports as changed."""
    with dvc_repo.Repo(str(root)) as r:
        return {str(key).rsplit(":", 1)[-1] for key in r.status()}


def _importers(rel: str) -> set[str]:
    """The stages whose command runs or reads ``rel`` (by the import walk)."""
    f = ROOT / rel
    return {n for n, s in STAGES.items() if any(p == f or p in f.parents for p in needed(n, s))}


@pytest.mark.parametrize(
    ("edited", "expected"),
    [
        # imported lazily by models/fit.py (propensity-weighted training): the stages that
        # train, evaluate or bundle the models, and only those
        ("src/precision_onco/models/propensity.py", {"train", "policy", "evaluate", "recommend"}),
        ("src/precision_onco/report/pdf.py", {"report"}),
        ("conf/recommend/frail.yaml", {"compose", "policy", "recommend"}),
        ("src/precision_onco/stage.py", set(STAGES)),
    ],
)
def test_editing_a_file_reruns_exactly_its_importers(
    repo: Path, edited: str, expected: set[str]
) -> None:
    assert _importers(edited) == expected  # the walk agrees with the stated expectation
    path = repo / edited
    before = path.read_bytes()
    try:
        path.write_bytes(before + b"\n# edited\n")
        assert _status(repo) == expected
    finally:
        path.write_bytes(before)
    assert _status(repo) == set()
