"""Training task of the label-free envelope GAN (``python -m pipeline.train emotion_envelope``).

    python -m pipeline.train emotion_envelope --config configs/emotion_envelope_gan.yaml \
        [--resume] [--device auto|cpu|cuda] [--amp]

Data: every speech clip of the prepared corpus (``$STUDIO_DATA/manifest.csv``), no labels.
Per step, on a batch of real segments ``x`` (envelope ``s``, prosody ``p``) and a reference
stretch ``r`` of the same speaker:

1. ``rec = G(s, p, r)`` (self-reconstruction) and ``mov = G(s, p', r)`` with ``p'`` a random
   profile-like move of ``p`` (:func:`~.losses.perturb_prosody`);
2. discriminator (least squares): ``D(s, p) → 1``, ``D(rec, p) → 0``, ``D(mov, p') → 0``;
3. generator: ``λ_adv · LS(D(rec, p), D(mov, p') → 1) + λ_rec · |rec − s|``.

The discriminator is conditioned on the prosody, so ``mov`` only scores as real when its
envelope fits the moved F0 and energy: that is where "how real it sounds" is learned.
Both updates are gradient-norm clipped (``loss.grad_clip``); the learning rates follow
:class:`pipeline.optim.WarmupCosine` (constant by default), saved and resumed by the loop.
Validation (held-out speakers): reconstruction L1, the discriminator's scores and the mean
envelope change per +6 dB of energy (how much the model lets effort reshape the envelope).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.distributed as dist

from pipeline.corpora import data_dir
from pipeline.emotion.data import FeatureCorpus, build_cache
from pipeline.emotion.envelope.data import UnlabelledSegments, table_clips, unlabelled_clips
from pipeline.emotion.envelope.losses import (
    lsgan_d,
    lsgan_g,
    perturb_prosody,
    reconstruction_l1,
)
from pipeline.emotion.envelope.model import EnvelopeDiscriminator, EnvelopeGenerator
from pipeline.emotion.features import SAMPLE_RATE
from pipeline.emotion.normalize import Normalizer
from pipeline.emotion.segments import SegmentDataConfig
from pipeline.optim import AdamGanOptimConfig, clipped_step
from pipeline.train.loop import DistInfo, Export, TrainConfig, unwrap

log = logging.getLogger(__name__)

ARCH = "emotion.envelope_gan"


@dataclass
class EnvelopeDataConfig(SegmentDataConfig):
    """Which clips (no labels), plus the segment keys of :class:`SegmentDataConfig`."""

    manifest: str = "manifest.csv"  # relative to the data directory
    #: instead of the manifest: a CSV with path, speaker, split (other columns ignored)
    clip_table: str = ""
    max_clips_per_split: int = 2500
    val_segments: int = 96


@dataclass
class EnvelopeModelConfig:
    channels: int = 64  # conv width of the generator
    n_blocks: int = 4  # FiLM residual blocks (dilations 1, 2, 4, 8, 1, ...)
    speaker_dim: int = 64  # size of the speaker code
    disc_channels: int = 96  # width of the discriminator


@dataclass
class EnvelopeLossConfig(AdamGanOptimConfig):
    """Loss weights, plus the optimiser keys of :class:`AdamGanOptimConfig` (the defaults keep
    the rate constant, as the shipped model was trained, but it was trained without clipping)."""

    lambda_adv: float = 1.0
    lambda_rec: float = 10.0


@dataclass
class EnvelopeGanConfig:
    data: EnvelopeDataConfig = field(default_factory=EnvelopeDataConfig)
    model: EnvelopeModelConfig = field(default_factory=EnvelopeModelConfig)
    loss: EnvelopeLossConfig = field(default_factory=EnvelopeLossConfig)
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(lr=2e-4, out_dir="runs/emotion_envelope_gan")
    )


def _collate(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


class EnvelopeGanTask:
    """:class:`pipeline.train.loop.TrainTask` of the label-free envelope GAN."""

    config_class = EnvelopeGanConfig

    def __init__(self, config: EnvelopeGanConfig, info: DistInfo) -> None:
        self.config = config
        self.device = info.torch_device  # train.device / --device, resolved by pipeline.devices
        root = data_dir()
        if config.data.clip_table:
            clips = table_clips(
                config.data.clip_table,
                root,
                max_per_split=config.data.max_clips_per_split,
                seed=config.train.seed,
            )
        else:
            clips = unlabelled_clips(
                root / config.data.manifest,
                root,
                max_per_split=config.data.max_clips_per_split,
                seed=config.train.seed,
            )
        if info.is_main:
            build_cache(clips, root / config.data.cache_dir, progress=True)
        if info.distributed:
            dist.barrier()
        self.corpus = FeatureCorpus(build_cache(clips, root / config.data.cache_dir))
        train_idx = self.corpus.indices("train")
        val_idx = self.corpus.indices(config.data.val_split) or train_idx
        self.normalizer = Normalizer.fit(self.corpus, train_idx)
        n, seed = config.data.segment_frames, config.train.seed
        self.train_set = UnlabelledSegments(
            self.corpus, train_idx, self.normalizer, segment_frames=n, seed=seed
        )
        val_set = UnlabelledSegments(
            self.corpus, val_idx, self.normalizer, segment_frames=n, seed=seed + 1
        )
        self.val_batches = [
            _collate([val_set[i] for i in range(a, min(a + 16, config.data.val_segments))])
            for a in range(0, config.data.val_segments, 16)
        ]
        m = config.model
        self.model_kwargs = {
            "n_spec": int(self.normalizer.spec_mean.shape[0]),
            "channels": m.channels,
            "n_blocks": m.n_blocks,
            "speaker_dim": m.speaker_dim,
        }
        generator = EnvelopeGenerator(**self.model_kwargs)
        self.normalizer.store_in(generator)
        disc = EnvelopeDiscriminator(n_spec=self.model_kwargs["n_spec"], channels=m.disc_channels)
        self.modules = {
            "generator": generator.to(self.device),
            "discriminator": disc.to(self.device),
        }
        self.optimizers = config.loss.adam(
            {"generator": generator.parameters(), "discriminator": disc.parameters()},
            config.train.lr,
        )
        self.schedulers = config.loss.schedulers(self.optimizers, config.train)
        self.scale = torch.from_numpy(self.normalizer.prosody_scale)
        log.info(
            "envelope GAN: %d train / %d valid clips, %d speakers, no emotion labels",
            len(train_idx),
            len(val_idx),
            len({c.speaker for c in self.corpus.clips}),
        )

    def make_batch(self, step: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        items = [
            self.train_set[int(rng.integers(2**62))] for _ in range(self.config.train.batch_size)
        ]
        batch = _collate(items)
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        batch["moved"] = perturb_prosody(batch["pros"], batch["voiced"], gen, scale=self.scale)
        return batch

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        b = {k: v.to(self.device) for k, v in batch.items()}
        g, d = self.modules["generator"], self.modules["discriminator"]
        lc = self.config.loss
        spec, pros, voiced, ref, moved = (
            b[k] for k in ("spec", "pros", "voiced", "ref_spec", "moved")
        )
        both_pros = torch.cat([pros, moved])
        fake = g(
            torch.cat([spec, spec]), both_pros, torch.cat([voiced, voiced]), torch.cat([ref, ref])
        )
        rec, mov = fake.chunk(2)

        # one discriminator call per backward (DDP-friendly): real, reconstructed, moved
        voiced3 = torch.cat([voiced, voiced, voiced])
        scores = d(torch.cat([spec, fake.detach()]), torch.cat([pros, both_pros]), voiced3)
        real_score, *fake_scores = scores.chunk(3)
        loss_d = lsgan_d(real_score, fake_scores)
        clipped_step(loss_d, d, self.optimizers["discriminator"], lc.grad_clip)

        adv = lsgan_g(list(d(fake, both_pros, torch.cat([voiced, voiced])).chunk(2)))
        rec_l1 = reconstruction_l1(rec, spec)
        loss_g = lc.lambda_adv * adv + lc.lambda_rec * rec_l1
        clipped_step(loss_g, g, self.optimizers["generator"], lc.grad_clip)
        d.zero_grad(set_to_none=True)
        return {
            "d": loss_d.item(),
            "g_adv": adv.item(),
            "rec_l1": rec_l1.item(),
            "drift_l1": (mov - rec).abs().mean().item(),
        }

    def validate(self) -> dict[str, float]:
        g = unwrap(self.modules["generator"])
        d = unwrap(self.modules["discriminator"])
        sums = {"rec_l1": 0.0, "d_real": 0.0, "d_rec": 0.0, "d_louder": 0.0, "louder_delta": 0.0}
        count = 0
        six_db = torch.tensor([0.0, 6.0]) / self.scale
        for batch in self.val_batches:
            spec, pros, voiced, ref = (
                batch[k].to(self.device) for k in ("spec", "pros", "voiced", "ref_spec")
            )
            louder = pros + six_db.to(self.device)[None, :, None]
            rec = g(spec, pros, voiced, ref)
            loud = g(spec, louder, voiced, ref)
            k = len(spec)
            sums["rec_l1"] += float(reconstruction_l1(rec, spec)) * k
            sums["d_real"] += float(d(spec, pros, voiced).mean()) * k
            sums["d_rec"] += float(d(rec, pros, voiced).mean()) * k
            sums["d_louder"] += float(d(loud, louder, voiced).mean()) * k
            sums["louder_delta"] += float((loud - rec).abs().mean()) * k
            count += k
        return {key: value / max(count, 1) for key, value in sums.items()}

    def export(self) -> Export:
        splits = sorted({c.split for c in self.corpus.clips})
        return Export(
            self.modules["generator"],
            ARCH,
            self.model_kwargs,
            SAMPLE_RATE,
            extra={
                "labels_used": "none",
                "manifest": self.config.data.clip_table or self.config.data.manifest,
                "clips_per_split": {s: len(self.corpus.indices(s)) for s in splits},
                "speakers": len({c.speaker for c in self.corpus.clips}),
                "normalizer": {
                    k: np.asarray(v).tolist() for k, v in asdict(self.normalizer).items()
                },
                "envelope_weight": 1.0,
            },
        )
