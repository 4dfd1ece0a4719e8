"""The evaluation emotion judge (:class:`pipeline.emotion.classifier.EmotionJudge`) as a
:class:`pipeline.train.loop.TrainTask`, trained by the shared :class:`pipeline.train.loop.Trainer`.

One training step is one full-batch epoch over the utterance features: AdamW on
class-balanced cross-entropy, with Gaussian input noise of ``input_noise`` feature standard
deviations drawn from the task's own generator (seeded by ``train.seed``). Validation is the
balanced accuracy on the valid features (``valid_bacc``, :func:`score`); the loop keeps the
best step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from pipeline.constants import EMOTIONS, SAMPLE_RATE
from pipeline.emotion.classifier import EmotionJudge
from pipeline.optim import clipped_step, warmup_cosine_schedulers
from pipeline.train.loop import Export, TrainConfig, unwrap

ARCH = "emotion.classifier"


@dataclass(frozen=True)
class ClassifierReport:
    """Scores of the classifier on one labelled set."""

    n: int
    accuracy: float
    balanced_accuracy: float
    majority_chance: float
    uniform_chance: float
    confusion: np.ndarray  # (K, K): rows true class, columns predicted class
    labels: tuple[str, ...]

    def markdown(self, title: str) -> str:
        present = self.confusion.sum(axis=1) > 0
        lines = [
            f"**{title}** — {self.n} clips: accuracy {self.accuracy:.3f}, balanced accuracy "
            f"{self.balanced_accuracy:.3f} (chance: majority class {self.majority_chance:.3f}, "
            f"uniform {self.uniform_chance:.3f}).",
            "",
            "| true \\ predicted | " + " | ".join(self.labels) + " | recall |",
            "|---|" + "---|" * (len(self.labels) + 1),
        ]
        for i, name in enumerate(self.labels):
            if not present[i]:
                continue
            row = self.confusion[i]
            recall = row[i] / row.sum()
            lines.append(
                f"| {name} | " + " | ".join(str(int(v)) for v in row) + f" | {recall:.2f} |"
            )
        return "\n".join(lines)


def score(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> ClassifierReport:
    """Accuracy, balanced accuracy (over classes present in ``y_true``), chance, confusion."""
    k = len(labels)
    y_true, y_pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (y_true, y_pred), 1)
    support = confusion.sum(axis=1)
    present = support > 0
    recalls = np.diag(confusion)[present] / support[present]
    n = len(y_true)
    return ClassifierReport(
        n=n,
        accuracy=float(np.mean(y_true == y_pred)) if n else float("nan"),
        balanced_accuracy=float(recalls.mean()) if n else float("nan"),
        majority_chance=float(support.max() / n) if n else float("nan"),
        uniform_chance=1.0 / max(int(present.sum()), 1),
        confusion=confusion,
        labels=tuple(labels),
    )


@dataclass
class JudgeTrainConfig:
    """The judge's model size, regularisation and loop settings (``train.steps`` = epochs)."""

    hidden: int = 64
    dropout: float = 0.3
    weight_decay: float = 1e-3
    input_noise: float = 0.05  # training-time input noise, in feature standard deviations
    grad_clip: float = 0.0  # gradient-norm limit (0: off, as the shipped judge was trained)
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            steps=300, lr=3e-3, log_every=10, val_every=10, best_metric="valid_bacc"
        )
    )


class JudgeTask:
    """Full-batch training of an :class:`EmotionJudge` on ``(N, D)`` features.

    Args:
        config: sizes and settings; ``config.train.seed`` seeds the model and the noise.
        features, targets: ``(N, D)`` raw utterance features and ``(N,)`` class indices.
        n_classes: classes, in the order of :data:`pipeline.constants.EMOTIONS`.
        valid: optional ``(features, targets)`` for ``valid_bacc``.
    """

    config_class = JudgeTrainConfig

    def __init__(
        self,
        config: JudgeTrainConfig,
        features: np.ndarray,
        targets: np.ndarray,
        *,
        n_classes: int = len(EMOTIONS),
        valid: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.config = config
        self.noise = torch.Generator().manual_seed(config.train.seed)
        torch.manual_seed(config.train.seed)
        self.model_kwargs = {
            "input_dim": int(features.shape[1]),
            "hidden": config.hidden,
            "n_classes": n_classes,
            "dropout": config.dropout,
        }
        model = EmotionJudge(**self.model_kwargs)
        model.set_normalization(features)
        self.x = torch.as_tensor(features, dtype=torch.float32)
        self.y = torch.as_tensor(targets, dtype=torch.long)
        counts = torch.bincount(self.y, minlength=n_classes).float()
        weights = torch.where(
            counts > 0, counts.sum() / (counts.clamp_min(1) * (counts > 0).sum()), 0.0
        )
        self.loss_fn = nn.CrossEntropyLoss(weight=weights)
        self.modules: dict[str, nn.Module] = {"judge": model}
        self.optimizers = {
            "judge": torch.optim.AdamW(
                model.parameters(), lr=config.train.lr, weight_decay=config.weight_decay
            )
        }
        self.schedulers = warmup_cosine_schedulers(
            self.optimizers, {"judge": 1.0}, config.train, warmup_steps=0, final_scale=1.0
        )
        self.valid = valid
        self.labels = EMOTIONS[:n_classes]

    def make_batch(self, step: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """The whole training set with fresh input noise (from the task's own generator)."""
        std = unwrap(self.modules["judge"]).feature_std
        noise = self.config.input_noise * torch.randn(self.x.shape, generator=self.noise) * std
        return self.x + noise, self.y

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor], step: int) -> dict[str, float]:
        x, y = batch
        judge = self.modules["judge"]
        loss = self.loss_fn(judge(x), y)
        return {"loss": clipped_step(loss, judge, self.optimizers["judge"], self.config.grad_clip)}

    def validate(self) -> dict[str, float]:
        if self.valid is None:
            return {}
        pred = unwrap(self.modules["judge"]).predict_proba(self.valid[0]).argmax(axis=1)
        return {"valid_bacc": score(self.valid[1], pred, self.labels).balanced_accuracy}

    def export(self) -> Export:
        return Export(self.modules["judge"], ARCH, self.model_kwargs, SAMPLE_RATE)
