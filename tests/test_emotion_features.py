"""WORLD features, continuous log-F0, energy, time-scaling and prosody statistics."""

import numpy as np
import pytest

from pipeline.emotion.features import (
    CODED_DIM,
    analyze,
    continuous_log_f0,
    decode_envelope,
    f0_from_log,
    frame_energy_db,
    resynthesize,
    synthesize,
    time_scale,
)
from pipeline.emotion.prosody import prosody_stats, semitones, syllable_nuclei
from pipeline.signals import synthetic_voice

SR = 16_000


@pytest.fixture(scope="module")
def voice():
    return synthetic_voice(1.5, SR, f0_hz=140.0)


@pytest.fixture(scope="module")
def feats(voice):
    return analyze(voice, SR)


def test_analysis_shapes_and_f0(voice, feats):
    hop = SR * 5 // 1000
    assert feats.n_frames == len(voice) // hop + 1
    assert feats.sp.shape == feats.ap.shape == (feats.n_frames, feats.fft_size // 2 + 1)
    assert feats.coded_sp().shape == (feats.n_frames, CODED_DIM)
    assert feats.voiced.mean() > 0.5
    assert np.median(feats.f0[feats.voiced]) == pytest.approx(140.0, rel=0.05)
    assert np.all((feats.ap >= 0) & (feats.ap <= 1))


def test_harvest_agrees_with_dio(voice, feats):
    harvest = analyze(voice, SR, f0_method="harvest")
    both = feats.voiced & harvest.voiced
    ratio = np.median(harvest.f0[both] / feats.f0[both])
    assert ratio == pytest.approx(1.0, abs=0.03)


def test_unknown_f0_method_rejected(voice):
    with pytest.raises(ValueError, match="f0_method"):
        analyze(voice, SR, f0_method="yin")


def test_resynthesis_keeps_length_and_level(voice):
    out = resynthesize(voice, SR)
    assert out.shape == voice.shape and out.dtype == np.float32
    assert np.all(np.isfinite(out))
    level = lambda w: 10 * np.log10(np.mean(w.astype(np.float64) ** 2))  # noqa: E731
    assert abs(level(out) - level(voice)) < 2.0
    assert np.corrcoef(frame_energy_db(out, SR), frame_energy_db(voice, SR))[0, 1] > 0.9


def test_coded_envelope_round_trip(feats):
    decoded = decode_envelope(feats.coded_sp(), SR, feats.fft_size)
    assert decoded.shape == feats.sp.shape
    err_db = np.abs(10 * np.log10(decoded / feats.sp))[feats.voiced][:, :200]
    assert np.median(err_db) < 3.0


def test_continuous_log_f0_interpolates_gaps():
    f0 = np.array([0.0, 100.0, 0.0, 0.0, 400.0, 0.0])
    lf0, voiced = continuous_log_f0(f0)
    assert voiced.tolist() == [False, True, False, False, True, False]
    assert np.exp(lf0[0]) == pytest.approx(100.0) and np.exp(lf0[-1]) == pytest.approx(400.0)
    # linear in log: 100 → 400 over 3 frames passes 100 * 4^(1/3)
    assert np.exp(lf0[2]) == pytest.approx(100.0 * 4 ** (1 / 3))
    np.testing.assert_allclose(f0_from_log(lf0, voiced), f0)
    lf0_none, voiced_none = continuous_log_f0(np.zeros(4))
    assert not voiced_none.any() and np.all(lf0_none == 0)


def test_frame_energy_of_full_scale_sine():
    t = np.arange(SR) / SR
    energy = frame_energy_db(np.sin(2 * np.pi * 440 * t), SR)
    assert len(energy) == SR // 80 + 1
    assert np.median(energy) == pytest.approx(-3.0, abs=0.2)


@pytest.mark.parametrize("rate", [0.8, 1.25])
def test_time_scale_changes_duration_not_pitch(feats, rate):
    scaled = time_scale(feats, rate)
    assert scaled.n_frames == round(feats.n_frames / rate)
    out = synthesize(scaled)
    assert len(out) / (feats.n_samples / rate) == pytest.approx(1.0, abs=0.02)
    assert np.median(scaled.f0[scaled.voiced]) == pytest.approx(
        np.median(feats.f0[feats.voiced]), rel=0.02
    )


def test_time_scale_rejects_bad_rate(feats):
    with pytest.raises(ValueError):
        time_scale(feats, 0.0)


def test_prosody_stats_on_known_signal(voice):
    stats = prosody_stats(voice, SR)
    assert stats.f0_median_hz == pytest.approx(140.0, rel=0.05)
    # the contour swings ±3 st sinusoidally: 5–95 % range a bit under 6 st
    assert 4.0 < stats.f0_range_st < 6.5
    assert stats.energy_db == pytest.approx(-18.0, abs=2.5)
    assert stats.duration_s == pytest.approx(1.5)


def test_syllable_nuclei_count_matches_gating():
    wave = synthetic_voice(2.0, SR, syllable_rate=4.0)
    feats = analyze(wave, SR)
    nuclei = syllable_nuclei(frame_energy_db(wave, SR), feats.voiced)
    assert len(nuclei) == 8


def test_semitones():
    assert semitones(np.array([200.0]))[0] == pytest.approx(12.0)


def test_stats_of_unvoiced_noise_are_nan_not_errors():
    noise = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.05
    stats = prosody_stats(noise, SR)
    assert np.isfinite(stats.energy_db)
    assert np.isnan(stats.f0_median_hz) or stats.voiced_fraction < 0.5
