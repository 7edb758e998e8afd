"""Static view of the project's code: which ``precision_onco`` modules a file imports.

Shared by the DVC dependency test (``tests/test_dvc_deps.py``) and the package layering
test (``tests/test_layers.py``). Nothing is imported or run: the files are parsed with
:mod:`ast`, so a module that is slow or broken to import is still walked.

Rules (conservative: a stage may run any code its modules reach):

* every ``import`` / ``from ... import`` of a ``precision_onco`` module counts, at module
  level or inside a function (a lazy import runs when its function does), except, for a
  stage's code, one under ``if TYPE_CHECKING:`` (it never runs; annotations only). The
  package layering still counts those: a type-only import upwards is still a wrong room;
* ``from precision_onco.a import b`` counts ``precision_onco.a.b`` when ``b`` is a module,
  else ``precision_onco.a``;
* importing ``precision_onco.a.b`` also runs ``precision_onco/__init__.py`` and
  ``precision_onco/a/__init__.py``, so those count too;
* package data read with ``importlib.resources.files("pkg")`` or
  ``jinja2.PackageLoader("pkg", "dir")`` counts the non-Python files of that package
  (of ``dir`` for the loader; of ``sub`` for ``files("pkg").joinpath("sub")`` or
  ``files("pkg") / "sub"``);
* configuration read besides ``params.yaml``: a literal ``"conf"`` or ``"conf/x"`` naming an
  existing path, a call of ``find_conf_dir()`` (``find_conf_dir() / "x"``: ``conf/x``) or of
  ``compose()`` (Hydra composes all of ``conf/``). The ``config`` package itself is not
  scanned: it defines these functions, and who calls them is what reads ``conf/``.

For an *entry* module (a stage's script) the walk can be restricted to some of its
functions: the CLI holds every command, and a stage runs one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "precision_onco"


def module_path(name: str) -> Path | None:
    """The file of module ``name`` (a package's ``__init__.py``), or None if not ours."""
    base = SRC.joinpath(*name.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def module_name(path: Path) -> str:
    """The dotted name of a file under ``src/``."""
    rel = path.resolve().relative_to(SRC).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _ours(name: str) -> bool:
    return name == PACKAGE or name.startswith(PACKAGE + ".")


def _resolve(node: ast.Import | ast.ImportFrom, current: str) -> set[str]:
    """The ``precision_onco`` modules one import statement loads."""
    out: set[str] = set()
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if _ours(a.name)}
    base = node.module or ""
    if node.level:  # relative import
        pkg = current.split(".")
        if module_path(current) is not None and not str(module_path(current)).endswith(
            "__init__.py"
        ):
            pkg = pkg[:-1]
        pkg = pkg[: len(pkg) - (node.level - 1)]
        base = ".".join([*pkg, base] if base else pkg)
    if not _ours(base):
        return out
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        out.add(sub if module_path(sub) is not None else base)
    return out


def _with_parents(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


@dataclass(frozen=True)
class FileFacts:
    """What one file imports, which package data it names and which ``conf/`` paths."""

    imports: frozenset[str]
    data: frozenset[Path]
    conf: frozenset[Path] = frozenset()


def _conf_path(node: ast.AST, narrowed: dict[int, str]) -> Path | None:
    """The ``conf/`` path a node names: a literal ``"conf"``/``"conf/x"`` that exists, or a
    call of ``find_conf_dir(...)`` (narrowed by ``/ "x"``) or ``compose(...)``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        v = node.value
        if (v == "conf" or v.startswith("conf/")) and (ROOT / v).exists():
            return ROOT / v
        return None
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "find_conf_dir":
            sub = narrowed.get(id(node))
            return ROOT / "conf" / sub if sub and (ROOT / "conf" / sub).exists() else ROOT / "conf"
        if name == "compose":
            return ROOT / "conf"
    return None


def _string_args(call: ast.Call) -> list[str]:
    return [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]


def _data_files(call: ast.Call, sub: str | None = None) -> set[Path]:
    """Package data named by ``resources.files("pkg")`` or ``PackageLoader("pkg", "dir")``;
    ``sub``: the path joined to ``files(...)`` (``.joinpath("data/x.tsv")`` or ``/ "data"``)."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    args = _string_args(call)
    if name not in ("files", "PackageLoader") or not args or not _ours(args[0]):
        return set()
    where = SRC.joinpath(*args[0].split("."))
    if name == "PackageLoader" and len(args) > 1:
        where = where / args[1]
    if sub is not None:
        where = where / sub
    if where.is_file():
        return {where}
    return {p for p in where.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")}


def _joined(node: ast.AST) -> tuple[ast.Call, str] | None:
    """``(files_call, "sub")`` for ``files(...).joinpath("sub")`` or ``files(...) / "sub"``."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "joinpath"
        and isinstance(node.func.value, ast.Call)
        and (args := _string_args(node))
    ):
        return node.func.value, "/".join(args)
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Div)
        and isinstance(node.left, ast.Call)
        and isinstance(node.right, ast.Constant)
        and isinstance(node.right.value, str)
    ):
        return node.left, node.right.value
    return None


def _type_checking_only(node: ast.AST) -> bool:
    """``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``): a block that never runs."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", "")
    return name == "TYPE_CHECKING"


def _walk(node: ast.AST, *, runtime: bool) -> Iterable[ast.AST]:
    """``ast.walk``; with ``runtime``, without the body of ``if TYPE_CHECKING:`` blocks
    (their ``else`` branch runs and is kept)."""
    todo = [node]
    while todo:
        n = todo.pop()
        yield n
        if runtime and _type_checking_only(n):
            assert isinstance(n, ast.If)
            todo.extend([n.test, *n.orelse])
            continue
        todo.extend(ast.iter_child_nodes(n))


def _nodes(
    tree: ast.Module, functions: Iterable[str] | None, *, runtime: bool
) -> Iterable[ast.AST]:
    """All nodes, or those at module level plus inside the named top-level functions."""
    if functions is None:
        yield from _walk(tree, runtime=runtime)
        return
    wanted = set(functions)
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if stmt.name in wanted:
                yield from _walk(stmt, runtime=runtime)
        else:
            yield from _walk(stmt, runtime=runtime)


@cache
def file_facts(
    path: Path, functions: tuple[str, ...] | None = None, *, runtime: bool = False
) -> FileFacts:
    """Imports and package data of one file (``functions``: restrict to those, see above;
    ``runtime``: only the code that runs, not ``if TYPE_CHECKING:`` imports)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    current = module_name(path) if path.resolve().is_relative_to(SRC) else "__main__"
    imports: set[str] = set()
    data: set[Path] = set()
    conf: set[Path] = set()
    nodes = list(_nodes(tree, functions, runtime=runtime))
    narrowed: set[int] = set()
    joined: dict[int, str] = {}
    for node in nodes:
        if (j := _joined(node)) is not None:
            joined[id(j[0])] = j[1]
            if found := _data_files(*j):
                data |= found
                narrowed.add(id(j[0]))
    # the config package defines the way to conf/; its callers are what read it
    scan_conf = not current.startswith(f"{PACKAGE}.config")
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            imports |= _resolve(node, current)
        elif isinstance(node, ast.Call) and id(node) not in narrowed:
            data |= _data_files(node)
        if scan_conf and (c := _conf_path(node, joined)) is not None:
            conf.add(c)
    return FileFacts(frozenset(imports), frozenset(data), frozenset(conf))


def closure(entry: Path, functions: tuple[str, ...] | None = None) -> tuple[set[str], set[Path]]:
    """Every ``precision_onco`` module ``entry`` reaches, and the files besides modules
    they read: package data and ``conf/`` paths. Imports that only type-checkers run
    (``if TYPE_CHECKING:``) are left out: they load nothing when the stage runs."""
    facts = file_facts(entry, functions, runtime=True)
    todo = set().union(*(_with_parents(m) for m in facts.imports))
    if entry.resolve().is_relative_to(SRC):
        todo |= _with_parents(module_name(entry))
    seen: set[str] = set()
    data = set(facts.data) | set(facts.conf)
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        path = module_path(mod)
        if path is None:
            continue
        if path == entry.resolve() and functions is not None:
            continue  # the entry itself, restricted above
        f = file_facts(path, runtime=True)
        data |= f.data | f.conf
        for m in f.imports:
            todo |= _with_parents(m) - seen
    return seen, data


def package_imports() -> dict[str, set[str]]:
    """For every module under ``src/precision_onco``: the project modules it imports."""
    out: dict[str, set[str]] = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        out[module_name(path)] = set(file_facts(path).imports)
    return out


# --- which parts of the composed Config a stage reads -------------------------------------


#: Top-level groups of :class:`precision_onco.config.schema.Config`.
def config_groups() -> tuple[str, ...]:
    tree = ast.parse((SRC / PACKAGE / "config" / "schema.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Config":
            return tuple(
                s.target.id
                for s in node.body
                if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
            )
    raise AssertionError("no class Config in config/schema.py")


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@cache
def _bindings(path: Path) -> dict[str, str]:
    """Names bound by ``from precision_onco.x import name`` anywhere in the file (module
    level or inside a function): their dotted target."""
    out: dict[str, str] = {}
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and node.module and _ours(node.module):
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if _ours(a.name):
                    out[a.asname or a.name] = a.name
    return out


def _find_def(dotted: str) -> tuple[Path, ast.FunctionDef] | None:
    """The function (or class's ``__init__``-less method path ``mod.Class.meth``) named."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        path = module_path(".".join(parts[:cut]))
        if path is None:
            continue
        body: list[ast.stmt] = _tree(path).body
        node: ast.AST | None = None
        for name in parts[cut:]:
            node = next(
                (
                    n
                    for n in body
                    if isinstance(n, ast.FunctionDef | ast.ClassDef) and n.name == name
                ),
                None,
            )
            if node is None:
                break
            body = node.body if isinstance(node, ast.ClassDef) else []
        if isinstance(node, ast.FunctionDef):
            return path, node
        if node is None:
            # ``from pkg import name`` re-exported by a package ``__init__``: follow it
            target = _bindings(path).get(parts[cut])
            if target and target != dotted:
                return _find_def(".".join([target, *parts[cut + 1 :]]))
        return None
    return None


def _annotated_config(fn: ast.FunctionDef) -> list[str]:
    """Parameters annotated ``Config`` (the whole composed configuration)."""
    args = [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]
    return [
        a.arg
        for a in args
        if a.annotation is not None and ast.unparse(a.annotation).split(".")[-1] == "Config"
    ]


def _param_for(fn: ast.FunctionDef, call: ast.Call, var: str) -> list[str]:
    """Names of ``fn``'s parameters that receive the name ``var`` in ``call``."""
    params = [a.arg for a in [*fn.args.posonlyargs, *fn.args.args]]
    if params and params[0] in ("self", "cls"):
        params = params[1:]
    out = [params[i] for i, a in enumerate(call.args) if i < len(params) and _is_name(a, var)]
    out += [k.arg for k in call.keywords if k.arg and _is_name(k.value, var)]
    return out


def _is_name(node: ast.AST, var: str) -> bool:
    return isinstance(node, ast.Name) and node.id == var


def config_reads(entry: Path, functions: tuple[str, ...] = ("main",)) -> tuple[set[str], list[str]]:
    """The Config keys a stage reads, as ``group`` or ``group.key``, following the whole
    Config (a parameter annotated ``Config``, and names made from it with
    ``dataclasses.replace`` or ``copy.deepcopy``) from ``entry``'s ``functions`` into the
    project's functions it is passed to. A group handed on as a whole (``cfg.model``) is read
    whole. Returns ``(keys, unresolved)``: calls receiving the Config that could not be
    followed (outside the project, or not found), which the caller should judge.
    """
    groups = set(config_groups())
    reads: set[str] = set()
    unresolved: list[str] = []
    seen: set[tuple[str, str, str]] = set()

    def walk(path: Path, fn: ast.FunctionDef, var: str) -> None:
        key = (str(path), f"{fn.lineno}:{fn.name}", var)
        if key in seen:
            return
        seen.add(key)
        names = {var}
        binds = _bindings(path)
        local = {n.name: n for n in _tree(path).body if isinstance(n, ast.FunctionDef)}
        for node in ast.walk(fn):  # aliases first
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                callee = ast.unparse(node.value.func)
                first = node.value.args[0] if node.value.args else None
                if (
                    callee.split(".")[-1] in ("replace", "deepcopy", "copy")
                    and first is not None
                    and isinstance(first, ast.Name)
                    and first.id in names
                ):
                    names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        parent: dict[int, ast.AST] = {}
        for node in ast.walk(fn):
            for child in ast.iter_child_nodes(node):
                parent[id(child)] = node
        for node in ast.walk(fn):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in names
                and node.attr in groups
            ):
                up = parent.get(id(node))
                if isinstance(up, ast.Attribute) and up.value is node:
                    reads.add(f"{node.attr}.{up.attr}")
                else:
                    reads.add(node.attr)  # the group itself: passed on, bound, iterated
            if not isinstance(node, ast.Call):
                continue
            for v in sorted(names):
                if not any(_is_name(a, v) for a in [*node.args, *(k.value for k in node.keywords)]):
                    continue
                callee = ast.unparse(node.func)
                head, _, rest = callee.partition(".")
                if callee.split(".")[-1] in ("replace", "deepcopy", "copy"):
                    continue
                if head in local and not rest:
                    target: tuple[Path, ast.FunctionDef] | None = (path, local[head])
                elif head in binds:
                    target = _find_def(".".join([binds[head], *([rest] if rest else [])]))
                else:
                    target = None
                if target is None:
                    unresolved.append(f"{module_name_or(path)}:{node.lineno} {callee}({v})")
                    continue
                for p in _param_for(target[1], node, v):
                    walk(target[0], target[1], p)

    tree = _tree(entry)
    for fn in tree.body:
        if isinstance(fn, ast.FunctionDef) and fn.name in functions:
            for p in _annotated_config(fn):
                walk(entry, fn, p)
    whole = {r for r in reads if "." not in r}
    return {r for r in reads if r.split(".")[0] not in whole} | whole, unresolved


def module_name_or(path: Path) -> str:
    return module_name(path) if path.resolve().is_relative_to(SRC) else str(path.relative_to(ROOT))
