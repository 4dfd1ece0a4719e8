"""``python -m pipeline.enhance IN [IN ...] --out-dir DIR [--model NAME]``: denoise files."""

from __future__ import annotations

import argparse
import sys

from pipeline import api
from pipeline.cli import FileProcess, add_common_args, run
from pipeline.registry import Registry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.enhance",
        description="Enhance (denoise) speech files; writes DIR/<input stem>.wav at the input rate. "
        "Files are processed block by block, so memory does not grow with their length.",
    )
    add_common_args(parser)
    args = parser.parse_args(argv)
    registry = Registry()

    def make_file_process(name: str) -> FileProcess:
        def process(src, dst, max_seconds):
            return api.enhance_file(
                src, dst, model=name, max_seconds=max_seconds, registry=registry
            )

        return process

    return run(args, parser, task="enhance", make_file_process=make_file_process, registry=registry)


if __name__ == "__main__":
    sys.exit(main())
