"""Prosody profiles, reference clips and the envelope-GAN converter on synthetic voices."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.emotion.envelope.model import EnvelopeGenerator
from pipeline.emotion.envelope.system import EnvelopeGanConverter, EnvelopeRenderer
from pipeline.emotion.profiles import (
    PROFILES,
    ProsodyProfile,
    SpeakerBaseline,
    direction_holds,
    emotion_profile,
)
from pipeline.emotion.prosody import band_level_db
from pipeline.emotion.reference import ReferenceError, measure_prosody, reference_profile
from pipeline.signals import full_band_voice, synthetic_voice

INTENSITIES = (0.0, 0.25, 0.5, 0.75, 1.0)


@pytest.fixture(scope="module")
def converter() -> EnvelopeGanConverter:
    """The converter with an untrained generator (its envelope gain starts at exactly 1)."""
    system = EnvelopeGanConverter()
    system.renderer = EnvelopeRenderer(EnvelopeGenerator(channels=16, n_blocks=1, speaker_dim=8))
    return system


def test_profiles_obey_the_direction_rule_and_scale_monotonically() -> None:
    for emotion, profile in PROFILES.items():
        spread = np.log(profile.f0_spread)
        rule = direction_holds(emotion, profile.f0_shift_st, spread, profile.energy_db)
        assert rule is (None if emotion == "neutral" else True), emotion
        steps = [emotion_profile(emotion, k) for k in INTENSITIES]
        assert steps[0] == ProsodyProfile()
        for key in ("f0_shift_st", "energy_db"):
            values = np.abs([getattr(s, key) for s in steps])
            assert np.all(np.diff(values) >= 0), (emotion, key)
        for key in ("f0_spread", "rate"):
            values = np.abs(np.log([getattr(s, key) for s in steps]))
            assert np.all(np.diff(values) >= 0), (emotion, key)
    assert direction_holds("sad", 1.0, -1.0, -3.0) is False
    assert direction_holds("angry", 2.0, -0.1, 0.5) is True
    with pytest.raises(ValueError, match="intensity"):
        emotion_profile("happy", 1.5)


def test_direction_and_monotonicity_on_a_synthetic_voice(converter: EnvelopeGanConverter) -> None:
    voice = synthetic_voice(1.5, 16_000, level_dbfs=-26.0)
    source = measure_prosody(voice, 16_000)
    for emotion in ("happy", "angry", "sad", "surprise"):
        shifts = []
        for k in INTENSITIES:
            out = converter.convert(voice, 16_000, emotion, k)
            stats = measure_prosody(out, 16_000)
            shifts.append(
                (
                    stats.f0_mean_st - source.f0_mean_st,
                    stats.f0_std_st - source.f0_std_st,
                    stats.energy_db - source.energy_db,
                    len(voice) / len(out),
                )
            )
        f0, spread, energy, rate = np.array(shifts).T
        assert direction_holds(emotion, f0[-1], spread[-1], energy[-1]), (emotion, shifts[-1])
        sign = -1.0 if emotion == "sad" else 1.0
        assert np.all(np.diff(sign * f0) > 0), (emotion, f0)
        assert np.all(np.diff(sign * energy) > 0), (emotion, energy)
        rate_sign = np.sign(np.log(PROFILES[emotion].rate))
        assert np.all(rate_sign * np.diff(rate) >= -1e-3), (emotion, rate)
        target = PROFILES[emotion]
        assert abs(f0[-1] - target.f0_shift_st) < 1.0 and abs(energy[-1] - target.energy_db) < 1.5


def test_reference_round_trip(converter: EnvelopeGanConverter) -> None:
    source = synthetic_voice(1.5, 16_000, f0_hz=130.0, level_dbfs=-28.0, seed=1)
    reference = converter.convert(source, 16_000, "angry", 1.0)
    # same voice: the reference's move is recovered from the clip alone
    profile = reference_profile(reference, 16_000, source, 16_000)
    assert abs(profile.f0_shift_st - PROFILES["angry"].f0_shift_st) < 1.0
    assert abs(profile.energy_db - PROFILES["angry"].energy_db) < 1.5
    out = converter.convert(source, 16_000, None, 1.0, reference=(reference, 16_000))
    ref_stats, out_stats = measure_prosody(reference, 16_000), measure_prosody(out, 16_000)
    assert abs(out_stats.f0_mean_st - ref_stats.f0_mean_st) < 1.0
    assert abs(out_stats.energy_db - ref_stats.energy_db) < 1.5
    # half intensity moves half way (in semitones and dB)
    half = measure_prosody(
        converter.convert(source, 16_000, None, 0.5, reference=(reference, 16_000)), 16_000
    )
    src_stats = measure_prosody(source, 16_000)
    assert 0.3 < (half.f0_mean_st - src_stats.f0_mean_st) / profile.f0_shift_st < 0.7
    # another speaker's reference, normalised by that speaker's own baseline
    other = synthetic_voice(1.5, 16_000, f0_hz=220.0, level_dbfs=-20.0, seed=2)
    baseline = SpeakerBaseline.from_stats([measure_prosody(other, 16_000)])
    sad_other = converter.convert(other, 16_000, "sad", 1.0)
    moved = reference_profile(sad_other, 16_000, baseline=baseline)
    assert moved.f0_shift_st < -1.5 and moved.energy_db < -3.0
    with pytest.raises(ReferenceError, match="voiced"):
        reference_profile(np.zeros(16_000, np.float32), 16_000, source, 16_000)


def test_48k_input_keeps_its_upper_band(converter: EnvelopeGanConverter) -> None:
    voice = full_band_voice(1.5, 48_000, level_dbfs=-26.0)
    out = converter.convert(voice, 48_000, "happy", 1.0)
    before, after = band_level_db(voice, 48_000), band_level_db(out, 48_000)
    gain = PROFILES["happy"].energy_db
    assert np.isfinite(before) and abs(after - before - gain) < 6.0, (before, after)
