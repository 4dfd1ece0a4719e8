"""Multi-stage training runs as recipe files, run (and resumed) stage by stage by one command.

    python -m pipeline.train recipe recipes/enhance_mask_gan.yaml [--device auto|cpu|cuda]
        [--run-dir DIR] [--set key=value ...] [--dry-run]

A recipe (``recipes/*.yaml``) lists stages in order. A *training* stage is one
``python -m pipeline.train TASK --config FILE`` run::

    name: enhance_mask_gan
    description: how checkpoints/enhance/mask-gan/model.pt was produced
    stages:
      - name: crn                     # the stage's run directory is <run dir>/crn
        task: enhance                 # a key of pipeline.train.cli.TRAINERS
        config: configs/enhance_mask_gan_crn.yaml
        steps: 4500                   # train.steps: the length of the LR schedule
        stop_at: 4261                 # train.stop_at: end this stage here (optional)
      - name: long
        task: enhance
        config: configs/enhance_mask_gan_crn.yaml
        resume: crn                   # start from a copy of stage crn's run directory
        steps: 9500
        set: {train.lr: 0.0006}       # any other config overrides
    ships: last.pt                    # the file of the last stage that was shipped (optional)
    shipped_to: checkpoints/enhance/mask-gan   # ... and where to (optional)
    prerequisites: [python -m pipeline.corpora prepare]   # done by hand first (optional)

``init_from: path/model.pt`` instead of ``resume`` starts a stage from an inference checkpoint
(``train.init_from``). A *command* stage runs a program (``run: python -m ...``; ``python`` is
this interpreter); it is done when every path in ``creates`` exists (else when it last
exited 0, recorded in ``<run dir>/<name>.done``).

Resuming: a training stage whose ``train_state.pt`` reached its end step is skipped; one that
stopped earlier (deadline, SIGTERM, Ctrl-C) resumes with the loop's exact resume; a stage
with ``resume`` and no state of its own starts from a copy of that stage's directory. The
runner stops at the first stage that does not finish (exit status 3: run the command again).
Training stages run in this process, one at a time (for DDP, ``torchrun`` a single stage with
``python -m pipeline.train TASK``, the command ``--dry-run`` prints).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
import yaml

from pipeline.config import ConfigError, add_overrides_argument, from_dict, load_config
from pipeline.devices import DEVICES
from pipeline.train.state import STATE_FILE

log = logging.getLogger(__name__)

#: exit status when a stage stopped before its end (time budget, signal): run again to go on
NOT_FINISHED = 3


@dataclass
class Stage:
    """One step of a recipe: a training run (``task`` + ``config``) or a command (``run``)."""

    name: str
    task: str = ""
    config: str = ""
    steps: int = 0  # train.steps (0: the config's)
    stop_at: int = 0  # train.stop_at (0: none)
    resume: str = ""  # an earlier stage whose run directory this stage continues (a copy)
    init_from: str = ""  # train.init_from: an inference checkpoint to start from
    set: dict[str, Any] = field(default_factory=dict)  # further config overrides
    run: str = ""  # command stage: the command line
    creates: list[str] = field(default_factory=list)  # command stage: paths it produces
    note: str = ""  # what this stage was, in a sentence (shown by --dry-run)

    @property
    def is_training(self) -> bool:
        return bool(self.task)


@dataclass
class Recipe:
    """A named list of stages (see the module docstring)."""

    name: str
    stages: list[Stage]
    description: str = ""
    prerequisites: list[str] = field(default_factory=list)  # done by hand first (e.g. downloads)
    ships: str = ""  # the file of the last stage's run directory that was shipped
    shipped_to: str = ""  # the checkpoint folder it was shipped to (with its config.yaml)


def load_recipe(path: str | Path) -> Recipe:
    """Read and check a recipe file; raises :class:`ConfigError` with a one-line reason."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"cannot read recipe {path}: {err}") from err
    if not isinstance(data, dict) or not isinstance(data.get("stages"), list):
        raise ConfigError(f"{path}: a recipe is a mapping with a list of stages")
    try:
        stages = [
            from_dict(Stage, item, where=f"{path}: stage {i + 1}: ")
            for i, item in enumerate(data.pop("stages"))
        ]
        recipe = from_dict(Recipe, {**data, "stages": stages}, where=f"{path}: ")
    except TypeError as err:  # a required key (name) is missing
        raise ConfigError(f"{path}: {err}") from err
    _check(recipe, path)
    return recipe


def _check(recipe: Recipe, path: Path) -> None:
    from pipeline.train.cli import TRAINERS

    seen: set[str] = set()
    for stage in recipe.stages:
        where = f"{path}: stage {stage.name!r}"
        if not stage.name or stage.name in seen or "/" in stage.name:
            raise ConfigError(f"{where}: stage names must be unique, non-empty, without '/'")
        if not isinstance(stage.set, dict) or not isinstance(stage.creates, list):
            raise ConfigError(f"{where}: set is a mapping (key: value), creates a list of paths")
        if stage.is_training == bool(stage.run):
            raise ConfigError(f"{where}: give either task + config or run")
        if stage.is_training and (stage.task not in TRAINERS or not stage.config):
            raise ConfigError(f"{where}: task must be one of {sorted(TRAINERS)}, with a config")
        if stage.resume and stage.resume not in seen:
            raise ConfigError(f"{where}: resume names no earlier stage ({stage.resume!r})")
        if stage.resume and stage.init_from:
            raise ConfigError(f"{where}: resume and init_from exclude each other")
        seen.add(stage.name)


def _scalar(value: Any) -> str:
    """``value`` as the right-hand side of a ``--set key=value`` (read back as YAML)."""
    if isinstance(value, str) and yaml.safe_load(value) == value and "\n" not in value:
        return value
    return json.dumps(value)


class RecipeRun:
    """A recipe and the directory its stages run in (``<run_dir>/<stage name>``)."""

    def __init__(
        self,
        recipe: Recipe,
        run_dir: str | Path,
        *,
        device: str | None = None,
        overrides: list[str] | None = None,
    ) -> None:
        self.recipe = recipe
        self.run_dir = Path(run_dir)
        self.device = device
        self.overrides = list(overrides or [])

    def stage_dir(self, stage: Stage) -> Path:
        return self.run_dir / stage.name

    def stage_overrides(self, stage: Stage) -> list[str]:
        """The ``--set`` items of a training stage: its own, the run's, then its out_dir."""
        items = [f"{key}={_scalar(value)}" for key, value in stage.set.items()]
        if stage.steps:
            items.append(f"train.steps={stage.steps}")
        if stage.stop_at:
            items.append(f"train.stop_at={stage.stop_at}")
        if stage.init_from:
            items.append(f"train.init_from={_scalar(stage.init_from)}")
        return [*items, *self.overrides, f"train.out_dir={self.stage_dir(stage)}"]

    def end_step(self, stage: Stage) -> int:
        """The step a training stage ends at (its config with every override applied)."""
        from pipeline.train.cli import resolve_trainer

        config = load_config(
            resolve_trainer(stage.task).config_class, stage.config, self.stage_overrides(stage)
        )
        return config.train.end_step

    def reached_step(self, stage: Stage) -> int | None:
        """The step of the stage's saved training state (``None``: none yet)."""
        path = self.stage_dir(stage) / STATE_FILE
        if not path.is_file():
            return None
        return int(torch.load(path, map_location="cpu", weights_only=True)["step"])

    def marker(self, stage: Stage) -> Path:
        return self.run_dir / f"{stage.name}.done"

    def is_done(self, stage: Stage) -> bool:
        if stage.is_training:
            step = self.reached_step(stage)
            return step is not None and step >= self.end_step(stage)
        if stage.creates:
            return all(Path(p).exists() for p in stage.creates)
        return self.marker(stage).is_file()

    def train_argv(self, stage: Stage, *, resume: bool) -> list[str]:
        """The ``python -m pipeline.train`` arguments of a training stage."""
        argv = [stage.task, "--config", stage.config]
        for item in self.stage_overrides(stage):
            argv += ["--set", item]
        if self.device:
            argv += ["--device", self.device]
        return [*argv, "--resume"] if resume else argv

    def status(self, stage: Stage) -> str:
        """What running the recipe now would do with ``stage``, in words."""
        if not stage.is_training:
            return "done" if self.is_done(stage) else "to run"
        step, end = self.reached_step(stage), self.end_step(stage)
        if step is not None:
            return "done" if step >= end else f"resume at step {step} of {end}"
        if stage.resume:
            return f"start from a copy of stage {stage.resume!r}, train to step {end}"
        return f"start fresh, train to step {end}"

    def describe(self) -> str:
        """One block per stage: status and the equivalent single command."""
        lines = [f"recipe {self.recipe.name} in {self.run_dir}"]
        if self.recipe.prerequisites:
            lines.append("prerequisites (not run by the recipe):")
            lines += [f"   {item}" for item in self.recipe.prerequisites]
        for i, stage in enumerate(self.recipe.stages, 1):
            if stage.is_training:
                started = self.reached_step(stage) is not None or bool(stage.resume)
                command = "python -m pipeline.train " + shlex.join(
                    self.train_argv(stage, resume=started)
                )
            else:
                command = stage.run
            lines.append(f"{i}. {stage.name}: {self.status(stage)}")
            if stage.note:
                lines.append(f"   {stage.note}")
            lines.append(f"   {command}")
        return "\n".join(lines)

    def run_stage(self, stage: Stage) -> bool:
        """Run (or resume) one stage; True when it reached its end."""
        if not stage.is_training:
            return self._run_command(stage)
        from pipeline.train import cli

        out = self.stage_dir(stage)
        if self.reached_step(stage) is None and stage.resume:
            _copy_run(self.stage_dir(self._stage(stage.resume)), out)
        resume = self.reached_step(stage) is not None
        code = cli.main(self.train_argv(stage, resume=resume))
        if code != 0:
            raise RuntimeError(f"stage {stage.name!r}: python -m pipeline.train exited {code}")
        return self.is_done(stage)

    def _stage(self, name: str) -> Stage:
        return next(s for s in self.recipe.stages if s.name == name)

    def _run_command(self, stage: Stage) -> bool:
        argv = shlex.split(stage.run)
        if argv and argv[0] == "python":
            argv[0] = sys.executable
        log.info("stage %s: %s", stage.name, stage.run)
        code = subprocess.run(argv, check=False).returncode
        if code != 0:
            raise RuntimeError(f"stage {stage.name!r}: {stage.run!r} exited {code}")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        stamp = {"command": stage.run, "finished_utc": datetime.now(UTC).isoformat()}
        self.marker(stage).write_text(json.dumps(stamp) + "\n", encoding="utf-8")
        return self.is_done(stage)

    def run(self) -> int:
        """Run every stage not yet done, in order; 0 when all are done, else
        :data:`NOT_FINISHED` (a stage stopped early: run again to continue)."""
        for stage in self.recipe.stages:
            if self.is_done(stage):
                log.info("stage %s: done, skipped", stage.name)
                continue
            log.info("stage %s: %s", stage.name, self.status(stage))
            if not self.run_stage(stage):
                log.warning("stage %s stopped before its end: run the recipe again", stage.name)
                return NOT_FINISHED
        last = self.recipe.stages[-1]
        if last.is_training:
            shipped = self.recipe.ships or "last.pt"
            log.info("recipe %s done: %s", self.recipe.name, self.stage_dir(last) / shipped)
        return 0


def _copy_run(source: Path, target: Path) -> None:
    """Copy a finished stage's run directory to ``target`` (via a temporary name, so an
    interrupted copy is never taken for a started stage)."""
    if not (source / STATE_FILE).is_file():
        raise FileNotFoundError(f"{source} holds no {STATE_FILE} to resume from")
    partial = target.with_name(target.name + ".copying")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(source, partial)
    if target.exists():  # an empty directory or files without a training state
        shutil.rmtree(target)
    os.replace(partial, target)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.train recipe",
        description="Run a multi-stage training recipe, resuming where it stopped.",
    )
    parser.add_argument("recipe", type=Path, help="recipe file, e.g. recipes/enhance_student.yaml")
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="where the stages run (default: runs/recipes/<recipe file name>)",
    )
    parser.add_argument("--device", choices=DEVICES, default=None, help="for every training stage")
    add_overrides_argument(parser, "override a config entry in every training stage (repeatable)")
    parser.add_argument(
        "--dry-run", action="store_true", help="print each stage's status and command, run none"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if int(os.environ.get("WORLD_SIZE", 1)) > 1:
        print("error: run a recipe in one process (torchrun a single stage)", file=sys.stderr)
        return 2
    try:
        recipe = load_recipe(args.recipe)
        run_dir = args.run_dir or Path("runs/recipes") / args.recipe.stem
        runner = RecipeRun(recipe, run_dir, device=args.device, overrides=args.overrides)
        if args.dry_run:
            print(runner.describe())
            return 0
        return runner.run()
    except (ConfigError, FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
