"""File-to-file streaming enhancement (``pipeline.streaming``): same result as in memory,
seamless at other sample rates, validation before anything is written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline.audio import AudioError, resample
from pipeline.fullband import carry_upper_band
from pipeline.registry import Registry
from pipeline.signals import coloured_noise, mix_at_snr, synthetic_voice
from pipeline.streaming import enhance_file, scan_file

SR = 44_100


@pytest.fixture(scope="module")
def gan():
    return Registry().get("enhance", "mask-gan")


@pytest.fixture(scope="module")
def noisy_44k() -> np.ndarray:
    clean = synthetic_voice(23.0, SR, seed=11)
    return mix_at_snr(clean, coloured_noise("pink", len(clean), 12), 5.0)[0]


def _leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(".part")]


def test_file_equals_in_memory(gan, noisy_44k, tmp_path):
    src, dst = tmp_path / "in.wav", tmp_path / "out" / "in.wav"
    sf.write(src, noisy_44k, SR, subtype="FLOAT")
    scan = enhance_file(gan, src, dst)
    assert scan.sample_rate == SR and scan.frames == len(noisy_44k) and scan.notes == ()
    out, sr = sf.read(dst, dtype="float32")
    assert sr == SR and len(out) == len(noisy_44k) and sf.info(dst).subtype == "PCM_16"
    ref = gan.enhance(noisy_44k, SR)
    assert np.max(np.abs(out - ref)) <= 1.0 / 32767 + 1e-6  # PCM-16 rounding only
    assert _leftovers(dst.parent) == []


def test_blocks_join_without_seams_at_other_rates(gan, noisy_44k):
    """23 s at 44.1 kHz in 10 s blocks (each resampled on its own, GRU state carried) vs one
    pass over the whole signal (upper band carried over the same way, in one piece): the
    difference stays far below the signal."""
    native_in = resample(noisy_44k, SR, gan.sample_rate)
    whole_native = np.clip(gan.enhance_native(native_in), -1, 1)
    low = resample(whole_native, gan.sample_rate, SR)[: len(noisy_44k)]
    whole = carry_upper_band(noisy_44k, low, native_in, whole_native, gan.sample_rate, SR)
    whole = np.clip(whole, -1, 1)
    blocked = gan.enhance(noisy_44k, SR)
    err = blocked - whole[: len(blocked)]
    rel_db = 10 * np.log10(np.sum(err**2) / np.sum(whole**2))
    assert rel_db < -50.0, rel_db
    # and no seam: the error around the block joins is no larger than elsewhere
    joins = [9 * SR, 18 * SR]
    near = np.concatenate([err[j - SR // 2 : j + SR // 2] for j in joins])
    assert np.sqrt(np.mean(near**2)) < 3 * np.sqrt(np.mean(err**2)) + 1e-6


def _write(path: Path, data: np.ndarray, sr: int = 16_000, subtype: str = "FLOAT") -> Path:
    sf.write(path, data, sr, subtype=subtype)
    return path


def test_bad_files_fail_before_writing(gan, tmp_path):
    voice = synthetic_voice(2.0, 16_000, seed=3).astype(np.float32)
    nan = voice.copy()
    nan[12_345] = np.nan
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    cases = {
        _write(tmp_path / "nan.wav", nan): "NaN",
        _write(tmp_path / "silent.wav", np.zeros(32_000, np.float32)): "silence",
        _write(tmp_path / "short.wav", voice[:1_000]): "too short",
        _write(tmp_path / "low.wav", voice[:8_000], sr=4_000): "sample rate",
        corrupt: "not a readable audio file",
        tmp_path / "missing.wav": "no such file",
    }
    out = tmp_path / "out"
    for src, reason in cases.items():
        with pytest.raises(AudioError, match=reason):
            enhance_file(gan, src, out / src.name)
        assert not (out / src.name).exists()
    with pytest.raises(AudioError, match="too long"):
        enhance_file(gan, _write(tmp_path / "long.wav", voice), out / "long.wav", max_seconds=1.0)
    assert not out.exists() or list(out.iterdir()) == []


def test_notes_downmix_and_over_full_scale(gan, tmp_path):
    voice = synthetic_voice(1.5, 22_050, seed=4).astype(np.float32)
    stereo = np.stack([voice, 0.5 * voice], axis=1) * (1.6 / np.max(np.abs(voice)))
    src = _write(tmp_path / "loud.wav", stereo, sr=22_050)
    found = scan_file(src, max_seconds=None)
    assert found.channels == 2 and found.peak == pytest.approx(1.2, rel=1e-3)
    notes = enhance_file(gan, src, tmp_path / "out.wav").notes
    assert any("2 channels" in n for n in notes) and any("scaled down" in n for n in notes)
    out, sr = sf.read(tmp_path / "out.wav", dtype="float32")
    assert sr == 22_050 and len(out) == len(voice) and np.all(np.isfinite(out))
