"""Emotion-conversion evaluation on held-out speakers' neutral speech.

For every system (``source`` = the unconverted clip, ``world`` = WORLD analysis/resynthesis
only, ``dsp``, trained GANs), every target emotion and intensity, each held-out neutral clip
is converted and measured:

* **emotion accuracy** — the evaluation classifier (:mod:`pipeline.evaluate.classifier_train`,
  trained on other speakers) predicts the target emotion;
* **prosody** — :func:`pipeline.emotion.prosody.prosody_stats` (Harvest F0) of output and
  source; the shift is compared with the real emotion's statistics (:mod:`.emotion_tables`);
* **speaker similarity** — Resemblyzer cosine between source and output;
* **naturalness** — DNSMOS OVRL of output, and its drop from the same source clip;
* **intelligibility** — Whisper tiny.en WER against the transcript, English clips only.

Per-clip rows go to ``<out_dir>/rows_<system>.csv`` so a later run can reuse systems that did
not change (``reuse=("source", "dsp")``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from pipeline.constants import EMOTIONS
from pipeline.emotion.features import resynthesize
from pipeline.emotion.prosody import prosody_stats
from pipeline.evaluate.emotion_tables import PROSODY_KEYS
from pipeline.registry import CHECKPOINTS, DEFAULT_GAN, Registry

log = logging.getLogger(__name__)

PSEUDO_SYSTEMS = ("source", "world")
#: corpora whose manifest text is a verbatim transcript of the clip. (hedgewars file names
#: name the game event, e.g. "Yessir.wav" says "Just give the word, boss"; Fish Fillets text
#: is Czech/Dutch.) Other English clips get only the WER against the source's own transcript.
VERBATIM_SOURCES = ("asterisk",)
F0_METHOD = "harvest"


@dataclass(frozen=True)
class EmotionEvalConfig:
    """Options of :func:`run_emotion_evaluation` (paths may be ``None`` for the defaults)."""

    systems: tuple[str, ...] = ("source", "dsp", DEFAULT_GAN["emotion"])
    intensities: tuple[float, ...] = (1.0, 0.5)
    labels_path: Path | None = None
    classifier_dir: Path = CHECKPOINTS / "emotion_classifier"
    out_dir: Path = Path("runs/eval_emotion")
    max_clips: int = 24
    real_per_emotion: int = 60
    min_confidence: float = 0.6
    checkpoints: Path = CHECKPOINTS
    data_root: Path | None = None
    cache_dir: Path | None = Path("runs/emotion_features")
    reuse: tuple[str, ...] = ()
    gan: str = DEFAULT_GAN["emotion"]
    seed: int = 0
    #: label-table split of the neutral source clips: ``test`` (held-out speakers, the
    #: reported figures) or ``valid`` (for choosing settings without looking at the test)
    split: str = "test"
    #: prosody-target checks (:mod:`pipeline.evaluate.emotion_prosody`): clips of the
    #: intensity sweep (0: skip the checks) and reference pairs (0: skip reference tracking)
    sweep_clips: int = 6
    reference_pairs: int = 30


@dataclass(frozen=True)
class SourceClip:
    """A held-out neutral clip: absolute path, speaker, language and verbatim transcript
    (``''`` when none is known)."""

    path: Path
    speaker: str
    language: str
    text: str


def select_sources(
    table: pd.DataFrame,
    manifest: pd.DataFrame | None,
    max_clips: int,
    seed: int,
    split: str = "test",
) -> list[SourceClip]:
    """Neutral clips of ``split`` (default ``test``), 1-8 s, round-robin over speakers (seeded).

    ``table`` is the label table with ``abs_path``; ``manifest`` (optional) supplies the
    transcripts (``text`` column, joined on ``path``) of :data:`VERBATIM_SOURCES` clips.
    """
    if split not in ("test", "valid"):
        raise ValueError(f"split must be 'test' or 'valid', got {split!r}")
    part = table[(table["split"] == split) & (table["emotion"] == "neutral")]
    part = part[(part["duration_s"] >= 1.0) & (part["duration_s"] <= 8.0)]
    texts = {}
    if manifest is not None and "text" in manifest:
        verbatim = (
            manifest[manifest["source"].isin(VERBATIM_SOURCES)]
            if "source" in manifest
            else manifest
        )
        texts = dict(zip(verbatim["path"], verbatim["text"].fillna(""), strict=True))
    queues = [
        group.sample(frac=1.0, random_state=seed).to_dict("records")
        for _, group in sorted(part.groupby("speaker"), key=lambda kv: kv[0])
    ]
    chosen: list[SourceClip] = []
    while len(chosen) < max_clips and any(queues):
        for queue in queues:
            if queue and len(chosen) < max_clips:
                row = queue.pop(0)
                chosen.append(
                    SourceClip(
                        Path(row["abs_path"]),
                        row["speaker"],
                        str(row.get("language", "")),
                        texts.get(row["path"], ""),
                    )
                )
    return chosen


class Judges:
    """Every scorer used on converted speech, each loaded once."""

    def __init__(self, classifier_dir: Path) -> None:
        from pipeline.evaluate.asr import default_transcriber
        from pipeline.evaluate.classifier_train import load_judge
        from pipeline.evaluate.speaker import ResemblyzerEncoder
        from pipeline.metrics import DnsmosScorer

        self.classifier, self.labels, self.features = load_judge(classifier_dir)
        self.dnsmos = DnsmosScorer(short_clips="single")  # many 1-3 s clips: one window each
        self.speaker = ResemblyzerEncoder()
        self.asr = default_transcriber()  # shared with the judge features

    def measure(self, wave: np.ndarray, sr: int, *, english: bool) -> dict:
        """Everything that depends only on one clip: prosody, classifier, DNSMOS, transcript."""
        stats = prosody_stats(wave, sr, f0_method=F0_METHOD)
        feats = self.features(wave, sr, prosody=stats)
        probs = self.classifier.predict_proba(feats[None, :])[0]
        row = {k: getattr(stats, k) for k in PROSODY_KEYS}
        row["f0_std_st"] = stats.f0_std_st  # the direction rule's F0 spread
        row["predicted"] = self.labels[int(np.argmax(probs))]
        row.update({f"p_{label}": float(p) for label, p in zip(self.labels, probs, strict=True)})
        row.update({f"dnsmos_{k}": v for k, v in self.dnsmos.score(wave, sr).items()})
        row["transcript"] = self.asr.transcribe(wave, sr) if english else ""
        return row


def _read(path: Path) -> tuple[np.ndarray, int]:
    wave, sr = sf.read(str(path), dtype="float32", always_2d=False)
    return (wave.mean(axis=1) if wave.ndim == 2 else wave), int(sr)


def evaluate_system(
    name: str,
    sources: Sequence[SourceClip],
    judges: Judges,
    *,
    registry: Registry | None,
    intensities: Sequence[float],
    progress: Callable[[Iterable], Iterable] = lambda it: it,
) -> list[dict]:
    """Per-clip rows of one system (pseudo-systems: one row per clip, emotion ``"-"``)."""
    from pipeline.evaluate.asr import wer

    system = None if name in PSEUDO_SYSTEMS else registry.get("emotion", name)
    if system is None:
        jobs = [(clip, "-", math.nan) for clip in sources]
    else:
        jobs = [(clip, e, i) for i in intensities for e in EMOTIONS for clip in sources]
    rows = []
    for clip, emotion, intensity in progress(jobs):
        wave, sr = _read(clip.path)
        if name == "source":
            out = wave
        elif name == "world":
            out = resynthesize(wave, sr)
        else:
            out = system.convert(wave, sr, emotion, intensity)
        english = clip.language == "en"
        row = {
            "system": name,
            "emotion": emotion,
            "intensity": intensity,
            "path": str(clip.path),
            "speaker": clip.speaker,
            "language": clip.language,
            "duration_s": len(out) / sr,
            "source_duration_s": len(wave) / sr,
        }
        row.update(judges.measure(out, sr, english=english))
        row["speaker_sim"] = (
            1.0 if name == "source" else judges.speaker.similarity(wave, sr, out, sr)
        )
        row["wer"] = wer(clip.text, row["transcript"]) if english and clip.text else math.nan
        rows.append(row)
    return rows


def real_statistics(
    table: pd.DataFrame,
    per_emotion: int,
    seed: int,
    cache: Path | None,
    progress: Callable[[Iterable], Iterable] = lambda it: it,
) -> pd.DataFrame:
    """Prosody of real labelled clips of non-test speakers (Harvest), cached as CSV.

    Returns one row per clip: ``path, speaker, emotion`` and :data:`PROSODY_KEYS`.
    """
    part = table[table["split"] != "test"]
    part = pd.concat(
        [
            g.sample(n=min(per_emotion, len(g)), random_state=seed)
            for _, g in part.groupby("emotion", sort=True)
        ]
    )
    cached = pd.DataFrame()
    cache_file = cache / f"real_prosody_{F0_METHOD}.csv" if cache is not None else None
    if cache_file is not None and cache_file.is_file():
        cached = pd.read_csv(cache_file)
    done = set(cached["path"]) if len(cached) else set()
    rows = []
    for _, r in progress(list(part[~part["path"].isin(done)].iterrows())):
        wave, sr = _read(Path(r["abs_path"]))
        stats = prosody_stats(wave, sr, f0_method=F0_METHOD)
        rows.append({"path": r["path"], **{k: getattr(stats, k) for k in PROSODY_KEYS}})
    merged = pd.concat([cached, pd.DataFrame(rows)], ignore_index=True) if rows else cached
    if cache_file is not None and rows:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        merged.to_csv(cache_file, index=False)
    keep = part[["path", "speaker", "emotion"]]
    return keep.merge(merged, on="path", how="left")


def _labelled_table(config: EmotionEvalConfig) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The label table (rows at ``min_confidence`` or above whose audio exists, with
    ``abs_path``) and the corpus manifest (``None`` when the data folder has none)."""
    from pipeline.corpora import data_dir
    from pipeline.emotion.labels import LABELS_CSV, load_labels

    root = Path(config.data_root or data_dir())
    table = load_labels(config.labels_path or LABELS_CSV, data_dir=root)
    if "confidence" in table:
        table = table[table["confidence"] >= config.min_confidence]
    manifest_path = root / "manifest.csv"
    manifest = (
        pd.read_csv(manifest_path, keep_default_na=False) if manifest_path.is_file() else None
    )
    present = table["abs_path"].map(lambda p: Path(p).is_file())
    if not present.all():
        log.warning(
            "%d of %d labelled clips are missing on disk: skipped", (~present).sum(), len(table)
        )
        table = table[present]
    return table, manifest


def _held_out_sources(
    config: EmotionEvalConfig, table: pd.DataFrame, manifest: pd.DataFrame | None, out: Path
) -> list[SourceClip]:
    """The source clips, listed in ``out/sources.csv`` (reused with the ``source`` rows)."""
    listed = out / "sources.csv"
    if "source" in config.reuse and listed.is_file():  # the same clips as the reused rows
        sources = [
            SourceClip(Path(r["path"]), r["speaker"], r["language"], r["text"])
            for r in pd.read_csv(listed, keep_default_na=False).to_dict("records")
        ]
    else:
        sources = select_sources(table, manifest, config.max_clips, config.seed, config.split)
        pd.DataFrame([vars(s) for s in sources]).to_csv(listed, index=False)
    if not sources:
        raise ValueError(f"no neutral 1-8 s clips in the label table's {config.split} split")
    return sources


def _system_rows(
    config: EmotionEvalConfig,
    systems: Sequence[str],
    sources: Sequence[SourceClip],
    registry: Registry,
    out: Path,
    progress: Callable[[Iterable], Iterable],
) -> pd.DataFrame:
    """Per-clip rows of every system in ``systems``, each cached as ``out/rows_<system>.csv``
    (read back for the systems in ``config.reuse``)."""
    judges = Judges(Path(config.classifier_dir))
    frames = []
    for name in systems:
        path = out / f"rows_{name}.csv"
        if name in config.reuse and path.is_file():
            frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
        else:
            frame = pd.DataFrame(
                evaluate_system(
                    name,
                    sources,
                    judges,
                    registry=registry,
                    intensities=config.intensities,
                    progress=progress,
                )
            )
            frame.to_csv(path, index=False)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def run_emotion_evaluation(
    config: EmotionEvalConfig, progress: Callable[[Iterable], Iterable] = lambda it: it
) -> tuple[str, list]:
    """Run everything, write CSVs and ``report.md``; returns ``(markdown, targets)``."""
    from pipeline.evaluate.emotion_tables import build_report

    table, manifest = _labelled_table(config)
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sources = _held_out_sources(config, table, manifest, out)
    registry = Registry(config.checkpoints)
    available = set(registry.names("emotion")) | set(PSEUDO_SYSTEMS)
    systems = ["source", *[s for s in config.systems if s != "source"]]
    for name in systems:
        if name not in available:
            log.warning("emotion system %r not available; skipped", name)
    evaluated = [s for s in systems if s in available]
    rows = _system_rows(config, evaluated, sources, registry, out, progress)
    rows.to_csv(out / "per_clip.csv", index=False)
    real = real_statistics(table, config.real_per_emotion, config.seed, config.cache_dir, progress)
    real.to_csv(out / "real_prosody.csv", index=False)
    text, targets = build_report(
        rows,
        real,
        classifier_dir=Path(config.classifier_dir),
        gan=config.gan,
        n_sources=len(sources),
    )
    if config.sweep_clips > 0:
        from pipeline.evaluate.emotion_checks import prosody_checks

        more, extra = prosody_checks(rows, table, sources, registry, config, evaluated, progress)
        text, targets = text + "\n\n" + more, targets + extra
    (out / "report.md").write_text(text, encoding="utf-8")
    pd.DataFrame([t.as_dict() for t in targets]).to_csv(out / "targets.csv", index=False)
    return text, targets
