"""Random fixed-length segments of a :class:`~pipeline.emotion.data.FeatureCorpus`, the training
data of both emotion tasks.

:class:`ClipSegments` holds what they share: normalised clip features and the random window
(clips shorter than the window are reflect-padded). Items are pure functions of
``(seed, item)``, so a run resumed at ``step`` reads exactly the batches it would have read.
:class:`SegmentDataset` draws them emotion-balanced (the labelled GAN); the label-free envelope
GAN's :class:`pipeline.emotion.envelope.data.UnlabelledSegments` adds a same-speaker reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from pipeline.constants import EMOTIONS
from pipeline.emotion.data import FeatureCorpus
from pipeline.emotion.normalize import Normalizer


@dataclass
class SegmentDataConfig:
    """The segment and cache keys both emotion tasks' ``data`` sections share.

    ``cache_dir`` is relative to the data directory; ``val_segments`` fixed segments of the
    ``val_split`` split are scored at every validation.
    """

    cache_dir: str = "emotion/cache"
    segment_frames: int = 128  # 0.64 s at 5 ms
    val_split: str = "valid"
    val_segments: int = 240


def segment_window(n_frames: int, length: int, rng: np.random.Generator) -> tuple[slice, int]:
    """A random ``length``-frame window of an ``n_frames`` clip and the padding (frames)
    needed when the clip is shorter (then the window is the whole clip)."""
    if n_frames < length:
        return slice(0, n_frames), length - n_frames
    start = int(rng.integers(n_frames - length + 1))
    return slice(start, start + length), 0


def pad_frames(a: np.ndarray, pad: int) -> np.ndarray:
    """``a`` ``(C, T)`` with ``pad`` frames appended: reflected, or wrapped when ``T <= pad``."""
    if not pad:
        return a
    mode = "reflect" if a.shape[-1] > pad else "wrap"
    return np.pad(a, ((0, 0), (0, pad)), mode=mode)


class ClipSegments(Dataset):
    """Base of the segment datasets over the clips ``indices`` of ``corpus``.

    Args:
        corpus, indices: the clips to draw from (an empty ``indices`` is an error).
        normalizer: feature normalisation (per-speaker means from ``corpus``).
        segment_frames: ``N``, frames per segment (5 ms each).
        length: the dataset's nominal length (items are drawn, not enumerated).
        seed: with the item index, the only source of randomness.
    Subclasses set up their draw in :meth:`prepare` and implement ``__getitem__``.
    """

    #: what the dataset is, for the error on an empty split
    kind = "segment dataset"

    def __init__(
        self,
        corpus: FeatureCorpus,
        indices: Sequence[int],
        normalizer: Normalizer,
        *,
        segment_frames: int = 128,
        length: int = 10**9,
        seed: int = 0,
    ) -> None:
        if not indices:
            raise ValueError(f"no clips for the {self.kind}")
        self.corpus, self.norm = corpus, normalizer
        self.n, self.length, self.seed = segment_frames, length, seed
        self.prepare(np.asarray(indices, dtype=np.int64))

    def prepare(self, indices: np.ndarray) -> None:
        """Index ``indices`` (int64) for drawing."""
        raise NotImplementedError

    def __len__(self) -> int:
        return self.length

    def normalised(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Clip ``index`` normalised: ``spec`` ``(D, T)``, ``pros`` ``(2, T)``, ``voiced``
        ``(1, T)`` float32."""
        feats, clip = self.corpus.feats[index], self.corpus.clips[index]
        return self.norm.normalize(feats, *self.corpus.speaker_means[clip.speaker])

    def segment(self, arrays: Sequence[np.ndarray], rng: np.random.Generator) -> list[torch.Tensor]:
        """One random ``N``-frame window (the same frames) of the ``(C, T)`` ``arrays``."""
        window, pad = segment_window(arrays[0].shape[1], self.n, rng)
        return [
            torch.from_numpy(np.ascontiguousarray(pad_frames(a[:, window], pad))) for a in arrays
        ]


class SegmentDataset(ClipSegments):
    """Random fixed-length segments, drawn emotion-balanced.

    Item ``i``: an emotion drawn uniformly among those present, a clip of that emotion with
    probability ∝ its length, and a random ``segment_frames`` window of it.

    Items: ``spec`` ``(D, N)``, ``pros`` ``(2, N)``, ``voiced`` ``(1, N)`` float32 and
    ``label`` int64 (index into :data:`EMOTIONS`).
    """

    kind = "emotion segment dataset"

    def prepare(self, indices: np.ndarray) -> None:
        corpus = self.corpus
        self.by_emotion: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for e, name in enumerate(EMOTIONS):
            idx = np.array([i for i in indices if corpus.clips[i].emotion == name], dtype=np.int64)
            if len(idx):
                w = np.array([corpus.feats[i].n_frames for i in idx], dtype=np.float64)
                self.by_emotion[e] = (idx, w / w.sum())
        self.emotions = sorted(self.by_emotion)

    def __getitem__(self, item: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, item))
        label = self.emotions[int(rng.integers(len(self.emotions)))]
        idx, prob = self.by_emotion[label]
        spec, pros, voiced = self.segment(self.normalised(int(rng.choice(idx, p=prob))), rng)
        return {
            "spec": spec,
            "pros": pros,
            "voiced": voiced,
            "label": torch.tensor(label, dtype=torch.int64),
        }
