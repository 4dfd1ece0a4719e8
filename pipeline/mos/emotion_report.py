"""Results of the emotion tests (``emotion-id``, ``annotate``, ``emotion-sim``) from a ratings CSV.

* identification rate per system × target emotion: the share of answers naming the
  stimulus's hidden ``truth``, with a 95 % Wilson interval, the chance level
  (1 / number of answer options) and a one-sided exact binomial p-value against chance;
* confusion matrices (truth × perceived label) per system, as a table and a plot;
* intensity ratings (``score``) by the requested intensity (``condition`` ``emotion@x``),
  with a Student-t interval and Spearman's ρ per system — does the slider do what it says?
* emotion-similarity MOS per system (and per target emotion) with t-intervals and paired
  Wilcoxon tests (:mod:`pipeline.mos.stats`);
* inter-rater agreement (Krippendorff's α, Fleiss' κ) and listener screening on gold.

Gold clips are screening only; rates use regular stimuli (converted and natural controls)
of listeners who passed. Intervals treat answers as independent (listeners and items are
not modelled as random effects), so they are a little narrow when listeners differ a lot.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

# "agg" as Gradio names it: its per-event backend switch is then a no-op (with "Agg" it
# switched pyplot's backend twice per event, about 0.2-0.4 ms of CPU each time)
matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats as sstats  # noqa: E402
from statsmodels.stats.proportion import proportion_confint  # noqa: E402

from pipeline.mos import stats  # noqa: E402
from pipeline.mos.definition import EMOTION_LABELS  # noqa: E402
from pipeline.mos.labels import (  # noqa: E402
    agreement,
    categorical_answers,
    label_order,
    screen_on_gold,
)
from pipeline.mos.report import _table, write_report_files  # noqa: E402
from pipeline.mos.storage import read_ratings  # noqa: E402
from pipeline.mos.strings import counted  # noqa: E402

log = logging.getLogger(__name__)

RATE_COLUMNS = (
    "system",
    "target",
    "n",
    "correct",
    "rate",
    "ci95_low",
    "ci95_high",
    "chance",
    "p_vs_chance",
)


def wilson(correct: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval of ``correct / n`` (NaN for n = 0)."""
    if n == 0:
        return float("nan"), float("nan")
    low, high = proportion_confint(correct, n, alpha=alpha, method="wilson")
    return float(low), float(high)


def identification_rates(
    answers: pd.DataFrame, n_choices: int = len(EMOTION_LABELS)
) -> pd.DataFrame:
    """Per system × target emotion (stimuli with a ``truth``): :data:`RATE_COLUMNS`."""
    data = answers[~answers["is_gold"] & (answers["truth"].astype(str) != "")]
    chance = 1.0 / n_choices
    rows = []
    for (system, target), group in data.groupby(["system", "truth"], sort=True):
        n = len(group)
        correct = int((group["label"] == target).sum())
        low, high = wilson(correct, n)
        p = sstats.binomtest(correct, n, chance, alternative="greater").pvalue
        rows.append(
            {
                "system": system,
                "target": target,
                "n": n,
                "correct": correct,
                "rate": correct / n,
                "ci95_low": low,
                "ci95_high": high,
                "chance": chance,
                "p_vs_chance": float(p),
            }
        )
    return pd.DataFrame(rows, columns=list(RATE_COLUMNS))


def confusion(answers: pd.DataFrame) -> pd.DataFrame:
    """Counts per system, truth (rows) and perceived label (columns); long format."""
    data = answers[~answers["is_gold"] & (answers["truth"].astype(str) != "")]
    table = data.groupby(["system", "truth", "label"]).size().rename("count").reset_index()
    return table


def confusion_figure(answers: pd.DataFrame, *, title: str = "Perceived vs intended emotion"):
    """One row-normalised confusion matrix per system (share of answers); returns the Figure."""
    table = confusion(answers)
    systems = sorted(table["system"].unique()) or ["(no data)"]
    labels = label_order(set(answers["label"]) | set(EMOTION_LABELS))
    fig, axes = plt.subplots(
        1, len(systems), figsize=(3.6 * len(systems) + 0.6, 3.8), dpi=110, squeeze=False
    )
    for ax, system in zip(axes[0], systems, strict=True):
        part = table[table["system"] == system]
        if part.empty:
            ax.text(0.5, 0.5, "no emotion answers", ha="center", va="center")
            ax.set_axis_off()
            continue
        truths = label_order(part["truth"])
        grid = part.pivot_table(index="truth", columns="label", values="count", aggfunc="sum")
        grid = grid.reindex(index=truths, columns=labels).fillna(0.0)
        shares = grid.div(grid.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
        ax.imshow(shares.to_numpy(), vmin=0, vmax=1, cmap="Blues", aspect="auto")
        for (i, j), value in np.ndenumerate(shares.to_numpy()):
            n = int(grid.to_numpy()[i, j])
            if n:
                color = "white" if value > 0.6 else "black"
                ax.text(
                    j, i, f"{value:.2f}\n({n})", ha="center", va="center", fontsize=7, color=color
                )
        ax.set_xticks(range(len(labels)), labels, rotation=40, fontsize=8)
        ax.set_yticks(range(len(truths)), truths, fontsize=8)
        ax.set_xlabel("perceived")
        ax.set_title(str(system), fontsize=9)
    axes[0][0].set_ylabel("intended / known")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def requested_intensity(condition: str) -> float:
    """``"angry@0.8"`` → 0.8; NaN when the condition names no intensity."""
    _, sep, value = str(condition).partition("@")
    try:
        return float(value) if sep else float("nan")
    except ValueError:
        return float("nan")


def intensity_by_request(answers: pd.DataFrame) -> pd.DataFrame:
    """Rated intensity (1..5) per system, target and requested intensity, and Spearman's ρ."""
    data = answers[~answers["is_gold"] & answers["score"].notna()].copy()
    data["requested"] = data["condition"].map(requested_intensity)
    data = data[data["requested"].notna()]
    rows = []
    for (system, target, requested), group in data.groupby(["system", "truth", "requested"]):
        mean, std, low, high = stats.mean_ci(group["score"].to_numpy(float))
        rows.append(
            {
                "system": system,
                "target": target,
                "requested": requested,
                "n": len(group),
                "mean_rated": mean,
                "ci95_low": low,
                "ci95_high": high,
            }
        )
    out = pd.DataFrame(
        rows, columns=["system", "target", "requested", "n", "mean_rated", "ci95_low", "ci95_high"]
    )
    rho = {}
    for system, group in data.groupby("system"):
        if group["requested"].nunique() > 1 and group["score"].nunique() > 1:
            rho[system] = float(sstats.spearmanr(group["requested"], group["score"]).statistic)
    out["spearman_rho_system"] = out["system"].map(rho)
    return out


def agreement_line(agreement: dict) -> str:
    """One line on inter-rater agreement (:func:`pipeline.mos.labels.agreement`), saying
    why a coefficient is missing instead of printing "nan"."""
    units = int(agreement.get("units", 0))
    if units == 0:
        return (
            "Agreement: not computed yet — it needs clips answered by at least two "
            "listeners (none so far)."
        )
    alpha, kappa = agreement.get("alpha", math.nan), agreement.get("fleiss_kappa", math.nan)
    parts = [
        f"Krippendorff's α = {alpha:.3f} (nominal)"
        if math.isfinite(alpha)
        else "Krippendorff's α not defined (the answers use a single label)",
        f"Fleiss' κ = {kappa:.3f}"
        if math.isfinite(kappa)
        else "Fleiss' κ not computed (it needs the same number of listeners on every clip "
        "and more than one label)",
    ]
    return f"Agreement over {units} clips with two or more listeners: " + "; ".join(parts) + "."


@dataclass
class EmotionReport:
    """Every table of an emotion test and where it was written."""

    raw: pd.DataFrame
    answers: pd.DataFrame  # categorical answers of listeners who passed gold screening
    listeners: pd.DataFrame
    rates: pd.DataFrame
    confusion: pd.DataFrame
    intensity: pd.DataFrame
    similarity: pd.DataFrame
    similarity_by_target: pd.DataFrame
    similarity_pairwise: pd.DataFrame
    agreement: dict
    files: dict[str, Path] = field(default_factory=dict)

    def markdown(self) -> str:
        n = self.listeners["listener_id"].nunique() if len(self.listeners) else 0
        kept = int(self.listeners["passed"].sum()) if len(self.listeners) else 0
        a = self.agreement
        n_from = self.raw["listener_id"].nunique()
        lines = [
            f"**{counted(len(self.raw), 'answer')} from {counted(n_from, 'listener')}**; "
            f"gold screening kept {kept} of {n} emotion-answer listeners.",
        ]
        if len(self.answers):
            lines += [
                "",
                agreement_line(a),
                "",
                "### Identification rate (95 % Wilson CI; chance = 1 / answer options)",
                _table(self.rates),
            ]
        if len(self.intensity):
            lines += ["", "### Rated intensity by requested intensity", _table(self.intensity)]
        if len(self.similarity):
            lines += [
                "",
                "### Emotion-similarity MOS",
                _table(self.similarity),
                "",
                _table(self.similarity_by_target),
                "",
                "### Paired tests (Holm-corrected)",
                _table(self.similarity_pairwise)
                if len(self.similarity_pairwise)
                else "_fewer than two systems_",
            ]
        if len(self.listeners):
            lines += ["", "### Listener screening on gold", _table(self.listeners)]
        return "\n".join(lines)


def analyse_emotion(frame: pd.DataFrame, *, min_gold_accuracy: float = 0.5) -> EmotionReport:
    """Compute every table of :class:`EmotionReport` from a ratings frame."""
    answers = categorical_answers(frame)
    listeners = screen_on_gold(answers, min_gold_accuracy)
    kept = set(listeners.loc[listeners["passed"], "listener_id"])
    answers = answers[answers["listener_id"].isin(kept)].reset_index(drop=True)
    regular = answers[~answers["is_gold"]]
    similarity = frame[frame["question"] == "emotion-sim"]
    sim_rules = stats.ScreeningRules()
    if len(similarity):
        sim_listeners = stats.screen_listeners(similarity, sim_rules)
        similarity = stats.apply_screening(similarity, sim_listeners)
    return EmotionReport(
        raw=frame,
        answers=answers,
        listeners=listeners,
        rates=identification_rates(answers),
        confusion=confusion(answers),
        intensity=intensity_by_request(answers),
        similarity=stats.summarize(similarity),
        similarity_by_target=stats.summarize(
            similarity.assign(target=similarity["system"] + " → " + similarity["truth"]),
            by="target",
        )
        if len(similarity)
        else pd.DataFrame(),
        similarity_pairwise=stats.pairwise(similarity) if len(similarity) else pd.DataFrame(),
        agreement=agreement(regular) if len(regular) else {},
    )


def is_emotion_frame(frame: pd.DataFrame) -> bool:
    """True when the ratings hold emotion answers or emotion-similarity ratings."""
    return bool(len(categorical_answers(frame))) or bool((frame["question"] == "emotion-sim").any())


def write_emotion_report(
    csv_path: str | Path, out_dir: str | Path, *, min_gold_accuracy: float = 0.5
) -> EmotionReport:
    """Read ``csv_path``, analyse it and write every table, the plot and ``report.md``."""
    out = Path(out_dir)
    report = analyse_emotion(read_ratings(csv_path), min_gold_accuracy=min_gold_accuracy)
    tables = ("rates", "confusion", "intensity", "similarity", "similarity_pairwise", "listeners")
    plot = ("confusion_plot", "confusion.png", confusion_figure(report.answers))
    write_report_files(report, out, {name: f"{name}.csv" for name in tables}, plot)
    log.info("wrote emotion report for %d rows to %s", len(report.raw), out)
    return report


def latest_identification(ratings_root: str | Path) -> dict[str, str]:
    """Emotion system name → a markdown line on its latest ``emotion-id`` test.

    The latest test (by ratings-file modification time) that has answers for the system
    ``emotion/<name>`` wins; the line gives the pooled identification rate with its Wilson
    interval, the rate per target emotion, listeners and chance. Systems without a test are
    absent.
    """
    root = Path(ratings_root)
    files = sorted(root.glob("*/ratings.csv"), key=lambda p: p.stat().st_mtime, reverse=True)
    out: dict[str, str] = {}
    for csv in files:
        frame = read_ratings(csv)
        if not (frame["question"] == "emotion-id").any():
            continue
        report = analyse_emotion(frame)
        answers = report.answers[~report.answers["is_gold"]]
        for system, group in answers.groupby("system"):
            name = str(system).removeprefix("emotion/")
            if not str(system).startswith("emotion/") or name in out:
                continue
            correct = int((group["label"] == group["truth"]).sum())
            low, high = wilson(correct, len(group))
            rates = report.rates[report.rates["system"] == system]
            per_target = ", ".join(f"{r.target} {r.rate:.2f}" for r in rates.itertuples())
            out[name] = (
                f"Human identification test `{csv.parent.name}`: listeners named the intended "
                f"emotion in {correct / len(group):.2f} of {len(group)} answers "
                f"(95 % CI {low:.2f}–{high:.2f}; chance {rates['chance'].iloc[0]:.2f}) from "
                f"{group['listener_id'].nunique()} listeners who passed gold screening; per "
                f"target: {per_target}."
            )
    return out
