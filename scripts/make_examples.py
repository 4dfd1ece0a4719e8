"""Regenerate the app's example clips under ``examples/`` (committed; licence-clean).

    .venv/bin/python scripts/make_examples.py [--cache DIR] [--out examples]

Speech: prompts of the Debian package ``asterisk-core-sounds-en-g722`` (CC-BY-SA-3.0,
Allison Smith), fetched with ``apt-get download`` + ``dpkg -x`` and decoded from G.722 at
16 kHz with ffmpeg. Noise: synthetic coloured noise from :mod:`pipeline.corpora.mixing`
(no recording, so no third-party licence). Writes 16 kHz mono FLAC files, their manifest
``examples.json`` (read by :mod:`pipeline.demo.examples`), and prints the total size.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.audio import normalize_level  # noqa: E402
from pipeline.constants import SAMPLE_RATE  # noqa: E402
from pipeline.corpora.debian import fetch  # noqa: E402
from pipeline.corpora.prepare import decode_g722  # noqa: E402
from pipeline.demo.examples import EXAMPLES_DIR, MANIFEST_NAME  # noqa: E402
from pipeline.signals import coloured_noise, mix_at_snr  # noqa: E402

PACKAGE = "asterisk-core-sounds-en-g722"
PROMPTS = "usr/share/asterisk/sounds/en_US_f_Allison"
LEVEL_DBFS = -26.0
SEED = 20261202

#: (prompt, target emotion, intensity): calm read speech for the conversion tab
CONVERSION = [
    ("vm-nobodyavail", "angry", 0.8),
    ("queue-holdtime", "happy", 0.8),
    ("conf-waitforleader", "sad", 0.8),
]
#: (prompt, noise colour, SNR in dB): noisy speech for the enhancement tab
ENHANCEMENT = [
    ("tt-weasels", "white", 10.0),
    ("pls-hold-while-try", "pink", 5.0),
    ("vm-passchanged", "brown", -5.0),
]


def trimmed(wave: np.ndarray, *, threshold_db: float = -45.0, pad_s: float = 0.15) -> np.ndarray:
    """Cut leading/trailing silence (frames ``threshold_db`` below the peak), keep ``pad_s``."""
    frame = SAMPLE_RATE // 100
    n = len(wave) // frame
    energy = np.array([np.mean(wave[i * frame : (i + 1) * frame] ** 2) for i in range(n)])
    loud = np.flatnonzero(
        10 * np.log10(energy + 1e-12) > 10 * np.log10(energy.max()) + threshold_db
    )
    pad = int(pad_s * SAMPLE_RATE)
    start = max(0, loud[0] * frame - pad)
    stop = min(len(wave), (loud[-1] + 1) * frame + pad)
    return wave[start:stop]


def speech(root: Path, prompt: str) -> np.ndarray:
    """The prompt as 16 kHz float32, trimmed and at :data:`LEVEL_DBFS`."""
    wave = trimmed(decode_g722(root / PROMPTS / f"{prompt}.g722"))
    return normalize_level(wave, LEVEL_DBFS).astype(np.float32)


def write(path: Path, wave: np.ndarray) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.clip(wave, -1.0, 1.0), SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    return path.name


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "studio-examples")
    parser.add_argument("--out", type=Path, default=EXAMPLES_DIR)
    args = parser.parse_args(argv)
    root = fetch(PACKAGE, args.cache)
    rng = np.random.default_rng(SEED)
    manifest: dict[str, list[dict]] = {"emotion": [], "enhance": []}
    for prompt, emotion, intensity in CONVERSION:
        name = write(args.out / f"calm_{prompt}.flac", speech(root, prompt))
        manifest["emotion"].append(
            {"file": name, "emotion": emotion, "intensity": intensity, "source": prompt}
        )
    for prompt, colour, snr_db in ENHANCEMENT:
        clean = speech(root, prompt)
        noisy, clean = mix_at_snr(clean, coloured_noise(colour, len(clean), rng), snr_db)
        noisy_name = write(args.out / f"noisy_{prompt}_{colour}_{snr_db:g}dB.flac", noisy)
        clean_name = write(args.out / f"clean_{prompt}.flac", clean)
        manifest["enhance"].append(
            {
                "file": noisy_name,
                "reference": clean_name,
                "noise": f"synthetic {colour} noise",
                "snr_db": snr_db,
                "source": prompt,
            }
        )
    (args.out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    files = sorted(args.out.glob("*.flac"))
    total = sum(p.stat().st_size for p in files)
    for path in files:
        print(
            f"{path.name:48s} {sf.info(path).duration:5.2f} s {path.stat().st_size / 1024:6.1f} KiB"
        )
    print(f"{len(files)} clips, {total / 1024:.0f} KiB in all")


if __name__ == "__main__":
    main()
