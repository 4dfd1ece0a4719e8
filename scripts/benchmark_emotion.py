"""Real-time factor of the emotion GAN system (WORLD analysis + generator + synthesis).

    python scripts/benchmark_emotion.py [--checkpoint checkpoints/emotion/stargan-emotion]
        [--seconds 5] [--repeats 5] [--wav speech.wav]

Prints the median wall-clock time per stage and the RTF (time / audio duration) for one
5 s utterance at 16 kHz, with torch limited to one thread. Without a shipped checkpoint an
untrained generator of the default size is timed (same cost) and the output says so.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.audio import read_audio, resample  # noqa: E402
from pipeline.cards import ModelCard  # noqa: E402
from pipeline.checkpoint import count_parameters, save_model  # noqa: E402
from pipeline.emotion import features as wf  # noqa: E402
from pipeline.emotion.model import EmotionGenerator  # noqa: E402
from pipeline.emotion.system import GanConverter, convert_world  # noqa: E402
from pipeline.signals import synthetic_voice  # noqa: E402

DEFAULT = Path(__file__).resolve().parent.parent / "checkpoints" / "emotion" / "stargan-emotion"


def _system(folder: Path) -> GanConverter:
    if (folder / "model.pt").is_file():
        return GanConverter(
            folder, card=ModelCard(name=folder.name, task="emotion", title="", kind="gan")
        )
    print(f"no checkpoint in {folder}: timing an untrained default-size generator")
    tmp = Path(tempfile.mkdtemp()) / "untrained"
    save_model(
        tmp / "model.pt",
        EmotionGenerator(),
        arch="emotion.stargan",
        model_kwargs={},
        sample_rate=16_000,
    )
    return GanConverter(
        tmp, card=ModelCard(name="untrained", task="emotion", title="", kind="user")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--wav", type=Path, help="time this recording instead of a synthetic voice")
    parser.add_argument("--emotion", default="angry")
    args = parser.parse_args()
    torch.set_num_threads(1)
    system = _system(args.checkpoint)
    sr = system.sample_rate
    if args.wav:
        audio = read_audio(args.wav, max_seconds=None)
        wave = resample(audio.wave, audio.sample_rate, sr)[: int(args.seconds * sr)]
    else:
        wave = synthetic_voice(args.seconds, sr, seed=1)
    seconds = len(wave) / sr
    print(
        f"generator parameters: {count_parameters(system.generator):,}; audio {seconds:.2f} s at {sr} Hz"
    )
    stages: dict[str, list[float]] = {
        "analysis": [],
        "generator+rebuild": [],
        "synthesis": [],
        "total": [],
    }
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        world = wf.analyze(np.asarray(wave, dtype=np.float64), sr)
        t1 = time.perf_counter()
        converted = convert_world(system.generator, system.normalizer, world, args.emotion, 1.0)
        t2 = time.perf_counter()
        wf.synthesize(converted)
        t3 = time.perf_counter()
        system.convert(wave, sr, args.emotion, 1.0)  # the public path, end to end
        t4 = time.perf_counter()
        for key, value in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            stages[key].append(value)
    for key, values in stages.items():
        med = statistics.median(values)
        print(f"{key:>18}: median {med:.3f} s  (RTF {med / seconds:.3f}; min {min(values):.3f} s)")
    print(
        f"RTF (end to end, median of {args.repeats}): {statistics.median(stages['total']) / seconds:.3f}"
    )


if __name__ == "__main__":
    main()
