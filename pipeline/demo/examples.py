"""The example clips committed under ``examples/`` (made by ``scripts/make_examples.py``).

``examples/examples.json`` lists, per task, the clip files and their settings::

    {"emotion": [{"file", "emotion", "intensity", "source"}, ...],
     "enhance": [{"file", "reference", "noise", "snr_db", "source"}, ...]}
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from pipeline.registry import REPO_ROOT

log = logging.getLogger(__name__)

EXAMPLES_DIR = REPO_ROOT / "examples"
MANIFEST_NAME = "examples.json"


@dataclass(frozen=True)
class ConversionExample:
    """Calm speech and the emotion/intensity the example converts it to."""

    path: Path
    emotion: str
    intensity: float
    source: str


@dataclass(frozen=True)
class EnhancementExample:
    """Noisy speech, the clean recording it was mixed from, and what was added."""

    path: Path
    reference: Path
    noise: str
    snr_db: float
    source: str


def _manifest(root: Path) -> dict:
    path = Path(root) / MANIFEST_NAME
    if not path.is_file():
        log.info("no example manifest at %s", path)
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def conversion_examples(root: Path = EXAMPLES_DIR) -> list[ConversionExample]:
    """Conversion examples whose files exist (empty when the folder is missing)."""
    root = Path(root)
    found = [
        ConversionExample(root / e["file"], e["emotion"], float(e["intensity"]), e["source"])
        for e in _manifest(root).get("emotion", [])
    ]
    return [e for e in found if e.path.is_file()]


def enhancement_examples(root: Path = EXAMPLES_DIR) -> list[EnhancementExample]:
    """Enhancement examples whose noisy and clean files exist."""
    root = Path(root)
    found = [
        EnhancementExample(
            root / e["file"], root / e["reference"], e["noise"], float(e["snr_db"]), e["source"]
        )
        for e in _manifest(root).get("enhance", [])
    ]
    return [e for e in found if e.path.is_file() and e.reference.is_file()]
