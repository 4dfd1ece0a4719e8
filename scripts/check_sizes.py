"""List modules over ~400 lines and functions over ~80 lines (the size rule of DEVELOPERS.md).

    python scripts/check_sizes.py [--max-module 400] [--max-function 80] [PATH ...]

Reads the Python files under ``app.py``, ``pipeline/``, ``ui/`` and ``scripts/`` (or the
given paths) with :mod:`ast` and prints one line per offender, largest first: modules by
line count, functions and methods by the lines from ``def`` to their last statement. A
comment ``# size: <reason>`` on the ``def`` line (or the first line of a module) marks an
accepted exception; it is listed apart with its reason. Exit status 0 always: it reports.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PATHS = ("app.py", "pipeline", "ui", "scripts")
MARK = "# size:"


def python_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for name in paths:
        path = (REPO / name) if not Path(name).is_absolute() else Path(name)
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


def sizes(path: Path) -> tuple[int, list[tuple[str, int, int, str]]]:
    """``(module lines, [(qualified function name, first line, lines, exception reason)])``."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    functions = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                length = child.end_lineno - child.lineno + 1
                line = lines[child.lineno - 1]
                reason = line.split(MARK, 1)[1].strip() if MARK in line else ""
                functions.append((name, child.lineno, length, reason))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(ast.parse(text, filename=str(path)), "")
    return len(lines), functions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", default=list(DEFAULT_PATHS))
    parser.add_argument("--max-module", type=int, default=400)
    parser.add_argument("--max-function", type=int, default=80)
    args = parser.parse_args()
    modules, functions, accepted = [], [], []
    for path in python_files(args.paths):
        rel = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        count, defs = sizes(path)
        first = path.read_text(encoding="utf-8").split("\n", 1)[0]
        if count > args.max_module:
            row = (count, f"{rel}")
            (accepted if MARK in first else modules).append(row)
        for name, line, length, reason in defs:
            if length > args.max_function:
                row = (length, f"{rel}:{line} {name}" + (f"  ({reason})" if reason else ""))
                (accepted if reason else functions).append(row)
    print(f"modules over {args.max_module} lines: {len(modules)}")
    for count, where in sorted(modules, reverse=True):
        print(f"  {count:5d}  {where}")
    print(f"functions over {args.max_function} lines: {len(functions)}")
    for count, where in sorted(functions, reverse=True):
        print(f"  {count:5d}  {where}")
    if accepted:
        print(f"accepted exceptions (marked '{MARK}'): {len(accepted)}")
        for count, where in sorted(accepted, reverse=True):
            print(f"  {count:5d}  {where}")


if __name__ == "__main__":
    main()
