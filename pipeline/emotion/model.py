"""StarGAN-VC2-style many-to-many emotion conversion: generator, discriminator, classifier.

Features (all on the 5 ms WORLD frame grid of :mod:`pipeline.emotion.features`, normalised
by :mod:`pipeline.emotion.data`):

* ``spec``  ``(B, n_spec, T)``: coded spectral *shape* (the WORLD envelope scaled to unit
  mean power per frame, then coded), standardised per dimension with global statistics
  kept in the generator's buffers;
* ``pros``  ``(B, 2, T)``: continuous log-F0 and frame energy (dB), each centred on the
  speaker's (training) or the utterance's (inference) mean and divided by a global scale;
* ``voiced`` ``(B, 1, T)``: 0/1 voicing mask (an input only, never converted).

The generator is conditioned on the *target* emotion only (StarGAN-VC style): at inference
the source emotion of a user's recording is unknown, so a source-and-target code (VC2)
would need a guessed source label. The condition is a vector in the emotion simplex, so a
one-hot target is the normal use; intensity is implemented by the system by interpolating
*features*, not codes (see :mod:`pipeline.emotion.system`).

Speaking rate is not converted frame by frame: ``log_rate`` holds one log rate ratio per
target emotion measured from the training data (syllable rate relative to each speaker's
mean), applied by the system as a global time-scale.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

N_PROSODY = 2  # log-F0, energy


class ConditionalInstanceNorm1d(nn.Module):
    """Instance norm over time whose scale and shift depend on a condition vector.

    ``x`` ``(B, C, T)``, ``cond`` ``(B, D)`` → ``(B, C, T)``.
    """

    def __init__(self, channels: int, cond_dim: int) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm1d(channels, affine=False)
        self.gamma = nn.Linear(cond_dim, channels)
        self.beta = nn.Linear(cond_dim, channels)
        nn.init.zeros_(self.gamma.weight)
        nn.init.zeros_(self.gamma.bias)
        nn.init.zeros_(self.beta.weight)
        nn.init.zeros_(self.beta.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        gamma = 1.0 + self.gamma(cond).unsqueeze(-1)
        return self.norm(x) * gamma + self.beta(cond).unsqueeze(-1)


class ResBlock1d(nn.Module):
    """Gated residual block: conv → CIN → GLU → conv → CIN, plus the input."""

    def __init__(self, channels: int, cond_dim: int, kernel: int, dilation: int = 1) -> None:
        super().__init__()
        pad = dilation * (kernel - 1) // 2
        self.conv1 = nn.Conv1d(channels, 2 * channels, kernel, padding=pad, dilation=dilation)
        self.norm1 = ConditionalInstanceNorm1d(2 * channels, cond_dim)
        self.conv2 = nn.Conv1d(channels, channels, kernel, padding=pad, dilation=dilation)
        self.norm2 = ConditionalInstanceNorm1d(channels, cond_dim)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = F.glu(self.norm1(self.conv1(x), cond), dim=1)
        return x + self.norm2(self.conv2(h), cond)


class Down2d(nn.Module):
    """Stride-2 2-D conv (frequency and time halve) + instance norm + GLU."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, 2 * c_out, (5, 5), stride=(2, 2), padding=(2, 2))
        self.norm = nn.InstanceNorm2d(2 * c_out, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.glu(self.norm(self.conv(x)), dim=1)


class Up2d(nn.Module):
    """Transposed stride-2 2-D conv (frequency and time double) + instance norm + GLU."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.ConvTranspose2d(c_in, 2 * c_out, (4, 4), stride=(2, 2), padding=(1, 1))
        self.norm = nn.InstanceNorm2d(2 * c_out, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.glu(self.norm(self.conv(x)), dim=1)


class EmotionGenerator(nn.Module):
    """One conditional generator for all target emotions (spectrum + prosody).

    Spectral path (StarGAN-VC2's 2-1-2-D layout): 2-D gated convs downsample the
    ``(n_spec, T)`` "image" by 4 in both axes, a 1x1 conv flattens it to ``channels``,
    ``n_blocks`` conditional-instance-norm residual blocks convert it, and the mirror path
    upsamples back. Prosody path: dilated 1-D residual blocks over
    ``[log-F0, energy, voiced]`` plus the upsampled spectral bottleneck, also conditioned by
    CIN. Both paths predict a *residual* added to their input and the output layers start
    at zero, so an untrained generator is the identity.

    Args:
        n_spec: coded envelope dimension (divisible by 4).
        n_emotions: number of emotion domains.
        channels: width of the 1-D bottleneck.
        n_blocks: residual blocks in the bottleneck.
        base_2d: channels of the first 2-D layer (doubles at each downsampling).
        prosody_channels: width of the prosody path.
        prosody_blocks: residual blocks in the prosody path (dilations 1, 2, 4, ...).
    """

    def __init__(
        self,
        *,
        n_spec: int = 36,
        n_emotions: int = 5,
        channels: int = 128,
        n_blocks: int = 6,
        base_2d: int = 16,
        prosody_channels: int = 48,
        prosody_blocks: int = 3,
    ) -> None:
        super().__init__()
        if n_spec % 4:
            raise ValueError(f"n_spec must be divisible by 4, got {n_spec}")
        self.n_spec = n_spec
        self.n_emotions = n_emotions
        c2 = base_2d
        self.inp = nn.Conv2d(1, 2 * c2, (5, 9), padding=(2, 4))
        self.down = nn.ModuleList([Down2d(c2, 2 * c2), Down2d(2 * c2, 4 * c2)])
        flat = 4 * c2 * (n_spec // 4)
        self.to1d = nn.Conv1d(flat, channels, 1)
        self.to1d_norm = nn.InstanceNorm1d(channels, affine=True)
        self.blocks = nn.ModuleList(
            [ResBlock1d(channels, n_emotions, kernel=3) for _ in range(n_blocks)]
        )
        self.to2d = nn.Conv1d(channels, flat, 1)
        self.to2d_norm = nn.InstanceNorm1d(flat, affine=True)
        self.up = nn.ModuleList([Up2d(4 * c2, 2 * c2), Up2d(2 * c2, c2)])
        self.out = nn.Conv2d(c2, 1, (5, 9), padding=(2, 4))
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

        pc = prosody_channels
        self.p_in = nn.Conv1d(N_PROSODY + 1 + channels, pc, 5, padding=2)
        self.p_blocks = nn.ModuleList(
            [ResBlock1d(pc, n_emotions, kernel=5, dilation=2**i) for i in range(prosody_blocks)]
        )
        self.p_out = nn.Conv1d(pc, N_PROSODY, 5, padding=2)
        nn.init.zeros_(self.p_out.weight)
        nn.init.zeros_(self.p_out.bias)

        # Normalisation statistics and per-emotion rate ratios, filled from training data.
        self.register_buffer("spec_mean", torch.zeros(n_spec))
        self.register_buffer("spec_std", torch.ones(n_spec))
        self.register_buffer("prosody_scale", torch.ones(N_PROSODY))
        self.register_buffer("log_rate", torch.zeros(n_emotions))

    def forward(
        self, spec: torch.Tensor, pros: torch.Tensor, voiced: torch.Tensor, cond: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Convert normalised features towards the emotion code ``cond``.

        Args:
            spec: ``(B, n_spec, T)`` normalised coded envelope shape; ``T`` divisible by 4
                (use :meth:`pad_frames`).
            pros: ``(B, 2, T)`` normalised log-F0 and energy.
            voiced: ``(B, 1, T)`` 0/1 float.
            cond: ``(B, n_emotions)`` emotion code (one-hot, or any point of the simplex).
        Returns:
            ``(spec_out, pros_out)`` with the shapes of ``spec`` and ``pros``.
        """
        b, _, t = spec.shape
        h = F.glu(self.inp(spec.unsqueeze(1)), dim=1)
        for layer in self.down:
            h = layer(h)
        c, f, t4 = h.shape[1], h.shape[2], h.shape[3]
        z = self.to1d_norm(self.to1d(h.reshape(b, c * f, t4)))
        for block in self.blocks:
            z = block(z, cond)
        h = self.to2d_norm(self.to2d(z)).reshape(b, c, f, t4)
        for layer in self.up:
            h = layer(h)
        spec_out = spec + self.out(h).squeeze(1)

        ctx = F.interpolate(z, size=t, mode="nearest")
        p = self.p_in(torch.cat([pros, voiced, ctx], dim=1))
        for block in self.p_blocks:
            p = block(p, cond)
        pros_out = pros + self.p_out(F.leaky_relu(p, 0.2))
        return spec_out, pros_out

    @staticmethod
    def pad_frames(x: torch.Tensor, multiple: int = 4) -> torch.Tensor:
        """Reflect-pad the last axis of ``(B, C, T)`` to a multiple of ``multiple``."""
        extra = (-x.shape[-1]) % multiple
        if extra == 0:
            return x
        mode = "reflect" if x.shape[-1] > extra else "replicate"
        return F.pad(x, (0, extra), mode=mode)


class EmotionDiscriminator(nn.Module):
    """Conditional projection discriminator on feature segments.

    Input is ``[spec, pros, voiced]`` stacked to ``(B, n_spec + 3, T)``; a stack of
    spectrally-normalised 1-D convs (two of stride 2) gives per-frame features ``h``; the
    score per frame is ``w·h + embed(y)·h`` (projection, Miyato & Koyama 2018), averaged over
    time → ``(B,)``. Least-squares targets: 1 real, 0 fake.
    """

    def __init__(self, *, n_spec: int = 36, n_emotions: int = 5, channels: int = 192) -> None:
        super().__init__()
        c = channels
        self.convs = nn.ModuleList(
            [
                spectral_norm(nn.Conv1d(n_spec + N_PROSODY + 1, c, 5, padding=2)),
                spectral_norm(nn.Conv1d(c, c, 5, stride=2, padding=2)),
                spectral_norm(nn.Conv1d(c, c, 5, stride=2, padding=2)),
                spectral_norm(nn.Conv1d(c, c, 3, padding=1)),
            ]
        )
        self.linear = spectral_norm(nn.Conv1d(c, 1, 1))
        self.embed = spectral_norm(nn.Embedding(n_emotions, c))

    def forward(
        self, spec: torch.Tensor, pros: torch.Tensor, voiced: torch.Tensor, label: torch.Tensor
    ) -> torch.Tensor:
        """``label`` ``(B,)`` int64 emotion index → realness score ``(B,)``."""
        h = torch.cat([spec, pros, voiced], dim=1)
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.2)
        score = self.linear(h).squeeze(1) + torch.einsum("bct,bc->bt", h, self.embed(label))
        return score.mean(dim=1)


class AuxEmotionClassifier(nn.Module):
    """Auxiliary emotion-domain classifier trained on real segments only (StarGAN-VC's C).

    It gives the generator a classification loss that does not move with the adversarial
    game, and its accuracy on converted validation segments is the training-time validation
    metric. ``(B, n_spec + 3, T)`` features → ``(B, n_emotions)`` logits (mean over time).
    """

    def __init__(self, *, n_spec: int = 36, n_emotions: int = 5, channels: int = 128) -> None:
        super().__init__()
        c = channels
        self.net = nn.Sequential(
            nn.Conv1d(n_spec + N_PROSODY + 1, c, 5, padding=2),
            nn.LeakyReLU(0.2),
            nn.Conv1d(c, c, 5, stride=2, padding=2),
            nn.LeakyReLU(0.2),
            nn.Conv1d(c, c, 5, stride=2, padding=2),
            nn.LeakyReLU(0.2),
            nn.Dropout(0.2),
            nn.Conv1d(c, n_emotions, 3, padding=1),
        )

    def forward(self, spec: torch.Tensor, pros: torch.Tensor, voiced: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([spec, pros, voiced], dim=1)).mean(dim=2)
