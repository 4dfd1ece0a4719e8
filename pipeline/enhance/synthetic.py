"""Synthetic speech-like signals and noisy mixtures for tests, smoke training and benchmarks.

Not speech: a harmonic source with a gliding F0, syllable-rate amplitude envelope and two
moving formant resonances. It has the spectro-temporal structure (harmonics, on/off
structure, pauses) that lets a denoiser's behaviour be checked without any corpus.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter


def speech_like(seconds: float, sr: int = 16_000, *, seed: int = 0) -> np.ndarray:
    """A speech-like test signal.

    Returns:
        ``(round(seconds * sr),)`` float32, RMS about -26 dBFS, with pauses.
    """
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    f0 = 110.0 + 60.0 * rng.random() + 25.0 * np.sin(2 * np.pi * (0.7 + rng.random()) * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    source = np.zeros(n)
    for k in range(1, int(3800 // f0.max()) + 1):
        source += np.sin(k * phase + rng.random() * 6.28) / k**0.7
    # syllables: ~4 Hz on/off envelope with random pauses
    syll = np.clip(
        np.sin(2 * np.pi * (3.0 + 2.0 * rng.random()) * t + rng.random() * 6.28), 0, None
    )
    gate = (np.sin(2 * np.pi * 0.35 * t + rng.random() * 6.28) > -0.6).astype(float)
    env = np.convolve(syll * gate, np.hanning(int(0.02 * sr)) / (0.01 * sr), mode="same")
    voiced = source * env
    out = np.zeros(n)
    for centre in (500.0 + 300.0 * rng.random(), 1500.0 + 700.0 * rng.random()):
        r = np.exp(-np.pi * 120.0 / sr)
        theta = 2 * np.pi * centre / sr
        out += lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], voiced)
    out += 0.02 * rng.standard_normal(n) * env  # breath / fricative noise
    rms = np.sqrt(np.mean(out**2)) + 1e-12
    return (out * (10 ** (-26 / 20) / rms)).astype(np.float32)


def mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``clean + g * noise`` with ``g`` chosen for ``snr_db`` (power over the whole signal).

    Both ``(samples,)``; ``noise`` is tiled or cut to the clean length.
    """
    noise = np.resize(np.asarray(noise, dtype=np.float64), len(clean))
    p_clean = np.mean(np.square(clean, dtype=np.float64))
    p_noise = np.mean(noise**2) + 1e-12
    gain = np.sqrt(p_clean / (p_noise * 10 ** (snr_db / 10)))
    return (clean + gain * noise).astype(np.float32)


def coloured_noise(n: int, *, seed: int = 0, exponent: float = 1.0) -> np.ndarray:
    """Noise with a ``1 / f**exponent`` power spectrum (0 white, 1 pink, 2 brown), ``(n,)``."""
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n)
    freqs[0] = freqs[1]
    spec /= freqs ** (exponent / 2)
    noise = np.fft.irfft(spec, n)
    return (noise / (np.std(noise) + 1e-12)).astype(np.float32)
