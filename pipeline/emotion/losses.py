"""Losses of the emotion GAN (used by :mod:`pipeline.emotion.train`).

Features are tuples ``(spec, pros)``: ``(B, n_spec, T)`` normalised spectral envelope and
``(B, 2, T)`` normalised prosody (log-F0, energy); ``voiced`` is ``(B, 1, T)`` in {0, 1}.
The least-squares adversarial and classification terms are written inline in the task.
"""

from __future__ import annotations

import torch


def mean_abs_error(a: tuple[torch.Tensor, ...], b: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Mean absolute error of spectrum plus mean absolute error of prosody."""
    return sum((x - y).abs().mean() for x, y in zip(a, b, strict=True))


def mean_squared_error(a: tuple[torch.Tensor, ...], b: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Mean squared error of spectrum plus mean squared error of prosody."""
    return sum(((x - y) ** 2).mean() for x, y in zip(a, b, strict=True))


def prosody_moment_loss(
    fake: torch.Tensor,
    real: torch.Tensor,
    voiced: torch.Tensor,
    src: torch.Tensor,
    tgt: torch.Tensor,
    moments: torch.Tensor,
) -> torch.Tensor:
    """Squared error between the converted segment's prosody moments and the target's.

    For log-F0 and energy over voiced frames, the converted mean should move by the
    difference of the target and source emotions' mean (:func:`pipeline.emotion.normalize.emotion_prosody_moments`)
    and the standard deviation should scale by the ratio of their standard deviations.

    Args:
        fake, real: ``(B, 2, T)`` normalised prosody; voiced: ``(B, 1, T)``;
        src, tgt: ``(B,)``; moments: ``(n_emotions, 2, 2)``.
    """
    mask = voiced[:, 0]
    n = mask.sum(1).clamp(min=1.0)

    def stats(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu = (p * mask[:, None]).sum(2) / n[:, None]
        var = (((p - mu[..., None]) ** 2) * mask[:, None]).sum(2) / n[:, None]
        return mu, (var + 1e-4).sqrt()

    mu_x, sd_x = stats(real)
    mu_f, sd_f = stats(fake)
    want_mu = mu_x + moments[tgt, :, 0] - moments[src, :, 0]
    want_sd = sd_x * moments[tgt, :, 1] / moments[src, :, 1]
    return (((mu_f - want_mu) ** 2 + (sd_f - want_sd) ** 2) * (mask.sum(1) >= 3)[:, None]).mean()
