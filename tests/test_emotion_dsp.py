"""The rule-based emotion converter: directions, intensity, rates, lengths, registry."""

import numpy as np
import pytest

from pipeline.constants import EMOTIONS
from pipeline.emotion import dsp
from pipeline.emotion.dsp import RULES, EmotionRule, ProsodyRuleConverter, limit_peaks
from pipeline.emotion.prosody import prosody_stats
from pipeline.registry import Registry
from pipeline.signals import synthetic_voice

SR = 16_000


@pytest.fixture(scope="module")
def voice():
    return synthetic_voice(1.5, SR, f0_hz=140.0, level_dbfs=-24.0)


@pytest.fixture(scope="module")
def converter():
    return ProsodyRuleConverter()


@pytest.fixture(scope="module")
def source_stats(voice):
    return prosody_stats(voice, SR)


@pytest.fixture(scope="module")
def converted(voice, converter):
    return {e: converter.convert(voice, SR, e, 1.0) for e in EMOTIONS}


def test_rules_cover_every_emotion():
    assert set(RULES) == set(EMOTIONS)


@pytest.mark.parametrize(
    ("emotion", "f0_sign", "energy_sign", "range_sign"),
    [
        ("happy", 1, 1, 1),
        ("angry", 1, 1, 1),
        ("surprise", 1, 1, 1),
        ("sad", -1, -1, -1),
        ("neutral", 0, 0, -1),
    ],
)
def test_each_emotion_moves_prosody_its_way(
    converted, source_stats, emotion, f0_sign, energy_sign, range_sign
):
    stats = prosody_stats(converted[emotion], SR)
    d_f0 = 12 * np.log2(stats.f0_median_hz / source_stats.f0_median_hz)  # semitones
    d_energy = stats.energy_db - source_stats.energy_db
    d_range = stats.f0_range_st - source_stats.f0_range_st
    for delta, sign, big in (
        (d_f0, f0_sign, 1.0),
        (d_energy, energy_sign, 1.5),
        (d_range, range_sign, 0.5),
    ):
        if sign == 0:
            assert abs(delta) < big, (emotion, d_f0, d_energy, d_range)
        else:
            assert sign * delta > big, (emotion, d_f0, d_energy, d_range)


def test_angry_brighter_and_sad_darker(converted):
    def high_share(wave):
        spec = np.abs(np.fft.rfft(wave)) ** 2
        freqs = np.fft.rfftfreq(len(wave), 1 / SR)
        return spec[freqs > 2000].sum() / spec.sum()

    assert high_share(converted["angry"]) > high_share(converted["neutral"])
    assert high_share(converted["sad"]) < high_share(converted["neutral"])


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_output_finite_and_duration_within_25_percent(converted, voice, emotion):
    out = converted[emotion]
    assert out.dtype == np.float32 and np.all(np.isfinite(out))
    assert np.max(np.abs(out)) <= 1.0
    expected = len(voice) / RULES[emotion].rate
    assert abs(len(out) - expected) <= 2
    assert 0.75 <= len(out) / len(voice) <= 1.25


def test_intensity_zero_is_identity(voice, converter):
    out = converter.convert(voice, SR, "angry", 0.0)
    np.testing.assert_allclose(out, voice, atol=1e-6)


def test_intensity_scales_the_change(voice, converter, source_stats, converted):
    half = prosody_stats(converter.convert(voice, SR, "surprise", 0.5), SR)
    full = prosody_stats(converted["surprise"], SR)
    assert source_stats.f0_median_hz < half.f0_median_hz < full.f0_median_hz


def test_small_intensity_is_close_to_the_input(voice, converter):
    out = converter.convert(voice, SR, "happy", 0.02)
    assert len(out) == pytest.approx(len(voice) / RULES["happy"].rate ** 0.02, abs=2)
    a, b = prosody_stats(out, SR), prosody_stats(voice, SR)
    assert a.f0_median_hz == pytest.approx(b.f0_median_hz, rel=0.03)
    assert a.energy_db == pytest.approx(b.energy_db, abs=2.0)


def test_other_input_rate_comes_back_at_that_rate(converter):
    wave = synthetic_voice(1.0, 22_050, f0_hz=200.0)
    out = converter.convert(wave, 22_050, "sad", 1.0)
    assert len(out) == pytest.approx(len(wave) / RULES["sad"].rate, rel=0.01)
    assert prosody_stats(out, 22_050).f0_median_hz < 200.0


def test_scaled_rule_interpolates():
    rule = EmotionRule(f0_shift_st=4.0, f0_range=2.0, gain_db=6.0, rate=1.21, tilt_db_per_oct=2.0)
    half = rule.scaled(0.5)
    assert half.f0_shift_st == 2.0 and half.gain_db == 3.0 and half.tilt_db_per_oct == 1.0
    assert half.f0_range == pytest.approx(2**0.5) and half.rate == pytest.approx(1.1)
    assert rule.scaled(0.0) == EmotionRule()


def test_long_input_is_converted_in_chunks(monkeypatch, converter):
    monkeypatch.setattr(dsp, "CHUNK_SECONDS", 1.0)
    monkeypatch.setattr(dsp, "OVERLAP_SECONDS", 0.2)
    wave = synthetic_voice(3.2, SR, f0_hz=150.0)
    out = converter.convert(wave, SR, "happy", 1.0)
    assert len(out) == pytest.approx(len(wave) / RULES["happy"].rate, rel=0.02)
    assert np.all(np.isfinite(out))
    assert prosody_stats(out, SR).f0_median_hz > 155.0


def test_limit_peaks_keeps_quiet_audio_and_limits_loud():
    quiet = np.full(1000, 0.5, dtype=np.float32)
    np.testing.assert_array_equal(limit_peaks(quiet, SR), quiet)
    loud = synthetic_voice(0.5, SR, level_dbfs=-3.0) * 3.0
    out = limit_peaks(loud, SR)
    assert np.max(np.abs(out)) <= dsp.LIMIT_CEILING + 1e-6
    assert out.shape == loud.shape


def test_registry_lists_and_loads_dsp(tmp_path):
    registry = Registry(tmp_path)
    assert "dsp" in registry.names("emotion")
    system = registry.get("emotion", "dsp")
    assert isinstance(system, ProsodyRuleConverter)
    card = registry.card("emotion", "dsp")
    assert card.kind == "dsp" and card.sample_rate == SR
    markdown = card.to_markdown()
    for emotion in EMOTIONS:
        assert f"| {emotion} |" in markdown


def test_bad_emotion_or_intensity_rejected(voice, converter):
    with pytest.raises(ValueError, match="unknown emotion"):
        converter.convert(voice, SR, "bored", 1.0)
    with pytest.raises(ValueError, match="intensity"):
        converter.convert(voice, SR, "sad", 1.5)
