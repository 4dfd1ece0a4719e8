"""Ship a trained emotion GAN run as ``checkpoints/emotion/stargan-emotion/``.

    python scripts/ship_emotion.py runs/emotion_stargan [--which best|last]
        [--out checkpoints/emotion/stargan-emotion] [--provenance notes.md]

Copies the inference checkpoint (generator weights + normalisation buffers only) and the
run's config, then writes ``card.json`` with every number taken from the run: steps and
wall-clock from the checkpoint, validation metrics from the checkpoint (as computed by
:meth:`pipeline.emotion.trainer.EmotionTask.validate`), clip counts from the feature cache,
and a freshly measured real-time factor on this machine.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.cards import ModelCard  # noqa: E402
from pipeline.checkpoint import atomic_torch_save, count_parameters, load_model, read_checkpoint  # noqa: E402
from pipeline.emotion.system import GanConverter  # noqa: E402
from pipeline.emotion.testsignals import synthetic_voice  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "checkpoints" / "emotion" / "stargan-emotion"

ARCHITECTURE = (
    "StarGAN-VC2-style many-to-many conditional GAN on WORLD features (16 kHz, 5 ms frames). "
    "Generator: 2-1-2-D gated conv encoder-decoder over the 36-dim coded spectral-envelope shape "
    "with {n_blocks} conditional-instance-norm residual blocks ({channels} channels) conditioned on "
    "the target emotion, plus a dilated 1-D prosody branch (continuous log-F0 and frame energy, "
    "conditioned the same way and fed the spectral bottleneck); both predict residuals. "
    "Speaking rate: one measured log rate ratio per emotion (syllable rate vs the speaker's mean, "
    "relative to neutral), applied as a global time-scale. Discriminator: spectrally-normalised "
    "1-D conv projection discriminator on 0.64 s segments of [envelope, log-F0, energy, voicing]; "
    "an auxiliary emotion classifier trained on real segments only. Losses: least-squares "
    "adversarial, classification, cycle-consistency (L1) and identity mapping (L1). Intensity: "
    "features interpolated between source and full conversion (0 = WORLD resynthesis of the "
    "input). Vocoder: WORLD (pyworld) with the source aperiodicity; the envelope is changed "
    "differentially so the source's fine spectral detail is kept."
)


def measure_rtf(folder: Path, seconds: float = 5.0, repeats: int = 3) -> float:
    """Median end-to-end RTF of the shipped system on a synthetic 5 s voice, 1 torch thread."""
    torch.set_num_threads(1)
    system = GanConverter(
        folder, card=ModelCard(name=folder.name, task="emotion", title="", kind="gan")
    )
    wave = synthetic_voice(seconds, system.sample_rate, seed=1)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        system.convert(wave, system.sample_rate, "angry", 1.0)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--which", choices=("best", "last"), default="last")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--provenance", type=Path, required=True, help="markdown text: where the labels came from"
    )
    parser.add_argument(
        "--training-data", type=Path, required=True, help="markdown text: data, packages, licences"
    )
    parser.add_argument("--limitations", type=Path, required=True)
    parser.add_argument("--command", required=True, help="the exact training command that was run")
    args = parser.parse_args()

    payload = read_checkpoint(args.run / f"{args.which}.pt")
    extra = payload["extra"]
    args.out.mkdir(parents=True, exist_ok=True)
    slim = {k: v for k, v in payload.items() if k != "extra"}
    slim["extra"] = {k: v for k, v in extra.items() if k != "config"}
    atomic_torch_save(slim, args.out / "model.pt")
    shutil.copyfile(args.run / "config.yaml", args.out / "config.yaml")
    model, _ = load_model(args.out / "model.pt")  # strict reload check
    size_mb = (args.out / "model.pt").stat().st_size / 2**20

    metrics: dict[str, object] = {
        f"validation {k}": round(float(v), 4) for k, v in sorted(extra.get("metrics", {}).items())
    }
    if not metrics:
        metrics["validation"] = "none recorded in this checkpoint (last.pt); see log.csv in the run"
    metrics["RTF (5 s, 1 thread, this CPU, WORLD analysis included)"] = round(
        measure_rtf(args.out), 3
    )
    metrics["checkpoint size (MB)"] = round(size_mb, 2)
    counts = extra.get("clip_counts", {})
    metrics.update(
        {
            f"{split} clips per emotion": ", ".join(f"{e} {n}" for e, n in c.items())
            for split, c in counts.items()
        }
    )
    metrics["speakers"] = extra.get("speakers")
    log_rate = model.log_rate.tolist()
    metrics["rate ratio per emotion (vs neutral)"] = ", ".join(
        f"{e} x{torch.tensor(r).exp().item():.3f}"
        for e, r in zip(extra.get("emotions", []), log_rate, strict=False)
    )
    kw = payload["model_kwargs"]
    card = ModelCard(
        name=args.out.name,
        task="emotion",
        title="StarGAN emotion converter (WORLD, spectrum + prosody)",
        kind="gan",
        summary=(
            "One conditional GAN generator for all five emotions, trained on real acted speech from "
            "Debian game/telephony packages with *derived* (not human-annotated) emotion labels."
        ),
        architecture=ARCHITECTURE.format(n_blocks=kw.get("n_blocks"), channels=kw.get("channels")),
        parameters=count_parameters(model),
        sample_rate=int(payload["sample_rate"]),
        training_data=args.training_data.read_text(encoding="utf-8").strip(),
        label_provenance=args.provenance.read_text(encoding="utf-8").strip(),
        training_command=args.command,
        training_steps=int(extra.get("step", 0)),
        training_time=f"{float(extra.get('elapsed_s', 0)) / 60:.0f} min wall-clock on 2 shared CPU cores (1 torch thread)",
        metrics=metrics,
        limitations=args.limitations.read_text(encoding="utf-8").strip(),
        license="Weights trained on GPL-2+/CC-BY-SA data; see training data.",
        citation=(
            "Kaneko et al., StarGAN-VC2 (Interspeech 2019); Kameoka et al., StarGAN-VC (SLT 2018); "
            "Miyato & Koyama, cGANs with projection discriminator (ICLR 2018); Morise et al., WORLD (2016)."
        ),
    )
    card.write(args.out / "card.json")
    print(card.to_markdown())


if __name__ == "__main__":
    main()
