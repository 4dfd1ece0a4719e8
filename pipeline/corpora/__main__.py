"""CLI: ``python -m pipeline.corpora {prepare,testset,summary}``.

python -m pipeline.corpora prepare [--data-dir data] [--cache-dir DIR] [--packages ...]
python -m pipeline.corpora testset [--data-dir data] [--seed 0]
python -m pipeline.corpora summary [--data-dir data]
python -m pipeline.corpora quality [--data-dir data] [--extra data/extra/manifest.csv]
    [--out manifest_clean.csv] [--valid-dir enhance_valid_clean] [--min-ovrl 2.2 --min-bak 3.0]
python -m pipeline.corpora targets [--data-dir data] [--extra data/extra/manifest.csv]
    [--system deepfilternet3] [--out manifest_targets.csv] [--valid-dir enhance_valid_targets]
python -m pipeline.corpora clean-targets [--data-dir data] [--extra data/extra/manifest.csv]
    [--min-ovrl 2.8] [--jobs 2] [--max-minutes M] [--out manifest_clean_targets.csv]
    [--report-only]
python -m pipeline.corpora testset --studio-only     # data/enhance_test_studio (clean refs only)
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from pipeline.corpora import CorpusError, data_dir, debian

#: speech sources recorded in a studio (clean references, never cleaned by a system)
STUDIO_SOURCES = ("asterisk",)


def _summary(root: Path) -> None:
    from pipeline.corpora.prepare import read_manifest, summarize

    rows = read_manifest(root / "manifest.csv")
    print(f"{'kind':6} {'source':16} {'split':6} {'clips':>6} {'minutes':>8} {'speakers':>8}")
    for e in summarize(rows):
        print(
            f"{e['kind']:6} {e['source']:16} {e['split']:6} {e['clips']:6d} "
            f"{e['minutes']:8.1f} {e['speakers']:8d}"
        )


def _special_testsets(root: Path, args: argparse.Namespace) -> None:
    """``testset --studio-only`` / ``--full-band`` (the default sets are not rewritten)."""
    if args.studio_only:
        from pipeline.corpora.mixing import build_test_set

        path = build_test_set(
            root / "manifest.csv",
            root / "enhance_test_studio",
            split="test",
            per_snr=args.per_snr,
            seed=args.seed,
            speech_sources=STUDIO_SOURCES,
        )
        print(f"wrote {path}")
    if args.full_band:
        from pipeline.corpora.fullband_set import build_fullband_test_set

        path = build_fullband_test_set(
            root / "manifest.csv", root / "cache" / "extract", root / "enhance_test_48k"
        )
        print(f"wrote {path}")


def _clean_targets(root: Path, args: argparse.Namespace) -> None:
    import time

    from pipeline.corpora import clean_targets as ct
    from pipeline.corpora.mixing import build_test_set
    from pipeline.corpora.quality import merged_rows

    config = ct.CleanTargetsConfig(
        system=args.system,
        subdir=args.subdir,
        min_ovrl=args.min_ovrl,
        jobs=args.jobs,
        max_minutes=args.max_minutes,
    )
    rows = merged_rows(root / "manifest.csv", args.extra)
    started = time.perf_counter()
    if not args.report_only:
        total = len(ct.pending_jobs(rows, root, config))
        report = ct.clean_targets(
            root / "manifest.csv",
            root / args.out,
            config,
            rows=rows,
            progress=lambda it: tqdm(it, total=total, desc=args.system, unit="clip"),
        )
        wall = time.perf_counter() - started
        print(
            f"cleaned {report['cleaned_now']} clips ({report['audio_s'] / 60:.1f} min of audio) "
            f"in {wall / 60:.1f} min wall-clock with {args.jobs} job(s): "
            f"{report['audio_s'] / max(wall, 1e-9):.1f} s of audio per second; "
            f"cleaner RTF per worker {report['rtf']:.3f}"
        )
        print({k: report[k] for k in ("kept", "screened_out", "not_cleaned")})
        build_test_set(
            root / args.out, root / args.valid_dir, split="valid", per_snr=4, min_seconds=1.0
        )
    done = ct.read_ledger(root / config.subdir / ct.LEDGER_NAME)
    ovrl = sorted(e["ovrl"] for e in done.values())
    if ovrl:
        import numpy as np

        qs = np.quantile(ovrl, [0.1, 0.25, 0.5, 0.75, 0.9])
        share = sum(v >= config.min_ovrl for v in ovrl) / len(ovrl)
        print(
            f"DNSMOS OVRL after cleaning, {len(ovrl)} clips: quantiles 10/25/50/75/90 % = "
            + " / ".join(f"{q:.2f}" for q in qs)
            + f"; {share:.0%} at or above {config.min_ovrl}"
        )
    print(
        "source | licence | min before | spk before | min cleaned | median OVRL | "
        "min kept | spk kept"
    )
    for t in ct.screen_table(rows, root, config):
        print(
            f"{t['source']} | {t['licence']} | {t['minutes_before']:.1f} | "
            f"{t['speakers_before']} | {t['minutes_cleaned']:.1f} | {t['median_ovrl']:.2f} | "
            f"{t['minutes_kept']:.1f} | {t['speakers_kept']}"
        )


def _add_prepare_testset_summary(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prepare", help="fetch Debian packages and build data/manifest.csv")
    p.add_argument("--data-dir", type=Path, default=None, help="default: $STUDIO_DATA or data/")
    p.add_argument("--cache-dir", type=Path, default=None, help="default: <data-dir>/cache")
    p.add_argument("--packages", nargs="+", default=list(debian.DEFAULT_PACKAGES))
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--force", action="store_true", help="re-decode existing wavs")
    t = sub.add_parser("testset", help="write the fixed enhancement test and validation sets")
    t.add_argument("--data-dir", type=Path, default=None)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--per-snr", type=int, default=50, help="test utterances per SNR")
    t.add_argument("--valid-items", type=int, default=16)
    t.add_argument(
        "--studio-only",
        action="store_true",
        help="only the studio prompts (asterisk) of the test split: data/enhance_test_studio",
    )
    t.add_argument(
        "--full-band",
        action="store_true",
        help="48 kHz pairs from the packaged >=44.1 kHz originals: data/enhance_test_48k",
    )
    s = sub.add_parser("summary", help="minutes / clips / speakers per source and split")
    s.add_argument("--data-dir", type=Path, default=None)


def _add_quality(sub: argparse._SubParsersAction) -> None:
    q = sub.add_parser(
        "quality", help="DNSMOS-screen train/valid speakers into a clean-target manifest"
    )
    q.add_argument("--data-dir", type=Path, default=None)
    q.add_argument("--extra", type=Path, nargs="*", default=[], help="more prepared manifests")
    q.add_argument("--out", default="manifest_clean.csv", help="file name in the data dir")
    q.add_argument("--valid-dir", default="enhance_valid_clean", help="folder in the data dir")
    q.add_argument("--clips-per-speaker", type=int, default=12)
    q.add_argument("--min-ovrl", type=float, default=2.2)
    q.add_argument("--min-bak", type=float, default=3.0)
    q.add_argument(
        "--medians", type=Path, default=None, help="reuse a speakers CSV instead of scoring"
    )


def _add_target_cleaning(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser(
        "targets", help="clean the train/valid speech of noisy-floor sources into a new manifest"
    )
    g.add_argument("--data-dir", type=Path, default=None)
    g.add_argument("--extra", type=Path, nargs="*", default=[], help="more prepared manifests")
    g.add_argument("--system", default="deepfilternet3", help="enhancement system that cleans")
    g.add_argument(
        "--sources",
        nargs="+",
        default=["fillets-cs", "fillets-nl", "hedgewars"],
        help="manifest sources whose speech is cleaned (others are kept as recorded)",
    )
    g.add_argument("--out", default="manifest_targets.csv", help="file name in the data dir")
    g.add_argument("--valid-dir", default="enhance_valid_targets", help="folder in the data dir")
    g.add_argument("--jobs", type=int, default=2)
    c = sub.add_parser(
        "clean-targets",
        help="clean ALL train/valid speech with DFN3 (cached, resumable), DNSMOS-screen it",
    )
    c.add_argument("--data-dir", type=Path, default=None)
    c.add_argument("--extra", type=Path, nargs="*", default=[], help="more prepared manifests")
    c.add_argument("--system", default="deepfilternet3", help="enhancement system that cleans")
    c.add_argument("--subdir", default="speech_dfn3", help="folder in the data dir (+ ledger)")
    c.add_argument("--min-ovrl", type=float, default=2.8, help="keep clips with OVRL >= this")
    c.add_argument("--out", default="manifest_clean_targets.csv", help="file name in data dir")
    c.add_argument("--valid-dir", default="enhance_valid_clean_targets", help="folder in data dir")
    c.add_argument("--jobs", type=int, default=2)
    c.add_argument(
        "--max-minutes",
        type=float,
        default=0.0,
        help="stop after this much wall-clock time and write the manifest from what is cleaned "
        "(the rest stays pending for the next run; 0: no limit)",
    )
    c.add_argument(
        "--report-only", action="store_true", help="clean nothing new; screen what is cached"
    )


def build_parser() -> argparse.ArgumentParser:
    """The CLI's parser: one subcommand per step (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.corpora", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_prepare_testset_summary(sub)
    _add_quality(sub)
    _add_target_cleaning(sub)
    return parser


def _prepare(root: Path, args: argparse.Namespace) -> None:
    from pipeline.corpora.prepare import PrepareConfig, prepare

    config = PrepareConfig(
        data_dir=root,
        cache_dir=args.cache_dir or root / "cache",
        packages=tuple(args.packages),
        seed=args.seed,
        force=args.force,
    )
    prepare(config, progress=lambda it: tqdm(it, desc="clips", unit="clip"))
    _summary(root)


def _testsets(root: Path, args: argparse.Namespace) -> None:
    """The fixed test and validation sets, or only the special ones when asked for."""
    if args.studio_only or args.full_band:
        _special_testsets(root, args)
        return
    from pipeline.corpora.mixing import build_test_set

    for name, split, per_snr, snrs in (
        ("enhance_test", "test", args.per_snr, (0.0, 5.0, 10.0, 15.0)),
        ("enhance_valid", "valid", args.valid_items // 4, (0.0, 5.0, 10.0, 15.0)),
    ):
        csv_path = build_test_set(
            root / "manifest.csv",
            root / name,
            split=split,
            snrs=snrs,
            per_snr=per_snr,
            seed=args.seed,
        )
        print(f"wrote {csv_path}")


def _manifest_step(step, root: Path, args: argparse.Namespace, config, progress, **more):
    """Run a manifest-to-manifest step (``quality``, ``targets``) on the data folder's manifest
    and ``--extra`` manifests, writing ``--out`` and the validation set ``--valid-dir``."""
    return step(
        root / "manifest.csv",
        root / args.out,
        config,
        extras=args.extra,
        valid_dir=root / args.valid_dir,
        progress=progress,
        **more,
    )


def _quality(root: Path, args: argparse.Namespace) -> None:
    from pipeline.corpora.quality import QualityConfig, screen

    config = QualityConfig(args.clips_per_speaker, args.min_ovrl, args.min_bak)
    import pandas as pd

    medians = pd.read_csv(args.medians) if args.medians else None
    verdicts = _manifest_step(
        screen,
        root,
        args,
        config,
        lambda it: tqdm(list(it), desc="DNSMOS", unit="clip"),
        medians=medians,
    )
    print(verdicts.to_string(index=False, float_format="%.2f"))


def _targets(root: Path, args: argparse.Namespace) -> None:
    from pipeline.corpora.targets import TargetsConfig, pseudo_clean_targets

    config = TargetsConfig(system=args.system, sources=tuple(args.sources), jobs=args.jobs)
    print(
        _manifest_step(
            pseudo_clean_targets,
            root,
            args,
            config,
            lambda it: tqdm(it, desc=args.system, unit="clip"),
        )
    )


#: subcommand -> what it runs, given the data folder and the parsed arguments
COMMANDS = {
    "prepare": _prepare,
    "testset": _testsets,
    "summary": lambda root, args: _summary(root),
    "quality": _quality,
    "targets": _targets,
    "clean-targets": _clean_targets,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    root = data_dir(args.data_dir)
    try:
        COMMANDS[args.command](root, args)
    except CorpusError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
