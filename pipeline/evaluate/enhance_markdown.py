"""The markdown report of the enhancement evaluation (``report.md``).

The 0-10 dB table (quality, real-time factor, memory), per-SNR tables, breakdowns by speech
source and noise kind, and the target checks of an
:class:`~pipeline.evaluate.enhance_report.EnhanceEvaluation`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline.evaluate.enhance_summary import (
    BREAKDOWN_METRICS,
    METRIC_LABELS,
    METRICS,
    TARGET_SNRS,
)
from pipeline.evaluate.targets import targets_markdown

if TYPE_CHECKING:
    from pipeline.evaluate.enhance_report import EnhanceEvaluation


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
