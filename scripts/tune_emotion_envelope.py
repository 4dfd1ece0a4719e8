"""Choose the emotion GAN's ``envelope_weight`` on *validation* speakers (never the test ones).

    python scripts/tune_emotion_envelope.py [--model stargan-emotion] [--weights 1,0.5,0.25,0]
        [--clips 16] [--seed 1] [--write]

Neutral clips (1-8 s) of the label table's ``valid`` split are converted to happy, angry, sad
and surprise at intensity 1.0 by ``dsp`` and by the GAN at each envelope weight; the
evaluation judge (``checkpoints/emotion_classifier``) and the Resemblyzer speaker encoder score
every output. Rule (the issue's target, applied on validation data): the weight with the
highest emotion accuracy among those whose mean speaker similarity is at least ``dsp``'s.
``--write`` stores it in the checkpoint's ``extra["envelope_weight"]`` (weights untouched,
atomic rewrite). Prints the table either way.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.checkpoint import atomic_torch_save, read_checkpoint  # noqa: E402
from pipeline.corpora import data_dir  # noqa: E402
from pipeline.emotion.labels import LABELS_CSV, load_labels  # noqa: E402
from pipeline.evaluate.classifier_train import load_judge  # noqa: E402
from pipeline.evaluate.speaker import ResemblyzerEncoder  # noqa: E402
from pipeline.registry import CHECKPOINTS, Registry  # noqa: E402

TARGETS = ("happy", "angry", "sad", "surprise")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="stargan-emotion")
    parser.add_argument("--weights", default="1,0.5,0.25,0")
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--classifier", type=Path, default=CHECKPOINTS / "emotion_classifier")
    parser.add_argument("--write", action="store_true", help="store the chosen weight")
    args = parser.parse_args(argv)
    weights = [float(w) for w in args.weights.split(",")]
    registry = Registry()
    gan, dsp = registry.get("emotion", args.model), registry.get("emotion", "dsp")
    judge, labels, features = load_judge(args.classifier)
    speaker = ResemblyzerEncoder()
    table = load_labels(LABELS_CSV, data_dir=data_dir())
    pool = table[
        (table["split"] == "valid")
        & (table["emotion"] == "neutral")
        & table["duration_s"].between(1.0, 8.0)
    ]
    clips = pool.sample(min(len(pool), args.clips), random_state=args.seed)
    scores: dict[str, list[tuple[float, float]]] = {}
    for path in clips["abs_path"]:
        wave, sr = sf.read(path, dtype="float32", always_2d=False)
        for emotion in TARGETS:
            outputs = {"dsp": dsp.convert(wave, sr, emotion, 1.0)}
            for w in weights:
                gan.envelope_weight = w
                outputs[f"{w:g}"] = gan.convert(wave, sr, emotion, 1.0)
            for name, out in outputs.items():
                probs = judge.predict_proba(features(out, sr)[None])[0]
                hit = float(labels[int(np.argmax(probs))] == emotion)
                scores.setdefault(name, []).append((hit, speaker.similarity(wave, sr, out, sr)))
    means = {k: np.mean(np.array(v), axis=0) for k, v in scores.items()}
    floor = means["dsp"][1]
    allowed = [w for w in weights if means[f"{w:g}"][1] >= floor]
    chosen = max(allowed, key=lambda w: (means[f"{w:g}"][0], w)) if allowed else min(weights)
    speakers = ", ".join(sorted(clips["speaker"].unique()))
    print(f"{len(clips)} neutral valid-split clips ({speakers}) x {len(TARGETS)} targets")
    print("| system | emotion acc. | speaker sim. |\n|---|---|---|")
    for name, (acc, sim) in means.items():
        label = "`dsp`" if name == "dsp" else f"`{args.model}` envelope_weight {name}"
        print(f"| {label} | {acc:.3f} | {sim:.3f} |")
    print(f"chosen envelope_weight: {chosen:g} (best accuracy with speaker similarity >= dsp's)")
    if args.write:
        path = CHECKPOINTS / "emotion" / args.model / "model.pt"
        payload = read_checkpoint(path)
        payload["extra"] = {**payload.get("extra", {}), "envelope_weight": chosen}
        atomic_torch_save(payload, path)
        print(f"wrote envelope_weight={chosen:g} into {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
