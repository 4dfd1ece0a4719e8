"""Time WORLD analysis/synthesis and the ``dsp`` emotion converter on 5 s of speech.

Usage: python scripts/bench_emotion_world.py [WAV_OR_OGG]   (default: a synthetic voice)
Prints seconds per stage and the real-time factor (processing time / audio duration).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.audio import read_audio, resample
from pipeline.constants import EMOTIONS
from pipeline.emotion.dsp import ProsodyRuleConverter
from pipeline.emotion.features import SAMPLE_RATE, analyze, synthesize
from pipeline.signals import synthetic_voice

SECONDS = 5.0
REPEATS = 3


def best_of(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    torch.set_num_threads(1)
    if len(sys.argv) > 1:
        audio = read_audio(sys.argv[1], max_seconds=None)
        wave = resample(audio.wave, audio.sample_rate, SAMPLE_RATE)
        wave = np.tile(wave, int(np.ceil(SECONDS * SAMPLE_RATE / len(wave))))
        source = sys.argv[1]
    else:
        wave, source = synthetic_voice(SECONDS, SAMPLE_RATE), "synthetic voice"
    wave = wave[: int(SECONDS * SAMPLE_RATE)]
    print(f"input: {source}, {len(wave) / SAMPLE_RATE:.1f} s at {SAMPLE_RATE} Hz")
    for method in ("dio", "harvest"):
        t = best_of(lambda m=method: analyze(wave, SAMPLE_RATE, f0_method=m))
        print(f"WORLD analysis ({method:7s}): {t:.3f} s  RTF {t / SECONDS:.3f}")
    feats = analyze(wave, SAMPLE_RATE)
    t = best_of(lambda: synthesize(feats))
    print(f"WORLD synthesis          : {t:.3f} s  RTF {t / SECONDS:.3f}")
    converter = ProsodyRuleConverter()
    for emotion in EMOTIONS:
        t = best_of(lambda e=emotion: converter.convert(wave, SAMPLE_RATE, e, 1.0))
        print(f"dsp convert {emotion:8s}     : {t:.3f} s  RTF {t / SECONDS:.3f}")


if __name__ == "__main__":
    main()
