"""Ship a trained emotion GAN run as ``checkpoints/emotion/stargan-emotion/``.

    python -m scripts.ship_emotion runs/emotion_stargan --command "python -m pipeline.train ..."
        (or --recipe recipes/emotion_stargan.yaml)
        [--which best|last] [--out checkpoints/emotion/stargan-emotion]

Copies the inference checkpoint (generator weights + normalisation buffers only) and the
run's config, then writes ``card.json`` with every number taken from the run: steps and
wall-clock from the checkpoint, validation metrics from the checkpoint or, when it has none
(a time-budget stop), recomputed with :meth:`pipeline.emotion.train.EmotionTask.validate`
on the run's final training state, clip counts from the feature cache, and a freshly
measured real-time factor on this machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
from pathlib import Path

import torch

from pipeline.cards import ModelCard
from pipeline.checkpoint import atomic_torch_save, load_model, read_checkpoint
from pipeline.config import load_config
from pipeline.emotion.card import build_card, table_agreement
from pipeline.emotion.labels import LABELS_CSV
from pipeline.emotion.system import GanConverter
from pipeline.emotion.train import EmotionConfig, EmotionTask
from pipeline.signals import synthetic_voice
from pipeline.train.loop import STATE_FILE, DistInfo

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "checkpoints" / "emotion" / "stargan-emotion"


def validate_run(run: Path, step: int) -> dict[str, float]:
    """Run the task's own validation on the run's final training state (same weights as last.pt).

    ``last.pt`` written at a time-budget stop carries no metrics, so they are computed here
    with :meth:`EmotionTask.validate` on the ``valid`` split.
    """
    config = load_config(EmotionConfig, run / "config.yaml")
    state = torch.load(run / STATE_FILE, map_location="cpu", weights_only=True)
    if int(state["step"]) != step:
        raise SystemExit(f"{run}: training state is at step {state['step']}, checkpoint at {step}")
    task = EmotionTask(config, DistInfo())
    for name, module in task.modules.items():
        module.load_state_dict(state["modules"][name], strict=True)
        module.eval()
    with torch.no_grad():
        return task.validate()


def measure_rtf(folder: Path, seconds: float = 5.0, repeats: int = 3) -> float:
    """Median end-to-end RTF of the shipped system on a synthetic 5 s voice, 1 torch thread."""
    torch.set_num_threads(1)
    system = GanConverter(
        folder, card=ModelCard(name=folder.name, task="emotion", title="", kind="gan")
    )
    wave = synthetic_voice(seconds, system.sample_rate, seed=1)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        system.convert(wave, system.sample_rate, "angry", 1.0)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--which", choices=("best", "last"), default="last")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--labels", type=Path, default=LABELS_CSV, help="the label table trained on"
    )
    parser.add_argument("--command", default="", help="the exact training command that was run")
    parser.add_argument("--recipe", default="", help="or the recipe file that produced the run")
    args = parser.parse_args()

    payload = read_checkpoint(args.run / f"{args.which}.pt")
    extra = payload["extra"]
    args.out.mkdir(parents=True, exist_ok=True)
    slim = {k: v for k, v in payload.items() if k != "extra"}
    slim["extra"] = {k: v for k, v in extra.items() if k != "config"}
    atomic_torch_save(slim, args.out / "model.pt")
    shutil.copyfile(args.run / "config.yaml", args.out / "config.yaml")
    model, _ = load_model(args.out / "model.pt")  # strict reload check
    size_mb = (args.out / "model.pt").stat().st_size / 2**20

    values = extra.get("metrics") or validate_run(args.run, int(extra.get("step", -1)))
    metrics: dict[str, object] = {
        f"validation {k} (step {extra.get('step')})": round(float(v), 4)
        for k, v in sorted(values.items())
    }
    load = os.getloadavg()[0]
    rtf_key = f"RTF (5 s, 1 thread, WORLD analysis included; 2-core CPU at load average {load:.1f})"
    metrics[rtf_key] = round(measure_rtf(args.out), 3)
    metrics["checkpoint size (MB)"] = round(size_mb, 2)
    counts = extra.get("clip_counts", {})
    metrics.update(
        {
            f"{split} clips per emotion": ", ".join(f"{e} {n}" for e, n in c.items())
            for split, c in counts.items()
        }
    )
    metrics["speakers (all splits)"] = extra.get("speakers")
    run_table = Path(extra.get("label_table", ""))
    if run_table.is_file() and run_table.resolve() != args.labels.resolve():
        metrics["label table check"] = table_agreement(run_table, args.labels)
    log_rate = model.log_rate.tolist()
    metrics["rate ratio per emotion (vs neutral)"] = ", ".join(
        f"{e} x{torch.tensor(r).exp().item():.3f}"
        for e, r in zip(extra.get("emotions", []), log_rate, strict=False)
    )
    card = build_card(
        args.out.name,
        payload,
        model,
        labels=args.labels,
        command=args.command,
        metrics=metrics,
        recipe=args.recipe,
    )
    card.write(args.out / "card.json")
    print(card.to_markdown())


if __name__ == "__main__":
    main()
