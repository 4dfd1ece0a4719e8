"""The layering rule of docs/ARCHITECTURE.md, checked by reading the imports (ast, no imports run).

* no ``pipeline`` module imports ``gradio`` or ``ui``;
* the ground floor (``constants``, ``audio``, ``signals``, ``metrics``) imports nothing of the
  project above it;
* nobody in ``pipeline`` imports ``pipeline.evaluate`` except that package itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PIPELINE = REPO / "pipeline"

#: ground-floor module → the project modules it may import
GROUND_FLOOR = {
    "pipeline.constants": set(),
    "pipeline.audio": set(),
    "pipeline.signals": {"pipeline.audio", "pipeline.constants"},
    "pipeline.metrics": {"pipeline.audio", "pipeline.constants"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Every module the file at ``path`` imports (see :func:`imports_of`)."""
    return imports_of(
        path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py"
    )


def imports_of(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module ``source`` (the text of ``module``) imports, at any depth, as absolute
    names (relative imports resolved); ``from a import b`` yields both ``a`` and ``a.b``."""
    tree = ast.parse(source)
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            stem = ".".join([*base, node.module] if node.module else base)
            found.add(stem)
            found.update(f"{stem}.{alias.name}" for alias in node.names)
    return found


def pipeline_files() -> list[Path]:
    return sorted(PIPELINE.rglob("*.py"))


def _is_under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_the_reader_resolves_relative_and_nested_imports() -> None:
    source = "from . import model\nfrom ..audio import resample\ndef f():\n    import gradio\n"
    names = imports_of(source, "pipeline.enhance.probe")
    assert {"pipeline.enhance.model", "pipeline.audio.resample", "gradio"} <= names
    assert "pipeline.enhance.model" in imports_of("from . import model", "pipeline.enhance", True)


@pytest.mark.parametrize("path", pipeline_files(), ids=lambda p: module_name(p))
def test_pipeline_never_imports_gradio_or_ui(path: Path) -> None:
    bad = {n for n in imported_modules(path) if _is_under(n, "gradio") or _is_under(n, "ui")}
    assert not bad, f"{module_name(path)} imports {sorted(bad)}"


@pytest.mark.parametrize("module", sorted(GROUND_FLOOR))
def test_ground_floor_imports_nothing_above_it(module: str) -> None:
    path = REPO / (module.replace(".", "/") + ".py")
    project = {n for n in imported_modules(path) if _is_under(n, "pipeline") or _is_under(n, "ui")}
    allowed = GROUND_FLOOR[module]
    bad = {n for n in project if not any(_is_under(n, ok) for ok in allowed)}
    assert not bad, f"{module} imports {sorted(bad)}; allowed: {sorted(allowed)}"


def test_nobody_in_pipeline_imports_evaluate() -> None:
    offenders = {
        module_name(path): sorted(
            n for n in imported_modules(path) if _is_under(n, "pipeline.evaluate")
        )
        for path in pipeline_files()
        if not _is_under(module_name(path), "pipeline.evaluate")
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"pipeline.evaluate is imported from {offenders}"


def test_no_two_classes_share_a_name() -> None:
    """A class name leads to one class (pipeline/, ui/ and app.py, nested classes included),
    so a reader can follow it."""
    files = [*PIPELINE.rglob("*.py"), *(REPO / "ui").rglob("*.py"), REPO / "app.py"]
    seen: dict[str, list[str]] = {}
    for path in sorted(files):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                seen.setdefault(node.name, []).append(module_name(path))
    clashes = {name: where for name, where in seen.items() if len(where) > 1}
    assert not clashes, f"classes defined more than once: {clashes}"
