"""Command line of the demo tools.

    python -m pipeline.demo export --inputs a.wav b.flac --systems enhance --out site/ [--zip]
    python -m pipeline.demo export --inputs calm.wav --systems emotion:dsp,emotion:stargan-emotion \\
        --emotion sad --intensity 0.8 --out site/
    python -m pipeline.demo export --examples --systems enhance,emotion --out site/ --zip

``--systems``: comma-separated ``task`` (all systems of the task) or ``task:name``. Every
input goes through every chosen system; ``--examples`` uses the committed example clips
(with their clean references and emotion settings). Writes ``out/index.html`` (open it from
disk) and, with ``--zip``, ``out.zip`` next to it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from pipeline.audio import AudioError, fit_length, read_audio, resample
from pipeline.constants import EMOTIONS, TASKS
from pipeline.demo.compare import compare
from pipeline.demo.examples import conversion_examples, enhancement_examples
from pipeline.demo.site import write_site, zip_site
from pipeline.registry import Registry, UnknownSystemError


def parse_systems(spec: str, registry: Registry) -> dict[str, list[str]]:
    """``"enhance,emotion:dsp"`` → ``{"enhance": [all enhance systems], "emotion": ["dsp"]}``."""
    chosen: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        task, _, name = part.partition(":")
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r} in --systems (use {', '.join(TASKS)})")
        names = registry.names(task) if name in ("", "all") else [name]
        for one in names:
            if one not in registry.names(task):
                raise UnknownSystemError(
                    f"unknown {task} system {one!r} (available: {', '.join(registry.names(task))})"
                )
            chosen.setdefault(task, [])
            if one not in chosen[task]:
                chosen[task].append(one)
    if not chosen:
        raise ValueError("--systems names no system")
    return chosen


def _jobs(args, systems: dict[str, list[str]]) -> list[dict]:
    """One job per (input, task): path, reference path, emotion, intensity, systems."""
    jobs = []
    for task, names in systems.items():
        base = {"task": task, "systems": names, "emotion": args.emotion}
        base["intensity"] = args.intensity
        for path in args.inputs:
            jobs.append({**base, "path": Path(path), "reference": None})
        if args.examples and task == "enhance":
            jobs += [
                {**base, "path": e.path, "reference": e.reference} for e in enhancement_examples()
            ]
        if args.examples and task == "emotion":
            jobs += [
                {
                    **base,
                    "path": e.path,
                    "reference": None,
                    "emotion": e.emotion,
                    "intensity": e.intensity,
                }
                for e in conversion_examples()
            ]
    return jobs


def export(args: argparse.Namespace, registry: Registry) -> Path:
    systems = parse_systems(args.systems, registry)
    jobs = _jobs(args, systems)
    if not jobs:
        raise ValueError("no inputs: give --inputs FILE... and/or --examples")
    comparisons = []
    for job in tqdm(jobs, desc="comparing", unit="input"):
        audio = read_audio(job["path"], max_seconds=args.max_seconds)
        reference = None
        if job["reference"] is not None:
            clean = read_audio(job["reference"], max_seconds=args.max_seconds)
            wave = resample(clean.wave, clean.sample_rate, audio.sample_rate)
            reference = fit_length(wave, len(audio.wave))
        comparisons.append(
            compare(
                job["task"],
                audio.wave,
                audio.sample_rate,
                systems=job["systems"],
                emotion=job["emotion"],
                intensity=job["intensity"],
                reference=reference,
                title=job["path"].stem,
                registry=registry,
                dnsmos=not args.no_dnsmos,
            )
        )
    index = write_site(comparisons, args.out, title=args.title)
    print(f"wrote {index}")
    if args.zip:
        print(f"wrote {zip_site(args.out)}")
    return index


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.demo", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("export", help="write a static audio samples page")
    p.add_argument("--inputs", nargs="*", default=[], metavar="FILE", help="input audio files")
    p.add_argument("--examples", action="store_true", help="add the committed example clips")
    p.add_argument("--systems", default="enhance", help="task or task:name, comma-separated")
    p.add_argument("--emotion", default="angry", choices=EMOTIONS, help="conversion target")
    p.add_argument("--intensity", type=float, default=0.8, help="conversion intensity 0-1")
    p.add_argument("--out", type=Path, required=True, help="output folder (index.html inside)")
    p.add_argument("--zip", action="store_true", help="also write <out>.zip")
    p.add_argument("--title", default="Audio samples", help="page title")
    p.add_argument("--no-dnsmos", action="store_true", help="skip DNSMOS (faster)")
    p.add_argument("--max-seconds", type=float, default=60.0, help="longest input accepted")
    p.add_argument("--checkpoints", type=Path, default=None, help="checkpoints root")
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    registry = Registry(args.checkpoints) if args.checkpoints else Registry()
    try:
        export(args, registry)
    except (AudioError, UnknownSystemError, ValueError, OSError) as err:
        print(f"error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
