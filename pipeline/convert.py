"""``python -m pipeline.convert IN [IN ...] --emotion E [--intensity X] --out-dir DIR``.

Converts the emotion of speech files; writes ``DIR/<input stem>.wav`` at the input rate.
"""

from __future__ import annotations

import argparse
import sys

from pipeline import api
from pipeline.cli import Process, add_common_args, run
from pipeline.constants import EMOTIONS
from pipeline.registry import Registry


def _intensity(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"intensity must be between 0 and 1, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.convert",
        description="Convert the emotion of speech files; writes DIR/<input stem>.wav.",
    )
    add_common_args(parser)
    parser.add_argument("--emotion", choices=EMOTIONS, help="target emotion")
    parser.add_argument("--intensity", type=_intensity, default=1.0, help="0..1 (default 1)")
    args = parser.parse_args(argv)
    if not args.list and args.emotion is None:
        parser.error("--emotion is required")
    registry = Registry()

    def make_process(name: str) -> Process:
        return lambda wave, sr: api.convert(
            wave, sr, args.emotion, args.intensity, model=name, registry=registry
        )

    return run(args, parser, task="emotion", make_process=make_process, registry=registry)


if __name__ == "__main__":
    sys.exit(main())
