"""Batch file processing shared by the command-line tools (``python -m pipeline.enhance``,
``python -m pipeline.convert``).

Every input is read and validated with the CLI length limit, processed, and written as
``<out_dir>/<input stem>.wav`` (PCM-16) at the input's sample rate. A bad file prints
``error: <file>: <reason>`` on stderr and the batch carries on; the exit status is non-zero
when any file failed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from pipeline.audio import CLI_MAX_SECONDS, AudioError, read_audio, write_wav
from pipeline.checkpoint import CheckpointError
from pipeline.registry import Registry, UnknownSystemError

log = logging.getLogger(__name__)

#: ``(wave, sr) -> wave``: float32 ``(samples,)`` at ``sr`` Hz in and out.
Process = Callable[[np.ndarray, int], np.ndarray]
#: ``(src, dst, max_seconds) -> notes``: processes a whole file itself (streaming).
FileProcess = Callable[[Path, Path, float | None], tuple[str, ...]]

EXIT_OK, EXIT_FILE_ERRORS, EXIT_USAGE = 0, 1, 2

#: Failures of one file that must not stop the batch (one-line messages).
FILE_ERRORS = (AudioError, ValueError, OSError, CheckpointError)


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Arguments every batch CLI takes: inputs, ``--out-dir``, ``--model``, ``--list``."""
    parser.add_argument("inputs", nargs="*", type=Path, metavar="IN", help="audio files")
    parser.add_argument("--out-dir", type=Path, help="folder for <input stem>.wav results")
    parser.add_argument("--model", default=None, help="system name (default: best shipped)")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=CLI_MAX_SECONDS,
        help=f"longest accepted input in seconds (default {CLI_MAX_SECONDS:g})",
    )
    parser.add_argument("--list", action="store_true", help="list the available systems")


def list_systems(registry: Registry, task: str) -> None:
    """Print one line per system: name, kind, and whether it is the default."""
    default = registry.default(task)
    for entry in registry.entries(task):
        mark = "  (default)" if entry.name == default else ""
        print(f"{entry.name}\t{entry.kind}{mark}")


def process_files(
    inputs: Sequence[Path],
    out_dir: Path,
    process: Process | None = None,
    *,
    file_process: FileProcess | None = None,
    max_seconds: float | None = CLI_MAX_SECONDS,
    desc: str = "processing",
) -> int:
    """Run ``process`` (in memory) or ``file_process`` (file to file) on every input; return
    the number of files that failed."""
    if (process is None) == (file_process is None):
        raise ValueError("give exactly one of process and file_process")
    out_dir.mkdir(parents=True, exist_ok=True)
    used: dict[str, Path] = {}
    failures = 0
    bar = tqdm(inputs, desc=desc, unit="file", disable=len(inputs) < 2, file=sys.stderr)
    for path in bar:
        target = out_dir / f"{path.stem}.wav"
        try:
            if path.stem in used:
                raise ValueError(f"output {target.name} already written for {used[path.stem]}")
            if file_process is not None:
                notes = file_process(path, target, max_seconds)
            else:
                audio = read_audio(path, max_seconds=max_seconds)
                notes = audio.notes
                write_wav(target, process(audio.wave, audio.sample_rate), audio.sample_rate)
            for note in notes:
                tqdm.write(f"note: {path}: {note}", file=sys.stderr)
            used[path.stem] = path
        except FILE_ERRORS as err:
            failures += 1
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            tqdm.write(f"error: {path}: {reason}", file=sys.stderr)
    return failures


def run(
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    *,
    task: str,
    make_process: Callable[[str], Process] | None = None,
    make_file_process: Callable[[str], FileProcess] | None = None,
    registry: Registry | None = None,
) -> int:
    """Shared ``main`` body: list, check arguments, load the system once, process the batch.

    Args:
        make_process: system name → the per-file function (the system is loaded before
            any file is touched, so an unknown name fails fast with a one-line error).
        make_file_process: instead of ``make_process``: system name → a function that
            reads and writes each file itself (streaming, flat memory).
    """
    registry = registry or Registry()
    if args.list:
        list_systems(registry, task)
        return EXIT_OK
    if not args.inputs or args.out_dir is None:
        parser.error("need at least one input file and --out-dir")
    name = args.model or registry.default(task)
    try:
        registry.get(task, name)
    except (UnknownSystemError, CheckpointError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    failures = process_files(
        args.inputs,
        args.out_dir,
        make_process(name) if make_process else None,
        file_process=make_file_process(name) if make_file_process else None,
        max_seconds=args.max_seconds,
        desc=f"{task} ({name})",
    )
    done = len(args.inputs) - failures
    print(f"{done} of {len(args.inputs)} files written to {args.out_dir}", file=sys.stderr)
    return EXIT_FILE_ERRORS if failures else EXIT_OK
