"""Which training speech is clean enough to be an enhancement *target*.

Game dialogue is not studio speech: Fish Fillets' lines carry a background/room floor and
codec artefacts (DNSMOS OVRL ≈ 2.0 on its "clean" clips, against ≈ 3.1 for the asterisk
prompts). A denoiser trained to reproduce such targets learns to keep that floor. This
module scores a seeded sample of every training and validation speaker's clips with
DNSMOS P.835 (no reference needed) and writes a manifest that keeps only the speakers whose
median scores pass the thresholds — the quality screening the DNS Challenge applied to its
clean speech — plus validation pairs built from the kept validation speakers. Test rows are
copied unchanged, so the fixed test set (and what it measures) stays fixed.

Optionally the ``train`` and ``valid`` speech rows of other prepared manifests (e.g.
``ktuberling-data`` and ``klettres-data`` prepared into ``data/extra``) are appended first,
with their paths re-rooted, so one command yields the whole training manifest.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from pipeline.corpora import CorpusError
from pipeline.corpora.prepare import MANIFEST_COLUMNS, read_manifest, write_csv

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QualityConfig:
    """Screening settings.

    Attributes:
        clips_per_speaker: clips scored per training speaker (seeded sample).
        min_ovrl: lowest accepted median DNSMOS OVRL of a speaker.
        min_bak: lowest accepted median DNSMOS BAK (background noise) of a speaker.
        seed: sampling seed.
    """

    clips_per_speaker: int = 12
    min_ovrl: float = 2.2
    min_bak: float = 3.0
    seed: int = 0


SCREENED_SPLITS = ("train", "valid")


def _screened(row: dict) -> bool:
    return row["kind"] == "speech" and row["split"] in SCREENED_SPLITS


def merged_rows(manifest: Path, extras: Sequence[Path] = ()) -> list[dict]:
    """Rows of ``manifest`` plus the ``train``/``valid`` speech rows of each extra manifest,
    whose ``path`` is rewritten relative to ``manifest``'s folder."""
    rows = read_manifest(manifest)
    for extra in extras:
        prefix = Path(os.path.relpath(Path(extra).parent, manifest.parent))
        rows += [
            {**r, "path": str(prefix / r["path"])} for r in read_manifest(extra) if _screened(r)
        ]
    return rows


def check_beside(manifest: Path, out: Path) -> None:
    """:class:`CorpusError` unless ``out`` sits in ``manifest``'s folder (the rows' audio paths
    are relative to it)."""
    if Path(out).resolve().parent != Path(manifest).resolve().parent:
        raise CorpusError(f"{out} must sit next to {manifest} (paths are relative)")


def rows_beside(manifest: Path, out: Path, extras: Sequence[Path] = ()) -> list[dict]:
    """:func:`merged_rows` for a stage that writes the manifest ``out`` (see
    :func:`check_beside`)."""
    check_beside(manifest, out)
    return merged_rows(Path(manifest), extras)


def score_speakers(
    rows: Sequence[dict],
    root: Path,
    config: QualityConfig,
    *,
    score: Callable[[np.ndarray, int], dict] | None = None,
    progress: Callable[[Iterable], Iterable] = iter,
) -> pd.DataFrame:
    """DNSMOS of a sample of every training and validation speaker's clips.

    Args:
        rows: manifest rows; only speech of the ``train`` and ``valid`` splits is scored.
        root: folder the ``path`` column is relative to.
        score: ``(wave, sr) -> {"sig", "bak", "ovrl", ...}`` (default: DNSMOS P.835).
    Returns:
        One row per scored clip: ``path, speaker, source, sig, bak, ovrl``.
    """
    if score is None:
        from pipeline.metrics import DnsmosScorer

        score = DnsmosScorer(short_clips="single").score
    frame = pd.DataFrame([r for r in rows if _screened(r)])
    if frame.empty:
        raise CorpusError("no training or validation speech to screen")
    sample = frame.sample(frac=1.0, random_state=config.seed)
    sample = sample.groupby("speaker", sort=True).head(config.clips_per_speaker)
    out = []
    for row in progress(sample.to_dict("records")):
        wave, sr = sf.read(str(root / row["path"]), dtype="float32", always_2d=False)
        values = score(wave, int(sr))
        out.append(
            {
                "path": row["path"],
                "speaker": row["speaker"],
                "source": row["source"],
                **{k: float(values[k]) for k in ("sig", "bak", "ovrl")},
            }
        )
    return pd.DataFrame(out)


def speaker_medians(scores: pd.DataFrame) -> pd.DataFrame:
    """Median scores per speaker: ``speaker, source, sig, bak, ovrl, clips_scored``."""
    table = scores.groupby(["speaker", "source"], sort=True)[["sig", "bak", "ovrl"]].median()
    table["clips_scored"] = scores.groupby(["speaker", "source"], sort=True).size()
    return table.reset_index()


def speaker_verdicts(medians: pd.DataFrame, config: QualityConfig) -> pd.DataFrame:
    """``medians`` with a ``keep`` column: both medians at or above their thresholds."""
    out = medians.drop(columns=["keep"], errors="ignore").copy()
    out["keep"] = (out["ovrl"] >= config.min_ovrl) & (out["bak"] >= config.min_bak)
    return out


def screened_manifest(rows: Sequence[dict], verdicts: pd.DataFrame) -> list[dict]:
    """``rows`` without the train/valid speech of rejected speakers (everything else kept)."""
    kept = set(verdicts.loc[verdicts["keep"], "speaker"])
    return [r for r in rows if not (_screened(r) and r["speaker"] not in kept)]


def screen(
    manifest: Path,
    out: Path,
    config: QualityConfig,
    *,
    extras: Sequence[Path] = (),
    valid_dir: Path | None = None,
    valid_items: int = 16,
    score: Callable[[np.ndarray, int], dict] | None = None,
    medians: pd.DataFrame | None = None,
    progress: Callable[[Iterable], Iterable] = iter,
) -> pd.DataFrame:
    """Merge, score, filter and write ``out`` (in ``manifest``'s folder, so its relative
    paths hold) plus ``<out stem>_speakers.csv`` with the per-speaker medians and verdicts;
    with ``valid_dir``, also fixed validation pairs (0/5/10/15 dB) of the kept validation
    speakers. ``score`` replaces DNSMOS (see :func:`score_speakers`); ``medians`` (a
    speakers CSV written before) skips the scoring, to re-screen with other thresholds.
    Returns the verdicts."""
    from pipeline.corpora.mixing import build_test_set

    rows = rows_beside(manifest, out, extras)
    if medians is None:
        scores = score_speakers(rows, manifest.parent, config, score=score, progress=progress)
        medians = speaker_medians(scores)
    verdicts = speaker_verdicts(medians, config)
    kept = screened_manifest(rows, verdicts)
    for split in SCREENED_SPLITS:
        if not any(r["kind"] == "speech" and r["split"] == split for r in kept):
            raise CorpusError(f"no {split} speaker passes the quality thresholds")
    write_csv(out, kept, MANIFEST_COLUMNS)
    if valid_dir is not None:
        snrs = (0.0, 5.0, 10.0, 15.0)
        build_test_set(
            out,
            valid_dir,
            split="valid",
            snrs=snrs,
            per_snr=max(1, valid_items // 4),
            seed=config.seed,
            min_seconds=1.0,  # kept speakers say words and exclamations: whole clips of 1-6 s
        )
    verdicts.to_csv(out.with_name(f"{out.stem}_speakers.csv"), index=False, float_format="%.3f")
    log.info(
        "kept %d of %d training speakers; wrote %s",
        int(verdicts["keep"].sum()),
        len(verdicts),
        out,
    )
    return verdicts
