"""The enhancement GAN: a magnitude-mask generator and a multi-resolution mel discriminator.

Generator (:class:`MaskGenerator`, arch ``enhance.mask_gan``, ~1.1 M parameters with the
defaults): STFT (512-point, 8 ms hop, 16 kHz) → log-power features (optionally through a
frequency-convolution front end) → a convolution over ``lookahead + 2`` frames → a 2-layer
unidirectional GRU → a per-bin mask in ``[0, mask_max]`` applied to the noisy magnitude,
noisy phase kept (optionally followed by a complex deep filter on the low bins) → inverse
STFT. Causal apart from ``lookahead`` frames (8 ms each) plus the STFT window, so it can
stream; cost is dominated by the GRU (~1 M multiply-adds per 8 ms frame).

Discriminator (:class:`MelDiscriminator`): one small strided 1-D conv net per resolution
over log-mel frames (FFT 256/512/1024, mel bands as channels), returning patch logits and
intermediate feature maps for least-squares adversarial and feature-matching losses. Mel
resolution and 1-D convolutions keep it cheap enough to train on a CPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchaudio
from torch import nn
from torch.nn.utils import spectral_norm

LOG_FLOOR = 1e-8
FEATURE_SHIFT = 9.0  # log-power features are (log(|X|^2 + floor) + shift) / scale
FEATURE_SCALE = 4.0


class MaskGenerator(nn.Module):
    """Noisy waveform → enhanced waveform via a bounded spectral magnitude mask.

    Args:
        n_fft: STFT size (samples at 16 kHz).
        hop: STFT hop (samples).
        hidden: conv / GRU width.
        gru_layers: stacked GRU layers.
        lookahead: future frames seen by the input convolution (0 = causal).
        mask_max: upper bound of the mask (slightly above 1 lets it restore attenuated bins).
        freq_channels: 0 (default) feeds all log-power bins straight into the temporal
            convolution. ``> 0`` puts a per-frame convolutional front end first: two 2-D
            convolutions along frequency only (kernel 5 bins, stride 2, ``freq_channels``
            maps, PReLU), whose output (``freq_channels x ~bins/4``) is what the temporal
            convolution sees. Weights shared across frequency learn local spectral patterns
            (harmonics, formant edges) from less data than one dense projection; being
            frame-local, it needs no state when streaming.
        df_bins: 0 (default) keeps the noisy phase. ``> 0`` adds a deep-filter head (the
            idea of DeepFilterNet, Schröter et al. 2022) for the lowest ``df_bins`` bins:
            each output bin is a complex linear combination of that bin in ``df_order``
            neighbouring frames of the masked spectrum, which can restore phase and
            harmonic structure a real mask cannot. Coefficients are the identity plus the
            head's output; the head's last layer starts at zero, so a generator warm-started
            from a mask-only checkpoint begins exactly where that checkpoint was.
        df_order: frames per deep filter; taps span ``t - (df_order - 1 - a) .. t + a``
            with ``a = min(lookahead, df_order // 2)`` (no latency beyond ``lookahead``).
    """

    def __init__(
        self,
        *,
        n_fft: int = 512,
        hop: int = 128,
        hidden: int = 256,
        gru_layers: int = 2,
        lookahead: int = 1,
        mask_max: float = 1.2,
        freq_channels: int = 0,
        df_bins: int = 0,
        df_order: int = 5,
    ) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.hop = hop
        self.lookahead = lookahead
        self.mask_max = mask_max
        bins = n_fft // 2 + 1
        self.register_buffer("window", torch.hann_window(n_fft).sqrt(), persistent=False)
        features = bins
        self.front = None
        if freq_channels > 0:
            c = freq_channels
            self.front = nn.Sequential(
                nn.Conv2d(1, c, (5, 1), stride=(2, 1), padding=(2, 0)),
                nn.PReLU(c),
                nn.Conv2d(c, c, (5, 1), stride=(2, 1), padding=(2, 0)),
                nn.PReLU(c),
            )
            features = c * ((((bins - 1) // 2 + 1) - 1) // 2 + 1)
        self.encoder = nn.Conv1d(features, hidden, kernel_size=lookahead + 2)
        self.encoder_act = nn.PReLU(hidden)
        self.gru = nn.GRU(hidden, hidden, num_layers=gru_layers, batch_first=True)
        self.decoder = nn.Sequential(
            nn.Linear(2 * hidden, hidden), nn.PReLU(), nn.Linear(hidden, bins)
        )
        if not 0 <= df_bins <= bins:
            raise ValueError(f"df_bins must be in [0, {bins}], got {df_bins}")
        if df_bins and df_order < 1:
            raise ValueError(f"df_order must be >= 1, got {df_order}")
        self.df_bins = df_bins
        self.df_order = df_order
        self.df_ahead = min(lookahead, df_order // 2)
        self.df_head = None
        if df_bins > 0:
            self.df_head = nn.Sequential(
                nn.Linear(2 * hidden, hidden), nn.PReLU(), nn.Linear(hidden, df_bins * df_order * 2)
            )
            nn.init.zeros_(self.df_head[-1].weight)
            nn.init.zeros_(self.df_head[-1].bias)

    def stft(self, wave: torch.Tensor) -> torch.Tensor:
        """``(batch, samples)`` → complex ``(batch, bins, frames)``."""
        return torch.stft(
            wave, self.n_fft, self.hop, window=self.window, center=True, return_complex=True
        )

    def istft(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """Complex ``(batch, bins, frames)`` → ``(batch, length)``."""
        return torch.istft(
            spec, self.n_fft, self.hop, window=self.window, center=True, length=length
        )

    def mask(self, magnitude: torch.Tensor) -> torch.Tensor:
        """``(batch, bins, frames)`` noisy magnitude → mask of the same shape in [0, mask_max]."""
        return self._heads(magnitude)[0]

    def _heads(
        self,
        magnitude: torch.Tensor,
        state: torch.Tensor | None = None,
        state_frame: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """The network on a noisy magnitude, with an explicit GRU state for streaming.

        Args:
            magnitude: ``(batch, bins, frames)``.
            state: GRU hidden state ``(gru_layers, batch, hidden)`` before frame 0, or None.
            state_frame: also return the GRU state reached just before this frame index.
        Returns:
            ``(mask, df_delta, state_at_state_frame)``: the mask ``(batch, bins, frames)`` in
            [0, mask_max]; the deep-filter coefficient offsets ``(batch, df_bins, frames,
            df_order, 2)`` (real, imaginary) or None without a deep-filter head; the state
            (None when ``state_frame`` is).
        """
        feats = (torch.log(magnitude.square() + LOG_FLOOR) + FEATURE_SHIFT) / FEATURE_SCALE
        if self.front is not None:  # (batch, bins, frames) -> (batch, channels * bins', frames)
            feats = self.front(feats[:, None]).flatten(1, 2)
        # pad so output frame t sees frames t-1 .. t+lookahead
        x = F.pad(feats, (1, self.lookahead))
        x = self.encoder_act(self.encoder(x)).transpose(1, 2)  # (batch, frames, hidden)
        kept = None
        if state_frame is None:
            h, _ = self.gru(x, state)
        else:
            first, kept = self.gru(x[:, :state_frame], state)
            rest, _ = self.gru(x[:, state_frame:], kept)
            h = torch.cat([first, rest], dim=1)
        joint = torch.cat([x, h], dim=-1)
        logits = self.decoder(joint).transpose(1, 2)
        delta = None
        if self.df_head is not None:
            b, t = joint.shape[:2]
            delta = self.df_head(joint).view(b, t, self.df_bins, self.df_order, 2).transpose(1, 2)
        return self.mask_max * torch.sigmoid(logits), delta, kept

    def deep_filter(self, spec: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
        """Apply the deep filter to the lowest ``df_bins`` bins of ``spec``.

        Args:
            spec: complex ``(batch, bins, frames)`` (the masked spectrum).
            delta: ``(batch, df_bins, frames, df_order, 2)`` offsets from the identity filter.
        Returns:
            complex ``(batch, bins, frames)``; bins above ``df_bins`` unchanged.
        """
        low = spec[:, : self.df_bins]
        behind = self.df_order - 1 - self.df_ahead
        taps = F.pad(torch.view_as_real(low), (0, 0, behind, self.df_ahead))  # pad frames
        taps = torch.view_as_complex(taps.unfold(2, self.df_order, 1).movedim(-1, -2).contiguous())
        coef = torch.view_as_complex(delta.contiguous())  # (batch, df_bins, frames, order)
        filtered = low + (taps * coef).sum(-1)
        return torch.cat([filtered, spec[:, self.df_bins :]], dim=1)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """``(batch, samples)`` float32 at 16 kHz → ``(batch, samples)`` enhanced."""
        return self.forward_with_state(wave)[0]

    def forward_with_state(
        self,
        wave: torch.Tensor,
        state: torch.Tensor | None = None,
        state_sample: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:meth:`forward` that starts from GRU ``state`` and also returns the state reached
        at sample ``state_sample`` (a multiple of ``hop``), where the next chunk begins."""
        spec = self.stft(wave)
        frame = None if state_sample is None else state_sample // self.hop
        if frame is not None and not 0 < frame < spec.shape[-1]:
            frame = None
        gain, delta, kept = self._heads(spec.abs(), state, frame)
        out = spec * gain
        if delta is not None:
            out = self.deep_filter(out, delta)
        return self.istft(out, wave.shape[-1]), kept


class _MelSubDiscriminator(nn.Module):
    """Log-mel frames as channels, strided 1-D convolutions over time → patch logits."""

    def __init__(self, *, n_fft: int, n_mels: int, channels: int, sample_rate: int) -> None:
        super().__init__()
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=n_fft,
            hop_length=n_fft // 4,
            n_mels=n_mels,
            power=2.0,
            center=True,
        )
        c = channels
        self.layers = nn.ModuleList(
            [
                nn.Conv1d(n_mels, c, 5, padding=2),
                nn.Conv1d(c, c, 5, stride=2, padding=2),
                nn.Conv1d(c, c, 5, stride=2, padding=2),
                nn.Conv1d(c, c, 3, padding=1),
            ]
        )
        self.out = nn.Conv1d(c, 1, 3, padding=1)

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = torch.log(self.mel(wave) + 1e-6)  # (batch, mels, frames)
        feats = []
        for layer in self.layers:
            x = F.leaky_relu(layer(x), 0.2)
            feats.append(x)
        return self.out(x), feats


class MelDiscriminator(nn.Module):
    """Multi-resolution log-mel discriminator.

    Args:
        ffts: FFT sizes of the sub-discriminators (hop = fft / 4).
        mels: mel bands per sub-discriminator.
        channels: conv width.
        sample_rate: Hz.
    """

    def __init__(
        self,
        *,
        ffts: tuple[int, ...] = (256, 512, 1024),
        mels: tuple[int, ...] = (40, 64, 80),
        channels: int = 64,
        sample_rate: int = 16_000,
    ) -> None:
        super().__init__()
        self.subs = nn.ModuleList(
            _MelSubDiscriminator(n_fft=f, n_mels=m, channels=channels, sample_rate=sample_rate)
            for f, m in zip(ffts, mels, strict=True)
        )

    def forward(self, wave: torch.Tensor) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
        """``(batch, samples)`` → (logit maps per resolution, feature maps per resolution)."""
        logits, feats = [], []
        for sub in self.subs:
            out, fmap = sub(wave)
            logits.append(out)
            feats.append(fmap)
        return logits, feats


class MetricDiscriminator(nn.Module):
    """MetricGAN-style learned quality metric: predicts a normalised PESQ of an estimate.

    Input: the estimate's and the clean reference's compressed STFT magnitudes
    (``|X| ** 0.3``, 512-point, 8 ms hop) stacked as 2 channels ``(B, 2, bins, frames)``;
    strided 2-D convolutions with spectral normalisation, global average pooling and a
    small MLP give one score per item. Trained to regress ``(PESQ - 1.04) / 3.6`` (so
    clean-vs-clean is 1), it gives the generator a differentiable stand-in for PESQ.

    Args:
        n_fft: STFT size (samples).
        hop: STFT hop (samples).
        channels: conv width.
    """

    def __init__(self, *, n_fft: int = 512, hop: int = 128, channels: int = 16) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.hop = hop
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        c = channels
        self.convs = nn.ModuleList(
            [
                spectral_norm(nn.Conv2d(2, c, 5, padding=2)),
                spectral_norm(nn.Conv2d(c, c, 5, stride=2, padding=2)),
                spectral_norm(nn.Conv2d(c, c, 5, stride=2, padding=2)),
                spectral_norm(nn.Conv2d(c, c, 5, stride=2, padding=2)),
            ]
        )
        self.head = nn.Sequential(
            spectral_norm(nn.Linear(c, 50)),
            nn.LeakyReLU(0.3),
            spectral_norm(nn.Linear(50, 10)),
            nn.LeakyReLU(0.3),
            spectral_norm(nn.Linear(10, 1)),
        )

    def _magnitude(self, wave: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(
            wave, self.n_fft, self.hop, window=self.window, center=True, return_complex=True
        )
        return (spec.real.square() + spec.imag.square() + 1e-10) ** 0.15  # |X| ** 0.3

    def forward(self, estimate: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        """``(B, samples)`` twice → ``(B,)`` predicted normalised quality."""
        x = torch.stack([self._magnitude(estimate), self._magnitude(clean)], dim=1)
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.3)
        return self.head(x.mean(dim=(2, 3)))[:, 0]
