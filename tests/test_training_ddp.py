"""Two-process DDP (gloo) run of the real training CLI under torchrun, on a tiny model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

REPO = Path(__file__).resolve().parent.parent


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
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "pipeline.train",
        "enhance",
        "--config",
        str(path),
    ]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rank 1 / 2" in proc.stderr
    state = torch.load(tmp_path / "run" / "train_state.pt", weights_only=True)
    assert state["step"] == 4 and state["world_size"] == 2
    assert len(state["rng"]) == 2  # per-rank RNG states gathered for exact resume
    payload = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert payload["extra"]["step"] == 4
