"""Full band for the WORLD emotion converters: convert 0-8 kHz, carry the input's band above.

WORLD analysis and synthesis at 48 kHz cost about three times their 16 kHz price (measured
on this CPU for 5 s of speech: CheapTrick 0.27 s extra, synthesis 0.62 s vs 0.13 s), and the
envelope generator only sees 0-8 kHz anyway. So the conversion runs at 16 kHz and, for a
faster input, the band above 8 kHz is the *input's own* spectrum:

* time-stretched to the output's length by a phase vocoder (:func:`stretch_frames`; the
  algorithm of Flanagan & Golden 1966 as in librosa, in plain numpy: librosa's numba kernels
  cost ~2.5 s of JIT compilation on the first call of a process) when the profile changes
  the speaking rate;
* scaled per frame by the amplitude gain the conversion gave the top of its band
  (:func:`envelope_band_gain`: converted over source spectral envelope, 4-8 kHz), so the
  upper band follows the level change, the envelope generator's tilt change and the
  frame-power normalisation of the low band.

The two bands are joined in one STFT at the caller's rate (Hann, 75 % overlap, frames of
:data:`pipeline.fullband.FRAME_S`) at the crossover :data:`pipeline.fullband.CROSSOVER` x 8 kHz,
as :mod:`pipeline.fullband` does for the enhancers (whose output has the input's length and
never gains up; here neither holds, hence this module).
"""

from __future__ import annotations

import numpy as np
import torch

from pipeline.emotion.features import WorldFeatures
from pipeline.fullband import CROSSOVER, FRAME_S

#: the band (Hz) of the converted envelope whose gain is carried above 8 kHz
GAIN_BAND_HZ = (4000.0, 8000.0)
#: frames (5 ms) of the moving average on the log gain
GAIN_SMOOTH_FRAMES = 3


def envelope_band_gain(
    source: WorldFeatures, moved: WorldFeatures, band_hz: tuple[float, float] = GAIN_BAND_HZ
) -> np.ndarray:
    """Amplitude gain of ``moved``'s envelope over ``source``'s in ``band_hz``.

    ``moved`` may have another number of frames (a time scale): source frame positions are
    mapped linearly onto ``moved``'s, as :func:`pipeline.emotion.features.time_scale` does.
    Both must share the sample rate (the envelope's frequency grid).

    Returns:
        ``(moved.n_frames,)`` float64 amplitude gain, smoothed over
        :data:`GAIN_SMOOTH_FRAMES` frames in the log domain.
    """
    freqs = np.linspace(0.0, source.sample_rate / 2.0, source.sp.shape[1])
    band = (freqs >= band_hz[0]) & (freqs <= band_hz[1])
    src = np.log(np.maximum(source.sp[:, band].mean(axis=1), 1e-30))
    out = np.log(np.maximum(moved.sp[:, band].mean(axis=1), 1e-30))
    n, new_n = len(src), len(out)
    pos = np.arange(new_n) * (n - 1) / max(new_n - 1, 1)
    log_gain = 0.5 * (out - np.interp(pos, np.arange(n), src))
    k = min(GAIN_SMOOTH_FRAMES, new_n)
    if k > 1:
        padded = np.pad(log_gain, (k // 2, k - 1 - k // 2), mode="edge")
        log_gain = np.convolve(padded, np.ones(k) / k, mode="valid")
    return np.exp(log_gain)


def _stft(wave: np.ndarray, n_fft: int) -> torch.Tensor:
    x = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))
    return torch.stft(
        x, n_fft, n_fft // 4, window=torch.hann_window(n_fft), center=True, return_complex=True
    )


def stretch_frames(
    spec: np.ndarray, rate: float, hop: int, n_fft: int, first_bin: int = 0
) -> np.ndarray:
    """Phase-vocoder time stretch of STFT frames.

    Args:
        spec: ``(bins, frames)`` complex STFT rows ``first_bin ..`` of an ``n_fft`` transform
            hopped by ``hop``.
        rate: > 1 faster (fewer frames).
    Returns:
        ``(bins, ceil(frames / rate))`` complex: magnitudes interpolated between the two
        nearest frames, phases advanced by each bin's measured instantaneous frequency.
    """
    steps = np.arange(0.0, spec.shape[1], rate)
    padded = np.pad(spec, ((0, 0), (0, 2)))
    bins = np.arange(first_bin, first_bin + spec.shape[0])
    advance = 2.0 * np.pi * hop * bins / n_fft  # expected phase advance per hop
    phase = np.angle(spec[:, 0])
    out = np.empty((spec.shape[0], len(steps)), dtype=np.complex64)
    for t, step in enumerate(steps):
        i = int(step)
        frac = step - i
        a, b = padded[:, i], padded[:, i + 1]
        out[:, t] = ((1.0 - frac) * np.abs(a) + frac * np.abs(b)) * np.exp(1j * phase)
        dphi = np.angle(b) - np.angle(a) - advance
        phase = phase + advance + dphi - 2.0 * np.pi * np.round(dphi / (2.0 * np.pi))
    return out


def _crossover_bin(native_rate: int, sr: int, n_fft: int) -> int:
    return int(np.ceil(CROSSOVER * (native_rate / 2) / (sr / n_fft)))


def _band_power(spec: np.ndarray, n_fft: int, length: int) -> float:
    """Mean power of the wave of ``spec`` (``(bins, frames)`` complex, hop ``n_fft // 4``)."""
    high = torch.from_numpy(np.ascontiguousarray(spec, dtype=np.complex64))
    wave = torch.istft(high, n_fft, n_fft // 4, window=torch.hann_window(n_fft), length=length)
    return float(wave.double().square().mean())


def carry_band(
    wave: np.ndarray,
    low_out: np.ndarray,
    sr: int,
    gain: np.ndarray,
    frame_period_ms: float,
    native_rate: int,
) -> np.ndarray:
    """Join the converted low band with the input's gained, time-stretched upper band.

    Args:
        wave: ``(n,)`` float input at ``sr`` Hz.
        low_out: ``(m,)`` float32 converted output resampled to ``sr`` (band-limited to
            ``native_rate / 2``); ``m`` may differ from ``n`` (rate change).
        gain: ``(T,)`` amplitude gain for the upper band on ``low_out``'s frame grid (frame
            ``t`` at ``t * frame_period_ms``), e.g. :func:`envelope_band_gain`.
        native_rate: the rate the conversion ran at.
    Returns:
        ``(m,)`` float32 at ``sr``; ``low_out`` itself when ``sr <= native_rate``.
    """
    if sr <= native_rate or len(wave) == 0 or len(low_out) == 0:
        return np.asarray(low_out, dtype=np.float32)
    n_fft = int(2 ** np.ceil(np.log2(FRAME_S * sr)))
    hop = n_fft // 4
    cut = _crossover_bin(native_rate, sr, n_fft)
    spec_low = _stft(low_out, n_fft)
    spec_in = _stft(wave, n_fft).numpy()
    spec_in[:cut] = 0
    if len(low_out) != len(wave):
        high = stretch_frames(spec_in[cut:], len(wave) / len(low_out), hop, n_fft, cut)
        stretched = np.concatenate([np.zeros((cut, high.shape[1]), np.complex64), high])
        # the vocoder's frames add incoherently where the band is noise-like (about -3 dB
        # for Hann at 75 % overlap): keep the band's mean power per second of the source
        before = _band_power(spec_in, n_fft, len(wave))
        after = _band_power(stretched, n_fft, len(low_out))
        spec_in = stretched * np.sqrt(before / after) if after > 0 else stretched
    frames = spec_low.shape[1]
    if spec_in.shape[1] < frames:
        spec_in = np.pad(spec_in, ((0, 0), (0, frames - spec_in.shape[1])))
    at = np.interp(
        np.arange(frames) * hop / sr, np.arange(len(gain)) * frame_period_ms / 1000.0, gain
    )
    spec = spec_low.clone()
    spec[cut:] = torch.from_numpy((spec_in[cut:, :frames] * at[None, :]).astype(np.complex64))
    out = torch.istft(spec, n_fft, hop, window=torch.hann_window(n_fft), length=len(low_out))
    return out.numpy().astype(np.float32)
