"""Model card of the envelope GAN: says exactly where the emotion comes from."""

from __future__ import annotations

from typing import Any

from pipeline.cards import ModelCard, recipe_command
from pipeline.emotion.profiles import PROFILE_SOURCES, PROFILES


def profile_table() -> str:
    """The literature profiles at intensity 1 as a markdown table, with their sources."""
    rows = [
        "| emotion | F0 mean (st) | F0 spread | level (dB) | rate | source of the directions |",
        "|---|---|---|---|---|---|",
    ]
    for emotion, p in PROFILES.items():
        rows.append(
            f"| {emotion} | {p.f0_shift_st:+.1f} | x{p.f0_spread:.2f} | {p.energy_db:+.1f} "
            f"| x{p.rate:.2f} | {PROFILE_SOURCES[emotion]} |"
        )
    return "\n".join(rows)


def card_metrics(meta: dict[str, Any], size_mb: float) -> dict[str, Any]:
    """The card's ``metrics``: validation figures of the checkpoint and of its run's log."""
    extra = meta.get("extra", {})
    metrics: dict[str, Any] = {
        f"validation {k} (step {extra.get('step')})": round(float(v), 4)
        for k, v in extra.get("metrics", {}).items()
    }
    logged = dict(extra.get("metrics_logged", {}))
    val_step = logged.pop("step", None)
    metrics.update(
        {f"validation {k} (step {val_step}, log.csv)": round(v, 4) for k, v in logged.items()}
    )
    metrics["checkpoint size (MB)"] = round(size_mb, 2)
    metrics["training clips per split"] = extra.get("clips_per_split", {})
    metrics["speakers (all splits)"] = extra.get("speakers")
    return metrics


SUMMARY = (
    "Emotion = a target prosody; realism = a GAN trained without labels. The target "
    "F0 level, F0 spread, speech level and speaking rate come from a per-emotion "
    "profile taken from published acoustic analyses (table below), scaled by the "
    "intensity and applied relative to the speaker's own prosody — or from a "
    'reference clip ("emotion from this clip"), normalised by its speaker. A small '
    "generator, trained on unlabelled speech only, then renders a spectral envelope "
    "that fits the moved F0 and energy (e.g. the flatter tilt of raised effort) "
    "instead of pitch-shifting the calm envelope. Literature profiles at intensity "
    "1:\n\n"
)


def architecture(kw: dict[str, Any], parameters: int) -> str:
    """The architecture paragraph (``kw``: the checkpoint's model kwargs)."""
    return (
        "WORLD at 16 kHz (F0 by DIO+StoneMask, CheapTrick envelope, D4C aperiodicity). "
        f"Generator ({parameters / 1e6:.2f} M parameters): the {kw.get('n_spec')}-dim coded "
        "envelope shape with its per-segment mean removed (content), frame log-F0/energy/"
        "voicing (prosody, re-added in every block) and a speaker code pooled over other "
        f"speech of the speaker (FiLM) → {kw.get('n_blocks')} dilated gated residual conv "
        f"blocks ({kw.get('channels')} ch, no normalisation over time) → the envelope. At "
        "conversion it runs twice, with the source and with the moved prosody, and the "
        "ratio (frame power kept) multiplies the source envelope. Then the level change, a "
        "global time-scale for the rate, WORLD synthesis at 16 kHz, a level set to source + "
        "profile (WORLD's level drifts with F0) and a peak limiter. Full band: a 22.05-48 kHz "
        "input keeps its own band above 7.5 kHz, time-stretched by a phase vocoder (its "
        "power per second kept) and gained per frame like the converted 4-8 kHz envelope "
        "(pipeline/emotion/band.py); the previous path, WORLD at 48 kHz, took 3.3x the CPU "
        "time (RTF 0.44 vs 0.13 on 5 s) for band levels within 0.3 dB of these. "
        "Discriminator: spectrally-normalised 1-D conv patch discriminator on "
        "[envelope, log-F0, energy, voicing], i.e. conditioned on the prosody."
    )


def label_provenance(extra: dict[str, Any]) -> str:
    """Where the emotion comes from (``extra``: the checkpoint's extra metadata)."""
    return (
        "**No emotion label is used anywhere in training** (the checkpoint records "
        f"labels_used = {extra.get('labels_used')!r}). The emotion comes from two places "
        "only: (1) the literature profiles above (directions from Murray & Arnott 1993, "
        "Juslin & Laukka 2003, Scherer 2003; magnitudes are our numeric reading of their "
        "verbal categories, close to the dsp rules, not fitted to data; surprise has no "
        "source in those reviews), and (2) a user's reference clip. The GAN learns from "
        "unlabelled speech how the envelope co-varies with F0 and energy within a speaker: "
        "self-reconstruction (L1) plus a least-squares adversarial loss on reconstructions "
        "and on random profile-like prosody moves, judged by a prosody-conditioned "
        "discriminator on real speech."
    )


def build_card(
    name: str,
    meta: dict[str, Any],
    *,
    parameters: int,
    training_command: str,
    training_time: str,
    size_mb: float,
    recipe: str = "",
) -> ModelCard:
    """The card of a shipped envelope-GAN checkpoint (``meta``: its checkpoint metadata;
    ``recipe``: the recipe file that produced it, whose command is the default
    ``training_command``)."""
    extra = meta.get("extra", {})
    return ModelCard(
        name=name,
        task="emotion",
        title="Prosody-profile emotion conversion with a label-free envelope GAN (WORLD, full band)",
        kind="gan",
        summary=SUMMARY + profile_table(),
        architecture=architecture(meta.get("model_kwargs", {}), parameters),
        parameters=parameters,
        sample_rate=int(meta.get("sample_rate", 16_000)),
        training_data=(
            "Every speech clip of the prepared corpus (`$STUDIO_DATA/manifest.csv`, kind "
            "speech; Debian game/telephony packages, see docs/DATA.md), at most "
            f"{extra.get('clips_per_split')} clips per split (seeded subset), speaker and "
            "split columns only. Speakers are disjoint between splits."
        ),
        label_provenance=label_provenance(extra),
        training_command=training_command or (recipe_command(recipe) if recipe else ""),
        recipe=recipe,
        training_steps=extra.get("step"),
        training_time=training_time,
        metrics=card_metrics(meta, size_mb),
        limitations=(
            "Pause/rhythm patterns are not changed (only a global rate). F0 is moved by rule "
            "(mean shift and spread), not generated. Short CPU training on a shared machine. "
            "Without a baseline for the reference speaker, a reference is read as the same "
            "voice as the source, so a reference in another register moves F0 by the register "
            "difference (limited to ±8 st). WORLD artefacts remain (no neural vocoder). "
            "Above 8 kHz the input's own band is kept (stretched and gained), not converted."
        ),
        license=(
            "Weights derived from GPL-2 (fillets-ng-data-cs/-nl), GFDL-1.3 (hedgewars-data), "
            "CC-BY-SA-3.0 (asterisk-core-sounds) and the other speech packages of the manifest."
        ),
        citation=(
            "Murray & Arnott, JASA 93(2) 1993; Juslin & Laukka, Psychol. Bull. 129(5) 2003; "
            "Scherer, Speech Communication 40 2003; Mao et al., LSGAN (ICCV 2017); Miyato et "
            "al., spectral normalization (ICLR 2018); Perez et al., FiLM (AAAI 2018); Morise "
            "et al., WORLD (2016); Flanagan & Golden, phase vocoder (1966)."
        ),
    )
