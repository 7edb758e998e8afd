"""The longest functions and modules of the library (issue 16: small parts).

Prints every function or method longer than ``--func-lines`` (default 60) and every
module longer than ``--module-lines`` (default 400) under ``src/precision_onco``,
longest first, with totals. Lengths are source lines from ``def`` to the last line
of the body (decorators excluded), read with :mod:`ast`.

Usage: python bench/code_size.py [--func-lines N] [--module-lines N] [--root DIR]
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def functions(path: Path, base: Path) -> list[tuple[int, str]]:
    """``(lines, "module.py:Class.function")`` for every function of one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    rel = path.relative_to(base).as_posix()
    out: list[tuple[int, str]] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                end = child.end_lineno or child.lineno
                out.append((end - child.lineno + 1, f"{rel}:{name}"))
                walk(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                walk(child, f"{prefix}{child.name}.")

    walk(tree, "")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--func-lines", type=int, default=60)
    ap.add_argument("--module-lines", type=int, default=400)
    ap.add_argument("--root", type=Path, default=ROOT / "src" / "precision_onco")
    args = ap.parse_args()
    base = args.root.parent
    modules = sorted(args.root.rglob("*.py"))
    funcs = [f for m in modules for f in functions(m, base)]
    long_funcs = sorted((f for f in funcs if f[0] > args.func_lines), reverse=True)
    sizes = [(len(m.read_text(encoding="utf-8").splitlines()), m) for m in modules]
    long_mods = sorted(((n, m) for n, m in sizes if n > args.module_lines), reverse=True)
    print(f"functions over {args.func_lines} lines: {len(long_funcs)} (of {len(funcs)})")
    for n, name in long_funcs:
        print(f"  {n:>5}  {name}")
    print(f"modules over {args.module_lines} lines: {len(long_mods)} (of {len(modules)})")
    for n, m in long_mods:
        print(f"  {n:>5}  {m.relative_to(base).as_posix()}")


if __name__ == "__main__":
    main()
