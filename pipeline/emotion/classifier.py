"""The evaluation emotion classifier: utterance-level acoustic features → a small MLP.

It exists to *judge* converted speech, so it is trained only on real labelled speech of
speakers other than the evaluation speakers (see :mod:`pipeline.evaluate.classifier_train`).

Features (:func:`utterance_features`, 16 kHz, computed on active frames only, i.e. frames
within 35 dB of the loudest):

* 40 log-mel bands (25 ms / 10 ms): per-band standard deviation, and the per-band mean
  minus the utterance's mean over all bands (spectral *shape*, independent of level);
* mean absolute frame-to-frame change of the log-mel (spectral flux) per band;
* prosody from :func:`pipeline.emotion.prosody.prosody_stats` (Harvest F0 by default: DIO's
  voicing errors on WORLD-resynthesised speech inflate the F0 range, which would bias the
  judge towards "aroused" on every converted clip): F0 mean, range and standard deviation in
  semitones, frame-energy standard deviation, syllable rate, voiced fraction.

The model carries its own feature standardisation (buffers ``feature_mean``/``feature_std``)
so a checkpoint maps raw features to class logits with nothing else needed.
"""

from __future__ import annotations

import numpy as np
import torch
import torchaudio
from torch import nn

from pipeline.audio import resample
from pipeline.emotion.features import SAMPLE_RATE
from pipeline.emotion.prosody import ProsodyStats, active_frames, prosody_stats

N_MELS = 40
N_FFT = 400
HOP = 160
PROSODY_KEYS = (
    "f0_mean_st",
    "f0_range_st",
    "f0_std_st",
    "energy_std_db",
    "syllable_rate",
    "voiced_fraction",
)
FEATURE_DIM = 3 * N_MELS + len(PROSODY_KEYS)


def feature_names() -> list[str]:
    """Names of the :data:`FEATURE_DIM` entries of :func:`utterance_features`, in order."""
    names = [f"mel_std_{i}" for i in range(N_MELS)]
    names += [f"mel_shape_{i}" for i in range(N_MELS)]
    names += [f"mel_flux_{i}" for i in range(N_MELS)]
    return names + list(PROSODY_KEYS)


class MelFrontEnd:
    """Log-mel analysis at 16 kHz (kept in an object so the transform is built once)."""

    def __init__(self) -> None:
        self._mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, power=2.0
        )

    def log_mel(self, wave16: np.ndarray) -> np.ndarray:
        """``(samples,)`` at 16 kHz → ``(frames, N_MELS)`` natural-log mel power."""
        with torch.no_grad():
            spec = self._mel(torch.from_numpy(np.ascontiguousarray(wave16, dtype=np.float32)))
        return torch.log(spec + 1e-8).T.numpy().astype(np.float64)


def utterance_features(
    wave: np.ndarray,
    sr: int,
    front_end: MelFrontEnd | None = None,
    *,
    prosody: ProsodyStats | None = None,
    f0_method: str = "harvest",
) -> np.ndarray:
    """Fixed-size description of one utterance.

    Args:
        wave: ``(samples,)`` float in [-1, 1] at ``sr`` Hz (at least ~0.3 s).
        front_end: reuse a :class:`MelFrontEnd` across calls.
        prosody: :func:`prosody_stats` of the same wave if already measured (saves the F0
            analysis); otherwise measured here with ``f0_method``.
    Returns:
        ``(FEATURE_DIM,)`` float32; undefined prosody values (no voiced frames) become 0.
    """
    wave16 = resample(np.asarray(wave, dtype=np.float32), int(sr), SAMPLE_RATE)
    logmel = (front_end or MelFrontEnd()).log_mel(wave16)
    frame_db = 10.0 * np.log10(np.maximum(np.exp(logmel).sum(axis=1), 1e-12))
    active = active_frames(frame_db)
    if active.sum() < 3:
        active = np.ones(len(logmel), dtype=bool)
    mel = logmel[active]
    shape = mel.mean(axis=0) - mel.mean()
    flux = np.abs(np.diff(mel, axis=0)).mean(axis=0) if len(mel) > 1 else np.zeros(N_MELS)
    stats = prosody or prosody_stats(wave16, SAMPLE_RATE, f0_method=f0_method)
    values = np.array([getattr(stats, key) for key in PROSODY_KEYS], dtype=np.float64)
    out = np.concatenate([mel.std(axis=0), shape, flux, np.nan_to_num(values, nan=0.0)])
    return out.astype(np.float32)


class EmotionJudge(nn.Module):
    """MLP over standardised utterance features.

    Args:
        input_dim: feature dimension (:data:`FEATURE_DIM` for :func:`utterance_features`).
        hidden: width of the hidden layers.
        n_classes: number of emotion classes (order given by the checkpoint's ``labels``).
        dropout: dropout probability between layers (training only).
    """

    def __init__(
        self,
        *,
        input_dim: int = FEATURE_DIM,
        hidden: int = 64,
        n_classes: int = 5,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        self.register_buffer("feature_mean", torch.zeros(input_dim))
        self.register_buffer("feature_std", torch.ones(input_dim))
        self.net = nn.Sequential(
            nn.Linear(input_dim, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, n_classes),
        )

    def set_normalization(self, features: np.ndarray) -> None:
        """Store mean/std of training features ``(N, input_dim)`` for standardisation."""
        x = torch.as_tensor(np.asarray(features), dtype=torch.float32)
        self.feature_mean.copy_(x.mean(dim=0))
        self.feature_std.copy_(x.std(dim=0).clamp_min(1e-4))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(batch, input_dim)`` raw features → ``(batch, n_classes)`` logits."""
        return self.net((features - self.feature_mean) / self.feature_std)

    @torch.no_grad()
    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """``(N, input_dim)`` raw features → ``(N, n_classes)`` class probabilities."""
        was_training = self.training
        self.eval()
        logits = self(torch.as_tensor(np.asarray(features), dtype=torch.float32))
        self.train(was_training)
        return torch.softmax(logits, dim=-1).numpy()
