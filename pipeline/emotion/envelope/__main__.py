"""``python -m pipeline.emotion.envelope ship RUN_DIR [--out checkpoints/emotion/envelope-gan]``.

Copies ``RUN_DIR/last.pt`` (or ``--checkpoint``) as ``model.pt`` into the shipped folder,
after loading it strictly and checking its size (<= 20 MB), and writes ``card.json``.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from pathlib import Path

from pipeline.checkpoint import count_parameters, load_model
from pipeline.emotion.envelope.card import build_card
from pipeline.registry import CHECKPOINTS

MAX_MB = 20.0


def _last_validation(path: Path) -> dict[str, float | int]:
    """The latest validation metrics of a run's ``log.csv`` (with their ``step``)."""
    if not path.is_file():
        return {}
    with path.open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] == "val"]
    if not rows:
        return {}
    step = max(int(r["step"]) for r in rows)
    out: dict[str, float | int] = {"step": step}
    out.update({r["metric"]: float(r["value"]) for r in rows if int(r["step"]) == step})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.emotion.envelope")
    sub = parser.add_subparsers(dest="command", required=True)
    ship = sub.add_parser("ship", help="ship a trained checkpoint with its card")
    ship.add_argument("run_dir", type=Path)
    ship.add_argument("--checkpoint", default="last.pt")
    ship.add_argument("--out", type=Path, default=CHECKPOINTS / "emotion" / "envelope-gan")
    ship.add_argument("--training-command", default="")
    ship.add_argument("--recipe", default="", help="the recipe file that produced the run")
    ship.add_argument("--training-time", default="")
    args = parser.parse_args(argv)
    source = args.run_dir / args.checkpoint
    model, meta = load_model(source)
    size_mb = source.stat().st_size / 1e6
    if size_mb > MAX_MB:
        print(f"error: {source} is {size_mb:.1f} MB (limit {MAX_MB:g} MB)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = args.out / ".model.pt.tmp"
    shutil.copyfile(source, tmp)
    tmp.replace(args.out / "model.pt")
    logged = _last_validation(args.run_dir / "log.csv")
    if logged and not meta.get("extra", {}).get("metrics"):
        meta.setdefault("extra", {})["metrics_logged"] = logged
    card = build_card(
        args.out.name,
        meta,
        parameters=count_parameters(model),
        training_command=args.training_command,
        training_time=args.training_time,
        size_mb=size_mb,
        recipe=args.recipe,
    )
    card.write(args.out / "card.json")
    print(f"shipped {source} → {args.out} ({size_mb:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
