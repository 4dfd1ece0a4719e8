"""The one inference interface every system implements, whatever is inside it.

Callers hand in audio at *their* sample rate; a system resamples to its own rate, works in
chunks so memory stays flat with length, and hands back audio at the caller's rate.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from pipeline.audio import crossfade_blocks, fit_length, overlapping_blocks, resample
from pipeline.cards import ModelCard
from pipeline.constants import EMOTIONS
from pipeline.fullband import carry_upper_band


class EnhancementSystem(ABC):
    """Denoises speech. Subclasses implement :meth:`enhance_native` at :attr:`sample_rate`."""

    name: str
    sample_rate: int
    #: chunk length and cross-fade for long inputs (seconds at ``sample_rate``)
    chunk_seconds: float = 8.0
    overlap_seconds: float = 0.25
    #: callers above :attr:`sample_rate` get their upper band back, gained per frame like
    #: the top of the system's band (:mod:`pipeline.fullband`); False: plain resampling
    keep_upper_band: bool = True

    @property
    @abstractmethod
    def card(self) -> ModelCard: ...

    @abstractmethod
    def enhance_native(self, wave: np.ndarray) -> np.ndarray:
        """``(n,)`` float32 at :attr:`sample_rate` → ``(n,)`` float32, same length."""

    def chunk_processor(self) -> Callable[[np.ndarray], np.ndarray]:
        """The function applied to successive chunks of one input (default
        :meth:`enhance_native`). Systems with a recurrent state may return a fresh stateful
        callable that carries its state from one chunk to the next: chunks arrive in order,
        each starting ``chunk_seconds - overlap_seconds`` after the previous one."""
        return self.enhance_native

    def block_layout(self, sr: int) -> tuple[int, int]:
        """``(block, overlap)`` in samples at ``sr`` Hz for :meth:`enhance_blocks`."""
        return int(self.chunk_seconds * sr), int(self.overlap_seconds * sr)

    def enhance_blocks(self, blocks: Iterable[np.ndarray], sr: int) -> Iterator[np.ndarray]:
        """Streaming :meth:`enhance`: memory flat in the input length.

        Args:
            blocks: consecutive ``(samples,)`` float32 blocks at ``sr`` Hz laid out as
                :meth:`block_layout` says (each block after the first repeats the last
                ``overlap`` samples of the one before, as ``soundfile.blocks`` does).
        Yields:
            float32 pieces at ``sr`` whose concatenation has the input's length.
        """
        runner = self.chunk_processor()

        def one(block: np.ndarray) -> np.ndarray:
            native_in = resample(block, sr, self.sample_rate)
            native_out = np.clip(runner(native_in), -1.0, 1.0)
            out = fit_length(resample(native_out, self.sample_rate, sr), len(block))
            if self.keep_upper_band and sr > self.sample_rate:
                out = carry_upper_band(block, out, native_in, native_out, self.sample_rate, sr)
            return out

        _, overlap = self.block_layout(sr)
        return crossfade_blocks(one, blocks, overlap=overlap)

    def enhance(self, wave: np.ndarray, sr: int) -> np.ndarray:
        """Enhance ``wave`` (``(samples,)`` float32 in [-1, 1] at ``sr`` Hz).

        Returns:
            ``(samples,)`` float32 at ``sr`` — the same length as the input.
        """
        wave = np.asarray(wave, dtype=np.float32)
        block, overlap = self.block_layout(sr)
        blocks = overlapping_blocks(wave, block=block, overlap=overlap)
        out = np.empty(len(wave), dtype=np.float32)
        start = 0
        for piece in self.enhance_blocks(blocks, sr):
            np.clip(piece, -1.0, 1.0, out=out[start : start + len(piece)])
            start += len(piece)
        return out


class ConversionSystem(ABC):
    """Changes the emotion of speech. Output length may differ (speaking rate changes)."""

    name: str
    sample_rate: int

    @property
    @abstractmethod
    def card(self) -> ModelCard: ...

    @abstractmethod
    def convert_native(self, wave: np.ndarray, emotion: str, intensity: float) -> np.ndarray:
        """``(n,)`` float32 at :attr:`sample_rate` → ``(m,)`` float32 at the same rate."""

    def convert(self, wave: np.ndarray, sr: int, emotion: str, intensity: float) -> np.ndarray:
        """Convert ``wave`` (``(samples,)`` float32 at ``sr`` Hz) towards ``emotion``.

        Args:
            emotion: one of :data:`EMOTIONS`.
            intensity: in [0, 1]; 0 returns the input unchanged (:func:`unchanged`: no
                resynthesis, no resampling), and every system shares that contract.
        Returns:
            ``(m,)`` float32 at ``sr``; ``m`` differs from the input when the speaking
            rate changes.
        """
        check_emotion(emotion, intensity)
        if float(intensity) == 0.0:
            return unchanged(wave)
        native = resample(wave, sr, self.sample_rate)
        out = self.convert_native(native, emotion, float(intensity))
        peak = float(np.max(np.abs(out))) if len(out) else 0.0
        if peak > 0.99:
            out = out * (0.99 / peak)
        return resample(out.astype(np.float32), self.sample_rate, sr)


def unchanged(wave: np.ndarray) -> np.ndarray:
    """What every conversion returns at intensity 0: a float32 copy of ``wave`` (``(n,)``),
    sample for sample, at the caller's rate (a vocoder round trip would already move the
    measured F0 and level, so the intensity scale would not start at the source)."""
    return np.array(wave, dtype=np.float32, copy=True)


class ConversionRequestError(ValueError):
    """An emotion conversion was asked for an unknown emotion or an intensity outside [0, 1]."""


def check_emotion(emotion: str, intensity: float) -> None:
    """Raise :class:`ConversionRequestError` (one line) for an unknown emotion or an
    intensity outside [0, 1]."""
    if emotion not in EMOTIONS:
        raise ConversionRequestError(
            f"unknown emotion {emotion!r} (choose from {', '.join(EMOTIONS)})"
        )
    if not np.isfinite(intensity) or not 0.0 <= float(intensity) <= 1.0:
        raise ConversionRequestError(f"intensity must be between 0 and 1, got {intensity}")
