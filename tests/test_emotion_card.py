"""The emotion GAN's model card, built from a tiny fake run (no corpus, no training)."""

from __future__ import annotations

import csv
from pathlib import Path

import torch

from pipeline.emotion.card import build_card, label_counts, table_agreement


def _table(path: Path, rows: list[tuple[str, str, str, str, str, float]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "speaker", "emotion", "split", "route", "confidence"])
        writer.writerows(rows)
    return path


def test_card_numbers_come_from_the_run_and_the_table(tmp_path: Path) -> None:
    table = _table(
        tmp_path / "labels.csv",
        [
            ("a/1.wav", "a", "happy", "train", "phrase", 0.9),
            ("a/2.wav", "a", "sad", "train", "phrase", 0.4),
            ("b/1.wav", "b", "angry", "train", "circumplex", 0.8),
            ("c/1.wav", "c", "happy", "test", "phrase", 1.0),
            ("c/2.wav", "c", "bored", "train", "phrase", 1.0),  # not a studio emotion
        ],
    )
    assert label_counts(table, 0.5) == "circumplex: angry 1; phrase: happy 1"
    payload = {
        "model_kwargs": {"n_blocks": 2, "channels": 16},
        "sample_rate": 16_000,
        "extra": {
            "step": 120,
            "elapsed_s": 600.0,
            "envelope_weight": 0.5,
            "config": {"data": {"min_confidence": 0.5, "segment_frames": 100}},
        },
    }
    model = torch.nn.Linear(3, 2)
    card = build_card(
        "tiny", payload, model, labels=table, command="python -m pipeline.train emotion", metrics={}
    )
    assert card.name == "tiny" and card.task == "emotion" and card.parameters == 8
    assert card.training_steps == 120 and card.training_time.startswith("10 min")
    assert "2 conditional-instance-norm residual blocks (16 channels)" in card.architecture
    assert "0.50 s segments" in card.architecture and "envelope_weight 0.5" in card.architecture
    assert "circumplex: angry 1; phrase: happy 1" in card.training_data
    assert "(120 steps)" in card.limitations

    other = _table(tmp_path / "other.csv", [("a/1.wav", "a", "happy", "train", "phrase", 0.9)])
    assert table_agreement(other, table).startswith("1 of 4 labelled clips identical")


def test_envelope_gan_card_says_where_the_emotion_comes_from() -> None:
    from pipeline.emotion.envelope.card import build_card as build_envelope_card

    meta = {
        "model_kwargs": {"n_spec": 36, "n_blocks": 4, "channels": 64},
        "sample_rate": 16_000,
        "extra": {
            "labels_used": "none",
            "step": 300,
            "clips_per_split": {"train": 10},
            "speakers": 3,
            "metrics_logged": {"step": 250, "rec_l1": 0.41234},
        },
    }
    card = build_envelope_card(
        "env", meta, parameters=360_000, training_command="cmd", training_time="5 min", size_mb=1.5
    )
    assert card.kind == "gan" and card.training_steps == 300 and card.parameters == 360_000
    assert "| angry | +2.0 |" in card.summary  # the literature profile table
    assert "labels_used = 'none'" in card.label_provenance
    assert "0.36 M parameters" in card.architecture and "4 dilated" in card.architecture
    assert card.metrics["validation rec_l1 (step 250, log.csv)"] == 0.4123
    assert (
        card.metrics["checkpoint size (MB)"] == 1.5 and card.metrics["speakers (all splits)"] == 3
    )
