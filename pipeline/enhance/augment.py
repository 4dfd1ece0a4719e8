"""Channel and speaker augmentation of (noisy, clean) training pairs.

Both signals get the *same* transform, so the pair stays consistent (``noisy - clean`` is
still the transformed noise): a speed change (resampling, which shifts pitch and formants
like a different speaker) and a random recording channel (high-pass, low-pass and one
peaking EQ band, like another microphone or a telephone-band prompt). The corpus has few
speakers and one recording chain per package; these transforms widen both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torchaudio.functional as AF

from pipeline.constants import SAMPLE_RATE


@dataclass
class AugmentConfig:
    """Probabilities and ranges (Hz, dB, speed factors); ``p_* = 0`` switches a transform off."""

    p_speed: float = 0.0
    speed_range: tuple[float, float] = (0.88, 1.12)
    p_channel: float = 0.0
    highpass_hz: tuple[float, float] = (50.0, 300.0)
    lowpass_hz: tuple[float, float] = (3400.0, 7800.0)
    eq_hz: tuple[float, float] = (300.0, 4000.0)
    eq_gain_db: tuple[float, float] = (-8.0, 8.0)

    @property
    def active(self) -> bool:
        return self.p_speed > 0 or self.p_channel > 0

    @property
    def margin(self) -> float:
        """Extra input length (fraction) needed so a speed-up still fills the segment."""
        return float(self.speed_range[1]) - 1.0 if self.p_speed > 0 else 0.0


def speed(pair: torch.Tensor, factor: float) -> torch.Tensor:
    """Play ``pair`` (``(2, n)``) ``factor`` times faster: ``(2, ~n / factor)``."""
    new_rate = int(round(SAMPLE_RATE / factor / 100.0)) * 100  # a multiple of 100 Hz
    return AF.resample(pair, SAMPLE_RATE, new_rate)


def channel(pair: torch.Tensor, rng: np.random.Generator, s: AugmentConfig) -> torch.Tensor:
    """A random high-pass + low-pass + peaking-EQ channel applied to ``(2, n)``."""
    out = AF.highpass_biquad(pair, SAMPLE_RATE, float(rng.uniform(*s.highpass_hz)))
    out = AF.lowpass_biquad(out, SAMPLE_RATE, float(rng.uniform(*s.lowpass_hz)))
    return AF.equalizer_biquad(
        out, SAMPLE_RATE, float(rng.uniform(*s.eq_hz)), float(rng.uniform(*s.eq_gain_db)), Q=1.0
    )


def augment_pair(
    noisy: np.ndarray,
    clean: np.ndarray,
    length: int,
    rng: np.random.Generator,
    s: AugmentConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Transform both ``(m,)`` signals identically and crop (or pad) them to ``length``.

    Returns ``(noisy, clean)`` float32 ``(length,)``; the peak is kept at or below 0.99.
    """
    pair = torch.from_numpy(np.stack([noisy, clean]).astype(np.float32))
    if rng.random() < s.p_speed:
        pair = speed(pair, float(rng.uniform(*s.speed_range)))
    if rng.random() < s.p_channel:
        pair = channel(pair, rng, s)
    n = pair.shape[1]
    if n >= length:
        start = int(rng.integers(0, n - length + 1))
        pair = pair[:, start : start + length]
    else:
        pair = torch.nn.functional.pad(pair, (0, length - n))
    peak = float(pair[0].abs().max())
    if peak > 0.99:
        pair = pair * (0.99 / peak)
    out = pair.numpy()
    return out[0].copy(), out[1].copy()
