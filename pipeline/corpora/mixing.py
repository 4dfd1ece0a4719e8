"""Noisy speech mixtures: on the fly for training, fixed sets for validation and test.

Everything here is 16 kHz mono float32. SNR is defined as
``10 log10(mean(clean[speech]**2) / mean(noise**2))`` where ``clean[speech]`` are the samples
of the speech clip itself (zero padding of clips shorter than the crop is excluded) and the
noise is measured over the whole crop.

Noise for a mixture is drawn from the same split as the speech (so test mixtures use
unseen speakers *and* unseen noise recordings): a recorded noise (lincity / hedgewars
effects / hedgewars music), synthetic coloured noise (white, pink, brown) or babble
(3-6 clips of other speakers of the split, summed at equal level).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import Dataset

from pipeline.audio import fit_length, rms_dbfs, write_wav
from pipeline.constants import SAMPLE_RATE
from pipeline.corpora import CorpusError
from pipeline.corpora.prepare import read_manifest, write_csv
from pipeline.signals import NOISE_COLOURS, coloured_noise, mix_at_snr

log = logging.getLogger(__name__)

TEST_COLUMNS = (
    "id",
    "clean_path",
    "noisy_path",
    "snr_db",
    "speaker",
    "source",
    "noise_kind",
    "noise_source",
    "noise_path",
    "duration_s",
    "text_en",
)


@dataclass(frozen=True)
class MixConfig:
    """How mixtures are drawn.

    Attributes:
        segment_seconds: crop length (s).
        snr_db: uniform SNR range (dB).
        level_dbfs: uniform range of the clean speech RMS level (dBFS): the random gain.
        p_recorded / p_synthetic / p_babble: noise-type probabilities (normalised).
        music_snr_offset_db: extra SNR for music noise, so music stays at a low level.
        babble_talkers: inclusive range of talkers in babble.
        p_gap: probability that a training crop gets 1-``max_gaps`` silent gaps of
            ``gap_seconds`` (speech set to zero with 10 ms fades), so the model sees
            noise-only stretches like the pauses of read sentences (0: never; the fixed
            test and validation sets never use it).
    """

    segment_seconds: float = 2.0
    snr_db: tuple[float, float] = (-5.0, 20.0)
    level_dbfs: tuple[float, float] = (-35.0, -15.0)
    p_recorded: float = 0.6
    p_synthetic: float = 0.2
    p_babble: float = 0.2
    music_snr_offset_db: float = 5.0
    babble_talkers: tuple[int, int] = (3, 6)
    p_gap: float = 0.0
    gap_seconds: tuple[float, float] = (0.15, 0.6)
    max_gaps: int = 2


def insert_gaps(
    clean: np.ndarray, mask: np.ndarray, config: MixConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Silence 1-``config.max_gaps`` random spans of a speech crop (see :class:`MixConfig`).

    Returns the new ``(clean, speech_mask)``; unchanged when less than a quarter of the crop
    would remain speech.
    """
    out, keep = clean.copy(), mask.copy()
    fade = int(0.01 * SAMPLE_RATE)
    ramp = np.linspace(1.0, 0.0, fade + 2, dtype=np.float32)[1:-1]  # no zero at either end
    for _ in range(int(rng.integers(1, config.max_gaps + 1))):
        length = int(rng.uniform(*config.gap_seconds) * SAMPLE_RATE)
        if length + 2 * fade >= len(out):
            continue
        start = int(rng.integers(0, len(out) - length - 2 * fade))
        out[start : start + fade] *= ramp
        out[start + fade : start + fade + length] = 0.0
        out[start + fade + length : start + 2 * fade + length] *= ramp[::-1]
        keep[start : start + 2 * fade + length] = False
    if keep.sum() < 0.25 * mask.sum():
        return clean, mask
    return out, keep


def read_segment(path: Path, start: int, length: int) -> np.ndarray:
    """Read ``length`` samples from ``start`` of a 16 kHz wav (zero-padded at the end)."""
    data, sr = sf.read(str(path), start=start, frames=length, dtype="float32", always_2d=False)
    if sr != SAMPLE_RATE:
        raise CorpusError(f"{path.name}: expected {SAMPLE_RATE} Hz, found {sr} Hz")
    return fit_length(data, length)


class MixtureSource:
    """Speech and noise rows of one split, and the drawing of single ingredients.

    Args:
        rows: manifest rows (see :data:`pipeline.corpora.prepare.MANIFEST_COLUMNS`).
        root: directory the manifest ``path`` column is relative to.
        split: ``train``, ``valid`` or ``test``.
        config: :class:`MixConfig`.
    """

    def __init__(self, rows: Sequence[dict], root: Path, split: str, config: MixConfig):
        self.root = Path(root)
        self.config = config
        self.speech = [r for r in rows if r["kind"] == "speech" and r["split"] == split]
        self.noise = [r for r in rows if r["kind"] == "noise" and r["split"] == split]
        if not self.speech:
            raise CorpusError(f"no speech rows in split {split!r}")
        self.speakers = sorted({r["speaker"] for r in self.speech})
        self.by_speaker = {s: [r for r in self.speech if r["speaker"] == s] for s in self.speakers}

    def frames(self, row: dict) -> int:
        return round(float(row["duration_s"]) * SAMPLE_RATE)

    def clean_crop(self, row: dict, length: int, rng: np.random.Generator):
        """A random ``length``-sample crop of a speech row; short clips are zero-padded at a
        random offset. Returns ``(wave, speech_mask)``."""
        n = self.frames(row)
        mask = np.zeros(length, dtype=bool)
        if n >= length:
            start = int(rng.integers(0, n - length + 1))
            mask[:] = True
            return read_segment(self.root / row["path"], start, length), mask
        wave = read_segment(self.root / row["path"], 0, n)
        offset = int(rng.integers(0, length - n + 1))
        out = np.zeros(length, dtype=np.float32)
        out[offset : offset + n] = wave
        mask[offset : offset + n] = True
        return out, mask

    def recorded_noise(self, row: dict, length: int, rng: np.random.Generator) -> np.ndarray:
        """A random crop of a noise recording, looped when shorter than ``length``."""
        n = self.frames(row)
        if n >= length:
            start = int(rng.integers(0, n - length + 1))
            return read_segment(self.root / row["path"], start, length)
        wave = read_segment(self.root / row["path"], 0, n)
        reps = int(np.ceil(length / n)) + 1
        start = int(rng.integers(0, n))
        return np.tile(wave, reps)[start : start + length]

    def babble(self, length: int, exclude: str, rng: np.random.Generator) -> np.ndarray:
        """Sum of 3-6 speech crops of other speakers of the split, each at equal RMS."""
        others = [s for s in self.speakers if s != exclude] or self.speakers
        lo, hi = self.config.babble_talkers
        talkers = int(rng.integers(lo, hi + 1))
        chosen = rng.choice(len(others), size=talkers, replace=talkers > len(others))
        out = np.zeros(length, dtype=np.float64)
        for k in chosen:
            pool = self.by_speaker[others[int(k)]]
            wave, mask = self.clean_crop(pool[int(rng.integers(len(pool)))], length, rng)
            rms = float(np.sqrt(np.mean(wave[mask] ** 2))) + 1e-8
            out += wave / rms
        return out.astype(np.float32)

    def draw_noise(self, length: int, speaker: str, rng: np.random.Generator):
        """Pick a noise type and make ``length`` samples of it.

        Returns:
            ``(noise, kind, source, path, snr_offset_db)``.
        """
        c = self.config
        probs = np.array([c.p_recorded if self.noise else 0.0, c.p_synthetic, c.p_babble])
        kind = ("recorded", "synthetic", "babble")[int(rng.choice(3, p=probs / probs.sum()))]
        if kind == "recorded":
            row = self.noise[int(rng.integers(len(self.noise)))]
            wave = self.recorded_noise(row, length, rng)
            if rms_dbfs(wave) < -90.0:  # a silent stretch of an effect: fall back to white
                return coloured_noise("white", length, rng), "synthetic", "white", "", 0.0
            offset = c.music_snr_offset_db if row["category"] == "music" else 0.0
            return wave, kind, row["source"], row["path"], offset
        if kind == "synthetic":
            colour = tuple(NOISE_COLOURS)[int(rng.integers(len(NOISE_COLOURS)))]
            return coloured_noise(colour, length, rng), kind, colour, "", 0.0
        return self.babble(length, speaker, rng), kind, "babble", "", 0.0


class NoisyMixtureDataset(Dataset):
    """Map-style dataset of on-the-fly ``(noisy, clean)`` mixtures from the manifest.

    Item ``i`` is a pure function of ``(seed, epoch, i)``: a fresh
    ``numpy.random.default_rng([seed, epoch, i])`` draws the speech clip, crop, noise,
    SNR (uniform in ``config.snr_db``) and gain (clean level uniform in
    ``config.level_dbfs``). Hence it is deterministic, identical whatever the number of
    DataLoader workers, and DDP-safe: a ``DistributedSampler`` gives each rank distinct
    indices, so ranks never draw the same mixture. Call :meth:`set_epoch` each epoch for
    new mixtures.

    Args:
        manifest: path of ``manifest.csv`` (wav paths relative to its folder).
        split: ``train``, ``valid`` or ``test``.
        config: :class:`MixConfig`.
        seed: base seed.
        items_per_epoch: ``len(dataset)``.

    Items:
        ``(noisy, clean)``: float32 tensors of shape ``(segment_samples,)`` at 16 kHz.
    """

    def __init__(
        self,
        manifest: str | Path,
        *,
        split: str = "train",
        config: MixConfig | None = None,
        seed: int = 0,
        items_per_epoch: int = 10_000,
    ):
        manifest = Path(manifest)
        self.config = config or MixConfig()
        self.source = MixtureSource(read_manifest(manifest), manifest.parent, split, self.config)
        self.seed = int(seed)
        self.epoch = 0
        self.items_per_epoch = int(items_per_epoch)
        self.segment = round(self.config.segment_seconds * SAMPLE_RATE)
        self.sample_rate = SAMPLE_RATE

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.items_per_epoch

    def draw(self, index: int) -> dict:
        """The mixture for ``index`` with its parameters (numpy arrays + metadata)."""
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        src, c = self.source, self.config
        row = src.speech[int(rng.integers(len(src.speech)))]
        clean, mask = src.clean_crop(row, self.segment, rng)
        if c.p_gap > 0 and rng.uniform() < c.p_gap:
            clean, mask = insert_gaps(clean, mask, c, rng)
        if not np.any(clean[mask]):
            clean = clean + 1e-4 * coloured_noise("white", self.segment, rng) * mask
        noise, kind, noise_source, _, offset = src.draw_noise(self.segment, row["speaker"], rng)
        snr = float(rng.uniform(*c.snr_db)) + offset
        level = float(rng.uniform(*c.level_dbfs))
        noisy, clean = mix_at_snr(clean, noise, snr, speech_mask=mask, level_dbfs=level)
        return {
            "noisy": noisy,
            "clean": clean,
            "snr_db": snr,
            "speech_mask": mask,
            "speaker": row["speaker"],
            "noise_kind": kind,
            "noise_source": noise_source,
        }

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        item = self.draw(index)
        return torch.from_numpy(item["noisy"]), torch.from_numpy(item["clean"])


def _pick_utterances(source: MixtureSource, count: int, lo: float, hi: float, rng) -> list[dict]:
    """``count`` distinct clips of ``lo``-``hi`` s, round-robin over speakers."""
    pools = {}
    for spk in source.speakers:
        rows = [r for r in source.by_speaker[spk] if lo <= float(r["duration_s"]) <= hi]
        if rows:
            pools[spk] = [rows[int(i)] for i in rng.permutation(len(rows))]
    if not pools:
        raise CorpusError(f"no speech clips of {lo:g}-{hi:g} s in this split")
    picked: list[dict] = []
    while len(picked) < count and any(pools.values()):
        for spk in sorted(pools):
            if pools[spk] and len(picked) < count:
                picked.append(pools[spk].pop())
    if len(picked) < count:
        log.warning("only %d clips of %g-%g s available (asked %d)", len(picked), lo, hi, count)
    return picked


def write_test_pair(
    out_dir: Path,
    item_id: str,
    clean: np.ndarray,
    noise: np.ndarray,
    snr_db: float,
    *,
    row: dict,
    rate: int,
    level_dbfs: float,
    noise_kind: str,
    noise_source: str,
    noise_path: str,
) -> dict:
    """Mix ``clean`` ``(n,)`` with ``noise`` at ``snr_db`` (clean speech at ``level_dbfs``),
    write ``clean/<item_id>.wav`` and ``noisy/<item_id>.wav`` at ``rate`` Hz under
    ``out_dir``; return the pair's :data:`TEST_COLUMNS` record (speaker, source and text
    from the corpus ``row``)."""
    noisy, clean = mix_at_snr(clean, noise, snr_db, level_dbfs=level_dbfs)
    write_wav(out_dir / "clean" / f"{item_id}.wav", clean, rate)
    write_wav(out_dir / "noisy" / f"{item_id}.wav", noisy, rate)
    return {
        "id": item_id,
        "clean_path": f"clean/{item_id}.wav",
        "noisy_path": f"noisy/{item_id}.wav",
        "snr_db": snr_db,
        "speaker": row["speaker"],
        "source": row["source"],
        "noise_kind": noise_kind,
        "noise_source": noise_source,
        "noise_path": noise_path,
        "duration_s": round(len(clean) / rate, 3),
        "text_en": row["text_en"],
    }


def build_test_set(
    manifest: str | Path,
    out_dir: str | Path,
    *,
    split: str = "test",
    snrs: Sequence[float] = (0.0, 5.0, 10.0, 15.0),
    per_snr: int = 50,
    seed: int = 0,
    min_seconds: float = 2.0,
    max_seconds: float = 6.0,
    level_dbfs: float = -26.0,
    config: MixConfig | None = None,
    speech_sources: Sequence[str] = (),
) -> Path:
    """Write a fixed set of noisy/clean pairs from one split; returns its CSV path.

    Each SNR gets ``per_snr`` distinct whole utterances of ``min_seconds``-``max_seconds``
    (round-robin over the split's speakers), each mixed with noise of the same split
    (recorded effects/ambience, synthetic or babble; music excluded so the SNR is exact)
    at clean level ``level_dbfs``. Files: ``<out_dir>/{clean,noisy}/<id>.wav`` (16 kHz PCM-16)
    and ``<out_dir>/pairs.csv`` with :data:`TEST_COLUMNS` (paths relative to ``out_dir``).
    ``speech_sources`` (non-empty): only speech of these manifest sources.
    """
    manifest, out_dir = Path(manifest), Path(out_dir)
    rows = read_manifest(manifest)
    rows = [r for r in rows if not (r["kind"] == "noise" and r["category"] == "music")]
    if speech_sources:
        rows = [r for r in rows if r["kind"] != "speech" or r["source"] in speech_sources]
    config = config or MixConfig()
    source = MixtureSource(rows, manifest.parent, split, config)
    rng = np.random.default_rng([seed, 7])
    utterances = _pick_utterances(source, per_snr * len(snrs), min_seconds, max_seconds, rng)
    records = []
    for k, row in enumerate(utterances):
        snr = float(snrs[k % len(snrs)])
        n = source.frames(row)
        clean = read_segment(source.root / row["path"], 0, n)
        noise, kind, nsrc, npath, _ = source.draw_noise(n, row["speaker"], rng)
        item_id = f"{split}_{k:04d}_snr{int(snr):02d}"
        records.append(
            write_test_pair(
                out_dir,
                item_id,
                clean,
                noise,
                snr,
                row=row,
                rate=SAMPLE_RATE,
                level_dbfs=level_dbfs,
                noise_kind=kind,
                noise_source=nsrc,
                noise_path=npath,
            )
        )
    path = write_csv(out_dir / "pairs.csv", records, TEST_COLUMNS)
    log.info("wrote %d pairs to %s", len(records), path)
    return path
