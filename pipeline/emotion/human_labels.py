"""Human emotion labels for training: the table ``python -m pipeline.mos labels`` writes.

The table has one row per listening-test stimulus (``stimulus_id, label, confidence,
n_raters, ..., item_id``); for an annotation test ``item_id`` is the corpus manifest's
``path``, which is how a label finds its clip. ``confidence`` is the Dawid–Skene posterior
of ``label``. Its provenance (test ids, listeners, Krippendorff's α) is in the ``.json``
written beside it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from pipeline.tables import read_rows

#: what a model card says about its labels when no human listening test was used
NO_HUMAN_TEST = (
    "No human listening test has been run on these labels yet: no listener has confirmed "
    "that they hear the intended emotions."
)


def read_human_labels(path: str | Path) -> dict[str, tuple[str, float]]:
    """``item_id`` → (label, confidence) from a label table CSV."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"human label table not found: {path}")
    return {
        row["item_id"]: (row["label"], float(row["confidence"] or 0.0))
        for row in read_rows(path, ("item_id", "label", "confidence"))
        if row["item_id"]
    }


def label_provenance(meta: dict) -> str:
    """``labels: human, test X, N listeners, α = …`` from a label table's provenance."""
    tests = ", ".join(meta.get("test_ids") or ["?"])
    alpha = meta.get("alpha")
    alpha_text = (
        f"{alpha:.2f}" if isinstance(alpha, int | float) and math.isfinite(alpha) else "n/a"
    )
    listeners = meta.get("n_listeners_kept", "?")
    noun = "listener" if listeners == 1 else "listeners"
    return f"labels: human, test {tests}, {listeners} {noun}, α = {alpha_text}"


def human_label_provenance(labels_csv: str | Path | None) -> str:
    """The card line for a training run: human provenance, or :data:`NO_HUMAN_TEST`."""
    if not labels_csv:
        return NO_HUMAN_TEST
    meta_path = Path(labels_csv).with_suffix(".json")
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    return label_provenance(meta)
