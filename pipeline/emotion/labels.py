"""Emotion labelling rules for the default corpus (no emotion-labelled corpus exists here).

Three routes, each a documented, reproducible rule (see docs/EMOTION_LABELS.md):

``phrase``      hedgewars voice packs: every phrase (file stem without digits) maps to an
                emotion by its meaning, from the data file ``data/hedgewars_phrases.csv``
                (one line of reason per phrase; pain sounds, grunts, fear calls excluded).
``circumplex``  Fish Fillets dialogue: valence from the English original line
                (VADER compound score, lexicon shipped in ``vaderSentiment``) and arousal
                from per-speaker z-scores of F0 level, energy and syllable rate; the
                quadrants of the circumplex give happy / angry / sad, the centre neutral,
                high arousal plus a textual surprise marker gives surprise. Clips inside
                the margins between regions are left out.
``read``        asterisk prompts (one woman reading system messages): neutral.

The acoustic features themselves are measured in :mod:`pipeline.emotion.corpus`.
"""

from __future__ import annotations

import csv
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.constants import EMOTIONS

DATA = Path(__file__).resolve().parent / "resources"
PHRASES_CSV = DATA / "hedgewars_phrases.csv"
LABELS_CSV = DATA / "emotion_labels.csv"

#: features (per-speaker z-scored, averaged) that define the acoustic arousal of a clip
AROUSAL_FEATURES = ("f0_median_st", "energy_db", "syllable_rate")
#: features NOT used for labelling: voice-effort measures used only to check the labels
#: (sign +1: higher means more aroused; the Hammarberg index falls with effort)
CHECK_FEATURES = {"alpha_ratio_db": 1.0, "hammarberg_db": -1.0}

#: a line that reads as surprise: "What?!", "Oh!", "Wow", "Really?", "Huh?", ...
SURPRISE_RE = re.compile(
    r"(\?!|!\?|^\W*(what|oh|wow|whoa|really|huh|ah|aha|hey|my god|goodness|incredible|"
    r"unbelievable|what the)\b[^.]{0,25}[!?])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PhraseLabel:
    phrase: str
    emotion: str | None  # None = excluded
    confidence: float
    reason: str


def load_phrase_labels(path: str | Path = PHRASES_CSV) -> dict[str, PhraseLabel]:
    """Phrase id (e.g. ``Illgetyou``) → :class:`PhraseLabel` from the committed CSV."""
    table = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            emotion = row["emotion"].strip() or None
            if emotion is not None and emotion not in EMOTIONS:
                raise ValueError(f"{path}: unknown emotion {emotion!r} for {row['phrase']}")
            table[row["phrase"]] = PhraseLabel(
                row["phrase"], emotion, float(row["confidence"]), row["reason"]
            )
    return table


class TextValence:
    """Valence of English text in [-1, 1]: VADER's compound score (Hutto & Gilbert 2014)."""

    def __init__(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
        self._analyzer = SentimentIntensityAnalyzer()

    def __call__(self, text: str) -> float:
        if not isinstance(text, str) or not text.strip():
            return float("nan")
        return float(self._analyzer.polarity_scores(text)["compound"])


def has_surprise_marker(text: str) -> bool:
    """True when ``text`` contains "?!"/"!?" or opens with a surprise interjection + ! or ?."""
    return isinstance(text, str) and bool(SURPRISE_RE.search(text.strip()))


@dataclass(frozen=True)
class CircumplexRules:
    """Thresholds of the circumplex route (valence in [-1, 1], arousal in speaker z units).

    Attributes:
        valence_polar: |valence| >= this counts as positive / negative (VADER's own
            "clearly positive" convention is 0.05; we demand more).
        valence_flat: |valence| < this counts as neutral valence.
        arousal_high: arousal >= this is high.
        arousal_low: arousal <= this is low.
        neutral_arousal: (lo, hi) arousal band of the neutral centre.
        min_speaker_clips: speakers with fewer clips are not z-scored (left out).
    """

    valence_polar: float = 0.3
    valence_flat: float = 0.05
    arousal_high: float = 0.5
    arousal_low: float = -0.5
    neutral_arousal: tuple[float, float] = (-0.75, 0.25)
    min_speaker_clips: int = 8


def circumplex_label(
    valence: float, arousal: float, surprise_marker: bool, rules: CircumplexRules
) -> tuple[str | None, float, str]:
    """Map one clip to ``(emotion or None, confidence in (0, 1], reason)``.

    Order: surprise (marker + high arousal), then the quadrants, then the neutral centre;
    anything else is left out with the reason why. Confidence is the smaller of the two
    normalised margins past the thresholds, capped at 1.
    """
    if not (math.isfinite(valence) and math.isfinite(arousal)):
        return None, 0.0, "no valence or arousal"
    r = rules

    def conf(*margins: float) -> float:
        return float(min(1.0, max(1e-3, min(margins))))

    if surprise_marker and arousal >= r.arousal_high:
        return "surprise", conf(arousal / (2 * r.arousal_high)), "surprise marker, high arousal"
    v_margin = (abs(valence) - r.valence_polar) / r.valence_polar + 0.5
    if abs(valence) >= r.valence_polar and arousal >= r.arousal_high:
        emotion = "happy" if valence > 0 else "angry"
        return emotion, conf(v_margin, arousal / (2 * r.arousal_high)), "quadrant"
    if valence <= -r.valence_polar and arousal <= r.arousal_low:
        return "sad", conf(v_margin, arousal / (2 * r.arousal_low)), "quadrant"
    lo, hi = r.neutral_arousal
    if abs(valence) < r.valence_flat and lo < arousal < hi:
        a_margin = min(arousal - lo, hi - arousal) / ((hi - lo) / 2)
        return "neutral", conf(1 - abs(valence) / r.valence_flat, a_margin + 0.5), "centre"
    if valence >= r.valence_polar and arousal <= r.arousal_low:
        return None, 0.0, "positive low-arousal (content) is not one of the five"
    return None, 0.0, "inside a margin between regions"


def speaker_z(
    frame: pd.DataFrame, columns, *, by: str = "speaker", min_clips: int = 8
) -> pd.DataFrame:
    """Per-speaker z-scores of ``columns`` (NaN for speakers with < ``min_clips`` finite values)."""
    out = pd.DataFrame(index=frame.index)
    for col in columns:
        grouped = frame.groupby(by)[col]
        mean, std, count = (
            grouped.transform("mean"),
            grouped.transform("std"),
            grouped.transform("count"),
        )
        z = (frame[col] - mean) / std.replace(0.0, np.nan)
        out[col] = z.where(count >= min_clips)
    return out


def arousal_score(z: pd.DataFrame, weights: dict[str, float] | None = None) -> pd.Series:
    """Mean of (signed) z-scored features per clip; NaN when any feature is missing."""
    weights = weights or {c: 1.0 for c in z.columns}
    parts = [z[c] * w for c, w in weights.items()]
    return pd.concat(parts, axis=1).mean(axis=1, skipna=False)


def load_labels(
    path: str | Path = LABELS_CSV, *, data_dir: str | Path | None = None
) -> pd.DataFrame:
    """The committed label table as a DataFrame.

    Args:
        data_dir: when given, an ``abs_path`` column (``data_dir / path``) is added.
    """
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    unknown = set(frame["emotion"]) - set(EMOTIONS)
    if unknown:
        raise ValueError(f"{path}: unknown emotions {sorted(unknown)}")
    if data_dir is not None:
        frame["abs_path"] = [str(Path(data_dir) / p) for p in frame["path"]]
    return frame
