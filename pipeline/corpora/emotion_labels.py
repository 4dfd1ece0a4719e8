"""The emotion labels of the published emotion corpora, and their studio names.

RAVDESS and CREMA-D encode emotion and sentence in file names; these tables decode them.
:func:`map_emotion` maps a corpus label onto the studio set (``pipeline.constants.EMOTIONS``):
calm counts as neutral; anything else outside the set (fear, disgust...) maps to ``None``.
"""

from __future__ import annotations

from pipeline.constants import EMOTIONS

EMOTION_ALIASES = {
    "neutral": "neutral",
    "neu": "neutral",
    "calm": "neutral",
    "happy": "happy",
    "happiness": "happy",
    "hap": "happy",
    "joy": "happy",
    "angry": "angry",
    "anger": "angry",
    "ang": "angry",
    "sad": "sad",
    "sadness": "sad",
    "surprise": "surprise",
    "surprised": "surprise",
    "sur": "surprise",
}
RAVDESS_EMOTIONS = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}
RAVDESS_STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
CREMAD_EMOTIONS = {
    "ANG": "angry",
    "DIS": "disgust",
    "FEA": "fear",
    "HAP": "happy",
    "NEU": "neutral",
    "SAD": "sad",
}
CREMAD_SENTENCES = {
    "IEO": "It's eleven o'clock",
    "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before",
    "TSI": "The surface is slick",
    "WSI": "We'll stop in a couple of minutes",
}


def map_emotion(name: str) -> str | None:
    """Studio emotion for a corpus label (case-insensitive), ``None`` if outside the set."""
    mapped = EMOTION_ALIASES.get(name.strip().lower())
    return mapped if mapped in EMOTIONS else None
