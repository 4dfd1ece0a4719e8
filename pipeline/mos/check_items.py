"""Stimuli with a known answer: gold items, trap items, training anchors, the headphone check.

Gold items and the "bad" anchor are strongly degraded clips (:func:`degrade`: 1 kHz band
limit plus noise at 0 dB SNR) whose expected score is :data:`DEGRADED_EXPECTED`; the "good"
anchor is the natural clip (:data:`IDENTICAL_EXPECTED`); trap items are ordinary clips whose
page asks for a stated answer; the headphone check asks to count quiet beeps (:func:`beeps`).
Each is made from the builder's :class:`NaturalClips`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.audio import normalize_level, resample, write_wav
from pipeline.mos.definition import QUESTIONS, HeadphoneCheck, Stimulus, TrainingClip

if TYPE_CHECKING:
    from pipeline.mos.builder import Builder

#: expected score of a strongly degraded clip (gold items, "bad" training anchor)
DEGRADED_EXPECTED = {"acr": 1, "dcr": 1, "ccr": -3, "ab": -1}
#: expected score of a clip compared with itself (paired training anchor)
IDENTICAL_EXPECTED = {"acr": 5, "dcr": 5, "ccr": 0, "smos": 5, "ab": 0}


def degrade(wave: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A clearly bad version of ``wave`` (``(n,)`` at ``sr``): 1 kHz band limit + noise at 0 dB SNR."""
    narrow = resample(resample(wave, sr, 2_000), 2_000, sr)[: len(wave)]
    narrow = np.pad(narrow, (0, len(wave) - len(narrow)))
    noise = rng.standard_normal(len(wave)).astype(np.float32)
    noise *= np.sqrt(np.mean(narrow**2) / max(np.mean(noise**2), 1e-12))
    return np.clip(narrow + noise, -1.0, 1.0).astype(np.float32)


def beeps(count: int, sr: int, *, level_dbov: float = -32.0) -> np.ndarray:
    """``count`` 1 kHz beeps of 150 ms, 350 ms apart, at a quiet RMS level."""
    t = np.arange(int(0.15 * sr)) / sr
    tone = np.sin(2 * np.pi * 1000.0 * t) * np.hanning(len(t))
    gap = np.zeros(int(0.35 * sr))
    parts = [np.zeros(int(0.4 * sr))]
    for _ in range(count):
        parts += [tone, gap]
    wave = np.concatenate(parts + [np.zeros(int(0.2 * sr))]).astype(np.float32)
    return normalize_level(wave, level_dbov)


@dataclass
class NaturalClips:
    """Per input clip, ``(item, wave, rate)`` of its natural version (the clean counterpart or,
    for paired questions, the reference), and each item's reference file (paired questions)."""

    clips: list[tuple[str, np.ndarray, int]] = field(default_factory=list)
    references: dict[str, str] = field(default_factory=dict)

    def paired_reference(self, builder: Builder, item: str) -> str | None:
        """The reference file of ``item`` when the test's question is paired, else ``None``."""
        return self.references.get(item) if QUESTIONS[builder.options.question].paired else None


def check_stimuli(
    builder: Builder, natural: NaturalClips, rng: np.random.Generator
) -> list[Stimulus]:
    """Gold items (strongly degraded, known answer) and trap items (attention checks)."""
    options = builder.options
    q = options.question

    def check_stimulus(rel: str, system: str, item: str, **answer) -> Stimulus:
        """A gold or trap item: a check with a known answer, not a system under test."""
        reference = natural.paired_reference(builder, item)
        return Stimulus(
            id="s" + Path(rel).stem,
            file=rel,
            system=system,
            item_id=item,
            reference=reference,
            **answer,
        )

    checks = []
    for item, wave, sr in natural.clips[: options.gold] if q in DEGRADED_EXPECTED else []:
        rel = builder.write(degrade(wave, sr, rng), sr)
        checks.append(check_stimulus(rel, "gold", item, gold=DEGRADED_EXPECTED[q]))
    scale = QUESTIONS[q].scores
    for n, (item, wave, sr) in enumerate(natural.clips[: options.traps]):
        # an attention check: an ordinary-sounding clip whose page asks for a given answer
        rel = builder.write(wave, sr)
        trap = scale[(len(scale) // 2 + 1 + n) % len(scale)]
        checks.append(check_stimulus(rel, "trap", item, trap=trap))
    return checks


def training_anchors(
    builder: Builder, natural: NaturalClips, rng: np.random.Generator
) -> list[TrainingClip]:
    """The training page's anchors: the last clip unchanged (good) and degraded (bad)."""
    q = builder.options.question
    if not builder.options.training or not natural.clips:
        return []
    item, wave, sr = natural.clips[-1]
    ref = natural.paired_reference(builder, item)
    good = ref if QUESTIONS[q].paired else builder.write(wave, sr)
    training = [TrainingClip(good, IDENTICAL_EXPECTED[q], reference=ref, note="anchor_good")]
    if q in DEGRADED_EXPECTED:
        bad = builder.write(degrade(wave, sr, rng), sr)
        training.append(TrainingClip(bad, DEGRADED_EXPECTED[q], reference=ref, note="anchor_bad"))
    return training


def headphone_check(builder: Builder, rng: np.random.Generator) -> HeadphoneCheck | None:
    """A beep-counting clip (2 to 5 beeps), or ``None`` when the options skip the check."""
    options = builder.options
    if not options.headphone_check:
        return None
    count = int(rng.integers(2, 6))
    rel = f"stimuli/{secrets.token_hex(8)}.wav"
    write_wav(builder.folder / rel, beeps(count, options.sample_rate), options.sample_rate)
    return HeadphoneCheck(rel, count)
