"""Rewrite README.md's "Results" section from the shipped model cards' evaluation tables.

    python scripts/readme_results.py

The section sits between ``<!-- results:start -->`` and ``<!-- results:end -->``; it quotes each
shipped GAN's ``metrics_table`` (produced by ``python -m pipeline.evaluate`` and copied into the
card by ``scripts/attach_eval_table.py``), so README, cards and reports show the same numbers.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.cards import ModelCard  # noqa: E402
from pipeline.registry import CHECKPOINTS, DEFAULT_GAN  # noqa: E402

START, END = "<!-- results:start -->", "<!-- results:end -->"
#: sentences that speak to the developers (pass/fail against internal goals, run folders that
#: are not in the repository) stay in the cards and docs/EVALUATION.md, not in the README
INTERNAL = re.compile(r"issue|runs/")
REWRITES = {"every target is met on the measured means, and ": "", "Reading: ": "In short: "}


def for_readers(table: str) -> str:
    """A card's metrics table without its pass/fail "Targets" tables and internal sentences."""
    kept: list[str] = []
    skip_table = False
    for paragraph in table.split("\n\n"):
        heading = paragraph.lstrip("#").strip()
        if heading.startswith("Targets") or paragraph.startswith("The metrics list"):
            skip_table = True
            continue
        if skip_table and paragraph.startswith("|"):
            skip_table = False
            continue
        skip_table = False
        if not paragraph.startswith(("|", "#")):
            sentences = re.split(r"(?<=[.])\s+(?=[A-Z(])", paragraph)
            paragraph = " ".join(x for x in sentences if not INTERNAL.search(x))
            for old, new in REWRITES.items():
                paragraph = paragraph.replace(old, new)
        if paragraph.strip():
            kept.append(paragraph)
    return "\n\n".join(kept)


def section() -> str:
    lines = [
        START,
        "## Results",
        "",
        "Measured by `python -m pipeline.evaluate` (how: `docs/EVALUATION.md`); regenerate this "
        "section with `python scripts/readme_results.py`.",
    ]
    for task, heading in (("enhance", "Speech enhancement"), ("emotion", "Emotion conversion")):
        card = ModelCard.read(CHECKPOINTS / task / DEFAULT_GAN[task] / "card.json")
        table = for_readers(card.metrics_table).replace("### ", "#### ")
        lines += ["", f"### {heading}: `{card.name}`", "", table]
    lines.append(END)
    return "\n".join(lines)


def main() -> int:
    readme = REPO / "README.md"
    text = readme.read_text(encoding="utf-8")
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section() + rest.split(END, 1)[1]
    else:
        text = text.replace(
            "\n## Listening tests (MOS)", "\n" + section() + "\n\n## Listening tests (MOS)", 1
        )
    readme.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
