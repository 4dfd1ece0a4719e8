"""The shared training loop through the real CLI entry point, on a tiny enhancement GAN."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
import yaml

from pipeline.checkpoint import CheckpointError, load_model
from pipeline.train import cli as train

TINY = {
    "train": {
        "steps": 6,
        "batch_size": 2,
        "log_every": 2,
        "val_every": 3,
        "ckpt_every": 2,
        "best_metric": "si_sdr",
    },
    "generator": {"hidden": 16, "gru_layers": 1},
    "discriminator": {"channels": 8},
    # constant learning rate so a resumed run matches an uninterrupted one exactly
    "loss": {"adv_start": 2, "warmup_steps": 0, "final_lr_scale": 1.0},
    "data": {"source": "synthetic", "valid_items": 2, "segment_seconds": 0.5},
}


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY), encoding="utf-8")
    return path


def _run(config: Path, out: Path, *extra: str) -> int:
    return train.main(["enhance", "--config", str(config), "--set", f"train.out_dir={out}", *extra])


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_tiny_run_writes_checkpoints_log_and_config(tmp_path):
    config = _config(tmp_path)
    out = tmp_path / "run"
    assert _run(config, out) == 0
    for name in ("last.pt", "best.pt", "train_state.pt", "config.yaml", "log.csv"):
        assert (out / name).is_file(), name
    payload = torch.load(out / "last.pt", map_location="cpu", weights_only=True)
    assert payload["arch"] == "enhance.mask_gan" and payload["extra"]["step"] == 6
    model, meta = load_model(out / "best.pt")
    assert meta["sample_rate"] == 16_000 and type(model).__name__ == "MaskGenerator"
    assert yaml.safe_load((out / "config.yaml").read_text())["train"]["steps"] == 6
    text = (out / "log.csv").read_text()
    assert text.count("step,elapsed_s,split,metric,value") == 1
    rows = _rows(out / "log.csv")
    assert {r["split"] for r in rows} == {"train", "val"}
    assert {"d_loss", "g_loss", "pesq_wb", "stoi", "si_sdr"} <= {r["metric"] for r in rows}
    state = torch.load(out / "train_state.pt", map_location="cpu", weights_only=True)
    assert state["step"] == 6 and set(state["optimizers"]) == {"generator", "discriminator"}


def test_resume_continues_exactly(tmp_path):
    config = _config(tmp_path)
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert _run(config, straight) == 0
    assert _run(config, resumed, "--set", "train.steps=4") == 0
    assert torch.load(resumed / "train_state.pt", weights_only=True)["step"] == 4
    assert _run(config, resumed, "--resume") == 0
    a = torch.load(straight / "train_state.pt", weights_only=True)
    b = torch.load(resumed / "train_state.pt", weights_only=True)
    assert b["step"] == 6
    for module in ("generator", "discriminator"):
        for key, tensor in a["modules"][module].items():
            torch.testing.assert_close(b["modules"][module][key], tensor, rtol=0, atol=1e-6)
    # the log has each training step logged once, in order
    steps = [int(r["step"]) for r in _rows(resumed / "log.csv") if r["metric"] == "g_loss"]
    assert steps == [2, 4, 6]


def test_existing_run_is_not_overwritten_without_resume(tmp_path, capsys):
    config = _config(tmp_path)
    out = tmp_path / "run"
    assert _run(config, out, "--set", "train.steps=2") == 0
    assert _run(config, out) == 2
    assert "--resume" in capsys.readouterr().err


def test_deadline_stops_cleanly_with_a_checkpoint(tmp_path):
    config = _config(tmp_path)
    out = tmp_path / "run"
    assert _run(config, out, "--set", "train.deadline_utc=2000-01-01T00:00:00Z") == 0
    state = torch.load(out / "train_state.pt", weights_only=True)
    assert state["step"] == 1 and (out / "last.pt").is_file()


def test_unknown_config_key_is_a_clear_error(tmp_path, capsys):
    config = _config(tmp_path)
    assert _run(config, tmp_path / "run", "--set", "train.stepz=3") == 2
    assert "stepz" in capsys.readouterr().err


def test_unknown_task_is_rejected():
    with pytest.raises(SystemExit):
        train.parse_args(["nope", "--config", "x.yaml"])


def test_sigterm_checkpoints_and_stops(tmp_path):
    import os
    import signal
    import threading
    import time

    config = _config(tmp_path)
    out = tmp_path / "run"
    done = threading.Event()

    def send_sigterm_once_training() -> None:
        # log.csv appears only after the loop has installed its signal handler
        while not done.is_set() and not (out / "log.csv").is_file():
            time.sleep(0.05)
        if not done.is_set():
            time.sleep(0.5)
            os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=send_sigterm_once_training, daemon=True)
    thread.start()
    try:
        assert (
            _run(config, out, "--set", "train.steps=100000", "--set", "train.val_every=100000") == 0
        )
    finally:
        done.set()
        thread.join()
    state = torch.load(out / "train_state.pt", weights_only=True)
    assert 0 < state["step"] < 100000
    assert torch.load(out / "last.pt", weights_only=True)["extra"]["step"] == state["step"]


def test_best_checkpoint_ignores_warm_up_validations(tmp_path):
    config = _config(tmp_path)
    out = tmp_path / "run"
    args = ("--set", "train.val_every=1", "--set", "train.best_from_step=5")
    assert _run(config, out, *args) == 0
    assert torch.load(out / "best.pt", weights_only=True)["extra"]["step"] >= 5
    assert torch.load(out / "train_state.pt", weights_only=True)["best_step"] >= 5


def test_metric_discriminator_run_learns_pesq_and_resumes(tmp_path):
    """``loss.metric > 0`` adds the MetricGAN-style discriminator: it is trained on measured
    PESQ (logged), drives the generator after ``adv_start``, and resumes exactly; with the
    mel-discriminator weights at 0 that discriminator is not trained at all."""
    config = _config(tmp_path)
    sets = ["--set", "loss.metric=1.0", "--set", "loss.adversarial=0", "--set"]
    sets += ["loss.feature_matching=0", "--set", "discriminator.metric_channels=4"]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert _run(config, straight, *sets) == 0
    metrics = {r["metric"]: float(r["value"]) for r in _rows(straight / "log.csv")}
    assert {"m_loss", "q_enhanced", "q_noisy", "g_metric"} <= metrics.keys()
    assert "d_loss" not in metrics and 0.0 <= metrics["q_noisy"] <= 1.0
    a = torch.load(straight / "train_state.pt", weights_only=True)
    assert set(a["optimizers"]) == {"generator", "discriminator", "metric"}
    exported = torch.load(straight / "last.pt", weights_only=True)  # the generator only
    assert exported["arch"] == "enhance.mask_gan"
    assert _run(config, resumed, *sets, "--set", "train.steps=4") == 0
    assert _run(config, resumed, *sets, "--resume") == 0
    b = torch.load(resumed / "train_state.pt", weights_only=True)
    for module in ("generator", "metric"):
        for key, tensor in a["modules"][module].items():
            torch.testing.assert_close(b["modules"][module][key], tensor, rtol=0, atol=1e-6)


def test_init_from_starts_from_a_checkpoint_and_checks_its_shape(tmp_path):
    config = _config(tmp_path)
    assert _run(config, tmp_path / "a") == 0
    start = tmp_path / "a" / "last.pt"
    # lr 0: the fine-tune run's weights stay exactly the loaded ones
    sets = ["--set", f"train.init_from={start}", "--set", "train.lr=0", "--set", "train.steps=2"]
    assert _run(config, tmp_path / "b", *sets) == 0
    a = torch.load(start, weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=True)["state_dict"]
    for key, tensor in a.items():
        torch.testing.assert_close(b[key], tensor, rtol=0, atol=0)
    with pytest.raises(CheckpointError, match="does not match"):
        _run(config, tmp_path / "c", *sets, "--set", "generator.hidden=24")


def test_init_partial_warm_starts_a_grown_generator_and_rejects_a_clash(tmp_path):
    """``init_partial``: a generator grown by a deep-filter head starts from a mask-only
    checkpoint (every checkpoint tensor loaded, the head fresh); kwargs that change a loaded
    tensor's shape still fail loudly."""
    config = _config(tmp_path)
    assert _run(config, tmp_path / "a") == 0
    start = tmp_path / "a" / "last.pt"
    sets = ["--set", f"train.init_from={start}", "--set", "train.lr=0", "--set", "train.steps=2"]
    grow = ["--set", "generator.df_bins=32", "--set", "generator.df_order=3"]
    with pytest.raises(CheckpointError, match="does not match"):
        _run(config, tmp_path / "strict", *sets, *grow)
    partial = [*sets, "--set", "train.init_partial=true"]
    assert _run(config, tmp_path / "b", *partial, *grow) == 0
    a = torch.load(start, weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=True)["state_dict"]
    for key, tensor in a.items():
        torch.testing.assert_close(b[key], tensor, rtol=0, atol=0)
    assert any(k.startswith("df_head") for k in b.keys() - a.keys())
    with pytest.raises(CheckpointError, match="another shape"):
        _run(config, tmp_path / "c", *partial, "--set", "generator.hidden=24")


def test_train_only_updates_the_named_head_and_freezes_the_rest(tmp_path):
    config = _config(tmp_path)
    assert _run(config, tmp_path / "a") == 0
    start = tmp_path / "a" / "last.pt"
    sets = ["--set", f"train.init_from={start}", "--set", "train.init_partial=true"]
    sets += ["--set", "generator.df_bins=32", "--set", "generator.df_order=3"]
    sets += ["--set", "train.steps=3", "--set", "loss.complex=1.0"]
    assert _run(config, tmp_path / "b", *sets, "--set", "loss.train_only=[df_head]") == 0
    a = torch.load(start, weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=True)["state_dict"]
    for key, tensor in a.items():  # the trunk is exactly the starting checkpoint
        torch.testing.assert_close(b[key], tensor, rtol=0, atol=0)
    assert b["df_head.2.weight"].abs().sum() > 0  # the head (zero at init) has learnt
    rows = {r["metric"] for r in _rows(tmp_path / "b" / "log.csv")}
    assert "g_complex" in rows
    with pytest.raises(ValueError, match="selects no generator parameter"):
        _run(config, tmp_path / "c", *sets, "--set", "loss.train_only=[nothing]")
