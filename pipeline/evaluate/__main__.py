"""CLI: ``python -m pipeline.evaluate {enhance,emotion,train-classifier}``.

python -m pipeline.evaluate enhance [--test-dir data/enhance_test [DIR ...]]
    [--systems noisy,dsp,mask-gan,deepfilternet3] [--per-snr N] [--out-dir runs/eval_enhance]
    (several test dirs: one report each in <out-dir>/<dir name>/; systems named
    <name>:resample, the old resample-only path, run only on sets above 16 kHz)
python -m pipeline.evaluate train-classifier [--labels PATH] [--out-dir checkpoints/emotion_classifier]
python -m pipeline.evaluate emotion [--systems source,dsp,stargan-emotion]
    [--intensities 1.0,0.5] [--out-dir runs/eval_emotion]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from tqdm import tqdm

from pipeline.corpora import data_dir
from pipeline.registry import CHECKPOINTS, DEFAULT_GAN, Registry


def _csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _progress(desc: str):
    return lambda it: tqdm(it, desc=desc, unit="clip", leave=False)


def _enhance(args: argparse.Namespace) -> int:
    test_dirs = args.test_dir or [data_dir() / "enhance_test"]
    for test_dir in test_dirs:
        out_dir = args.out_dir / test_dir.name if len(test_dirs) > 1 else args.out_dir
        code = _enhance_one(args, test_dir, out_dir)
        if code:
            return code
    return 0


def _enhance_one(args: argparse.Namespace, test_dir: Path, out_dir: Path) -> int:
    import soundfile as sf

    from pipeline.evaluate.enhance_report import (
        RESAMPLE_SUFFIX,
        evaluate_enhancement,
        load_test_set,
        write_outputs,
    )
    from pipeline.metrics import DnsmosScorer

    started = time.perf_counter()
    items = load_test_set(test_dir, per_snr=args.per_snr)
    if not items:
        print(f"error: empty test set in {test_dir}", file=sys.stderr)
        return 2
    registry = Registry(args.checkpoints)
    scorer = None if args.no_dnsmos else DnsmosScorer(short_clips=args.dnsmos_clips)
    systems = _csv_list(args.systems)
    if sf.info(str(items[0].noisy)).samplerate <= 16_000:  # nothing above 8 kHz to keep
        systems = [s for s in systems if not s.endswith(RESAMPLE_SUFFIX)]
    evaluation = evaluate_enhancement(
        items,
        systems,
        registry=registry,
        dnsmos=scorer,
        gan=args.gan,
        jobs=args.jobs,
        progress=_progress("items"),
    )
    elapsed = time.perf_counter() - started
    notes = (
        f"Test set: `{test_dir}` ({len(items)} items). Whole evaluation run took "
        f"{elapsed:.0f} s wall-clock on this machine (torch threads: {args.threads}). "
        "RTF = wall-clock time of `system.enhance` / audio duration, summed over items after "
        "one untimed warm-up call, single process, while none of the evaluation's own scoring "
        f"ran (scoring used {args.jobs} process(es) afterwards). Peak RSS Δ = largest growth of the "
        "process's peak resident memory during one `enhance` call (Linux VmHWM reset per call)."
    )
    report = write_outputs(evaluation, out_dir, notes=notes)
    print(report.read_text())
    print("Target checks:")
    for target in evaluation.targets:
        print("  " + target.line())
    print(f"wrote {out_dir} in {elapsed:.0f} s")
    return 0


def _train_classifier(args: argparse.Namespace) -> int:
    from pipeline.evaluate.classifier_train import train_and_save

    report = train_and_save(
        labels_path=args.labels,
        out_dir=args.out_dir,
        epochs=args.epochs,
        seed=args.seed,
        per_group=args.per_group,
        min_confidence=args.min_confidence,
        hidden=args.hidden,
        dropout=args.dropout,
        weight_decay=args.weight_decay,
        cache_dir=args.cache_dir,
        progress=_progress("features"),
        feature_set=args.features,
    )
    print(report)
    return 0


def _emotion(args: argparse.Namespace) -> int:
    from pipeline.evaluate.emotion_report import EmotionEvalConfig, run_emotion_evaluation

    config = EmotionEvalConfig(
        systems=tuple(_csv_list(args.systems)),
        intensities=tuple(float(x) for x in _csv_list(args.intensities)),
        labels_path=args.labels,
        classifier_dir=args.classifier,
        out_dir=args.out_dir,
        max_clips=args.max_clips,
        checkpoints=args.checkpoints,
        reuse=tuple(_csv_list(args.reuse)),
        gan=args.gan,
        min_confidence=args.min_confidence,
        sweep_clips=args.sweep_clips,
        real_per_emotion=args.real_per_emotion,
        reference_pairs=args.reference_pairs,
        split=args.split,
    )
    text, targets = run_emotion_evaluation(config, progress=_progress("clips"))
    print(text)
    print("Target checks:")
    for target in targets:
        print("  " + target.line())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--checkpoints", type=Path, default=CHECKPOINTS)
    sub = parser.add_subparsers(dest="command", required=True)

    e = sub.add_parser("enhance", help="PESQ/STOI/SI-SDR/DNSMOS + RTF/memory on the test set")
    e.add_argument(
        "--test-dir", type=Path, nargs="+", default=None, help="default: <data>/enhance_test"
    )
    e.add_argument("--systems", default="noisy,dsp,mask-gan,deepfilternet3")
    e.add_argument("--gan", default=DEFAULT_GAN["enhance"], help="system the targets are about")
    e.add_argument("--per-snr", type=int, default=None, help="first N items of each SNR only")
    e.add_argument("--no-dnsmos", action="store_true")
    e.add_argument(
        "--dnsmos-clips",
        choices=("reference", "single"),
        default="reference",
        help="short clips: the reference tiling, or one 9 s window (4-8x cheaper; --jobs 1)",
    )
    e.add_argument("--jobs", type=int, default=1, help="worker processes for the (untimed) scoring")
    e.add_argument("--out-dir", type=Path, default=Path("runs/eval_enhance"))

    c = sub.add_parser("train-classifier", help="train the evaluation emotion classifier")
    c.add_argument("--labels", type=Path, default=None, help="label table (default: the repo's)")
    c.add_argument("--out-dir", type=Path, default=CHECKPOINTS / "emotion_classifier")
    c.add_argument("--cache-dir", type=Path, default=Path("runs/emotion_features"))
    c.add_argument("--epochs", type=int, default=300)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--per-group", type=int, default=80, help="max train clips per speaker+emotion")
    c.add_argument("--min-confidence", type=float, default=0.6, help="label confidence filter")
    c.add_argument("--hidden", type=int, default=64)
    c.add_argument(
        "--features",
        choices=("acoustic", "acoustic+whisper"),
        default="acoustic+whisper",
        help="judge features (default acoustic+whisper: best balanced accuracy on valid)",
    )
    c.add_argument("--dropout", type=float, default=0.5)
    c.add_argument("--weight-decay", type=float, default=1e-2)

    m = sub.add_parser("emotion", help="emotion accuracy, prosody, speaker, DNSMOS, WER")
    m.add_argument("--systems", default=f"source,world,dsp,{DEFAULT_GAN['emotion']}")
    m.add_argument("--gan", default=DEFAULT_GAN["emotion"], help="system the targets are about")
    m.add_argument(
        "--reuse", default="", help="systems whose rows_<system>.csv in --out-dir to reuse"
    )
    m.add_argument("--min-confidence", type=float, default=0.6, help="label confidence filter")
    m.add_argument("--intensities", default="1.0,0.5")
    m.add_argument("--labels", type=Path, default=None)
    m.add_argument("--classifier", type=Path, default=CHECKPOINTS / "emotion_classifier")
    m.add_argument("--max-clips", type=int, default=24, help="held-out neutral source clips")
    m.add_argument("--out-dir", type=Path, default=Path("runs/eval_emotion"))
    m.add_argument(
        "--real-per-emotion", type=int, default=60, help="real labelled clips per emotion"
    )
    m.add_argument(
        "--sweep-clips", type=int, default=6, help="clips of the prosody checks (0: skip them)"
    )
    m.add_argument("--reference-pairs", type=int, default=30, help="reference-mode pairs (0: skip)")
    m.add_argument(
        "--split",
        choices=("test", "valid"),
        default="test",
        help="speakers of the source clips: test (reported) or valid (choosing settings)",
    )

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    handlers = {"enhance": _enhance, "train-classifier": _train_classifier, "emotion": _emotion}
    try:
        return handlers[args.command](args)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
