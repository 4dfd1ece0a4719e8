"""Checks of the default corpus's emotion labels and the markdown report (docs/EMOTION_LABELS.md).

Every number in the report is computed here from the decisions frame of
:func:`pipeline.emotion.corpus.label_clips`; nothing is typed in by hand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.constants import EMOTIONS
from pipeline.emotion.labels import (
    AROUSAL_FEATURES,
    CHECK_FEATURES,
    CircumplexRules,
    circumplex_label,
)

HIGH_AROUSAL = ("happy", "angry", "surprise")
LOW_AROUSAL = ("neutral", "sad")


def cohens_d(a, b) -> float:
    """Standardised mean difference ``(mean(a) - mean(b)) / pooled sd`` (NaN-safe)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    pooled = np.sqrt(
        ((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2)
    )
    return float((a.mean() - b.mean()) / pooled) if pooled > 0 else float("nan")


def cohens_kappa(x, y) -> float:
    """Agreement of two label sequences beyond chance."""
    x, y = np.asarray(x), np.asarray(y)
    if len(x) == 0:
        return float("nan")
    cats = sorted(set(x) | set(y))
    po = float(np.mean(x == y))
    pe = sum(float(np.mean(x == c)) * float(np.mean(y == c)) for c in cats)
    return (po - pe) / (1 - pe) if pe < 1 else float("nan")


def md_table(frame: pd.DataFrame, floatfmt: str = "{:.2f}") -> str:
    """A small markdown table (index included) without extra dependencies."""
    frame = frame.copy()
    header = [str(frame.index.name or "")] + [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for idx, row in zip(frame.index, frame.itertuples(index=False), strict=True):
        cells = [str(idx)]
        for v in row:
            if isinstance(v, float | np.floating):
                cells.append("" if np.isnan(v) else floatfmt.format(v))
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def distribution(labelled: pd.DataFrame, by: str) -> pd.DataFrame:
    """Clip counts per ``by`` × emotion, with totals and minutes."""
    counts = pd.crosstab(labelled[by], labelled["emotion"]).reindex(
        columns=list(EMOTIONS), fill_value=0
    )
    counts["total"] = counts.sum(axis=1)
    counts["minutes"] = labelled.groupby(by)["duration_s"].sum().div(60).round(1)
    return counts


def arousal_by_label(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Mean / sd / n of ``column`` per emotion, plus the high-vs-low Cohen's d row."""
    rows = {}
    for emotion in EMOTIONS:
        v = frame.loc[frame["emotion"] == emotion, column].dropna()
        rows[emotion] = {
            "n": len(v),
            "mean": v.mean() if len(v) else np.nan,
            "sd": v.std() if len(v) > 1 else np.nan,
        }
    out = pd.DataFrame(rows).T
    out["n"] = out["n"].astype(int)
    out.index.name = "label"
    return out


def high_low_d(frame: pd.DataFrame, column: str) -> float:
    high = frame.loc[frame["emotion"].isin(HIGH_AROUSAL), column]
    low = frame.loc[frame["emotion"].isin(LOW_AROUSAL), column]
    return cohens_d(high, low)


def feature_effects(frame: pd.DataFrame) -> pd.DataFrame:
    """Per z-scored feature: d(high vs low arousal labels), d(angry vs sad), d(happy vs sad)."""
    rows = {}
    for col in [f"z_{c}" for c in AROUSAL_FEATURES] + ["arousal", "check_arousal"]:

        def pick(e, c=col):
            return frame.loc[frame["emotion"] == e, c]

        rows[col] = {
            "d high-low": high_low_d(frame, col),
            "d angry-sad": cohens_d(pick("angry"), pick("sad")),
            "d happy-sad": cohens_d(pick("happy"), pick("sad")),
            "d angry-neutral": cohens_d(pick("angry"), pick("neutral")),
        }
    out = pd.DataFrame(rows).T
    out.index.name = "feature (speaker z)"
    return out


def marker_effects(frame: pd.DataFrame, marker: pd.Series) -> pd.DataFrame:
    """Cohen's d of every z-scored feature between clips with and without a text ``marker``."""
    cols = [f"z_{c}" for c in (*AROUSAL_FEATURES, *CHECK_FEATURES)] + ["arousal", "check_arousal"]
    rows = {
        c: {"d marked-unmarked": cohens_d(frame.loc[marker, c], frame.loc[~marker, c])}
        for c in cols
    }
    out = pd.DataFrame(rows).T
    out.index.name = "feature (speaker z)"
    return out


def verdict(d: float, expected_sign: int = 1) -> str:
    """Plain words for an effect size in the expected direction (Cohen's rough bands)."""
    if d != d:
        return "cannot be judged (too few clips)"
    d = d * expected_sign
    if d >= 0.8:
        return "strongly supports the labels"
    if d >= 0.5:
        return "supports the labels (medium effect)"
    if d >= 0.2:
        return "supports the labels only weakly (small effect)"
    if d > -0.2:
        return "does NOT support the labels (no effect)"
    return "CONTRADICTS the labels (effect in the wrong direction)"


def per_speaker_d(frame: pd.DataFrame, column: str) -> pd.Series:
    """Cohen's d (high vs low arousal labels) of ``column`` within each speaker."""
    return (
        frame.groupby("speaker")
        .apply(lambda g: high_low_d(g, column), include_groups=False)
        .dropna()
    )


def text_vs_phrase(hw: pd.DataFrame) -> dict[str, float]:
    """Valence sign of the text route vs the phrase labels (hedgewars, labelled clips).

    Expected valence: happy > 0, angry / sad < 0, neutral = 0 (|v| < 0.05); surprise skipped.
    """
    phrases = hw[hw["emotion"].isin(["happy", "angry", "sad", "neutral"])].drop_duplicates(
        "dialog_id"
    )
    expected = phrases["emotion"].map({"happy": 1, "angry": -1, "sad": -1, "neutral": 0})
    got = np.where(phrases["valence"] >= 0.05, 1, np.where(phrases["valence"] <= -0.05, -1, 0))
    return {
        "phrases": len(phrases),
        "agree": float(np.mean(got == expected)),
        "zero_valence": float(np.mean(got == 0)),
        "agree_when_text_polar": float(np.mean((got == expected)[got != 0]))
        if (got != 0).any()
        else np.nan,
        "n_text_polar": int((got != 0).sum()),
    }


def circumplex_on_phrases(
    hw: pd.DataFrame, rules: CircumplexRules
) -> tuple[dict[str, float], pd.DataFrame]:
    """Apply the dialogue (circumplex) route to hedgewars clips; compare with phrase labels."""
    labelled = hw[hw["emotion"].notna()]
    routed = [
        circumplex_label(v, a, s, rules)[0]
        for v, a, s in zip(
            labelled["valence"], labelled["arousal"], labelled["surprise_marker"], strict=True
        )
    ]
    both = labelled.assign(circumplex=routed)
    both = both[both["circumplex"].notna()]
    stats = {
        "clips": len(labelled),
        "covered": len(both),
        "agree": float(np.mean(both["circumplex"] == both["emotion"])) if len(both) else np.nan,
        "kappa": cohens_kappa(both["emotion"], both["circumplex"]),
    }
    confusion = pd.crosstab(both["emotion"], both["circumplex"]).reindex(
        index=list(EMOTIONS), columns=list(EMOTIONS), fill_value=0
    )
    confusion.index.name = "phrase label \\ circumplex"
    return stats, confusion


def write_report(decisions: pd.DataFrame, path: Path, rules: CircumplexRules | None = None) -> Path:
    """Compute all checks and write the markdown report to ``path``."""
    from pipeline.emotion.report_text import render

    rules = rules or CircumplexRules()
    labelled = decisions[decisions["emotion"].notna()]
    hw = decisions[decisions["route"] == "phrase"]
    fil = decisions[decisions["route"] == "circumplex"]
    fil_lab = fil[fil["emotion"].notna()]
    hw_lab = hw[hw["emotion"].notna()]
    excl = decisions[decisions["emotion"].isna()]
    exclusions = (
        excl.groupby(["source", "reason"]).size().rename("clips").reset_index().set_index("source")
    )
    speakers = distribution(labelled, "speaker")
    speakers.insert(0, "split", labelled.groupby("speaker")["split"].first())
    speakers.insert(0, "source", labelled.groupby("speaker")["source"].first())
    speakers = speakers.sort_values(["split", "source", "total"], ascending=[True, True, False])
    held_out = speakers[(speakers["split"] != "train")]
    n_emotions = (held_out[list(EMOTIONS)] > 0).sum(axis=1)
    hw_speaker_d = per_speaker_d(hw_lab, "arousal")
    fil_bang = fil[fil["arousal"].notna()]
    bang = fil_bang["text_en"].fillna("").str.contains("!")
    figures = {
        "n_clips": len(decisions),
        "n_labelled": len(labelled),
        "minutes_labelled": labelled["duration_s"].sum() / 60,
        "by_source": md_table(distribution(labelled, "source"), "{:.1f}"),
        "by_split": md_table(distribution(labelled, "split"), "{:.1f}"),
        "by_speaker": md_table(speakers, "{:.1f}"),
        "held_out_multi": int((n_emotions >= 3).sum()),
        "held_out_total": len(held_out),
        "exclusions": md_table(exclusions),
        "hw_arousal": md_table(arousal_by_label(hw_lab, "arousal")),
        "hw_effects": md_table(feature_effects(hw_lab)),
        "hw_d_high_low": high_low_d(hw_lab, "arousal"),
        "hw_check_d": high_low_d(hw_lab, "check_arousal"),
        "hw_speakers_pos": int((hw_speaker_d > 0).sum()),
        "hw_speakers_n": len(hw_speaker_d),
        "hw_speaker_d_median": float(hw_speaker_d.median()) if len(hw_speaker_d) else np.nan,
        "fil_check": md_table(arousal_by_label(fil_lab, "check_arousal")),
        "fil_effects": md_table(feature_effects(fil_lab)),
        "fil_check_d": high_low_d(fil_lab, "check_arousal"),
        "fil_coupling_r": float(fil[["arousal", "check_arousal"]].dropna().corr().iloc[0, 1]),
        "hw_coupling_r": float(hw[["arousal", "check_arousal"]].dropna().corr().iloc[0, 1]),
        "bang_d": cohens_d(fil_bang.loc[bang, "arousal"], fil_bang.loc[~bang, "arousal"]),
        "bang_effects": md_table(marker_effects(fil_bang, bang)),
        "hw_verdict": verdict(high_low_d(hw_lab, "arousal")),
        "fil_verdict": verdict(high_low_d(fil_lab, "check_arousal")),
        "bang_verdict": verdict(
            cohens_d(fil_bang.loc[bang, "arousal"], fil_bang.loc[~bang, "arousal"])
        ),
        "bang_n": int(bang.sum()),
        "nobang_n": int((~bang).sum()),
        "text_vs_phrase": text_vs_phrase(hw_lab),
        "rules": rules,
    }
    stats, confusion = circumplex_on_phrases(hw, rules)
    figures["circ_stats"] = stats
    figures["circ_confusion"] = md_table(confusion)
    figures["check_features"] = ", ".join(CHECK_FEATURES)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(figures), encoding="utf-8")
    return path
