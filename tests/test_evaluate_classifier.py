"""The evaluation emotion classifier: features, training, scoring, checkpoint round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipeline.checkpoint import save_model
from pipeline.constants import EMOTIONS
from pipeline.emotion.classifier import (
    FEATURE_DIM,
    EmotionJudge,
    feature_names,
    utterance_features,
)
from pipeline.evaluate.classifier_train import fit, load_classifier, score
from pipeline.signals import synthetic_voice


def _synthetic(n_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Five Gaussian blobs in 12-D with a large raw scale (tests the stored standardisation)."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(0, 3, size=(len(EMOTIONS), 12))
    x = np.concatenate([c + rng.normal(0, 1, size=(n_per_class, 12)) for c in centres])
    y = np.repeat(np.arange(len(EMOTIONS)), n_per_class)
    return (x * 50 + 200).astype(np.float32), y


def test_fit_and_predict_on_separable_features(tmp_path):
    x, y = _synthetic(30, 0)
    xv, yv = _synthetic(10, 1)
    model, info = fit(x, y, epochs=80, seed=0, valid=(xv, yv))
    probs = model.predict_proba(xv)
    assert probs.shape == (len(yv), len(EMOTIONS))
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    rep = score(yv, probs.argmax(axis=1), EMOTIONS)
    assert rep.accuracy >= 0.9 and rep.balanced_accuracy >= 0.9
    assert 1 <= info["epoch"] <= 80
    save_model(
        tmp_path / "clf" / "model.pt",
        model,
        arch="emotion.classifier",
        model_kwargs={"input_dim": 12, "hidden": 64, "n_classes": 5, "dropout": 0.3},
        sample_rate=16_000,
        extra={"labels": list(EMOTIONS)},
    )
    loaded, labels = load_classifier(tmp_path / "clf")
    assert labels == EMOTIONS
    assert np.allclose(loaded.predict_proba(xv), probs, atol=1e-6)


def test_score_confusion_and_chance():
    y_true = np.array([0, 0, 0, 1, 2, 2])
    y_pred = np.array([0, 0, 1, 1, 0, 2])
    rep = score(y_true, y_pred, EMOTIONS)
    assert rep.accuracy == pytest.approx(4 / 6)
    assert rep.balanced_accuracy == pytest.approx((2 / 3 + 1 + 1 / 2) / 3)
    assert rep.majority_chance == pytest.approx(0.5) and rep.uniform_chance == pytest.approx(1 / 3)
    assert rep.confusion[2, 0] == 1 and rep.confusion.sum() == 6
    table = rep.markdown("t")
    assert "| neutral | 2 | 1 |" in table and "\n| sad |" not in table  # absent classes: no row


def test_utterance_features_shape_and_response():
    sr = 16_000
    low = utterance_features(synthetic_voice(1.5, sr, f0_hz=110.0), sr)
    high = utterance_features(synthetic_voice(1.5, 22_050, f0_hz=220.0), 22_050)
    assert low.shape == high.shape == (FEATURE_DIM,) and len(feature_names()) == FEATURE_DIM
    assert np.all(np.isfinite(low)) and np.all(np.isfinite(high))
    f0_mean = feature_names().index("f0_mean_st")
    assert high[f0_mean] - low[f0_mean] == pytest.approx(12.0, abs=1.5)  # one octave


def test_model_standardises_inside():
    model = EmotionJudge(input_dim=3, hidden=8, n_classes=5)
    model.set_normalization(np.array([[0.0, 10.0, 100.0], [2.0, 30.0, 300.0]]))
    assert torch.allclose(model.feature_mean, torch.tensor([1.0, 20.0, 200.0]))
    assert model(torch.zeros(4, 3)).shape == (4, 5)


def test_judge_features_with_whisper_and_checkpoint_match(tmp_path):
    from pipeline.evaluate.classifier_train import WHISPER_DIM, JudgeFeatures, load_judge

    wave = synthetic_voice(1.2, 22_050, f0_hz=180.0)
    acoustic = JudgeFeatures("acoustic")(wave, 22_050)
    extract = JudgeFeatures("acoustic+whisper")
    both = extract(wave, 22_050)
    assert both.shape == (FEATURE_DIM + WHISPER_DIM,) == (extract.dim,)
    assert np.all(np.isfinite(both)) and np.allclose(both[:FEATURE_DIM], acoustic)
    assert np.std(both[FEATURE_DIM:]) > 0  # the encoder says something about the clip
    with pytest.raises(ValueError, match="unknown feature set"):
        JudgeFeatures("mfcc")
    kwargs = {"input_dim": FEATURE_DIM, "hidden": 8, "n_classes": 5, "dropout": 0.0}
    extra = {"labels": list(EMOTIONS), "feature_set": "acoustic+whisper"}
    path = tmp_path / "judge" / "model.pt"
    save_model(
        path,
        EmotionJudge(**kwargs),
        arch="emotion.classifier",
        model_kwargs=kwargs,
        sample_rate=16_000,
        extra=extra,
    )
    with pytest.raises(ValueError, match="does not match"):
        load_judge(path.parent)  # an acoustic-size model claiming whisper features


@pytest.mark.slow
def test_train_and_save_writes_a_loadable_judge_report_and_card(tmp_path):
    """``python -m pipeline.evaluate train-classifier``'s body, on a tiny synthetic label table."""
    from conftest import make_emotion_corpus

    from pipeline.cards import ModelCard
    from pipeline.evaluate.classifier_train import load_judge, train_and_save

    table = make_emotion_corpus(tmp_path, clips_per_cell=1)
    out = tmp_path / "judge"
    text = train_and_save(
        labels_path=table, out_dir=out, data_root=tmp_path, epochs=3, per_group=2, min_confidence=0
    )
    assert "valid split" in text and (out / "report.md").read_text(encoding="utf-8") == text
    model, labels, features = load_judge(out)
    assert labels == EMOTIONS and features.feature_set == "acoustic"
    assert isinstance(model, EmotionJudge) and not model.training
    card = ModelCard.read(out / "card.json")
    assert "--epochs 3" in card.training_command and card.metrics["train_clips"] == 8
