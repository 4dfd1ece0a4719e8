"""Losses and the prosody perturbation of the label-free envelope GAN.

Least-squares GAN terms, an L1 self-reconstruction term, and :func:`perturb_prosody`, which
draws the unseen prosody the generator must render (the adversarial loss is the only
teacher there: no real envelope exists for it).
"""

from __future__ import annotations

import torch


def lsgan_d(real: torch.Tensor, fakes: list[torch.Tensor]) -> torch.Tensor:
    """Discriminator: real → 1, each fake → 0 (fakes averaged)."""
    fake = sum((f**2).mean() for f in fakes) / max(len(fakes), 1)
    return ((real - 1.0) ** 2).mean() + fake


def lsgan_g(fakes: list[torch.Tensor]) -> torch.Tensor:
    """Generator: every fake → 1 (averaged)."""
    return sum(((f - 1.0) ** 2).mean() for f in fakes) / max(len(fakes), 1)


def reconstruction_l1(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    return (fake - real).abs().mean()


def perturb_prosody(
    pros: torch.Tensor,
    voiced: torch.Tensor,
    generator: torch.Generator,
    *,
    scale: torch.Tensor,
    f0_st: tuple[float, float] = (-5.0, 7.0),
    spread: tuple[float, float] = (0.6, 1.7),
    energy_db: tuple[float, float] = (-8.0, 8.0),
) -> torch.Tensor:
    """A global, profile-like prosody move per item, in normalised units.

    Args:
        pros: ``(B, 2, T)`` normalised log-F0 and energy; voiced: ``(B, 1, T)``.
        scale: ``(2,)`` the normaliser's prosody scale (ln Hz, dB per unit).
        f0_st, spread, energy_db: uniform ranges of the F0 shift (semitones), the factor on
            F0 deviations from the voiced mean, and the level change (dB).
    Returns:
        ``(B, 2, T)`` moved prosody.
    """
    b = pros.shape[0]

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(b, 1, generator=generator)

    ln2_12 = 0.057762265  # ln(2) / 12: semitones → ln Hz
    mask = voiced[:, 0]
    n = mask.sum(-1, keepdim=True).clamp(min=1.0)
    mu = (pros[:, 0] * mask).sum(-1, keepdim=True) / n
    lf0 = mu + uniform(*spread) * (pros[:, 0] - mu) + uniform(*f0_st) * ln2_12 / scale[0]
    energy = pros[:, 1] + uniform(*energy_db) / scale[1]
    return torch.stack([lf0, energy], dim=1)
