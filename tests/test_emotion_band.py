"""The upper band of the WORLD emotion converters: carried from the input, gained, stretched."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from pipeline.audio import resample
from pipeline.emotion.band import carry_band, envelope_band_gain
from pipeline.emotion.features import WorldFeatures, time_scale
from pipeline.emotion.prosody import band_level_db

SR = 48_000


def _world(frames: int = 40, bins: int = 513) -> WorldFeatures:
    rng = np.random.default_rng(0)
    sp = np.exp(rng.normal(size=(frames, bins)))
    f0 = np.full(frames, 120.0)
    return WorldFeatures(f0, sp, np.zeros_like(sp), 16_000, 5.0, frames * 80)


def test_envelope_band_gain_reads_the_4_8_khz_change_on_the_output_grid() -> None:
    world = _world()
    assert np.allclose(envelope_band_gain(world, world), 1.0)
    louder = replace(world, sp=world.sp * 4.0)  # +6 dB power everywhere
    assert np.allclose(envelope_band_gain(world, louder), 2.0)
    low_only = world.sp.copy()
    low_only[:, :200] *= 100.0  # below 4 kHz (bin 256 = 4 kHz): no effect on the band
    assert np.allclose(envelope_band_gain(world, replace(world, sp=low_only)), 1.0)
    slower = time_scale(louder, 0.8)
    gain = envelope_band_gain(world, slower)
    assert len(gain) == slower.n_frames and np.allclose(gain, 2.0, rtol=0.2)


def _noise(seconds: float) -> np.ndarray:
    return (0.05 * np.random.default_rng(1).standard_normal(int(seconds * SR))).astype(np.float32)


def test_carry_band_keeps_the_input_band_with_the_given_gain() -> None:
    wave = _noise(1.0)
    low = resample(resample(wave, SR, 16_000), 16_000, SR)  # what a 16 kHz converter returns
    assert band_level_db(low, SR) < band_level_db(wave, SR) - 20.0  # the band is gone
    frames = len(wave) // 240 + 1
    same = carry_band(wave, low, SR, np.ones(frames), 5.0, 16_000)
    assert len(same) == len(wave)
    assert abs(band_level_db(same, SR) - band_level_db(wave, SR)) < 0.5
    half = carry_band(wave, low, SR, np.full(frames, 0.5), 5.0, 16_000)
    assert abs(band_level_db(half, SR) - band_level_db(wave, SR) + 6.02) < 0.5
    # at or below the converter's rate nothing is added
    kept = carry_band(wave[:16_000], low[:16_000], 16_000, np.ones(10), 5.0, 16_000)
    assert np.array_equal(kept, low[:16_000])


def test_carry_band_stretches_to_the_output_length_keeping_the_band_power() -> None:
    wave = _noise(1.0)
    for rate in (0.85, 1.1):
        n_out = int(round(len(wave) / rate))
        low = np.zeros(n_out, np.float32)
        out = carry_band(wave, low, SR, np.ones(n_out // 240 + 1), 5.0, 16_000)
        assert len(out) == n_out
        # band power per second: level (mean power) of the whole wave, not its energy
        assert abs(band_level_db(out, SR) - band_level_db(wave, SR)) < 1.0, rate
