"""Device-agnostic training: ``--device`` selection, AMP, and a tiny CPU run through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from pipeline.devices import DeviceError, autocast, ddp_backend, resolve_device, to_device
from pipeline.train import cli as train

TINY = {
    "train": {"steps": 2, "batch_size": 2, "log_every": 1, "val_every": 2, "ckpt_every": 2},
    "generator": {"hidden": 8, "gru_layers": 1},
    "discriminator": {"channels": 4},
    "loss": {"adv_start": 1, "warmup_steps": 0},
    "data": {"source": "synthetic", "valid_items": 1, "segment_seconds": 0.5},
}


def test_resolve_device_choices() -> None:
    assert resolve_device("auto", cuda_available=False) == torch.device("cpu")
    assert resolve_device("auto", 1, cuda_available=True) == torch.device("cuda:1")
    assert resolve_device("cuda", 0, cuda_available=True) == torch.device("cuda:0")
    assert resolve_device("cuda:3", 0, cuda_available=True) == torch.device("cuda:3")
    assert resolve_device("cpu", cuda_available=True) == torch.device("cpu")
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        resolve_device("cuda", cuda_available=False)
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    assert ddp_backend(torch.device("cuda:0")) == "nccl"
    assert ddp_backend(torch.device("cpu")) == "gloo"


def test_to_device_and_cpu_autocast() -> None:
    batch = (torch.zeros(2), [torch.ones(1)], {"x": torch.ones(3)}, "label")
    moved = to_device(batch, torch.device("cpu"))
    assert moved[3] == "label" and moved[2]["x"].device.type == "cpu"
    layer = torch.nn.Linear(4, 4)
    with autocast(torch.device("cpu"), True):
        assert layer(torch.ones(1, 4)).dtype == torch.bfloat16
    with autocast(torch.device("cpu"), False):
        assert layer(torch.ones(1, 4)).dtype == torch.float32


def _run(tmp_path: Path, *extra: str) -> int:
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY), encoding="utf-8")
    out = tmp_path / "run"
    return train.main(["enhance", "--config", str(config), "--set", f"train.out_dir={out}", *extra])


def test_tiny_cpu_run_with_device_flag_records_it(tmp_path: Path) -> None:
    assert _run(tmp_path, "--device", "cpu") == 0
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["train"]["device"] == "cpu" and saved["train"]["amp"] is False
    state = torch.load(tmp_path / "run" / "train_state.pt", map_location="cpu", weights_only=True)
    assert state["step"] == 2


def test_tiny_cpu_run_with_amp_resumes(tmp_path: Path) -> None:
    assert _run(tmp_path, "--device", "auto", "--amp") == 0
    assert _run(tmp_path, "--device", "cpu", "--resume", "--set", "train.steps=3") == 0
    state = torch.load(tmp_path / "run" / "train_state.pt", map_location="cpu", weights_only=True)
    assert state["step"] == 3
    tensors = [t for m in state["modules"].values() for t in m.values()]
    assert all(t.device.type == "cpu" and torch.isfinite(t).all() for t in tensors)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_request_without_gpu_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    assert _run(tmp_path, "--device", "cuda") == 2
    assert capsys.readouterr().err.strip() == (
        "error: --device cuda asked for, but torch sees no CUDA GPU"
    )
