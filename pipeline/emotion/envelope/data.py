"""Unlabelled speech for the envelope GAN: every speech clip of the prepared corpus.

No emotion label is read anywhere: clips come from the corpus manifest (``kind == speech``)
with their speaker and split only, are WORLD-analysed once into the shared feature cache
(:func:`pipeline.emotion.data.build_cache`, emotion column ``"unlabelled"``), and
:class:`UnlabelledSegments` draws a random segment plus a *reference* stretch of the same
speaker's speech (another clip when the speaker has one) for the speaker code.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from pipeline.corpora.prepare import read_manifest
from pipeline.emotion.data import EmotionClip, FeatureCorpus, pad_frames, segment_window
from pipeline.emotion.normalize import Normalizer

log = logging.getLogger(__name__)

UNLABELLED = "unlabelled"


def unlabelled_clips(
    manifest: str | Path, root: str | Path, *, max_per_split: int = 0, seed: int = 0
) -> list[EmotionClip]:
    """Speech clips of the manifest (train and valid splits) as :class:`EmotionClip` with emotion
    ``"unlabelled"``.

    Args:
        manifest: ``manifest.csv``; its ``path`` column is relative to ``root``.
        max_per_split: keep at most this many clips per split (a seeded random subset
            stratified by nothing; 0: all).
    """
    rows = [r for r in read_manifest(manifest) if r["kind"] == "speech" and r["split"] != "test"]
    clips = [
        EmotionClip(
            str(Path(root) / r["path"]), f"{r['source']}/{r['speaker']}", UNLABELLED, r["split"]
        )
        for r in rows
    ]
    return _subset(clips, max_per_split, seed)


def _subset(clips: list[EmotionClip], max_per_split: int, seed: int) -> list[EmotionClip]:
    """At most ``max_per_split`` clips of each split (seeded random subset; 0: all)."""
    if not max_per_split:
        return clips
    rng = np.random.default_rng(seed)
    out = []
    for split in sorted({c.split for c in clips}):
        these = [c for c in clips if c.split == split]
        if len(these) > max_per_split:
            keep = sorted(rng.choice(len(these), max_per_split, replace=False).tolist())
            these = [these[i] for i in keep]
        out += these
    return out


def table_clips(
    table: str | Path, root: str | Path, *, max_per_split: int = 0, seed: int = 0
) -> list[EmotionClip]:
    """Clips from any CSV with ``path, speaker, split`` columns (paths relative to ``root``),
    e.g. the committed label table: **every other column, emotion included, is ignored**.
    Rows whose audio file does not exist (yet) and ``test``-split rows (held out from
    training and validation alike) are skipped."""
    with Path(table).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    clips = [
        EmotionClip(
            str(Path(root) / r["path"]), r["speaker"], UNLABELLED, r.get("split") or "train"
        )
        for r in rows
        if (r.get("split") or "train") != "test"
    ]
    kept = [c for c in clips if Path(c.path).is_file()]
    if len(kept) < len(clips):
        log.info("clip table %s: %d of %d files present", table, len(kept), len(clips))
    return _subset(kept, max_per_split, seed)


class UnlabelledSegments(Dataset):
    """Random segments with a same-speaker reference stretch.

    Item ``i`` is a pure function of ``(seed, i)`` (exact resume). Items: ``spec`` ``(D, N)``,
    ``pros`` ``(2, N)``, ``voiced`` ``(1, N)``, ``ref_spec`` ``(D, N)`` float32.
    """

    def __init__(
        self,
        corpus: FeatureCorpus,
        indices: Sequence[int],
        normalizer: Normalizer,
        *,
        segment_frames: int = 128,
        seed: int = 0,
    ) -> None:
        if not indices:
            raise ValueError("no clips for the unlabelled segment dataset")
        self.corpus, self.norm, self.n, self.seed = corpus, normalizer, segment_frames, seed
        self.indices = np.asarray(indices, dtype=np.int64)
        weights = np.array([corpus.feats[i].n_frames for i in self.indices], dtype=np.float64)
        self.prob = weights / weights.sum()
        self.by_speaker: dict[str, np.ndarray] = {}
        for i in self.indices:
            self.by_speaker.setdefault(corpus.clips[i].speaker, []).append(int(i))
        self.by_speaker = {k: np.asarray(v) for k, v in self.by_speaker.items()}

    def __len__(self) -> int:
        return 10**9

    def _normalised(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        feats, clip = self.corpus.feats[index], self.corpus.clips[index]
        return self.norm.normalize(feats, *self.corpus.speaker_means[clip.speaker])

    def __getitem__(self, item: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, item))
        ci = int(rng.choice(self.indices, p=self.prob))
        spec, pros, voiced = self._normalised(ci)
        window, pad = segment_window(spec.shape[1], self.n, rng)
        same = self.by_speaker[self.corpus.clips[ci].speaker]
        others = same[same != ci]
        ri = int(rng.choice(others)) if len(others) else ci
        ref, _, _ = self._normalised(ri)
        ref_window, ref_pad = segment_window(ref.shape[1], self.n, rng)

        def tensor(a: np.ndarray, w: slice, p: int) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(pad_frames(a[:, w], p)))

        return {
            "spec": tensor(spec, window, pad),
            "pros": tensor(pros, window, pad),
            "voiced": tensor(voiced, window, pad),
            "ref_spec": tensor(ref, ref_window, ref_pad),
        }
