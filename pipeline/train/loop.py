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

import csv
import logging
import math
import os
import random
import signal
import threading
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from pipeline.checkpoint import atomic_torch_save, save_model
from pipeline.config import save_config, to_dict
from pipeline.devices import autocast, ddp_backend, resolve_device, to_device

log = logging.getLogger(__name__)

STATE_FILE = "train_state.pt"
LOG_FILE = "log.csv"
LOG_HEADER = ("step", "elapsed_s", "split", "metric", "value")


@dataclass
class TrainConfig:
    """Loop settings shared by every task (a field ``train`` of each task's config)."""

    steps: int = 10_000  # total optimisation steps (the run stops at this step)
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
        if self.best_mode not in ("max", "min"):
            raise ValueError(f"best_mode must be 'max' or 'min', got {self.best_mode!r}")



@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in a (possibly single-process) job."""

    rank: int = 0
    world_size: int = 1
    device: str = "cpu"  # torch device string of this process ("cpu", "cuda:0", ...)

    @property
    def torch_device(self) -> torch.device:
        return torch.device(self.device)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


@dataclass(frozen=True)
class Export:
    """What goes into an inference checkpoint (see :func:`pipeline.checkpoint.save_model`)."""

    module: torch.nn.Module
    arch: str
    model_kwargs: dict[str, Any]
    sample_rate: int
    extra: dict[str, Any] = field(default_factory=dict)


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


def unwrap(module: torch.nn.Module) -> torch.nn.Module:
    """The plain module inside a DDP wrapper (or the module itself)."""
    return module.module if isinstance(module, DistributedDataParallel) else module


def dist_info(device: str = "cpu") -> DistInfo:
    """Rank and world size from the ``torchrun`` environment (1 process if unset)."""
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    return DistInfo(rank, world, device)


def init_distributed(device: str = "cpu") -> DistInfo:
    """Resolve ``device`` (auto | cpu | cuda) for this process and, when launched by
    ``torchrun`` with N > 1, initialise the process group (nccl on GPUs, gloo on CPUs)."""
    chosen = resolve_device(device, int(os.environ.get("LOCAL_RANK", 0)))
    if chosen.type == "cuda":
        torch.cuda.set_device(chosen)
    info = dist_info(str(chosen))
    if info.distributed and not dist.is_initialized():
        backend = ddp_backend(chosen)
        dist.init_process_group(backend=backend)
        log.info("DDP rank %d / %d (%s)", info.rank, info.world_size, backend)
    log.info("training on %s", chosen)
    return info


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def step_rng(seed: int, rank: int, step: int) -> np.random.Generator:
    """The RNG for ``(seed, rank, step)``: independent across ranks and steps, reproducible."""
    return np.random.default_rng([seed, rank, step, zlib.crc32(b"batch")])


def _rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "python": random.getstate(),
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))


def _deadline_passed(settings: TrainConfig, started: float) -> bool:
    if settings.max_minutes > 0 and time.monotonic() - started >= 60 * settings.max_minutes:
        return True
    if settings.deadline_utc:
        deadline = datetime.fromisoformat(settings.deadline_utc.replace("Z", "+00:00"))
        if deadline.tzinfo is None:
            deadline = deadline.replace(tzinfo=UTC)
        return datetime.now(UTC) >= deadline
    return False


class _StopRequest:
    """Signal handler that asks the loop to checkpoint and stop after the current step."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, frame: Any) -> None:
        log.warning("received signal %d: will checkpoint and stop after this step", signum)
        self.requested = True


class CsvLog:
    """Append-only long-format log; the header is written once; rows past a resume point are
    dropped so the log matches the restored state exactly."""

    def __init__(self, path: Path, *, resume_step: int | None) -> None:
        self.path = path
        if resume_step is not None and path.is_file():
            with path.open(newline="", encoding="utf-8") as handle:
                rows = [r for r in csv.DictReader(handle) if int(r["step"]) <= resume_step]
            self._rewrite(rows)
        if not path.is_file() or path.stat().st_size == 0:
            self._rewrite([])

    def _rewrite(self, rows: list[dict[str, str]]) -> None:
        tmp = self.path.with_suffix(".csv.tmp")
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=LOG_HEADER)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, self.path)

    def write(self, step: int, elapsed: float, split: str, values: dict[str, float]) -> None:
        with self.path.open("a", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            for name, value in values.items():
                writer.writerow([step, f"{elapsed:.1f}", split, name, f"{value:.6g}"])


@dataclass
class TrainResult:
    step: int
    best: float | None
    elapsed_s: float
    out_dir: Path
    stopped_early: bool


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
        state = _rng_state()
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
            _set_rng_state(state["rng"][self.info.rank])
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
        stop = _StopRequest()
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

    def _init_from(self, path: Path) -> None:
        """Start from the weights of an inference checkpoint, e.g. to fine-tune a shipped model.

        Strict by default: same architecture, kwargs and tensors. With ``init_partial`` the
        kwargs may differ and this model may have parameters the checkpoint lacks (they keep
        their fresh initialisation), but every checkpoint tensor must exist here with the
        same shape: a warm start of a grown model, never a silent partial load.
        """
        from pipeline.checkpoint import CheckpointError, read_checkpoint

        payload = read_checkpoint(path)
        export = self.task.export()
        partial = self.settings.init_partial
        if payload["arch"] != export.arch or (
            not partial and payload["model_kwargs"] != export.model_kwargs
        ):
            raise CheckpointError(
                f"{path}: {payload['arch']} {payload['model_kwargs']} does not "
                f"match this run's {export.arch} {export.model_kwargs}"
            )
        if partial:
            own = export.module.state_dict()
            clashes = [
                k
                for k, v in payload["state_dict"].items()
                if k not in own or own[k].shape != v.shape
            ]
            if clashes:
                raise CheckpointError(f"{path}: tensors absent here or of another shape: {clashes}")
        result = export.module.load_state_dict(payload["state_dict"], strict=not partial)
        log.info(
            "initialised %s from %s (step %s)%s",
            export.arch,
            path,
            payload["extra"].get("step"),
            f"; new, freshly initialised: {result.missing_keys}" if partial else "",
        )

    def _run(self, *, resume: bool, stop_request: _StopRequest) -> TrainResult:
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
            self._init_from(Path(s.init_from))
        device = self.info.torch_device
        for module in self.task.modules.values():
            module.to(device)  # in place: the optimizers keep their parameters
        for opt in self.task.optimizers.values():
            _optimizer_state_to(opt, device)
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
        bar = tqdm(
            total=s.steps, initial=self.step, disable=not self.info.is_main, dynamic_ncols=True
        )
        while self.step < s.steps:
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
            if self.step % s.log_every == 0 or self.step == s.steps:
                means = {k: v / count for k, v in sums.items()}
                if csv_log is not None:
                    csv_log.write(self.step, self.elapsed, "train", means)
                bar.set_postfix({k: f"{v:.3g}" for k, v in list(means.items())[:4]})
                sums.clear()
                count = 0
            if self.step % s.val_every == 0 or self.step == s.steps:
                self._validate(csv_log)
            stop = self._agree(_deadline_passed(s, self._started) or stop_request.requested)
            if self.step % s.ckpt_every == 0 or self.step == s.steps or stop:
                self.save_inference("last.pt")
                self.save_state()
            if stop and self.step < s.steps:
                log.warning("stopping at step %d (time budget or signal)", self.step)
                stopped = True
                break
        bar.close()
        return TrainResult(self.step, self.best, self.elapsed, self.out_dir, stopped)


def _optimizer_state_to(optimizer: torch.optim.Optimizer, device: torch.device) -> None:
    """Move a (restored) optimizer's state tensors next to its parameters."""
    for state in optimizer.state.values():
        for key, value in state.items():
            if isinstance(value, torch.Tensor) and key != "step":
                state[key] = value.to(device)


def _fmt(values: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in values.items())


def run_training(
    task: TrainTask, settings: TrainConfig, *, config: Any, info: DistInfo, resume: bool = False
) -> TrainResult:
    """Train ``task`` to ``settings.steps`` (or the time budget); see :class:`Trainer`."""
    return Trainer(task, settings, config=config, info=info).run(resume=resume)
