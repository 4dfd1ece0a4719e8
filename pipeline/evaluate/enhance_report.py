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

from pipeline.evaluate.resources import ResourceMeter
from pipeline.evaluate.targets import Target, check, targets_markdown
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
TARGET_SNRS = (0.0, 5.0, 10.0)  #: the issue's targets average over these input SNRs
METRICS = (
    "pesq_wb",
    "stoi",
    "estoi",
    "si_sdr",
    "pause_atten_db",
    "dnsmos_sig",
    "dnsmos_bak",
    "dnsmos_ovrl",
    "dnsmos_p808",
    "lsd_hi_db",
    "energy_ratio_hi_db",
)
METRIC_LABELS = {
    "pesq_wb": "PESQ-WB",
    "stoi": "STOI",
    "estoi": "ESTOI",
    "si_sdr": "SI-SDR (dB)",
    "pause_atten_db": "pause noise (dB)",
    "dnsmos_sig": "SIG",
    "dnsmos_bak": "BAK",
    "dnsmos_ovrl": "OVRL",
    "dnsmos_p808": "P.808",
    "lsd_hi_db": "LSD >8 kHz (dB)",
    "energy_ratio_hi_db": "energy >8 kHz vs clean (dB)",
}
#: metrics broken down by speech source and noise kind in the report
BREAKDOWN_METRICS = (
    "pesq_wb",
    "stoi",
    "si_sdr",
    "dnsmos_ovrl",
    "lsd_hi_db",
    "energy_ratio_hi_db",
)
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
    available = set(registry.names("enhance")) | set(PSEUDO_SYSTEMS)
    for name in systems:
        if name.removesuffix(RESAMPLE_SUFFIX) not in available:
            log.warning("system %r is not available here; skipped", name)
    systems = [s for s in systems if s.removesuffix(RESAMPLE_SUFFIX) in available]
    pairs = [(item, *_read(item.clean), *_read(item.noisy)) for item in items]
    for item, _, clean_sr, _, sr in pairs:
        if clean_sr != sr:
            raise ValueError(f"{item.item_id}: clean {clean_sr} Hz vs noisy {sr} Hz")
    rows: list[dict] = []
    outputs: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []
    resources: list[dict] = []
    for name in systems:
        system = None if name in PSEUDO_SYSTEMS else load_for_evaluation(registry, name)
        load_before = os.getloadavg()[0]
        if system is not None and pairs:
            system.enhance(pairs[0][3], pairs[0][4])
        totals = {"wall": 0.0, "cpu": 0.0, "audio": 0.0, "peak": 0.0}
        for item, clean, _, noisy, sr in progress(pairs):
            seconds = len(noisy) / sr
            row = {
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
                row.update(
                    wall_s=m.wall_s, rtf=m.rtf(seconds), peak_rss_delta_mib=m.peak_rss_delta_mib
                )
            rows.append(row)
            outputs.append((clean, noisy, out, sr))
        if system is not None:
            resources.append(_resource_row(name, totals, load_before))
    scores = _score_all(outputs, dnsmos, jobs, progress)
    for row, score in zip(rows, scores, strict=True):
        row.update(score)
    per_file = pd.DataFrame(rows)
    summary = summarize(per_file, systems)
    res = pd.DataFrame(
        resources,
        columns=[
            "system",
            "audio_s",
            "wall_s",
            "cpu_s",
            "rtf",
            "cpu_rtf",
            "peak_rss_delta_mib",
            "load_avg_1min",
        ],
    )
    return EnhanceEvaluation(per_file, summary, res, enhancement_targets(summary, res, gan=gan))


def load_for_evaluation(registry: Registry, name: str):
    """The named enhancement system; ``<name>:resample`` is a copy that resamples to its own
    rate and back without keeping the upper band (the pre-full-band behaviour)."""
    if not name.endswith(RESAMPLE_SUFFIX):
        return registry.get("enhance", name)
    system = copy.copy(registry.get("enhance", name.removesuffix(RESAMPLE_SUFFIX)))
    system.keep_upper_band = False
    return system


def summarize(per_file: pd.DataFrame, systems: Sequence[str]) -> pd.DataFrame:
    """Mean metrics per system and input SNR, plus ``snr = "0-10"`` (the targets' average)
    and ``"all"``. Columns: ``system, snr, n`` and every metric present."""
    metrics = [m for m in METRICS if m in per_file.columns]
    parts = []
    for snr, group in per_file.groupby("snr_db"):
        agg = group.groupby("system")[metrics].mean()
        agg["n"] = group.groupby("system").size()
        parts.append(agg.assign(snr=f"{snr:g}"))
    for label, mask in (
        ("0-10", per_file["snr_db"].isin(TARGET_SNRS)),
        ("all", pd.Series(True, index=per_file.index)),
    ):
        sub = per_file[mask]
        if len(sub):
            agg = sub.groupby("system")[metrics].mean()
            agg["n"] = sub.groupby("system").size()
            parts.append(agg.assign(snr=label))
    if not parts:
        return pd.DataFrame(columns=["system", "snr", "n", *metrics])
    out = pd.concat(parts).reset_index()
    order = {s: i for i, s in enumerate(systems)}
    out["_s"] = out["snr"].map(lambda label: {"0-10": 1e6, "all": 1e7}.get(label) or float(label))
    out["_o"] = out["system"].map(order)
    out = out.sort_values(["_s", "_o"])
    return out[["system", "snr", "n", *metrics]].reset_index(drop=True)


def _value(summary: pd.DataFrame, system: str, metric: str, snr: str = "0-10") -> float:
    sel = summary[(summary["system"] == system) & (summary["snr"] == snr)]
    return float(sel[metric].iloc[0]) if len(sel) and metric in sel else math.nan


def _rtf(resources: pd.DataFrame, system: str, column: str = "rtf") -> float:
    sel = resources[resources["system"] == system]
    return float(sel[column].iloc[0]) if len(sel) else math.nan


def enhancement_targets(
    summary: pd.DataFrame, resources: pd.DataFrame, *, gan: str
) -> list[Target]:
    """The issue's targets, on the 0-10 dB average (``nan`` values fail with "not measured")."""
    pesq = {s: _value(summary, s, "pesq_wb") for s in ("noisy", "dsp", gan, "deepfilternet3")}
    ovrl = {s: _value(summary, s, "dnsmos_ovrl") for s in ("noisy", gan, "deepfilternet3")}
    rtf_gan, rtf_dfn = _rtf(resources, gan), _rtf(resources, "deepfilternet3")
    return [
        check(f"PESQ-WB gain of {gan} over noisy", pesq[gan] - pesq["noisy"], ">=", 0.8),
        check(f"PESQ-WB of {gan} minus dsp", pesq[gan] - pesq["dsp"], ">=", 0.4),
        check(f"DNSMOS OVRL gain of {gan} over noisy", ovrl[gan] - ovrl["noisy"], ">=", 0.8),
        check(
            f"PESQ-WB of {gan} minus DeepFilterNet3 (goal)",
            pesq[gan] - pesq["deepfilternet3"],
            ">=",
            0.0,
        ),
        check(
            f"DNSMOS OVRL of {gan} minus DeepFilterNet3 (goal)",
            ovrl[gan] - ovrl["deepfilternet3"],
            ">=",
            0.0,
        ),
        check(f"real-time factor of {gan}", rtf_gan, "<=", 0.05),
        check(
            f"CPU-time RTF of {gan} (unaffected by other jobs)",
            _rtf(resources, gan, "cpu_rtf"),
            "<=",
            0.05,
        ),
        check(f"RTF of {gan} minus DeepFilterNet3's", rtf_gan - rtf_dfn, "<", 0.0),
    ]


def _digits(metric: str) -> int:
    """Decimals shown for a metric: dB values 1, STOI/ESTOI 3, MOS-like scores 2."""
    return 1 if metric.endswith("_db") or metric == "si_sdr" else 3 if "stoi" in metric else 2


def _fmt(value: float, digits: int = 2) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def markdown_report(evaluation: EnhanceEvaluation, *, title: str = "Enhancement evaluation") -> str:
    """Markdown: the 0-10 dB table (quality + RTF + memory), per-SNR tables, target checks."""
    summary, res = evaluation.summary, evaluation.resources
    metrics = [m for m in METRICS if m in summary.columns]
    head = ["system", *(METRIC_LABELS[m] for m in metrics), "RTF", "CPU RTF", "peak RSS Δ (MiB)"]
    lines = [f"## {title}", ""]
    avg = summary[summary["snr"] == "0-10"]
    n_items = int(avg["n"].max()) if len(avg) else 0
    lines += [f"Averaged over input SNR 0, 5, 10 dB ({n_items} items per system).", ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in avg.iterrows():
        sel = res[res["system"] == r["system"]]
        rtf, cpu_rtf, mem = (
            float(sel[c].iloc[0]) if len(sel) else math.nan
            for c in ("rtf", "cpu_rtf", "peak_rss_delta_mib")
        )
        cells = [
            f"`{r['system']}`",
            *(_fmt(r[m], _digits(m)) for m in metrics),
            _fmt(rtf, 4),
            _fmt(cpu_rtf, 4),
            _fmt(mem, 0),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if len(res) and "load_avg_1min" in res:
        loads = ", ".join(f"{r['system']} {r['load_avg_1min']:.1f}" for _, r in res.iterrows())
        lines += [
            "",
            "RTF = wall-clock / audio time; CPU RTF = this process's CPU time / audio "
            f"time. Machine load average (1 min) while each system was timed: {loads} "
            "(2 cores; values above ~1 mean other jobs competed for the CPU).",
        ]
    lines += ["", "Per input SNR:", ""]
    head2 = ["SNR (dB)", "system", "n", *(METRIC_LABELS[m] for m in metrics)]
    lines += ["| " + " | ".join(head2) + " |", "|" + "---|" * len(head2)]
    for _, r in summary[~summary["snr"].isin(["0-10", "all"])].iterrows():
        cells = [
            r["snr"],
            f"`{r['system']}`",
            str(int(r["n"])),
            *(_fmt(r[m], _digits(m)) for m in metrics),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    for metric in BREAKDOWN_METRICS:
        if metric in evaluation.per_file and evaluation.per_file[metric].notna().any():
            lines += breakdown_markdown(evaluation.per_file, metric)
    lines += ["", "Targets (0-10 dB average):", "", targets_markdown(evaluation.targets)]
    return "\n".join(lines) + "\n"


def breakdown_markdown(per_file: pd.DataFrame, metric: str = "pesq_wb") -> list[str]:
    """Lines of ``metric`` means at 0-10 dB input SNR by speech source and by noise kind
    (systems as columns, item counts in brackets): where a system's gains come from."""
    part = per_file[per_file["snr_db"].isin(TARGET_SNRS)]
    lines: list[str] = []
    for column, label in (("source", "speech source"), ("noise_kind", "noise kind")):
        if column not in part or not part[column].astype(bool).any():
            continue
        table = part.pivot_table(index=column, columns="system", values=metric, aggfunc="mean")
        counts = part[part["system"] == part["system"].iloc[0]][column].value_counts()
        systems = [s for s in dict.fromkeys(part["system"]) if s in table.columns]
        lines += ["", f"{METRIC_LABELS[metric]} by {label} (0-10 dB):", ""]
        lines += ["| " + " | ".join([label, *(f"`{s}`" for s in systems)]) + " |"]
        lines += ["|" + "---|" * (len(systems) + 1)]
        for key, row in table.iterrows():
            cells = [
                f"{key} ({counts.get(key, 0)})",
                *(_fmt(row[s], _digits(metric)) for s in systems),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


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
