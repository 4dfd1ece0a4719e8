"""The thin named inference API that the UI, the CLIs and the tests all call.

    >>> from pipeline import api
    >>> clean = api.enhance(noisy, 16000)                       # default system
    >>> api.enhance_file("long.flac", "long_clean.wav")         # streaming, flat memory
    >>> angry = api.convert(calm, 22050, "angry", 0.8, model="dsp")
    >>> api.quality(clean, 16000, reference=truth)              # DNSMOS, PESQ, STOI, SI-SDR

Waveforms are ``(samples,)`` float32 in [-1, 1]; ``sr`` is in Hz. Results come back at
the input's rate.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline import metrics, streaming
from pipeline.audio import validate
from pipeline.registry import Registry, System


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The registry over the repository's ``checkpoints/`` (created once per process)."""
    return Registry()


def load(task: str, name: str | None = None, *, registry: Registry | None = None) -> System:
    """Load a system by name (``None``: the task's default) — cached per registry."""
    return (registry or default_registry()).get(task, name)


def quality(
    wave: np.ndarray,
    sr: int,
    *,
    reference: np.ndarray | None = None,
    dnsmos: bool = True,
    scorer: metrics.DnsmosScorer | None = None,
) -> dict[str, float]:
    """Quality figures of one clip (the same figures training, corpora and evaluation use).

    Args:
        wave: ``(samples,)`` float32 in [-1, 1] at ``sr`` Hz.
        reference: the clean recording, ``(samples,)`` at ``sr``, same length: adds the
            intrusive figures.
        dnsmos: include the non-intrusive DNSMOS figures.
        scorer: any object with DnsmosScorer's ``score(wave, sr)`` (default: the process-wide
            :func:`pipeline.metrics.default_dnsmos`, loaded on first use).
    Returns:
        ``sig, bak, ovrl, p808`` (DNSMOS, MOS 1-5) when ``dnsmos``, and ``pesq_wb, stoi, estoi,
        si_sdr`` (dB) when ``reference`` is given.
    """
    figures: dict[str, float] = {}
    if dnsmos:
        figures.update((scorer or metrics.default_dnsmos()).score(wave, sr))
    if reference is not None:
        figures.update(metrics.intrusive_metrics(reference, wave, sr))
    return figures


def enhance(
    wave: np.ndarray, sr: int, *, model: str | None = None, registry: Registry | None = None
) -> np.ndarray:
    """Denoise speech. Returns ``(samples,)`` float32 at ``sr``, same length as ``wave``."""
    audio = validate(wave, sr, max_seconds=None)
    return load("enhance", model, registry=registry).enhance(audio.wave, audio.sample_rate)


def enhance_file(
    src: str | Path,
    dst: str | Path,
    *,
    model: str | None = None,
    max_seconds: float | None = None,
    registry: Registry | None = None,
) -> tuple[str, ...]:
    """Denoise the audio file ``src`` into ``dst`` (PCM-16 WAV, input rate and length), block by
    block with memory flat in the file's length. Raises ``AudioError`` for bad input (nothing
    written). Returns remarks about the input (downmix, clipping...)."""
    system = load("enhance", model, registry=registry)
    return streaming.enhance_file(system, src, dst, max_seconds=max_seconds).notes


def convert(
    wave: np.ndarray,
    sr: int,
    emotion: str,
    intensity: float = 1.0,
    *,
    model: str | None = None,
    registry: Registry | None = None,
) -> np.ndarray:
    """Convert speech towards ``emotion`` with ``intensity`` in [0, 1]. Returns float32 at ``sr``."""
    audio = validate(wave, sr, max_seconds=None)
    system = load("emotion", model, registry=registry)
    return system.convert(audio.wave, audio.sample_rate, emotion, intensity)
