"""Utterance-level prosody statistics: F0 level and range, energy, speaking rate.

Used for the acoustic (arousal) labelling route, for the prosody-shift evaluation and in
tests. All statistics are computed on the WORLD 5 ms frame grid of :mod:`pipeline.emotion.features`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.signal import find_peaks

from pipeline.emotion.features import FRAME_PERIOD_MS, WorldFeatures, analyze, frame_energy_db

#: frames quieter than the loudest (99th percentile) frame minus this are "inactive" (pauses).
ACTIVE_RANGE_DB = 35.0
#: a syllable nucleus is an energy peak this prominent (dB) in a voiced frame...
NUCLEUS_PROMINENCE_DB = 2.0
#: ...no closer than this to the previous one (ms)...
NUCLEUS_MIN_GAP_MS = 80.0
#: ...and no more than this below the 99th-percentile frame energy (dB).
NUCLEUS_RANGE_DB = 25.0


@dataclass(frozen=True)
class ProsodyStats:
    """Prosodic summary of one utterance (NaN where undefined, e.g. no voiced frames).

    Attributes:
        f0_median_hz: median F0 of voiced frames, Hz.
        f0_mean_st: mean F0 of voiced frames in semitones re 100 Hz.
        f0_range_st: 95th minus 5th percentile F0 of voiced frames, semitones.
        f0_std_st: standard deviation of voiced F0, semitones.
        energy_db: RMS level of active (non-pause) frames, dB re full scale.
        energy_std_db: standard deviation of the frame energy over active frames, dB.
        syllable_rate: syllable nuclei (voiced energy peaks) per second of active speech.
        voiced_fraction: voiced frames / active frames.
        active_s: seconds of active (non-pause) speech.
        duration_s: total seconds.
    """

    f0_median_hz: float
    f0_mean_st: float
    f0_range_st: float
    f0_std_st: float
    energy_db: float
    energy_std_db: float
    syllable_rate: float
    voiced_fraction: float
    active_s: float
    duration_s: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def semitones(f0_hz: np.ndarray, ref_hz: float = 100.0) -> np.ndarray:
    """Hz → semitones re ``ref_hz`` (``12 log2(f / ref)``)."""
    return 12.0 * np.log2(np.asarray(f0_hz, dtype=np.float64) / ref_hz)


def active_frames(energy_db: np.ndarray, range_db: float = ACTIVE_RANGE_DB) -> np.ndarray:
    """``(T,)`` bool: frames within ``range_db`` of the 99th-percentile frame energy."""
    if len(energy_db) == 0:
        return np.zeros(0, dtype=bool)
    return energy_db > np.percentile(energy_db, 99) - range_db


def syllable_nuclei(
    energy_db: np.ndarray, voiced: np.ndarray, frame_period: float = FRAME_PERIOD_MS
) -> np.ndarray:
    """Frame indices of syllable nuclei: prominent, loud-enough energy peaks in voiced frames.

    A simplification of de Jong & Wempe (2009): the energy contour is smoothed with a
    ~40 ms moving average, peaks need ``NUCLEUS_PROMINENCE_DB`` prominence, a minimum gap of
    ``NUCLEUS_MIN_GAP_MS`` and a level within ``NUCLEUS_RANGE_DB`` of the loud frames.
    """
    n = min(len(energy_db), len(voiced))
    if n < 3:
        return np.zeros(0, dtype=int)
    width = max(int(round(40.0 / frame_period)), 1)
    smooth = np.convolve(energy_db[:n], np.ones(width) / width, mode="same")
    height = np.percentile(smooth, 99) - NUCLEUS_RANGE_DB
    peaks, _ = find_peaks(
        smooth,
        height=height,
        prominence=NUCLEUS_PROMINENCE_DB,
        distance=max(int(round(NUCLEUS_MIN_GAP_MS / frame_period)), 1),
    )
    return peaks[voiced[:n][peaks]]


def prosody_stats(
    wave: np.ndarray,
    sample_rate: int,
    features: WorldFeatures | None = None,
    *,
    f0_method: str = "harvest",
) -> ProsodyStats:
    """Measure :class:`ProsodyStats` of ``wave`` (``(samples,)`` float in [-1, 1]).

    Args:
        features: WORLD features of the same wave at the same rate, if already computed
            (only ``f0`` is used); otherwise ``wave`` is analysed with ``f0_method``
            (default ``"harvest"``: DIO's extra voicing errors on resynthesised speech
            inflate the F0 range, e.g. 6.9 → 23.7 st on a WORLD round trip vs 9.0 → 9.2 st).
    """
    if features is None:
        features = analyze(wave, sample_rate, f0_method=f0_method)
    frame_period = features.frame_period
    energy = frame_energy_db(wave, sample_rate, frame_period)
    n = min(len(energy), features.n_frames)
    energy, f0 = energy[:n], features.f0[:n]
    active = active_frames(energy)
    voiced = (f0 > 0) & active
    active_s = float(active.sum()) * frame_period / 1000.0
    if voiced.sum() >= 3:
        st = semitones(f0[voiced])
        p5, p95 = np.percentile(st, [5, 95])
        f0_median = float(np.median(f0[voiced]))
        f0_mean_st, f0_range, f0_std = float(st.mean()), float(p95 - p5), float(st.std())
    else:
        f0_median = f0_mean_st = f0_range = f0_std = float("nan")
    if active.any():
        level = _power_mean_db(energy[active])
        energy_std = float(np.std(energy[active]))
    else:
        level = energy_std = float("nan")
    nuclei = syllable_nuclei(energy, voiced, frame_period)
    return ProsodyStats(
        f0_median_hz=f0_median,
        f0_mean_st=f0_mean_st,
        f0_range_st=f0_range,
        f0_std_st=f0_std,
        energy_db=level,
        energy_std_db=energy_std,
        syllable_rate=len(nuclei) / active_s if active_s >= 0.1 else float("nan"),
        voiced_fraction=float(voiced.sum() / active.sum()) if active.any() else float("nan"),
        active_s=active_s,
        duration_s=len(wave) / sample_rate,
    )


def _power_mean_db(energy_db: np.ndarray) -> float:
    return float(10.0 * np.log10(np.mean(10.0 ** (energy_db / 10.0))))


def speech_level_db(
    wave: np.ndarray, sample_rate: int, frame_period: float = FRAME_PERIOD_MS
) -> float:
    """The speech level of :class:`ProsodyStats` (``energy_db``): power mean of the active
    frames' energy, dB re full scale; NaN for an empty wave."""
    energy = frame_energy_db(wave, sample_rate, frame_period)
    active = active_frames(energy)
    return _power_mean_db(energy[active]) if active.any() else float("nan")


@dataclass(frozen=True)
class SpectralBalance:
    """Voice-effort measures from the long-term spectrum of active frames (dB).

    Not used for labelling, so they serve as an independent arousal check.

    Attributes:
        alpha_ratio_db: energy 1–5 kHz minus energy 50 Hz–1 kHz (higher = more effort).
        hammarberg_db: peak level 0–2 kHz minus peak level 2–5 kHz (lower = more effort).
    """

    alpha_ratio_db: float
    hammarberg_db: float


def spectral_balance(wave: np.ndarray, sample_rate: int, frame_ms: float = 32.0) -> SpectralBalance:
    """Alpha ratio and Hammarberg index of ``wave`` (``(samples,)``), active frames only.

    Frames of ``frame_ms`` (Hann, 50 % overlap) within :data:`ACTIVE_RANGE_DB` of the loudest
    frame are averaged into one power spectrum; NaN when the wave is shorter than a frame.
    """
    x = np.asarray(wave, dtype=np.float64)
    n = int(sample_rate * frame_ms / 1000.0)
    if len(x) < n or sample_rate < 10_000:
        return SpectralBalance(float("nan"), float("nan"))
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[:: n // 2] * np.hanning(n)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    level = 10.0 * np.log10(np.maximum(power.sum(axis=1), 1e-20))
    spectrum = power[active_frames(level)].mean(axis=0)
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)

    def band(lo: float, hi: float) -> np.ndarray:
        return spectrum[(freqs >= lo) & (freqs < hi)]

    def db(value: float) -> float:
        return float(10.0 * np.log10(max(value, 1e-20)))

    return SpectralBalance(
        alpha_ratio_db=db(band(1000, 5000).sum()) - db(band(50, 1000).sum()),
        hammarberg_db=db(band(0, 2000).max()) - db(band(2000, 5000).max()),
    )


def band_level_db(wave: np.ndarray, sample_rate: int, low_hz: float = 8000.0) -> float:
    """Level of ``wave`` (``(samples,)``) above ``low_hz``, dB re full-scale power.

    Mean power of the FFT bins at or above ``low_hz`` of the whole signal (Parseval-scaled,
    so the bands of a signal sum to its mean square); ``-inf`` when nothing lies there.
    """
    x = np.asarray(wave, dtype=np.float64)
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / sample_rate)
    power = 2.0 * spectrum[freqs >= low_hz].sum() / max(len(x), 1) ** 2
    return float(10.0 * np.log10(power)) if power > 0 else float("-inf")
