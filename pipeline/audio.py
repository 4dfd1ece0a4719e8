"""Audio at the boundary: reading, validation, resampling, writing, chunked processing.

Inside the studio every waveform is a 1-D ``numpy.float32`` array in [-1, 1] with its
sample rate carried alongside as an ``int`` (Hz). Everything that enters or leaves the
library passes through this module.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

log = logging.getLogger(__name__)

MIN_SECONDS = 0.3
MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 96_000
MAX_CHANNELS = 8
#: frames decoded at a time: with at most MAX_CHANNELS channels one block is <= 1 MiB of float32
DECODE_BLOCK = 1 << 15
UI_MAX_SECONDS = 60.0
CLI_MAX_SECONDS = 600.0
SILENCE_PEAK = 2.0**-15  # below one 16-bit LSB: digital silence
CLIP_LEVEL = 0.999
CLIP_FRACTION = 1e-3


class AudioError(ValueError):
    """Bad input audio. ``str(err)`` is a one-line message fit to show a user."""


@dataclass(frozen=True)
class Audio:
    """A validated mono waveform.

    Attributes:
        wave: shape ``(samples,)``, float32 in [-1, 1].
        sample_rate: Hz.
        notes: human-readable remarks that did not stop processing (clipping, downmix...).
    """

    wave: np.ndarray
    sample_rate: int
    notes: tuple[str, ...] = field(default=())

    @property
    def seconds(self) -> float:
        return len(self.wave) / self.sample_rate


def to_mono(data: np.ndarray) -> np.ndarray:
    """Average channels. ``data`` is ``(samples,)`` or ``(samples, channels)``."""
    data = np.asarray(data)
    if data.ndim == 1:
        return data
    if data.ndim == 2:
        return data.mean(axis=1)
    raise AudioError(f"expected 1-D or 2-D audio array, got shape {data.shape}")


def check_sample_rate(sample_rate: object) -> int:
    """The rate as ``int``, or :class:`AudioError` when it is not an integer in
    [:data:`MIN_SAMPLE_RATE`, :data:`MAX_SAMPLE_RATE`] Hz."""
    if not isinstance(sample_rate, int | np.integer) or not (
        MIN_SAMPLE_RATE <= int(sample_rate) <= MAX_SAMPLE_RATE
    ):
        raise AudioError(
            f"unsupported sample rate {sample_rate} Hz (need {MIN_SAMPLE_RATE // 1000}"
            f"-{MAX_SAMPLE_RATE // 1000} kHz)"
        )
    return int(sample_rate)


def check_duration(seconds: float, max_seconds: float | None) -> None:
    """:class:`AudioError` when ``seconds`` is below :data:`MIN_SECONDS` or above
    ``max_seconds`` (``None``: no upper limit)."""
    if seconds < MIN_SECONDS:
        raise AudioError(f"audio too short: {seconds:.2f} s (need at least {MIN_SECONDS} s)")
    if max_seconds is not None and seconds > max_seconds:
        raise AudioError(f"audio too long: {seconds:.1f} s (limit {max_seconds:g} s)")


def validate(
    wave: np.ndarray, sample_rate: int, *, max_seconds: float | None = UI_MAX_SECONDS
) -> Audio:
    """Check and normalise a waveform; raise :class:`AudioError` with a one-line reason.

    Args:
        wave: ``(samples,)`` or ``(samples, channels)``, any float or int dtype.
        sample_rate: Hz, must lie in [8 kHz, 96 kHz].
        max_seconds: longest accepted duration, ``None`` for no limit.

    Returns:
        :class:`Audio` with a mono float32 wave in [-1, 1] (scaled down if it exceeded 1).
    """
    notes: list[str] = []
    sample_rate = check_sample_rate(sample_rate)
    wave = np.asarray(wave)
    if wave.size == 0:
        raise AudioError("empty audio: no samples")
    if wave.ndim == 2 and wave.shape[1] > 1:
        check_channels(wave.shape[1])
        notes.append(f"mixed {wave.shape[1]} channels down to mono")
    if np.issubdtype(wave.dtype, np.integer):
        wave = wave.astype(np.float32) / float(np.iinfo(wave.dtype).max)
    wave = to_mono(wave).astype(np.float32, copy=False)
    return _validate_mono(wave, sample_rate, max_seconds, notes)


def _validate_mono(
    wave: np.ndarray, sample_rate: int, max_seconds: float | None, notes: list[str]
) -> Audio:
    """The checks of :func:`validate` on a float32 mono ``(samples,)`` wave."""
    if not np.all(np.isfinite(wave)):
        raise AudioError("audio contains NaN or infinite samples")
    check_duration(len(wave) / sample_rate, max_seconds)
    peak = float(np.max(np.abs(wave)))
    if peak < SILENCE_PEAK:
        raise AudioError("audio is digital silence")
    if peak > 1.0:
        wave = wave / peak
        notes.append(f"peak {peak:.2f} above full scale: scaled down to 1.0")
        peak = 1.0
    clipped = float(np.mean(np.abs(wave) >= CLIP_LEVEL * peak)) if peak >= CLIP_LEVEL else 0.0
    if clipped > CLIP_FRACTION:
        notes.append(f"input looks clipped ({clipped:.1%} of samples at full scale)")
    return Audio(np.ascontiguousarray(wave, dtype=np.float32), sample_rate, tuple(notes))


def check_channels(channels: int) -> int:
    """``channels``, or :class:`AudioError` when it exceeds :data:`MAX_CHANNELS`."""
    if channels > MAX_CHANNELS:
        raise AudioError(f"too many channels: {channels} (limit {MAX_CHANNELS})")
    return channels


def read_header(source: str | Path | bytes) -> sf._SoundFileInfo:
    """The file's header (rate, channels, frames, format) without decoding any audio.

    Raises:
        AudioError: missing, empty or unreadable file (one line).
    """
    if not isinstance(source, bytes):
        path = Path(source)
        if not path.is_file():
            raise AudioError(f"no such file: {path.name}")
        if path.stat().st_size == 0:
            raise AudioError("empty file")
    elif not source:
        raise AudioError("empty file")
    try:
        return sf.info(io.BytesIO(source) if isinstance(source, bytes) else str(source))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
        log.debug("soundfile could not read the header: %s", err)
        raise AudioError("not a readable audio file (unknown format or corrupt data)") from None


def check_header(info: sf._SoundFileInfo, max_seconds: float | None) -> int:
    """Reject what the header alone shows is unusable, before anything is decoded: a rate
    outside 8-96 kHz, more than :data:`MAX_CHANNELS` channels, no frames, or a duration
    above ``max_seconds``. Returns the sample rate (Hz)."""
    sample_rate = check_sample_rate(int(info.samplerate))
    check_channels(int(info.channels))
    if info.frames <= 0:
        raise AudioError("empty audio: no samples")
    if max_seconds is not None and info.frames / sample_rate > max_seconds:
        raise AudioError(
            f"audio too long: {info.frames / sample_rate:.1f} s (limit {max_seconds:g} s)"
        )
    return sample_rate


def read_mono_blocks(
    source: str | Path | bytes, *, block: int = DECODE_BLOCK, overlap: int = 0
) -> Iterator[np.ndarray]:
    """Decode a file block by block, channels averaged: ``(samples,)`` float32 pieces laid out
    like ``soundfile.blocks(blocksize=block, overlap=overlap)``. Only one block of the
    multichannel signal is in memory at a time; check the header first (:func:`check_header`).

    Raises:
        AudioError: the data cannot be decoded (one line).
    """
    handle = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    try:
        with sf.SoundFile(handle) as sound:
            for data in sound.blocks(
                blocksize=block, overlap=overlap, dtype="float32", always_2d=True
            ):
                yield data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
        log.debug("soundfile failed while decoding: %s", err)
        raise AudioError("not a readable audio file (corrupt data)") from None


def read_audio(source: str | Path | bytes, *, max_seconds: float | None = UI_MAX_SECONDS) -> Audio:
    """Read any file libsndfile understands (wav, flac, ogg/vorbis, mp3...) and validate it.

    The header is checked first (rate, channels, duration), so an absurd file is rejected
    before any decoding; the audio is then decoded in blocks and mixed down to mono as it
    goes, so memory stays near the size of the mono result.

    Args:
        source: a path, or the file's bytes.
        max_seconds: longest accepted duration, ``None`` for no limit.
    """
    info = read_header(source)
    sample_rate = check_header(info, max_seconds)
    wave = np.empty(info.frames, dtype=np.float32)
    filled = 0
    for piece in read_mono_blocks(source):
        take = min(len(piece), len(wave) - filled)
        wave[filled : filled + take] = piece[:take]
        filled += take
        if filled == len(wave):
            break
    notes = [f"mixed {info.channels} channels down to mono"] if info.channels > 1 else []
    return _validate_mono(wave[:filled], sample_rate, max_seconds, notes)


def resample(wave: np.ndarray, orig_sr: int, new_sr: int) -> np.ndarray:
    """Band-limited resampling (torchaudio sinc interpolation).

    Args:
        wave: ``(samples,)`` float32.
    Returns:
        ``(round(samples * new_sr / orig_sr),)`` float32.
    """
    if orig_sr == new_sr:
        return np.asarray(wave, dtype=np.float32)
    tensor = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))
    out = AF.resample(tensor, orig_sr, new_sr).numpy()
    return fit_length(out, round(len(wave) * new_sr / orig_sr))


def fit_length(wave: np.ndarray, length: int) -> np.ndarray:
    """Trim or zero-pad ``wave`` (``(samples,)``) to exactly ``length`` samples."""
    if len(wave) >= length:
        return wave[:length]
    return np.pad(wave, (0, length - len(wave)))


def to_int16(wave: np.ndarray) -> np.ndarray:
    """float [-1, 1] → int16 PCM (clipped, rounded)."""
    return (np.clip(wave, -1.0, 1.0) * 32767.0).round().astype(np.int16)


def write_wav(path: str | Path, wave: np.ndarray, sample_rate: int) -> Path:
    """Write ``wave`` (``(samples,)`` float in [-1, 1]) as PCM-16 WAV; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), to_int16(wave), sample_rate, subtype="PCM_16", format="WAV")
    return path


def rms_dbfs(wave: np.ndarray) -> float:
    """RMS level in dB relative to full scale (a full-scale sine is -3 dB)."""
    rms = float(np.sqrt(np.mean(np.square(wave, dtype=np.float64))))
    return 20.0 * math.log10(max(rms, 1e-10))


def normalize_level(wave: np.ndarray, target_dbfs: float = -26.0) -> np.ndarray:
    """Scale to an RMS level of ``target_dbfs`` dBFS, then limit the peak to 0.99."""
    gain = 10.0 ** ((target_dbfs - rms_dbfs(wave)) / 20.0)
    out = wave * gain
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > 0.99:
        out = out * (0.99 / peak)
    return out.astype(np.float32)


def overlapping_blocks(wave: np.ndarray, *, block: int, overlap: int) -> Iterator[np.ndarray]:
    """Views of ``wave`` laid out like ``soundfile.blocks(blocksize=block, overlap=overlap)``:
    each block after the first starts with the last ``overlap`` samples of the one before,
    and the last block ends at the end of ``wave`` (an input of at most ``block`` samples is
    one block)."""
    n, hop = len(wave), block - overlap
    start = 0
    while True:
        stop = min(start + block, n)
        yield wave[start:stop]
        if stop == n:
            return
        start += hop


def crossfade_blocks(
    fn: Callable[[np.ndarray], np.ndarray], blocks: Iterable[np.ndarray], *, overlap: int
) -> Iterator[np.ndarray]:
    """Apply a length-preserving ``fn`` to overlapping blocks and join them, streaming.

    ``blocks`` are laid out as by :func:`overlapping_blocks` (or ``soundfile.blocks`` with
    the same ``overlap``). Neighbouring outputs are joined over their shared ``overlap``
    samples with complementary raised-cosine fades (the fades sum to one), so a ``fn``
    that is identical on both blocks leaves no seam. Only one block and one overlap tail
    are held at a time, so memory is flat in the input length.

    Yields:
        float32 pieces; their concatenation has the total input length.
    """
    fade_in = (0.5 - 0.5 * np.cos(np.pi * (np.arange(overlap) + 0.5) / max(overlap, 1))).astype(
        np.float32
    )
    fade_out = 1.0 - fade_in
    tail: np.ndarray | None = None
    iterator = iter(blocks)
    block = next(iterator, None)
    while block is not None:
        following = next(iterator, None)
        out = fit_length(np.array(fn(block), dtype=np.float32), len(block))
        if tail is not None:
            k = min(overlap, len(out))
            out[:k] = out[:k] * fade_in[:k] + tail[:k]
        if following is None or overlap == 0:
            tail = None
            yield out
        else:
            tail = out[-overlap:] * fade_out
            yield out[:-overlap]
        block = following


def process_in_chunks(
    fn: Callable[[np.ndarray], np.ndarray],
    wave: np.ndarray,
    *,
    chunk: int,
    overlap: int,
) -> np.ndarray:
    """Apply a length-preserving ``fn`` to overlapping chunks and cross-fade them.

    The in-memory form of :func:`crossfade_blocks` over :func:`overlapping_blocks`:
    ``fn`` only ever sees ``chunk`` samples, whatever the input length.

    Args:
        fn: maps ``(n,)`` float32 to ``(n,)`` float32.
        wave: ``(samples,)``.
        chunk: samples per chunk, including the overlaps.
        overlap: samples shared by neighbouring chunks (< chunk / 2).
    Returns:
        ``(samples,)`` float32.
    """
    if overlap * 2 >= chunk:
        raise ValueError("overlap must be less than half the chunk")
    blocks = overlapping_blocks(wave, block=chunk, overlap=overlap)
    return np.concatenate(list(crossfade_blocks(fn, blocks, overlap=overlap)))
