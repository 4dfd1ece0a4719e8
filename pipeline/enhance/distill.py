"""Teacher-student enhancement GAN: the mask generator distilled from DeepFilterNet3.

``python -m pipeline.train enhance_student --config configs/enhance_student.yaml`` trains
the generator with three kinds of loss:

* reconstruction to the *cleaned* target (the :class:`EnhanceTask` terms, on the manifest
  written by ``python -m pipeline.corpora clean-targets``);
* distillation: the same compressed-magnitude + multi-resolution STFT terms against the
  teacher's output on the same noisy input, weighted by ``distill.weight``;
* the adversarial and feature-matching terms of the mel discriminator (it stays a GAN).

Teacher outputs are **precomputed to disk** (a bank), because the teacher costs about ten
times the student per second of audio: ``python -m pipeline.enhance.distill --config
configs/enhance_student.yaml --items N`` draws N training mixtures exactly as training
does (item ``i`` from an RNG seeded by ``(train.seed, i)``), runs the teacher once on each
and writes ``<bank_dir>/<i>.npy`` (float16 ``(3, samples)``: noisy, cleaned target, teacher
output, 16 kHz) plus ``bank.csv`` (seconds of audio, seconds of teacher time). Items already
on disk are skipped, so an interrupted bank build resumes. Each training batch takes
``distill.bank_fraction`` of its items from the bank and the rest fresh; the distillation
term only covers bank items (a per-item mask).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from pipeline.constants import SAMPLE_RATE
from pipeline.enhance import losses as L
from pipeline.enhance.train import EnhanceTask, EnhanceTrainConfig
from pipeline.train.loop import DistInfo

log = logging.getLogger(__name__)

BANK_INDEX = "bank.csv"
BANK_COLUMNS = ("item", "seconds", "teacher_s")


@dataclass
class DistillSettings:
    bank_dir: str = "data/teacher_bank"
    weight: float = 1.0  # distillation weight relative to the reconstruction terms (0: off)
    bank_fraction: float = 0.5  # share of each batch drawn from the bank
    teacher: str = "deepfilternet3"  # enhancement system that made the bank


@dataclass
class StudentTrainConfig(EnhanceTrainConfig):
    distill: DistillSettings = field(default_factory=DistillSettings)


def bank_rng(seed: int, item: int) -> np.random.Generator:
    return np.random.default_rng([seed, item, zlib.crc32(b"bank")])


def build_bank(
    mixtures,
    teacher: Callable[[np.ndarray, int], np.ndarray],
    bank_dir: Path,
    *,
    items: int,
    seed: int,
    progress: Callable = iter,
) -> dict[str, float]:
    """Write items ``0..items-1`` not yet on disk (see the module docstring).

    Args:
        mixtures: has ``draw(rng) -> (noisy, clean)`` 16 kHz float32 arrays.
        teacher: ``(wave, sr) -> wave`` at 16 kHz, same length.
    Returns:
        ``{"written", "audio_s", "teacher_s", "teacher_rtf"}`` for this call.
    """
    bank_dir.mkdir(parents=True, exist_ok=True)
    index = bank_dir / BANK_INDEX
    if not index.is_file():
        index.write_text(",".join(BANK_COLUMNS) + "\n", encoding="utf-8")
    todo = [i for i in range(items) if not (bank_dir / f"{i:06d}.npy").is_file()]
    audio_s = teacher_s = 0.0
    for i in progress(todo):
        noisy, clean = mixtures.draw(bank_rng(seed, i))
        started = time.perf_counter()
        taught = np.asarray(teacher(noisy, SAMPLE_RATE), dtype=np.float32)
        spent = time.perf_counter() - started
        triple = np.stack([noisy, clean, taught]).astype(np.float16)
        tmp = bank_dir / f"{i:06d}.partial.npy"
        np.save(tmp, triple)
        tmp.replace(bank_dir / f"{i:06d}.npy")
        seconds = len(noisy) / SAMPLE_RATE
        with index.open("a", encoding="utf-8") as handle:
            handle.write(f"{i},{seconds:.3f},{spent:.4f}\n")
        audio_s += seconds
        teacher_s += spent
    rtf = teacher_s / audio_s if audio_s else float("nan")
    return {"written": len(todo), "audio_s": audio_s, "teacher_s": teacher_s, "teacher_rtf": rtf}


def bank_items(bank_dir: Path) -> list[Path]:
    """The finished bank items (``*.npy``), sorted."""
    return sorted(p for p in Path(bank_dir).glob("*.npy") if ".partial" not in p.name)


class StudentTask(EnhanceTask):
    """:class:`EnhanceTask` plus a distillation term on bank items (module docstring)."""

    config_class = StudentTrainConfig

    def __init__(self, config: StudentTrainConfig, info: DistInfo) -> None:
        super().__init__(config, info)
        d = config.distill
        self.bank = bank_items(Path(d.bank_dir)) if d.weight > 0 else []
        if d.weight > 0 and not self.bank:
            raise FileNotFoundError(
                f"no teacher bank in {d.bank_dir} (build it: python -m pipeline.enhance.distill)"
            )
        log.info("teacher bank: %d items in %s", len(self.bank), d.bank_dir)

    def make_batch(self, step: int, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        size = self.config.train.batch_size
        from_bank = round(size * self.config.distill.bank_fraction) if self.bank else 0
        items: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for _ in range(from_bank):
            path = self.bank[int(rng.integers(len(self.bank)))]
            noisy, clean, taught = np.load(path).astype(np.float32)
            items.append((noisy, clean, taught))
        for _ in range(size - from_bank):
            noisy, clean = self.mixtures.draw(rng)
            items.append((noisy, clean, np.zeros_like(noisy)))
        length = min(len(item[0]) for item in items)
        noisy, clean, taught = (
            torch.from_numpy(np.stack([item[j][:length] for item in items])) for j in range(3)
        )
        mask = torch.arange(size) < from_bank
        return noisy, clean, taught, mask

    def extra_generator_loss(
        self, enhanced: torch.Tensor, batch: tuple, out: dict[str, float]
    ) -> torch.Tensor | float:
        weight = self.config.distill.weight
        if weight <= 0 or len(batch) < 4 or not bool(batch[3].any()):
            return 0.0
        mask = batch[3]
        est, taught = enhanced[mask], batch[2][mask]
        c = self.config.loss
        loss = c.magnitude * L.compressed_magnitude_loss(est, taught)
        if c.mrstft > 0:
            loss = loss + c.mrstft * L.multi_resolution_stft_loss(est, taught)
        out["g_distill"] = loss.item()
        return weight * loss


def main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.enhance.distill --config CFG --items N``: build the bank."""
    from pipeline.config import ConfigError, load_config
    from pipeline.enhance.data import CorpusMixtures, SyntheticMixtures

    parser = argparse.ArgumentParser(prog="python -m pipeline.enhance.distill", description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--items", type=int, required=True, help="bank size (items 0..N-1)")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        config = load_config(StudentTrainConfig, args.config, args.overrides)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    data = config.data
    if data.source == "synthetic":
        mixtures = SyntheticMixtures(data)
    else:
        mixtures = CorpusMixtures(data, seed=config.train.seed)
    from pipeline.api import load

    teacher = load("enhance", config.distill.teacher)
    report = build_bank(
        mixtures,
        teacher.enhance,
        Path(config.distill.bank_dir),
        items=args.items,
        seed=config.train.seed,
        progress=lambda it: tqdm(it, desc="teacher bank", unit="item"),
    )
    print(
        f"wrote {report['written']} items ({report['audio_s'] / 60:.1f} min of audio); "
        f"teacher time {report['teacher_s'] / 60:.1f} min, RTF {report['teacher_rtf']:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
