"""A 48 kHz test set: full-band clean speech from the packaged originals, full-band noise.

The prepared corpora are 16 kHz, so they cannot show what a system does above 8 kHz. This
set goes back to the packaged files (``<data>/cache/extract/<package>/<raw>``) of the
manifest's held-out speech and keeps only clips stored at 44.1 kHz or more: the Hedgewars
voice packs and the 44.1 kHz part of the Czech Fish Fillets lines. Their measured content
reaches about 16 kHz (energy 8-11 kHz about -26 dB, 11-16 kHz about -30 dB below the total
for Hedgewars; the Dutch Fish Fillets files are 22.05 kHz with almost nothing above 8 kHz,
and the Asterisk prompts are 16 kHz G.722, so neither can serve). The references are game
recordings, not studio speech: some carry their own floor, and the Robot pack is processed.

Noise is full band too: the packaged originals of the split's recorded noise (those stored at
44.1 kHz or more) and synthetic white/pink noise, each clip mixed at 0/5/10/15 dB (cycled)
with the clean speech at -26 dBFS, all resampled to 48 kHz.

Files: ``<out_dir>/{clean,noisy}/<id>.wav`` (48 kHz PCM-16) and ``pairs.csv`` with
:data:`pipeline.corpora.mixing.TEST_COLUMNS`, readable by ``python -m pipeline.evaluate
enhance --test-dir``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from pipeline.audio import resample, to_mono
from pipeline.corpora import CorpusError
from pipeline.corpora.mixing import TEST_COLUMNS, write_test_pair
from pipeline.corpora.prepare import read_manifest, write_csv
from pipeline.signals import coloured_noise

log = logging.getLogger(__name__)

RATE = 48_000
MIN_NATIVE_RATE = 44_100


def raw_path(row: dict, extract_root: Path) -> Path:
    """The packaged original of a manifest row: ``<extract>/<package>/<raw>``."""
    return extract_root / row["source_package"] / row["raw"]


def read_native(path: Path) -> tuple[np.ndarray, int]:
    """Mono float32 at the file's own rate."""
    data, sr = sf.read(str(path), dtype="float32", always_2d=False)
    return to_mono(data).astype(np.float32), int(sr)


def full_band_rows(
    rows: Sequence[dict], extract_root: Path, *, kind: str, splits: Sequence[str]
) -> list[dict]:
    """Rows of ``kind`` in ``splits`` whose packaged original is stored at >= 44.1 kHz."""
    found = []
    for row in rows:
        if row["kind"] != kind or row["split"] not in splits:
            continue
        path = raw_path(row, extract_root)
        try:
            rate = sf.info(str(path)).samplerate if path.is_file() else 0
        except (sf.LibsndfileError, RuntimeError):  # e.g. headerless G.722 (16 kHz anyway)
            rate = 0
        if rate >= MIN_NATIVE_RATE:
            found.append(row)
    return found


def _noise(noise_rows: list[dict], extract_root: Path, n: int, rng) -> tuple[np.ndarray, str, str]:
    """A full-band noise of ``n`` samples at 48 kHz: a recorded original (looped, random
    offset) half the time when there is one, else white or pink noise."""
    if noise_rows and rng.random() < 0.5:
        row = noise_rows[int(rng.integers(len(noise_rows)))]
        wave, sr = read_native(raw_path(row, extract_root))
        wave = resample(wave, sr, RATE)
        wave = np.tile(wave, -(-n // len(wave)) + 1)
        start = int(rng.integers(len(wave) - n + 1))
        return wave[start : start + n], "recorded", row["path"]
    colour = ("white", "pink")[int(rng.integers(2))]
    return coloured_noise(colour, n, rng), "synthetic", colour


def build_fullband_test_set(
    manifest: Path,
    extract_root: Path,
    out_dir: Path,
    *,
    splits: Sequence[str] = ("test", "valid"),
    snrs: Sequence[float] = (0.0, 5.0, 10.0, 15.0),
    min_seconds: float = 0.8,
    max_items: int = 200,
    seed: int = 0,
) -> Path:
    """Write the 48 kHz pairs (see the module docstring); returns the CSV path."""
    rows = read_manifest(manifest)
    speech = [
        r
        for r in full_band_rows(rows, extract_root, kind="speech", splits=splits)
        if float(r["duration_s"]) >= min_seconds
    ]
    noise = full_band_rows(rows, extract_root, kind="noise", splits=splits)
    noise = [r for r in noise if r["category"] != "music"]
    if not speech:
        raise CorpusError(f"no speech of {'/'.join(splits)} stored at >= 44.1 kHz in {manifest}")
    rng = np.random.default_rng([seed, 48])
    picked = [speech[int(i)] for i in rng.permutation(len(speech))[:max_items]]
    records = []
    for k, row in enumerate(picked):
        clean, sr = read_native(raw_path(row, extract_root))
        clean = resample(clean, sr, RATE)
        snr = float(snrs[k % len(snrs)])
        noise_wave, noise_kind, noise_name = _noise(noise, extract_root, len(clean), rng)
        item_id = f"fb_{k:04d}_snr{int(snr):02d}"
        records.append(
            write_test_pair(
                out_dir,
                item_id,
                clean,
                noise_wave,
                snr,
                row=row,
                rate=RATE,
                level_dbfs=-26.0,
                noise_kind=noise_kind,
                noise_source="packaged original" if noise_kind == "recorded" else "synthetic",
                noise_path=noise_name,
            )
        )
    path = write_csv(out_dir / "pairs.csv", records, TEST_COLUMNS)
    log.info("wrote %d full-band pairs to %s", len(records), path)
    return path
