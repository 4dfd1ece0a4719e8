"""Two-process DDP (gloo) runs of the real training CLI under torchrun, on tiny models of both
tasks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from conftest import TINY_EMOTION_GAN, make_emotion_corpus

REPO = Path(__file__).resolve().parent.parent


def torchrun(args: list[str], *, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m pipeline.train ARGS`` under ``torchrun --nproc_per_node=2`` (gloo, CPU)."""
    env = {**os.environ, **(env or {}), "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    cmd += ["-m", "pipeline.train", *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


@pytest.mark.slow
def test_torchrun_two_processes(tmp_path):
    config = {
        "train": {
            "steps": 4,
            "batch_size": 2,
            "log_every": 2,
            "val_every": 4,
            "ckpt_every": 2,
            "out_dir": str(tmp_path / "run"),
        },
        "generator": {"hidden": 16, "gru_layers": 1},
        "discriminator": {"channels": 8},
        "loss": {"adv_start": 1, "warmup_steps": 0},
        "data": {"source": "synthetic", "valid_items": 1, "segment_seconds": 0.5},
    }
    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    proc = torchrun(["enhance", "--config", str(path)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rank 1 / 2" in proc.stderr
    state = torch.load(tmp_path / "run" / "train_state.pt", weights_only=True)
    assert state["step"] == 4 and state["world_size"] == 2
    assert len(state["rng"]) == 2  # per-rank RNG states gathered for exact resume
    payload = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert payload["extra"]["step"] == 4


@pytest.mark.slow
def test_torchrun_two_processes_emotion(tmp_path):
    """The emotion GAN under DDP: the feature cache is built once, both ranks train, and the
    resumed run continues the step count with per-rank RNG states."""
    table = make_emotion_corpus(tmp_path, clips_per_cell=1)
    out = tmp_path / "run"
    config = tmp_path / "cfg.yaml"
    config.write_text("train:\n  seed: 2\n", encoding="utf-8")
    sets = [x for item in TINY_EMOTION_GAN for x in ("--set", item)]
    args = ["emotion", "--config", str(config), *sets, "--set", f"data.label_table={table}"]
    args += ["--set", f"train.out_dir={out}", "--set", "train.steps=3"]
    env = {"STUDIO_DATA": str(tmp_path)}
    proc = torchrun(args, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rank 1 / 2" in proc.stderr
    state = torch.load(out / "train_state.pt", weights_only=True)
    assert state["step"] == 3 and state["world_size"] == 2 and len(state["rng"]) == 2
    proc = torchrun([*args, "--set", "train.steps=5", "--resume"], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    state = torch.load(out / "train_state.pt", weights_only=True)
    assert state["step"] == 5
    payload = torch.load(out / "last.pt", weights_only=True)
    assert payload["arch"] == "emotion.stargan" and payload["extra"]["step"] == 5
