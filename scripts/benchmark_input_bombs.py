"""Peak memory of reading "audio bombs": small compressed files that decode to gigabytes.

    python scripts/benchmark_input_bombs.py [--bombs-dir tests/data/bombs] [--make] [--json]

Each bomb is read by a fresh Python process, through the two entry points uploads and CLI
files take (``pipeline.audio.read_audio`` with the web UI's 60 s limit, then
``pipeline.streaming.scan_file``). The child records its peak resident set size
(``ru_maxrss``) after importing the library and again after both reads; the difference is
the memory the bomb cost. Printed per bomb: file size, the one-line error (or ``accepted``)
and the peak RSS growth in MiB. Run it on two checkouts to compare before and after a change.

``--make`` (re)writes the bombs (the 255-channel Vorbis file takes about a minute to encode).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = REPO_ROOT / "tests" / "data" / "bombs"

#: name -> (container format, subtype, sample rate Hz, channels, seconds): all digital silence
BOMBS = {
    "ogg_255ch_48k_30s.ogg": ("OGG", "VORBIS", 48_000, 255, 30),
    "flac_8ch_655350hz_20s.flac": ("FLAC", "PCM_16", 655_350, 8, 20),
    "flac_8ch_96k_59s.flac": ("FLAC", "PCM_16", 96_000, 8, 59),
    "flac_8ch_96k_120s.flac": ("FLAC", "PCM_16", 96_000, 8, 120),
}

# The child: import first (baseline), then read through both entry points.
CHILD = r"""
import json, resource, sys
from pipeline.audio import AudioError, read_audio
from pipeline.streaming import scan_file
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
errors = []
for reader in (lambda p: read_audio(p), lambda p: scan_file(p, max_seconds=60.0)):
    try:
        reader(sys.argv[1])
        errors.append("accepted")
    except AudioError as err:
        errors.append(str(err))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"errors": errors, "growth_mib": (peak - base) / 1024}))
"""


def make_bombs(out_dir: Path) -> None:
    """Write every bomb of :data:`BOMBS` into ``out_dir``, one second at a time."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, (fmt, subtype, rate, channels, seconds) in BOMBS.items():
        second = np.zeros((rate, channels), dtype=np.int16)
        with sf.SoundFile(
            out_dir / name, "w", samplerate=rate, channels=channels, format=fmt, subtype=subtype
        ) as out:
            for _ in range(seconds):
                out.write(second)


def measure(path: Path, repo: Path = REPO_ROOT) -> dict:
    """Read ``path`` in a fresh interpreter with ``repo`` first on ``sys.path``; returns
    ``{"errors": [read_audio's, scan_file's], "growth_mib": peak RSS growth}``."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        return {
            "errors": [f"crashed: {result.stderr.strip().splitlines()[-1:]}"],
            "growth_mib": None,
        }
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bombs-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--make", action="store_true", help="write the bombs first")
    parser.add_argument("--repo", type=Path, default=REPO_ROOT, help="checkout to measure")
    parser.add_argument("--json", action="store_true", help="one JSON object per bomb")
    args = parser.parse_args()
    if args.make or not all((args.bombs_dir / name).is_file() for name in BOMBS):
        make_bombs(args.bombs_dir)
    for name in BOMBS:
        path = args.bombs_dir / name
        found = measure(path.resolve(), args.repo)
        found.update(name=name, bytes=path.stat().st_size)
        if args.json:
            print(json.dumps(found), flush=True)
            continue
        growth = "–" if found["growth_mib"] is None else f"{found['growth_mib']:.0f} MiB"
        print(f"{name:28s} {found['bytes']:>8d} B  peak RSS +{growth:>9s}  {found['errors'][0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
