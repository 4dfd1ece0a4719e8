"""WORLD feature cache and segment dataset for training the emotion GAN.

Pipeline: a list of :class:`EmotionClip` (audio file, speaker, emotion) → WORLD analysis once per
clip (:mod:`pipeline.emotion.features`, DIO at 16 kHz, the same analysis the system uses at
inference) → one ``.npz`` cache file → :class:`FeatureCorpus`, from which the datasets of
:mod:`pipeline.emotion.segments` draw random ``N``-frame segments.

Per-frame features stored in the cache (``T`` frames of 5 ms):

* ``spec``   ``(T, 36)`` coded envelope *shape* (envelope / its mean power, then coded);
* ``lf0``    ``(T,)`` continuous log-F0 (ln Hz), ``voiced`` ``(T,)`` 0/1;
* ``energy`` ``(T,)`` envelope energy in dB, floored at the clip's 99th percentile - 50 dB.

Normalisation lives in :mod:`pipeline.emotion.normalize`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.audio import read_audio, resample
from pipeline.constants import EMOTIONS
from pipeline.emotion import features as wf
from pipeline.emotion.human_labels import read_human_labels
from pipeline.emotion.prosody import active_frames, syllable_nuclei
from pipeline.tables import read_rows

log = logging.getLogger(__name__)

ENERGY_FLOOR_DB = 50.0  #: energy floor below the clip's 99th percentile frame, dB
CACHE_VERSION = 1


@dataclass(frozen=True)
class EmotionClip:
    """One labelled recording: ``path`` to audio, ``speaker`` id, ``emotion`` in EMOTIONS."""

    path: str
    speaker: str
    emotion: str
    split: str = "train"


@dataclass(frozen=True)
class FrameFeatures:
    """Unnormalised per-frame features of one utterance (see module docstring)."""

    spec: np.ndarray  # (T, D) float32
    lf0: np.ndarray  # (T,) float32, ln Hz
    voiced: np.ndarray  # (T,) float32 0/1
    energy: np.ndarray  # (T,) float32 dB

    @property
    def n_frames(self) -> int:
        return len(self.lf0)


def shape_envelope(sp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split a ``(T, bins)`` power envelope into unit-mean-power shape and energy (dB)."""
    mean_power = np.maximum(np.mean(sp, axis=1, keepdims=True), 1e-20)
    return sp / mean_power, 10.0 * np.log10(mean_power[:, 0])


def frame_features(world: wf.WorldFeatures, dim: int = wf.CODED_DIM) -> FrameFeatures:
    """WORLD parameters → :class:`FrameFeatures`."""
    shape, energy = shape_envelope(world.sp)
    energy = np.maximum(energy, np.percentile(energy, 99) - ENERGY_FLOOR_DB)
    lf0, voiced = world.log_f0()
    return FrameFeatures(
        spec=wf.code_envelope(shape, world.sample_rate, dim).astype(np.float32),
        lf0=lf0.astype(np.float32),
        voiced=voiced.astype(np.float32),
        energy=energy.astype(np.float32),
    )


def syllable_rate(feats: FrameFeatures, frame_period: float = wf.FRAME_PERIOD_MS) -> float:
    """Syllable nuclei per second of active speech (NaN when under 0.2 s is active)."""
    active = active_frames(feats.energy.astype(np.float64))
    active_s = float(active.sum()) * frame_period / 1000.0
    if active_s < 0.2:
        return float("nan")
    nuclei = syllable_nuclei(feats.energy.astype(np.float64), feats.voiced > 0, frame_period)
    return len(nuclei) / active_s


def analyze_clip(path: str | Path, dim: int = wf.CODED_DIM) -> FrameFeatures:
    """Read an audio file, resample to 16 kHz, WORLD-analyse (DIO) → features."""
    audio = read_audio(path, max_seconds=None)
    wave = resample(audio.wave, audio.sample_rate, wf.SAMPLE_RATE)
    return frame_features(wf.analyze(wave, wf.SAMPLE_RATE), dim)


def read_label_table(
    path: str | Path,
    *,
    root: str | Path | None = None,
    min_confidence: float = 0.0,
    human_labels: str | Path | None = None,
) -> list[EmotionClip]:
    """Read a label table CSV with columns ``path, speaker, emotion`` (and optional ``split``).

    Extra columns are ignored; rows whose emotion is not in :data:`EMOTIONS`, or whose
    optional ``confidence`` column is below ``min_confidence``, are skipped.
    With ``human_labels`` (a table from ``python -m pipeline.mos labels``) only the clips
    listeners labelled are kept, with the listeners' label, and ``min_confidence`` applies
    to its Dawid–Skene confidence instead.
    A relative ``path`` is resolved against ``root`` (default: the table's folder, then its
    parent, i.e. the data directory for ``data/emotion/labels.csv``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"label table not found: {path}")
    bases = [Path(root)] if root is not None else [path.parent, path.parent.parent]
    human = read_human_labels(human_labels) if human_labels else None
    clips = []
    for row in read_rows(path, ("path", "speaker", "emotion")):
        if human is not None:
            row["emotion"], row["confidence"] = human.get(row["path"], ("", 0.0))
        if row["emotion"] not in EMOTIONS:
            continue
        if min_confidence > 0 and float(row.get("confidence") or 0.0) < min_confidence:
            continue
        audio = Path(row["path"])
        if not audio.is_absolute():
            audio = next((b / audio for b in bases if (b / audio).exists()), bases[0] / audio)
        clips.append(
            EmotionClip(str(audio), row["speaker"], row["emotion"], row.get("split") or "train")
        )
    return clips


def cached_clip_features(
    path: str | Path, clip_dir: str | Path, dim: int = wf.CODED_DIM
) -> FrameFeatures:
    """:func:`analyze_clip` memoised in ``clip_dir`` (one ``.npz`` per audio file).

    The key is the absolute path, file size and modification time, ``dim`` and the cache
    version, so an edited file is analysed again.
    """
    path = Path(path).resolve()
    stat = path.stat()
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}|{dim}|{CACHE_VERSION}"
    entry = Path(clip_dir) / f"{hashlib.sha1(key.encode()).hexdigest()[:20]}.npz"
    if entry.is_file():
        with np.load(entry) as data:
            return FrameFeatures(*(data[k] for k in ("spec", "lf0", "voiced", "energy")))
    feats = analyze_clip(path, dim)
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = entry.with_name(entry.stem + ".tmp.npz")
    np.savez(tmp, spec=feats.spec, lf0=feats.lf0, voiced=feats.voiced, energy=feats.energy)
    tmp.replace(entry)
    return feats


def _cache_key(clips: Sequence[EmotionClip], dim: int) -> str:
    blob = json.dumps(
        [CACHE_VERSION, dim, [(c.path, c.speaker, c.emotion, c.split) for c in clips]]
    )
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def build_cache(
    clips: Sequence[EmotionClip],
    cache_dir: str | Path,
    *,
    dim: int = wf.CODED_DIM,
    progress: bool = False,
) -> Path:
    """Analyse every clip once and store all features in one ``.npz`` (reused if present).

    Per-clip analyses are memoised under ``<cache_dir>/clips`` (:func:`cached_clip_features`),
    so a changed label table only re-reads the cached analyses.

    Clips whose audio cannot be read or is shorter than 16 frames are skipped (logged).

    Returns:
        Path of ``<cache_dir>/emotion_world_<hash>.npz``.
    """
    path = Path(cache_dir) / f"emotion_world_{_cache_key(clips, dim)}.npz"
    if path.is_file():
        return path
    iterator: Iterable[EmotionClip] = clips
    if progress:
        from tqdm import tqdm

        iterator = tqdm(clips, desc="WORLD analysis", unit="clip")
    arrays: dict[str, list] = {k: [] for k in ("spec", "lf0", "voiced", "energy")}
    kept, lengths, rates = [], [], []
    for clip in iterator:
        try:
            feats = cached_clip_features(clip.path, Path(cache_dir) / "clips", dim)
        except (OSError, ValueError) as err:
            log.warning("skipping %s: %s", clip.path, err)
            continue
        if feats.n_frames < 16 or not feats.voiced.any():
            log.warning("skipping %s: too short or unvoiced", clip.path)
            continue
        for key in arrays:
            arrays[key].append(getattr(feats, key))
        kept.append(clip)
        lengths.append(feats.n_frames)
        rates.append(syllable_rate(feats))
    if not kept:
        raise ValueError("no usable clips for the emotion feature cache")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(
        tmp,
        **{k: np.concatenate(v) for k, v in arrays.items()},
        lengths=np.asarray(lengths, dtype=np.int64),
        syllable_rate=np.asarray(rates, dtype=np.float64),
        path=np.asarray([c.path for c in kept]),
        speaker=np.asarray([c.speaker for c in kept]),
        emotion=np.asarray([c.emotion for c in kept]),
        split=np.asarray([c.split for c in kept]),
    )
    tmp.replace(path)
    log.info("cached WORLD features of %d clips in %s", len(kept), path)
    return path


class FeatureCorpus:
    """All cached clips in memory, with per-speaker prosody means.

    Attributes:
        clips: list of :class:`EmotionClip`; ``feats[i]`` are clip ``i``'s :class:`FrameFeatures`.
        syllable_rates: ``(n_clips,)`` syllables / s (NaN where undefined).
    """

    def __init__(self, path: str | Path) -> None:
        with np.load(path, allow_pickle=False) as data:
            bounds = np.concatenate([[0], np.cumsum(data["lengths"])])
            # read each array once (NpzFile re-reads on every access), then slice views
            arrays = [data[k] for k in ("spec", "lf0", "voiced", "energy")]
            self.feats = [
                FrameFeatures(*(x[a:b] for x in arrays))
                for a, b in zip(bounds[:-1], bounds[1:], strict=True)
            ]
            self.clips = [
                EmotionClip(str(p), str(s), str(e), str(sp))
                for p, s, e, sp in zip(
                    data["path"], data["speaker"], data["emotion"], data["split"], strict=True
                )
            ]
            self.syllable_rates = data["syllable_rate"].astype(np.float64)
        self.speaker_means = self._speaker_means()

    def _speaker_means(self) -> dict[str, tuple[float, float]]:
        lf0s: dict[str, list[np.ndarray]] = {}
        energies: dict[str, list[np.ndarray]] = {}
        for clip, f in zip(self.clips, self.feats, strict=True):
            lf0s.setdefault(clip.speaker, []).append(f.lf0[f.voiced > 0])
            energies.setdefault(clip.speaker, []).append(f.energy[active_frames(f.energy)])
        return {
            s: (
                float(np.mean(np.concatenate(lf0s[s]))),
                float(np.mean(np.concatenate(energies[s]))),
            )
            for s in lf0s
        }

    def indices(self, split: str) -> list[int]:
        return [i for i, c in enumerate(self.clips) if c.split == split]

    def log_rate_ratios(self, min_clips: int = 10, limit: float = 0.22) -> np.ndarray:
        """``(len(EMOTIONS),)`` mean log syllable-rate ratio of each emotion to neutral.

        Each clip's rate is taken relative to its speaker's mean rate; an emotion with fewer
        than ``min_clips`` measurable training clips gets 0 (no rate change); values are
        clipped to ``±limit`` (±0.22 ≈ ×0.8..×1.25).
        """
        rel: dict[str, list[float]] = {e: [] for e in EMOTIONS}
        by_speaker: dict[str, list[float]] = {}
        train = self.indices("train")
        for i in train:
            if np.isfinite(self.syllable_rates[i]) and self.syllable_rates[i] > 0:
                by_speaker.setdefault(self.clips[i].speaker, []).append(
                    np.log(self.syllable_rates[i])
                )
        spk_mean = {s: float(np.mean(v)) for s, v in by_speaker.items()}
        for i in train:
            r = self.syllable_rates[i]
            if np.isfinite(r) and r > 0:
                rel[self.clips[i].emotion].append(np.log(r) - spk_mean[self.clips[i].speaker])
        means = np.array(
            [np.mean(rel[e]) if len(rel[e]) >= min_clips else np.nan for e in EMOTIONS]
        )
        base = means[EMOTIONS.index("neutral")]
        out = np.where(np.isfinite(means), means - (base if np.isfinite(base) else 0.0), 0.0)
        return np.clip(out, -limit, limit)
