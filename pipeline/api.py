"""The thin named inference API that the UI, the CLIs and the tests all call.

    >>> from pipeline import api
    >>> clean = api.enhance(noisy, 16000)                       # default system
    >>> api.enhance_file("long.flac", "long_clean.wav")         # streaming, flat memory
    >>> angry = api.convert(calm, 22050, "angry", 0.8, model="dsp")
    >>> report = api.quality({"input": (noisy, 16000), "enhanced": (clean, 16000)})

Waveforms are ``(samples,)`` float32 in [-1, 1]; ``sr`` is in Hz. Results come back at
the input's rate.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline import streaming
from pipeline.audio import validate
from pipeline.quality import QualityReport, Scorer, assess_quality, default_scorer
from pipeline.registry import Registry, System


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The registry over the repository's ``checkpoints/`` (created once per process)."""
    return Registry()


def load(task: str, name: str | None = None, *, registry: Registry | None = None) -> System:
    """Load a system by name (``None``: the task's default) — cached per registry."""
    return (registry or default_registry()).get(task, name)


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
    emotion: str | None,
    intensity: float = 1.0,
    *,
    model: str | None = None,
    registry: Registry | None = None,
    reference: tuple[np.ndarray, int] | None = None,
) -> np.ndarray:
    """Convert speech towards ``emotion`` with ``intensity`` in [0, 1]. Returns float32 at ``sr``.

    ``reference``: an optional ``(wave, sr)`` clip whose prosody is the target ("emotion from
    this clip"); ``emotion`` may then be ``None`` and ``intensity`` scales the move towards the
    reference. Only systems with ``takes_reference`` accept one (ValueError otherwise).
    """
    audio = validate(wave, sr, max_seconds=None)
    system = load("emotion", model, registry=registry)
    if reference is None:
        if emotion is None:
            raise ValueError("choose a target emotion or give a reference clip")
        return system.convert(audio.wave, audio.sample_rate, emotion, intensity)
    if not getattr(system, "takes_reference", False):
        raise ValueError(f"system {system.name!r} cannot take a reference clip")
    ref = validate(reference[0], reference[1], max_seconds=None)
    return system.convert(
        audio.wave, audio.sample_rate, emotion, intensity, reference=(ref.wave, ref.sample_rate)
    )


def quality(
    signals: dict[str, tuple[np.ndarray, int]],
    *,
    reference: tuple[np.ndarray, int] | None = None,
    scorer: Callable[[], Scorer] = default_scorer,
) -> QualityReport:
    """DNSMOS of every named ``(wave, sr)``, plus PESQ-WB/STOI/ESTOI/SI-SDR against a clean
    ``reference`` ``(wave, sr)``. A metric that cannot run is left out and the report's
    ``notes`` say why (see :mod:`pipeline.quality`)."""
    return assess_quality(signals, reference=reference, scorer=scorer)
