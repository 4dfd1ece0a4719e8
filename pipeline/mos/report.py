"""Turn a ratings CSV into the results of a test: tables, a chart and a markdown summary.

Files written to ``out_dir``:

* ``summary.csv`` — per system after screening (n_listeners, n_ratings, mos, std,
  ci95_low, ci95_high, median); ``summary_before_screening.csv`` — the same on all ratings;
* ``listeners.csv`` — per-listener screening report; ``pairwise.csv`` — significance tests;
* ``items.csv`` — mean score per item and system (after screening);
* ``ratings_raw.csv`` / ``ratings_screened.csv`` — the rows behind the numbers;
* ``mos.png`` — MOS per system with 95 % confidence intervals; ``report.md``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

# "agg" as Gradio names it: its per-event backend switch is then a no-op (with "Agg" it
# switched pyplot's backend twice per event, about 0.2-0.4 ms of CPU each time)
matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from pipeline.mos import stats  # noqa: E402
from pipeline.mos.storage import read_ratings, write_frame  # noqa: E402
from pipeline.mos.strings import counted  # noqa: E402

log = logging.getLogger(__name__)


@dataclass
class Report:
    """Everything computed for one ratings file (frames) and where it was written (files)."""

    raw: pd.DataFrame
    screened: pd.DataFrame
    listeners: pd.DataFrame
    summary: pd.DataFrame
    summary_before: pd.DataFrame
    pairwise: pd.DataFrame
    items: pd.DataFrame
    files: dict[str, Path] = field(default_factory=dict)

    def screening_text(self) -> str:
        """What screening did, in one sentence (see :func:`stats.screening_sentence`)."""
        return stats.screening_sentence(self.listeners)

    def empty_reason(self) -> str:
        """Why there is no MOS to chart after screening (``""`` when there is one)."""
        if len(self.summary):
            return ""
        if self.raw.empty:
            return "No ratings yet."
        if self.screened.empty:
            return (
                "No listener passed screening, so there is no MOS to show; "
                "'MOS before screening' below uses all ratings."
            )
        return "The kept listeners rated only check items (gold/trap), no test stimuli yet."

    def markdown(self) -> str:
        n_all = self.raw["listener_id"].nunique()
        reason = self.empty_reason()
        lines = [
            f"**{len(self.raw)} ratings from {counted(n_all, 'listener')}.** "
            f"{self.screening_text()} "
            f"({len(self.screened)} ratings kept.)",
            "",
            *([f"> **No chart:** {reason}", ""] if reason else []),
            "### MOS after screening",
            _table(self.summary),
            "",
            "### MOS before screening",
            _table(self.summary_before),
            "",
            "### Pairwise tests (Holm-corrected)",
            _table(self.pairwise) if len(self.pairwise) else "_fewer than two systems_",
        ]
        return "\n".join(lines)


def _table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "_no data_"
    shown = frame.copy()
    for name in shown.columns:
        if shown[name].dtype.kind == "f":
            shown[name] = shown[name].map(lambda v: f"{v:.3g}" if pd.notna(v) else "")
    header = "| " + " | ".join(map(str, shown.columns)) + " |"
    rule = "|" + "---|" * len(shown.columns)
    body = ["| " + " | ".join(map(str, row)) + " |" for row in shown.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def analyse(frame: pd.DataFrame, rules: stats.ScreeningRules | None = None) -> Report:
    """Compute every table from a ratings frame (see :func:`read_ratings`).

    When no listener passes screening, ``screened`` and ``summary`` are empty (no MOS is
    reported from ratings that failed the checks); ``summary_before`` keeps all ratings."""
    listeners = stats.screen_listeners(frame, rules or stats.ScreeningRules())
    screened = stats.apply_screening(frame, listeners) if len(listeners) else frame
    return Report(
        raw=frame,
        screened=screened,
        listeners=listeners,
        summary=stats.summarize(screened),
        summary_before=stats.summarize(frame),
        pairwise=stats.pairwise(screened),
        items=stats.per_item(screened),
    )


def mos_figure(
    summary: pd.DataFrame, *, title: str = "MOS with 95% CI", empty_text: str = "No ratings."
):
    """Bar chart of ``mos`` per system with asymmetric CI error bars; returns the Figure.

    With an empty ``summary`` the figure shows ``empty_text`` instead of empty axes."""
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(summary) + 2), 3.6), dpi=110)
    if summary.empty:
        ax.axis("off")
        ax.text(0.5, 0.5, empty_text, ha="center", va="center", wrap=True, fontsize=10)
    else:
        mos = summary["mos"].to_numpy()
        low = (mos - summary["ci95_low"].fillna(summary["mos"])).to_numpy()
        high = (summary["ci95_high"].fillna(summary["mos"]) - mos).to_numpy()
        ax.bar(summary["system"].astype(str), mos, color="#4C72B0")
        ax.errorbar(
            summary["system"].astype(str),
            mos,
            yerr=[low, high],
            fmt="none",
            ecolor="black",
            capsize=4,
        )
        for x, (m, n) in enumerate(zip(mos, summary["n_ratings"], strict=True)):
            ax.text(
                x,
                0.02,
                f"{m:.2f}\nn={n}",
                ha="center",
                va="bottom",
                color="white",
                fontsize=8,
                transform=ax.get_xaxis_transform(),
            )
    ax.set_ylabel("score")
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    return fig


def write_report_files(
    report: Any, out: Path, tables: dict[str, str], plot: tuple[str, str, Figure]
) -> dict[str, Path]:
    """Write a report's files into ``out`` (created): ``tables`` (attribute → CSV name),
    ``plot`` (key, PNG name, figure; closed here) and ``report.md`` from ``report.markdown()``.
    Sets ``report.files`` (key → path, tables first, ``markdown`` last) and returns it."""
    out.mkdir(parents=True, exist_ok=True)
    files = {name: write_frame(getattr(report, name), out / csv) for name, csv in tables.items()}
    key, png, fig = plot
    files[key] = out / png
    fig.savefig(files[key])
    plt.close(fig)
    files["markdown"] = out / "report.md"
    files["markdown"].write_text(report.markdown() + "\n", encoding="utf-8")
    report.files = files
    return files


#: report attribute → CSV file name
MOS_TABLES = {
    "summary": "summary.csv",
    "summary_before": "summary_before_screening.csv",
    "listeners": "listeners.csv",
    "pairwise": "pairwise.csv",
    "items": "items.csv",
    "raw": "ratings_raw.csv",
    "screened": "ratings_screened.csv",
}


def write_report(
    csv_path: str | Path,
    out_dir: str | Path,
    rules: stats.ScreeningRules | None = None,
) -> Report:
    """Read ``csv_path``, analyse it and write every output file into ``out_dir``."""
    out = Path(out_dir)
    report = analyse(read_ratings(csv_path), rules or stats.ScreeningRules())
    fig = mos_figure(report.summary, empty_text=report.empty_reason())
    write_report_files(report, out, MOS_TABLES, ("chart", "mos.png", fig))
    log.info("wrote report for %d ratings to %s", len(report.raw), out)
    return report
