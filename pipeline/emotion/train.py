"""Emotion GAN training task for the shared loop (``python -m pipeline.train emotion``).

    python -m pipeline.train emotion --config configs/emotion_stargan.yaml [--resume]

Per step (StarGAN-VC recipe, least-squares GAN):

1. discriminator: ``(D(x, s) - 1)^2 + D(G(x, t), t)^2`` on a batch of real segments ``x`` of
   emotion ``s`` and random other targets ``t``;
2. auxiliary classifier ``C`` on real segments only: cross-entropy with ``s``;
3. generator: ``(D(G(x,t), t) - 1)^2 + λ_cls CE(C(G(x,t)), t)
   + λ_cyc |G(G(x,t), s) - x| + λ_id |G(x, s) - x|`` (L1 or squared L2 norms).

Validation (fixed segments of the ``valid`` split = held-out speakers): C's accuracy on real
segments, C's accuracy w.r.t. the target on converted segments, cycle and identity L1, and
the mean log-F0 (semitones) and energy (dB) shift per target emotion.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from pipeline.constants import EMOTIONS, SAMPLE_RATE
from pipeline.corpora import data_dir
from pipeline.emotion.data import FeatureCorpus, build_cache, read_label_table
from pipeline.emotion.human_labels import human_label_provenance
from pipeline.emotion.losses import mean_abs_error, mean_squared_error, prosody_moment_loss
from pipeline.emotion.model import AuxEmotionClassifier, EmotionDiscriminator, EmotionGenerator
from pipeline.emotion.normalize import Normalizer, emotion_prosody_moments
from pipeline.emotion.segments import SegmentDataConfig, SegmentDataset
from pipeline.optim import AdamGanOptimConfig, clipped_step
from pipeline.train.loop import DistInfo, Export, TrainConfig, unwrap

log = logging.getLogger(__name__)

SEMITONES_PER_LN = 12.0 / np.log(2.0)


@dataclass
class EmotionDataConfig(SegmentDataConfig):
    """Where the labelled clips are (plus the segment keys of :class:`SegmentDataConfig`).

    ``label_table`` is a path as given (e.g. the committed
    ``pipeline/emotion/resources/emotion_labels.csv``); its audio paths and ``cache_dir`` are
    relative to the data directory (``$STUDIO_DATA`` or ``data/``).
    """

    label_table: str = "pipeline/emotion/resources/emotion_labels.csv"
    min_confidence: float = 0.0  # drop rows whose label confidence is lower
    #: human label table (``python -m pipeline.mos labels``; ``--labels`` on the CLI): train
    #: only on clips listeners labelled, with their label; min_confidence then applies to its
    #: Dawid-Skene confidence
    human_labels: str = ""


@dataclass
class EmotionModelConfig:
    """Model sizes (see :mod:`pipeline.emotion.model`)."""

    channels: int = 128  # width of the generator's 1-D bottleneck
    n_blocks: int = 6  # residual blocks in the bottleneck
    base_2d: int = 16  # channels of the first 2-D layer (doubling at each downsampling)
    prosody_channels: int = 48  # width of the prosody path
    prosody_blocks: int = 3  # residual blocks in the prosody path (dilations 1, 2, 4, ...)
    disc_channels: int = 128  # width of the discriminator
    cls_channels: int = 96  # width of the auxiliary emotion classifier


@dataclass
class EmotionLossConfig(AdamGanOptimConfig):
    """Loss weights, plus the optimiser keys of :class:`AdamGanOptimConfig` (whose defaults,
    a constant rate, are how the shipped model was trained; it predates gradient clipping)."""

    #: "l1" (StarGAN-VC2) or "l2" for the cycle and identity terms. L1's constant gradient
    #: holds a generator that starts at the identity (zero-initialised residual outputs)
    #: exactly there while D and C are still weak; L2 lets it move.
    reconstruction: str = "l1"
    lambda_cls: float = 1.0
    lambda_cyc: float = 10.0
    lambda_id: float = 5.0
    lambda_moment: float = 0.0  # prosody moment matching (see prosody_moment_loss)
    id_until_step: int = 0  # use the identity loss only before this step (0: always)


@dataclass
class EmotionConfig:
    data: EmotionDataConfig = field(default_factory=EmotionDataConfig)
    model: EmotionModelConfig = field(default_factory=EmotionModelConfig)
    loss: EmotionLossConfig = field(default_factory=EmotionLossConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(lr=2e-4, out_dir="runs/emotion"))


def _one_hot(labels: torch.Tensor) -> torch.Tensor:
    return F.one_hot(labels, len(EMOTIONS)).float()


class EmotionTask:
    """:class:`pipeline.train.loop.TrainTask` for the StarGAN-style emotion converter."""

    config_class = EmotionConfig

    def __init__(self, config: EmotionConfig, info: DistInfo) -> None:
        self.config = config
        if config.loss.reconstruction not in ("l1", "l2"):
            raise ValueError(
                f"loss.reconstruction must be l1 or l2, got {config.loss.reconstruction!r}"
            )
        root = data_dir()
        clips = read_label_table(
            config.data.label_table,
            root=root,
            min_confidence=config.data.min_confidence,
            human_labels=config.data.human_labels or None,
        )
        if info.is_main:
            cache = build_cache(clips, root / config.data.cache_dir, progress=True)
        if info.distributed:
            dist.barrier()
        cache = build_cache(clips, root / config.data.cache_dir)  # exists by now: just the path
        self.corpus = FeatureCorpus(cache)
        train_idx = self.corpus.indices("train")
        val_idx = self.corpus.indices(config.data.val_split)
        if not val_idx:
            log.warning("no %r clips: validating on training clips", config.data.val_split)
            val_idx = train_idx
        self.normalizer = Normalizer.fit(self.corpus, train_idx)
        n = config.data.segment_frames
        self.train_set = SegmentDataset(
            self.corpus, train_idx, self.normalizer, segment_frames=n, seed=config.train.seed
        )
        val_set = SegmentDataset(
            self.corpus, val_idx, self.normalizer, segment_frames=n, seed=config.train.seed + 1
        )
        self.present = torch.tensor(self.train_set.emotions)
        self.moments = torch.from_numpy(
            emotion_prosody_moments(self.corpus, train_idx, self.normalizer)
        )
        self.val_batches = [
            self._collate([val_set[i] for i in range(a, min(a + 16, config.data.val_segments))])
            for a in range(0, config.data.val_segments, 16)
        ]
        self._build_models()
        self._log_data_summary()

    def _build_models(self) -> None:
        """Generator (with the normaliser and rate ratios inside), discriminator, auxiliary
        classifier, their optimisers and LR schedulers."""
        config = self.config
        m = config.model
        self.model_kwargs = {
            "n_spec": int(self.normalizer.spec_mean.shape[0]),
            "n_emotions": len(EMOTIONS),
            "channels": m.channels,
            "n_blocks": m.n_blocks,
            "base_2d": m.base_2d,
            "prosody_channels": m.prosody_channels,
            "prosody_blocks": m.prosody_blocks,
        }
        generator = EmotionGenerator(**self.model_kwargs)
        self.normalizer.store_in(generator)
        generator.log_rate.copy_(torch.from_numpy(self.corpus.log_rate_ratios()).float())
        disc = EmotionDiscriminator(
            n_spec=self.model_kwargs["n_spec"], n_emotions=len(EMOTIONS), channels=m.disc_channels
        )
        classifier = AuxEmotionClassifier(
            n_spec=self.model_kwargs["n_spec"], n_emotions=len(EMOTIONS), channels=m.cls_channels
        )
        self.modules = {"generator": generator, "discriminator": disc, "classifier": classifier}
        self.optimizers = config.loss.adam(
            {name: module.parameters() for name, module in self.modules.items()}, config.train.lr
        )
        self.schedulers = config.loss.schedulers(self.optimizers, config.train)

    def _log_data_summary(self) -> None:
        generator = self.modules["generator"]
        counts = {
            e: sum(c.emotion == e for c in self.corpus.clips if c.split == "train")
            for e in EMOTIONS
        }
        log.info("emotion training clips per emotion: %s", counts)
        log.info(
            "prosody moments [lf0 mean, lf0 std, energy mean, energy std]: %s",
            {
                EMOTIONS[e]: np.round(self.moments[e].numpy().ravel(), 3).tolist()
                for e in self.train_set.emotions
            },
        )
        log.info(
            "log rate ratios: %s", dict(zip(EMOTIONS, generator.log_rate.tolist(), strict=True))
        )

    # -- batches ---------------------------------------------------------------------------
    @staticmethod
    def _collate(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        return {k: torch.stack([it[k] for it in items]) for k in items[0]}

    def _targets(self, labels: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        """A random emotion ≠ the source for each item, among the emotions in the data."""
        out = []
        for s in labels.tolist():
            choices = [e for e in self.present.tolist() if e != s] or [s]
            out.append(choices[int(rng.integers(len(choices)))])
        return torch.tensor(out, dtype=torch.int64)

    def make_batch(self, step: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        items = [
            self.train_set[int(rng.integers(2**62))] for _ in range(self.config.train.batch_size)
        ]
        batch = self._collate(items)
        batch["target"] = self._targets(batch["label"], rng)
        return batch

    # -- training --------------------------------------------------------------------------
    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        g, d, c = (self.modules[k] for k in ("generator", "discriminator", "classifier"))
        opt = self.optimizers
        lc = self.config.loss
        x = (batch["spec"], batch["pros"])
        voiced, src, tgt = batch["voiced"], batch["label"], batch["target"]

        # discriminator
        with torch.no_grad():
            fake = g(*x, voiced, _one_hot(tgt))
        both = [torch.cat(pair) for pair in zip(x, fake, strict=True)]
        scores = d(*both, torch.cat([voiced, voiced]), torch.cat([src, tgt]))
        d_real, d_fake = scores.chunk(2)
        loss_d = ((d_real - 1) ** 2).mean() + (d_fake**2).mean()
        clipped_step(loss_d, d, opt["discriminator"], lc.grad_clip)

        # auxiliary classifier on real data only
        logits_real = c(*x, voiced)
        loss_c = F.cross_entropy(logits_real, src)
        clipped_step(loss_c, c, opt["classifier"], lc.grad_clip)

        # generator
        fake = g(*x, voiced, _one_hot(tgt))
        adv = ((d(*fake, voiced, tgt) - 1) ** 2).mean()
        cls = F.cross_entropy(c(*fake, voiced), tgt)
        # cycle and identity mappings in one forward (one grad-enabled G call after `fake`)
        back = g(
            *(torch.cat(pair) for pair in zip(fake, x, strict=True)),
            torch.cat([voiced, voiced]),
            _one_hot(torch.cat([src, src])),
        )
        rec = mean_squared_error if lc.reconstruction == "l2" else mean_abs_error
        cyc = rec(tuple(b.chunk(2)[0] for b in back), x)
        use_id = lc.id_until_step <= 0 or step < lc.id_until_step
        idt = rec(tuple(b.chunk(2)[1] for b in back), x) if use_id else torch.zeros(())
        stat = prosody_moment_loss(fake[1], x[1], voiced, src, tgt, self.moments)
        loss_g = (
            adv
            + lc.lambda_cls * cls
            + lc.lambda_cyc * cyc
            + lc.lambda_id * idt
            + lc.lambda_moment * stat
        )
        clipped_step(loss_g, g, opt["generator"], lc.grad_clip)
        for module in (d, c):  # G's backward left gradients there; they are not used
            module.zero_grad(set_to_none=True)
        return {
            "d": loss_d.item(),
            "c": loss_c.item(),
            "g_adv": adv.item(),
            "g_cls": cls.item(),
            "cyc": cyc.item(),
            "id": idt.item(),
            "moment": stat.item(),
            "c_acc_real": (logits_real.argmax(1) == src).float().mean().item(),
        }

    # -- validation ------------------------------------------------------------------------
    def validate(self) -> dict[str, float]:
        g = unwrap(self.modules["generator"])
        c = unwrap(self.modules["classifier"])
        scale = self.normalizer.prosody_scale
        real_hits = conv_hits = total = conv_total = 0
        cyc_sum = id_sum = moment_sum = 0.0
        f0_shift: dict[int, list[float]] = {e: [] for e in self.present.tolist()}
        en_shift: dict[int, list[float]] = {e: [] for e in self.present.tolist()}
        present = self.present.tolist()
        for batch in self.val_batches:
            x = (batch["spec"], batch["pros"])
            voiced, src = batch["voiced"], batch["label"]
            real_hits += int((c(*x, voiced).argmax(1) == src).sum())
            total += len(src)
            id_sum += float(mean_abs_error(g(*x, voiced, _one_hot(src)), x)) * len(src)
            for k in range(1, len(present)):
                tgt = torch.tensor(
                    [present[(present.index(s) + k) % len(present)] for s in src.tolist()]
                )
                fake = g(*x, voiced, _one_hot(tgt))
                conv_hits += int((c(*fake, voiced).argmax(1) == tgt).sum())
                conv_total += len(tgt)
                cyc_sum += float(mean_abs_error(g(*fake, voiced, _one_hot(src)), x)) * len(src)
                moment_sum += float(
                    prosody_moment_loss(fake[1], x[1], voiced, src, tgt, self.moments)
                ) * len(src)
                delta = fake[1] - x[1]  # (B, 2, N) normalised
                for i, t in enumerate(tgt.tolist()):
                    v = voiced[i, 0] > 0
                    if v.any():
                        f0_shift[t].append(
                            float(delta[i, 0][v].mean()) * scale[0] * SEMITONES_PER_LN
                        )
                    en_shift[t].append(float(delta[i, 1].mean()) * scale[1])
        metrics = {
            "c_acc_real": real_hits / total,
            "c_acc_converted": conv_hits / max(conv_total, 1),
            "cyc_l1": cyc_sum / max(conv_total, 1),
            "id_l1": id_sum / total,
            "moment_err": moment_sum / max(conv_total, 1),
        }
        for e in present:
            if f0_shift[e]:
                metrics[f"f0_shift_st_{EMOTIONS[e]}"] = float(np.mean(f0_shift[e]))
            if en_shift[e]:
                metrics[f"energy_shift_db_{EMOTIONS[e]}"] = float(np.mean(en_shift[e]))
        return metrics

    # -- export ----------------------------------------------------------------------------
    def export(self) -> Export:
        counts = {
            split: {
                e: sum(c.emotion == e and c.split == split for c in self.corpus.clips)
                for e in EMOTIONS
            }
            for split in sorted({c.split for c in self.corpus.clips})
        }
        return Export(
            self.modules["generator"],
            "emotion.stargan",
            self.model_kwargs,
            SAMPLE_RATE,
            extra={
                "emotions": list(EMOTIONS),
                "label_table": self.config.data.label_table,
                "human_labels": self.config.data.human_labels,
                "label_provenance": human_label_provenance(self.config.data.human_labels),
                "clip_counts": counts,
                "speakers": len({c.speaker for c in self.corpus.clips}),
                "normalizer": {
                    k: np.asarray(v).tolist() for k, v in asdict(self.normalizer).items()
                },
            },
        )
