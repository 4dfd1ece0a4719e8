"""Rewrite README.md's "Results" section from the shipped model cards' evaluation tables.

    python scripts/readme_results.py

The section sits between ``<!-- results:start -->`` and ``<!-- results:end -->``; it quotes each
shipped GAN's ``metrics_table`` (produced by ``python -m pipeline.evaluate`` and copied into the
card by ``scripts/attach_eval_table.py``), so README, cards and reports show the same numbers.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.cards import ModelCard  # noqa: E402
from pipeline.registry import CHECKPOINTS, DEFAULT_GAN  # noqa: E402

START, END = "<!-- results:start -->", "<!-- results:end -->"


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
        table = card.metrics_table.replace("\n### ", "\n#### ")
        # a card's pointer to its own metric list means nothing in the README
        table = "\n\n".join(p for p in table.split("\n\n") if not p.startswith("The metrics list"))
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
