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
from pathlib import Path

import numpy as np
import torch

from pipeline.corpora.prepare import read_manifest
from pipeline.emotion.data import EmotionClip
from pipeline.emotion.segments import ClipSegments

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


class UnlabelledSegments(ClipSegments):
    """Random segments with a same-speaker reference stretch (no labels).

    Item ``i``: a clip with probability ∝ its length, a random window of it, and a random
    window of another clip of the same speaker (the clip itself if it is the speaker's only
    one). Items: ``spec`` ``(D, N)``, ``pros`` ``(2, N)``, ``voiced`` ``(1, N)``, ``ref_spec``
    ``(D, N)`` float32.
    """

    kind = "unlabelled segment dataset"

    def prepare(self, indices: np.ndarray) -> None:
        self.indices = indices
        weights = np.array([self.corpus.feats[i].n_frames for i in indices], dtype=np.float64)
        self.prob = weights / weights.sum()
        by_speaker: dict[str, list[int]] = {}
        for i in indices:
            by_speaker.setdefault(self.corpus.clips[i].speaker, []).append(int(i))
        self.by_speaker = {k: np.asarray(v) for k, v in by_speaker.items()}

    def __getitem__(self, item: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, item))
        ci = int(rng.choice(self.indices, p=self.prob))
        spec, pros, voiced = self.segment(self.normalised(ci), rng)
        same = self.by_speaker[self.corpus.clips[ci].speaker]
        others = same[same != ci]
        ri = int(rng.choice(others)) if len(others) else ci
        (ref,) = self.segment(self.normalised(ri)[:1], rng)
        return {"spec": spec, "pros": pros, "voiced": voiced, "ref_spec": ref}
