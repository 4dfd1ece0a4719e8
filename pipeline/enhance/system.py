"""A trained enhancement checkpoint folder as an :class:`EnhancementSystem`.

``checkpoints/enhance/<name>/model.pt`` (a :mod:`pipeline.checkpoint` inference checkpoint
of a :class:`pipeline.enhance.model.MaskGenerator`) plus ``card.json``.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch

from pipeline.cards import ModelCard
from pipeline.checkpoint import CheckpointError, load_model
from pipeline.systems import EnhancementSystem


class GanEnhancer(EnhancementSystem):
    """Runs the mask generator on 10 s chunks joined by 1 s raised-cosine cross-fades.

    The generator's GRU starts each chunk from a zero state; the 1 s overlap lets it settle
    before the cross-fade weights the new chunk in, so there are no seams: chunked and
    whole-file outputs agree closely (checked in tests/test_enhance_model.py). Memory is
    flat in the input length.
    """

    chunk_seconds = 10.0
    overlap_seconds = 1.0

    def __init__(self, folder: str | Path, *, card: ModelCard):
        self.folder = Path(folder)
        self.model, meta = load_model(self.folder / "model.pt")
        self.sample_rate = int(meta["sample_rate"])
        self.name = card.name or self.folder.name
        self._card = card
        self._lock = threading.Lock()  # torch modules are not re-entrant across threads
        if not hasattr(self.model, "mask"):
            raise CheckpointError(f"{self.folder}: {meta['arch']} is not an enhancement generator")

    @property
    def card(self) -> ModelCard:
        return self._card

    def enhance_native(self, wave: np.ndarray) -> np.ndarray:
        """``(n,)`` float32 at :attr:`sample_rate` → ``(n,)`` float32."""
        x = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))[None]
        with self._lock, torch.inference_mode():
            out = self.model(x)[0]
        return out.numpy().astype(np.float32)
