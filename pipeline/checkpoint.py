"""Self-describing checkpoints, shared by every trained model in the studio.

An *inference* checkpoint is plain data loadable with ``torch.load(weights_only=True)``::

    {"format": "studio-checkpoint", "version": 1, "arch": "enhance.mask_gan",
     "model_kwargs": {...}, "sample_rate": 16000, "state_dict": {...}, "extra": {...}}

``arch`` names a constructor in :data:`ARCHITECTURES`; the model is rebuilt as
``cls(**model_kwargs)`` and loaded strictly. Training state (optimizers, step, RNG) lives in
a separate file written by :mod:`pipeline.train.loop` and is never needed for inference.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

FORMAT = "studio-checkpoint"
VERSION = 1

#: arch name → "module:Class". Classes take only keyword arguments.
ARCHITECTURES: dict[str, str] = {
    "enhance.mask_gan": "pipeline.enhance.model:MaskGenerator",
    "emotion.stargan": "pipeline.emotion.model:EmotionGenerator",
    "emotion.envelope_gan": "pipeline.emotion.envelope.model:EnvelopeGenerator",
    "emotion.classifier": "pipeline.emotion.classifier:EmotionJudge",
}


class CheckpointError(RuntimeError):
    """A checkpoint is missing, malformed, or does not match its architecture."""


def atomic_torch_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to a temp file in the same folder, fsync, then ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def resolve_arch(arch: str) -> type[torch.nn.Module]:
    """Import the model class registered under ``arch``."""
    if arch not in ARCHITECTURES:
        raise CheckpointError(f"unknown architecture {arch!r} (known: {sorted(ARCHITECTURES)})")
    module_name, class_name = ARCHITECTURES[arch].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def save_model(
    path: str | Path,
    model: torch.nn.Module,
    *,
    arch: str,
    model_kwargs: dict[str, Any],
    sample_rate: int,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write an inference checkpoint atomically. ``extra`` must be plain data."""
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "arch": arch,
        "model_kwargs": dict(model_kwargs),
        "sample_rate": int(sample_rate),
        "state_dict": state,
        "extra": dict(extra or {}),
    }
    return atomic_torch_save(payload, path)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load and check the plain-data payload (``weights_only=True``)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError) as err:
        raise CheckpointError(f"cannot read checkpoint {path}: {err}") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a studio checkpoint")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"{path}: unsupported checkpoint version {payload.get('version')}")
    for key in ("arch", "model_kwargs", "sample_rate", "state_dict"):
        if key not in payload:
            raise CheckpointError(f"{path}: missing field {key!r}")
    return payload


def load_model(path: str | Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild the model from a checkpoint, load weights strictly, switch to eval mode.

    Returns:
        ``(model, payload)``; ``payload`` without the state dict is the checkpoint's metadata.
    """
    payload = read_checkpoint(path)
    cls = resolve_arch(payload["arch"])
    model = cls(**payload["model_kwargs"])
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as err:
        raise CheckpointError(f"{path}: weights do not match {payload['arch']}: {err}") from err
    model.eval()
    meta = {k: v for k, v in payload.items() if k != "state_dict"}
    return model, meta


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
