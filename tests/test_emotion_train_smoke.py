"""Tiny emotion-GAN training through the real CLI entry, checkpoint reload and exact resume."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from conftest import make_emotion_corpus, tiny_emotion_run

from pipeline.checkpoint import load_model
from pipeline.emotion.data import FeatureCorpus, build_cache, read_label_table
from pipeline.emotion.model import EmotionGenerator
from pipeline.emotion.normalize import Normalizer
from pipeline.emotion.segments import SegmentDataset
from pipeline.train.cli import main as train_main


def test_segments_are_deterministic_and_normalised(tmp_path: Path) -> None:
    table = make_emotion_corpus(tmp_path, clips_per_cell=1)
    corpus = FeatureCorpus(build_cache(read_label_table(table, root=tmp_path), tmp_path / "cache"))
    train = corpus.indices("train")
    norm = Normalizer.fit(corpus, train)
    data = SegmentDataset(corpus, train, norm, segment_frames=40, seed=3)
    a, b = data[7], data[7]
    assert (
        a["spec"].shape == (36, 40) and a["pros"].shape == (2, 40) and a["voiced"].shape == (1, 40)
    )
    assert torch.equal(a["spec"], b["spec"]) and int(a["label"]) == int(b["label"])
    # the synthetic happy voice is higher than the sad one of the same speaker
    means = {
        c.emotion: float(f.lf0[f.voiced > 0].mean())
        for c, f in zip(corpus.clips, corpus.feats, strict=True)
        if c.speaker == "a"
    }
    assert means["happy"] > means["neutral"] > means["sad"]
    stacked = torch.stack([data[i]["spec"] for i in range(40)])
    assert abs(float(stacked.mean())) < 0.5 and 0.3 < float(stacked.std()) < 2.0


def test_tiny_training_cli_checkpoint_and_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = make_emotion_corpus(tmp_path)
    monkeypatch.setenv("STUDIO_DATA", str(tmp_path))
    args, out = tiny_emotion_run(tmp_path, table, steps=3, train={"seed": 1})
    assert train_main(args) == 0
    for name in ("last.pt", "best.pt", "train_state.pt", "log.csv", "config.yaml"):
        assert (out / name).is_file(), name
    model, meta = load_model(out / "last.pt")  # weights_only=True inside
    assert isinstance(model, EmotionGenerator)
    assert meta["extra"]["step"] == 3 and meta["arch"] == "emotion.stargan"
    assert set(meta["extra"]["metrics"]) == set() or "c_acc_converted" in meta["extra"]["metrics"]
    best = torch.load(out / "best.pt", weights_only=True)
    assert "c_acc_converted" in best["extra"]["metrics"]
    assert float(model.spec_std.min()) > 0  # normalisation statistics travel with the weights

    assert train_main([*args, "--set", "train.steps=5", "--resume"]) == 0
    state = torch.load(out / "train_state.pt", weights_only=True)
    assert state["step"] == 5
    steps = [
        int(r["step"]) for r in csv.DictReader((out / "log.csv").open()) if r["split"] == "train"
    ]
    assert steps == sorted(steps) and steps[-1] == 5
