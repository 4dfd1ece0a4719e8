"""Copy parts of an evaluation report into a model card's ``metrics_table`` (no typing).

    python scripts/attach_eval_table.py checkpoints/emotion/stargan-emotion/card.json \
        runs/eval_emotion_final/report.md --intro "Independent evaluation, `python -m ...`" \
        --section "### System averages" --section "### Targets" --section "### `stargan-emotion`"

Several reports (one evaluation run each) go into one table, in the order given; ``--heading``
(once per report, optional) puts a line before that report's sections:

    python scripts/attach_eval_table.py checkpoints/enhance/student-gan/card.json \
        runs/eval_valid/enhance_valid/report.md runs/eval_fb48/enhance_test_48k/report.md \
        --intro "..." --section "Averaged over" --heading "#### Ablation" --heading "#### 48 kHz"

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
    parser.add_argument("reports", type=Path, nargs="+", metavar="report")
    parser.add_argument("--intro", required=True, help="first paragraph: what was run")
    parser.add_argument("--section", action="append", default=[], help="block prefix to copy")
    parser.add_argument("--judge", action="store_true", help="quote the judge's test accuracy")
    parser.add_argument("--outro", default="", help="closing paragraph")
    parser.add_argument(
        "--heading", action="append", default=[], help="line before a report's sections, in order"
    )
    args = parser.parse_args(argv)
    if len(args.heading) not in (0, len(args.reports)):
        parser.error(f"{len(args.heading)} --heading for {len(args.reports)} reports")
    texts = [report.read_text(encoding="utf-8") for report in args.reports]
    parts = [args.intro]
    if args.judge and judge_line(texts[0]):
        parts.append(
            "The judge is an emotion classifier trained on other speakers' real (derived-label) "
            f"speech; on real held-out speech: {judge_line(texts[0])} Read emotion accuracies "
            "with that in mind."
        )
    for i, (report, text) in enumerate(zip(args.reports, texts, strict=True)):
        found = select(text, args.section)
        if not found:
            parser.error(f"no section of {report} starts with {args.section}")
        parts += ([args.heading[i]] if args.heading else []) + found
    if args.outro:
        parts.append(args.outro)
    card = ModelCard.read(args.card)
    card.metrics_table = "\n\n".join(parts)
    card.write(args.card)  # atomic (temp file + replace)
    print(card.metrics_table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
