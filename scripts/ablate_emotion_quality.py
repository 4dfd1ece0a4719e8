"""Where does the envelope GAN lose naturalness? A DNSMOS-only ablation on held-out clips.

    STUDIO_DATA=... python scripts/ablate_emotion_quality.py --sources runs/eval_emotion/sources.csv \
        [--n-clips 12] [--out runs/ablation.csv]

On the first ``--n-clips`` clips of a ``python -m pipeline.evaluate emotion`` run's
``sources.csv``, prints the mean DNSMOS OVRL drop (source minus output; the evaluation's scorer
settings) of, one stage added at a time:

* ``world``: WORLD analysis/resynthesis only (one row per clip);
* ``prosody-only``: + the profile's F0, level and rate moves (no generator);
* ``gan-w1``: + the shipped generator's envelope change (the shipped system);
* ``gan-w0.5``: the generator's change at half weight;
* ``dsp``: the rule baseline;

each converted to happy, angry, sad and surprise at intensity 1; and the scorer's own level
dependence: the *unchanged* source 6 dB louder (raw and through the converters' peak
limiter) and 6 dB quieter.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.emotion.dsp import ProsodyRuleConverter, limit_peaks  # noqa: E402
from pipeline.emotion.envelope.system import EnvelopeGanConverter, EnvelopeRenderer  # noqa: E402
from pipeline.emotion.features import resynthesize  # noqa: E402
from pipeline.metrics import DnsmosScorer  # noqa: E402
from pipeline.registry import CHECKPOINTS  # noqa: E402

SHIPPED = CHECKPOINTS / "emotion" / "envelope-gan"
TARGETS = ("happy", "angry", "sad", "surprise")


def variants() -> dict:
    shipped = EnvelopeGanConverter(SHIPPED)
    half = EnvelopeGanConverter(SHIPPED)
    half.renderer = EnvelopeRenderer(shipped.renderer.generator, weight=0.5)
    return {
        "prosody-only": EnvelopeGanConverter(),
        "gan-w1": shipped,
        "gan-w0.5": half,
        "dsp": ProsodyRuleConverter(),
    }


def level_rows(wave: np.ndarray, sr: int, base: float, scorer: DnsmosScorer) -> list[dict]:
    up = wave * np.float32(10.0 ** (6.0 / 20.0))
    return [
        {"system": "source +6 dB", "drop": base - scorer.score(up, sr)["ovrl"]},
        {
            "system": "source +6 dB, limited",
            "drop": base - scorer.score(limit_peaks(up, sr), sr)["ovrl"],
        },
        {"system": "source -6 dB", "drop": base - scorer.score(wave / np.float32(2.0), sr)["ovrl"]},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=Path, required=True)
    parser.add_argument("--n-clips", type=int, default=12)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    listed = pd.read_csv(args.sources, keep_default_na=False).head(args.n_clips)
    scorer = DnsmosScorer(short_clips="single")
    systems = variants()
    rows = []
    for clip in listed.itertuples():
        wave, sr = sf.read(clip.path, dtype="float32")
        base = scorer.score(wave, sr)["ovrl"]
        rows.append(
            {"system": "world", "drop": base - scorer.score(resynthesize(wave, sr), sr)["ovrl"]}
        )
        for name, system in systems.items():
            for emotion in TARGETS:
                out = system.convert(wave, sr, emotion, 1.0)
                rows.append(
                    {
                        "system": name,
                        "emotion": emotion,
                        "drop": base - scorer.score(out, sr)["ovrl"],
                    }
                )
        rows += level_rows(wave, sr, base, scorer)
        print(f"{clip.Index + 1}/{len(listed)} clips", flush=True)
    frame = pd.DataFrame(rows)
    if args.out:
        frame.to_csv(args.out, index=False)
    print(f"DNSMOS OVRL drop (source minus output), {len(listed)} clips, intensity 1")
    print(frame.groupby("system", sort=False)["drop"].agg(["mean", "sem", "count"]).round(3))
    per = frame.dropna(subset=["emotion"]).groupby(["system", "emotion"])["drop"].mean()
    print(per.unstack().round(3))


if __name__ == "__main__":
    main()
