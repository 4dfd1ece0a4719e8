"""Rule-based emotion conversion baseline (registered as the emotion system ``dsp``).

WORLD analysis → per-emotion prosody transform → WORLD synthesis. The transform changes

* F0 level (semitone shift) and F0 range (scale of log-F0 deviations from the utterance mean),
* speaking rate (time-scaling of the WORLD frame sequence; pitch unchanged),
* energy (gain on the spectral envelope),
* spectral tilt (dB per octave above 1 kHz; frame energy preserved),

each scaled by the intensity in [0, 1] (log-domain interpolation from "no change").

Directions follow the acoustic correlates reviewed by Juslin & Laukka (2003, Psychological
Bulletin 129(5)) and Scherer (2003, Speech Communication 40): anger and happiness raise F0
level and variability, intensity, rate and high-frequency energy (anger most in intensity and
high-frequency energy); sadness lowers all of them. Surprise is not part of that review; we
follow the common observation that surprised speech has the highest F0 level and range.
The magnitudes are our own choice, not fitted to data; they are listed in the model card.
``neutral`` moves towards flat, even prosody: a compressed F0 range at unchanged level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.signal import lfilter

from pipeline.cards import ModelCard
from pipeline.emotion.features import (
    F0_CEIL,
    F0_FLOOR,
    SAMPLE_RATE,
    WorldFeatures,
    analyze,
    continuous_log_f0,
    f0_from_log,
    synthesize,
    time_scale,
)
from pipeline.systems import ConversionSystem, unchanged

TILT_PIVOT_HZ = 1000.0
#: inputs longer than this are converted in overlapping chunks (flat memory)
CHUNK_SECONDS = 20.0
OVERLAP_SECONDS = 0.5
#: output peaks are limited to this (a smooth gain, not clipping) so that level changes survive
#: the system's final peak normalisation
LIMIT_CEILING = 0.95
LIMIT_RELEASE_MS = 60.0


@dataclass(frozen=True)
class EmotionRule:
    """A prosody transform at full intensity.

    Attributes:
        f0_shift_st: F0 level shift, semitones.
        f0_range: factor on log-F0 deviations from the utterance mean (1 = unchanged).
        gain_db: level change, dB.
        rate: speaking-rate factor (> 1 faster, shorter output).
        tilt_db_per_oct: spectral tilt change, dB per octave above 1 kHz (> 0 brighter).
    """

    f0_shift_st: float = 0.0
    f0_range: float = 1.0
    gain_db: float = 0.0
    rate: float = 1.0
    tilt_db_per_oct: float = 0.0

    def scaled(self, intensity: float) -> EmotionRule:
        """The rule at ``intensity`` in [0, 1]: linear in st/dB, geometric in factors."""
        k = float(intensity)
        return EmotionRule(
            f0_shift_st=self.f0_shift_st * k,
            f0_range=self.f0_range**k,
            gain_db=self.gain_db * k,
            rate=self.rate**k,
            tilt_db_per_oct=self.tilt_db_per_oct * k,
        )


RULES: dict[str, EmotionRule] = {
    "neutral": EmotionRule(
        f0_shift_st=0.0, f0_range=0.7, gain_db=0.0, rate=1.0, tilt_db_per_oct=0.0
    ),
    "happy": EmotionRule(
        f0_shift_st=3.0, f0_range=1.4, gain_db=3.0, rate=1.08, tilt_db_per_oct=1.5
    ),
    "angry": EmotionRule(
        f0_shift_st=2.0, f0_range=1.3, gain_db=6.0, rate=1.10, tilt_db_per_oct=3.0
    ),
    "sad": EmotionRule(
        f0_shift_st=-2.0, f0_range=0.6, gain_db=-5.0, rate=0.85, tilt_db_per_oct=-3.0
    ),
    "surprise": EmotionRule(
        f0_shift_st=5.0, f0_range=1.7, gain_db=3.0, rate=1.0, tilt_db_per_oct=1.0
    ),
}


def tilt_weights(n_bins: int, sample_rate: int, db_per_oct: float) -> np.ndarray:
    """``(n_bins,)`` power weights: ``db_per_oct`` per octave above :data:`TILT_PIVOT_HZ`, flat below.

    Only the high band is tilted (the literature's correlate is the share of high-frequency
    energy); boosting the band below F0 as well made F0 trackers report octave errors.
    """
    freqs = np.linspace(0.0, sample_rate / 2.0, n_bins)
    octaves = np.log2(np.maximum(freqs, TILT_PIVOT_HZ) / TILT_PIVOT_HZ)
    return 10.0 ** (db_per_oct * octaves / 10.0)


def apply_rule(
    features: WorldFeatures, rule: EmotionRule, *, mean_lf0: float | None = None
) -> WorldFeatures:
    """Transform WORLD features by ``rule``.

    Args:
        mean_lf0: utterance (or speaker) mean log-F0 (ln Hz) the range is scaled around;
            default: mean over the voiced frames of ``features``.
    """
    f0, sp = features.f0, features.sp
    lf0, voiced = continuous_log_f0(f0)
    if voiced.any():
        mu = float(np.mean(lf0[voiced])) if mean_lf0 is None else mean_lf0
        shifted = mu + rule.f0_shift_st * math.log(2.0) / 12.0 + rule.f0_range * (lf0 - mu)
        lo, hi = math.log(F0_FLOOR * 0.7), math.log(F0_CEIL * 1.5)
        f0 = f0_from_log(np.clip(shifted, lo, hi), voiced)
    if rule.tilt_db_per_oct:
        tilted = sp * tilt_weights(sp.shape[1], features.sample_rate, rule.tilt_db_per_oct)
        sp = tilted * (np.mean(sp, axis=1, keepdims=True) / np.mean(tilted, axis=1, keepdims=True))
    if rule.gain_db:
        sp = sp * 10.0 ** (rule.gain_db / 10.0)
    out = replace(features, f0=f0, sp=sp)
    if not math.isclose(rule.rate, 1.0):
        out = time_scale(out, rule.rate)
    return out


def limit_peaks(wave: np.ndarray, sample_rate: int, ceiling: float = LIMIT_CEILING) -> np.ndarray:
    """Peak limiter: a smoothed gain (instant attack, ~60 ms release) keeps ``|wave| <= ceiling``.

    Raising the level of speech that already peaks near full scale would otherwise be undone
    by peak normalisation; limiting lowers only the peaks, as a loud voice's compressed
    dynamics do. ``(n,)`` → ``(n,)`` float32.
    """
    x = np.asarray(wave, dtype=np.float32)
    peak = np.abs(x)
    if len(x) == 0 or float(peak.max()) <= ceiling:
        return x
    win = max(int(sample_rate * 0.005), 1)
    padded = np.pad(peak, (win // 2, win - 1 - win // 2))
    env = np.lib.stride_tricks.sliding_window_view(padded, win).max(axis=1)
    gain = np.minimum(1.0, ceiling / np.maximum(env, 1e-9))
    # the gain falls instantly but recovers smoothly; run forwards and backwards so the
    # reduction also fades in before each peak
    alpha = math.exp(-1.0 / (sample_rate * LIMIT_RELEASE_MS / 1000.0))
    gain = _min_smooth(_min_smooth(gain, alpha)[::-1], alpha)[::-1]
    return np.clip(x * gain, -ceiling, ceiling).astype(np.float32)


def _min_smooth(gain: np.ndarray, alpha: float) -> np.ndarray:
    """Causal smoother that follows drops instantly and rises with coefficient ``alpha``."""
    # y[n] = min(g[n], alpha*y[n-1] + (1-alpha)*g[n]) has no closed form; approximate it by
    # smoothing and then taking the minimum with the raw gain (still never above the raw gain).
    smooth = lfilter([1.0 - alpha], [1.0, -alpha], gain, zi=[alpha * gain[0]])[0]
    return np.minimum(gain, smooth)


def mean_log_f0(wave: np.ndarray, sample_rate: int) -> float | None:
    """Mean ln-F0 (Hz) over voiced frames of ``wave``; ``None`` when nothing is voiced."""
    f0 = analyze(wave, sample_rate).f0
    return float(np.mean(np.log(f0[f0 > 0]))) if (f0 > 0).any() else None


class ProsodyRuleConverter(ConversionSystem):
    """The ``dsp`` emotion baseline: WORLD + the fixed per-emotion rules in :data:`RULES`."""

    name = "dsp"
    sample_rate = SAMPLE_RATE

    def __init__(
        self, rules: dict[str, EmotionRule] | None = None, *, f0_method: str = "dio"
    ) -> None:
        self.rules = dict(RULES if rules is None else rules)
        self.f0_method = f0_method

    @property
    def card(self) -> ModelCard:
        rows = "\n".join(
            f"| {e} | {r.f0_shift_st:+.1f} | x{r.f0_range:.2f} | {r.gain_db:+.1f} | x{r.rate:.2f} "
            f"| {r.tilt_db_per_oct:+.1f} |"
            for e, r in self.rules.items()
        )
        table = (
            "| emotion | F0 shift (st) | F0 range | gain (dB) | rate | tilt (dB/oct) |\n"
            "|---|---|---|---|---|---|\n" + rows
        )
        return ModelCard(
            name=self.name,
            task="emotion",
            title="Rule-based prosody conversion (WORLD)",
            kind="dsp",
            summary=(
                "WORLD analysis (DIO+StoneMask F0, CheapTrick envelope, D4C aperiodicity, 5 ms "
                "frames) → per-emotion change of F0 level and range, speaking rate, energy and "
                "spectral tilt, scaled by the intensity → WORLD synthesis. Intensity 0 returns "
                "the input unchanged. Full-intensity rules:\n\n" + table
            ),
            architecture="WORLD vocoder + fixed prosody rules (no learned parameters)",
            parameters=None,
            sample_rate=self.sample_rate,
            training_data="None: nothing is trained.",
            label_provenance=(
                "No labels. Directions of change follow published acoustic correlates of "
                "emotion (Juslin & Laukka 2003; Scherer 2003): anger/happiness raise F0 level, "
                "F0 range, intensity, rate and high-frequency energy, sadness lowers them; "
                "surprise (not in that review) gets the largest F0 rise and range. The "
                "magnitudes were chosen by us, not fitted to any corpus."
            ),
            limitations=(
                "Changes prosody and tilt only: voice quality, articulation and timing "
                "patterns of real emotional speech are not modelled; the same rule is applied "
                "to every speaker and sentence. Large F0 shifts sound processed."
            ),
            license="Same as the studio.",
        )

    def convert_native(self, wave: np.ndarray, emotion: str, intensity: float) -> np.ndarray:
        """``(n,)`` float32 at 16 kHz → ``(≈ n / rate,)`` float32 at 16 kHz."""
        wave = np.asarray(wave, dtype=np.float32)
        if intensity <= 0.0:
            return unchanged(wave)
        rule = self.rules[emotion].scaled(intensity)
        chunk = int(CHUNK_SECONDS * self.sample_rate)
        if len(wave) <= chunk:
            return self._convert_piece(wave, rule, None)
        return self._convert_chunked(wave, rule, chunk, int(OVERLAP_SECONDS * self.sample_rate))

    def _convert_piece(
        self, wave: np.ndarray, rule: EmotionRule, mean_lf0: float | None
    ) -> np.ndarray:
        features = analyze(wave, self.sample_rate, f0_method=self.f0_method)
        converted = apply_rule(features, rule, mean_lf0=mean_lf0)
        out = synthesize(converted, n_samples=int(round(len(wave) / rule.rate)))
        return limit_peaks(out, self.sample_rate)

    def _convert_chunked(
        self, wave: np.ndarray, rule: EmotionRule, chunk: int, overlap: int
    ) -> np.ndarray:
        """Overlapping chunks, each time-scaled by the same rate, cross-faded in the output."""
        mean_lf0 = mean_log_f0(wave, self.sample_rate)
        out_overlap = int(round(overlap / rule.rate))
        fade_in = (0.5 - 0.5 * np.cos(np.pi * (np.arange(out_overlap) + 0.5) / out_overlap)).astype(
            np.float32
        )
        pieces: list[np.ndarray] = []
        start = 0
        while True:
            stop = min(start + chunk, len(wave))
            piece = self._convert_piece(wave[start:stop], rule, mean_lf0)
            if pieces:
                tail = pieces[-1]
                m = min(out_overlap, len(tail), len(piece))
                tail[-m:] = tail[-m:] * (1.0 - fade_in[:m]) + piece[:m] * fade_in[:m]
                piece = piece[m:]
            pieces.append(piece)
            if stop == len(wave):
                break
            start = stop - overlap
        return np.concatenate(pieces).astype(np.float32)
