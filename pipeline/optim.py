"""Optimiser helpers shared by every training task: the LR schedule and the clipped step.

:class:`WarmupCosine` is the one learning-rate scheduler of the studio. The shared loop
(:class:`pipeline.train.loop.Trainer`) steps every scheduler of a task once after each training
step and saves / restores its state with the training state, so ``--resume`` continues the
schedule exactly. The schedule is a pure function of the step, and the base learning rate and
length are read from the *current* config, so a run resumed with a longer ``train.steps``
stretches its cosine (as the enhancement runs did).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

import torch


def warmup_cosine_scale(
    step: int, *, warmup_steps: int, total_steps: int, final_scale: float
) -> float:
    """LR multiplier at ``step``: linear warm-up to 1 over ``warmup_steps``, then a cosine decay
    to ``final_scale`` at ``total_steps`` (``final_scale=1``, ``warmup_steps=0``: constant)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return final_scale + (1 - final_scale) * 0.5 * (1 + math.cos(math.pi * progress))


class WarmupCosine:
    """Sets ``optimizer``'s learning rate to ``base_lr() * warmup_cosine_scale(step, ...)``.

    Args:
        optimizer: every parameter group gets the same rate.
        base_lr: the rate at scale 1 (a callable, so it follows the current config).
        warmup_steps, final_scale: see :func:`warmup_cosine_scale`.
        total_steps: a callable returning the run's length (steps), read at every step.
    The state is the step; the rate for ``step`` is in place before that step's update.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        base_lr: Callable[[], float],
        *,
        warmup_steps: int,
        total_steps: Callable[[], int],
        final_scale: float,
    ) -> None:
        self.optimizer = optimizer
        self.base_lr = base_lr
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.final_scale = final_scale
        self.last_step = 0
        self._apply()

    def scale(self, step: int) -> float:
        return warmup_cosine_scale(
            step,
            warmup_steps=self.warmup_steps,
            total_steps=self.total_steps(),
            final_scale=self.final_scale,
        )

    def _apply(self) -> None:
        lr = self.base_lr() * self.scale(self.last_step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def step(self) -> None:
        """Advance one training step."""
        self.last_step += 1
        self._apply()

    def state_dict(self) -> dict[str, Any]:
        return {"last_step": self.last_step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.last_step = int(state["last_step"])
        self._apply()


def warmup_cosine_schedulers(
    optimizers: dict[str, torch.optim.Optimizer],
    lr_scale: dict[str, float],
    train: Any,
    *,
    warmup_steps: int,
    final_scale: float,
) -> dict[str, WarmupCosine]:
    """One :class:`WarmupCosine` per optimiser, base rate ``train.lr * lr_scale[name]`` and
    length ``train.steps`` (``train``: the run's :class:`pipeline.train.loop.TrainConfig`)."""
    return {
        name: WarmupCosine(
            opt,
            lambda name=name: train.lr * lr_scale[name],
            warmup_steps=warmup_steps,
            total_steps=lambda: train.steps,
            final_scale=final_scale,
        )
        for name, opt in optimizers.items()
    }


def clipped_step(
    loss: torch.Tensor,
    module: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    max_norm: float,
    *,
    scaler: torch.amp.GradScaler | None = None,
) -> float:
    """Backward ``loss``, clip ``module``'s gradient norm to ``max_norm`` (``<= 0``: no clipping),
    update with ``optimizer``; returns the loss as a float. With a (mixed-precision) ``scaler``
    the loss is scaled for backward and the gradients unscaled before clipping."""
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
    else:
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
    if max_norm > 0:
        torch.nn.utils.clip_grad_norm_(module.parameters(), max_norm)
    if scaler is None:
        optimizer.step()
    else:
        scaler.step(optimizer)
        scaler.update()
    return loss.item()


@dataclass
class GanOptimConfig:
    """The optimiser keys every GAN family's ``loss`` section shares (one set of names and
    meanings; a family's loss config subclasses this and may change the defaults).

    The generator (and any other module not in ``scaled``) learns at ``train.lr``; the
    discriminators at ``train.lr * d_lr_scale``. The defaults keep the rate constant.
    """

    d_lr_scale: float = 0.5  # discriminator lr = train.lr * this
    #: learning rates: linear warm-up over warmup_steps, then cosine decay to lr * final_lr_scale
    #: at train.steps
    warmup_steps: int = 0
    final_lr_scale: float = 1.0
    #: gradient-norm clipping of every update (0: off)
    grad_clip: float = 10.0

    def lr_scales(self, names: Iterable[str], scaled: Collection[str]) -> dict[str, float]:
        """``name`` → multiplier of ``train.lr``: ``d_lr_scale`` for ``scaled``, else 1."""
        return {name: self.d_lr_scale if name in scaled else 1.0 for name in names}

    def schedulers(
        self,
        optimizers: dict[str, torch.optim.Optimizer],
        train: Any,
        scaled: Collection[str] = ("discriminator",),
    ) -> dict[str, WarmupCosine]:
        """The :func:`warmup_cosine_schedulers` of ``optimizers`` under these settings."""
        return warmup_cosine_schedulers(
            optimizers,
            self.lr_scales(optimizers, scaled),
            train,
            warmup_steps=self.warmup_steps,
            final_scale=self.final_lr_scale,
        )


@dataclass
class AdamGanOptimConfig(GanOptimConfig):
    """:class:`GanOptimConfig` plus the Adam betas (keys ``beta1``, ``beta2``)."""

    beta1: float = 0.5
    beta2: float = 0.999

    def adam(
        self,
        parameters: dict[str, Iterable[torch.nn.Parameter]],
        lr: float,
        scaled: Collection[str] = ("discriminator",),
    ) -> dict[str, torch.optim.Adam]:
        """One Adam per entry of ``parameters`` at ``lr`` times :meth:`lr_scales`."""
        scales = self.lr_scales(parameters, scaled)
        betas = (self.beta1, self.beta2)
        return {
            name: torch.optim.Adam(params, lr=lr * scales[name], betas=betas)
            for name, params in parameters.items()
        }
