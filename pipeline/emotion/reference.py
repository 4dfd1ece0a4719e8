"""Emotion from a reference clip: "make my sentence sound like this one".

The reference's prosody statistics (:func:`pipeline.emotion.prosody.prosody_stats`: mean F0
and F0 spread in semitones, speech level in dB, syllable rate) are normalised by a
:class:`~pipeline.emotion.profiles.SpeakerBaseline` into a speaker-relative
:class:`~pipeline.emotion.profiles.ProsodyProfile`, which the converter then applies to the
source exactly like a literature profile:

* with the reference speaker's baseline (their usual prosody, e.g. measured over other clips
  of theirs) the profile is the reference's own emotional move, transferred to any voice;
* without one, the source is the baseline: the reference is taken to be the same voice (a
  user recording "say it like this"), so the output's F0 level, spread, level and rate move
  to the reference's. A reference of a very different voice then moves F0 by the register
  difference, within the profile limits (±8 st).
"""

from __future__ import annotations

import numpy as np

from pipeline.audio import resample
from pipeline.emotion.features import SAMPLE_RATE
from pipeline.emotion.profiles import ProsodyProfile, SpeakerBaseline
from pipeline.emotion.prosody import ProsodyStats, prosody_stats

#: a reference must have at least this much voiced, active speech to carry an F0 level
MIN_VOICED_S = 0.2


class ReferenceError(ValueError):
    """The reference clip carries no usable prosody (silent, unvoiced, too short)."""


def measure_prosody(wave: np.ndarray, sample_rate: int) -> ProsodyStats:
    """:class:`ProsodyStats` of ``wave`` (``(samples,)`` float in [-1, 1]) measured at 16 kHz."""
    return prosody_stats(
        resample(np.asarray(wave, dtype=np.float32), sample_rate, SAMPLE_RATE), SAMPLE_RATE
    )


def checked_reference_stats(wave: np.ndarray, sample_rate: int) -> ProsodyStats:
    """Measure a reference clip; :class:`ReferenceError` (one line) when it has no voice."""
    stats = measure_prosody(wave, sample_rate)
    voiced_s = stats.voiced_fraction * stats.active_s if np.isfinite(stats.voiced_fraction) else 0.0
    if not np.isfinite(stats.f0_mean_st) or voiced_s < MIN_VOICED_S:
        raise ReferenceError(
            f"the reference clip has too little voiced speech ({voiced_s:.2f} s; "
            f"need {MIN_VOICED_S} s)"
        )
    return stats


def reference_profile(
    reference: np.ndarray,
    reference_sr: int,
    source: np.ndarray | None = None,
    source_sr: int | None = None,
    *,
    baseline: SpeakerBaseline | None = None,
) -> ProsodyProfile:
    """The speaker-normalised target profile taken from a reference clip.

    Args:
        reference: ``(samples,)`` float at ``reference_sr`` Hz.
        source, source_sr: the clip to be converted; its statistics are the baseline when
            ``baseline`` is ``None`` (same-voice reading, see the module docstring).
        baseline: the reference speaker's usual prosody, when known.
    Returns:
        A clamped :class:`ProsodyProfile` at full strength (scale it by the intensity).
    """
    ref_stats = checked_reference_stats(reference, reference_sr)
    if baseline is None:
        if source is None or source_sr is None:
            raise ValueError("reference_profile needs the source clip or a speaker baseline")
        baseline = SpeakerBaseline.from_stats([measure_prosody(source, source_sr)])
    return baseline.deviation(ref_stats)
