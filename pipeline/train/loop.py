"""The shared GAN-aware training loop used by every task (enhancement, emotion conversion).

A task plugs in by implementing :class:`TrainTask` (see ``docs``/``notes/training_api.md``):
it owns its models, optimizers, data and losses; this loop owns everything around them:

* deterministic seeding; the batch of step ``s`` on rank ``r`` is drawn with an RNG seeded
  from ``(seed, r, s)``, so ``--resume`` continues *exactly* (same batches, same RNG);
* DDP when launched by ``torchrun`` (``WORLD_SIZE > 1``): nccl (GPU) or gloo (CPU) process
  group, every module in ``task.modules`` wrapped in ``DistributedDataParallel``, data
  sharded by rank (the per-rank RNG), only rank 0 validates and writes files;
* the device (``train.device``: auto | cpu | cuda, :mod:`pipeline.devices`): modules and
  batches are moved there, ``train.amp`` runs ``train_step`` under autocast; state files are
  read with ``map_location="cpu"`` so they resume on either device;
* tqdm progress, a validation hook every ``val_every`` steps, best-and-last *inference*
  checkpoints (``best.pt``/``last.pt`` via :func:`pipeline.checkpoint.save_model`), a separate
  training-state file (``train_state.pt``: all modules, optimizers, schedulers, step, RNG
  states, best metric, elapsed time), a long-format CSV log and ``config.yaml``;
* a wall-clock budget (``max_minutes``) and an absolute UTC deadline, after which the loop
  checkpoints and stops cleanly; SIGTERM / Ctrl-C do the same after the current step.

Files in ``out_dir``: ``config.yaml``, ``log.csv`` (``step,elapsed_s,split,metric,value``),
``last.pt``, ``best.pt``, ``train_state.pt``.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from pipeline.checkpoint import atomic_torch_save, save_model
from pipeline.config import save_config, to_dict
from pipeline.devices import autocast, to_device
from pipeline.train.distributed import (
    DistInfo,
    dist_info,
    init_distributed,
    rng_state,
    seed_everything,
    set_rng_state,
    step_rng,
    unwrap,
)
from pipeline.train.state import (
    LOG_FILE,
    STATE_FILE,
    CsvLog,
    StopRequest,
    deadline_passed,
    init_from_checkpoint,
    optimizer_state_to,
)
from pipeline.train.task import Export, TrainConfig, TrainResult, TrainTask

#: the loop's public names, including those re-exported from its helper modules
__all__ = [
    "STATE_FILE",
    "DistInfo",
    "Export",
    "TrainConfig",
    "TrainResult",
    "TrainTask",
    "Trainer",
    "dist_info",
    "init_distributed",
    "run_training",
    "seed_everything",
    "step_rng",
    "unwrap",
]

log = logging.getLogger(__name__)


class Trainer:
    """Runs a :class:`TrainTask` under :class:`TrainConfig`; see the module docstring."""

    def __init__(
        self, task: TrainTask, settings: TrainConfig, *, config: Any, info: DistInfo
    ) -> None:
        self.task = task
        self.settings = settings
        self.config = config
        self.info = info
        self.out_dir = Path(settings.out_dir)
        self.step = 0
        self.best: float | None = None
        self.best_step: int | None = None
        self.elapsed_before = 0.0
        self._started = time.monotonic()

    # -- state -----------------------------------------------------------------------------
    def _better(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.best is None:
            return True
        return value > self.best if self.settings.best_mode == "max" else value < self.best

    @property
    def elapsed(self) -> float:
        return self.elapsed_before + time.monotonic() - self._started

    def _gather_rng(self) -> list[dict[str, Any]]:
        state = rng_state()
        if not self.info.distributed:
            return [state]
        gathered: list[Any] = [None] * self.info.world_size
        dist.all_gather_object(gathered, state)
        return gathered

    def save_state(self) -> None:
        rng = self._gather_rng()  # collective: every rank takes part
        if not self.info.is_main:
            return
        state = {
            "step": self.step,
            "best": self.best,
            "best_step": self.best_step,
            "elapsed_s": self.elapsed,
            "world_size": self.info.world_size,
            "modules": {k: unwrap(m).state_dict() for k, m in self.task.modules.items()},
            "optimizers": {k: o.state_dict() for k, o in self.task.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.task.schedulers.items()},
            "rng": rng,
        }
        atomic_torch_save(state, self.out_dir / STATE_FILE)

    def load_state(self) -> int:
        path = self.out_dir / STATE_FILE
        state = torch.load(path, map_location="cpu", weights_only=True)
        for name, module in self.task.modules.items():
            unwrap(module).load_state_dict(state["modules"][name], strict=True)
        for name, opt in self.task.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        self.step = int(state["step"])
        for name, sched in self.task.schedulers.items():
            if name in state["schedulers"]:
                sched.load_state_dict(state["schedulers"][name])
            else:  # a state written before this task had schedulers: the schedule is the step's
                log.warning("no saved state for scheduler %r: set to step %d", name, self.step)
                sched.load_state_dict({"last_step": self.step})
        self.best = state["best"]
        self.best_step = state.get("best_step")
        if self.best is not None and (self.best_step or 0) < self.settings.best_from_step:
            self.best, self.best_step = None, None  # chosen before the window now asked for
        self.elapsed_before = float(state["elapsed_s"])
        if len(state["rng"]) == self.info.world_size:
            set_rng_state(state["rng"][self.info.rank])
        else:
            log.warning("world size changed since the checkpoint: RNG streams reseeded")
            seed_everything(self.settings.seed + 1000 * self.step + self.info.rank)
        return self.step

    def save_inference(self, name: str, metrics: dict[str, float] | None = None) -> None:
        if not self.info.is_main:
            return
        exp = self.task.export()
        extra = {
            **exp.extra,
            "step": self.step,
            "elapsed_s": round(self.elapsed, 1),
            "metrics": dict(metrics or {}),
            "config": to_dict(self.config),
        }
        save_model(
            self.out_dir / name,
            unwrap(exp.module),
            arch=exp.arch,
            model_kwargs=exp.model_kwargs,
            sample_rate=exp.sample_rate,
            extra=extra,
        )

    # -- phases ----------------------------------------------------------------------------
    def _set_mode(self, train: bool) -> None:
        for module in self.task.modules.values():
            module.train(train)

    def _validate(self, csv_log: CsvLog | None) -> dict[str, float]:
        metrics: dict[str, float] = {}
        if self.info.is_main:
            self._set_mode(False)
            with torch.no_grad():
                metrics = {k: float(v) for k, v in self.task.validate().items()}
            self._set_mode(True)
            if csv_log is not None:
                csv_log.write(self.step, self.elapsed, "val", metrics)
            key = self.settings.best_metric
            eligible = self.step >= self.settings.best_from_step
            if key and key in metrics and eligible and self._better(metrics[key]):
                self.best, self.best_step = metrics[key], self.step
                self.save_inference("best.pt", metrics)
            log.info("step %d validation: %s", self.step, _fmt(metrics))
        if self.info.distributed:
            dist.barrier()
        return metrics

    def _agree(self, flag: bool) -> bool:
        """True on every rank when any rank says so."""
        if not self.info.distributed:
            return flag
        box = torch.tensor([1.0 if flag else 0.0])
        dist.all_reduce(box, op=dist.ReduceOp.MAX)
        return bool(box.item() > 0)

    def run(self, *, resume: bool) -> TrainResult:
        """Train; SIGTERM / SIGINT finish the current step, checkpoint and return."""
        stop = StopRequest()
        installed = threading.current_thread() is threading.main_thread()
        previous = {}
        if installed:
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, stop)
        try:
            return self._run(resume=resume, stop_request=stop)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _run(self, *, resume: bool, stop_request: StopRequest) -> TrainResult:
        s = self.settings
        state_path = self.out_dir / STATE_FILE
        if resume and state_path.is_file():
            self.load_state()
            log.info("resumed from step %d", self.step)
        elif resume:
            log.warning("--resume given but %s does not exist: starting fresh", state_path)
        elif state_path.is_file():
            raise FileExistsError(
                f"{self.out_dir} already holds a run: pass --resume or choose another out_dir"
            )
        if s.init_from and self.step == 0:
            init_from_checkpoint(self.task, Path(s.init_from), partial=s.init_partial)
        device = self.info.torch_device
        for module in self.task.modules.values():
            module.to(device)  # in place: the optimizers keep their parameters
        for opt in self.task.optimizers.values():
            optimizer_state_to(opt, device)
        if self.info.distributed:
            ids = [device.index] if device.type == "cuda" else None
            self.task.modules.update(
                {
                    k: DistributedDataParallel(m, device_ids=ids, forward_sync_buffers=False)
                    for k, m in self.task.modules.items()
                    if any(p.requires_grad for p in m.parameters())
                }
            )
        csv_log = None
        if self.info.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            save_config(self.config, self.out_dir / "config.yaml")
            csv_log = CsvLog(self.out_dir / LOG_FILE, resume_step=self.step if resume else None)
        self._set_mode(True)
        sums: dict[str, float] = defaultdict(float)
        count = 0
        stopped = False
        end = s.end_step
        bar = tqdm(total=end, initial=self.step, disable=not self.info.is_main, dynamic_ncols=True)
        while self.step < end:
            batch = self.task.make_batch(self.step, step_rng(s.seed, self.info.rank, self.step))
            with autocast(device, s.amp):
                losses = self.task.train_step(to_device(batch, device), self.step)
            self.step += 1
            bar.update(1)
            for scheduler in self.task.schedulers.values():  # the rate of the next step
                scheduler.step()
            for k, v in losses.items():
                sums[k] += float(v)
            count += 1
            if self.step % s.log_every == 0 or self.step == end:
                means = {k: v / count for k, v in sums.items()}
                if csv_log is not None:
                    csv_log.write(self.step, self.elapsed, "train", means)
                bar.set_postfix({k: f"{v:.3g}" for k, v in list(means.items())[:4]})
                sums.clear()
                count = 0
            if self.step % s.val_every == 0 or self.step == end:
                self._validate(csv_log)
            stop = self._agree(deadline_passed(s, self._started) or stop_request.requested)
            if self.step % s.ckpt_every == 0 or self.step == end or stop:
                self.save_inference("last.pt")
                self.save_state()
            if stop and self.step < end:
                log.warning("stopping at step %d (time budget or signal)", self.step)
                stopped = True
                break
        bar.close()
        return TrainResult(self.step, self.best, self.elapsed, self.out_dir, stopped)


def _fmt(values: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in values.items())


def run_training(
    task: TrainTask, settings: TrainConfig, *, config: Any, info: DistInfo, resume: bool = False
) -> TrainResult:
    """Train ``task`` to ``settings.steps`` (or ``stop_at``, or the time budget); see
    :class:`Trainer`."""
    return Trainer(task, settings, config=config, info=info).run(resume=resume)
