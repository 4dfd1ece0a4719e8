"""Speaker similarity: cosine of Resemblyzer utterance embeddings (GE2E d-vectors).

Resemblyzer ships its encoder weights inside the package, so this works offline. Its
``preprocess_wav`` resamples to 16 kHz, normalises loudness and trims long silences.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import numpy as np

from pipeline.audio import resample

log = logging.getLogger(__name__)

ENCODER_RATE = 16_000


class ResemblyzerEncoder:
    """Resemblyzer ``VoiceEncoder`` on CPU, loaded once per object."""

    def __init__(self) -> None:
        from resemblyzer import VoiceEncoder  # heavy import (torch model + webrtcvad)

        self._encoder = VoiceEncoder(device="cpu", verbose=False)

    def embed(self, wave: np.ndarray, sr: int) -> np.ndarray:
        """``(samples,)`` float at ``sr`` Hz → L2-normalised ``(256,)`` float32 embedding."""
        from resemblyzer import preprocess_wav

        wave16 = resample(np.asarray(wave, dtype=np.float32), int(sr), ENCODER_RATE)
        prepared = preprocess_wav(wave16, source_sr=ENCODER_RATE)
        if prepared.size < ENCODER_RATE // 10:  # trimming removed (almost) everything
            prepared = wave16
        return np.asarray(self._encoder.embed_utterance(prepared), dtype=np.float32)

    def similarity(self, wave_a: np.ndarray, sr_a: int, wave_b: np.ndarray, sr_b: int) -> float:
        """Cosine similarity in [-1, 1] of the two clips' embeddings."""
        return cosine(self.embed(wave_a, sr_a), self.embed(wave_b, sr_b))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors (0 if either is all zeros)."""
    den = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b) / den) if den > 0 else 0.0


@lru_cache(maxsize=1)
def default_speaker_encoder() -> ResemblyzerEncoder:
    """A process-wide :class:`ResemblyzerEncoder` (created on first use)."""
    return ResemblyzerEncoder()
