"""Signals made from nothing: mixing at an SNR, coloured noise and a synthetic voice.

One of each, used by the library (on-the-fly mixtures, smoke training, benchmarks) and by
the tests. Everything is float32 ``(samples,)``; sample rates are explicit.

:func:`synthetic_voice` is not speech: a glottal-like harmonic source (harmonic amplitudes
falling 12 dB per octave, like a Rosenberg pulse) with a slow F0 contour, shaped by three
vowel-like formant resonances and gated into syllables, so F0 trackers, energy measures,
syllable-rate estimates and denoisers all have something realistic to find without a corpus.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from pipeline.audio import AudioError

#: power-spectrum exponent of each named noise colour (power ~ 1 / f**exponent)
NOISE_COLOURS = {"white": 0.0, "pink": 1.0, "brown": 2.0}
FORMANTS_HZ = ((700.0, 110.0), (1220.0, 120.0), (2600.0, 160.0))  # (centre, bandwidth), /a/
PEAK_LIMIT = 0.99


def mix_at_snr(
    clean: np.ndarray,
    noise: np.ndarray,
    snr_db: float,
    *,
    speech_mask: np.ndarray | None = None,
    level_dbfs: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Scale ``noise`` to ``snr_db`` against ``clean`` and add them.

    Args:
        clean: ``(n,)`` float speech.
        noise: ``(m,)`` float noise (not all zero); tiled or cut to ``n`` samples.
        snr_db: target SNR (dB), speech power over ``speech_mask``, noise power over all.
        speech_mask: ``(n,)`` bool, samples where speech power is measured (default all).
        level_dbfs: if given, clean and noise are scaled together so the clean speech RMS
            (over ``speech_mask``) is this level.
    Both are scaled down together if the mixture peak exceeds 0.99 (this keeps the SNR).

    Returns:
        ``(noisy, clean)`` float32, ``(n,)`` each; ``noisy - clean`` is the scaled noise.
    Raises:
        AudioError: silent speech or silent noise.
    """
    clean = np.asarray(clean, dtype=np.float64)
    noise = np.resize(np.asarray(noise, dtype=np.float64), len(clean))
    active = clean if speech_mask is None else clean[speech_mask]
    p_clean = float(np.mean(active**2))
    p_noise = float(np.mean(noise**2))
    if p_clean <= 0 or p_noise <= 0:
        raise AudioError("cannot mix: silent speech or silent noise")
    noise = noise * np.sqrt(p_clean / (p_noise * 10.0 ** (snr_db / 10.0)))
    if level_dbfs is not None:
        gain = 10.0 ** ((level_dbfs - 10.0 * np.log10(p_clean)) / 20.0)
        clean, noise = clean * gain, noise * gain
    noisy = clean + noise
    peak = float(np.max(np.abs(noisy)))
    if peak > PEAK_LIMIT:
        scale = PEAK_LIMIT / peak
        clean, noisy = clean * scale, noisy * scale
    return noisy.astype(np.float32), clean.astype(np.float32)


def coloured_noise(
    colour: str | float, samples: int, rng: np.random.Generator | int = 0
) -> np.ndarray:
    """Zero-mean noise of unit RMS with power ``~ 1 / f**exponent``, ``(samples,)`` float32.

    Args:
        colour: ``"white"``, ``"pink"`` or ``"brown"`` (exponents 0, 1, 2), or the exponent.
        samples: length.
        rng: a generator, or a seed for one.
    """
    if isinstance(colour, str):
        if colour not in NOISE_COLOURS:
            raise ValueError(f"unknown noise colour {colour!r}; use one of {tuple(NOISE_COLOURS)}")
        exponent = NOISE_COLOURS[colour]
    else:
        exponent = float(colour)
    rng = np.random.default_rng(rng) if isinstance(rng, int) else rng
    noise = rng.standard_normal(samples)
    if exponent != 0.0:
        spec = np.fft.rfft(noise)
        freqs = np.fft.rfftfreq(samples)
        freqs[0] = freqs[1] if samples > 1 else 1.0
        noise = np.fft.irfft(spec / freqs ** (exponent / 2.0), n=samples)
    noise = noise - noise.mean()
    return (noise / (np.sqrt(np.mean(noise**2)) + 1e-12)).astype(np.float32)


def synthetic_voice(
    seconds: float = 1.5,
    sample_rate: int = 16_000,
    *,
    f0_hz: float = 140.0,
    f0_swing_st: float = 3.0,
    syllable_rate: float = 4.0,
    level_dbfs: float = -20.0,
    seed: int = 0,
) -> np.ndarray:
    """A voiced test utterance.

    Args:
        seconds, sample_rate: length (s) and rate (Hz).
        f0_hz: mean F0; the contour swings ``± f0_swing_st`` semitones at 0.7 Hz.
        syllable_rate: syllables per second (raised-cosine amplitude gates, 70 % duty).
        level_dbfs: RMS level of the result.
        seed: seeds the small breath-noise component.
    Returns:
        ``(round(seconds * sample_rate),)`` float32 in [-1, 1].
    """
    n = int(round(seconds * sample_rate))
    t = np.arange(n) / sample_rate
    f0 = f0_hz * 2.0 ** (f0_swing_st * np.sin(2 * np.pi * 0.7 * t) / 12.0)
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    source = np.zeros(n)
    for k in range(1, int(sample_rate / 2 / (f0_hz * 1.3))):
        alive = k * f0 < sample_rate / 2 * 0.95
        source += alive * np.sin(k * phase) / k**2
    rng = np.random.default_rng(seed)
    source += 0.01 * rng.standard_normal(n)
    voice = source
    for centre, bandwidth in FORMANTS_HZ:
        r = np.exp(-np.pi * bandwidth / sample_rate)
        theta = 2 * np.pi * centre / sample_rate
        a = [1.0, -2 * r * np.cos(theta), r * r]
        voice = lfilter([sum(a)], a, voice)
    cycle = (t * syllable_rate) % 1.0
    gate = np.where(cycle < 0.7, np.sin(np.pi * np.minimum(cycle / 0.7, 1.0)) ** 2, 0.0)
    voice = voice * gate
    rms = np.sqrt(np.mean(voice**2))
    voice = voice * (10 ** (level_dbfs / 20.0) / max(rms, 1e-12))
    return np.clip(voice, -1.0, 1.0).astype(np.float32)


def full_band_voice(
    seconds: float = 1.5,
    sample_rate: int = 48_000,
    *,
    band_hz: tuple[float, float] = (9_000.0, 15_000.0),
    band_db: float = -20.0,
    seed: int = 0,
    **voice_kwargs,
) -> np.ndarray:
    """:func:`synthetic_voice` plus speech-following noise in ``band_hz`` (fricative-like).

    The noise is band-limited with an FFT mask, follows the voice's 20 ms amplitude envelope
    and sits ``band_dB`` below the voice's RMS; ``sample_rate`` must exceed ``2 * band_hz[1]``.
    Returns ``(round(seconds * sample_rate),)`` float32 in [-1, 1].
    """
    if sample_rate <= 2 * band_hz[1]:
        raise ValueError(f"{sample_rate} Hz cannot carry content up to {band_hz[1]} Hz")
    voice = synthetic_voice(seconds, sample_rate, seed=seed, **voice_kwargs).astype(np.float64)
    rng = np.random.default_rng(seed + 1)
    spectrum = np.fft.rfft(rng.standard_normal(len(voice)))
    freqs = np.fft.rfftfreq(len(voice), 1.0 / sample_rate)
    noise = np.fft.irfft(spectrum * ((freqs >= band_hz[0]) & (freqs <= band_hz[1])), len(voice))
    width = max(int(0.02 * sample_rate), 1)
    envelope = np.convolve(np.abs(voice), np.ones(width) / width, mode="same")
    noise *= envelope
    rms = lambda x: np.sqrt(np.mean(x**2)) + 1e-12  # noqa: E731
    noise *= rms(voice) / rms(noise) * 10 ** (band_db / 20.0)
    return np.clip(voice + noise, -1.0, 1.0).astype(np.float32)
