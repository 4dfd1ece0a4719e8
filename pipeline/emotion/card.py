"""Model card of a trained emotion GAN (StarGAN-style, WORLD features), built from its run.

Every number comes from files written by code: the checkpoint (``extra``: step, elapsed time,
validation metrics, clip counts, config) and the label table the run read. The card text
(architecture, training data, label provenance, limitations) lives here, next to the model;
``python -m scripts.ship_emotion`` copies a run's checkpoint and calls :func:`build_card`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import torch

from pipeline.cards import ModelCard, recipe_command
from pipeline.checkpoint import count_parameters
from pipeline.constants import EMOTIONS
from pipeline.emotion.human_labels import NO_HUMAN_TEST

REPO = Path(__file__).resolve().parents[2]

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
    "features interpolated between source and full conversion (0 returns the input unchanged, "
    "no resynthesis). Vocoder: WORLD (pyworld) with the source aperiodicity; the envelope is changed "
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
        f"between {repo_relative(trained_on)} (read by the run) and {repo_relative(committed)}"
    )


def repo_relative(path: Path) -> str:
    """``path`` relative to the repository root when inside it, else absolute."""
    path = path.resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def build_card(
    name: str,
    payload: dict[str, Any],
    model: torch.nn.Module,
    *,
    labels: Path,
    command: str,
    metrics: dict[str, object],
    recipe: str = "",
) -> ModelCard:
    """The card of an emotion GAN checkpoint.

    Args:
        name: system name (the checkpoint folder's name).
        payload: the checkpoint as read by :func:`pipeline.checkpoint.read_checkpoint`.
        model: the generator loaded from it (for the parameter count).
        labels: the label table the run trained on (clip counts are read from it).
        command: the exact training command that was run ("": the recipe's command).
        recipe: the recipe file that produced the run (``recipes/*.yaml``), if any.
        metrics: measured numbers (validation, RTF, size, clip counts) for the card.
    """
    extra = payload["extra"]
    min_conf = float(extra.get("config", {}).get("data", {}).get("min_confidence", 0.0))
    kw = payload["model_kwargs"]
    return ModelCard(
        name=name,
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
            table=repo_relative(labels), min_conf=min_conf, counts=label_counts(labels, min_conf)
        ),
        label_provenance=card_provenance(extra),
        training_command=command or (recipe_command(recipe) if recipe else ""),
        recipe=recipe,
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
