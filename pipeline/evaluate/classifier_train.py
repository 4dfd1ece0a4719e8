"""Train and check the evaluation emotion classifier on the label table's real speech.

Speaker-disjoint by construction: it trains on the label table's ``train`` split (plus
``valid`` for choosing the epoch) and is scored on the ``test`` split, whose speakers are
exactly the held-out speakers the emotion conversion is evaluated on. The report gives
accuracy, balanced accuracy (mean per-class recall), both chance levels and the confusion
matrix on that real held-out speech *before* the classifier is used to judge conversions.

The checkpoint is ``<out_dir>/model.pt`` (a studio checkpoint, arch ``emotion.classifier``,
``extra`` holds the label order and the feature settings) with ``card.json`` and
``report.md`` next to it.

Feature sets (:class:`JudgeFeatures`): ``acoustic`` (log-mel statistics and prosody, see
:mod:`pipeline.emotion.classifier`) and ``acoustic+whisper``, which appends the mean and
standard deviation of Whisper tiny.en's encoder states (768 values,
:meth:`pipeline.evaluate.asr.Transcriber.encoder_embedding`) — representations of a model
trained on 680 k hours of speech, which carry paralinguistic information the hand-made
statistics miss.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from pipeline.cards import ModelCard
from pipeline.checkpoint import count_parameters, load_model, read_checkpoint, save_model
from pipeline.constants import EMOTIONS
from pipeline.emotion.classifier import (
    FEATURE_DIM,
    EmotionJudge,
    MelFrontEnd,
    utterance_features,
)
from pipeline.emotion.features import SAMPLE_RATE
from pipeline.evaluate.judge_task import ARCH, JudgeTask, JudgeTrainConfig, score
from pipeline.train.loop import DistInfo, TrainConfig, Trainer

log = logging.getLogger(__name__)

FEATURE_VERSION = 1
F0_METHOD = "harvest"
FEATURE_SETS = ("acoustic", "acoustic+whisper")
WHISPER_DIM = 768  # mean + std of tiny.en's 384-wide encoder states


class JudgeFeatures:
    """The judge's utterance features for one ``feature_set`` (one of :data:`FEATURE_SETS`).

    Calling it maps ``(samples,)`` float audio at ``sr`` Hz to a ``(dim,)`` float32 vector;
    ``prosody`` may pass :func:`pipeline.emotion.prosody.prosody_stats` of the same audio
    (measured with :data:`F0_METHOD`) to save the F0 analysis.
    """

    def __init__(self, feature_set: str = "acoustic") -> None:
        if feature_set not in FEATURE_SETS:
            raise ValueError(f"unknown feature set {feature_set!r} (choose from {FEATURE_SETS})")
        self.feature_set = feature_set
        self.dim = FEATURE_DIM + (WHISPER_DIM if "whisper" in feature_set else 0)
        self.front_end = MelFrontEnd()
        self._transcriber = None

    def __call__(self, wave: np.ndarray, sr: int, *, prosody=None) -> np.ndarray:
        feats = utterance_features(wave, sr, self.front_end, prosody=prosody, f0_method=F0_METHOD)
        if "whisper" not in self.feature_set:
            return feats
        if self._transcriber is None:
            from pipeline.evaluate.asr import default_transcriber

            self._transcriber = default_transcriber()
        return np.concatenate([feats, self._transcriber.encoder_embedding(wave, sr)])


def fit(
    features: np.ndarray,
    targets: np.ndarray,
    *,
    n_classes: int = len(EMOTIONS),
    hidden: int = 64,
    dropout: float = 0.3,
    epochs: int = 300,
    lr: float = 3e-3,
    weight_decay: float = 1e-3,
    seed: int = 0,
    valid: tuple[np.ndarray, np.ndarray] | None = None,
    grad_clip: float = 0.0,
    out_dir: str | Path | None = None,
) -> tuple[EmotionJudge, dict]:
    """Full-batch AdamW training with class-balanced cross-entropy, run by the shared
    training loop as a :class:`pipeline.evaluate.judge_task.JudgeTask` (one step per epoch).

    Args:
        features: ``(N, D)`` raw utterance features; targets ``(N,)`` class indices.
        valid: optional ``(features, targets)``; the epoch with the best balanced accuracy
            on it is kept (else the last epoch).
        grad_clip: gradient-norm limit of each update (0: off, as the shipped judge was
            trained).
        out_dir: where the loop writes its files (log.csv, best.pt, ...); default: a
            temporary folder, removed afterwards.
    Returns:
        ``(model in eval mode, info)`` with ``info = {"epoch": kept epoch, "valid_bacc": ...}``.
    """
    config = JudgeTrainConfig(
        hidden=hidden, dropout=dropout, weight_decay=weight_decay, grad_clip=grad_clip
    )
    with tempfile.TemporaryDirectory(prefix="judge-") as scratch:
        config.train = TrainConfig(
            steps=epochs,
            lr=lr,
            seed=seed,
            log_every=10,
            val_every=10,
            ckpt_every=epochs,
            best_metric="valid_bacc",
            out_dir=str(out_dir or scratch),
        )
        task = JudgeTask(config, features, targets, n_classes=n_classes, valid=valid)
        trainer = Trainer(task, config.train, config=config, info=DistInfo())
        result = trainer.run(resume=False)
        model = task.modules["judge"]
        if result.best is not None:
            best = read_checkpoint(Path(config.train.out_dir) / "best.pt")
            model.load_state_dict(best["state_dict"], strict=True)
    model.eval()
    if result.best is None:
        return model, {"epoch": epochs, "valid_bacc": -1.0}
    return model, {"epoch": int(trainer.best_step), "valid_bacc": result.best}


def _cache_name(path: Path, feature_set: str) -> str:
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{FEATURE_VERSION}|{F0_METHOD}"
    if feature_set != "acoustic":
        key += f"|{feature_set}"
    return hashlib.sha1(key.encode()).hexdigest() + ".npy"


def clip_features(
    paths: Sequence[str | Path],
    cache_dir: str | Path | None = None,
    progress: Callable[[Iterable], Iterable] = lambda it: it,
    feature_set: str = "acoustic",
) -> np.ndarray:
    """``(N, dim)`` judge features (:class:`JudgeFeatures`) of audio files, cached one
    ``.npy`` per file and feature set."""
    extract = JudgeFeatures(feature_set)
    cache = Path(cache_dir) if cache_dir is not None else None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    rows = []
    for item in progress(list(paths)):
        path = Path(item)
        target = cache / _cache_name(path, feature_set) if cache is not None else None
        if target is not None and target.is_file():
            rows.append(np.load(target))
            continue
        wave, sr = sf.read(str(path), dtype="float32", always_2d=False)
        if wave.ndim == 2:
            wave = wave.mean(axis=1)
        feats = extract(wave, int(sr))
        if target is not None:  # atomic: another process may read the cache concurrently
            tmp = target.with_name(f".{target.stem}.{os.getpid()}.npy")
            np.save(tmp, feats)
            os.replace(tmp, target)
        rows.append(feats)
    return np.stack(rows) if rows else np.zeros((0, extract.dim), dtype=np.float32)


def balanced_subset(frame: pd.DataFrame, per_group: int, seed: int) -> pd.DataFrame:
    """At most ``per_group`` rows per (speaker, emotion), sampled with ``seed``."""
    parts = [
        g.sample(n=min(per_group, len(g)), random_state=seed)
        for _, g in frame.groupby(["speaker", "emotion"], sort=True)
    ]
    return pd.concat(parts).sort_index() if parts else frame.iloc[:0]


def load_classifier(folder: str | Path) -> tuple[EmotionJudge, tuple[str, ...]]:
    """Load ``<folder>/model.pt``; returns ``(model, label order)``."""
    model, meta = load_model(Path(folder) / "model.pt")
    return model, tuple(meta["extra"].get("labels", EMOTIONS))


def load_judge(folder: str | Path) -> tuple[EmotionJudge, tuple[str, ...], JudgeFeatures]:
    """Load ``<folder>/model.pt``; returns ``(model, label order, its feature extractor)``."""
    model, meta = load_model(Path(folder) / "model.pt")
    labels = tuple(meta["extra"].get("labels", EMOTIONS))
    features = JudgeFeatures(meta["extra"].get("feature_set", "acoustic"))
    if features.dim != model.feature_mean.shape[0]:
        raise ValueError(f"{folder}: checkpoint input size does not match {features.feature_set}")
    return model, labels, features


def train_and_save(
    *,
    labels_path: str | Path | None,
    out_dir: str | Path,
    data_root: str | Path | None = None,
    epochs: int = 300,
    seed: int = 0,
    per_group: int = 80,
    min_confidence: float = 0.6,
    hidden: int = 32,
    dropout: float = 0.5,
    weight_decay: float = 1e-2,
    cache_dir: str | Path | None = None,
    progress: Callable[[Iterable], Iterable] = lambda it: it,
    feature_set: str = "acoustic",
) -> str:
    """Train on the ``train`` split, select on ``valid``, report on ``test``; write the checkpoint.

    Only clips whose label ``confidence`` is at least ``min_confidence`` are used, at most
    ``per_group`` per (speaker, emotion) in every split (keeps the extraction time bounded and
    stops one big speaker, e.g. the 551 neutral asterisk prompts, from dominating a split).

    Returns:
        The markdown report (also written to ``<out_dir>/report.md``).
    """
    from pipeline.emotion.labels import LABELS_CSV

    started = time.perf_counter()
    labels_path = Path(labels_path or LABELS_CSV)
    splits = _feature_splits(
        labels_path, data_root, min_confidence, per_group, seed, cache_dir, progress, feature_set
    )
    valid = splits["valid"][:2] if len(splits["valid"][1]) else None
    model, info = fit(
        splits["train"][0],
        splits["train"][1],
        hidden=hidden,
        dropout=dropout,
        weight_decay=weight_decay,
        epochs=epochs,
        seed=seed,
        valid=valid,
    )
    reports = {
        split: score(y, model.predict_proba(x).argmax(axis=1), EMOTIONS)
        for split, (x, y, _) in splits.items()
        if len(y)
    }
    out = Path(out_dir)
    model_kwargs = {
        "input_dim": int(splits["train"][0].shape[1]),
        "hidden": hidden,
        "n_classes": len(EMOTIONS),
        "dropout": dropout,
    }
    _save_judge(out / "model.pt", model, model_kwargs, feature_set, int(info["epoch"]))
    text = _report_text(reports, splits, info["epoch"], epochs, time.perf_counter() - started)
    (out / "report.md").write_text(text, encoding="utf-8")
    settings = {
        "per_group": per_group,
        "min_confidence": min_confidence,
        "command": (
            f"python -m pipeline.evaluate train-classifier --epochs {epochs} --seed {seed} "
            f"--per-group {per_group} --min-confidence {min_confidence} --hidden {hidden} "
            f"--dropout {dropout} --weight-decay {weight_decay} --features {feature_set}"
        ),
        "weight_decay": weight_decay,
        "feature_set": feature_set,
    }
    _card(model, model_kwargs, reports, labels_path, splits, settings).write(out / "card.json")
    return text


def _save_judge(
    path: Path, model: EmotionJudge, model_kwargs: dict, feature_set: str, epoch: int
) -> None:
    """Write the judge's studio checkpoint (``extra``: label order, feature settings, epoch)."""
    extra = {
        "labels": list(EMOTIONS),
        "feature_version": FEATURE_VERSION,
        "feature_set": feature_set,
        "f0_method": F0_METHOD,
        "epoch": epoch,
    }
    save_model(
        path, model, arch=ARCH, model_kwargs=model_kwargs, sample_rate=SAMPLE_RATE, extra=extra
    )


def _feature_splits(
    labels_path: Path,
    data_root: str | Path | None,
    min_confidence: float,
    per_group: int,
    seed: int,
    cache_dir: str | Path | None,
    progress: Callable[[Iterable], Iterable],
    feature_set: str,
) -> dict[str, tuple[np.ndarray, np.ndarray, pd.DataFrame]]:
    """``split -> (features (N, D), targets (N,), rows)`` of the confident, balanced clips."""
    from pipeline.corpora import data_dir
    from pipeline.emotion.labels import load_labels

    table = load_labels(labels_path, data_dir=data_root or data_dir())
    if "confidence" in table:
        table = table[table["confidence"] >= min_confidence]
    index = {e: i for i, e in enumerate(EMOTIONS)}
    splits = {}
    for split in ("train", "valid", "test"):
        part = balanced_subset(table[table["split"] == split], per_group, seed)
        x = clip_features(list(part["abs_path"]), cache_dir, progress, feature_set)
        splits[split] = (x, part["emotion"].map(index).to_numpy(), part)
    if len(splits["train"][1]) == 0:
        raise ValueError(f"{labels_path}: no training clips")
    return splits


def _report_text(reports, splits, epoch: int, epochs: int, seconds: float) -> str:
    """The markdown report: per split (test first) with its speakers, then the kept epoch."""
    lines = ["## Evaluation emotion classifier", ""]
    for split in ("test", "valid", "train"):
        if split in reports:
            speakers = ", ".join(sorted(splits[split][2]["speaker"].unique()))
            lines += [reports[split].markdown(f"{split} split (speakers: {speakers})"), ""]
    lines.append(
        f"Epoch kept: {epoch} of {epochs} (best balanced accuracy on valid). "
        f"Training + feature extraction took {seconds:.0f} s."
    )
    return "\n".join(lines) + "\n"


def _card(model, model_kwargs, reports, labels_path, splits, settings) -> ModelCard:
    test = reports.get("test")
    metrics = {}
    for split, rep in reports.items():
        metrics[f"{split}_accuracy"] = round(rep.accuracy, 3)
        metrics[f"{split}_balanced_accuracy"] = round(rep.balanced_accuracy, 3)
        metrics[f"{split}_clips"] = rep.n
    if test is not None:
        metrics["test_majority_chance"] = round(test.majority_chance, 3)
    counts = {s: len(v[1]) for s, v in splits.items()}
    return ModelCard(
        name="emotion_classifier",
        task="emotion",
        title="Evaluation emotion classifier (judge, not a conversion system)",
        kind="evaluator",
        summary=(
            "Judges converted speech in `python -m pipeline.evaluate emotion`: a small MLP "
            "over utterance-level log-mel statistics and prosody (Harvest F0, energy, "
            "syllable rate)"
            + (
                ", plus the mean and spread of Whisper tiny.en encoder states"
                if "whisper" in settings["feature_set"]
                else ""
            )
            + ". Trained only on speakers other than the evaluation speakers."
        ),
        architecture=(
            f"MLP {model_kwargs['input_dim']} → {model_kwargs['hidden']} → "
            f"{model_kwargs['hidden']} → {model_kwargs['n_classes']} (GELU, dropout "
            f"{model_kwargs['dropout']}, AdamW weight decay {settings['weight_decay']}, "
            "class-balanced cross-entropy) with stored feature standardisation; features in "
            f"pipeline/emotion/classifier.py (feature set `{settings['feature_set']}`, "
            "pipeline/evaluate/classifier_train.py). Feature set and width picked by balanced "
            "accuracy on the valid split."
        ),
        parameters=count_parameters(model),
        sample_rate=SAMPLE_RATE,
        training_data=(
            f"Label table `{labels_path.name}`: train split (speaker-disjoint from "
            f"valid and test), label confidence >= {settings['min_confidence']}, at most "
            f"{settings['per_group']} clips "
            "per speaker and emotion in every split; "
            f"clips used: {counts}."
        ),
        label_provenance=(
            "The project's derived labels (docs/EMOTION_LABELS.md): phrase "
            "meaning for hedgewars exclamations, text valence + per-speaker "
            "acoustic arousal for Fish Fillets dialogue, 'read = neutral' for the "
            "asterisk prompts. The arousal half of the dialogue labels was itself "
            "derived from F0/energy/rate, so part of what this judge learns is "
            "that labelling rule."
        ),
        training_command=settings["command"],
        metrics=metrics,
        limitations=(
            "Few speakers and weakly derived labels; treat accuracies on converted "
            "speech as relative comparisons between systems, not absolute emotion "
            "recognition rates."
        ),
        license="Code: project licence. Data: see data manifest (GPL-2 / CC-BY-SA).",
    )
