"""What a task gives the shared loop, and what the loop gives back.

* :class:`TrainConfig` — loop settings (the ``train`` field of every task's config);
* :class:`TrainTask` — the protocol a model family implements (modules, optimizers,
  schedulers, ``make_batch``, ``train_step``, ``validate``, ``export``);
* :class:`Export` — what goes into the inference checkpoint;
* :class:`TrainResult` — where a run stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from pipeline.train.distributed import unwrap


@dataclass
class TrainConfig:
    """Loop settings shared by every task (a field ``train`` of each task's config)."""

    steps: int = 10_000  # total optimisation steps (the run stops at this step)
    #: end this invocation at this step although the run (its LR schedule) is ``steps`` long,
    #: as a stage of a recipe that a later stage resumes (0: at ``steps``)
    stop_at: int = 0
    batch_size: int = 8  # per rank
    lr: float = 1e-3  # base learning rate; tasks decide how to use it
    log_every: int = 25  # average training losses over this many steps, then log
    val_every: int = 500  # validate (rank 0) every N steps and at the end
    ckpt_every: int = 250  # write last.pt + train_state.pt every N steps
    seed: int = 0
    out_dir: str = "runs/train"
    num_threads: int = 1  # torch intra-op threads per process
    max_minutes: float = 0.0  # stop after this much wall-clock in this process (0: none)
    deadline_utc: str = ""  # ISO time, e.g. "2026-11-24T23:50:00Z": stop at it ("": none)
    best_metric: str = ""  # key of validate()'s dict that selects best.pt ("": last only)
    best_mode: str = "max"  # "max" or "min"
    best_from_step: int = 0  # ignore validations before this step for best.pt (e.g. GAN warm-up)
    init_from: str = ""  # fine-tune: inference checkpoint (model.pt) for the exported module
    init_partial: bool = False  # init_from may lack parameters this model adds (a new head)
    device: str = "auto"  # auto | cpu | cuda (pipeline.devices.resolve_device)
    amp: bool = False  # mixed precision: float16 + grad scaler on CUDA, bfloat16 on CPU

    def __post_init__(self) -> None:
        if isinstance(self.deadline_utc, datetime):  # YAML parses bare timestamps
            when = self.deadline_utc
            self.deadline_utc = (when if when.tzinfo else when.replace(tzinfo=UTC)).isoformat()
        if self.stop_at < 0:
            raise ValueError(f"stop_at must be >= 0, got {self.stop_at}")
        if self.best_mode not in ("max", "min"):
            raise ValueError(f"best_mode must be 'max' or 'min', got {self.best_mode!r}")

    @property
    def end_step(self) -> int:
        """The step this invocation trains to: ``stop_at`` when set and earlier, else ``steps``."""
        return self.stop_at if 0 < self.stop_at < self.steps else self.steps


@dataclass(frozen=True)
class Export:
    """What goes into an inference checkpoint (see :func:`pipeline.checkpoint.save_model`).

    ``module`` may be given as the task holds it (a DDP wrapper is unwrapped here);
    ``model_kwargs`` is copied, so the task's own dict is never shared.
    """

    module: torch.nn.Module
    arch: str
    model_kwargs: dict[str, Any]
    sample_rate: int
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # frozen: the normalised values are set the way dataclasses set fields
        object.__setattr__(self, "module", unwrap(self.module))
        object.__setattr__(self, "model_kwargs", dict(self.model_kwargs))


class TrainTask(Protocol):
    """What a task provides. Attributes are read by the loop; see the module docstring.

    ``modules``: every trainable module by name (e.g. ``generator``, ``discriminator``); the
    loop replaces the values by DDP wrappers when distributed, so always reach them through
    this dict (and :func:`unwrap` for plain access). ``optimizers``/``schedulers``: by name,
    saved and restored by the loop; the loop steps every scheduler once after each
    ``train_step`` (e.g. :class:`pipeline.optim.WarmupCosine`).
    """

    modules: dict[str, torch.nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, Any]

    def make_batch(self, step: int, rng: np.random.Generator) -> Any:
        """Draw this rank's batch for ``step`` using only ``rng`` (for exact resume)."""

    def train_step(self, batch: Any, step: int) -> dict[str, float]:
        """One optimisation step (D and G updates); returns losses as Python floats."""

    def validate(self) -> dict[str, float]:
        """Metrics on the validation set (rank 0 only, modules in eval mode, no grad)."""

    def export(self) -> Export:
        """The inference model (unwrapped) and its checkpoint metadata."""


@dataclass
class TrainResult:
    step: int
    best: float | None
    elapsed_s: float
    out_dir: Path
    stopped_early: bool
