"""Build the emotion-labelled default corpus from the prepared speech manifest.

    python -m pipeline.emotion.corpus build [--data-dir DIR] [--jobs N]

reads ``<data>/manifest.csv`` (written by ``python -m pipeline.corpora``), measures the
acoustic features of every hedgewars / Fish Fillets / asterisk clip (cached in
``<data>/emotion_labels/acoustics.csv``), applies the rules of :mod:`pipeline.emotion.labels`
and writes

* the label table ``pipeline/emotion/resources/emotion_labels.csv`` (committed; see
  :data:`LABEL_COLUMNS`; paths relative to the data directory),
* every clip's decision incl. the reason for leaving it out ``<data>/emotion_labels/decisions.csv``,
* the report with distributions and label checks ``docs/EMOTION_LABELS.md``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from tqdm import tqdm

from pipeline.corpora import data_dir as default_data_dir
from pipeline.emotion.labels import (
    AROUSAL_FEATURES,
    CHECK_FEATURES,
    LABELS_CSV,
    CircumplexRules,
    TextValence,
    arousal_score,
    circumplex_label,
    has_surprise_marker,
    load_phrase_labels,
    speaker_z,
)
from pipeline.emotion.prosody import prosody_stats, spectral_balance

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
REPORT_MD = REPO_ROOT / "docs" / "EMOTION_LABELS.md"
#: manifest source → labelling route
ROUTES = {
    "hedgewars": "phrase",
    "fillets-cs": "circumplex",
    "fillets-nl": "circumplex",
    "asterisk": "read",
}
ACOUSTIC_COLUMNS = (
    "f0_median_st",
    "f0_range_st",
    "energy_db",
    "energy_std_db",
    "syllable_rate",
    "voiced_fraction",
    "active_s",
    "alpha_ratio_db",
    "hammarberg_db",
)
#: bump when the measurement changes, so cached acoustics are recomputed
ACOUSTICS_VERSION = 1
LABEL_COLUMNS = (
    "path",
    "source",
    "speaker",
    "language",
    "split",
    "duration_s",
    "dialog_id",
    "emotion",
    "route",
    "confidence",
    "valence",
    "arousal",
    "check_arousal",
)


def measure_clip(path: str) -> dict[str, float]:
    """Acoustic features of one prepared clip (NaN-filled when unreadable or unvoiced).

    F0 uses DIO+StoneMask (harvest was ~40x slower on this shared CPU); the F0 *level* is the
    median of voiced frames, which DIO's sporadic voicing errors barely move.
    """
    try:
        wave, sr = sf.read(path, dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError) as err:
        log.warning("cannot read %s: %s", path, err)
        return {c: float("nan") for c in ACOUSTIC_COLUMNS}
    if wave.ndim > 1:
        wave = wave.mean(axis=1)
    stats = prosody_stats(wave, sr, f0_method="dio")
    balance = spectral_balance(wave, sr)
    return {
        "f0_median_st": float(12.0 * np.log2(stats.f0_median_hz / 100.0)),
        "f0_range_st": stats.f0_range_st,
        "energy_db": stats.energy_db,
        "energy_std_db": stats.energy_std_db,
        "syllable_rate": stats.syllable_rate,
        "voiced_fraction": stats.voiced_fraction,
        "active_s": stats.active_s,
        "alpha_ratio_db": balance.alpha_ratio_db,
        "hammarberg_db": balance.hammarberg_db,
    }


def _measure(args: tuple[str, str]) -> dict:
    rel, absolute = args
    return {"path": rel, "version": ACOUSTICS_VERSION, **measure_clip(absolute)}


def measure_acoustics(paths: list[str], root: Path, cache: Path, *, jobs: int = 1) -> pd.DataFrame:
    """Features for ``paths`` (relative to ``root``), reusing ``cache`` rows of this version."""
    done = pd.DataFrame(columns=["path", "version", *ACOUSTIC_COLUMNS])
    if cache.is_file():
        done = pd.read_csv(cache)
        done = done[done["version"] == ACOUSTICS_VERSION]
    todo = sorted(set(paths) - set(done["path"]))
    if todo:
        log.info("measuring %d clips (%d cached)", len(todo), len(paths) - len(todo))
        work = [(p, str(root / p)) for p in todo]
        with Pool(jobs) if jobs > 1 else _Serial() as pool:
            rows = list(
                tqdm(pool.imap(_measure, work, chunksize=8), total=len(work), desc="acoustics")
            )
        done = pd.concat([done, pd.DataFrame(rows)], ignore_index=True)
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        done.to_csv(tmp, index=False)
        tmp.replace(cache)
    return done.drop_duplicates("path", keep="last").set_index("path").loc[paths].reset_index()


class _Serial:
    """Stand-in for :class:`multiprocessing.Pool` with ``jobs=1``."""

    def __enter__(self) -> _Serial:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def imap(self, fn, items, chunksize: int = 1):
        return map(fn, items)


def select_clips(manifest: pd.DataFrame) -> pd.DataFrame:
    """Speech rows of the sources that have a labelling route."""
    rows = manifest[(manifest["kind"] == "speech") & manifest["source"].isin(ROUTES)].copy()
    return rows.reset_index(drop=True)


def label_clips(
    clips: pd.DataFrame, acoustics: pd.DataFrame, rules: CircumplexRules | None = None
) -> pd.DataFrame:
    """Apply every route; returns one row per clip with ``emotion`` (NaN = left out) and ``reason``.

    Args:
        clips: manifest rows (path, source, speaker, dialog_id, text_en, ...).
        acoustics: :data:`ACOUSTIC_COLUMNS` per ``path``.
    """
    rules = rules or CircumplexRules()
    frame = clips.merge(acoustics[["path", *ACOUSTIC_COLUMNS]], on="path", how="left")
    frame["route"] = frame["source"].map(ROUTES)
    z = speaker_z(frame, [*AROUSAL_FEATURES, *CHECK_FEATURES], min_clips=rules.min_speaker_clips)
    frame["arousal"] = arousal_score(z[list(AROUSAL_FEATURES)])
    frame["check_arousal"] = arousal_score(z[list(CHECK_FEATURES)], CHECK_FEATURES)
    for col in [*AROUSAL_FEATURES, *CHECK_FEATURES]:
        frame[f"z_{col}"] = z[col]
    valence = TextValence()
    frame["valence"] = [valence(t) for t in frame["text_en"].fillna("")]
    frame["surprise_marker"] = [has_surprise_marker(t) for t in frame["text_en"].fillna("")]
    phrases = load_phrase_labels()
    emotions, confidences, reasons = [], [], []
    for row in frame.itertuples(index=False):
        if row.route == "phrase":
            label = phrases.get(row.dialog_id)
            if label is None:
                emotion, conf, reason = None, 0.0, "phrase not in the phrase table"
            else:
                emotion, conf, reason = label.emotion, label.confidence, label.reason
        elif row.route == "read":
            emotion, conf, reason = "neutral", 0.9, "read system prompt"
        else:
            emotion, conf, reason = circumplex_label(
                row.valence, row.arousal, row.surprise_marker, rules
            )
            if not np.isfinite(row.arousal):
                reason = "speaker has too few clips or clip unvoiced: no arousal"
        emotions.append(emotion)
        confidences.append(conf)
        reasons.append(reason)
    frame["emotion"] = emotions
    frame["confidence"] = confidences
    frame["reason"] = reasons
    return frame


def label_table(decisions: pd.DataFrame) -> pd.DataFrame:
    """The committed table: labelled clips only, :data:`LABEL_COLUMNS`, rounded, sorted."""
    table = decisions[decisions["emotion"].notna()].loc[:, list(LABEL_COLUMNS)].copy()
    for col, digits in (
        ("confidence", 2),
        ("valence", 3),
        ("arousal", 3),
        ("check_arousal", 3),
        ("duration_s", 3),
    ):
        table[col] = table[col].round(digits)
    return table.sort_values("path").reset_index(drop=True)


def build(
    data: Path,
    *,
    labels_out: Path = LABELS_CSV,
    report_out: Path | None = REPORT_MD,
    jobs: int = 1,
) -> pd.DataFrame:
    """Measure, label, write the table / decisions / report. Returns the decisions frame."""
    from pipeline.emotion.labelcheck import write_report

    manifest_path = data / "manifest.csv"
    if not manifest_path.is_file():
        raise FileNotFoundError(
            f"no manifest at {manifest_path}: run `python -m pipeline.corpora` first"
        )
    clips = select_clips(pd.read_csv(manifest_path, keep_default_na=False, na_values=[""]))
    work = data / "emotion_labels"
    acoustics = measure_acoustics(list(clips["path"]), data, work / "acoustics.csv", jobs=jobs)
    decisions = label_clips(clips, acoustics)
    decisions.to_csv(work / "decisions.csv", index=False)
    table = label_table(decisions)
    labels_out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(labels_out, index=False)
    log.info("wrote %d labelled clips to %s", len(table), labels_out)
    if report_out is not None:
        write_report(decisions, report_out)
        log.info("wrote %s", report_out)
    return decisions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.emotion.corpus", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="measure, label and report the default emotion corpus")
    b.add_argument(
        "--data-dir", default=None, help="data directory (default: $STUDIO_DATA or ./data)"
    )
    b.add_argument("--jobs", type=int, default=1, help="worker processes for the acoustics")
    b.add_argument("--labels", default=str(LABELS_CSV), help="where to write the label table")
    b.add_argument("--report", default=str(REPORT_MD), help="where to write the markdown report")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        build(
            default_data_dir(args.data_dir),
            labels_out=Path(args.labels),
            report_out=Path(args.report),
            jobs=args.jobs,
        )
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
