"""pipeline.audio: reading formats and rates, validation errors, writing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline.audio import (
    CLI_MAX_SECONDS,
    UI_MAX_SECONDS,
    AudioError,
    read_audio,
    rms_dbfs,
    to_int16,
    validate,
    write_wav,
)
from pipeline.signals import synthetic_voice

FORMATS = [
    ("wav", "WAV", "PCM_16"),
    ("flac", "FLAC", "PCM_24"),
    ("ogg", "OGG", "VORBIS"),
    ("mp3", "MP3", "MPEG_LAYER_III"),  # libsndfile >= 1.1 writes and reads mp3
]


@pytest.mark.parametrize(("ext", "fmt", "subtype"), FORMATS)
def test_reads_common_formats(tmp_path: Path, ext: str, fmt: str, subtype: str) -> None:
    wave = synthetic_voice(1.0, 16_000)
    path = tmp_path / f"clip.{ext}"
    sf.write(path, wave, 16_000, format=fmt, subtype=subtype)
    audio = read_audio(path)
    assert audio.sample_rate == 16_000
    assert audio.wave.dtype == np.float32 and audio.wave.ndim == 1
    # lossy codecs add encoder delay/padding; lengths stay within 0.1 s
    assert abs(audio.seconds - 1.0) < 0.1
    assert np.max(np.abs(audio.wave)) <= 1.0
    assert abs(rms_dbfs(audio.wave) - rms_dbfs(wave)) < 1.5


def test_reads_from_bytes(voice_wav: Path) -> None:
    audio = read_audio(voice_wav.read_bytes())
    assert audio.sample_rate == 22_050
    assert len(audio.wave) == round(1.5 * 22_050)


@pytest.mark.parametrize("sr", [8_000, 11_025, 16_000, 22_050, 44_100, 48_000, 96_000])
def test_accepts_rates_8_to_96_khz(tmp_path: Path, sr: int) -> None:
    path = tmp_path / "clip.wav"
    sf.write(path, synthetic_voice(0.5, sr), sr)
    audio = read_audio(path)
    assert audio.sample_rate == sr
    assert len(audio.wave) == round(0.5 * sr)


@pytest.mark.parametrize("sr", [4_000, 7_999, 96_001, 192_000])
def test_rejects_rates_outside_range(tmp_path: Path, sr: int) -> None:
    path = tmp_path / "clip.wav"
    sf.write(path, np.full(sr, 0.1, dtype=np.float32), sr)
    with pytest.raises(AudioError, match="unsupported sample rate"):
        read_audio(path)


@pytest.mark.parametrize("channels", [2, 6])
def test_multichannel_is_mixed_to_mono(tmp_path: Path, channels: int) -> None:
    mono = synthetic_voice(0.5, 16_000)
    data = np.stack([mono * (c + 1) / channels for c in range(channels)], axis=1)
    path = tmp_path / "multi.wav"
    sf.write(path, data, 16_000, subtype="FLOAT")
    audio = read_audio(path)
    assert audio.wave.shape == (len(mono),)
    np.testing.assert_allclose(audio.wave, data.mean(axis=1), atol=1e-6)
    assert any("mono" in note for note in audio.notes)


def test_int16_input_is_scaled() -> None:
    audio = validate(to_int16(synthetic_voice(0.5, 16_000)), 16_000)
    assert audio.wave.dtype == np.float32
    assert 0.45 < np.max(np.abs(audio.wave)) <= 0.55


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="no such file"):
        read_audio(tmp_path / "nope.wav")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError, match="empty file"):
        read_audio(path)


def test_empty_audio_has_no_samples(tmp_path: Path) -> None:
    path = tmp_path / "nosamples.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), 16_000)
    with pytest.raises(AudioError, match="empty audio|too short"):
        read_audio(path)


@pytest.mark.parametrize(
    "payload", [b"this is a text file, not audio\n" * 20, bytes(range(256)) * 8]
)
def test_not_audio(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "notes.wav"
    path.write_bytes(payload)
    with pytest.raises(AudioError, match="not a readable audio file"):
        read_audio(path)


def test_truncated_header_is_unreadable(tmp_path: Path, voice_wav: Path) -> None:
    path = tmp_path / "cut.wav"
    path.write_bytes(voice_wav.read_bytes()[:20])
    with pytest.raises(AudioError, match="not a readable audio file"):
        read_audio(path)


def test_too_short(tmp_path: Path) -> None:
    path = tmp_path / "short.wav"
    sf.write(path, synthetic_voice(0.2, 16_000), 16_000)
    with pytest.raises(AudioError, match=r"too short: 0\.20 s"):
        read_audio(path)


def test_too_long_default_ui_limit_and_configurable(tmp_path: Path) -> None:
    sr = 8_000
    path = tmp_path / "long.wav"
    sf.write(path, np.full(int(sr * (UI_MAX_SECONDS + 1)), 0.1, dtype=np.float32), sr)
    with pytest.raises(AudioError, match="too long"):
        read_audio(path)
    assert read_audio(path, max_seconds=CLI_MAX_SECONDS).seconds == pytest.approx(61.0)
    with pytest.raises(AudioError, match=r"limit 5 s"):
        read_audio(path, max_seconds=5)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf(tmp_path: Path, bad: float) -> None:
    wave = synthetic_voice(0.5, 16_000)
    wave[100] = bad
    path = tmp_path / "bad.wav"
    sf.write(path, wave, 16_000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN or infinite"):
        read_audio(path)


def test_digital_silence(tmp_path: Path) -> None:
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(16_000, dtype=np.int16), 16_000, subtype="PCM_16")
    with pytest.raises(AudioError, match="digital silence"):
        read_audio(path)


def test_clipped_input_is_accepted_with_a_note(tmp_path: Path) -> None:
    wave = np.clip(synthetic_voice(1.0, 16_000) * 6.0, -1.0, 1.0)
    path = tmp_path / "clipped.wav"
    sf.write(path, wave, 16_000, subtype="PCM_16")
    audio = read_audio(path)
    assert any("clipped" in note for note in audio.notes)


def test_over_full_scale_float_is_scaled_down() -> None:
    audio = validate(synthetic_voice(0.5, 16_000) * 4.0, 16_000)
    assert np.max(np.abs(audio.wave)) == pytest.approx(1.0)
    assert any("scaled down" in note for note in audio.notes)


def test_error_messages_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    path.write_bytes(b"garbage" * 50)
    with pytest.raises(AudioError) as info:
        read_audio(path)
    assert "\n" not in str(info.value)


def test_write_wav_is_pcm16_at_given_rate(tmp_path: Path) -> None:
    wave = synthetic_voice(0.5, 44_100)
    path = write_wav(tmp_path / "sub" / "out.wav", wave, 44_100)
    info = sf.info(path)
    assert (info.samplerate, info.subtype, info.channels) == (44_100, "PCM_16", 1)
    back, _ = sf.read(path, dtype="float32")
    np.testing.assert_allclose(back, wave, atol=1 / 32767)


def test_to_int16_clips_and_rounds() -> None:
    out = to_int16(np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0], dtype=np.float32))
    assert out.dtype == np.int16
    assert out.tolist() == [-32767, -32767, 0, 16384, 32767, 32767]
