"""Ship a trained emotion GAN run as ``checkpoints/emotion/stargan-emotion/``.

    python scripts/ship_emotion.py runs/emotion_stargan --command "python -m pipeline.train ..."
        [--which best|last] [--out checkpoints/emotion/stargan-emotion]

Copies the inference checkpoint (generator weights + normalisation buffers only) and the
run's config, then writes ``card.json`` with every number taken from the run: steps and
wall-clock from the checkpoint, validation metrics from the checkpoint or, when it has none
(a time-budget stop), recomputed with :meth:`pipeline.emotion.trainer.EmotionTask.validate`
on the run's final training state, clip counts from the feature cache, and a freshly
measured real-time factor on this machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.cards import ModelCard  # noqa: E402
from pipeline.checkpoint import atomic_torch_save, count_parameters, load_model, read_checkpoint  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.emotion.human_labels import NO_HUMAN_TEST  # noqa: E402
from pipeline.emotion.labels import LABELS_CSV  # noqa: E402
from pipeline.emotion.system import GanConverter  # noqa: E402
from pipeline.emotion.testsignals import synthetic_voice  # noqa: E402
from pipeline.emotion.trainer import EmotionConfig, EmotionTask  # noqa: E402
from pipeline.systems import EMOTIONS  # noqa: E402
from pipeline.training import STATE_FILE, DistInfo  # noqa: E402

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
    "1-D conv projection discriminator on {segment_s:.2f} s segments of [envelope, log-F0, energy, voicing]; "
    "an auxiliary emotion classifier trained on real segments only. Losses: least-squares "
    "adversarial, classification, cycle-consistency (L1) and identity mapping (L1). Intensity: "
    "features interpolated between source and full conversion (0 = WORLD resynthesis of the "
    "input). Vocoder: WORLD (pyworld) with the source aperiodicity; the envelope is changed "
    "differentially so the source's fine spectral detail is kept."
)

ENVELOPE_NOTE = (
    " Operating point: envelope_weight {weight:g} — the generator's spectral-envelope change is "
    "applied at this strength (prosody in full), chosen on validation speakers by "
    "`python scripts/tune_emotion_envelope.py` as the setting with the best emotion "
    "accuracy among those whose speaker similarity is at least the dsp baseline's."
)


TRAINING_DATA = (
    "Real human speech from Debian packages, fetched with `apt-get download` + `dpkg -x` by "
    "`python -m pipeline.corpora prepare` (16 kHz, silences trimmed): "
    "`hedgewars-data` voice packs (acted exclamations of game characters, GFDL-1.3), "
    "`fillets-ng-data-cs` and `fillets-ng-data-nl` (acted Czech and Dutch game dialogue, GPL-2), "
    "`asterisk-core-sounds-en-g722` (one woman reading telephony prompts, CC-BY-SA-3.0). "
    "Only clips in the label table `{table}` (confidence >= {min_conf}) were used; speakers are "
    "disjoint between the train, valid and test splits (the corpus manifest's split). Labelled "
    "training clips (route: emotion count): {counts}."
)

PROVENANCE = (
    "No emotion-annotated corpus is reachable from this machine, so **every label is derived by a "
    "rule, not given by a human listener or by the actor's instructions** (procedure and checks: "
    "`docs/EMOTION_LABELS.md`, code `pipeline/emotion/labels.py`). Three routes: *phrase* - each "
    "hedgewars exclamation phrase (e.g. 'Illgetyou', 'Ohdear') was assigned an emotion once by its "
    "meaning, so every recording of that phrase gets it whatever the actor did; *circumplex* - Fish "
    "Fillets lines get valence from the English original text (VADER lexicon score) and arousal from "
    "the speaker-normalised F0 level, energy and syllable rate of the recording, and the circumplex "
    "quadrant picks happy/angry/sad/neutral (surprise from a textual marker plus high arousal); "
    "*read* - the asterisk prompts are all neutral. What this means for quality: the labels are "
    "noisy and partly circular - on the dialogue route 'angry'/'happy' are by construction the "
    "higher-F0/louder/faster clips of a speaker, which is exactly the prosody this model learns to "
    "change, so the model's validation classifier accuracy is *not* evidence that listeners would "
    "hear the intended emotion. The phrase route involves no acoustics and is the least circular. "
    "The labels are emotion categories of acted game speech, not of natural conversation."
)

LIMITATIONS = (
    "Trained for a short time ({steps} steps) on 2 shared CPU cores; small, noisily labelled data. "
    "The generator is conditioned on the target only: the source is assumed to be roughly neutral "
    "(the speaking-rate factor is relative to neutral). F0 and energy are normalised by the "
    "utterance's own mean at inference (by the speaker's mean in training). WORLD resynthesis "
    "adds its own buzziness, worse on noisy or creaky input, and DIO F0 errors propagate. "
    "The validation numbers below come from the auxiliary classifier that was trained together "
    "with the generator on the same kind of derived labels; the independent evaluation "
    "(`python -m pipeline.evaluate emotion`) is the one to trust. Validation metric names: "
    "c_acc_real = that classifier's accuracy on real valid-split segments (held-out speakers, "
    "emotion-balanced, chance 0.2); c_acc_converted = its accuracy with respect to the target on "
    "converted valid segments (high while c_acc_real is near chance means the generator learned "
    "what fools this classifier, not necessarily audible emotion); cyc_l1 / id_l1 = mean absolute "
    "cycle / identity reconstruction error in normalised feature units; f0_shift_st_X and "
    "energy_shift_db_X = mean change of voiced log-F0 (semitones) and energy (dB) when valid "
    "segments of all emotions are converted to X; moment_err = prosody moment-matching error."
)


def card_provenance(extra: dict) -> str:
    """Where the run's labels came from: listeners (human label table) or the rules."""
    if extra.get("human_labels"):
        return (
            f"{extra.get('label_provenance')}. Trained only on the clips listeners labelled, "
            f"with their Dawid-Skene label (table `{extra['human_labels']}`)."
        )
    return f"{PROVENANCE} {NO_HUMAN_TEST}"


def label_counts(table: Path, min_confidence: float) -> str:
    """``route: emotion count`` of the train split of the label table."""
    frame = pd.read_csv(table, keep_default_na=False, na_values=[""])
    frame = frame[frame["emotion"].isin(EMOTIONS)]  # rows the training reader keeps
    train = frame[(frame["split"] == "train") & (frame["confidence"] >= min_confidence)]
    counts = train.groupby(["route", "emotion"]).size()
    return "; ".join(
        f"{route}: " + ", ".join(f"{e} {n}" for e, n in counts[route].items())
        for route in counts.index.get_level_values(0).unique()
    )


def table_agreement(trained_on: Path, committed: Path) -> str:
    """How the table the run read compares with the committed one (path/speaker/emotion/split)."""
    keys = ["path", "speaker", "emotion", "split"]
    frames = []
    for table in (trained_on, committed):
        frame = pd.read_csv(table, keep_default_na=False, na_values=[""])
        frames.append(frame[frame["emotion"].isin(EMOTIONS)][keys])
    merged = frames[0].merge(frames[1], on="path", how="outer", suffixes=("_run", "_repo"))
    same = (
        sum((merged[f"{k}_run"] == merged[f"{k}_repo"]).to_numpy() for k in keys[1:])
        == len(keys) - 1
    )
    return (
        f"{int(same.sum())} of {len(merged)} labelled clips identical (speaker, emotion, split) "
        f"between {_rel(trained_on)} (read by the run) and {_rel(committed)}"
    )


def validate_run(run: Path, step: int) -> dict[str, float]:
    """Run the task's own validation on the run's final training state (same weights as last.pt).

    ``last.pt`` written at a time-budget stop carries no metrics, so they are computed here
    with :meth:`EmotionTask.validate` on the ``valid`` split.
    """
    config = load_config(EmotionConfig, run / "config.yaml")
    state = torch.load(run / STATE_FILE, map_location="cpu", weights_only=True)
    if int(state["step"]) != step:
        raise SystemExit(f"{run}: training state is at step {state['step']}, checkpoint at {step}")
    task = EmotionTask(config, DistInfo())
    for name, module in task.modules.items():
        module.load_state_dict(state["modules"][name], strict=True)
        module.eval()
    with torch.no_grad():
        return task.validate()


def _rel(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


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
        "--labels", type=Path, default=LABELS_CSV, help="the label table trained on"
    )
    parser.add_argument("--command", required=True, help="the exact training command that was run")
    args = parser.parse_args()

    payload = read_checkpoint(args.run / f"{args.which}.pt")
    extra = payload["extra"]
    min_conf = float(extra.get("config", {}).get("data", {}).get("min_confidence", 0.0))
    args.out.mkdir(parents=True, exist_ok=True)
    slim = {k: v for k, v in payload.items() if k != "extra"}
    slim["extra"] = {k: v for k, v in extra.items() if k != "config"}
    atomic_torch_save(slim, args.out / "model.pt")
    shutil.copyfile(args.run / "config.yaml", args.out / "config.yaml")
    model, _ = load_model(args.out / "model.pt")  # strict reload check
    size_mb = (args.out / "model.pt").stat().st_size / 2**20

    values = extra.get("metrics") or validate_run(args.run, int(extra.get("step", -1)))
    metrics: dict[str, object] = {
        f"validation {k} (step {extra.get('step')})": round(float(v), 4)
        for k, v in sorted(values.items())
    }
    load = os.getloadavg()[0]
    rtf_key = f"RTF (5 s, 1 thread, WORLD analysis included; 2-core CPU at load average {load:.1f})"
    metrics[rtf_key] = round(measure_rtf(args.out), 3)
    metrics["checkpoint size (MB)"] = round(size_mb, 2)
    counts = extra.get("clip_counts", {})
    metrics.update(
        {
            f"{split} clips per emotion": ", ".join(f"{e} {n}" for e, n in c.items())
            for split, c in counts.items()
        }
    )
    metrics["speakers (all splits)"] = extra.get("speakers")
    run_table = Path(extra.get("label_table", ""))
    if run_table.is_file() and run_table.resolve() != args.labels.resolve():
        metrics["label table check"] = table_agreement(run_table, args.labels)
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
        architecture=ARCHITECTURE.format(
            n_blocks=kw.get("n_blocks"),
            channels=kw.get("channels"),
            segment_s=0.005
            * int(extra.get("config", {}).get("data", {}).get("segment_frames", 128)),
        )
        + (
            ENVELOPE_NOTE.format(weight=float(extra["envelope_weight"]))
            if "envelope_weight" in extra
            else ""
        ),
        parameters=count_parameters(model),
        sample_rate=int(payload["sample_rate"]),
        training_data=TRAINING_DATA.format(
            table=_rel(args.labels), min_conf=min_conf, counts=label_counts(args.labels, min_conf)
        ),
        label_provenance=card_provenance(extra),
        training_command=args.command,
        training_steps=int(extra.get("step", 0)),
        training_time=f"{float(extra.get('elapsed_s', 0)) / 60:.0f} min wall-clock on 2 shared CPU cores (1 torch thread)",
        metrics=metrics,
        limitations=LIMITATIONS.format(steps=int(extra.get("step", 0))),
        license=(
            "Weights derived from GPL-2 (fillets-ng-data-cs/-nl), GFDL-1.3 (hedgewars-data) and "
            "CC-BY-SA-3.0 (asterisk-core-sounds-en-g722) recordings; see training data."
        ),
        citation=(
            "Kaneko et al., StarGAN-VC2 (Interspeech 2019); Kameoka et al., StarGAN-VC (SLT 2018); "
            "Miyato & Koyama, cGANs with projection discriminator (ICLR 2018); Morise et al., WORLD (2016)."
        ),
    )
    card.write(args.out / "card.json")
    print(card.to_markdown())


if __name__ == "__main__":
    main()
