"""RTF at 16 and 48 kHz input and the band above 8 kHz of the emotion converters, one run.

    python scripts/benchmark_emotion_fullband.py [--systems dsp,envelope-gan]
        [--clips DIR] [--n-clips 12] [--seconds 5] [--repeats 3]

* RTF: CPU time of this process (and wall clock, for reference: the machine is shared) /
  audio duration, median of ``--repeats``, for ``--seconds`` of real 48 kHz speech
  (concatenated clips of ``--clips``), converted to angry at intensity 1 at 48 kHz and, resampled,
  at 16 kHz. Torch uses one thread.
* Band: for each of ``--n-clips`` full-band clips (default: ``$STUDIO_DATA/enhance_test_48k/clean``,
  held-out game voices stored at 44.1 kHz or more) and each emotion at intensity 1, the level
  change (output minus source, dB) above 8 kHz, in 4-8 kHz and over the whole band; the
  table gives the mean over clips and the mean of (above 8 kHz minus whole band).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.audio import read_audio, resample  # noqa: E402
from pipeline.constants import EMOTIONS  # noqa: E402
from pipeline.corpora import data_dir  # noqa: E402
from pipeline.emotion.prosody import band_level_db  # noqa: E402
from pipeline.registry import Registry  # noqa: E402

RATE = 48_000


def band_db(wave: np.ndarray, low: float, high: float | None = None) -> float:
    """Level (dB) of ``wave`` at :data:`RATE` between ``low`` and ``high`` Hz (None: Nyquist)."""
    power = 10.0 ** (band_level_db(wave, RATE, low) / 10.0)
    if high is not None:
        power -= 10.0 ** (band_level_db(wave, RATE, high) / 10.0)
    return float(10.0 * np.log10(max(power, 1e-30)))


def load_clips(folder: Path, n: int) -> list[np.ndarray]:
    paths = sorted(folder.glob("*.wav"))[:n]
    if not paths:
        raise SystemExit(f"no .wav files in {folder}")
    clips = []
    for path in paths:
        audio = read_audio(path, max_seconds=None)
        clips.append(resample(audio.wave, audio.sample_rate, RATE))
    return clips


def time_system(conv, wave48: np.ndarray, seconds: float, repeats: int) -> dict[str, float]:
    row = {}
    for sr in (16_000, RATE):
        wave = resample(wave48, RATE, sr)
        conv.convert(wave[:sr], sr, "angry", 1.0)  # warm-up (lazy imports, caches)
        cpu, wall = [], []
        for _ in range(repeats):
            w0, c0 = time.perf_counter(), time.process_time()
            conv.convert(wave, sr, "angry", 1.0)
            wall.append(time.perf_counter() - w0)
            cpu.append(time.process_time() - c0)
        row[f"rtf_cpu_{sr // 1000}k"] = statistics.median(cpu) / seconds
        row[f"rtf_wall_{sr // 1000}k"] = statistics.median(wall) / seconds
    return row


def band_changes(conv, clips: list[np.ndarray]) -> list[dict]:
    rows = []
    for emotion in EMOTIONS:
        diffs = {"above_8k": [], "4_8k": [], "whole": []}
        for clip in clips:
            out = conv.convert(clip, RATE, emotion, 1.0)
            diffs["above_8k"].append(band_db(out, 8000) - band_db(clip, 8000))
            diffs["4_8k"].append(band_db(out, 4000, 8000) - band_db(clip, 4000, 8000))
            diffs["whole"].append(band_db(out, 0) - band_db(clip, 0))
        above, whole = np.array(diffs["above_8k"]), np.array(diffs["whole"])
        rows.append(
            {
                "emotion": emotion,
                "above_8k_db": float(above.mean()),
                "4_8k_db": float(np.mean(diffs["4_8k"])),
                "whole_db": float(whole.mean()),
                "above_minus_whole_db": float((above - whole).mean()),
                "worst_abs_above_minus_whole_db": float(np.abs(above - whole).max()),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--systems", default="dsp,envelope-gan")
    parser.add_argument("--clips", type=Path, default=None)
    parser.add_argument("--n-clips", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    folder = args.clips or Path(data_dir()) / "enhance_test_48k" / "clean"
    clips = load_clips(folder, args.n_clips)
    bench = np.concatenate(clips)
    while len(bench) < args.seconds * RATE:
        bench = np.concatenate([bench, bench])
    bench = bench[: int(args.seconds * RATE)]
    print(
        f"{len(clips)} clips from {folder}; RTF on {args.seconds:.1f} s; load {os.getloadavg()[0]:.1f}"
    )
    registry = Registry()
    for name in args.systems.split(","):
        conv = registry.get("emotion", name)
        speed = time_system(conv, bench, args.seconds, args.repeats)
        print(f"\n{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in speed.items()))
        print(
            "| emotion | >8 kHz (dB) | 4-8 kHz (dB) | whole band (dB) | >8 kHz minus whole | worst abs |"
        )
        print("|---|---|---|---|---|---|")
        for r in band_changes(conv, clips):
            print(
                f"| {r['emotion']} | {r['above_8k_db']:+.2f} | {r['4_8k_db']:+.2f} | "
                f"{r['whole_db']:+.2f} | {r['above_minus_whole_db']:+.2f} | "
                f"{r['worst_abs_above_minus_whole_db']:.2f} |"
            )
        print(f"(load average now {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    main()
