"""Training CLI shared by every task.

    python -m pipeline.train enhance --config configs/enhance_mask_gan_crn.yaml [--resume]
    python -m pipeline.train emotion --config configs/emotion_stargan.yaml --labels labels.csv
    torchrun --nproc_per_node=2 -m pipeline.train enhance --config ... # DDP (gloo on CPU)
    torchrun --nproc_per_node=4 -m pipeline.train enhance --config ... --device cuda --amp
                                                                 # DDP on 4 GPUs (nccl)

``--device auto|cpu|cuda`` (default: the config's ``train.device``, itself ``auto``: CUDA when
present) and ``--amp`` (mixed precision) override the config; see ``pipeline/devices.py``.

A multi-stage run is a recipe file, run and resumed stage by stage (:mod:`pipeline.train.recipe`):

    python -m pipeline.train recipe recipes/enhance_mask_gan.yaml [--device ...] [--dry-run]

``--set key=value`` overrides config entries (dotted paths, e.g. ``--set train.steps=200``).
A task is registered in :data:`TRAINERS` as its class; the class has a
``config_class`` attribute (a dataclass with a ``train: TrainConfig`` field) and is
constructed as ``Class(config, info)``. See ``pipeline/train/loop.py``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import torch

from pipeline.config import ConfigError, add_overrides_argument, load_config
from pipeline.devices import DEVICES, DeviceError
from pipeline.emotion.envelope.train import EnvelopeGanTask
from pipeline.emotion.train import EmotionTask
from pipeline.enhance.distill import StudentTask
from pipeline.enhance.train import EnhanceTask
from pipeline.train import recipe
from pipeline.train.loop import init_distributed, run_training, seed_everything

#: task → class implementing :class:`pipeline.train.loop.TrainTask`.
TRAINERS: dict[str, type] = {
    "enhance": EnhanceTask,
    "enhance_student": StudentTask,
    "emotion": EmotionTask,
    "emotion_envelope": EnvelopeGanTask,
}


def resolve_trainer(task: str) -> type:
    """The task class registered for ``task``."""
    if task not in TRAINERS:
        raise ValueError(f"unknown task {task!r} (choose from {', '.join(TRAINERS)})")
    return TRAINERS[task]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.train", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "task",
        choices=sorted(TRAINERS),
        help="which model family to train (or `recipe FILE`: see python -m pipeline.train recipe -h)",
    )
    parser.add_argument("--config", type=Path, required=True, help="YAML config file")
    parser.add_argument("--resume", action="store_true", help="continue from out_dir's state")
    parser.add_argument(
        "--device", choices=DEVICES, default=None, help="auto (CUDA if present), cpu or cuda"
    )
    parser.add_argument("--amp", action="store_true", help="mixed precision (autocast)")
    parser.add_argument(
        "--labels",
        type=Path,
        default=None,
        help="emotion: human label table from `python -m pipeline.mos labels` (data.human_labels)",
    )
    add_overrides_argument(parser, "override a config entry, e.g. train.steps=200 (repeatable)")
    args = parser.parse_args(argv)
    if args.labels is not None:
        if args.task != "emotion":
            parser.error("--labels is for the emotion task")
        args.overrides.append(f"data.human_labels={args.labels}")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["recipe"]:
        return recipe.main(argv[1:])
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    task_cls = resolve_trainer(args.task)
    try:
        config = load_config(task_cls.config_class, args.config, args.overrides)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    settings = config.train
    if args.device is not None:
        settings.device = args.device
    settings.amp = settings.amp or args.amp
    torch.set_num_threads(max(1, settings.num_threads))
    try:
        info = init_distributed(settings.device)
    except DeviceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    seed_everything(settings.seed)  # same initial weights on every rank
    task = task_cls(config, info)
    try:
        result = run_training(task, settings, config=config, info=info, resume=args.resume)
    except FileExistsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    else:
        if info.distributed:
            # ranks leave together: a gloo rank whose peer tears the group down first can
            # abort at exit ("terminate called without an active exception")
            torch.distributed.barrier()
    finally:
        if info.distributed and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    if info.is_main:
        logging.getLogger("pipeline.train").info(
            "finished at step %d in %.0f s (best %s)%s",
            result.step,
            result.elapsed_s,
            result.best,
            " — stopped by time budget" if result.stopped_early else "",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
