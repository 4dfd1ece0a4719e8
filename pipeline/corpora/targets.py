"""Pseudo-clean enhancement targets: training speech with its recording floor taken out.

A denoiser learns to reproduce its targets. The game dialogue that makes up most of the
training speech carries a room/background floor (DNSMOS BAK 2.1-2.7, see
:mod:`pipeline.corpora.quality`), so a model trained on it as "clean" learns to keep noise.
Screening those speakers out (``quality``) leaves too little speech; this module keeps them
and cleans the targets instead: every ``train``/``valid`` speech clip of the chosen sources
is passed once through an enhancement system (by default the DeepFilterNet3 peer) and the
output replaces the clip in a new manifest. The clips are near-clean already, so the system
only strips a low floor; the training mixtures then add the real noise on top as before.
Clips whose output loses most of their level (the system mistook the voice for noise, as
with processed robot voices) are dropped and counted. Test rows are copied unchanged, so
the fixed test set stays what it was.

Written files: ``<data>/<subdir>/<path below speech/>`` (16 kHz PCM-16) and the manifest.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from pipeline.audio import rms_dbfs, write_wav
from pipeline.constants import SAMPLE_RATE
from pipeline.corpora import CorpusError
from pipeline.corpora.prepare import MANIFEST_COLUMNS, write_csv
from pipeline.corpora.quality import SCREENED_SPLITS, rows_beside

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TargetsConfig:
    """What to clean and how.

    Attributes:
        system: enhancement system name (``pipeline.api.load("enhance", system)``).
        sources: manifest ``source`` values whose train/valid speech is cleaned; speech of
            other sources (e.g. studio prompts) is kept as recorded.
        subdir: folder below the data dir for the cleaned wavs.
        max_level_drop_db: drop a clip when cleaning lowers its RMS by more than this.
        jobs: worker processes.
    """

    system: str = "deepfilternet3"
    sources: tuple[str, ...] = ("fillets-cs", "fillets-nl", "hedgewars")
    subdir: str = "speech_denoised"
    max_level_drop_db: float = 6.0
    jobs: int = 1


def _selected(row: dict, config: TargetsConfig) -> bool:
    return (
        row["kind"] == "speech"
        and row["split"] in SCREENED_SPLITS
        and row["source"] in config.sources
    )


def target_path(row: dict, config: TargetsConfig) -> str:
    """Manifest path of the cleaned version of ``row`` (relative to the data dir):
    ``speech/fillets-cs/cs-m/x.wav`` -> ``<subdir>/fillets-cs/cs-m/x.wav``."""
    parts = [p for p in Path(row["path"]).parts if p != ".."]
    if parts and parts[0] == "speech":
        parts = parts[1:]
    return str(Path(config.subdir, *parts))


_WORKER: dict = {}


def _init_worker(system: str) -> None:
    """Load the cleaning system once per process (worker-local, not shared state)."""
    import torch

    from pipeline.api import load

    torch.set_num_threads(1)
    _WORKER["system"] = load("enhance", system)


def _clean_one(job: tuple[str, str]) -> tuple[str, float]:
    """Clean ``src`` into ``dst`` (both absolute); returns ``(dst, level drop in dB)``."""
    src, dst = job
    wave, sr = sf.read(src, dtype="float32", always_2d=False)
    if sr != SAMPLE_RATE:
        raise CorpusError(f"{src}: expected {SAMPLE_RATE} Hz, found {sr} Hz")
    out = _WORKER["system"].enhance(wave, SAMPLE_RATE).astype(np.float32)
    tmp = Path(dst).with_suffix(".partial.wav")
    write_wav(tmp, np.clip(out, -1.0, 1.0), SAMPLE_RATE)
    tmp.replace(dst)
    return dst, float(rms_dbfs(wave) - rms_dbfs(out))


def pseudo_clean_targets(
    manifest: Path,
    out: Path,
    config: TargetsConfig,
    *,
    extras: Sequence[Path] = (),
    valid_dir: Path | None = None,
    valid_items: int = 16,
    progress: Callable[[Iterable], Iterable] = iter,
) -> dict[str, int]:
    """Merge ``manifest`` with the train/valid speech of ``extras``, clean the selected
    clips (skipping those already cleaned), and write ``out`` next to ``manifest``; with
    ``valid_dir``, also fixed validation pairs (0/5/10/15 dB) of the new manifest's
    ``valid`` split. Returns counts: ``cleaned``, ``reused``, ``dropped``, ``kept_as_is``."""
    from pipeline.corpora.mixing import build_test_set

    manifest, out = Path(manifest), Path(out)
    root = manifest.parent
    rows = rows_beside(manifest, out, extras)
    sources = {
        str(root / target_path(r, config)): str(root / r["path"])
        for r in rows
        if _selected(r, config)
    }
    jobs = [(src, dst) for dst, src in sources.items() if not Path(dst).is_file()]
    drops: dict[str, float] = {}
    if jobs:
        log.info("cleaning %d clips with %s (%d jobs)", len(jobs), config.system, config.jobs)
        if config.jobs <= 1:
            _init_worker(config.system)
            drops.update(progress(map(_clean_one, jobs)))
        else:
            with ProcessPoolExecutor(
                max_workers=config.jobs,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(config.system,),
            ) as pool:
                drops.update(progress(pool.map(_clean_one, jobs, chunksize=8)))
    for dst, src in sources.items():  # cleaned by an earlier run: measure again
        if dst not in drops:
            drops[dst] = _level_drop(src, dst)
    counts = {"cleaned": len(jobs), "reused": len(sources) - len(jobs), "dropped": 0}
    counts["kept_as_is"] = 0
    result = []
    for row in rows:
        if not _selected(row, config):
            if row["kind"] == "speech" and row["split"] in SCREENED_SPLITS:
                counts["kept_as_is"] += 1
            result.append(row)
            continue
        path = target_path(row, config)
        if drops[str(root / path)] > config.max_level_drop_db:
            counts["dropped"] += 1
            continue
        result.append({**row, "path": path})
    for split in SCREENED_SPLITS:
        if not any(r["kind"] == "speech" and r["split"] == split for r in result):
            raise CorpusError(f"no {split} speech left after cleaning")
    write_csv(out, result, MANIFEST_COLUMNS)
    if valid_dir is not None:
        build_test_set(
            out,
            valid_dir,
            split="valid",
            per_snr=max(1, valid_items // 4),
            seed=0,
            min_seconds=1.0,
        )
    log.info("wrote %s: %s", out, counts)
    return counts


def _level_drop(src: str, dst: str) -> float:
    """RMS of ``src`` minus RMS of ``dst`` (dB)."""
    before, _ = sf.read(src, dtype="float32")
    after, _ = sf.read(dst, dtype="float32")
    return float(rms_dbfs(before) - rms_dbfs(after))
