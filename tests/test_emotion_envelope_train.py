"""Tiny label-free envelope-GAN training through the real CLI entry, reload and resume."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from conftest import make_emotion_corpus

from pipeline.checkpoint import load_model
from pipeline.emotion.envelope.model import EnvelopeGenerator
from pipeline.train.cli import main as train_main

TINY = [
    "model.channels=16",
    "model.n_blocks=1",
    "model.speaker_dim=8",
    "model.disc_channels=16",
    "data.segment_frames=32",
    "data.val_segments=8",
    "train.batch_size=4",
    "train.log_every=2",
    "train.val_every=3",
    "train.ckpt_every=3",
    "train.best_metric=rec_l1",
    "train.best_mode=min",
]


def make_manifest(root: Path) -> Path:
    """The synthetic corpus as a prepared-corpus manifest *without* any emotion column."""
    table = make_emotion_corpus(root, clips_per_cell=1)
    rows = list(csv.DictReader(table.open()))
    manifest = root / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        fields = ["path", "kind", "source", "speaker", "split", "duration_s"]
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for r in rows:
            writer.writerow(
                {
                    "path": r["path"],
                    "kind": "speech",
                    "source": "synth",
                    "speaker": r["speaker"],
                    "split": r["split"],
                    "duration_s": 0.9,
                }
            )
    return manifest


def test_tiny_envelope_training_checkpoint_and_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_manifest(tmp_path)
    monkeypatch.setenv("STUDIO_DATA", str(tmp_path))
    out = tmp_path / "run"
    config = tmp_path / "cfg.yaml"
    config.write_text(f"train:\n  out_dir: {out}\n  steps: 3\n  seed: 1\n")
    sets = [x for item in TINY for x in ("--set", item)]
    args = ["emotion_envelope", "--config", str(config), "--device", "cpu", *sets]
    assert train_main(args) == 0
    model, meta = load_model(out / "last.pt")  # weights_only=True inside
    assert isinstance(model, EnvelopeGenerator) and meta["arch"] == "emotion.envelope_gan"
    assert meta["extra"]["labels_used"] == "none"
    best = torch.load(out / "best.pt", weights_only=True)
    assert {"rec_l1", "d_louder", "louder_delta"} <= set(best["extra"]["metrics"])
    assert float(model.spec_std.min()) > 0
    assert train_main([*args, "--set", "train.steps=5", "--resume"]) == 0
    assert torch.load(out / "train_state.pt", weights_only=True)["step"] == 5
    # its learning-rate schedules are saved and resumed with the state (constant by default)
    schedulers = torch.load(out / "train_state.pt", weights_only=True)["schedulers"]
    assert {k: v["last_step"] for k, v in schedulers.items()} == {
        "generator": 5,
        "discriminator": 5,
    }


def test_unknown_device_is_refused(tmp_path: Path) -> None:
    """Every task shares ``--device auto|cpu|cuda`` (pipeline.devices); anything else is refused."""
    config = tmp_path / "cfg.yaml"
    config.write_text("train:\n  steps: 1\n")
    with pytest.raises(SystemExit) as exit_info:
        train_main(["emotion_envelope", "--config", str(config), "--device", "tpu"])
    assert exit_info.value.code == 2
