"""Per-emotion prosody profiles: *what the emotion is*, as a speaker-relative target prosody.

A :class:`ProsodyProfile` is a move away from a speaker's own (neutral) prosody:

* ``f0_shift_st`` — change of the mean F0 in semitones;
* ``f0_spread`` — factor on the F0 deviations (in semitones) around the mean (range/spread);
* ``energy_db`` — change of the speech level in dB;
* ``rate`` — speaking-rate factor (> 1 faster).

Every value is relative to the speaker (semitones, dB and ratios), so one profile serves
every voice; :class:`SpeakerBaseline` holds a speaker's own statistics and turns absolute
measurements into such relative ones (:meth:`SpeakerBaseline.deviation`) — the per-speaker
normalisation used for reference clips (:mod:`pipeline.emotion.reference`) and evaluation.

Sources of the profiles (:data:`PROFILES`). Directions are the published ones; the
magnitudes are our numeric reading of the papers' verbal categories, chosen to be audible and
kept close to the ``dsp`` rules (:data:`pipeline.emotion.dsp.RULES`), not fitted to any
corpus. The F0 shifts equal the ``dsp`` rules' (+3, +2, -2, +5 st), so the GAN moves F0 as
far as the rules and no farther: the first profiles' larger shifts (happy +4, angry +3,
sad -2.5 st) cost 0.034 DNSMOS OVRL [0.006, 0.066] and 0.008 speaker similarity on the
validation speakers (``python -m pipeline.evaluate emotion --split valid``, docs/EVALUATION.md):

* Murray & Arnott (1993), "Toward the simulation of emotion in synthetic speech: a review of
  the literature on human vocal emotion", JASA 93(2), 1097-1108, Table I: anger — pitch
  average "very much higher", pitch range "much wider", intensity "higher", rate "slightly
  faster"; happiness — pitch "much higher", range "much wider", intensity "higher"; sadness —
  pitch "slightly lower", range "slightly narrower", intensity "lower", rate "slightly slower".
* Juslin & Laukka (2003), "Communication of emotions in vocal expression and music
  performance: different channels, same code?", Psychological Bulletin 129(5), 770-814:
  across 104 vocal studies anger and happiness show high F0 level, high F0 variability, high
  intensity and fast rate (anger the highest intensity), sadness low F0 level, low
  variability, low intensity and slow rate.
* Scherer (2003), "Vocal communication of emotion: a review of research paradigms", Speech
  Communication 40, 227-256: the same directions for anger/joy (F0 mean, range, intensity,
  rate up) and sadness (down).
* Surprise is in none of these reviews; its profile follows the studio's direction rule
  (raised F0 and spread) with the largest F0 rise and range of the five, as in ``dsp``.
* Neutral moves towards flat, even prosody (narrower F0 spread, nothing else).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from pipeline.constants import EMOTIONS
from pipeline.emotion.prosody import ProsodyStats

#: limits every profile (from the literature or a reference clip) is clamped to
F0_SHIFT_LIMIT_ST = 8.0
SPREAD_LIMITS = (0.4, 2.5)
ENERGY_LIMIT_DB = 12.0
RATE_LIMITS = (0.7, 1.4)
#: emotions whose direction rule says "raise"; ``sad`` says "lower"; neutral has no rule
RAISING = ("happy", "angry", "surprise")
LOWERING = ("sad",)


@dataclass(frozen=True)
class ProsodyProfile:
    """A speaker-relative prosody move (see the module docstring); identity by default."""

    f0_shift_st: float = 0.0
    f0_spread: float = 1.0
    energy_db: float = 0.0
    rate: float = 1.0

    def scaled(self, intensity: float) -> ProsodyProfile:
        """The profile at ``intensity`` in [0, 1]: linear in st and dB, geometric in factors.

        Every component moves monotonically from the identity (0) to the full profile (1).
        """
        k = float(intensity)
        if not math.isfinite(k) or not 0.0 <= k <= 1.0:
            raise ValueError(f"intensity must be between 0 and 1, got {intensity}")
        return ProsodyProfile(
            f0_shift_st=self.f0_shift_st * k,
            f0_spread=self.f0_spread**k,
            energy_db=self.energy_db * k,
            rate=self.rate**k,
        )

    def clamped(self) -> ProsodyProfile:
        """The profile inside the safe limits (:data:`F0_SHIFT_LIMIT_ST` etc.)."""
        return ProsodyProfile(
            f0_shift_st=float(np.clip(self.f0_shift_st, -F0_SHIFT_LIMIT_ST, F0_SHIFT_LIMIT_ST)),
            f0_spread=float(np.clip(self.f0_spread, *SPREAD_LIMITS)),
            energy_db=float(np.clip(self.energy_db, -ENERGY_LIMIT_DB, ENERGY_LIMIT_DB)),
            rate=float(np.clip(self.rate, *RATE_LIMITS)),
        )

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


#: the literature profiles at full intensity (sources in the module docstring)
PROFILES: dict[str, ProsodyProfile] = {
    "neutral": ProsodyProfile(f0_shift_st=0.0, f0_spread=0.8, energy_db=0.0, rate=1.0),
    "happy": ProsodyProfile(f0_shift_st=3.0, f0_spread=1.35, energy_db=3.0, rate=1.08),
    "angry": ProsodyProfile(f0_shift_st=2.0, f0_spread=1.3, energy_db=6.0, rate=1.10),
    "sad": ProsodyProfile(f0_shift_st=-2.0, f0_spread=0.7, energy_db=-5.0, rate=0.85),
    "surprise": ProsodyProfile(f0_shift_st=5.0, f0_spread=1.6, energy_db=3.0, rate=1.0),
}

#: one line per emotion for the model card: (emotion, direction source)
PROFILE_SOURCES: dict[str, str] = {
    "neutral": "flat, even prosody (studio choice)",
    "happy": "Murray & Arnott 1993 Tab. I; Juslin & Laukka 2003; Scherer 2003",
    "angry": "Murray & Arnott 1993 Tab. I; Juslin & Laukka 2003; Scherer 2003",
    "sad": "Murray & Arnott 1993 Tab. I; Juslin & Laukka 2003; Scherer 2003",
    "surprise": "no review covers it: the studio direction rule, as dsp",
}


def emotion_profile(emotion: str, intensity: float = 1.0) -> ProsodyProfile:
    """The literature profile of ``emotion`` scaled to ``intensity`` in [0, 1]."""
    if emotion not in PROFILES:
        raise ValueError(f"unknown emotion {emotion!r} (choose from {', '.join(EMOTIONS)})")
    return PROFILES[emotion].scaled(intensity)


@dataclass(frozen=True)
class SpeakerBaseline:
    """A speaker's own prosody: the reference point of every speaker-relative profile.

    Attributes:
        f0_mean_st: mean voiced F0, semitones re 100 Hz.
        f0_std_st: standard deviation of voiced F0 within an utterance, semitones.
        energy_db: speech level of active frames, dB re full scale.
        syllable_rate: syllables per second of active speech (NaN: unknown).
    """

    f0_mean_st: float
    f0_std_st: float
    energy_db: float
    syllable_rate: float

    @classmethod
    def from_stats(cls, stats: Sequence[ProsodyStats]) -> SpeakerBaseline:
        """Average the utterance statistics of one speaker (NaNs ignored)."""
        if not stats:
            raise ValueError("a speaker baseline needs at least one utterance")

        def mean(key: str) -> float:
            values = np.array([getattr(s, key) for s in stats], dtype=np.float64)
            values = values[np.isfinite(values)]
            return float(values.mean()) if len(values) else float("nan")

        return cls(mean("f0_mean_st"), mean("f0_std_st"), mean("energy_db"), mean("syllable_rate"))

    def deviation(self, stats: ProsodyStats) -> ProsodyProfile:
        """The speaker-normalised move of one utterance from this baseline (clamped).

        Components that cannot be measured (NaN) stay at the identity.
        """

        def ratio(a: float, b: float) -> float:
            return a / b if np.isfinite(a) and np.isfinite(b) and a > 0 and b > 0 else 1.0

        def diff(a: float, b: float) -> float:
            return a - b if np.isfinite(a) and np.isfinite(b) else 0.0

        return ProsodyProfile(
            f0_shift_st=diff(stats.f0_mean_st, self.f0_mean_st),
            f0_spread=ratio(stats.f0_std_st, self.f0_std_st),
            energy_db=diff(stats.energy_db, self.energy_db),
            rate=ratio(stats.syllable_rate, self.syllable_rate),
        ).clamped()


def direction_holds(
    emotion: str, f0_shift_st: float, spread_change: float, energy_db: float
) -> bool | None:
    """The literature's direction rule for one converted clip.

    happy/angry/surprise: F0 up **and** (F0 spread up **or** energy up); sad: F0 down **and**
    (energy down **or** spread down). ``spread_change`` is a difference (e.g. in semitones of
    F0 standard deviation); only its sign is used. ``None`` for neutral (no rule) or when a
    value is not finite.
    """
    values = (f0_shift_st, spread_change, energy_db)
    if emotion not in RAISING + LOWERING or not all(np.isfinite(v) for v in values):
        return None
    if emotion in RAISING:
        return bool(f0_shift_st > 0 and (spread_change > 0 or energy_db > 0))
    return bool(f0_shift_st < 0 and (energy_db < 0 or spread_change < 0))
