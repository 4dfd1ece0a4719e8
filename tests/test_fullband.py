"""Full-band output of 16 kHz systems: length/rate invariants and the upper band kept."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import butter, sosfilt

from pipeline import streaming
from pipeline.cards import ModelCard
from pipeline.metrics import high_band_metrics
from pipeline.registry import Registry
from pipeline.signals import coloured_noise, mix_at_snr, synthetic_voice
from pipeline.systems import EnhancementSystem


class ScaledCopy(EnhancementSystem):
    """A 16 kHz 'enhancer' that multiplies its input by ``gain`` (a known answer)."""

    name = "scaled"
    sample_rate = 16_000

    def __init__(self, gain: float) -> None:
        self.gain = gain

    @property
    def card(self) -> ModelCard:
        return ModelCard(name=self.name, task="enhance", title="test", kind="user")

    def enhance_native(self, wave: np.ndarray) -> np.ndarray:
        return (self.gain * wave).astype(np.float32)


def voice_with_air(sr: int, seconds: float = 2.0) -> np.ndarray:
    """A speech-like voice plus a 9-15 kHz band that follows its envelope."""
    voice = synthetic_voice(seconds, sr, seed=1)
    envelope = np.convolve(np.abs(voice), np.ones(sr // 100) / (sr // 100), mode="same")
    band = sosfilt(
        butter(8, [9_000, 15_000], btype="band", fs=sr, output="sos"),
        np.random.default_rng(0).standard_normal(len(voice)),
    )
    air = envelope / envelope.max() * band * np.std(voice) / np.std(band)
    return (voice + 0.3 * air).astype(np.float32)


def high_band_db(wave: np.ndarray, sr: int) -> float:
    power = np.abs(np.fft.rfft(wave)) ** 2
    return float(10 * np.log10(power[np.fft.rfftfreq(len(wave), 1 / sr) > 8_000].sum() + 1e-20))


@pytest.mark.parametrize("gain", [1.0, 0.5])
def test_upper_band_follows_the_band_gain(gain: float) -> None:
    sr = 48_000
    wave = voice_with_air(sr)
    system = ScaledCopy(gain)
    out = system.enhance(wave, sr)
    expected = high_band_db(wave, sr) + 20 * np.log10(gain)
    assert high_band_db(out, sr) == pytest.approx(expected, abs=0.5)
    system.keep_upper_band = False  # the old resample-only path loses the band
    assert high_band_db(system.enhance(wave, sr), sr) < expected - 30


@pytest.mark.parametrize("name", ["mask-gan", "dsp"])
def test_shipped_systems_keep_the_upper_band_at_48k(name: str) -> None:
    registry = Registry()
    if name not in registry.names("enhance"):
        pytest.skip(f"{name} not available")
    sr = 48_000
    wave = voice_with_air(sr)
    system = registry.get("enhance", name)
    out = system.enhance(wave, sr)
    assert high_band_db(out, sr) == pytest.approx(high_band_db(wave, sr), abs=3.0)
    band_limited = copy.copy(system)
    band_limited.keep_upper_band = False
    old = band_limited.enhance(wave, sr)
    assert high_band_db(old, sr) < high_band_db(wave, sr) - 30
    kept, lost = high_band_metrics(wave, out, sr), high_band_metrics(wave, old, sr)
    assert kept["lsd_hi_db"] < lost["lsd_hi_db"] - 20
    assert kept["energy_ratio_hi_db"] > -3 > -30 > lost["energy_ratio_hi_db"]


@pytest.mark.parametrize("sr", [16_000, 22_050, 32_000, 44_100, 48_000])
def test_length_rate_and_range_invariants(sr: int, tmp_path) -> None:
    seconds = 2.3
    clean = voice_with_air(sr, seconds) if sr >= 32_000 else synthetic_voice(seconds, sr, seed=2)
    noisy = mix_at_snr(clean, coloured_noise(0.5, len(clean), 3), 5.0)[0]
    system = ScaledCopy(0.8)
    system.chunk_seconds, system.overlap_seconds = 1.0, 0.25  # several blocks
    out = system.enhance(noisy, sr)
    assert out.shape == noisy.shape and out.dtype == np.float32
    assert np.all(np.isfinite(out)) and np.max(np.abs(out)) <= 1.0
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, noisy, sr, subtype="FLOAT")
    streaming.enhance_file(system, src, dst)
    info = sf.info(dst)
    assert (info.samplerate, info.frames) == (sr, len(noisy))
    streamed, _ = sf.read(dst, dtype="float32")
    assert np.max(np.abs(streamed - out)) < 1e-3  # file path = in-memory path


def test_high_band_metrics_known_answers() -> None:
    sr = 48_000
    wave = voice_with_air(sr)
    same = high_band_metrics(wave, wave, sr)
    assert same["lsd_hi_db"] == pytest.approx(0.0, abs=1e-6)
    assert same["energy_ratio_hi_db"] == pytest.approx(0.0, abs=1e-6)
    half = high_band_metrics(wave, 0.5 * wave, sr)
    assert half["energy_ratio_hi_db"] == pytest.approx(-6.02, abs=0.01)
    assert half["lsd_hi_db"] == pytest.approx(6.02, abs=0.01)
    assert np.isnan(high_band_metrics(wave[::3], wave[::3], 16_000)["lsd_hi_db"])
