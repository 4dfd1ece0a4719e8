"""Clean enhancement targets: every training/validation speech clip passed once through a
cleaner (by default the DeepFilterNet3 peer), scored with DNSMOS and kept above a threshold.

``python -m pipeline.corpora clean-targets`` runs this over every speech source of
``manifest.csv`` plus the extra manifests (``--extra``). Unlike :mod:`pipeline.corpora.targets`
(which cleans a chosen list of floor-carrying sources and drops clips by level loss only),
it cleans *all* train/valid speech and screens each clip's output by DNSMOS OVRL, so studio
prompts and game dialogue pass the same bar.

Work is resumable: every cleaned clip appends one row to a ledger CSV
(``<data>/<subdir>/ledger.csv``: seconds of audio, seconds of processing, level change,
DNSMOS SIG/BAK/OVRL of the output) and a clip whose ledger row and wav both exist is never
processed again. An interrupted run (Ctrl-C, a killed job, a full disk) loses at most the
clips in flight; a torn last ledger line is ignored on reading. Test rows are copied
unchanged into the targets manifest, so the fixed test set stays what it was.

Written files: ``<data>/<subdir>/<path below speech/>`` (16 kHz PCM-16), the ledger and the
targets manifest (default ``manifest_clean_targets.csv``).
"""

from __future__ import annotations

import csv
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from pipeline.audio import rms_dbfs, write_wav
from pipeline.constants import SAMPLE_RATE
from pipeline.corpora import CorpusError
from pipeline.corpora.prepare import MANIFEST_COLUMNS, read_manifest, write_csv
from pipeline.corpora.quality import SCREENED_SPLITS, check_beside
from pipeline.corpora.targets import target_path

log = logging.getLogger(__name__)

#: ``(wave, sr) -> wave``: float32 ``(samples,)`` at ``sr`` Hz in and out, same length.
Cleaner = Callable[[np.ndarray, int], np.ndarray]
#: ``(wave, sr) -> {"sig", "bak", "ovrl", ...}`` DNSMOS-style scores.
Scorer = Callable[[np.ndarray, int], dict[str, float]]

LEDGER_NAME = "ledger.csv"
LEDGER_COLUMNS = (
    "target",
    "source_path",
    "source",
    "speaker",
    "licence",
    "split",
    "seconds",
    "process_s",
    "level_drop_db",
    "sig",
    "bak",
    "ovrl",
)


@dataclass(frozen=True)
class CleanTargetsConfig:
    """What to clean and what to keep.

    Attributes:
        system: enhancement system that cleans (``pipeline.api.load("enhance", system)``).
        subdir: folder below the data dir for cleaned wavs and the ledger.
        min_ovrl: keep a clip when DNSMOS OVRL of its cleaned version is at least this.
        max_level_drop_db: drop a clip whose RMS falls by more than this (the cleaner took
            the voice for noise).
        jobs: worker processes (each loads its own cleaner and scorer).
    """

    system: str = "deepfilternet3"
    subdir: str = "speech_dfn3"
    min_ovrl: float = 2.8
    max_level_drop_db: float = 6.0
    jobs: int = 1
    max_minutes: float = 0.0  # wall-clock budget of one run (0: none); the rest stays pending


def selected(row: dict) -> bool:
    """Rows whose audio gets cleaned: train/valid speech of any source."""
    return row["kind"] == "speech" and row["split"] in SCREENED_SPLITS


def read_ledger(path: Path) -> dict[str, dict]:
    """Ledger rows by ``target`` path; rows with a missing or unparsable field (a torn last
    line after a crash) are skipped."""
    if not path.is_file():
        return {}
    done: dict[str, dict] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            try:
                parsed = {k: row[k] for k in LEDGER_COLUMNS[:6]}
                parsed.update({k: float(row[k]) for k in LEDGER_COLUMNS[6:]})
            except (KeyError, TypeError, ValueError):
                continue
            done[parsed["target"]] = parsed
    return done


class Ledger:
    """Append-only CSV of finished clips; the header is written once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.stat().st_size == 0:
            with path.open("w", newline="", encoding="utf-8") as handle:
                csv.writer(handle).writerow(LEDGER_COLUMNS)
        else:
            self._end_with_newline()

    def _end_with_newline(self) -> None:
        """After a torn write the file may end mid-line: start the next row on a new line."""
        with self.path.open("rb") as handle:
            handle.seek(-1, os.SEEK_END)
            last = handle.read(1)
        if last != b"\n":
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write("\n")

    def append(self, row: dict) -> None:
        with self.path.open("a", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerow([_cell(row[k]) for k in LEDGER_COLUMNS])
            handle.flush()


def _cell(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def clean_one(job: dict, cleaner: Cleaner, scorer: Scorer) -> dict:
    """Clean ``job["src"]`` into ``job["dst"]`` (absolute paths) and return its ledger row.

    The wav is written to a temporary name and renamed, so a wav on disk is always whole.
    """
    wave, sr = sf.read(job["src"], dtype="float32", always_2d=False)
    if sr != SAMPLE_RATE:
        raise CorpusError(f"{job['src']}: expected {SAMPLE_RATE} Hz, found {sr} Hz")
    started = time.perf_counter()
    out = np.clip(np.asarray(cleaner(wave, SAMPLE_RATE), dtype=np.float32), -1.0, 1.0)
    process_s = time.perf_counter() - started
    if out.shape != wave.shape:
        raise CorpusError(f"{job['src']}: cleaner changed the length {len(wave)} -> {len(out)}")
    dst = Path(job["dst"])
    tmp = dst.with_suffix(".partial.wav")
    write_wav(tmp, out, SAMPLE_RATE)
    tmp.replace(dst)
    scores = scorer(out, SAMPLE_RATE)
    return {
        **job["row"],
        "seconds": len(wave) / SAMPLE_RATE,
        "process_s": process_s,
        "level_drop_db": float(rms_dbfs(wave) - rms_dbfs(out)),
        "sig": float(scores["sig"]),
        "bak": float(scores["bak"]),
        "ovrl": float(scores["ovrl"]),
    }


_WORKER: dict = {}


def _init_worker(system: str) -> None:
    """Load the cleaning system and a DNSMOS scorer once per worker process."""
    import torch

    from pipeline.api import load
    from pipeline.metrics import DnsmosScorer

    torch.set_num_threads(1)
    enhancer = load("enhance", system)
    _WORKER["cleaner"] = enhancer.enhance
    _WORKER["scorer"] = DnsmosScorer(short_clips="single").score


def _clean_in_worker(job: dict) -> dict:
    return clean_one(job, _WORKER["cleaner"], _WORKER["scorer"])


def pending_jobs(rows: Sequence[dict], root: Path, config: CleanTargetsConfig) -> list[dict]:
    """Selected clips without a ledger row and a wav: ``{"src", "dst", "row"}`` jobs."""
    done = read_ledger(root / config.subdir / LEDGER_NAME)
    jobs = []
    for row in rows:
        if not selected(row):
            continue
        target = target_path(row, config)
        if target in done and (root / target).is_file():
            continue
        meta = {
            "target": target,
            "source_path": row["path"],
            "source": row["source"],
            "speaker": row["speaker"],
            "licence": row["licence"],
            "split": row["split"],
        }
        jobs.append({"src": str(root / row["path"]), "dst": str(root / target), "row": meta})
    return interleave_sources(jobs)


def interleave_sources(jobs: Sequence[dict]) -> list[dict]:
    """``jobs`` reordered round-robin over their sources (order kept within a source), so a
    run stopped early has cleaned a share of every source, not all of the first one."""
    by_source: dict[str, list[dict]] = {}
    for job in jobs:
        by_source.setdefault(job["row"]["source"], []).append(job)
    queues = [iter(group) for group in by_source.values()]
    ordered: list[dict] = []
    while queues:
        for queue in list(queues):
            job = next(queue, None)
            if job is None:
                queues.remove(queue)
            else:
                ordered.append(job)
    return ordered


def run_cleaning(
    rows: Sequence[dict],
    root: Path,
    config: CleanTargetsConfig,
    *,
    cleaner: Cleaner | None = None,
    scorer: Scorer | None = None,
    progress: Callable[[Iterable], Iterable] = iter,
) -> int:
    """Clean every pending clip of ``rows`` (paths relative to ``root``), appending to the
    ledger as each finishes. ``cleaner``/``scorer`` given: run in this process with them
    (tests); else ``config.jobs`` workers load ``config.system`` and DNSMOS. Returns the
    number of clips cleaned in this call."""
    jobs = pending_jobs(rows, root, config)
    if not jobs:
        return 0
    for job in jobs:
        Path(job["dst"]).parent.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(root / config.subdir / LEDGER_NAME)
    log.info("cleaning %d clips with %s (%d jobs)", len(jobs), config.system, config.jobs)
    budget_s = 60.0 * config.max_minutes if config.max_minutes > 0 else float("inf")
    started = time.monotonic()
    results = _results(jobs, config, cleaner, scorer)
    done = 0
    try:
        for row in progress(results):
            ledger.append(row)
            done += 1
            if time.monotonic() - started >= budget_s:
                log.info(
                    "time budget of %.1f min reached: %d of %d clips cleaned, the rest stays "
                    "pending for the next run",
                    config.max_minutes,
                    done,
                    len(jobs),
                )
                break
    finally:
        results.close()
    return done


def _results(
    jobs: list[dict], config: CleanTargetsConfig, cleaner: Cleaner | None, scorer: Scorer | None
) -> Iterator[dict]:
    if cleaner is not None or scorer is not None:
        if cleaner is None or scorer is None:
            raise ValueError("give both cleaner and scorer, or neither")
        yield from (clean_one(job, cleaner, scorer) for job in jobs)
        return
    if config.jobs <= 1:
        _init_worker(config.system)
        yield from map(_clean_in_worker, jobs)
        return
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=config.jobs,
        mp_context=context,
        initializer=_init_worker,
        initargs=(config.system,),
    )
    try:
        yield from pool.map(_clean_in_worker, jobs, chunksize=4)
    finally:  # a stopped run (budget, Ctrl-C) drops the queued clips instead of finishing them
        pool.shutdown(wait=True, cancel_futures=True)


def kept(entry: dict, config: CleanTargetsConfig) -> bool:
    """Whether a ledger row passes the screen (DNSMOS OVRL and level loss)."""
    return entry["ovrl"] >= config.min_ovrl and entry["level_drop_db"] <= config.max_level_drop_db


def targets_manifest(
    rows: Sequence[dict], root: Path, config: CleanTargetsConfig
) -> tuple[list[dict], dict[str, int]]:
    """The targets manifest: selected rows replaced by their kept cleaned version (dropped
    when screened out or not cleaned yet), other rows unchanged. Returns ``(rows, counts)``."""
    done = read_ledger(root / config.subdir / LEDGER_NAME)
    counts = {"kept": 0, "screened_out": 0, "not_cleaned": 0}
    result = []
    for row in rows:
        if not selected(row):
            result.append(row)
            continue
        entry = done.get(target_path(row, config))
        if entry is None:
            counts["not_cleaned"] += 1
        elif kept(entry, config):
            counts["kept"] += 1
            result.append({**row, "path": entry["target"]})
        else:
            counts["screened_out"] += 1
    return result, counts


def clean_targets(
    manifest: Path,
    out: Path,
    config: CleanTargetsConfig,
    *,
    rows: Sequence[dict] | None = None,
    cleaner: Cleaner | None = None,
    scorer: Scorer | None = None,
    progress: Callable[[Iterable], Iterable] = iter,
) -> dict[str, float]:
    """Clean what is pending, then write the targets manifest ``out`` next to ``manifest``.

    ``rows``: the manifest rows to clean and screen, when the caller has them already (e.g.
    :func:`pipeline.corpora.quality.merged_rows` with extra manifests, as the CLI does);
    default: ``manifest``'s own. Returns counts (``cleaned_now``, ``kept``, ``screened_out``, ``not_cleaned``) and the
    throughput of the clips cleaned in this call (``audio_s``, ``process_s``, ``rtf``)."""
    manifest, out = Path(manifest), Path(out)
    check_beside(manifest, out)
    root = manifest.parent
    rows = read_manifest(manifest) if rows is None else rows
    before = read_ledger(root / config.subdir / LEDGER_NAME)
    cleaned = run_cleaning(rows, root, config, cleaner=cleaner, scorer=scorer, progress=progress)
    after = read_ledger(root / config.subdir / LEDGER_NAME)
    new = [after[k] for k in after.keys() - before.keys()]
    audio_s = sum(e["seconds"] for e in new)
    process_s = sum(e["process_s"] for e in new)
    result, counts = targets_manifest(rows, root, config)
    for split in SCREENED_SPLITS:
        if not any(r["kind"] == "speech" and r["split"] == split for r in result):
            raise CorpusError(f"no {split} speech left after cleaning and screening")
    write_csv(out, result, MANIFEST_COLUMNS)
    report = {"cleaned_now": cleaned, **counts, "audio_s": audio_s, "process_s": process_s}
    report["rtf"] = process_s / audio_s if audio_s else float("nan")
    log.info("wrote %s: %s", out, report)
    return report


def screen_table(rows: Sequence[dict], root: Path, config: CleanTargetsConfig) -> list[dict]:
    """Per source and licence: minutes and speakers of train/valid speech before cleaning
    (all selected rows), cleaned so far, and kept by the screen; plus median OVRL."""
    done = read_ledger(root / config.subdir / LEDGER_NAME)
    groups: dict[tuple[str, str], dict] = {}
    for row in rows:
        if not selected(row):
            continue
        g = groups.setdefault(
            (row["source"], row["licence"]),
            {"min": 0.0, "spk": set(), "done": 0.0, "kept_min": 0.0, "kept_spk": set(), "ovrl": []},
        )
        seconds = float(row["duration_s"])
        g["min"] += seconds / 60
        g["spk"].add(row["speaker"])
        entry = done.get(target_path(row, config))
        if entry is None:
            continue
        g["done"] += seconds / 60
        g["ovrl"].append(entry["ovrl"])
        if kept(entry, config):
            g["kept_min"] += seconds / 60
            g["kept_spk"].add(row["speaker"])
    return [
        {
            "source": source,
            "licence": licence,
            "minutes_before": g["min"],
            "speakers_before": len(g["spk"]),
            "minutes_cleaned": g["done"],
            "median_ovrl": float(np.median(g["ovrl"])) if g["ovrl"] else float("nan"),
            "minutes_kept": g["kept_min"],
            "speakers_kept": len(g["kept_spk"]),
        }
        for (source, licence), g in sorted(groups.items())
    ]
