"""Where a training process runs: torchrun rank / world size, device, process group, seeding.

The batch of step ``s`` on rank ``r`` is drawn with :func:`step_rng` (seeded from
``(seed, r, s)``), and the global RNG states are saved with the training state
(:func:`rng_state` / :func:`set_rng_state`), so a resumed run continues exactly.
"""

from __future__ import annotations

import logging
import os
import random
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from pipeline.devices import ddp_backend, resolve_device

log = logging.getLogger(__name__)


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
    """Seed Python, numpy and torch global RNGs."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def step_rng(seed: int, rank: int, step: int) -> np.random.Generator:
    """The RNG for ``(seed, rank, step)``: independent across ranks and steps, reproducible."""
    return np.random.default_rng([seed, rank, step, zlib.crc32(b"batch")])


def rng_state() -> dict[str, Any]:
    """The torch, numpy and Python global RNG states (plain tensors and lists)."""
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
