"""The distillation data path on tiny data: bank build (resumable), batches, a student run.

The teacher here is a fake (a fixed gain on the noisy input) so the test is about the data
path: what lands in the bank, how batches mix bank and fresh items, and that the distillation
term is logged and trained through the real CLI.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
import yaml

from pipeline.enhance import distill
from pipeline.enhance.data import EnhanceDataConfig, SyntheticMixtures
from pipeline.train import cli as train
from pipeline.train.loop import DistInfo

DATA = {"source": "synthetic", "valid_items": 1, "segment_seconds": 0.5}


class HalfTeacher:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, wave: np.ndarray, sr: int) -> np.ndarray:
        self.calls += 1
        return 0.5 * wave


def _bank(path: Path, items: int, teacher: HalfTeacher) -> dict:
    mixtures = SyntheticMixtures(EnhanceDataConfig(**DATA))
    return distill.build_bank(mixtures, teacher, path, items=items, seed=3)


def test_bank_is_reproducible_and_resumes(tmp_path: Path) -> None:
    teacher = HalfTeacher()
    report = _bank(tmp_path / "bank", 3, teacher)
    assert report["written"] == 3 and teacher.calls == 3 and report["teacher_rtf"] >= 0
    noisy, clean, taught = np.load(tmp_path / "bank" / "000001.npy").astype(np.float32)
    assert noisy.shape == clean.shape == taught.shape == (8000,)
    np.testing.assert_allclose(taught, 0.5 * noisy, atol=1e-3)
    assert _bank(tmp_path / "bank", 5, teacher)["written"] == 2 and teacher.calls == 5
    with (tmp_path / "bank" / distill.BANK_INDEX).open() as handle:
        assert [r["item"] for r in csv.DictReader(handle)] == ["0", "1", "2", "3", "4"]
    other = _bank(tmp_path / "again", 2, HalfTeacher())  # same seed: same mixtures
    assert other["written"] == 2
    a = np.load(tmp_path / "bank" / "000001.npy")
    b = np.load(tmp_path / "again" / "000001.npy")
    np.testing.assert_array_equal(a, b)


def _config(tmp_path: Path, bank: Path, steps: int = 2) -> distill.StudentTrainConfig:
    raw = {
        "train": {"steps": steps, "batch_size": 4, "log_every": 1, "val_every": steps},
        "generator": {"hidden": 8, "gru_layers": 1},
        "discriminator": {"channels": 4},
        "loss": {"adv_start": 1, "warmup_steps": 0},
        "data": DATA,
        "distill": {"bank_dir": str(bank), "weight": 1.0, "bank_fraction": 0.5},
    }
    path = tmp_path / "student.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_batches_mix_bank_and_fresh_items(tmp_path: Path) -> None:
    _bank(tmp_path / "bank", 4, HalfTeacher())
    from pipeline.config import load_config

    config = load_config(distill.StudentTrainConfig, _config(tmp_path, tmp_path / "bank"))
    task = distill.StudentTask(config, DistInfo())
    noisy, clean, taught, mask = task.make_batch(0, np.random.default_rng(0))
    assert noisy.shape == clean.shape == taught.shape == (4, 8000)
    assert mask.tolist() == [True, True, False, False]
    torch.testing.assert_close(taught[:2], 0.5 * noisy[:2], atol=1e-3, rtol=0)
    assert torch.count_nonzero(taught[2:]) == 0
    out: dict[str, float] = {}
    loss = task.extra_generator_loss(noisy, (noisy, clean, taught, mask), out)
    assert float(loss) > 0 and out["g_distill"] == float(loss)


def test_student_trains_through_the_cli(tmp_path: Path) -> None:
    _bank(tmp_path / "bank", 4, HalfTeacher())
    config = _config(tmp_path, tmp_path / "bank")
    out = tmp_path / "run"
    args = ["enhance_student", "--config", str(config), "--set", f"train.out_dir={out}"]
    assert train.main(args) == 0
    with (out / "log.csv").open() as handle:
        metrics = {r["metric"] for r in csv.DictReader(handle)}
    assert {"g_distill", "g_mag", "g_adv", "pesq_wb"} <= metrics
    payload = torch.load(out / "last.pt", weights_only=True)
    assert payload["arch"] == "enhance.mask_gan" and payload["extra"]["step"] == 2
    # the card of a student says where its targets came from (the teacher), not "recordings"
    from conftest import manifest_row

    from pipeline.corpora.prepare import MANIFEST_COLUMNS, write_csv
    from pipeline.enhance.card import STUDENT_TITLE, build_card

    manifest = write_csv(
        tmp_path / "manifest.csv",
        [manifest_row("speech_dfn3/x/a.wav", "speech", "a", "train")],
        MANIFEST_COLUMNS,
    )
    card = build_card(out / "last.pt", name="student", manifest=manifest)
    assert card.title == STUDENT_TITLE
    assert "DeepFilterNet3" in card.label_provenance and "distillation" in card.label_provenance
