"""Ship a trained enhancement GAN: copy its inference checkpoint, config and a measured card.

    # 1. model.pt + config.yaml + card.json (no test metrics yet)
    python scripts/ship_enhance_checkpoint.py export --run runs/recipes/enhance_mask_gan/long3 \
        --which last.pt --recipe recipes/enhance_mask_gan.yaml   # or --command "..."
    # 2. measure on the fixed test set (the evaluation CLI loads the shipped folder)
    python -m pipeline.evaluate enhance --systems noisy,dsp,mask-gan --no-dnsmos \
        --out-dir runs/eval_enhance_card
    # 3. put the measured numbers into card.json
    python scripts/ship_enhance_checkpoint.py metrics --eval-dir runs/eval_enhance_card
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.cards import ModelCard
from pipeline.checkpoint import load_model, read_checkpoint, save_model
from pipeline.enhance.card import add_measured_metrics, build_card
from pipeline.registry import CHECKPOINTS, DEFAULT_GAN

DEFAULT_OUT = CHECKPOINTS / "enhance" / DEFAULT_GAN["enhance"]


def export(args: argparse.Namespace) -> None:
    src = Path(args.run) / args.which
    payload = read_checkpoint(src)
    model, _ = load_model(src)
    out = Path(args.out)
    extra = dict(payload.get("extra", {}))
    save_model(
        out / "model.pt",
        model,
        arch=payload["arch"],
        model_kwargs=payload["model_kwargs"],
        sample_rate=payload["sample_rate"],
        extra=extra,
    )
    shutil.copyfile(Path(args.run) / "config.yaml", out / "config.yaml")
    card = build_card(
        out / "model.pt",
        name=out.name,
        manifest=args.manifest,
        command=args.command,
        recipe=args.recipe,
    )
    card.write(out / "card.json")
    size = (out / "model.pt").stat().st_size / 2**20
    print(
        f"wrote {out}/model.pt ({size:.1f} MiB, step {extra.get('step')}), config.yaml, card.json"
    )


def metrics(args: argparse.Namespace) -> None:
    path = Path(args.out) / "card.json"
    card = ModelCard.read(path)
    systems = tuple(s for s in args.systems.split(",") if s)
    add_measured_metrics(card, args.eval_dir, systems=systems)
    card.write(path)
    for key, value in card.metrics.items():
        print(f"{key}: {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command_name", required=True)
    e = sub.add_parser("export")
    e.add_argument("--run", default="runs/enhance_mask_gan")
    e.add_argument("--which", default="best.pt")
    e.add_argument("--out", default=str(DEFAULT_OUT))
    e.add_argument("--manifest", default="data/manifest.csv")
    e.add_argument("--command", default="", help="the exact training command, for the card")
    e.add_argument("--recipe", default="", help="or the recipe file that produced the run")
    m = sub.add_parser("metrics")
    m.add_argument("--out", default=str(DEFAULT_OUT))
    m.add_argument("--eval-dir", required=True)
    m.add_argument("--systems", default=f"noisy,dsp,{DEFAULT_GAN['enhance']},deepfilternet3")
    args = parser.parse_args(argv)
    export(args) if args.command_name == "export" else metrics(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
