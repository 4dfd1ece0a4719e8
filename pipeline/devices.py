"""Where training runs: device choice, mixed precision and the DDP backend, in one place.

The same command trains on a laptop CPU or a GPU: ``--device auto`` picks ``cuda`` when
torch sees one (``cuda:<LOCAL_RANK>`` under ``torchrun``) and ``cpu`` otherwise; ``--amp``
turns on autocast (float16 with a gradient scaler on CUDA, bfloat16 on CPU). DDP uses nccl
between GPUs and gloo between CPU processes. Checkpoints are always loaded with
``map_location="cpu"`` and copied into the modules, so they load on either device.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

DEVICES = ("auto", "cpu", "cuda")


class DeviceError(ValueError):
    """An unusable device request (one line)."""


def resolve_device(
    name: str, local_rank: int = 0, *, cuda_available: bool | None = None
) -> torch.device:
    """``auto`` | ``cpu`` | ``cuda`` (or ``cuda:N``) → a :class:`torch.device`.

    Args:
        local_rank: this process's GPU under ``torchrun`` (``LOCAL_RANK``).
        cuda_available: override of ``torch.cuda.is_available()`` (for tests).
    """
    has_cuda = torch.cuda.is_available() if cuda_available is None else cuda_available
    kind = name.split(":")[0]
    if kind not in DEVICES:
        raise DeviceError(f"unknown device {name!r} (choose from {', '.join(DEVICES)})")
    if kind == "auto":
        kind = "cuda" if has_cuda else "cpu"
    if kind == "cpu":
        return torch.device("cpu")
    if not has_cuda:
        raise DeviceError("--device cuda asked for, but torch sees no CUDA GPU")
    return torch.device(name if ":" in name else f"cuda:{local_rank}")


def ddp_backend(device: torch.device) -> str:
    """nccl between GPUs, gloo between CPU processes."""
    return "nccl" if device.type == "cuda" else "gloo"


def autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    """Mixed-precision context for a forward pass (a no-op when not ``enabled``)."""
    if not enabled:
        return contextlib.nullcontext()
    dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    return torch.autocast(device_type=device.type, dtype=dtype)


def grad_scaler(device: torch.device, amp: bool) -> torch.amp.GradScaler:
    """A loss scaler, active only for float16 autocast on CUDA (pass-through otherwise)."""
    return torch.amp.GradScaler(device.type, enabled=amp and device.type == "cuda")


def to_device(batch: Any, device: torch.device) -> Any:
    """``batch`` with every tensor moved to ``device`` (tuples, lists and dicts recursed)."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, tuple):
        return tuple(to_device(x, device) for x in batch)
    if isinstance(batch, list):
        return [to_device(x, device) for x in batch]
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch
