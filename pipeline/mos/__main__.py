"""``python -m pipeline.mos build|report|export|links|build-emotion|annotate|labels|emotion-report``.

Examples::

    python -m pipeline.mos build data/noisy/*.wav --test-id enh1 --question acr \\
        --systems input enhance:dsp enhance:mask-gan --clean-dir data/clean --ratings-root ratings
    python -m pipeline.mos build calm/*.wav --test-id emo1 --question smos --reference input \\
        --systems emotion:dsp:angry:0.8 emotion:stargan-emotion:angry:0.8
    python -m pipeline.mos report ratings/enh1/ratings.csv --out-dir runs/enh1_report
    python -m pipeline.mos build-emotion calm/*.wav --test-id eid1 --systems dsp stargan-emotion \\
        --emotions angry happy sad --intensities 0.5 1 --controls labelled.csv --ask-intensity
    python -m pipeline.mos annotate pipeline/emotion/resources/emotion_labels.csv --test-id ann1 \\
        --limit 300 --k 3 --gold-csv gold.csv
    python -m pipeline.mos labels ratings/ann1/ratings.csv --out labels.csv
    python -m pipeline.mos emotion-report ratings/eid1/ratings.csv --out-dir runs/eid1_report
    python -m pipeline.mos links ratings/enh1 --base-url https://study.example.org \\
        --new-secret --ids P001 P002 P003
    python -m pipeline.mos export --db postgresql://user@host/db --test enh1 --out ratings.csv
"""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
from pathlib import Path

from tqdm import tqdm

from pipeline.audio import AudioError
from pipeline.config import add_option_arguments, option_values
from pipeline.mos.backends import ENV_VAR, database_url
from pipeline.mos.builder import BuildError, BuildOptions, build_test
from pipeline.mos.definition import (
    EMOTION_QUESTIONS,
    QUESTIONS,
    DefinitionError,
    load_definition,
    save_definition,
)
from pipeline.mos.emotion_cli import add_emotion_parsers, run_emotion_command
from pipeline.mos.listening import clean_listener_id, listener_link
from pipeline.mos.report import write_report
from pipeline.mos.stats import ScreeningRules
from pipeline.mos.storage import RatingError
from pipeline.registry import REPO_ROOT, UnknownSystemError

#: the :class:`BuildOptions` fields ``build`` takes as ``--some-name`` (defaults from there)
BUILD_OPTIONS = {
    "title": str,
    "instructions": str,
    "attribute": str,
    "sample_rate": int,
    "level_dbov": float,
    "items_per_session": int,
    "votes_per_stimulus": int,
    "gold": int,
    "traps": int,
    "completion_code": str,
    "seed": int,
}
BUILD_HELP = {
    "attribute": "what ACR asks about",
    "gold": "number of gold (degraded) items",
    "traps": "number of trap items (attention checks asking for a stated answer)",
}


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
    b.add_argument(
        "--question", choices=sorted(set(QUESTIONS) - set(EMOTION_QUESTIONS)), default="acr"
    )
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
    add_option_arguments(b, BuildOptions(test_id=""), BUILD_OPTIONS, BUILD_HELP)
    b.add_argument("--no-training", action="store_true")
    b.add_argument("--no-headphone-check", action="store_true")
    r = sub.add_parser("report", help="statistics, screening and chart from a ratings CSV")
    r.add_argument("csv", type=Path)
    r.add_argument("--out-dir", type=Path, required=True)
    r.add_argument("--gold-tolerance", type=float, default=1.0)
    r.add_argument("--min-variance", type=float, default=0.1)
    e = sub.add_parser("export", help="write a test's ratings from the database as CSV")
    e.add_argument("--db", default=None, help="postgresql:// URL (default: $STUDIO_RATINGS_DB)")
    e.add_argument("--test", required=True, help="test id")
    e.add_argument("--out", type=Path, required=True, help="CSV file to write")
    _add_links_parser(sub)
    add_emotion_parsers(sub)
    return parser


def export(db: str | None, test_id: str, out: Path) -> int:
    """Write the test's ratings from the database to ``out``; returns the row count."""
    url = database_url(db)
    if url is None:
        raise ValueError(f"no database: give --db or set {ENV_VAR}")
    from pipeline.mos.pg_store import ConnectionPool, export_csv

    pool = ConnectionPool(url)
    try:
        return export_csv(pool, test_id, out)
    finally:
        pool.close()


def _add_links_parser(sub) -> None:
    k = sub.add_parser("links", help="per-listener links (with keys when the test has a secret)")
    k.add_argument("test_dir", type=Path, help="the test folder (ratings/<test_id>)")
    k.add_argument("--base-url", required=True, help="where the app is served")
    k.add_argument("--ids", nargs="*", default=[], help="listener ids")
    k.add_argument("--ids-file", type=Path, help="a file with one listener id per line")
    k.add_argument(
        "--new-secret",
        action="store_true",
        help="store a new link secret in the definition first (older keys stop working)",
    )


def _links(args) -> None:
    definition = load_definition(args.test_dir)
    if args.new_secret:
        definition.link_secret = secrets.token_hex(16)
        save_definition(definition, args.test_dir)
    ids = list(args.ids)
    if args.ids_file:
        ids += [line.strip() for line in args.ids_file.read_text().splitlines() if line.strip()]
    for listener in ids:
        print(listener_link(args.base_url, definition, clean_listener_id(listener)))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if run_emotion_command(args):  # build-emotion, annotate, labels, emotion-report
            return 0
        if args.command == "links":
            _links(args)
        elif args.command == "export":
            count = export(args.db, args.test, args.out)
            print(f"wrote {count} ratings of {args.test} to {args.out}")
        elif args.command == "build":
            options = BuildOptions(
                training=not args.no_training,
                headphone_check=not args.no_headphone_check,
                **option_values(args, ("test_id", "question", "reference", *BUILD_OPTIONS)),
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
        ValueError,
    ) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
