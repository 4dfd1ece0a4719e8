"""The emotion subcommands of ``python -m pipeline.mos``: ``build-emotion``, ``annotate``,
``labels`` and ``emotion-report`` (see docs/ANNOTATION.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from pipeline.config import add_option_arguments, option_values
from pipeline.corpora import data_dir
from pipeline.mos.builder import BuildError
from pipeline.mos.definition import TestDefinition
from pipeline.mos.emotion_builder import (
    EmotionTestOptions,
    LabelledClip,
    build_annotation_test,
    build_conversion_test,
    read_labelled_clips,
)
from pipeline.mos.emotion_report import write_emotion_report
from pipeline.mos.labels import write_labels
from pipeline.registry import REPO_ROOT

#: the :class:`EmotionTestOptions` fields every emotion build takes from the command line
#: (``--sample-rate`` for ``sample_rate``...), with their type; defaults come from the options
COMMON_OPTIONS = {
    "title": str,
    "instructions": str,
    "sample_rate": int,
    "level_dbov": float,
    "items_per_session": int,
    "gold_per_session": int,
    "ask_intensity": bool,
    "ask_certainty": bool,
    "completion_code": str,
    "seed": int,
}


def add_emotion_parsers(sub) -> None:
    """``build-emotion``, ``annotate``, ``labels`` and ``emotion-report``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--test-id", required=True)
    common.add_argument("--ratings-root", type=Path, default=REPO_ROOT / "ratings")
    add_option_arguments(common, EmotionTestOptions(test_id=""), COMMON_OPTIONS)
    e = sub.add_parser(
        "build-emotion", parents=[common], help="emotion-id / emotion-sim test of conversions"
    )
    e.add_argument("clips", nargs="+", type=Path, help="source clips (natural speech)")
    e.add_argument("--systems", nargs="+", required=True, help="emotion system names")
    e.add_argument("--emotions", nargs="+", required=True, help="target emotions")
    e.add_argument("--intensities", nargs="+", type=float, default=[1.0])
    e.add_argument("--question", choices=["emotion-id", "emotion-sim"], default="emotion-id")
    e.add_argument("--source-label", default=None, help="known emotion of the source clips")
    e.add_argument(
        "--controls", type=Path, default=None, help="CSV path,emotion of natural control clips"
    )
    e.add_argument("--gold", type=int, default=2, help="controls used as gold clips")
    e.add_argument(
        "--references",
        nargs="+",
        default=[],
        metavar="EMOTION=PATH",
        help="emotion-sim: a natural reference clip per target emotion",
    )
    e.add_argument("--votes-per-stimulus", type=int, default=8)
    a = sub.add_parser("annotate", parents=[common], help="annotation test of a corpus manifest")
    a.add_argument("manifest", type=Path, help="CSV with path (relative to --data-dir), emotion")
    a.add_argument("--data-dir", type=Path, default=None, help="default: $STUDIO_DATA or data/")
    a.add_argument("--k", type=int, default=3, help="listeners per clip (at least 3)")
    a.add_argument("--limit", type=int, default=None, help="annotate a random subset")
    a.add_argument("--sources", nargs="*", default=[], help="only these manifest sources")
    a.add_argument("--gold-csv", type=Path, default=None, help="CSV path,emotion of gold clips")
    lab = sub.add_parser("labels", help="aggregate emotion answers into a label table")
    lab.add_argument("csv", type=Path, help="ratings CSV of an emotion-id or annotate test")
    lab.add_argument("--out", type=Path, required=True, help="label table CSV (+ .json)")
    lab.add_argument("--n-iter", type=int, default=100, help="Dawid-Skene EM iterations")
    lab.add_argument(
        "--method",
        choices=["one-coin", "ds"],
        default="one-coin",
        help="one skill per listener, or a full confusion matrix per listener",
    )
    lab.add_argument("--min-gold-accuracy", type=float, default=0.5)
    er = sub.add_parser("emotion-report", help="identification rates, confusion, similarity MOS")
    er.add_argument("csv", type=Path)
    er.add_argument("--out-dir", type=Path, required=True)
    er.add_argument("--min-gold-accuracy", type=float, default=0.5)


def _emotion_options(args, question: str, votes: int, gold: int) -> EmotionTestOptions:
    common = option_values(args, ("test_id", *COMMON_OPTIONS))
    return EmotionTestOptions(question=question, votes_per_stimulus=votes, gold=gold, **common)


def _build_emotion(args) -> TestDefinition:
    if args.command == "annotate":
        root = data_dir(args.data_dir)
        clips = read_labelled_clips(
            args.manifest,
            data_root=root,
            limit=args.limit,
            seed=args.seed or 0,
            sources=args.sources,
        )
        gold = read_labelled_clips(args.gold_csv, data_root=root) if args.gold_csv else []
        options = _emotion_options(args, "annotate", args.k, len(gold))
        return build_annotation_test(
            args.ratings_root, clips, options, gold=gold, progress=lambda it: tqdm(it, unit="clip")
        )
    sources = [LabelledClip(p, args.source_label) for p in args.clips]
    controls = read_labelled_clips(args.controls, data_root=Path(".")) if args.controls else []
    references = {}
    for spec in args.references:
        emotion, sep, path = spec.partition("=")
        if not sep:
            raise BuildError(f"--references takes EMOTION=PATH, got {spec!r}")
        references[emotion] = Path(path)
    options = _emotion_options(args, args.question, args.votes_per_stimulus, args.gold)
    return build_conversion_test(
        args.ratings_root,
        sources,
        args.systems,
        args.emotions,
        options,
        intensities=args.intensities,
        controls=controls,
        references=references,
        progress=lambda it: tqdm(it, unit="clip"),
    )


def run_emotion_command(args) -> bool:
    """Run an emotion subcommand; False when ``args.command`` is not one of them."""
    if args.command in ("build-emotion", "annotate"):
        definition = _build_emotion(args)
        print(
            f"built {args.ratings_root / definition.test_id}: "
            f"{len(definition.stimuli)} stimuli; {definition.notes}"
        )
        print(f"completion code: {definition.completion_code}")
    elif args.command == "labels":
        result = write_labels(
            args.csv,
            args.out,
            n_iter=args.n_iter,
            method=args.method,
            min_gold_accuracy=args.min_gold_accuracy,
        )
        print(
            f"wrote {len(result.table)} labels to {args.out} ({result.provenance()}; "
            f"{len(result.meta['screened_out'])} listener(s) failed gold screening)"
        )
    elif args.command == "emotion-report":
        report = write_emotion_report(
            args.csv, args.out_dir, min_gold_accuracy=args.min_gold_accuracy
        )
        print(report.markdown())
        print(f"\nwrote {', '.join(p.name for p in report.files.values())} to {args.out_dir}")
    else:
        return False
    return True
