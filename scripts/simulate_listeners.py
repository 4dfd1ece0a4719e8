"""Simulated listeners drive the emotion tests end to end and print every figure.

    python scripts/simulate_listeners.py --out runs/annot/sim [--train-steps 30] [--seed 0]

Runs (see pipeline/mos/simulate.py; nothing here measures a real system):

1. annotation: a synthetic acted corpus → ``annotate`` test (k listeners per clip, gold
   clips) → simulated crowd with spammers → ``python -m pipeline.mos labels`` logic →
   recovery error of the aggregated labels vs the known truth, spammers caught by gold;
2. labels → a tiny emotion training run that reads the label table (``--labels``);
3. identification: dsp conversions + natural controls → ``emotion-id`` test → the emotion
   report, whose rates and Wilson intervals are compared with the simulation's rates;
4. planning: answers per (system, target) cell, listeners per clip and listeners in total
   for a ±0.05 interval on an identification rate, with a Monte-Carlo coverage check.

Writes ``figures.json`` and the reports under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.mos.emotion_builder import (  # noqa: E402
    EmotionTestOptions,
    build_annotation_test,
    needed_listeners,
    read_labelled_clips,
)
from pipeline.mos.labels import aggregate_labels, write_labels  # noqa: E402
from pipeline.mos.simulate import (  # noqa: E402
    TINY_EMOTION_GAN_SIZE,
    Crowd,
    answers_for_half_width,
    confusion_matrix,
    listener_flow,
    run_crowd,
    synthetic_corpus,
    wilson_half_width,
)
from pipeline.mos.storage import read_ratings  # noqa: E402
from scripts.simulate_identification import identification_run  # noqa: E402

TINY_GAN = [
    *TINY_EMOTION_GAN_SIZE,
    "train.log_every=10",
    "train.val_every=1000",
    "train.ckpt_every=1000",
]


def annotation_run(out: Path, manifest: Path, *, k: int, spam: float, seed: int) -> dict:
    """Annotate every corpus clip with k (kept) listeners; aggregate; compare with truth."""
    data_root = manifest.parent
    clips = read_labelled_clips(manifest, data_root=data_root)
    rng = np.random.default_rng(seed)
    gold_idx = set(rng.choice(len(clips), size=10, replace=False).tolist())
    gold = [c for i, c in enumerate(clips) if i in gold_idx]
    options = EmotionTestOptions(
        test_id=f"ann_k{k}_spam{int(spam * 100)}_seed{seed}",
        question="annotate",
        items_per_session=20,
        votes_per_stimulus=k,
        gold_per_session=2,
        seed=seed,
    )
    build_annotation_test(out, clips, options, gold=gold)
    flow = listener_flow(out / options.test_id)
    test = flow.test
    crowd = Crowd(confusion_matrix(0.7), spam_share=spam, seed=seed)
    sessions = needed_listeners(len(clips), k, options.items_per_session)
    n_listeners = math.ceil(sessions / (1 - spam))  # over-recruit for the expected spammers
    started = time.perf_counter()
    kinds = run_crowd(flow, crowd, n_listeners)
    elapsed = time.perf_counter() - started
    frame = read_ratings(test.store.path)
    truth = {c.item_id: c.label for c in clips}
    figures = {"k": k, "spam_share": spam, "clips": len(clips), "listeners": n_listeners}
    figures["spammers"] = sum(s for s, _ in kinds.values())
    figures["answers"] = int(len(frame))
    figures["answers_per_s"] = round(len(frame) / elapsed, 1)
    spammers = {lid for lid, (s, _) in kinds.items() if s}
    for method, threshold in (("one-coin", 0.5), ("one-coin", 1.0), ("ds", 0.5)):
        result = aggregate_labels(frame, method=method, min_gold_accuracy=threshold)
        table = result.table
        right = table["item_id"].map(truth)
        dropped = set(result.meta["screened_out"])
        confident = table["confidence"] >= 0.9
        figures[f"{method}, gold>={threshold:g}"] = {
            "error": round(float((table["label"] != right).mean()), 4),
            "majority_error": round(float((table["majority_label"] != right).mean()), 4),
            "error_confidence>=0.9": round(
                float((table.loc[confident, "label"] != right[confident]).mean()), 4
            ),
            "share_confidence>=0.9": round(float(confident.mean()), 4),
            "spammers_caught": f"{len(dropped & spammers)}/{len(spammers)}",
            "honest_dropped": f"{len(dropped - spammers)}/{len(kinds) - len(spammers)}",
            "raters_per_clip_min_median": [
                int(table["n_raters"].min()),
                float(table["n_raters"].median()),
            ],
            "alpha": round(float(result.meta["alpha"]), 4),
        }
    labels_csv = out / options.test_id / "labels.csv"
    write_labels(test.store.path, labels_csv, min_gold_accuracy=0.5)
    figures["labels_csv"] = str(labels_csv)
    return figures


def summarise(runs: list[dict]) -> dict:
    """Mean and range over replications of each setting's recovery and screening figures."""
    out = {"k": runs[0]["k"], "spam_share": runs[0]["spam_share"], "replications": len(runs)}
    for key in [k for k in runs[0] if "gold>=" in k]:
        cell = {}
        for metric in ("error", "majority_error", "error_confidence>=0.9", "share_confidence>=0.9"):
            values = [r[key][metric] for r in runs]
            cell[metric] = f"{np.mean(values):.3f} [{min(values):.3f}, {max(values):.3f}]"
        for metric in ("spammers_caught", "honest_dropped"):
            pairs = [tuple(map(int, r[key][metric].split("/"))) for r in runs]
            cell[metric] = f"{sum(a for a, _ in pairs)}/{sum(b for _, b in pairs)}"
        cell["min_raters_per_clip"] = min(r[key]["raters_per_clip_min_median"][0] for r in runs)
        cell["alpha"] = f"{np.mean([r[key]['alpha'] for r in runs]):.3f}"
        out[key] = cell
    return out


def training_run(out: Path, manifest: Path, labels_csv: Path, steps: int) -> dict:
    """A tiny emotion training run that reads the human label table."""
    from pipeline.checkpoint import read_checkpoint
    from pipeline.train.cli import main as train_main

    run = out / "train_on_labels"
    config = out / "train_on_labels.yaml"
    config.write_text(
        f"data:\n  label_table: {manifest}\n  cache_dir: cache\n  min_confidence: 0.8\n"
        f"train:\n  out_dir: {run}\n  steps: {steps}\n  seed: 1\n  num_threads: 1\n"
    )
    os.environ["STUDIO_DATA"] = str(manifest.parent)
    sets = [x for item in TINY_GAN for x in ("--set", item)]
    started = time.perf_counter()
    code = train_main(["emotion", "--config", str(config), "--labels", str(labels_csv), *sets])
    extra = read_checkpoint(run / "last.pt")["extra"] if code == 0 else {}
    labels = pd.read_csv(labels_csv)
    return {
        "exit_code": code,
        "steps": extra.get("step"),
        "seconds": round(time.perf_counter() - started, 1),
        "label_rows": len(labels),
        "rows_with_confidence>=0.8": int((labels["confidence"] >= 0.8).sum()),
        "clip_counts": extra.get("clip_counts"),
        "label_provenance": extra.get("label_provenance"),
    }


def planning(
    seed: int, cells: int = 8, clips_per_cell: int = 10, session: int = 20, spam: float = 0.2
) -> dict:
    """Answers / listeners for a ±0.05 95 % interval, and a Monte-Carlo coverage check."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in (0.2, 0.35, 0.5, 0.65, 0.8, 0.9):
        n = answers_for_half_width(p)
        per_clip = math.ceil(n / clips_per_cell)
        total = math.ceil(cells * clips_per_cell * per_clip / session / (1 - spam))
        # coverage with heterogeneous listeners (skill ~ N(1, 0.15)), each giving
        # session / cells answers to this cell
        per_listener = max(1, session // cells)
        hits, widths = 0, []
        for _ in range(2000):
            m = math.ceil(n / per_listener)
            skill = np.clip(rng.normal(1.0, 0.15, m), 0.5, 1.5)
            chance = np.minimum(0.99, p * skill)
            k = rng.binomial(per_listener, chance).sum()
            total_n = m * per_listener
            low_high = _wilson(k, total_n)
            hits += low_high[0] <= np.mean(chance) <= low_high[1]
            widths.append((low_high[1] - low_high[0]) / 2)
        rows.append(
            {
                "rate": p,
                "answers_per_cell": n,
                "half_width_at_n": round(wilson_half_width(p, n), 4),
                "listeners_per_clip": per_clip,
                "listeners_total": total,
                "mc_coverage": round(hits / 2000, 3),
                "mc_mean_half_width": round(float(np.mean(widths)), 4),
            }
        )
    return {
        "design": f"{cells} cells (e.g. 2 systems x 4 emotions), {clips_per_cell} clips per cell, "
        f"{session} answers per session, {int(spam * 100)} % spammers over-recruited",
        "rows": rows,
    }


def _wilson(k: int, n: int) -> tuple[float, float]:
    from pipeline.mos.emotion_report import wilson

    return wilson(int(k), int(n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--train-steps", type=int, default=30)
    parser.add_argument("--listeners", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--replications", type=int, default=3, help="annotation runs per setting")
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    manifest = synthetic_corpus(out / "corpus", seed=args.seed)
    figures = {"annotation": [], "annotation_summary": []}
    for k, spam in ((3, 0.2), (5, 0.2), (3, 0.0)):
        runs = [
            annotation_run(out / "tests", manifest, k=k, spam=spam, seed=args.seed + r)
            for r in range(args.replications)
        ]
        figures["annotation"] += runs
        figures["annotation_summary"].append(summarise(runs))
        print(json.dumps(figures["annotation_summary"][-1], indent=1))
    labels_csv = Path(figures["annotation"][0]["labels_csv"])
    figures["training"] = training_run(out, manifest, labels_csv, args.train_steps)
    print(json.dumps(figures["training"], indent=1))
    figures["identification"] = identification_run(
        out / "tests", manifest, listeners=args.listeners, spam=0.2, seed=args.seed
    )
    print(json.dumps(figures["identification"], indent=1))
    figures["planning"] = planning(args.seed)
    print(json.dumps(figures["planning"], indent=1))
    (out / "figures.json").write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
