"""The enhancement GAN as a :class:`pipeline.train.loop.TrainTask` (``python -m pipeline.train enhance``).

Each step: the generator enhances a batch of on-the-fly noisy mixtures; the multi-resolution
mel discriminator is updated with a least-squares GAN loss on (clean, enhanced); then the
generator is updated with reconstruction losses (compressed-magnitude MSE + multi-resolution
STFT, optionally compressed complex-spectrum MSE and SI-SDR) plus, after ``adv_start``
steps, adversarial and feature-matching losses. Learning rates follow a linear warm-up and a
cosine decay.

Data: ``source: corpora`` uses :class:`pipeline.corpora.mixing.NoisyMixtureDataset` (Debian
speech and noise, SNR -5..20 dB, random gain) and the fixed validation pairs written by
``python -m pipeline.corpora testset``; ``source: synthetic`` uses speech-like test signals
(for smoke tests and the DDP test only).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from pipeline.constants import SAMPLE_RATE
from pipeline.devices import grad_scaler
from pipeline.enhance import losses as L
from pipeline.enhance.data import (
    CorpusMixtures,
    EnhanceDataConfig,
    SyntheticMixtures,
    read_pairs,
    synthetic_pairs,
)
from pipeline.enhance.model import MaskGenerator, MelDiscriminator, MetricDiscriminator
from pipeline.metrics import pesq_wb, si_sdr, stoi
from pipeline.optim import GanOptimConfig, clipped_step
from pipeline.train.loop import DistInfo, Export, TrainConfig, unwrap

log = logging.getLogger(__name__)

ARCH = "enhance.mask_gan"


@dataclass
class EnhanceGeneratorConfig:
    n_fft: int = 512
    hop: int = 128
    hidden: int = 256
    gru_layers: int = 2
    lookahead: int = 1
    mask_max: float = 1.2
    freq_channels: int = 0  # > 0: frequency-convolution front end (MaskGenerator docstring)
    df_bins: int = 0  # > 0: deep-filter head on the lowest df_bins bins (MaskGenerator docstring)
    df_order: int = 5  # frames per deep filter


@dataclass
class EnhanceDiscriminatorConfig:
    ffts: list[int] = field(default_factory=lambda: [256, 512, 1024])
    mels: list[int] = field(default_factory=lambda: [40, 64, 80])
    channels: int = 64
    metric_channels: int = (
        16  # width of the MetricGAN-style discriminator (used if loss.metric > 0)
    )


@dataclass
class EnhanceLossConfig(GanOptimConfig):
    """Loss weights, plus the optimiser keys of :class:`GanOptimConfig` with the enhancement
    defaults: warm-up, cosine decay to a tenth, tighter clipping."""

    magnitude: float = 10.0  # compressed-magnitude MSE weight
    mrstft: float = 1.0  # multi-resolution STFT weight
    si_sdr: float = 0.0  # negative SI-SDR weight (dB scale: use ~0.01)
    complex: float = 0.0  # compressed complex-spectrum MSE weight (phase-aware; 0: off)
    adversarial: float = 0.2
    feature_matching: float = 0.5
    metric: float = 0.0  # MetricGAN-style learned-PESQ adversarial weight (0: off)
    adv_start: int = 1000  # generator sees adversarial terms from this step on
    warmup_steps: int = 200
    final_lr_scale: float = 0.1
    grad_clip: float = 5.0
    # train only generator parameters whose names start with one of these (e.g. ["df_head"]
    # for a head grown onto a shipped model with train.init_partial); empty: all of them
    train_only: list[str] = field(default_factory=list)


@dataclass
class EnhanceTrainConfig:
    train: TrainConfig = field(default_factory=TrainConfig)
    generator: EnhanceGeneratorConfig = field(default_factory=EnhanceGeneratorConfig)
    discriminator: EnhanceDiscriminatorConfig = field(default_factory=EnhanceDiscriminatorConfig)
    loss: EnhanceLossConfig = field(default_factory=EnhanceLossConfig)
    data: EnhanceDataConfig = field(default_factory=EnhanceDataConfig)


class EnhanceTask:
    """Mask generator + mel discriminator trained adversarially; see the module docstring."""

    config_class = EnhanceTrainConfig

    def __init__(self, config: EnhanceTrainConfig, info: DistInfo) -> None:
        self.config = config
        self.info = info
        self.gen_kwargs = asdict(config.generator)
        generator = MaskGenerator(**self.gen_kwargs)
        d = config.discriminator
        discriminator = MelDiscriminator(
            ffts=tuple(d.ffts), mels=tuple(d.mels), channels=d.channels, sample_rate=SAMPLE_RATE
        )
        self.modules = {"generator": generator, "discriminator": discriminator}
        if config.loss.metric > 0:
            self.modules["metric"] = MetricDiscriminator(
                n_fft=config.generator.n_fft, hop=config.generator.hop, channels=d.metric_channels
            )
        lr = config.train.lr
        betas = (0.8, 0.99)
        self.optimizers = {
            "generator": torch.optim.AdamW(self._trainable(generator), lr=lr, betas=betas)
        }
        for name in self.modules.keys() - {"generator"}:
            self.optimizers[name] = torch.optim.AdamW(
                self.modules[name].parameters(), lr=lr * config.loss.d_lr_scale, betas=betas
            )
        self.schedulers = config.loss.schedulers(
            self.optimizers, config.train, scaled=self.modules.keys() - {"generator"}
        )
        self.scaler = grad_scaler(info.torch_device, config.train.amp)
        if config.data.source == "corpora":
            self.mixtures = CorpusMixtures(config.data, seed=config.train.seed)
        elif config.data.source == "synthetic":
            self.mixtures = SyntheticMixtures(config.data)
        else:
            raise ValueError(f"unknown data source {config.data.source!r}")
        self.valid: list[tuple[np.ndarray, np.ndarray]] = []
        self.valid_noisy: dict[str, float] = {}
        if info.is_main:
            self.valid = self._load_valid()
            self.valid_noisy = self._score(lambda noisy: noisy)
            log.info("validation on %d pairs; noisy input: %s", len(self.valid), self.valid_noisy)

    def _trainable(self, generator: MaskGenerator) -> list[torch.nn.Parameter]:
        """The generator parameters ``loss.train_only`` selects; the rest are frozen."""
        prefixes = tuple(self.config.loss.train_only)
        if not prefixes:
            return list(generator.parameters())
        chosen = []
        for name, param in generator.named_parameters():
            param.requires_grad_(name.startswith(prefixes))
            if param.requires_grad:
                chosen.append(param)
        if not chosen:
            raise ValueError(f"loss.train_only {list(prefixes)} selects no generator parameter")
        log.info("training %d of the generator's parameter tensors only", len(chosen))
        return chosen

    def _load_valid(self) -> list[tuple[np.ndarray, np.ndarray]]:
        d = self.config.data
        if d.source == "corpora":
            return read_pairs(d.valid_pairs, limit=d.valid_items, max_snr=d.valid_max_snr)
        return synthetic_pairs(d.valid_items)

    # -- TrainTask -------------------------------------------------------------------------
    def make_batch(self, step: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        items = [self.mixtures.draw(rng) for _ in range(self.config.train.batch_size)]
        noisy = torch.from_numpy(np.stack([n for n, _ in items]))
        clean = torch.from_numpy(np.stack([c for _, c in items]))
        return noisy, clean

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor], step: int) -> dict[str, float]:
        c = self.config.loss
        gen = self.modules["generator"]
        noisy, clean = batch[0], batch[1]
        enhanced = gen(noisy)
        n = clean.shape[0]
        out: dict[str, float] = {}
        use_mel = c.adversarial > 0 or c.feature_matching > 0
        if use_mel:  # clean vs enhanced in ONE forward (DDP-friendly)
            logits, _ = self.modules["discriminator"](torch.cat([clean, enhanced.detach()]))
            d_loss = L.discriminator_loss([x[:n] for x in logits], [x[n:] for x in logits])
            out["d_loss"] = self._step("discriminator", d_loss)
        if c.metric > 0:  # learn to predict PESQ of enhanced, noisy and clean speech
            target = torch.cat(
                [
                    L.normalised_pesq(clean, enhanced, SAMPLE_RATE),
                    L.normalised_pesq(clean, noisy, SAMPLE_RATE),
                    torch.ones(n, device=clean.device),
                ]
            )
            predicted = self.modules["metric"](
                torch.cat([enhanced.detach(), noisy, clean]), clean.repeat(3, 1)
            )
            out["m_loss"] = self._step("metric", L.metric_discriminator_loss(predicted, target))
            out["q_enhanced"] = float(torch.nanmean(target[:n]))
            out["q_noisy"] = float(torch.nanmean(target[n : 2 * n]))

        # generator
        mag = L.compressed_magnitude_loss(enhanced, clean)
        g_loss = c.magnitude * mag
        out["g_mag"] = mag.item()
        if c.mrstft > 0:
            mr = L.multi_resolution_stft_loss(enhanced, clean)
            g_loss = g_loss + c.mrstft * mr
            out["g_mrstft"] = mr.item()
        if c.complex > 0:
            cplx = L.compressed_complex_loss(enhanced, clean)
            g_loss = g_loss + c.complex * cplx
            out["g_complex"] = cplx.item()
        if c.si_sdr > 0:
            neg = L.neg_si_sdr(enhanced, clean)
            g_loss = g_loss + c.si_sdr * neg
            out["g_neg_sisdr"] = neg.item()
        g_loss = g_loss + self.extra_generator_loss(enhanced, batch, out)
        if step >= c.adv_start and use_mel:
            logits, feats = self.modules["discriminator"](torch.cat([clean, enhanced]))
            adv = L.generator_adversarial_loss([x[n:] for x in logits])
            fm = L.feature_matching_loss(
                [[f[:n] for f in fs] for fs in feats], [[f[n:] for f in fs] for fs in feats]
            )
            g_loss = g_loss + c.adversarial * adv + c.feature_matching * fm
            out["g_adv"], out["g_fm"] = adv.item(), fm.item()
        if step >= c.adv_start and c.metric > 0:
            g_metric = L.metric_generator_loss(self.modules["metric"](enhanced, clean))
            g_loss = g_loss + c.metric * g_metric
            out["g_metric"] = g_metric.item()
        out["g_loss"] = self._step("generator", g_loss)
        out["lr"] = self.optimizers["generator"].param_groups[0]["lr"]
        return out

    def extra_generator_loss(
        self, enhanced: torch.Tensor, batch: tuple, out: dict[str, float]
    ) -> torch.Tensor | float:
        """Further generator terms of a derived task (e.g. distillation); logs into ``out``."""
        return 0.0

    def _step(self, name: str, loss: torch.Tensor) -> float:
        """Backward ``loss`` and update module ``name`` (gradients clipped); returns the loss."""
        return clipped_step(
            loss,
            self.modules[name],
            self.optimizers[name],
            self.config.loss.grad_clip,
            scaler=self.scaler,
        )

    def _score(self, enhance) -> dict[str, float]:
        rows = []
        for clean, noisy in self.valid:
            est = enhance(noisy)
            rows.append(
                (
                    pesq_wb(clean, est, SAMPLE_RATE),
                    stoi(clean, est, SAMPLE_RATE),
                    si_sdr(clean, est),
                )
            )
        arr = np.array(rows, dtype=np.float64)
        pesq, st, sd = (float(np.nanmean(arr[:, i])) for i in range(3))
        return {"pesq_wb": pesq, "stoi": st, "si_sdr": sd}

    def validate(self) -> dict[str, float]:
        gen = unwrap(self.modules["generator"])

        device = next(gen.parameters()).device

        def enhance(noisy: np.ndarray) -> np.ndarray:
            return gen(torch.from_numpy(noisy)[None].to(device))[0].float().cpu().numpy()

        metrics = self._score(enhance)
        metrics["pesq_gain"] = metrics["pesq_wb"] - self.valid_noisy["pesq_wb"]
        return metrics

    def export(self) -> Export:
        extra = {"data_source": self.config.data.source}
        return Export(self.modules["generator"], ARCH, self.gen_kwargs, SAMPLE_RATE, extra)
