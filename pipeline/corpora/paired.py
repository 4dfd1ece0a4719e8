"""Training on user-brought paired corpora (VoiceBank-DEMAND, ``clean/`` + ``noisy/`` folders).

:class:`PairedEnhancementDataset` yields the same items as
:class:`pipeline.corpora.mixing.NoisyMixtureDataset`: ``(noisy, clean)`` float32 tensors at
16 kHz, so a trainer can switch between synthetic mixtures and real pairs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import Dataset

from pipeline.audio import fit_length, resample, to_mono
from pipeline.constants import SAMPLE_RATE
from pipeline.corpora import CorpusError
from pipeline.corpora.layouts import PairedRecord


def read_16k(path) -> np.ndarray:
    """Read any soundfile-readable file as mono float32 at 16 kHz, ``(samples,)``."""
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise CorpusError(f"cannot read {path}: {err}") from None
    return resample(to_mono(data).astype(np.float32), int(sr), SAMPLE_RATE)


class PairedEnhancementDataset(Dataset):
    """Map-style dataset over clean/noisy pairs.

    Item ``i`` uses pair ``i % len(records)`` and, when ``segment_seconds`` is set, a crop at
    an offset drawn from ``numpy.random.default_rng([seed, epoch, i])`` (the same offset for
    noisy and clean; pairs shorter than the crop are zero-padded). Deterministic, and the same
    under any number of DataLoader workers or DDP ranks (with a ``DistributedSampler``).

    Args:
        records: pairs from :func:`~pipeline.corpora.layouts.load_voicebank_demand` or
            :func:`~pipeline.corpora.layouts.load_paired_folder`.
        segment_seconds: crop length (s); ``None`` returns whole utterances (batch size 1).
        seed: base seed of the crop offsets.
        items_per_epoch: ``len(dataset)``; default one pass over the pairs.

    Items:
        ``(noisy, clean)`` float32 tensors, ``(samples,)`` at 16 kHz.
    """

    def __init__(
        self,
        records: Sequence[PairedRecord],
        *,
        segment_seconds: float | None = 2.0,
        seed: int = 0,
        items_per_epoch: int | None = None,
    ):
        if not records:
            raise CorpusError("no clean/noisy pairs given")
        self.records = list(records)
        self.segment = None if segment_seconds is None else round(segment_seconds * SAMPLE_RATE)
        self.seed = int(seed)
        self.epoch = 0
        self.items_per_epoch = int(items_per_epoch or len(self.records))
        self.sample_rate = SAMPLE_RATE

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.items_per_epoch

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rec = self.records[int(index) % len(self.records)]
        clean, noisy = read_16k(rec.clean), read_16k(rec.noisy)
        n = min(len(clean), len(noisy))
        clean, noisy = clean[:n], noisy[:n]
        if self.segment is not None:
            if n > self.segment:
                rng = np.random.default_rng([self.seed, self.epoch, int(index)])
                start = int(rng.integers(0, n - self.segment + 1))
                clean = clean[start : start + self.segment]
                noisy = noisy[start : start + self.segment]
            else:
                clean = fit_length(clean, self.segment)
                noisy = fit_length(noisy, self.segment)
        return torch.from_numpy(np.ascontiguousarray(noisy)), torch.from_numpy(
            np.ascontiguousarray(clean)
        )
