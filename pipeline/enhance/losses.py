"""Training losses for the enhancement GAN. All waves are ``(batch, samples)`` float32."""

from __future__ import annotations

import torch
import torch.nn.functional as F

EPS = 1e-8


def _spectrum(wave: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    window = torch.hann_window(n_fft, device=wave.device)
    return torch.stft(wave, n_fft, hop, window=window, center=True, return_complex=True)


def _safe_abs(spec: torch.Tensor) -> torch.Tensor:
    """``|spec|`` with ``EPS`` under the root, so its gradient stays finite at zero."""
    return (spec.real.square() + spec.imag.square() + EPS).sqrt()


def _magnitude(wave: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    return _safe_abs(_spectrum(wave, n_fft, hop))


def compressed_spectrum_loss(
    estimate: torch.Tensor,
    target: torch.Tensor,
    *,
    phase: bool = False,
    n_fft: int = 512,
    hop: int = 128,
    power: float = 0.3,
) -> torch.Tensor:
    """MSE between power-law compressed STFTs: magnitudes ``|X| ** power`` (``phase=False``,
    a perceptually weighted spectral distance that does not over-weight loud bins) or complex
    spectra ``|X| ** power * X / |X|`` as real and imaginary parts (``phase=True``, its
    phase-aware companion; Braun & Tashev 2021 weight complex : magnitude about 0.3 : 0.7)."""

    def compress(wave: torch.Tensor) -> torch.Tensor:
        spec = _spectrum(wave, n_fft, hop)
        mag = _safe_abs(spec)
        if not phase:
            return mag**power
        return torch.view_as_real(spec) * (mag ** (power - 1))[..., None]

    return F.mse_loss(compress(estimate), compress(target))


def compressed_magnitude_loss(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """:func:`compressed_spectrum_loss` of the magnitudes (512-point STFT, power 0.3)."""
    return compressed_spectrum_loss(estimate, target, phase=False)


def compressed_complex_loss(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """:func:`compressed_spectrum_loss` of the complex spectra (512-point STFT, power 0.3)."""
    return compressed_spectrum_loss(estimate, target, phase=True)


def multi_resolution_stft_loss(
    estimate: torch.Tensor,
    target: torch.Tensor,
    *,
    resolutions: tuple[tuple[int, int], ...] = ((256, 64), (512, 128), (1024, 256)),
) -> torch.Tensor:
    """Spectral convergence + log-magnitude L1, averaged over ``(n_fft, hop)`` resolutions."""
    total = estimate.new_zeros(())
    for n_fft, hop in resolutions:
        est = _magnitude(estimate, n_fft, hop)
        ref = _magnitude(target, n_fft, hop)
        sc = torch.linalg.norm(ref - est) / (torch.linalg.norm(ref) + EPS)
        log_mag = F.l1_loss(torch.log(est), torch.log(ref))
        total = total + sc + log_mag
    return total / len(resolutions)


def neg_si_sdr(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Negative scale-invariant SDR in dB, averaged over the batch."""
    est = estimate - estimate.mean(dim=-1, keepdim=True)
    ref = target - target.mean(dim=-1, keepdim=True)
    alpha = (est * ref).sum(-1, keepdim=True) / (ref.square().sum(-1, keepdim=True) + EPS)
    proj = alpha * ref
    ratio = proj.square().sum(-1) / ((est - proj).square().sum(-1) + EPS)
    return -(10 * torch.log10(ratio + EPS)).mean()


def discriminator_loss(real: list[torch.Tensor], fake: list[torch.Tensor]) -> torch.Tensor:
    """Least-squares GAN loss of the discriminator over its resolutions."""
    return sum(
        ((r - 1).square().mean() + f.square().mean()) for r, f in zip(real, fake, strict=True)
    ) / len(real)


def generator_adversarial_loss(fake: list[torch.Tensor]) -> torch.Tensor:
    """Least-squares GAN loss of the generator (push D's score on enhanced speech to 1)."""
    return sum((f - 1).square().mean() for f in fake) / len(fake)


def feature_matching_loss(
    real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]
) -> torch.Tensor:
    """L1 between the discriminator's feature maps of clean and enhanced speech, each
    normalised by the clean map's mean magnitude."""
    terms = []
    for r_maps, f_maps in zip(real, fake, strict=True):
        for r, f in zip(r_maps, f_maps, strict=True):
            r = r.detach()
            terms.append(F.l1_loss(f, r) / (r.abs().mean() + EPS))
    return sum(terms) / len(terms)


PESQ_FLOOR, PESQ_CEIL = 1.04, 4.64


def normalised_pesq(clean: torch.Tensor, estimate: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """Per-item wide-band PESQ of ``estimate`` against ``clean`` (``(B, samples)``), mapped to
    ``(PESQ - 1.04) / 3.6`` in [0, 1]; ``nan`` where PESQ cannot score (no speech found).
    Computed on the CPU without gradient: the target a metric discriminator learns."""
    from pipeline.metrics import pesq_wb

    ref = clean.detach().cpu().numpy()
    est = estimate.detach().cpu().numpy()
    scores = [pesq_wb(r, e, sample_rate) for r, e in zip(ref, est, strict=True)]
    out = (torch.tensor(scores, dtype=torch.float32) - PESQ_FLOOR) / (PESQ_CEIL - PESQ_FLOOR)
    return out.to(estimate.device)


def metric_discriminator_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MSE between predicted and measured normalised quality, ignoring ``nan`` targets."""
    valid = torch.isfinite(target)
    if not bool(valid.any()):
        return predicted.sum() * 0.0
    return (predicted[valid] - target[valid]).square().mean()


def metric_generator_loss(predicted: torch.Tensor) -> torch.Tensor:
    """Push the predicted quality of enhanced speech towards the clean score 1."""
    return (predicted - 1.0).square().mean()
