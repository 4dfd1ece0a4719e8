"""Intrusive metrics, WER and target checks on inputs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.evaluate.asr import corpus_wer, edit_distance, normalize_text, wer
from pipeline.evaluate.resources import ResourceMeter
from pipeline.evaluate.targets import check
from pipeline.metrics import (
    intrusive_metrics,
    pause_attenuation_db,
    pesq_wb,
    si_sdr,
    snr,
    stoi,
)


def _noise_at_snr(clean: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(len(clean))
    noise -= noise.mean()
    noise -= clean * np.dot(noise, clean) / np.dot(clean, clean)  # orthogonal to the clean
    gain = np.sqrt(np.mean(clean**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    return (clean + gain * noise).astype(np.float32)


def test_si_sdr_of_scaled_copy_is_very_high(voice):
    wave, _ = voice
    assert si_sdr(wave, 0.3 * wave) > 80.0
    assert snr(wave, 0.3 * wave) == pytest.approx(-20 * math.log10(0.7), abs=0.05)


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 10.0, 20.0])
def test_si_sdr_of_added_noise_matches_its_snr(voice, snr_db):
    wave, _ = voice
    wave = wave - wave.mean()
    noisy = _noise_at_snr(wave, snr_db)
    assert si_sdr(wave, noisy) == pytest.approx(snr_db, abs=0.2)


def test_pesq_and_stoi_order_clean_above_noisy(real_speech):
    import soundfile as sf

    clean, sr = sf.read(real_speech, dtype="float32")
    noisy = _noise_at_snr(clean - clean.mean(), 0.0)
    assert pesq_wb(clean, clean, sr) > 4.5
    assert pesq_wb(clean, noisy, sr) < 2.5
    assert stoi(clean, clean, sr) == pytest.approx(1.0, abs=1e-3)
    assert stoi(clean, noisy, sr) < stoi(clean, _noise_at_snr(clean - clean.mean(), 15.0), sr)
    m = intrusive_metrics(clean, noisy, sr)
    assert set(m) == {"pesq_wb", "stoi", "estoi", "si_sdr"}
    assert m["estoi"] < m["stoi"]


def test_pause_attenuation_measures_noise_left_where_speech_pauses():
    """A tone with a 0.5 s pause in white noise: a system that scales only the pause's noise
    by 0.1 scores -20 dB, the input itself 0 dB; speech frames do not count."""
    sr = 16_000
    t = np.arange(2 * sr) / sr
    clean = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    clean[sr // 2 : sr] = 0.0
    noise = 0.01 * np.random.default_rng(1).standard_normal(len(clean)).astype(np.float32)
    noisy = clean + noise
    quiet = noisy.copy()
    quiet[sr // 2 : sr] *= 0.1
    louder_speech = noisy.copy()
    louder_speech[sr:] *= 2.0
    assert pause_attenuation_db(clean, noisy, noisy, sr) == pytest.approx(0.0, abs=1e-6)
    assert pause_attenuation_db(clean, noisy, quiet, sr) == pytest.approx(-20.0, abs=0.3)
    assert pause_attenuation_db(clean, noisy, louder_speech, sr) == pytest.approx(0.0, abs=0.3)
    assert math.isnan(pause_attenuation_db(np.ones(sr), noisy[:sr], noisy[:sr], sr))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_pesq_returns_nan_on_silence():
    assert math.isnan(pesq_wb(np.zeros(16000), np.zeros(16000), 16000))


def test_text_normalisation():
    assert normalize_text("Press 1, then [beep] the pound-key.") == "press one then the pound key"
    assert normalize_text("Don't 'quote' 42 107") == "don't quote forty two one zero seven"


@pytest.mark.parametrize(
    ("ref", "hyp", "expected"),
    [
        ("the cat sat on the mat", "the cat sat on the mat", 0.0),
        ("the cat sat on the mat", "The cat sat on mat.", 1 / 6),  # one deletion
        ("a b c", "x b c d", 2 / 3),  # one substitution + one insertion
        ("hello world", "", 1.0),
        ("Please press 1", "please press one", 0.0),
    ],
)
def test_wer_known_strings(ref, hyp, expected):
    assert wer(ref, hyp) == pytest.approx(expected)


def test_wer_edge_cases():
    assert math.isnan(wer("", "anything"))
    assert edit_distance(["a", "b"], ["b", "a"]) == 2
    assert corpus_wer(["a b", "c d e f"], ["a", "c d e f"]) == pytest.approx(1 / 6)


def test_target_check_and_meter():
    assert check("x", 0.9, ">=", 0.8).passed
    assert not check("x", 0.7, ">=", 0.8).passed
    missing = check("x", float("nan"), "<=", 0.05)
    assert not missing.passed and not missing.measured and "not measured" in missing.line()
    with ResourceMeter() as meter:
        block = np.ones(20_000_000)  # 160 MB touched
        block.sum()
    assert meter.result.wall_s > 0
    if not math.isnan(meter.result.peak_rss_delta_mib):
        assert meter.result.peak_rss_delta_mib > 100
