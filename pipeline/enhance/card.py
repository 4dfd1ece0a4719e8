"""Model card of a trained enhancement GAN, built from its training run and measured results.

Every number comes from files written by code: the checkpoint (``extra``: step, elapsed
time, validation metrics, config), the data manifest (minutes per package and licence of
the training split) and the evaluation tables of ``python -m pipeline.evaluate enhance``
(``summary.csv``, ``resources.csv``).
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from pipeline.cards import ModelCard, recipe_command
from pipeline.checkpoint import count_parameters, load_model

SUMMARY = (
    "A generative adversarial network for speech enhancement, trained here on CPU: a "
    "magnitude-mask generator (conv + GRU on the STFT) judged by a multi-resolution log-mel "
    "discriminator, with spectral reconstruction losses. 16 kHz, streaming-capable (8 ms hop, "
    "{lookahead} frame(s) of look-ahead)."
)
WHY = (
    "Why this design: with a few hours of training on a 2-core CPU, a mask estimator is "
    "the cheapest credible choice (the noisy phase is kept, so the network only predicts a "
    "bounded gain per bin) and the GRU is cheap at inference and can stream. The adversarial "
    "part uses a cheap log-mel discriminator with least-squares and feature-matching losses "
    "instead of a MetricGAN+ metric discriminator, which needs a PESQ computation per "
    "training example (tried here: no better in the same time, docs/EVALUATION.md); "
    "reconstruction losses (power-law compressed magnitude MSE + multi-resolution STFT) carry "
    "most of the signal, the discriminator joins after a warm-up."
)
LABELS = (
    "Clean targets are recordings from the Debian packages; the noisy inputs are synthetic "
    "mixtures made on the fly (pipeline.corpora.mixing: recorded noise, synthetic "
    "white/pink/brown noise or babble of other training speakers, SNR uniform in the "
    "configured range, random level). No human labels are involved. The fixed validation and "
    "test sets are mixtures of the same kind built from speaker- and noise-recording-disjoint "
    "splits."
)
DENOISED_TARGETS = (
    " Pseudo-clean targets: the game dialogue and voice-pack clips ({sources}) were first passed "
    "through {system} (`python -m pipeline.corpora targets`) to strip the background floor "
    "they were recorded with, so part of what this model learned as 'clean' is that system's "
    "output on near-clean speech (it never saw the training mixtures); studio prompts "
    "({studio}) are used as recorded."
)
STUDENT_TITLE = "Teacher-student mask GAN (distilled from DeepFilterNet3, trained in this project)"
STUDENT_TARGETS = (
    " Teacher-made targets: every training clean target is a recording passed through "
    "DeepFilterNet3 (`python -m pipeline.corpora clean-targets`) and kept only when DNSMOS OVRL "
    "after cleaning is at least 2.8 and its level fell by at most 6 dB, so 'clean' here means "
    "DeepFilterNet3's output on the recording. A share ({fraction:.0%}) of every batch comes from "
    "a bank of DeepFilterNet3 outputs on the training mixtures themselves "
    "(`python -m pipeline.enhance.distill`, precomputed to disk); on those items the generator "
    "is also pulled towards the teacher's output (distillation weight {weight}). The model is "
    "therefore supervised by DeepFilterNet3 twice over and cannot be expected to exceed it on "
    "what the teacher gets wrong. It was warm-started from the shipped mask-gan."
)
LIMITATIONS = (
    "Trained for a few CPU hours on a small corpus (few speakers, acted game dialogue and IVR "
    "prompts; the test speakers are not in the training split); expect weaker results on real "
    "recordings with reverberation, clipping or noise types unlike the training noise. The "
    "noisy phase is kept, which limits quality at very low SNR (a complex deep-filter head "
    "grown onto this model and trained briefly did not raise PESQ, docs/EVALUATION.md). "
    "The network sees 0-8 kHz only. Inputs at 32/44.1/48 kHz keep their upper band: above "
    "7.5 kHz the output is the input's own spectrum scaled per frame by the gain the network "
    "applied to its 4-8 kHz band (pipeline/fullband.py), so noise up there is reduced only as "
    "much as at the top of the network's band. "
    "Metrics are from synthetic "
    "mixtures, not from listening tests."
)


def target_provenance(manifest: str | Path, subdir: str = "speech_denoised") -> str:
    """The :data:`DENOISED_TARGETS` sentence when the manifest's training speech comes partly
    from ``python -m pipeline.corpora targets`` (paths below ``subdir``), else ``""``."""
    cleaned, studio = set(), set()
    with Path(manifest).open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["split"] != "train" or row["kind"] != "speech":
                continue
            if Path(row["path"]).parts[0] == subdir:
                cleaned.add(row["source_package"])
            else:
                studio.add(row["source_package"])
    if not cleaned:
        return ""
    from pipeline.corpora.targets import TargetsConfig

    return DENOISED_TARGETS.format(
        sources=", ".join(sorted(cleaned)),
        system=TargetsConfig().system,
        studio=", ".join(sorted(studio)) or "none",
    )


def training_data_text(manifest: str | Path, split: str = "train") -> str:
    """Minutes of the ``split`` per kind, Debian package and licence, from ``manifest.csv``."""
    minutes: dict[tuple[str, str, str], float] = defaultdict(float)
    speakers: dict[str, set[str]] = defaultdict(set)
    with Path(manifest).open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["split"] != split:
                continue
            key = (row["kind"], row["source_package"], row["licence"])
            minutes[key] += float(row["duration_s"]) / 60
            if row["kind"] == "speech":
                speakers[row["source_package"]].add(row["speaker"])
    parts = []
    for (kind, package, licence), mins in sorted(minutes.items()):
        count = len(speakers[package])
        who = f", {count} speaker{'s' if count != 1 else ''}" if kind == "speech" else ""
        parts.append(f"{kind}: {package} ({licence}) {mins:.1f} min{who}")
    return f"Training split of data/{Path(manifest).name} — " + "; ".join(parts) + "."


def _front_text(gen: dict) -> str:
    channels = int(gen.get("freq_channels", 0))
    if channels <= 0:
        return ""
    return f"frequency-convolution front end (2 x conv 5 bins / stride 2, {channels} maps), "


def _output_text(gen: dict) -> str:
    bins = int(gen.get("df_bins", 0))
    mask = f"mask in [0, {gen.get('mask_max', 1.2)}] on the noisy magnitude"
    if bins <= 0:
        return mask + ", noisy phase"
    top_hz = bins * 16_000 / int(gen.get("n_fft", 512))
    return (
        f"{mask}, then a complex deep filter ({gen.get('df_order', 5)} frames) on the lowest "
        f"{bins} bins (0-{top_hz:.0f} Hz), noisy phase above"
    )


def _loss_text(loss: dict) -> str:
    text = (
        f"compressed-magnitude MSE x{loss.get('magnitude')} + multi-resolution STFT "
        f"x{loss.get('mrstft')}"
    )
    if loss.get("complex"):
        text += f" + compressed complex MSE x{loss.get('complex')}"
    return text


def build_card(
    model_path: str | Path,
    *,
    name: str,
    manifest: str | Path,
    command: str = "",
    recipe: str = "",
) -> ModelCard:
    """The card without test-set metrics (see :func:`add_measured_metrics`).

    ``recipe``: the recipe file that produced the run (``recipes/*.yaml``); ``command``
    defaults to the command that runs it.
    """
    model, meta = load_model(model_path)
    extra: dict[str, Any] = meta.get("extra", {})
    config = extra.get("config", {})
    gen = meta["model_kwargs"]
    loss = config.get("loss", {})
    train = config.get("train", {})
    data = config.get("data", {})
    elapsed = float(extra.get("elapsed_s", 0.0))
    architecture = (
        f"MaskGenerator: STFT {gen.get('n_fft', 512)}/{gen.get('hop', 128)} at 16 kHz, "
        f"log-power input, {_front_text(gen)}"
        f"conv (look-ahead {gen.get('lookahead', 1)} frame(s)) + "
        f"{gen.get('gru_layers', 2)}-layer GRU ({gen.get('hidden', 256)} units), "
        f"{_output_text(gen)}. Discriminator "
        f"(training only): log-mel {config.get('discriminator', {}).get('ffts')} FFTs, strided "
        f"1-D convs, LSGAN + feature matching (weights {loss.get('adversarial')} / "
        f"{loss.get('feature_matching')}, from step {loss.get('adv_start')}); reconstruction: "
        f"{_loss_text(loss)}. Batch {train.get('batch_size')} x "
        f"{data.get('segment_seconds')} s, AdamW lr {train.get('lr')}, cosine decay over "
        f"{train.get('steps')} steps (the last stage if the command lists several)."
    )
    distill = config.get("distill")
    if distill:
        labels = LABELS + STUDENT_TARGETS.format(
            fraction=float(distill.get("bank_fraction", 0.0)), weight=distill.get("weight")
        )
    else:
        labels = LABELS + target_provenance(manifest)
    val = extra.get("metrics", {})
    metrics: dict[str, Any] = {}
    if val:
        metrics["validation PESQ-WB at selected step"] = round(
            float(val.get("pesq_wb", math.nan)), 3
        )
        metrics["validation STOI at selected step"] = round(float(val.get("stoi", math.nan)), 3)
    return ModelCard(
        name=name,
        task="enhance",
        title=STUDENT_TITLE if distill else "Mask GAN speech enhancer (trained in this project)",
        kind="gan",
        summary=SUMMARY.format(lookahead=gen.get("lookahead", 1)) + " " + WHY,
        architecture=architecture,
        parameters=count_parameters(model),
        sample_rate=int(meta["sample_rate"]),
        training_data=training_data_text(manifest)
        + f" Mixtures at SNR {data.get('snr_db')} dB, speech level {data.get('level_dbfs')} dBFS.",
        label_provenance=labels,
        training_command=command or (recipe_command(recipe) if recipe else ""),
        recipe=recipe,
        training_steps=int(extra.get("step", 0)),
        training_time=f"{elapsed / 3600:.2f} h wall-clock on a shared 2-core CPU "
        f"({train.get('num_threads')} torch thread)",
        metrics=metrics,
        limitations=LIMITATIONS,
        license="Weights: GPL-2 (trained on GPL-2 / GFDL-1.3 / CC-BY-SA-3.0 / CC-BY-3.0 data; see "
        "training data).",
        citation="Architecture and losses follow common practice (mask-based enhancement; "
        "LSGAN, Mao et al. 2017; feature matching and multi-resolution STFT losses as in "
        "MelGAN/HiFi-GAN/Parallel WaveGAN).",
    )


def add_measured_metrics(
    card: ModelCard, eval_dir: str | Path, *, systems: tuple[str, ...]
) -> ModelCard:
    """Copy the 0-10 dB test-set averages and RTFs from an evaluation run into ``card.metrics``."""
    eval_dir = Path(eval_dir)
    with (eval_dir / "summary.csv").open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["snr"] == "0-10"]
    with (eval_dir / "resources.csv").open(newline="", encoding="utf-8") as handle:
        rtf = {r["system"]: float(r["rtf"]) for r in csv.DictReader(handle)}
    labels = {"pesq_wb": "PESQ-WB", "stoi": "STOI", "estoi": "ESTOI", "si_sdr": "SI-SDR dB"}
    by_system = {r["system"]: r for r in rows}
    n = max((int(r["n"]) for r in rows), default=0)
    card.metrics["test items per system (0, 5, 10 dB)"] = n
    for key, label in labels.items():
        for system in systems:
            if system in by_system and by_system[system].get(key):
                card.metrics[f"{label} {system} (test, 0-10 dB)"] = round(
                    float(by_system[system][key]), 3
                )
    for system in systems:
        if system in rtf:
            card.metrics[f"real-time factor {system} (1 thread)"] = round(rtf[system], 4)
    return card
