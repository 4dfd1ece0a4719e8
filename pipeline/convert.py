"""``python -m pipeline.convert IN [IN ...] (--emotion E | --reference FILE) [--intensity X] --out-dir DIR``.

Converts the emotion of speech files; writes ``DIR/<input stem>.wav`` at the input rate.
``--reference FILE`` takes the target prosody from that clip ("emotion from this clip"; only
systems that accept references, the default ``envelope-gan`` among them); ``--emotion`` is
then optional and ``--intensity`` scales the move towards the reference.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline import api
from pipeline.audio import AudioError, read_audio
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
    parser.add_argument(
        "--reference", type=Path, help="take the target prosody from this clip instead"
    )
    parser.add_argument("--intensity", type=_intensity, default=1.0, help="0..1 (default 1)")
    args = parser.parse_args(argv)
    if not args.list and args.emotion is None and args.reference is None:
        parser.error("--emotion is required (or give --reference)")
    reference = None
    if args.reference is not None and not args.list:
        try:
            audio = read_audio(args.reference, max_seconds=args.max_seconds)
        except (AudioError, OSError) as err:
            print(f"error: {args.reference}: {err}", file=sys.stderr)
            return 2
        reference = (audio.wave, audio.sample_rate)
    registry = Registry()

    def make_process(name: str) -> Process:
        return lambda wave, sr: api.convert(
            wave,
            sr,
            args.emotion,
            args.intensity,
            model=name,
            registry=registry,
            reference=reference,
        )

    return run(args, parser, task="emotion", make_process=make_process, registry=registry)


if __name__ == "__main__":
    sys.exit(main())
