"""Speed and memory of every enhancement system on long input (prints numbers, no asserts).

    python scripts/benchmark_enhance.py [--systems dsp,mask-gan,deepfilternet3]
        [--minutes 1,10] [--threads 1] [--modes array,file] [--test-dir data/enhance_test]

For each system and length a *fresh* Python process (so allocator caches of earlier runs
cannot hide growth) loads the system, warms it up on 2 s of audio, then enhances one long
noisy signal — test-set mixtures concatenated to the requested length, 16 kHz — and reports:

* RTF: wall-clock time of ``system.enhance`` / audio duration (single process, torch threads
  as given);
* peak RSS Δ: growth of the process's peak resident memory during that call (Linux VmHWM
  reset just before it; the input array already exists), next to the size of one
  full-length float32 output array (``length × 4 B``). Whole-signal copies made at the API
  boundary (resampling, clipping, the returned array) necessarily grow with length; the
  model's own working memory should not. "Flat" therefore means: Δ grows by no more than a
  small multiple of the output-array size from 1 to 10 minutes.

Mode ``array`` measures ``system.enhance`` on an in-memory array (what the app and the
Python API do); mode ``file`` measures :func:`pipeline.streaming.enhance_file` (what
``python -m pipeline.enhance`` does) from a WAV file to a WAV file, which never holds the
whole signal: its Δ should not grow with length at all.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SAMPLE_RATE = 16_000


def _long_signal(test_dir: Path, seconds: float):
    import numpy as np
    import soundfile as sf

    files = sorted((test_dir / "noisy").glob("*.wav"))
    if not files:
        rng = np.random.default_rng(0)  # no test set: noise-modulated tone as a stand-in
        t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
        return (0.1 * np.sin(2 * np.pi * 150 * t) + 0.02 * rng.standard_normal(len(t))).astype(
            np.float32
        )
    need = int(seconds * SAMPLE_RATE)
    parts, total, i = [], 0, 0
    while total < need:
        wave, sr = sf.read(files[i % len(files)], dtype="float32", always_2d=False)
        if sr != SAMPLE_RATE:
            raise ValueError(f"{files[i % len(files)]}: expected {SAMPLE_RATE} Hz")
        parts.append(wave)
        total += len(wave)
        i += 1
    return np.concatenate(parts)[:need]


def worker(
    system: str, seconds: float, threads: int, test_dir: Path, checkpoints: Path, mode: str
) -> dict:
    """Run in a fresh process: load, warm up, measure one long call."""
    import tempfile

    import soundfile as sf
    import torch

    from pipeline.evaluate.resources import ResourceMeter, current_rss_mib
    from pipeline.registry import Registry
    from pipeline.streaming import enhance_file

    torch.set_num_threads(threads)
    wave = _long_signal(test_dir, seconds)
    enhancer = Registry(checkpoints).get("enhance", system)
    enhancer.enhance(wave[: 2 * SAMPLE_RATE], SAMPLE_RATE)
    out_mib = wave.nbytes / 2**20  # one full-length float32 array
    with tempfile.TemporaryDirectory() as tmp:
        if mode == "file":
            src, dst = Path(tmp) / "in.wav", Path(tmp) / "out.wav"
            sf.write(src, wave, SAMPLE_RATE, subtype="PCM_16")
            del wave
        rss_before = current_rss_mib()
        with ResourceMeter() as meter:
            if mode == "file":
                enhance_file(enhancer, src, dst)
            else:
                enhancer.enhance(wave, SAMPLE_RATE)
    m = meter.result
    return {
        "system": system,
        "mode": mode,
        "seconds": seconds,
        "rtf": m.rtf(seconds),
        "cpu_rtf": m.cpu_s / seconds,
        "wall_s": m.wall_s,
        "rss_before_mib": rss_before,
        "peak_rss_delta_mib": m.peak_rss_delta_mib,
        "output_array_mib": out_mib,
        "delta_per_output_array": m.peak_rss_delta_mib / out_mib,
        "threads": threads,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--systems", default="dsp,mask-gan,deepfilternet3")
    parser.add_argument("--minutes", default="1,10")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--modes", default="array,file")
    parser.add_argument("--test-dir", type=Path, default=None)
    parser.add_argument("--checkpoints", type=Path, default=REPO / "checkpoints")
    parser.add_argument(
        "--worker", nargs=3, metavar=("SYSTEM", "SECONDS", "MODE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from pipeline.corpora import data_dir

    test_dir = args.test_dir or data_dir() / "enhance_test"
    if args.worker:
        system, seconds, mode = args.worker
        result = worker(system, float(seconds), args.threads, test_dir, args.checkpoints, mode)
        print("RESULT " + json.dumps(result))
        return 0
    from pipeline.registry import Registry

    available = set(Registry(args.checkpoints).names("enhance"))
    rows = []
    for system in [s.strip() for s in args.systems.split(",") if s.strip()]:
        if system not in available:
            print(f"skip {system}: not available here", flush=True)
            continue
        for mode, minutes in [
            (mode, float(m)) for mode in args.modes.split(",") for m in args.minutes.split(",")
        ]:
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                system,
                str(minutes * 60),
                mode,
                "--threads",
                str(args.threads),
                "--test-dir",
                str(test_dir),
                "--checkpoints",
                str(args.checkpoints),
            ]
            env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
            if proc.returncode != 0 or line is None:
                print(f"{system} {mode} {minutes:g} min FAILED: {proc.stderr.strip()[-400:]}")
                continue
            row = json.loads(line[len("RESULT ") :])
            rows.append(row)
            print(
                f"{system:16s} {mode:5s} {minutes:5.1f} min  RTF {row['rtf']:.4f}  (CPU {row['cpu_rtf']:.4f})  "
                f"peak RSS Δ {row['peak_rss_delta_mib']:7.1f} MiB  (= {row['delta_per_output_array']:.1f} "
                f"x the {row['output_array_mib']:.1f} MiB output array)",
                flush=True,
            )
    print()
    print(
        "| system | mode | input | RTF | CPU-time RTF | peak RSS Δ (MiB) | output array (MiB) "
        "| Δ / output |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| `{r['system']}` | {r['mode']} | {r['seconds'] / 60:g} min | {r['rtf']:.4f} | {r['cpu_rtf']:.4f} | "
            f"{r['peak_rss_delta_mib']:.0f} | {r['output_array_mib']:.1f} | {r['delta_per_output_array']:.1f} |"
        )
    print(
        f"\nthreads={args.threads}, 16 kHz input, one fresh process per row; load average "
        f"{os.getloadavg()[0]:.1f} at the end (other jobs on this machine slow everything down)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
