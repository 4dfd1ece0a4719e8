"""``python -m pipeline.mos build|report ...`` — build listening tests, analyse ratings.

Examples::

    python -m pipeline.mos build data/noisy/*.wav --test-id enh1 --question acr \\
        --systems input enhance:dsp enhance:mask-gan --clean-dir data/clean --ratings-root ratings
    python -m pipeline.mos build calm/*.wav --test-id emo1 --question smos --reference input \\
        --systems emotion:dsp:angry:0.8 emotion:stargan-emotion:angry:0.8
    python -m pipeline.mos report ratings/enh1/ratings.csv --out-dir runs/enh1_report
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from pipeline.audio import AudioError
from pipeline.mos.builder import BuildError, BuildOptions, build_test
from pipeline.mos.definition import QUESTIONS, DefinitionError
from pipeline.mos.emotion_report import write_emotion_report
from pipeline.mos.labels import write_labels
from pipeline.mos.report import write_report
from pipeline.mos.stats import ScreeningRules
from pipeline.mos.storage import RatingError
from pipeline.registry import REPO_ROOT, UnknownSystemError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.mos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="make a test folder with stimuli and a definition")
    b.add_argument("clips", nargs="+", type=Path, help="input audio files")
    b.add_argument("--test-id", required=True)
    b.add_argument(
        "--systems",
        nargs="+",
        required=True,
        help="input, clean, enhance:NAME, emotion:NAME:EMOTION[:INTENSITY]",
    )
    b.add_argument("--question", choices=sorted(QUESTIONS), default="acr")
    b.add_argument(
        "--reference",
        choices=["input", "clean"],
        default=None,
        help="reference clip of paired questions (dcr, ccr, smos, ab)",
    )
    b.add_argument(
        "--clean-dir",
        type=Path,
        default=None,
        help="clean counterparts with the same file names (system 'clean')",
    )
    b.add_argument("--ratings-root", type=Path, default=REPO_ROOT / "ratings")
    b.add_argument("--title", default="")
    b.add_argument("--instructions", default="")
    b.add_argument("--attribute", default="quality", help="what ACR asks about")
    b.add_argument("--sample-rate", type=int, default=16_000)
    b.add_argument("--level-dbov", type=float, default=-26.0)
    b.add_argument("--items-per-session", type=int, default=10)
    b.add_argument("--votes-per-stimulus", type=int, default=8)
    b.add_argument("--gold", type=int, default=1, help="number of gold (degraded) items")
    b.add_argument(
        "--traps",
        type=int,
        default=1,
        help="number of trap items (attention checks asking for a stated answer)",
    )
    b.add_argument("--no-training", action="store_true")
    b.add_argument("--no-headphone-check", action="store_true")
    b.add_argument("--completion-code", default=None)
    b.add_argument("--seed", type=int, default=None)
    r = sub.add_parser("report", help="statistics, screening and chart from a ratings CSV")
    r.add_argument("csv", type=Path)
    r.add_argument("--out-dir", type=Path, required=True)
    r.add_argument("--gold-tolerance", type=float, default=1.0)
    r.add_argument("--min-variance", type=float, default=0.1)
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "build":
            options = BuildOptions(
                test_id=args.test_id,
                question=args.question,
                reference=args.reference,
                title=args.title,
                instructions=args.instructions,
                attribute=args.attribute,
                sample_rate=args.sample_rate,
                level_dbov=args.level_dbov,
                items_per_session=args.items_per_session,
                votes_per_stimulus=args.votes_per_stimulus,
                gold=args.gold,
                traps=args.traps,
                training=not args.no_training,
                headphone_check=not args.no_headphone_check,
                completion_code=args.completion_code,
                seed=args.seed,
            )
            definition = build_test(
                args.ratings_root,
                args.clips,
                args.systems,
                options,
                clean_dir=args.clean_dir,
                progress=lambda it: tqdm(it, total=len(args.clips), unit="clip"),
            )
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
            rules = ScreeningRules(args.gold_tolerance, args.min_variance)
            report = write_report(args.csv, args.out_dir, rules)
            print(report.markdown())
            print(f"\nwrote {', '.join(p.name for p in report.files.values())} to {args.out_dir}")
    except (
        BuildError,
        AudioError,
        DefinitionError,
        RatingError,
        UnknownSystemError,
        OSError,
    ) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
