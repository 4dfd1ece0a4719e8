"""File-to-file enhancement in blocks: memory flat in the input length.

:func:`enhance_file` reads the input twice, block by block, never holding the whole signal:

1. a scan checks what :func:`pipeline.audio.validate` checks for in-memory audio (sample
   rate, length, NaN/Inf, digital silence, peak above full scale, clipping), so a bad file
   fails before anything is written;
2. a pass feeds the blocks to :meth:`pipeline.systems.EnhancementSystem.enhance_blocks`
   and writes PCM-16 pieces to a temporary file next to the output, renamed over it only
   when complete (an interrupted run leaves no half-written output).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from pipeline.audio import (
    CLIP_FRACTION,
    CLIP_LEVEL,
    SILENCE_PEAK,
    AudioError,
    check_duration,
    check_header,
    read_header,
    read_mono_blocks,
    to_int16,
)
from pipeline.systems import EnhancementSystem

log = logging.getLogger(__name__)

SCAN_BLOCK = 1 << 16  # frames per read in the scan
OUTPUT_MODE = 0o644  # like files written by pipeline.audio.write_wav (umask 022)


@dataclass(frozen=True)
class FileScan:
    """What the scan learned about an input file.

    Attributes:
        sample_rate: Hz.
        frames: samples per channel.
        channels: channel count (mixed down to mono by averaging).
        peak: largest absolute mono sample.
        notes: remarks that did not stop processing.
    """

    sample_rate: int
    frames: int
    channels: int
    peak: float
    notes: tuple[str, ...]


def scan_file(path: str | Path, *, max_seconds: float | None) -> FileScan:
    """Validate an audio file without loading it whole; raise :class:`AudioError` (one line)."""
    path = Path(path)
    info = read_header(path)
    sr = check_header(info, max_seconds)
    check_duration(info.frames / sr, max_seconds)
    peak, frames, near_peak = 0.0, 0, []
    for block in read_mono_blocks(path, block=SCAN_BLOCK):
        if not np.all(np.isfinite(block)):
            raise AudioError("audio contains NaN or infinite samples")
        magnitude = np.abs(block)
        peak = max(peak, float(magnitude.max()))
        near_peak.append(int(np.count_nonzero(magnitude >= CLIP_LEVEL)))
        frames += len(block)
    if peak < SILENCE_PEAK:
        raise AudioError("audio is digital silence")
    notes = []
    if info.channels > 1:
        notes.append(f"mixed {info.channels} channels down to mono")
    if peak > 1.0:
        notes.append(f"peak {peak:.2f} above full scale: scaled down to 1.0")
    elif sum(near_peak) / max(frames, 1) > CLIP_FRACTION:
        notes.append(
            f"input looks clipped ({sum(near_peak) / frames:.1%} of samples at full scale)"
        )
    return FileScan(sr, frames, int(info.channels), peak, tuple(notes))


def enhance_file(
    system: EnhancementSystem,
    src: str | Path,
    dst: str | Path,
    *,
    max_seconds: float | None = None,
) -> FileScan:
    """Enhance ``src`` into ``dst`` (PCM-16 WAV at the input's rate), block by block.

    Memory is bounded by one processing block (``system.chunk_seconds``), whatever the
    input length. Output length equals input length.

    Raises:
        AudioError: bad input (nothing is written).
    Returns:
        The input's :class:`FileScan` (its ``notes`` are worth showing to the user).
    """
    src, dst = Path(src), Path(dst)
    found = scan_file(src, max_seconds=max_seconds)
    sr = found.sample_rate
    scale = 1.0 / found.peak if found.peak > 1.0 else 1.0
    block, overlap = system.block_layout(sr)
    blocks = (b * scale for b in read_mono_blocks(src, block=block, overlap=overlap))
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.stem}.", suffix=".part", dir=dst.parent)
    os.close(fd)
    try:
        written = 0
        with sf.SoundFile(
            tmp, "w", samplerate=sr, channels=1, subtype="PCM_16", format="WAV"
        ) as out:
            for piece in system.enhance_blocks(blocks, sr):
                out.write(to_int16(piece))
                written += len(piece)
        if written != found.frames:
            raise AudioError(f"read {written} of {found.frames} samples: truncated or corrupt file")
        os.chmod(tmp, OUTPUT_MODE)  # mkstemp makes 0600
        os.replace(tmp, dst)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return found
