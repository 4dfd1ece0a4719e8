"""Full-band output from a band-limited enhancer: keep the input's upper band, gained.

A system that runs at 16 kHz sees only 0-8 kHz. Resampling its output back to a 44.1/48 kHz
caller leaves nothing above 8 kHz: the result sounds muffled. :func:`carry_upper_band`
keeps the network's output below a crossover just under the native Nyquist frequency and,
above it, the *input's* own spectrum multiplied by a per-frame gain taken from what the
network did to the top of its band (the energy ratio output / input over ``gain_band_hz``,
e.g. 4-8 kHz at 16 kHz): where the network removed noise, the upper band is attenuated by
the same amount; where it kept speech, the upper band is kept. This is the idea of
DeepFilterNet's ERB gains applied to the full band, with one gain for the whole upper band.

Both bands are joined in one STFT at the caller's rate (Hann window, 75 % overlap, frames of
``frame_s``), so the output has the input's length and rate. Pure function of its inputs,
no state: it is applied per processing block by :class:`pipeline.systems.EnhancementSystem`.
"""

from __future__ import annotations

import numpy as np
import torch

#: frame length in seconds of both STFTs (hop = a quarter of it)
FRAME_S = 0.032
#: crossover = this fraction of the native Nyquist frequency (resampler roll-off lies above)
CROSSOVER = 0.94
#: band of the native signal (as fractions of its Nyquist frequency) the gain is read from
GAIN_BAND = (0.5, 1.0)


def _stft(wave: np.ndarray, sr: int) -> tuple[torch.Tensor, int, int]:
    n_fft = int(2 ** np.ceil(np.log2(FRAME_S * sr)))
    hop = n_fft // 4
    x = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))
    window = torch.hann_window(n_fft)
    spec = torch.stft(x, n_fft, hop, window=window, center=True, return_complex=True)
    return spec, n_fft, hop


def band_gain(native_in: np.ndarray, native_out: np.ndarray, native_rate: int) -> np.ndarray:
    """Per-frame amplitude gain in [0, 1] of ``native_out`` over ``native_in`` in the top of
    the native band (:data:`GAIN_BAND`), smoothed over 3 frames.

    Returns:
        ``(frames,)`` float64, frames hopped by ``n_fft // 4`` samples at ``native_rate``.
    """
    spec_in, n_fft, _ = _stft(native_in, native_rate)
    spec_out, _, _ = _stft(native_out, native_rate)
    bins = spec_in.shape[0]
    lo, hi = (int(f * (bins - 1)) for f in GAIN_BAND)
    e_in = spec_in[lo : hi + 1].abs().square().sum(0).double().numpy()
    e_out = spec_out[lo : hi + 1].abs().square().sum(0).double().numpy()
    gain = np.sqrt(e_out / np.maximum(e_in, 1e-12))
    gain = np.clip(gain, 0.0, 1.0)
    if len(gain) >= 3:
        gain = np.convolve(np.pad(gain, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    return gain


def carry_upper_band(
    wave: np.ndarray,
    low_out: np.ndarray,
    native_in: np.ndarray,
    native_out: np.ndarray,
    native_rate: int,
    sr: int,
) -> np.ndarray:
    """Join the enhanced lower band with the gained upper band of the input.

    Args:
        wave: ``(n,)`` float32 input at ``sr`` Hz.
        low_out: ``(n,)`` float32 enhanced output resampled back to ``sr`` (band-limited).
        native_in / native_out: ``(m,)`` the system's input and output at ``native_rate``.
    Returns:
        ``(n,)`` float32 at ``sr``: ``low_out`` below the crossover, the input above it
        scaled per frame by :func:`band_gain`. ``low_out`` unchanged when ``sr`` is not
        above ``native_rate``.
    """
    if sr <= native_rate or len(wave) == 0:
        return low_out
    gain = band_gain(native_in, native_out, native_rate)
    native_hop = int(2 ** np.ceil(np.log2(FRAME_S * native_rate))) // 4
    spec_low, n_fft, hop = _stft(low_out, sr)
    spec_in, _, _ = _stft(wave, sr)
    frames = spec_low.shape[1]
    at = np.interp(
        np.arange(frames) * hop / sr, np.arange(len(gain)) * native_hop / native_rate, gain
    )
    cut = int(np.ceil(CROSSOVER * (native_rate / 2) / (sr / n_fft)))
    spec = spec_low.clone()
    spec[cut:] = spec_in[cut:] * torch.from_numpy(at.astype(np.float32))[None, :]
    out = torch.istft(spec, n_fft, hop, window=torch.hann_window(n_fft), length=len(wave))
    return out.numpy().astype(np.float32)
