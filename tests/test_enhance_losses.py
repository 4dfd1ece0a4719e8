"""Reconstruction losses of the enhancement GAN: zero at the target, sensitive to their claim."""

from __future__ import annotations

import torch

from pipeline.enhance import losses as L
from pipeline.signals import synthetic_voice


def _voice() -> torch.Tensor:
    return torch.from_numpy(synthetic_voice(1.0, 16_000, seed=11))[None]


def _phase_rotated(wave: torch.Tensor, radians: float) -> torch.Tensor:
    """The same STFT magnitudes with every bin's phase turned by ``radians``."""
    window = torch.hann_window(512)
    spec = torch.stft(wave, 512, 128, window=window, return_complex=True)
    turned = spec * torch.polar(torch.ones(()), torch.tensor(radians))
    return torch.istft(turned, 512, 128, window=window, length=wave.shape[-1])


def test_complex_loss_is_zero_at_the_target_and_sees_phase():
    clean = _voice()
    assert float(L.compressed_complex_loss(clean, clean)) < 1e-10
    rotated = _phase_rotated(clean, 1.0)
    magnitude = float(L.compressed_magnitude_loss(rotated, clean))
    complex_ = float(L.compressed_complex_loss(rotated, clean))
    assert complex_ > 100 * magnitude  # a pure phase error: invisible to the magnitude loss
    louder = float(L.compressed_complex_loss(2.0 * clean, clean))
    assert louder > float(L.compressed_complex_loss(1.1 * clean, clean)) > 0


def test_complex_loss_has_finite_gradients_on_silence():
    estimate = torch.zeros(1, 4_000, requires_grad=True)
    loss = L.compressed_complex_loss(estimate, _voice()[:, :4_000])
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(estimate.grad).all()
