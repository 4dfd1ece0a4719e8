"""The extra test sets: 48 kHz pairs from packaged originals, and studio-only references."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from conftest import manifest_row

from pipeline.audio import write_wav
from pipeline.corpora.fullband_set import build_fullband_test_set
from pipeline.corpora.mixing import build_test_set
from pipeline.corpora.prepare import MANIFEST_COLUMNS, read_manifest, write_csv
from pipeline.evaluate.enhance_report import load_test_set


def _row(path: str, kind: str, source: str, speaker: str, split: str, raw: str) -> dict:
    return manifest_row(
        path,
        kind,
        speaker,
        split,
        source=source,
        raw=raw,
        language="en",
        duration_s=2.5,
        text_en="hi" if kind == "speech" else "",
    )


def _tone(sr: int, seconds: float, f0: float) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.2 * np.sin(2 * np.pi * f0 * t) * (1.2 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def _data(root: Path) -> Path:
    """Prepared 16 kHz clips plus their 'packaged originals' at 48 / 22.05 kHz."""
    rows = []
    specs = [
        ("hw", "spkA", "test", 48_000),
        ("hw", "spkB", "test", 22_050),
        ("studio", "spkC", "test", 16_000),
        ("hw", "spkD", "train", 48_000),
    ]
    for k, (source, speaker, split, raw_rate) in enumerate(specs):
        path = f"speech/{source}/{speaker}/0.wav"
        raw = f"usr/share/{speaker}.wav"
        write_wav(root / path, _tone(16_000, 2.5, 150 + 30 * k), 16_000)
        original = root / "extract" / f"{source}-data" / raw
        original.parent.mkdir(parents=True, exist_ok=True)
        sf.write(original, _tone(raw_rate, 2.5, 150), raw_rate)
        rows.append(_row(path, "speech", source, speaker, split, raw))
    for split in ("test", "train"):
        noise = np.random.default_rng(0).standard_normal(48_000).astype(np.float32) * 0.1
        write_wav(root / f"noise/fx/{split}.wav", noise[::3], 16_000)
        raw = f"usr/share/noise_{split}.wav"
        (root / "extract/fx-data/usr/share").mkdir(parents=True, exist_ok=True)
        sf.write(root / "extract/fx-data" / raw, noise, 48_000)
        rows.append(_row(f"noise/fx/{split}.wav", "noise", "fx", f"fx/{split}", split, raw))
    return write_csv(root / "manifest.csv", rows, MANIFEST_COLUMNS)


def test_full_band_set_uses_only_44k_originals(tmp_path: Path) -> None:
    manifest = _data(tmp_path)
    csv_path = build_fullband_test_set(
        manifest, tmp_path / "extract", tmp_path / "fb", splits=("test",)
    )
    items = load_test_set(csv_path.parent)
    assert [i.speaker for i in items] == ["spkA"]  # 22.05 / 16 kHz originals and train left out
    clean, sr = sf.read(items[0].clean, dtype="float32")
    noisy, sr_n = sf.read(items[0].noisy, dtype="float32")
    assert sr == sr_n == 48_000 and len(clean) == len(noisy) == int(2.5 * 48_000)
    assert items[0].snr_db == 0.0
    noise = noisy - clean
    snr = 10 * np.log10(np.mean(clean**2) / np.mean(noise**2))
    assert abs(snr) < 0.1


def test_studio_only_test_set_keeps_only_the_named_sources(tmp_path: Path) -> None:
    manifest = _data(tmp_path)
    csv_path = build_test_set(
        manifest,
        tmp_path / "studio",
        split="test",
        per_snr=1,
        snrs=(5.0,),
        speech_sources=("studio",),
    )
    items = load_test_set(csv_path.parent)
    assert len(items) == 1 and {i.source for i in items} == {"studio"}
    assert {r["kind"] for r in read_manifest(manifest)} == {"speech", "noise"}
