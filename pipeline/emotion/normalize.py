"""Feature normalisation and per-emotion prosody statistics for the emotion GAN.

``spec`` is standardised per dimension with global statistics; log-F0 and energy are
centred on a per-speaker mean (voiced / active frames over all that speaker's clips) in
training, on the utterance's own mean at inference, and divided by a global scale. The
numbers travel inside the generator's buffers (:meth:`Normalizer.store_in`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from pipeline.constants import EMOTIONS
from pipeline.emotion.prosody import active_frames

if TYPE_CHECKING:
    from pipeline.emotion.data import FeatureCorpus, FrameFeatures


@dataclass(frozen=True)
class Normalizer:
    """Feature normalisation; the same numbers live in the generator's buffers.

    Attributes:
        spec_mean, spec_std: ``(D,)`` global statistics of the coded shape.
        prosody_scale: ``(2,)`` global std of speaker-centred log-F0 (voiced frames) and
            energy (active frames), dividing the centred values.
    """

    spec_mean: np.ndarray
    spec_std: np.ndarray
    prosody_scale: np.ndarray

    @classmethod
    def fit(cls, corpus: FeatureCorpus, indices: Sequence[int]) -> Normalizer:
        spec = np.concatenate([corpus.feats[i].spec for i in indices])
        lf0_c, en_c = [], []
        for i in indices:
            f, (m_lf0, m_en) = corpus.feats[i], corpus.speaker_means[corpus.clips[i].speaker]
            lf0_c.append(f.lf0[f.voiced > 0] - m_lf0)
            en_c.append(f.energy[active_frames(f.energy)] - m_en)
        scale = np.array([np.std(np.concatenate(lf0_c)), np.std(np.concatenate(en_c))])
        return cls(
            spec.mean(0).astype(np.float32),
            np.maximum(spec.std(0), 1e-3).astype(np.float32),
            np.maximum(scale, 1e-3).astype(np.float32),
        )

    @classmethod
    def from_generator(cls, generator: torch.nn.Module) -> Normalizer:
        return cls(
            generator.spec_mean.numpy().copy(),
            generator.spec_std.numpy().copy(),
            generator.prosody_scale.numpy().copy(),
        )

    def store_in(self, generator: torch.nn.Module) -> None:
        """Copy the statistics into the generator's buffers (saved with its weights)."""
        generator.spec_mean.copy_(torch.from_numpy(self.spec_mean))
        generator.spec_std.copy_(torch.from_numpy(self.spec_std))
        generator.prosody_scale.copy_(torch.from_numpy(self.prosody_scale))

    def normalize(
        self, feats: FrameFeatures, lf0_mean: float, energy_mean: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """→ ``spec`` ``(D, T)``, ``pros`` ``(2, T)``, ``voiced`` ``(1, T)`` float32."""
        spec = ((feats.spec - self.spec_mean) / self.spec_std).T
        pros = np.stack([feats.lf0 - lf0_mean, feats.energy - energy_mean])
        pros = pros / self.prosody_scale[:, None]
        return (
            spec.astype(np.float32),
            pros.astype(np.float32),
            feats.voiced[None].astype(np.float32),
        )

    def denormalize(
        self, spec: np.ndarray, pros: np.ndarray, lf0_mean: float, energy_mean: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inverse of :meth:`normalize` → ``spec`` ``(T, D)``, ``lf0`` ``(T,)``, ``energy`` ``(T,)``."""
        spec = spec.T * self.spec_std + self.spec_mean
        pros = pros * self.prosody_scale[:, None]
        return spec, pros[0] + lf0_mean, pros[1] + energy_mean


def emotion_prosody_moments(
    corpus: FeatureCorpus, indices: Sequence[int], normalizer: Normalizer
) -> np.ndarray:
    """Per-emotion prosody statistics of real clips, in normalised units.

    For every clip: mean and standard deviation over its voiced frames of the normalised
    log-F0 and energy (speaker-centred, divided by the global scale); then averaged over
    the clips of each emotion.

    Returns:
        ``(len(EMOTIONS), 2, 2)`` float32 ``[emotion, (lf0, energy), (mean, std)]``; an
        emotion without clips gets mean 0, std 1.
    """
    sums = np.zeros((len(EMOTIONS), 2, 2))
    counts = np.zeros(len(EMOTIONS))
    for i in indices:
        clip, feats = corpus.clips[i], corpus.feats[i]
        voiced = feats.voiced > 0
        if voiced.sum() < 3:
            continue
        _, pros, _ = normalizer.normalize(feats, *corpus.speaker_means[clip.speaker])
        e = EMOTIONS.index(clip.emotion)
        sums[e, :, 0] += pros[:, voiced].mean(axis=1)
        sums[e, :, 1] += pros[:, voiced].std(axis=1)
        counts[e] += 1
    out = np.zeros((len(EMOTIONS), 2, 2))
    out[..., 1] = 1.0
    have = counts > 0
    out[have] = sums[have] / counts[have, None, None]
    return out.astype(np.float32)


def utterance_means(feats: FrameFeatures) -> tuple[float, float]:
    """Mean log-F0 over voiced frames and mean energy over active frames of one utterance."""
    voiced = feats.voiced > 0
    lf0_mean = float(feats.lf0[voiced].mean()) if voiced.any() else float(feats.lf0.mean())
    return lf0_mean, float(feats.energy[active_frames(feats.energy)].mean())
