"""Statistics of listening-test ratings: MOS with t-intervals, P.808-style listener
screening, pairwise significance with Holm correction, per-item tables.

Input frames come from :func:`pipeline.mos.storage.read_ratings` (one row per rating with
at least ``listener_id``, ``stimulus_id``, ``system``, ``item_id``, ``score``,
``play_count``, ``is_gold``, ``is_trap``, ``expected``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from pipeline.mos.strings import counted

SUMMARY_COLUMNS = (
    "system",
    "n_listeners",
    "n_ratings",
    "mos",
    "std",
    "ci95_low",
    "ci95_high",
    "median",
)


@dataclass(frozen=True)
class ScreeningRules:
    """P.808-style listener screening thresholds.

    Attributes:
        gold_tolerance: a gold rating passes when ``|score - expected| <= gold_tolerance``.
        min_variance: population variance (ddof=0) of a listener's regular ratings must be
            at least this (a listener who always gives the same answer is dropped); only
            checked when the listener has two or more regular ratings.
        require_played: every rated clip must have ``play_count >= 1``.
    """

    gold_tolerance: float = 1.0
    min_variance: float = 0.1
    require_played: bool = True


def regular(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows that are neither gold nor trap items."""
    return frame[~frame["is_gold"] & ~frame["is_trap"]]


def mean_ci(scores: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float, float]:
    """(mean, sample std (ddof=1), ci_low, ci_high) with a Student-t interval.

    With one score the std and interval are NaN.
    """
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    mean = float(np.mean(scores)) if n else math.nan
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    std = float(np.std(scores, ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return mean, std, mean - half, mean + half


def summarize(frame: pd.DataFrame, by: str = "system") -> pd.DataFrame:
    """Per ``by`` group: n_listeners, n_ratings, mos, std, ci95_low, ci95_high, median.

    Gold and trap rows are excluded. Sorted by MOS, best first.
    """
    rows = []
    for name, group in regular(frame).groupby(by, sort=True):
        scores = group["score"].to_numpy(dtype=float)
        mean, std, low, high = mean_ci(scores)
        rows.append(
            {
                by: name,
                "n_listeners": int(group["listener_id"].nunique()),
                "n_ratings": len(scores),
                "mos": mean,
                "std": std,
                "ci95_low": low,
                "ci95_high": high,
                "median": float(np.median(scores)),
            }
        )
    columns = [by, *SUMMARY_COLUMNS[1:]]
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values("mos", ascending=False, kind="stable").reset_index(drop=True)


def screen_listeners(frame: pd.DataFrame, rules: ScreeningRules | None = None) -> pd.DataFrame:
    """One row per listener with each check's outcome and ``passed``.

    Columns: listener_id, n_ratings, gold_n, gold_ok, trap_n, trap_ok, all_played,
    variance, variance_ok, passed, reasons. A check with nothing to check passes.
    """
    rules = rules or ScreeningRules()
    rows = []
    for listener, group in frame.groupby("listener_id", sort=True):
        gold = group[group["is_gold"]]
        trap = group[group["is_trap"]]
        reg = regular(group)["score"].to_numpy(dtype=float)
        gold_ok = bool(np.all(np.abs(gold["score"] - gold["expected"]) <= rules.gold_tolerance))
        trap_ok = bool(np.all(trap["score"] == trap["expected"]))
        counts = group["play_count"]
        known = rules.require_played and counts.notna().any()  # other tools may not log plays
        all_played = bool((counts.fillna(0) >= 1).all()) if known else True
        variance = float(np.var(reg)) if len(reg) else math.nan
        variance_ok = len(reg) < 2 or variance >= rules.min_variance
        reasons = [
            label
            for label, ok in (
                ("gold", gold_ok),
                ("trap", trap_ok),
                ("not all clips played", all_played),
                ("low variance", variance_ok),
            )
            if not ok
        ]
        rows.append(
            {
                "listener_id": listener,
                "n_ratings": len(group),
                "gold_n": len(gold),
                "gold_ok": gold_ok,
                "trap_n": len(trap),
                "trap_ok": trap_ok,
                "all_played": all_played,
                "variance": variance,
                "variance_ok": variance_ok,
                "passed": not reasons,
                "reasons": "; ".join(reasons),
            }
        )
    return pd.DataFrame(rows)


#: screening reason (as in ``reasons``) → what the listener did, for summaries
REASON_TEXT = {
    "gold": "missed the gold items",
    "trap": "failed the trap",
    "not all clips played": "rated a clip without playing it",
    "low variance": "gave (almost) the same score to everything",
}


def screening_sentence(listeners: pd.DataFrame) -> str:
    """One sentence on what screening did, e.g. ``"Screening kept 4 of 6 listeners: 2 failed
    the trap."`` (a listener failing several checks is counted under each)."""
    if listeners.empty:
        return "No listeners yet."
    total = len(listeners)
    kept = int(listeners["passed"].sum())
    counts: dict[str, int] = {}
    for reasons in listeners.loc[~listeners["passed"], "reasons"]:
        for reason in filter(None, (r.strip() for r in str(reasons).split(";"))):
            counts[reason] = counts.get(reason, 0) + 1
    sentence = f"Screening kept {kept} of {counted(total, 'listener')}"
    if not counts:
        return sentence + ": all passed."
    parts = [f"{n} {REASON_TEXT.get(reason, reason)}" for reason, n in counts.items()]
    return sentence + ": " + ", ".join(parts) + "."


def apply_screening(frame: pd.DataFrame, listeners: pd.DataFrame) -> pd.DataFrame:
    """Ratings of listeners who passed screening."""
    kept = set(listeners.loc[listeners["passed"], "listener_id"])
    return frame[frame["listener_id"].isin(kept)].reset_index(drop=True)


def holm(pvalues: list[float] | np.ndarray) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (step-down, monotone, capped at 1)."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        adjusted[idx] = running
    return adjusted


def pairwise(frame: pd.DataFrame, *, alpha: float = 0.05, min_pairs: int = 5) -> pd.DataFrame:
    """Significance of the score difference for every pair of systems.

    When at least ``min_pairs`` (listener, item) pairs rated both systems, and those pairs
    cover at least half of each system's ratings, the Wilcoxon signed-rank test on the
    paired differences is used; otherwise the two-sided Mann-Whitney U test on all ratings.
    p-values are Holm-corrected over all pairs.
    """
    data = regular(frame)
    systems = sorted(data["system"].unique())
    rows = []
    for a, b in itertools.combinations(systems, 2):
        sa = data[data["system"] == a]
        sb = data[data["system"] == b]
        keys = ["listener_id", "item_id"]
        paired = (
            sa.groupby(keys)["score"]
            .mean()
            .to_frame("a")
            .join(sb.groupby(keys)["score"].mean().to_frame("b"), how="inner")
        )
        n_pairs = len(paired)
        use_paired = n_pairs >= min_pairs and n_pairs >= 0.5 * max(len(sa), len(sb))
        if use_paired:
            diff = (paired["a"] - paired["b"]).to_numpy()
            if np.all(diff == 0):
                test, statistic, p = "wilcoxon", 0.0, 1.0
            else:
                res = stats.wilcoxon(paired["a"], paired["b"])
                test, statistic, p = "wilcoxon", float(res.statistic), float(res.pvalue)
        else:
            res = stats.mannwhitneyu(sa["score"], sb["score"], alternative="two-sided")
            test, statistic, p = "mannwhitneyu", float(res.statistic), float(res.pvalue)
        rows.append(
            {
                "system_a": a,
                "system_b": b,
                "mos_a": float(sa["score"].mean()),
                "mos_b": float(sb["score"].mean()),
                "test": test,
                "n_a": len(sa),
                "n_b": len(sb),
                "n_pairs": n_pairs,
                "statistic": statistic,
                "p": p,
            }
        )
    out = pd.DataFrame(
        rows,
        columns=[
            "system_a",
            "system_b",
            "mos_a",
            "mos_b",
            "test",
            "n_a",
            "n_b",
            "n_pairs",
            "statistic",
            "p",
        ],
    )
    out["p_holm"] = holm(out["p"].to_numpy()) if len(out) else []
    out["significant"] = out["p_holm"] < alpha
    return out


def per_item(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean score per item (rows) and system (columns), regular ratings only."""
    data = regular(frame)
    if data.empty:
        return pd.DataFrame()
    table = data.pivot_table(index="item_id", columns="system", values="score", aggfunc="mean")
    table.columns.name = None
    return table.reset_index()
