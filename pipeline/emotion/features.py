"""WORLD vocoder features: analysis, resynthesis, continuous log-F0, coded envelope, energy.

Every feature here is framed on the same grid: one frame every ``frame_period`` ms (5 ms by
default), frame ``t`` centred at ``t * frame_period`` ms, ``n_frames = samples // hop + 1``
(pyworld's convention). Waves are ``(samples,)`` float arrays in [-1, 1].

F0 extraction: ``"dio"`` (DIO + StoneMask refinement) is the default because it is about 12x
faster than ``"harvest"`` (measured on this CPU for 5 s of 16 kHz speech: 0.04 s vs 0.56 s;
cheaptrick 0.04 s, d4c 0.08 s, synthesis 0.08 s); ``"harvest"`` is more robust on noisy or
creaky voices and is fine for offline work (feature extraction for training / statistics).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np

from pipeline.audio import resample
from pipeline.constants import SAMPLE_RATE

with warnings.catch_warnings():  # pyworld imports the deprecated pkg_resources
    warnings.simplefilter("ignore")
    import pyworld

FRAME_PERIOD_MS = 5.0
CODED_DIM = 36  #: coded spectral envelope (mel-cepstrum-like) dimension
F0_FLOOR = 60.0  #: Hz
F0_CEIL = 700.0  #: Hz
F0_METHODS = ("dio", "harvest")


@dataclass(frozen=True)
class WorldFeatures:
    """WORLD parameters of one utterance.

    Attributes:
        f0: ``(T,)`` float64, Hz; 0 in unvoiced frames.
        sp: ``(T, fft_size // 2 + 1)`` float64 smoothed power spectral envelope (linear power).
        ap: ``(T, fft_size // 2 + 1)`` float64 aperiodicity in [0, 1].
        sample_rate: Hz.
        frame_period: ms between frames.
        n_samples: length of the analysed wave (samples), kept so resynthesis can match it.
    """

    f0: np.ndarray
    sp: np.ndarray
    ap: np.ndarray
    sample_rate: int
    frame_period: float = FRAME_PERIOD_MS
    n_samples: int = 0

    @property
    def n_frames(self) -> int:
        return len(self.f0)

    @property
    def fft_size(self) -> int:
        return (self.sp.shape[1] - 1) * 2

    @property
    def voiced(self) -> np.ndarray:
        """``(T,)`` bool, True where F0 > 0."""
        return self.f0 > 0

    @property
    def duration_s(self) -> float:
        return self.n_frames * self.frame_period / 1000.0

    def coded_sp(self, dim: int = CODED_DIM) -> np.ndarray:
        """``(T, dim)`` float64 coded spectral envelope (pyworld.code_spectral_envelope)."""
        return code_envelope(self.sp, self.sample_rate, dim)

    def log_f0(self) -> tuple[np.ndarray, np.ndarray]:
        """Continuous log-F0 ``(T,)`` (ln Hz) and voiced mask ``(T,)``; see :func:`continuous_log_f0`."""
        return continuous_log_f0(self.f0)

    def energy_db(self) -> np.ndarray:
        """``(T,)`` frame energy in dB from the envelope (10 log10 of mean power over bins)."""
        return envelope_energy_db(self.sp)


def analyze(
    wave: np.ndarray,
    sample_rate: int,
    *,
    f0_method: str = "dio",
    frame_period: float = FRAME_PERIOD_MS,
    f0_floor: float = F0_FLOOR,
    f0_ceil: float = F0_CEIL,
) -> WorldFeatures:
    """WORLD analysis of ``wave`` (``(samples,)`` float in [-1, 1] at ``sample_rate`` Hz).

    Args:
        f0_method: ``"dio"`` (DIO + StoneMask, fast) or ``"harvest"`` (slower, more robust).
        frame_period: ms between frames.
        f0_floor, f0_ceil: F0 search range in Hz.
    """
    if f0_method not in F0_METHODS:
        raise ValueError(f"unknown f0_method {f0_method!r} (choose from {', '.join(F0_METHODS)})")
    x = np.ascontiguousarray(wave, dtype=np.float64)
    if x.ndim != 1 or len(x) == 0:
        raise ValueError(f"expected a non-empty 1-D wave, got shape {x.shape}")
    if f0_method == "harvest":
        f0, times = pyworld.harvest(
            x, sample_rate, f0_floor=f0_floor, f0_ceil=f0_ceil, frame_period=frame_period
        )
    else:
        f0, times = pyworld.dio(
            x, sample_rate, f0_floor=f0_floor, f0_ceil=f0_ceil, frame_period=frame_period
        )
        f0 = pyworld.stonemask(x, f0, times, sample_rate)
    sp = pyworld.cheaptrick(x, f0, times, sample_rate, f0_floor=f0_floor)
    # D4C's default FFT size matches CheapTrick's only up to ~44.1 kHz; pass it explicitly
    ap = pyworld.d4c(x, f0, times, sample_rate, fft_size=(sp.shape[1] - 1) * 2)
    return WorldFeatures(f0, sp, ap, int(sample_rate), float(frame_period), len(x))


def synthesize(features: WorldFeatures, n_samples: int | None = None) -> np.ndarray:
    """WORLD synthesis → ``(samples,)`` float32.

    Args:
        n_samples: trim/pad the output to this length; default is the natural length
            ``(T - 1) * hop`` (pyworld) which equals the analysed length for unmodified frames.
    """
    f0 = np.ascontiguousarray(np.clip(features.f0, 0.0, None), dtype=np.float64)
    sp = np.ascontiguousarray(np.maximum(features.sp, 1e-16), dtype=np.float64)
    ap = np.ascontiguousarray(np.clip(features.ap, 0.0, 1.0), dtype=np.float64)
    out = pyworld.synthesize(f0, sp, ap, features.sample_rate, features.frame_period)
    out = np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
    if n_samples is not None:
        out = out[:n_samples] if len(out) >= n_samples else np.pad(out, (0, n_samples - len(out)))
    return out


def resynthesize(wave: np.ndarray, sample_rate: int, *, f0_method: str = "dio") -> np.ndarray:
    """Analysis + synthesis, same length as ``wave`` (the vocoder's own round trip)."""
    return synthesize(analyze(wave, sample_rate, f0_method=f0_method), n_samples=len(wave))


def analyze_at(
    wave: np.ndarray, sample_rate: int, *, target_rate: int = SAMPLE_RATE, **kwargs
) -> WorldFeatures:
    """Resample to ``target_rate`` (torchaudio) and analyse; ``kwargs`` go to :func:`analyze`."""
    return analyze(resample(wave, sample_rate, target_rate), target_rate, **kwargs)


def continuous_log_f0(f0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Continuous log-F0 for modelling.

    Args:
        f0: ``(T,)`` Hz, 0 where unvoiced.
    Returns:
        ``(lf0, voiced)``: ``lf0`` ``(T,)`` float64 natural log of Hz, linearly interpolated
        across unvoiced gaps and held constant before the first / after the last voiced
        frame; ``voiced`` ``(T,)`` bool. An all-unvoiced input gives ``lf0 = 0`` everywhere.
    """
    f0 = np.asarray(f0, dtype=np.float64)
    voiced = f0 > 0
    if not voiced.any():
        return np.zeros_like(f0), voiced
    idx = np.flatnonzero(voiced)
    lf0 = np.interp(np.arange(len(f0)), idx, np.log(f0[idx]))
    return lf0, voiced


def f0_from_log(lf0: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """Inverse of :func:`continuous_log_f0`: ``(T,)`` Hz with 0 where not ``voiced``."""
    return np.where(voiced, np.exp(lf0), 0.0)


def code_envelope(sp: np.ndarray, sample_rate: int, dim: int = CODED_DIM) -> np.ndarray:
    """``(T, bins)`` power envelope → ``(T, dim)`` coded envelope (pyworld)."""
    return pyworld.code_spectral_envelope(
        np.ascontiguousarray(sp, dtype=np.float64), sample_rate, dim
    )


def decode_envelope(coded: np.ndarray, sample_rate: int, fft_size: int | None = None) -> np.ndarray:
    """``(T, dim)`` coded envelope → ``(T, fft_size // 2 + 1)`` power envelope."""
    fft_size = fft_size or pyworld.get_cheaptrick_fft_size(sample_rate)
    return pyworld.decode_spectral_envelope(
        np.ascontiguousarray(coded, dtype=np.float64), sample_rate, fft_size
    )


def envelope_energy_db(sp: np.ndarray) -> np.ndarray:
    """``(T, bins)`` power envelope → ``(T,)`` energy in dB (mean power over bins)."""
    return 10.0 * np.log10(np.maximum(np.mean(sp, axis=1), 1e-20))


def frame_energy_db(
    wave: np.ndarray, sample_rate: int, frame_period: float = FRAME_PERIOD_MS, win_ms: float = 25.0
) -> np.ndarray:
    """Short-time RMS energy on the WORLD frame grid.

    Returns:
        ``(samples // hop + 1,)`` float64, dB re full scale (a full-scale sine is -3 dB),
        with a -120 dB floor; window ``win_ms`` (Hann) centred on each frame.
    """
    x = np.asarray(wave, dtype=np.float64)
    hop = int(round(sample_rate * frame_period / 1000.0))
    win = max(int(round(sample_rate * win_ms / 1000.0)), 2)
    n_frames = len(x) // hop + 1
    padded = np.pad(x, (win // 2, win // 2 + hop))
    frames = np.lib.stride_tricks.sliding_window_view(padded, win)[::hop][:n_frames]
    w = np.hanning(win)
    power = np.sum((frames * w) ** 2, axis=1) / np.sum(w**2)
    return 10.0 * np.log10(np.maximum(power, 1e-12))


def time_scale(features: WorldFeatures, rate: float) -> WorldFeatures:
    """Change speaking rate by resampling the frame sequence (pitch unchanged).

    ``rate > 1`` speeds up (fewer frames: ``round(T / rate)``). The envelope is interpolated
    in the log domain, aperiodicity linearly, F0 linearly in log within voiced regions, and
    voicing is taken from the nearest source frame.
    """
    if rate <= 0 or not np.isfinite(rate):
        raise ValueError(f"rate must be positive, got {rate}")
    n = features.n_frames
    new_n = max(int(round(n / rate)), 2)
    pos = np.clip(np.arange(new_n) * (n - 1) / max(new_n - 1, 1), 0, n - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    frac = (pos - lo)[:, None]
    log_sp = np.log(np.maximum(features.sp, 1e-20))
    sp = np.exp((1 - frac) * log_sp[lo] + frac * log_sp[hi])
    ap = (1 - frac) * features.ap[lo] + frac * features.ap[hi]
    lf0, voiced = continuous_log_f0(features.f0)
    new_lf0 = np.interp(pos, np.arange(n), lf0)
    new_voiced = voiced[np.rint(pos).astype(int)]
    hop = features.sample_rate * features.frame_period / 1000.0
    return replace(
        features,
        f0=f0_from_log(new_lf0, new_voiced),
        sp=sp,
        ap=ap,
        n_samples=int(round((new_n - 1) * hop)),
    )
