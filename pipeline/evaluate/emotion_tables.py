"""Summaries, prosody effect sizes, markdown and target checks of the emotion evaluation.

Prosody shifts are expressed in *real within-speaker standard deviations*: for each prosodic
measure the real labelled clips (non-test speakers) are centred on their speaker's mean and
the standard deviation of those centred values is the unit ``sd``. Then

* real effect of emotion ``e``: ``(mean_e - mean_neutral) / sd`` on the centred real clips;
* converted shift: ``mean(output - source) / sd`` over the same source clips (paired).

A good conversion moves each measure in the real direction by a similar amount.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.constants import EMOTIONS
from pipeline.evaluate.asr import wer
from pipeline.evaluate.targets import Target, check, targets_markdown

PROSODY_KEYS = ("f0_mean_st", "f0_range_st", "energy_db", "syllable_rate")
PROSODY_LABELS = {
    "f0_mean_st": "F0 mean",
    "f0_range_st": "F0 range",
    "energy_db": "energy",
    "syllable_rate": "rate",
}
NON_NEUTRAL = tuple(e for e in EMOTIONS if e != "neutral")


def real_effects(real: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """Real effect of each emotion vs neutral (rows emotion, columns keys) and the unit sds."""
    centred = real.copy()
    for key in PROSODY_KEYS:
        centred[key] = real[key] - real.groupby("speaker")[key].transform("mean")
    sds = {k: float(np.nanstd(centred[k])) for k in PROSODY_KEYS}
    means = centred.groupby("emotion")[list(PROSODY_KEYS)].mean()
    effects = pd.DataFrame(index=list(EMOTIONS), columns=list(PROSODY_KEYS), dtype=float)
    for e in EMOTIONS:
        for k in PROSODY_KEYS:
            if e in means.index and "neutral" in means.index and sds[k] > 0:
                effects.loc[e, k] = (means.loc[e, k] - means.loc["neutral", k]) / sds[k]
    return effects, sds


def paired(rows: pd.DataFrame) -> pd.DataFrame:
    """Converted rows joined with their source row (suffix ``_src``) on ``path``."""
    cols = [*PROSODY_KEYS, "dnsmos_ovrl", "wer", "transcript"]
    src = rows[rows["system"] == "source"][["path", *cols]]
    src = src.rename(columns={c: f"{c}_src" for c in cols})
    conv = rows[rows["system"] != "source"]
    joined = conv.merge(src, on="path", how="left")
    joined["ovrl_drop"] = joined["dnsmos_ovrl_src"] - joined["dnsmos_ovrl"]
    joined["wer_vs_source"] = [
        wer(ref, hyp) if isinstance(ref, str) and ref.strip() else math.nan
        for ref, hyp in zip(joined["transcript_src"], joined["transcript"].fillna(""), strict=True)
    ]
    return joined


def _stats(g: pd.DataFrame, target: str, sds: dict[str, float]) -> dict:
    """Aggregate paired rows ``g`` (output joined with its source) for one target emotion."""
    return {
        "n": len(g),
        "accuracy": float((g["predicted"] == target).mean()),
        "speaker_sim": g["speaker_sim"].mean(),
        "dnsmos_ovrl": g["dnsmos_ovrl"].mean(),
        "ovrl_drop": g["ovrl_drop"].mean(),
        "wer": g["wer"].mean(),
        "wer_vs_source": g["wer_vs_source"].mean(),
        "duration_ratio": float((g["duration_s"] / g["source_duration_s"]).mean()),
        **{
            f"shift_{k}": float((g[k] - g[f"{k}_src"]).mean() / sds[k]) if sds[k] > 0 else math.nan
            for k in PROSODY_KEYS
        },
    }


def summarize(rows: pd.DataFrame, sds: dict[str, float]) -> pd.DataFrame:
    """One row per (system, emotion, intensity) with accuracy, similarity, quality, WER, shifts.

    ``source`` and ``world`` (emotion ``"-"``): one row per target ``e`` whose ``accuracy``
    is the share of those clips the classifier already calls ``e`` — the floor a conversion
    has to beat. ``wer`` is against the verbatim transcript (where one exists),
    ``wer_vs_source`` against the source clip's own Whisper transcript.
    """
    src = rows[rows["system"] == "source"]
    identity = src.assign(ovrl_drop=0.0, wer_vs_source=0.0)
    for k in PROSODY_KEYS:
        identity[f"{k}_src"] = identity[k]
    joined = pd.concat([identity, paired(rows)], ignore_index=True)
    out = []
    for name in rows["system"].unique():
        pj = joined[joined["system"] == name]
        if (pj["emotion"] == "-").all():
            for e in EMOTIONS:
                out.append(
                    {"system": name, "emotion": e, "intensity": math.nan, **_stats(pj, e, sds)}
                )
            continue
        for (e, i), g in pj.groupby(["emotion", "intensity"], sort=False):
            out.append({"system": name, "emotion": e, "intensity": float(i), **_stats(g, e, sds)})
    return pd.DataFrame(out)


def system_means(summary: pd.DataFrame) -> pd.DataFrame:
    """Averages over the four non-neutral targets, per (system, intensity)."""
    sub = summary[summary["emotion"].isin(NON_NEUTRAL)]
    cols = [
        "accuracy",
        "speaker_sim",
        "dnsmos_ovrl",
        "ovrl_drop",
        "wer",
        "wer_vs_source",
        "duration_ratio",
    ]
    keys = sub["intensity"].fillna(-1.0)
    agg = sub.groupby([sub["system"], keys], sort=False)[cols].mean().reset_index()
    agg["intensity"] = agg["intensity"].replace(-1.0, math.nan)
    return agg


def _get(means: pd.DataFrame, system: str, intensity: float, col: str) -> float:
    sel = means[(means["system"] == system) & (means["intensity"] == intensity)]
    return float(sel[col].iloc[0]) if len(sel) else math.nan


def emotion_targets(means: pd.DataFrame, *, gan: str, intensity: float = 1.0) -> list[Target]:
    """The issue's targets at ``intensity``, averaged over happy/angry/sad/surprise."""
    g = {c: _get(means, gan, intensity, c) for c in ("accuracy", "speaker_sim", "ovrl_drop")}
    d = {c: _get(means, "dsp", intensity, c) for c in ("accuracy", "speaker_sim", "ovrl_drop")}
    return [
        check(f"speaker similarity of {gan}", g["speaker_sim"], ">=", 0.75),
        check(f"DNSMOS OVRL drop of {gan} vs source", g["ovrl_drop"], "<=", 0.3),
        # shares of the same 0/1 pairs: equal counts must compare equal, not differ by 1e-17
        check(
            f"emotion accuracy of {gan} minus dsp",
            round(g["accuracy"] - d["accuracy"], 9),
            ">=",
            0.0,
        ),
        check(
            f"OVRL drop of {gan} minus dsp's (equal or better naturalness)",
            g["ovrl_drop"] - d["ovrl_drop"],
            "<=",
            0.0,
        ),
        check(
            f"speaker similarity of {gan} minus dsp", g["speaker_sim"] - d["speaker_sim"], ">=", 0.0
        ),
        check("speaker similarity of dsp (reference)", d["speaker_sim"], ">=", 0.75),
        check("DNSMOS OVRL drop of dsp (reference)", d["ovrl_drop"], "<=", 0.3),
    ]


COMPARED = ("accuracy", "speaker_sim", "ovrl_drop")


def paired_comparison(
    rows: pd.DataFrame,
    *,
    gan: str,
    baseline: str = "dsp",
    intensity: float = 1.0,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """``gan`` minus ``baseline`` on the same (source clip, non-neutral target) pairs.

    Returns one row per measure of :data:`COMPARED` (accuracy as 0/1 per pair) with the mean
    difference and a 95 % percentile-bootstrap interval that resamples *source clips* (all
    targets of a clip together, since they share the clip's voice and words), plus the
    numbers of pairs and clips. Empty when the two systems share no pairs.
    """
    joined = paired(rows)
    sel = joined[joined["emotion"].isin(NON_NEUTRAL) & (joined["intensity"] == intensity)]
    a = sel[sel["system"] == gan].set_index(["path", "emotion"])
    b = sel[sel["system"] == baseline].set_index(["path", "emotion"])
    common = a.index.intersection(b.index)
    if len(common) == 0:
        return pd.DataFrame(
            columns=["measure", "difference", "ci_low", "ci_high", "pairs", "clips"]
        )
    a, b = a.loc[common], b.loc[common]
    targets = common.get_level_values("emotion")
    diffs = pd.DataFrame(
        {
            "accuracy": (a["predicted"] == targets).to_numpy(float)
            - (b["predicted"] == targets).to_numpy(float),
            "speaker_sim": a["speaker_sim"].to_numpy(float) - b["speaker_sim"].to_numpy(float),
            "ovrl_drop": a["ovrl_drop"].to_numpy(float) - b["ovrl_drop"].to_numpy(float),
        },
        index=common,
    )
    clips = diffs.index.get_level_values("path")
    sums, counts = diffs.groupby(clips).sum(), diffs.groupby(clips).count()
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(sums), size=(n_boot, len(sums)))
    out = []
    for measure in COMPARED:
        s, c = sums[measure].to_numpy(), counts[measure].to_numpy()
        boot = s[draws].sum(axis=1) / np.maximum(c[draws].sum(axis=1), 1)
        low, high = np.percentile(boot, [2.5, 97.5])
        out.append(
            {
                "measure": measure,
                "difference": float(s.sum() / max(c.sum(), 1)),
                "ci_low": float(low),
                "ci_high": float(high),
                "pairs": int(c.sum()),
                "clips": len(sums),
            }
        )
    return pd.DataFrame(out)


def _f(value: float, digits: int = 2) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _intensity(value: float) -> str:
    return "–" if not np.isfinite(value) else f"{value:g}"


def _judge_section(classifier_dir: Path) -> list[str]:
    """The judge classifier's own report, when ``classifier_dir`` holds one."""
    report = classifier_dir / "report.md"
    if not report.is_file():
        return []
    return [
        "### The judge: emotion classifier on real held-out speech",
        "",
        report.read_text(encoding="utf-8").replace("## Evaluation emotion classifier", "").strip(),
        "",
    ]


def _system_averages_section(means: pd.DataFrame) -> list[str]:
    """One row per system: its means over the non-neutral targets."""
    lines = [
        "### System averages over happy, angry, sad, surprise",
        "",
        "| system | intensity | emotion acc. | speaker sim. | DNSMOS OVRL | OVRL drop | WER | WER vs source | duration ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in means.iterrows():
        lines.append(
            f"| `{r['system']}` | {_intensity(r['intensity'])} | {_f(r['accuracy'])} | "
            f"{_f(r['speaker_sim'])} | {_f(r['dnsmos_ovrl'])} | {_f(r['ovrl_drop'])} | "
            f"{_f(r['wer'])} | {_f(r['wer_vs_source'])} | {_f(r['duration_ratio'])} |"
        )
    return lines + [
        "",
        "For `source`/`world` the accuracy column is the share of unconverted (or only "
        "resynthesised) clips the judge already assigns to the target emotion. WER: Whisper "
        "tiny.en against the verbatim transcript (asterisk prompts only); WER vs source: "
        "against the Whisper transcript of the unconverted clip (all English clips).",
        "",
    ]


def _per_target_section(summary: pd.DataFrame) -> list[str]:
    """One row per system, intensity and target emotion, with the prosody shifts."""
    lines = [
        "### Per target emotion",
        "",
        "| system | intensity | target | n | acc. | spk sim. | OVRL | OVRL drop | WER | WER vs src | "
        + " | ".join(f"Δ{PROSODY_LABELS[k]}" for k in PROSODY_KEYS)
        + " |",
        "|" + "---|" * (10 + len(PROSODY_KEYS)),
    ]
    for _, r in summary.iterrows():
        lines.append(
            f"| `{r['system']}` | {_intensity(r['intensity'])} | {r['emotion']} | {int(r['n'])} | "
            f"{_f(r['accuracy'])} | {_f(r['speaker_sim'])} | {_f(r['dnsmos_ovrl'])} | "
            f"{_f(r['ovrl_drop'])} | {_f(r['wer'])} | {_f(r['wer_vs_source'])} | "
            + " | ".join(_f(r[f"shift_{k}"]) for k in PROSODY_KEYS)
            + " |"
        )
    return lines + [""]


def _prosody_section(
    summary: pd.DataFrame, effects: pd.DataFrame, sds: dict[str, float], n_real: int
) -> list[str]:
    """Real emotion effects next to each system's converted shifts at intensity 1.0."""
    lines = [
        "### Prosody: real emotion effects vs converted shifts",
        "",
        "Units: real within-speaker standard deviations ("
        + ", ".join(f"{PROSODY_LABELS[k]} {sds[k]:.2f}" for k in PROSODY_KEYS)
        + " in st, st, dB, syllables/s). Real = labelled clips of non-test speakers "
        f"({n_real} clips), emotion mean minus neutral mean after per-speaker centring.",
        "",
        "| target | source | " + " | ".join(PROSODY_LABELS[k] for k in PROSODY_KEYS) + " |",
        "|---|---|" + "---|" * len(PROSODY_KEYS),
    ]
    for e in NON_NEUTRAL:
        lines.append(
            f"| {e} | real | " + " | ".join(_f(effects.loc[e, k]) for k in PROSODY_KEYS) + " |"
        )
        for _, r in summary[(summary["emotion"] == e) & (summary["intensity"] == 1.0)].iterrows():
            lines.append(
                f"| {e} | `{r['system']}` @1.0 | "
                + " | ".join(_f(r[f"shift_{k}"]) for k in PROSODY_KEYS)
                + " |"
            )
    return lines


def _paired_comparison_section(comparison: pd.DataFrame, gan: str) -> list[str]:
    """``gan`` minus ``dsp`` on the same clips with bootstrap intervals (empty: no lines)."""
    if not len(comparison):
        return []
    lines = [
        "",
        f"### `{gan}` minus `dsp`, paired (intensity 1.0)",
        "",
        "Same source clips and targets; 95 % interval from a bootstrap over source clips "
        "(2000 resamples). An interval that excludes 0 is a difference this test set "
        "can resolve.",
        "",
        "| measure | difference | 95 % interval | pairs | clips |",
        "|---|---|---|---|---|",
    ]
    for _, r in comparison.iterrows():
        lines.append(
            f"| {r['measure']} | {r['difference']:+.3f} | "
            f"[{r['ci_low']:+.3f}, {r['ci_high']:+.3f}] | {r['pairs']} | {r['clips']} |"
        )
    return lines


def build_report(
    rows: pd.DataFrame, real: pd.DataFrame, *, classifier_dir: Path, gan: str, n_sources: int
) -> tuple[str, list[Target]]:
    """The markdown report and the target checks."""
    effects, sds = real_effects(real)
    summary = summarize(rows, sds)
    means = system_means(summary)
    targets = emotion_targets(means, gan=gan)
    speakers = ", ".join(sorted(rows[rows["system"] == "source"]["speaker"].unique()))
    lines = [
        "## Emotion conversion evaluation",
        "",
        f"Source: {n_sources} neutral clips of the held-out test speakers ({speakers}), "
        "converted to every emotion. WER only on English clips with a transcript.",
        "",
    ]
    lines += _judge_section(classifier_dir)
    lines += _system_averages_section(means)
    lines += _per_target_section(summary)
    lines += _prosody_section(summary, effects, sds, len(real))
    lines += [
        "",
        "### Targets (intensity 1.0, mean over the four non-neutral targets)",
        "",
        targets_markdown(targets),
    ]
    lines += _paired_comparison_section(paired_comparison(rows, gan=gan), gan)
    return "\n".join(lines) + "\n", targets
