"""The package import graph: no cycle, and every package imports only downwards.

The layers are documented in docs/architecture.md ("Layers"); keep the two in step.
"""

from __future__ import annotations

import pytest

from tests.codegraph import PACKAGE, ROOT, package_imports

#: Bottom to top. A module may import its own package and the packages of lower layers.
LAYERS: list[set[str]] = [
    {"errors", "fhir_codes", "jsonable", ""},  # "": precision_onco/__init__.py (the version)
    {"config"},
    {"compute", "pgx"},
    {"catalog"},
    {"features", "ingest", "kb"},
    {"models", "synth"},
    {"report"},
    {"recommend"},
    {"policy", "serve"},
    {"stage"},  # the DVC stages' scaffolding
    {"cli"},
]


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _layer(package: str) -> int:
    for i, layer in enumerate(LAYERS):
        if package in layer:
            return i
    raise AssertionError(
        f"package precision_onco.{package} is in no layer of tests/test_layers.py; add it "
        "there and to docs/architecture.md"
    )


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import of a package of the same or a higher layer (other than its own)."""
    bad = []
    for mod, imports in sorted(graph.items()):
        here = _package(mod)
        for imp in sorted(imports):
            there = _package(imp)
            if there != here and _layer(there) >= _layer(here):
                bad.append(
                    f"{mod} imports {imp}: {PACKAGE}.{there} (layer {_layer(there)}) is not "
                    f"below {PACKAGE}.{here} (layer {_layer(here)})"
                )
    return bad


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle among the modules, as a path ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt == node or nxt not in graph:
                continue
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_every_package_has_a_layer() -> None:
    packages = {p.name for p in (ROOT / "src" / PACKAGE).iterdir() if (p / "__init__.py").is_file()}
    packages |= {p.stem for p in (ROOT / "src" / PACKAGE).glob("*.py") if p.stem != "__init__"}
    for package in sorted(packages):
        _layer(package)


def test_packages_import_only_downwards() -> None:
    bad = upward_imports(package_imports())
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_no_import_cycle_between_modules() -> None:
    cycle = find_cycle(package_imports())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_import_cycle_between_packages() -> None:
    """Packages as nodes (``models -> policy -> models`` is a cycle even when no module
    closes it): implied by the layering, checked on its own for a clearer message."""
    graph: dict[str, set[str]] = {}
    for mod, imports in package_imports().items():
        graph.setdefault(_package(mod), set()).update(_package(i) for i in imports)
    cycle = find_cycle(graph)
    assert cycle is None, "package import cycle: " + " -> ".join(cycle or [])


def test_the_checks_can_fail() -> None:
    """The two checks on a made-up graph: an upward import and a cycle are both found."""
    graph = {
        "precision_onco.models.fit": {"precision_onco.policy.study"},
        "precision_onco.policy.study": {"precision_onco.models.fit"},
    }
    bad = upward_imports(graph)
    assert bad == [
        "precision_onco.models.fit imports precision_onco.policy.study: precision_onco.policy "
        "(layer 8) is not below precision_onco.models (layer 5)"
    ]
    assert find_cycle(graph) == [
        "precision_onco.models.fit",
        "precision_onco.policy.study",
        "precision_onco.models.fit",
    ]
    with pytest.raises(AssertionError, match="precision_onco.newpkg is in no layer"):
        _layer("newpkg")
