"""``python -m pipeline.enhance IN [IN ...] --out-dir DIR [--model NAME]``: denoise files."""

from __future__ import annotations

import argparse
import sys

from pipeline import api
from pipeline.cli import Process, add_common_args, run
from pipeline.registry import Registry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.enhance",
        description="Enhance (denoise) speech files; writes DIR/<input stem>.wav at the input rate.",
    )
    add_common_args(parser)
    args = parser.parse_args(argv)
    registry = Registry()

    def make_process(name: str) -> Process:
        return lambda wave, sr: api.enhance(wave, sr, model=name, registry=registry)

    return run(args, parser, task="enhance", make_process=make_process, registry=registry)


if __name__ == "__main__":
    sys.exit(main())
