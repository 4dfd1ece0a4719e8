"""Does requirements.txt declare everything the launched app imports?

    python scripts/check_runtime_imports.py [--systems all|default] [--json]

Builds the app as ``app.py`` does and runs its handlers the way a visitor would: every
enhancement system (or only the default) on a noisy clip, the quality panel with a clean
reference (DNSMOS, PESQ-WB, STOI, SI-SDR), and one emotion conversion with its figures.
Then it maps every imported top-level module to its installed distribution
(``importlib.metadata.packages_distributions``) and checks each one against the closure of
``requirements.txt`` (the listed packages and, recursively, what they require). Prints the
undeclared distributions and the quality notes; exits 1 when a distribution is undeclared
or a quality figure is missing. Run it with a venv built from ``requirements.txt`` alone to
check a fresh install (``tests/test_runtime_requirements.py`` runs it in the dev venv).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_closure(requirements: Path) -> set[str]:
    """Canonical names of the packages in ``requirements`` and everything they require
    (environment markers evaluated, extras ignored), as installed."""
    from packaging.requirements import Requirement

    todo = []
    for line in requirements.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            todo.append(Requirement(line).name)
    closure: set[str] = set()
    while todo:
        name = _canonical(todo.pop())
        if name in closure:
            continue
        closure.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for spec in requires:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return closure


#: imported only because they happen to be installed: their importer works without them
#: (it imports them inside ``try: ... except ImportError`` or falls back to a vendored copy),
#: so a fresh install from requirements.txt does not need them
OPTIONAL_IMPORTS = {
    "pyarrow": "pandas uses it when installed",
    "defusedxml": "Pillow parses XMP with it when installed",
    **{
        name: "setuptools' pkg_resources prefers it to its vendored copy"
        for name in ("jaraco-text", "jaraco-functools", "jaraco-context", "more-itertools")
    },
    "backports-tarfile": "setuptools' pkg_resources prefers it to its vendored copy",
}


def _owner(module_file: Path, candidates: list[str]) -> str | None:
    """The distribution that installed ``module_file``: the candidate whose RECORD lists it,
    else (a copy vendored inside another package) the distribution of its top folder."""
    for name in candidates:
        dist = metadata.distribution(name)
        root = Path(dist.locate_file("")).resolve()
        try:
            relative = module_file.relative_to(root).as_posix()
        except ValueError:
            continue
        if relative in {file.as_posix() for file in dist.files or []}:
            return _canonical(name)
        top = relative.split("/", 1)[0]
        vendoring = metadata.packages_distributions().get(top, [])
        return _canonical(vendoring[0]) if vendoring else None
    return None


def imported_distributions() -> dict[str, set[str]]:
    """Canonical distribution name -> the imported top-level modules it provides. Each
    top-level module is attributed to the distribution that installed its file (a copy
    vendored inside another package counts for that package); standard-library modules and
    this repository's own modules are left out."""
    candidates = metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    files: dict[str, str] = {}  # top-level name -> a file of it (namespace packages have none)
    for module_name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None)
        top = module_name.split(".", 1)[0]
        if where and (top not in files or module_name == top):
            files[top] = where
    for name, where in sorted(files.items()):
        if name in sys.stdlib_module_names or not where or name not in candidates:
            continue
        dist = _owner(Path(where).resolve(), candidates[name])
        if dist is not None:
            found.setdefault(dist, set()).add(name)
    return found


def exercise_app(all_systems: bool) -> list[str]:
    """Build the app and run its handlers on synthetic speech; returns the quality texts."""
    import numpy as np
    import soundfile as sf

    from app import build_app
    from pipeline.emotion.testsignals import synthetic_voice
    from pipeline.registry import Registry
    from ui.conversion import ConversionHandlers
    from ui.enhancement import EnhancementHandlers

    def progress(*_args, **_kwargs) -> None:
        return None

    registry = Registry()
    build_app(registry)
    texts = []
    with tempfile.TemporaryDirectory() as tmp:
        clean_path, noisy_path = Path(tmp, "clean.wav"), Path(tmp, "noisy.wav")
        clean = synthetic_voice(3.0, 16_000)
        noise = 0.05 * np.random.default_rng(1).standard_normal(len(clean)).astype(np.float32)
        sf.write(clean_path, clean, 16_000, subtype="PCM_16")
        sf.write(noisy_path, clean + noise, 16_000, subtype="PCM_16")
        enhancer = EnhancementHandlers(registry)
        names = registry.names("enhance") if all_systems else [registry.default("enhance")]
        for name in names:
            result, _ = enhancer.enhance(str(noisy_path), name, progress=progress)
            enhancer.figures(str(noisy_path), result, progress=progress)
            texts.append(enhancer.quality(str(noisy_path), result, str(clean_path), progress))
        converter = ConversionHandlers(registry)
        for name in registry.names("emotion") if all_systems else [registry.default("emotion")]:
            result, _ = converter.convert(str(clean_path), "angry", 0.8, name, progress=progress)
            converter.analyse(str(clean_path), result, progress=progress)
    return texts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", choices=("all", "default"), default="all")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    texts = exercise_app(args.systems == "all")
    closure = declared_closure(REPO / "requirements.txt")
    imported = imported_distributions()
    undeclared = {
        dist: sorted(mods)
        for dist, mods in imported.items()
        if dist not in closure and dist not in OPTIONAL_IMPORTS
    }
    notes = sorted({line for text in texts for line in text.splitlines() if "Note:" in line})
    missing = [
        key for key in ("DNSMOS", "PESQ-WB", "STOI", "SI-SDR") if not all(key in t for t in texts)
    ]
    report = {
        "undeclared": undeclared,
        "imported": sorted(imported),
        "quality_notes": notes,
        "missing_figures": missing,
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{len(imported)} distributions imported, {len(undeclared)} undeclared: {undeclared}")
        print(f"quality figures missing: {missing or 'none'}; notes: {notes or 'none'}")
    return 1 if undeclared or missing or notes else 0


if __name__ == "__main__":
    sys.exit(main())
