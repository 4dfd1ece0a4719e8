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

    The GRU state is carried across chunks (each chunk starts from the state the previous
    chunk reached at the new chunk's first sample), so only the two STFT frames at each chunk
    edge differ from a whole-file pass, and those lie inside the cross-fade: chunked and
    whole-file outputs agree closely (tests/test_enhance_model.py) and memory is flat in the
    input length.
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
        if not hasattr(self.model, "forward_with_state"):
            raise CheckpointError(f"{self.folder}: {meta['arch']} is not an enhancement generator")

    @property
    def card(self) -> ModelCard:
        return self._card

    def chunk_processor(self):
        """A runner carrying the GRU state from each chunk into the next (falls back to
        independent chunks when the chunk hop is not a whole number of STFT hops)."""
        rate = self.sample_rate
        hop = int(self.chunk_seconds * rate) - int(self.overlap_seconds * rate)
        if hop % self.model.hop:
            return self.enhance_native
        return _StreamingRunner(self, hop)

    def enhance_native(self, wave: np.ndarray) -> np.ndarray:
        """``(n,)`` float32 at :attr:`sample_rate` → ``(n,)`` float32 (one pass, zero state)."""
        return self._run(wave, None, None)[0]

    def _run(
        self, wave: np.ndarray, state: torch.Tensor | None, state_sample: int | None
    ) -> tuple[np.ndarray, torch.Tensor | None]:
        x = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))[None]
        with self._lock, torch.inference_mode():
            out, kept = self.model.forward_with_state(x, state, state_sample)
        return out[0].numpy().astype(np.float32), kept


class _StreamingRunner:
    """Callable over successive chunks (each ``hop`` samples after the previous one)."""

    def __init__(self, system: GanEnhancer, hop: int) -> None:
        self.system = system
        self.hop = hop
        self.state: torch.Tensor | None = None

    def __call__(self, chunk: np.ndarray) -> np.ndarray:
        out, self.state = self.system._run(chunk, self.state, self.hop)
        return out
