"""Enhancement evaluation: every system on the fixed test set, quality + speed + memory.

For each system and test item: PESQ-WB, STOI, ESTOI, SI-SDR against the clean reference,
DNSMOS SIG/BAK/OVRL/P.808 of the output, and the wall-clock time and peak-RSS growth of the
``system.enhance`` call (see :mod:`pipeline.evaluate.resources`). ``noisy`` is the unprocessed
input; ``clean`` (optional) scores the references themselves as an upper bound. On a test set
at 32 kHz or more, also the log-spectral distance and energy ratio above 8 kHz
(:func:`pipeline.metrics.high_band_metrics`); ``<system>:resample`` then runs a
system the old way, resampling everything to its own rate and back (no upper band kept).

Outputs (``out_dir``): ``per_file.csv``, ``summary.csv`` (system × SNR, plus the 0-10 dB
average), ``resources.csv`` (per system), ``report.md`` and ``targets.csv``.
"""

from __future__ import annotations

import copy
import csv
import logging
import math
import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from pipeline.evaluate.enhance_markdown import markdown_report
from pipeline.evaluate.enhance_summary import enhancement_targets, summarize
from pipeline.evaluate.resources import ResourceMeter
from pipeline.evaluate.targets import Target
from pipeline.metrics import (
    HIGH_BAND_HZ,
    DnsmosScorer,
    default_dnsmos,
    high_band_metrics,
    intrusive_metrics,
    pause_attenuation_db,
)
from pipeline.registry import DEFAULT_GAN, Registry

log = logging.getLogger(__name__)

PSEUDO_SYSTEMS = ("noisy", "clean")
#: ``<system><suffix>``: the system without its upper band kept (resampled path)
RESAMPLE_SUFFIX = ":resample"
DEFAULT_SYSTEMS = ("noisy", "dsp", DEFAULT_GAN["enhance"], "deepfilternet3")
_CLEAN_COLUMNS = ("clean", "clean_path", "clean_wav")
_NOISY_COLUMNS = ("noisy", "noisy_path", "noisy_wav", "mixture", "path")
_SNR_COLUMNS = ("snr_db", "snr")


@dataclass(frozen=True)
class TestItem:
    """One pair of the fixed test set (paths absolute, SNR in dB)."""

    item_id: str
    clean: Path
    noisy: Path
    snr_db: float
    speaker: str = ""
    noise: str = ""
    source: str = ""  # speech source (corpus), e.g. asterisk / fillets-nl / hedgewars
    noise_kind: str = ""  # recorded / synthetic / babble


def _pick(row: dict, names: Sequence[str], what: str) -> str:
    for name in names:
        if row.get(name):
            return row[name]
    raise ValueError(f"test-set CSV has no {what} column (looked for {', '.join(names)})")


def load_test_set(test_dir: str | Path, *, per_snr: int | None = None) -> list[TestItem]:
    """Read the test set's CSV (``<test_dir>/*.csv``; relative paths are under ``test_dir``).

    Args:
        per_snr: keep only the first ``per_snr`` items (CSV order) of each SNR.
    """
    test_dir = Path(test_dir)
    csvs = sorted(test_dir.glob("*.csv"))
    if not csvs:
        raise FileNotFoundError(
            f"no test-set CSV in {test_dir} (run: python -m pipeline.corpora testset)"
        )
    with csvs[0].open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    items: list[TestItem] = []
    counts: dict[float, int] = {}
    for i, row in enumerate(rows):
        snr = float(_pick(row, _SNR_COLUMNS, "SNR"))
        if per_snr is not None and counts.get(snr, 0) >= per_snr:
            continue
        counts[snr] = counts.get(snr, 0) + 1
        clean = Path(_pick(row, _CLEAN_COLUMNS, "clean-path"))
        noisy = Path(_pick(row, _NOISY_COLUMNS, "noisy-path"))
        items.append(
            TestItem(
                item_id=row.get("id") or row.get("item_id") or noisy.stem or str(i),
                clean=clean if clean.is_absolute() else test_dir / clean,
                noisy=noisy if noisy.is_absolute() else test_dir / noisy,
                snr_db=snr,
                speaker=row.get("speaker", ""),
                noise=row.get("noise", "") or row.get("noise_path", ""),
                source=row.get("source", ""),
                noise_kind=row.get("noise_kind", ""),
            )
        )
    return items


def _read(path: Path) -> tuple[np.ndarray, int]:
    wave, sr = sf.read(str(path), dtype="float32", always_2d=False)
    if wave.ndim == 2:
        wave = wave.mean(axis=1)
    return wave, int(sr)


@dataclass
class EnhanceEvaluation:
    """Tables produced by :func:`evaluate_enhancement` (pandas DataFrames)."""

    per_file: pd.DataFrame
    summary: pd.DataFrame
    resources: pd.DataFrame
    targets: list[Target] = field(default_factory=list)


def _score(
    clean: np.ndarray, noisy: np.ndarray, out: np.ndarray, sr: int, dnsmos: DnsmosScorer | None
) -> dict:
    row = intrusive_metrics(clean, out, sr)
    row["pause_atten_db"] = pause_attenuation_db(clean, noisy, out, sr)
    if sr / 2 >= HIGH_BAND_HZ[1]:
        row.update(high_band_metrics(clean, out, sr))
    if dnsmos is not None:
        row.update({f"dnsmos_{k}": v for k, v in dnsmos.score(out, sr).items()})
    return row


def _score_in_worker(job: tuple[np.ndarray, np.ndarray, np.ndarray, int, bool]) -> dict:
    """Pool worker: the process's own cached DNSMOS scorer (one ONNX thread)."""
    clean, noisy, out, sr, use_dnsmos = job
    return _score(clean, noisy, out, sr, default_dnsmos() if use_dnsmos else None)


def _resource_row(name: str, totals: dict[str, float], load_before: float) -> dict:
    """One ``resources.csv`` row from a system's summed wall/CPU/audio seconds and peak RSS."""
    audio = totals["audio"] or math.nan
    return {
        "system": name,
        "audio_s": totals["audio"],
        "wall_s": totals["wall"],
        "cpu_s": totals["cpu"],
        "rtf": totals["wall"] / audio,
        "cpu_rtf": totals["cpu"] / audio,
        "peak_rss_delta_mib": totals["peak"],
        "load_avg_1min": (load_before + os.getloadavg()[0]) / 2,
    }


def _score_all(
    outputs: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]],
    dnsmos: DnsmosScorer | None,
    jobs: int,
    progress: Callable[[Iterable], Iterable],
) -> list[dict]:
    """Metrics of every ``(clean, noisy, output, sr)``, in ``jobs`` processes when ``jobs > 1``."""
    if jobs > 1 and outputs:
        work = [(c, n, o, sr, dnsmos is not None) for c, n, o, sr in outputs]
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            return list(progress(pool.map(_score_in_worker, work, chunksize=4)))
    return [_score(c, n, o, sr, dnsmos) for c, n, o, sr in progress(outputs)]


#: columns of ``resources.csv`` (one row per timed system, see :func:`_resource_row`)
RESOURCE_COLUMNS = (
    "system",
    "audio_s",
    "wall_s",
    "cpu_s",
    "rtf",
    "cpu_rtf",
    "peak_rss_delta_mib",
    "load_avg_1min",
)
#: ``(item, clean, clean rate, noisy, rate)``: one test pair read from disk (mono float32)
TestPair = tuple[TestItem, np.ndarray, int, np.ndarray, int]
#: ``(clean, noisy, output, rate)``: what phase 2 scores
SystemOutput = tuple[np.ndarray, np.ndarray, np.ndarray, int]


def _available_systems(systems: Sequence[str], registry: Registry) -> list[str]:
    """``systems`` that exist here (registry or pseudo-system); the others are logged."""
    available = set(registry.names("enhance")) | set(PSEUDO_SYSTEMS)
    for name in systems:
        if name.removesuffix(RESAMPLE_SUFFIX) not in available:
            log.warning("system %r is not available here; skipped", name)
    return [s for s in systems if s.removesuffix(RESAMPLE_SUFFIX) in available]


def _read_pairs(items: Sequence[TestItem]) -> list[TestPair]:
    """Every item's clean and noisy audio; both must share one sample rate."""
    pairs = [(item, *_read(item.clean), *_read(item.noisy)) for item in items]
    for item, _, clean_sr, _, sr in pairs:
        if clean_sr != sr:
            raise ValueError(f"{item.item_id}: clean {clean_sr} Hz vs noisy {sr} Hz")
    return pairs


def _item_row(name: str, item: TestItem, seconds: float) -> dict:
    """A ``per_file.csv`` row before timing and metrics (timing columns ``nan``)."""
    return {
        "system": name,
        "item_id": item.item_id,
        "snr_db": item.snr_db,
        "speaker": item.speaker,
        "noise": item.noise,
        "source": item.source,
        "noise_kind": item.noise_kind,
        "duration_s": seconds,
        "wall_s": math.nan,
        "rtf": math.nan,
        "peak_rss_delta_mib": math.nan,
    }


def _run_system(
    name: str,
    registry: Registry,
    pairs: list[TestPair],
    progress: Callable[[Iterable], Iterable],
) -> tuple[list[dict], list[SystemOutput], dict | None]:
    """Phase 1 for one system: rows, outputs and its ``resources.csv`` row (``None`` for a
    pseudo-system). One untimed warm-up call, then every item inside a :class:`ResourceMeter`."""
    system = None if name in PSEUDO_SYSTEMS else load_for_evaluation(registry, name)
    load_before = os.getloadavg()[0]
    if system is not None and pairs:
        system.enhance(pairs[0][3], pairs[0][4])
    totals = {"wall": 0.0, "cpu": 0.0, "audio": 0.0, "peak": 0.0}
    rows: list[dict] = []
    outputs: list[SystemOutput] = []
    for item, clean, _, noisy, sr in progress(pairs):
        seconds = len(noisy) / sr
        row = _item_row(name, item, seconds)
        if system is None:
            out = noisy if name == "noisy" else clean
        else:
            with ResourceMeter() as meter:
                out = system.enhance(noisy, sr)
            m = meter.result
            totals["wall"] += m.wall_s
            totals["cpu"] += m.cpu_s
            totals["audio"] += seconds
            totals["peak"] = max(totals["peak"], m.peak_rss_delta_mib)
            row.update(wall_s=m.wall_s, rtf=m.rtf(seconds), peak_rss_delta_mib=m.peak_rss_delta_mib)
        rows.append(row)
        outputs.append((clean, noisy, out, sr))
    return rows, outputs, None if system is None else _resource_row(name, totals, load_before)


def evaluate_enhancement(
    items: Sequence[TestItem],
    systems: Sequence[str],
    *,
    registry: Registry,
    dnsmos: DnsmosScorer | None,
    gan: str = DEFAULT_GAN["enhance"],
    jobs: int = 1,
    progress: Callable[[Iterable], Iterable] = lambda it: it,
) -> EnhanceEvaluation:
    """Run every system over ``items`` and score it.

    Phase 1 (timed, single process, nothing else of ours running): per system, one untimed
    warm-up call on the first item (lazy initialisation, allocator pools), then every item
    is enhanced inside a :class:`ResourceMeter`. Phase 2 (untimed): metrics of every output,
    in ``jobs`` worker processes when ``jobs > 1``. ``dnsmos=None`` skips DNSMOS.
    """
    systems = _available_systems(systems, registry)
    pairs = _read_pairs(items)
    rows: list[dict] = []
    outputs: list[SystemOutput] = []
    resources: list[dict] = []
    for name in systems:
        system_rows, system_outputs, resource = _run_system(name, registry, pairs, progress)
        rows += system_rows
        outputs += system_outputs
        if resource is not None:
            resources.append(resource)
    scores = _score_all(outputs, dnsmos, jobs, progress)
    for row, score in zip(rows, scores, strict=True):
        row.update(score)
    per_file = pd.DataFrame(rows)
    summary = summarize(per_file, systems)
    res = pd.DataFrame(resources, columns=list(RESOURCE_COLUMNS))
    return EnhanceEvaluation(per_file, summary, res, enhancement_targets(summary, res, gan=gan))


def load_for_evaluation(registry: Registry, name: str):
    """The named enhancement system; ``<name>:resample`` is a copy that resamples to its own
    rate and back without keeping the upper band (the pre-full-band behaviour)."""
    if not name.endswith(RESAMPLE_SUFFIX):
        return registry.get("enhance", name)
    system = copy.copy(registry.get("enhance", name.removesuffix(RESAMPLE_SUFFIX)))
    system.keep_upper_band = False
    return system


def write_outputs(evaluation: EnhanceEvaluation, out_dir: str | Path, *, notes: str = "") -> Path:
    """Write the CSVs and ``report.md`` into ``out_dir``; returns the report path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    evaluation.per_file.to_csv(out / "per_file.csv", index=False)
    evaluation.summary.to_csv(out / "summary.csv", index=False)
    evaluation.resources.to_csv(out / "resources.csv", index=False)
    pd.DataFrame([t.as_dict() for t in evaluation.targets]).to_csv(out / "targets.csv", index=False)
    report = out / "report.md"
    report.write_text(markdown_report(evaluation) + (f"\n{notes}\n" if notes else ""), "utf-8")
    return report
