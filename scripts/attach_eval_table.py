"""Copy parts of an evaluation report into a model card's ``metrics_table`` (no typing).

    python scripts/attach_eval_table.py checkpoints/emotion/stargan-emotion/card.json \
        runs/eval_emotion_final/report.md --intro "Independent evaluation, `python -m ...`" \
        --section "### System averages" --section "### Targets" --section "### `stargan-emotion`"

A section is the paragraph (blank-line separated block) whose first line starts with the given
prefix, together with the text paragraphs and tables that follow it up to the next heading or
selected-elsewhere paragraph. ``--judge`` also quotes the judge's accuracy line on the test
split (emotion reports). The card is rewritten atomically.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.cards import ModelCard  # noqa: E402


def blocks(text: str) -> list[str]:
    """Blank-line separated blocks of ``text``."""
    return [b.strip("\n") for b in text.split("\n\n") if b.strip()]


def select(text: str, prefixes: list[str]) -> list[str]:
    """The blocks of every section (see the module docstring), in report order."""
    parts = blocks(text)
    chosen: list[str] = []
    i = 0
    while i < len(parts):
        if any(parts[i].startswith(p) for p in prefixes):
            chosen.append(parts[i])
            i += 1
            while i < len(parts) and not parts[i].startswith("#"):
                if any(parts[i].startswith(p) for p in prefixes):
                    break
                if parts[i].startswith("|") or not parts[i - 1].startswith("|"):
                    chosen.append(parts[i])
                    i += 1
                else:
                    break
            continue
        i += 1
    return chosen


def judge_line(text: str) -> str:
    """The judge's accuracy line on the test split, if the report has one."""
    for line in text.splitlines():
        if line.startswith("**test split"):
            return line.replace("**", "")
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("card", type=Path)
    parser.add_argument("report", type=Path)
    parser.add_argument("--intro", required=True, help="first paragraph: what was run")
    parser.add_argument("--section", action="append", default=[], help="block prefix to copy")
    parser.add_argument("--judge", action="store_true", help="quote the judge's test accuracy")
    parser.add_argument("--outro", default="", help="closing paragraph")
    args = parser.parse_args(argv)
    text = args.report.read_text(encoding="utf-8")
    parts = [args.intro]
    if args.judge and judge_line(text):
        parts.append(
            "The judge is an emotion classifier trained on other speakers' real (derived-label) "
            f"speech; on real held-out speech: {judge_line(text)} Read emotion accuracies with "
            "that in mind."
        )
    found = select(text, args.section)
    if not found:
        parser.error(f"no section of {args.report} starts with {args.section}")
    parts += found
    if args.outro:
        parts.append(args.outro)
    card = ModelCard.read(args.card)
    card.metrics_table = "\n\n".join(parts)
    card.write(args.card)  # atomic (temp file + replace)
    print(card.metrics_table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
