"""Compressed "audio bombs" (tests/data/bombs: tiny files that decode to gigabytes) are rejected
with a one-line reason while the process's peak memory grows by less than 200 MB.

Each bomb is read in a fresh interpreter by ``scripts/benchmark_input_bombs.py`` (through
``read_audio`` with the web UI's limit and through ``streaming.scan_file``), which reports the
errors and the growth of ``ru_maxrss`` over the imported library.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.audio import AudioError, read_audio
from pipeline.streaming import scan_file

REPO = Path(__file__).resolve().parent.parent
BOMBS = REPO / "tests" / "data" / "bombs"
MAX_GROWTH_MIB = 200 * 1e6 / 2**20

EXPECTED = {
    "ogg_255ch_48k_30s.ogg": "too many channels: 255 (limit 8)",
    "flac_8ch_655350hz_20s.flac": "unsupported sample rate 655350 Hz",
    "flac_8ch_96k_59s.flac": "audio is digital silence",  # decoded, in blocks
    "flac_8ch_96k_120s.flac": "audio too long: 120.0 s (limit 60 s)",
}


@pytest.fixture(scope="module")
def measured() -> dict[str, dict]:
    result = subprocess.run(
        [sys.executable, "scripts/benchmark_input_bombs.py", "--bombs-dir", str(BOMBS), "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return {row["name"]: row for row in rows}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bomb_is_rejected_in_one_line_with_little_memory(measured: dict, name: str) -> None:
    row = measured[name]
    assert row["bytes"] < 200_000  # a small upload
    assert len(row["errors"]) == 2  # read_audio and scan_file
    for error in row["errors"]:
        assert error.startswith(EXPECTED[name]) and "\n" not in error
    assert row["growth_mib"] < MAX_GROWTH_MIB


def test_header_checks_come_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bomb whose header is absurd never reaches the decoder."""
    import pipeline.audio as audio

    def no_decoding(*_args, **_kwargs):
        raise AssertionError("decoded a file the header already rules out")

    monkeypatch.setattr(audio, "read_mono_blocks", no_decoding)
    monkeypatch.setattr("pipeline.streaming.read_mono_blocks", no_decoding)
    for name in ("ogg_255ch_48k_30s.ogg", "flac_8ch_655350hz_20s.flac", "flac_8ch_96k_120s.flac"):
        with pytest.raises(AudioError, match=EXPECTED[name].split(" (")[0]):
            read_audio(BOMBS / name)
        with pytest.raises(AudioError, match=EXPECTED[name].split(" (")[0]):
            scan_file(BOMBS / name, max_seconds=60.0)
        with pytest.raises(AudioError, match=EXPECTED[name].split(" (")[0]):
            read_audio((BOMBS / name).read_bytes())
