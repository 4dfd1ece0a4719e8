"""Generator and discriminator of the label-free envelope GAN.

Features (5 ms WORLD frames, normalised as in :mod:`pipeline.emotion.normalize`):

* ``spec`` ``(B, n_spec, T)``: coded spectral-envelope *shape* (unit mean power per frame,
  coded to ``n_spec`` dims at 16 kHz), standardised with the buffers ``spec_mean/spec_std``;
* ``pros`` ``(B, 2, T)``: continuous log-F0 and frame energy, centred on the speaker's mean
  (training) or the utterance's (inference) and divided by ``prosody_scale``;
* ``voiced`` ``(B, 1, T)``: 0/1;
* ``ref_spec`` ``(B, n_spec, T')``: another stretch of the same speaker's speech.

The generator sees the envelope with its per-segment mean removed (the phonetic content
moves, the long-term colour — where raised effort shows as a flatter tilt — does not), the
frame prosody, and a speaker code pooled over ``ref_spec``. It predicts the full envelope.
Trained by self-reconstruction, it learns how the long-term envelope goes with F0 and energy
within a speaker; at inference it is used *differentially*:
``G(content, target prosody) - G(content, source prosody)`` is added to the source envelope.

There are no normalisation layers over time in the generator: an instance norm would remove
exactly the segment-level prosody (F0 and energy level) the envelope has to follow.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

N_PROSODY = 2  # log-F0, energy


class ProsodyFiLMBlock(nn.Module):
    """Residual gated conv block: the prosody embedding is added to its input and the
    speaker code scales and shifts its output (FiLM, zero-initialised).

    ``h``, ``p`` ``(B, C, T)``, ``code`` ``(B, S)`` → ``(B, C, T)``.
    """

    def __init__(self, channels: int, speaker_dim: int, kernel: int, dilation: int) -> None:
        super().__init__()
        pad = dilation * (kernel - 1) // 2
        self.conv1 = nn.Conv1d(channels, 2 * channels, kernel, padding=pad, dilation=dilation)
        self.conv2 = nn.Conv1d(channels, channels, kernel, padding=pad, dilation=dilation)
        self.film = nn.Linear(speaker_dim, 2 * channels)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, h: torch.Tensor, p: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        y = self.conv2(F.glu(self.conv1(h + p), dim=1))
        gamma, beta = self.film(code).unsqueeze(-1).chunk(2, dim=1)
        return h + y * (1.0 + gamma) + beta


class SpeakerCodeEncoder(nn.Module):
    """``(B, n_spec, T)`` envelope → ``(B, speaker_dim)`` code (convs + mean over time)."""

    def __init__(self, n_spec: int, speaker_dim: int, channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(n_spec, channels, 5, padding=2),
            nn.LeakyReLU(0.2),
            nn.Conv1d(channels, channels, 5, padding=2),
            nn.LeakyReLU(0.2),
        )
        self.proj = nn.Linear(channels, speaker_dim)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        return self.proj(self.net(spec).mean(dim=-1))


class EnvelopeGenerator(nn.Module):
    """Predicts the envelope from content, frame prosody and a speaker code.

    Args:
        n_spec: coded envelope dims. channels: conv width. n_blocks: residual blocks
            (dilations 1, 2, 4, 8, ...). speaker_dim: speaker code size.
    """

    #: frames of each residual block's convolutions (fixed: no config or checkpoint sets it)
    KERNEL = 5

    def __init__(
        self, n_spec: int = 36, channels: int = 96, n_blocks: int = 4, speaker_dim: int = 64
    ) -> None:
        super().__init__()
        self.n_spec = n_spec
        self.register_buffer("spec_mean", torch.zeros(n_spec))
        self.register_buffer("spec_std", torch.ones(n_spec))
        self.register_buffer("prosody_scale", torch.ones(N_PROSODY))
        self.content_in = nn.Conv1d(n_spec, channels, 5, padding=2)
        self.prosody_in = nn.Sequential(
            nn.Conv1d(N_PROSODY + 1, channels, 5, padding=2),
            nn.LeakyReLU(0.2),
            nn.Conv1d(channels, channels, 5, padding=2),
        )
        self.speaker = SpeakerCodeEncoder(n_spec, speaker_dim, channels)
        self.speaker_mean = nn.Linear(speaker_dim, n_spec)
        self.blocks = nn.ModuleList(
            ProsodyFiLMBlock(channels, speaker_dim, self.KERNEL, 2 ** (i % 4))
            for i in range(n_blocks)
        )
        self.out = nn.Conv1d(channels, n_spec, 5, padding=2)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def speaker_code(self, ref_spec: torch.Tensor) -> torch.Tensor:
        return self.speaker(ref_spec)

    def forward(
        self,
        spec: torch.Tensor,
        pros: torch.Tensor,
        voiced: torch.Tensor,
        ref_spec: torch.Tensor,
        code: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """→ ``(B, n_spec, T)`` normalised envelope; ``code`` overrides ``ref_spec``'s."""
        centred = spec - spec.mean(dim=-1, keepdim=True)
        code = self.speaker_code(ref_spec) if code is None else code
        p = self.prosody_in(torch.cat([pros, voiced], dim=1))
        h = self.content_in(centred)
        for block in self.blocks:
            h = block(h, p, code)
        return centred + self.speaker_mean(code).unsqueeze(-1) + self.out(h)


class EnvelopeDiscriminator(nn.Module):
    """Judges whether an envelope is real *for* the prosody it comes with.

    ``spec`` ``(B, n_spec, T)``, ``pros`` ``(B, 2, T)``, ``voiced`` ``(B, 1, T)`` →
    ``(B, T // 4)`` patch scores (least-squares GAN; spectral norm on every conv).
    """

    def __init__(self, n_spec: int = 36, channels: int = 128) -> None:
        super().__init__()

        def conv(c_in: int, c_out: int, k: int, stride: int = 1) -> nn.Module:
            return spectral_norm(nn.Conv1d(c_in, c_out, k, stride=stride, padding=k // 2))

        self.net = nn.Sequential(
            conv(n_spec + N_PROSODY + 1, channels, 5),
            nn.LeakyReLU(0.2),
            conv(channels, channels, 5, 2),
            nn.LeakyReLU(0.2),
            conv(channels, channels, 5, 2),
            nn.LeakyReLU(0.2),
            conv(channels, 1, 3),
        )

    def forward(self, spec: torch.Tensor, pros: torch.Tensor, voiced: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([spec, pros, voiced], dim=1))[:, 0]
