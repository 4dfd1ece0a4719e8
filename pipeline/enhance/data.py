"""Training data of the enhancement GAN: noisy/clean mixtures, validation pairs, augmentation.

:class:`CorpusMixtures` draws on-the-fly mixtures of Debian speech and noise
(:class:`pipeline.corpora.mixing.NoisyMixtureDataset`), :class:`SyntheticMixtures` draws
synthetic ones (smoke tests, DDP test); :func:`read_pairs` reads the fixed validation pairs.

Channel and speaker augmentation of (noisy, clean) training pairs:

Both signals get the *same* transform, so the pair stays consistent (``noisy - clean`` is
still the transformed noise): a speed change (resampling, which shifts pitch and formants
like a different speaker) and a random recording channel (high-pass, low-pass and one
peaking EQ band, like another microphone or a telephone-band prompt). The corpus has few
speakers and one recording chain per package; these transforms widen both.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from pipeline.constants import SAMPLE_RATE
from pipeline.signals import coloured_noise, mix_at_snr, synthetic_voice


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


@dataclass
class EnhanceDataConfig:
    source: str = "corpora"  # "corpora" | "synthetic"
    manifest: str = "data/manifest.csv"
    valid_pairs: str = "data/enhance_valid/pairs.csv"
    valid_items: int = 16  # validation pairs scored with PESQ/STOI
    valid_max_snr: float = 10.0  # only pairs at or below this SNR (the 0-10 dB target range)
    segment_seconds: float = 1.5
    snr_db: list[float] = field(default_factory=lambda: [-5.0, 20.0])
    level_dbfs: list[float] = field(default_factory=lambda: [-35.0, -15.0])
    p_gap: float = 0.0  # probability of silent gaps in a training crop (MixConfig.p_gap)
    augment: AugmentConfig = field(default_factory=AugmentConfig)


class SyntheticMixtures:
    """Speech-like signals in coloured noise; item ``(noisy, clean)`` from one RNG."""

    def __init__(self, data: EnhanceDataConfig) -> None:
        self.data = data
        self.segment = round(data.segment_seconds * SAMPLE_RATE)

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        clean = synthetic_voice(
            self.data.segment_seconds,
            SAMPLE_RATE,
            f0_hz=float(rng.uniform(100.0, 220.0)),
            syllable_rate=float(rng.uniform(3.0, 5.0)),
            seed=int(rng.integers(2**31)),
        )
        noise = coloured_noise(float(rng.uniform(0, 2)), self.segment, rng)
        noisy, clean = mix_at_snr(clean, noise, float(rng.uniform(*self.data.snr_db)))
        gain = 10 ** (rng.uniform(-9, 9) / 20)
        return (noisy * gain).astype(np.float32), (clean * gain).astype(np.float32)


class CorpusMixtures:
    """Adapter over :class:`pipeline.corpora.mixing.NoisyMixtureDataset` (train split)."""

    def __init__(self, data: EnhanceDataConfig, seed: int) -> None:
        from pipeline.corpora.mixing import MixConfig, NoisyMixtureDataset

        self.augment = data.augment
        self.length = round(data.segment_seconds * SAMPLE_RATE)
        config = MixConfig(
            segment_seconds=data.segment_seconds * (1.0 + self.augment.margin),
            snr_db=tuple(data.snr_db),
            level_dbfs=tuple(data.level_dbfs),
            p_gap=data.p_gap,
        )
        self.dataset = NoisyMixtureDataset(data.manifest, split="train", config=config, seed=seed)

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        item = self.dataset.draw(int(rng.integers(2**62)))
        if not self.augment.active:
            return item["noisy"], item["clean"]
        return augment_pair(item["noisy"], item["clean"], self.length, rng, self.augment)


def read_pairs(
    path: str | Path, *, limit: int, max_snr: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(clean, noisy)`` 16 kHz arrays from a ``pairs.csv`` (paths relative to its folder)."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if float(r["snr_db"]) <= max_snr]
    pairs = []
    for row in rows[:limit]:
        clean, sr_c = sf.read(str(path.parent / row["clean_path"]), dtype="float32")
        noisy, sr_n = sf.read(str(path.parent / row["noisy_path"]), dtype="float32")
        if sr_c != SAMPLE_RATE or sr_n != SAMPLE_RATE:
            raise ValueError(f"{path}: pairs must be 16 kHz")
        pairs.append((clean, noisy))
    return pairs


def synthetic_pairs(count: int, seconds: float = 2.0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fixed synthetic validation pairs at 0/5/10 dB."""
    out = []
    for k in range(count):
        voice = synthetic_voice(seconds, SAMPLE_RATE, f0_hz=110.0 + 15.0 * k, seed=10_000 + k)
        noise = coloured_noise((k % 3) * 0.75, len(voice), 20_000 + k)
        noisy, clean = mix_at_snr(voice, noise, 5.0 * (k % 3))
        out.append((clean, noisy))
    return out
