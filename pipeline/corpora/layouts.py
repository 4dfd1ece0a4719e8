"""Loaders for the corpora users bring, by their published folder layouts.

Enhancement (paired clean/noisy):
    * VoiceBank-DEMAND: ``clean_trainset[_28spk|_56spk]_wav/`` + ``noisy_trainset..._wav/`` and
      ``clean_testset_wav/`` + ``noisy_testset_wav/`` -> :class:`PairedRecord` (split train/test).
    * a generic folder ``clean/`` + ``noisy/`` matched by relative file name.
Emotion:
    * ESD: ``<speaker>/<Emotion>/*.wav`` or the released ``<speaker>/<Emotion>/<split>/*.wav``
      (transcripts from ``<speaker>/<speaker>.txt`` when present).
    * RAVDESS: ``03-01-05-01-02-01-12.wav`` = modality-vocal-emotion-intensity-statement-
      repetition-actor (speech only: vocal channel 02 = song is left out).
    * CREMA-D: ``1001_DFA_ANG_XX.wav`` = actor_sentence_emotion_level.
    * a generic ``manifest.csv`` with columns ``path, speaker, emotion`` (optional ``text``).
Emotion names map onto the studio set (``pipeline.constants.EMOTIONS``); calm counts as
neutral; others (fear, disgust...) are dropped and counted in :attr:`EmotionCorpus.dropped`.
Every loader raises :class:`~pipeline.corpora.CorpusError` (one line) on a folder that does
not match its layout.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.corpora import CorpusError
from pipeline.corpora.emotion_labels import (
    CREMAD_EMOTIONS,
    CREMAD_SENTENCES,
    RAVDESS_EMOTIONS,
    RAVDESS_STATEMENTS,
    map_emotion,
)
from pipeline.tables import read_rows

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")

_RAVDESS_RE = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")
_CREMAD_RE = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")


@dataclass(frozen=True)
class PairedRecord:
    """A clean/noisy pair. ``utt_id`` is the relative file name without extension."""

    clean: Path
    noisy: Path
    speaker: str
    utt_id: str
    split: str = ""


@dataclass(frozen=True)
class EmotionRecord:
    """An emotional utterance.

    Attributes:
        path: audio file.
        speaker: speaker / actor id.
        emotion: studio emotion (one of ``EMOTIONS``).
        label: the corpus' own label before mapping (e.g. ``calm``, ``Angry``).
        corpus: ``esd``, ``ravdess``, ``crema-d`` or ``manifest``.
        split: the corpus' own split if it has one, else "".
        text: transcript when the corpus provides it.
        intensity: the corpus' intensity code (RAVDESS normal/strong, CREMA-D LO/MD/HI/XX).
    """

    path: Path
    speaker: str
    emotion: str
    label: str
    corpus: str
    split: str = ""
    text: str = ""
    intensity: str = ""


@dataclass
class EmotionCorpus:
    """Records of a loaded emotion corpus and the labels dropped (label -> count)."""

    records: list[EmotionRecord]
    dropped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[EmotionRecord]:
        return iter(self.records)

    def counts(self) -> dict[str, int]:
        """Records per studio emotion."""
        return dict(Counter(r.emotion for r in self.records))


def _require_dir(root: str | Path, layout: str) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(f"not a {layout} folder: {root} does not exist or is not a directory")
    return root


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)


def _finish(records: list[EmotionRecord], dropped: Counter, corpus: str) -> EmotionCorpus:
    if dropped:
        summary = ", ".join(f"{k}: {v}" for k, v in sorted(dropped.items()))
        log.info(
            "%s: dropped %d clips outside the studio emotions (%s)",
            corpus,
            sum(dropped.values()),
            summary,
        )
    return EmotionCorpus(records, dict(sorted(dropped.items())))


# --------------------------------------------------------------------------- paired


def _pair(clean_dir: Path, noisy_dir: Path, split: str) -> tuple[list[PairedRecord], int]:
    noisy = {
        p.relative_to(noisy_dir).with_suffix("").as_posix(): p for p in _audio_files(noisy_dir)
    }
    records, unmatched = [], 0
    for c in _audio_files(clean_dir):
        key = c.relative_to(clean_dir).with_suffix("").as_posix()
        if key not in noisy:
            unmatched += 1
            continue
        speaker = Path(key).name.split("_")[0] if "_" in Path(key).name else Path(key).parent.name
        records.append(PairedRecord(c, noisy.pop(key), speaker, key, split))
    return records, unmatched + len(noisy)


def load_voicebank_demand(root: str | Path) -> list[PairedRecord]:
    """VoiceBank-DEMAND pairs (``p226_001.wav``: speaker ``p226``); split ``train``/``test``."""
    root = _require_dir(root, "VoiceBank-DEMAND")
    records: list[PairedRecord] = []
    for split in ("train", "test"):
        cleans = sorted(d for d in root.glob(f"clean_{split}set*wav") if d.is_dir())
        for clean_dir in cleans:
            noisy_dir = root / clean_dir.name.replace("clean_", "noisy_", 1)
            if not noisy_dir.is_dir():
                raise CorpusError(f"VoiceBank-DEMAND: {clean_dir.name}/ has no {noisy_dir.name}/")
            pairs, unmatched = _pair(clean_dir, noisy_dir, split)
            if unmatched:
                log.warning("%s: %d files without a counterpart ignored", clean_dir.name, unmatched)
            records += pairs
    if not records:
        raise CorpusError(
            f"not a VoiceBank-DEMAND folder: no matching clean_trainset_wav/ + noisy_trainset_wav/ "
            f"or clean_testset_wav/ + noisy_testset_wav/ pairs in {root}"
        )
    return records


def load_paired_folder(root: str | Path) -> list[PairedRecord]:
    """``<root>/clean/**`` and ``<root>/noisy/**`` matched by relative name (extension ignored)."""
    root = _require_dir(root, "paired clean/noisy")
    if not (root / "clean").is_dir() or not (root / "noisy").is_dir():
        raise CorpusError(f"not a paired folder: expected clean/ and noisy/ inside {root}")
    records, unmatched = _pair(root / "clean", root / "noisy", "")
    if not records:
        raise CorpusError(f"paired folder {root}: no file name appears in both clean/ and noisy/")
    if unmatched:
        log.warning("%s: %d files without a counterpart ignored", root, unmatched)
    return records


# --------------------------------------------------------------------------- emotion


def _esd_transcripts(speaker_dir: Path) -> dict[str, str]:
    path = speaker_dir / f"{speaker_dir.name}.txt"
    if not path.is_file():
        return {}
    table = {}
    for enc in ("utf-8", "utf-16", "gbk"):
        try:
            lines = path.read_text(encoding=enc).splitlines()
            break
        except UnicodeError:
            continue
    else:
        return {}
    for line in lines:
        parts = line.strip().split("\t")
        if len(parts) >= 2:
            table[parts[0]] = parts[1].strip()
    return table


def load_esd(root: str | Path) -> EmotionCorpus:
    """ESD: ``<speaker>/<Emotion>/[<split>/]*.wav``."""
    root = _require_dir(root, "ESD")
    records: list[EmotionRecord] = []
    dropped: Counter = Counter()
    seen_layout = False
    for speaker_dir in sorted(d for d in root.iterdir() if d.is_dir()):
        texts = _esd_transcripts(speaker_dir)
        for emo_dir in sorted(d for d in speaker_dir.iterdir() if d.is_dir()):
            files = _audio_files(emo_dir)
            if not files:
                continue
            seen_layout = True
            emotion = map_emotion(emo_dir.name)
            if emotion is None:
                dropped[emo_dir.name] += len(files)
                continue
            for f in files:
                split = f.parent.name if f.parent != emo_dir else ""
                records.append(
                    EmotionRecord(
                        f,
                        speaker_dir.name,
                        emotion,
                        emo_dir.name,
                        "esd",
                        split,
                        texts.get(f.stem, ""),
                    )
                )
    if not seen_layout:
        raise CorpusError(f"not an ESD folder: expected <speaker>/<Emotion>/*.wav inside {root}")
    return _finish(records, dropped, "esd")


def load_ravdess(root: str | Path) -> EmotionCorpus:
    """RAVDESS speech files anywhere below ``root`` (``Actor_XX/03-01-EE-II-SS-RR-AA.wav``)."""
    root = _require_dir(root, "RAVDESS")
    records: list[EmotionRecord] = []
    dropped: Counter = Counter()
    for f in _audio_files(root):
        m = _RAVDESS_RE.match(f.stem)
        if not m:
            continue
        _, vocal, emo, intensity, statement, _, actor = m.groups()
        label = RAVDESS_EMOTIONS.get(emo, f"code{emo}")
        if vocal != "01":
            dropped["song"] += 1
            continue
        emotion = map_emotion(label)
        if emotion is None:
            dropped[label] += 1
            continue
        records.append(
            EmotionRecord(
                f,
                f"Actor_{actor}",
                emotion,
                label,
                "ravdess",
                text=RAVDESS_STATEMENTS.get(statement, ""),
                intensity="strong" if intensity == "02" else "normal",
            )
        )
    if not records and not dropped:
        raise CorpusError(
            f"not a RAVDESS folder: no files named like 03-01-05-01-02-01-12.wav in {root}"
        )
    return _finish(records, dropped, "ravdess")


def load_crema_d(root: str | Path) -> EmotionCorpus:
    """CREMA-D files anywhere below ``root`` (``AudioWAV/1001_DFA_ANG_XX.wav``)."""
    root = _require_dir(root, "CREMA-D")
    records: list[EmotionRecord] = []
    dropped: Counter = Counter()
    for f in _audio_files(root):
        m = _CREMAD_RE.match(f.stem)
        if not m:
            continue
        actor, sentence, emo, level = m.groups()
        label = CREMAD_EMOTIONS.get(emo, emo)
        emotion = map_emotion(label)
        if emotion is None:
            dropped[label] += 1
            continue
        records.append(
            EmotionRecord(
                f,
                actor,
                emotion,
                label,
                "crema-d",
                text=CREMAD_SENTENCES.get(sentence, ""),
                intensity=level,
            )
        )
    if not records and not dropped:
        raise CorpusError(
            f"not a CREMA-D folder: no files named like 1001_DFA_ANG_XX.wav in {root}"
        )
    return _finish(records, dropped, "crema-d")


def load_emotion_manifest(path: str | Path) -> EmotionCorpus:
    """A CSV with columns ``path, speaker, emotion`` (optional ``text``, ``split``).

    ``path`` is relative to the CSV's folder (or absolute). Missing audio files are an error.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.csv"
    if not path.is_file():
        raise CorpusError(f"no emotion manifest at {path}")
    rows = read_rows(path, ("path", "speaker", "emotion"), error=CorpusError)
    records: list[EmotionRecord] = []
    dropped: Counter = Counter()
    for i, row in enumerate(rows, start=2):
        audio = Path(row["path"])
        audio = audio if audio.is_absolute() else path.parent / audio
        if not audio.is_file():
            raise CorpusError(f"{path.name} line {i}: no such audio file {row['path']}")
        emotion = map_emotion(row["emotion"])
        if emotion is None:
            dropped[row["emotion"].strip().lower()] += 1
            continue
        records.append(
            EmotionRecord(
                audio,
                row["speaker"],
                emotion,
                row["emotion"],
                "manifest",
                split=row.get("split") or "",
                text=row.get("text") or "",
            )
        )
    return _finish(records, dropped, "manifest")


EMOTION_LOADERS = {
    "esd": load_esd,
    "ravdess": load_ravdess,
    "crema-d": load_crema_d,
    "manifest": load_emotion_manifest,
}
PAIRED_LOADERS = {"voicebank-demand": load_voicebank_demand, "paired": load_paired_folder}
