"""Where does the envelope GAN lose naturalness and intelligibility? A small ablation.

    STUDIO_DATA=... python scripts/ablate_emotion_quality.py --eval-dir runs/eval_emotion \
        [--n-clips 16] [--variants prosody-only,gan-w0.5] [--out-dir DIR]

Converts the first ``--n-clips`` held-out clips of a finished ``python -m pipeline.evaluate
emotion`` run (its ``sources.csv``) to the four non-neutral emotions at intensity 1 with each
variant of the ``envelope-gan`` pipeline and measures them with the evaluation's own judges
(:class:`pipeline.evaluate.emotion_report.Judges`): DNSMOS OVRL drop from the source, speaker
similarity, WER against the source's Whisper transcript. Variants (one stage added at a time):

* ``prosody-only``: WORLD at 16 kHz + profile prosody (F0, level, rate), no generator;
* ``gan-w<x>``: the shipped generator with its envelope change scaled by ``x``
  (``gan-w1`` = the shipped system);
* ``world`` and ``source`` rows come from the evaluation run (WORLD resynthesis only).

Rows go to ``<out-dir>/rows_<variant>.csv``; the table compares every variant (and the
evaluation's ``world``, ``dsp``, ``envelope-gan`` rows) on the same clips.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.emotion.envelope.system import EnvelopeGanConverter, EnvelopeRenderer  # noqa: E402
from pipeline.evaluate.emotion_prosody import markdown_table  # noqa: E402
from pipeline.evaluate.emotion_report import Judges, SourceClip, evaluate_system  # noqa: E402
from pipeline.evaluate.emotion_tables import NON_NEUTRAL, paired  # noqa: E402
from pipeline.registry import CHECKPOINTS  # noqa: E402

SHIPPED = CHECKPOINTS / "emotion" / "envelope-gan"


class VariantRegistry:
    """Just enough of :class:`pipeline.registry.Registry` for :func:`evaluate_system`."""

    def __init__(self, systems: dict) -> None:
        self.systems = systems

    def get(self, task: str, name: str):
        return self.systems[name]


def variant(name: str) -> EnvelopeGanConverter:
    if name == "prosody-only":
        return EnvelopeGanConverter()
    if name.startswith("gan-w"):
        system = EnvelopeGanConverter(SHIPPED)
        system.renderer = EnvelopeRenderer(system.renderer.generator, weight=float(name[5:]))
        return system
    raise SystemExit(f"unknown variant {name!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval-dir", type=Path, required=True)
    parser.add_argument("--n-clips", type=int, default=16)
    parser.add_argument("--variants", default="prosody-only,gan-w0.5")
    parser.add_argument("--out-dir", type=Path, default=None)
    parser.add_argument("--classifier", type=Path, default=CHECKPOINTS / "emotion_classifier")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = args.out_dir or args.eval_dir / "ablation"
    out.mkdir(parents=True, exist_ok=True)
    listed = pd.read_csv(args.eval_dir / "sources.csv", keep_default_na=False)
    sources = [
        SourceClip(Path(r["path"]), r["speaker"], r["language"], r["text"])
        for r in listed.to_dict("records")[: args.n_clips]
    ]
    keep = {str(s.path) for s in sources}
    judges = Judges(args.classifier)
    names = args.variants.split(",")
    registry = VariantRegistry({n: variant(n) for n in names})
    frames = []
    for name in ("source", "world", "dsp", "envelope-gan"):
        path = args.eval_dir / f"rows_{name}.csv"
        if path.is_file():
            frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
            frames.append(frame[frame["path"].isin(keep)])
    for name in names:
        path = out / f"rows_{name}.csv"
        if not path.is_file():
            rows = evaluate_system(name, sources, judges, registry=registry, intensities=[1.0])
            pd.DataFrame(rows).to_csv(path, index=False)
            print(f"{name}: done", flush=True)
        frames.append(pd.read_csv(path, keep_default_na=False, na_values=[""]))
    joined = paired(pd.concat(frames, ignore_index=True))
    joined = joined[(joined["emotion"] == "-") | joined["emotion"].isin(NON_NEUTRAL)]
    table = (
        joined.groupby("system", sort=False)[
            ["dnsmos_ovrl", "ovrl_drop", "speaker_sim", "wer", "wer_vs_source"]
        ]
        .mean()
        .reset_index()
    )
    table.insert(1, "rows", joined.groupby("system", sort=False).size().to_numpy())
    table.to_csv(out / "ablation.csv", index=False)
    print(f"{len(sources)} clips, non-neutral targets at intensity 1 (pseudo-systems: 1 row/clip)")
    print(markdown_table(table, digits=3))


if __name__ == "__main__":
    main()
