"""A run directory's files and the resume machinery around the loop.

``out_dir`` holds ``config.yaml``, ``log.csv`` (:class:`CsvLog`), ``last.pt`` / ``best.pt``
(inference checkpoints) and ``train_state.pt`` (:data:`STATE_FILE`, written by
:meth:`pipeline.train.loop.Trainer.save_state`). Also here: the time budget
(:func:`deadline_passed`), the SIGTERM/Ctrl-C request (:class:`StopRequest`), restoring
optimizer state onto a device and initialising from an inference checkpoint
(:func:`init_from_checkpoint`).
"""

from __future__ import annotations

import csv
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from pipeline.checkpoint import CheckpointError, read_checkpoint
from pipeline.train.task import TrainConfig, TrainTask

log = logging.getLogger(__name__)

STATE_FILE = "train_state.pt"
LOG_FILE = "log.csv"
LOG_HEADER = ("step", "elapsed_s", "split", "metric", "value")


def deadline_passed(settings: TrainConfig, started: float) -> bool:
    """Whether ``max_minutes`` since ``started`` (monotonic s) or ``deadline_utc`` has passed."""
    if settings.max_minutes > 0 and time.monotonic() - started >= 60 * settings.max_minutes:
        return True
    if settings.deadline_utc:
        deadline = datetime.fromisoformat(settings.deadline_utc.replace("Z", "+00:00"))
        if deadline.tzinfo is None:
            deadline = deadline.replace(tzinfo=UTC)
        return datetime.now(UTC) >= deadline
    return False


class StopRequest:
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


def optimizer_state_to(optimizer: torch.optim.Optimizer, device: torch.device) -> None:
    """Move a (restored) optimizer's state tensors next to its parameters."""
    for state in optimizer.state.values():
        for key, value in state.items():
            if isinstance(value, torch.Tensor) and key != "step":
                state[key] = value.to(device)


def init_from_checkpoint(task: TrainTask, path: Path, *, partial: bool) -> None:
    """Start from the weights of an inference checkpoint, e.g. to fine-tune a shipped model.

    Strict by default: same architecture, kwargs and tensors. With ``partial``
    (``train.init_partial``) the kwargs may differ and this model may have parameters the
    checkpoint lacks (they keep their fresh initialisation), but every checkpoint tensor must
    exist here with the same shape: a warm start of a grown model, never a silent partial load.
    """
    payload = read_checkpoint(path)
    export = task.export()
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
            k for k, v in payload["state_dict"].items() if k not in own or own[k].shape != v.shape
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
