"""Aggregate crowd emotion answers into a label table (one row per stimulus).

``python -m pipeline.mos labels RATINGS_CSV --out labels.csv`` writes

* ``labels.csv`` — ``stimulus_id, label, confidence, n_raters, majority_label, agreement,
  item_id, system, truth``: ``label`` / ``confidence`` are the Dawid–Skene estimate and its
  posterior probability (crowd-kit's EM; by default the one-coin model, one skill per
  listener, which the simulated crowds of ``docs/ANNOTATION.md`` showed to be more accurate
  than a full confusion matrix per listener when each listener answers ~20 clips), beside
  the plain majority vote (ties go to the label listed first in
  :data:`~pipeline.mos.definition.EMOTION_LABELS`) and ``agreement`` = the share of the
  stimulus's raters who chose the majority label. ``truth`` is the stimulus's hidden label
  (intended emotion or rule-derived corpus label) for comparison, never used here.
* ``labels.json`` — where they came from: test ids, listeners (all / kept after gold
  screening), Krippendorff's α (nominal) and Fleiss' κ, the method.

Input rows are the categorical answers (``question`` ``emotion-id`` or ``annotate`` with a
``label``) of :func:`pipeline.mos.storage.read_ratings`. Listeners whose accuracy on gold
clips is below ``min_gold_accuracy`` are dropped before aggregation.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
from crowdkit.aggregation import DawidSkene, OneCoinDawidSkene
from statsmodels.stats.inter_rater import fleiss_kappa

from pipeline.emotion.human_labels import label_provenance
from pipeline.mos.definition import EMOTION_LABELS, QUESTIONS
from pipeline.mos.storage import RatingError, read_ratings, write_frame

log = logging.getLogger(__name__)

CATEGORICAL = tuple(k for k, q in QUESTIONS.items() if q.categorical)
LABEL_TABLE_COLUMNS = (
    "stimulus_id",
    "label",
    "confidence",
    "n_raters",
    "majority_label",
    "agreement",
    "item_id",
    "system",
    "truth",
)


def categorical_answers(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``frame`` that are emotion answers (categorical question with a label)."""
    keep = frame["question"].isin(CATEGORICAL) & (frame["label"].astype(str) != "")
    return frame[keep].reset_index(drop=True)


def label_order(labels) -> list[str]:
    """Known emotion labels first (in :data:`EMOTION_LABELS` order), then others sorted."""
    present = set(labels)
    return [x for x in EMOTION_LABELS if x in present] + sorted(present - set(EMOTION_LABELS))


def screen_on_gold(answers: pd.DataFrame, min_accuracy: float = 0.5) -> pd.DataFrame:
    """Per listener: ``gold_n, gold_correct, gold_accuracy, passed`` (no gold answered: passes)."""
    rows = []
    for listener, group in answers.groupby("listener_id", sort=True):
        gold = group[group["is_gold"]]
        correct = int((gold["label"] == gold["truth"]).sum())
        accuracy = correct / len(gold) if len(gold) else math.nan
        rows.append(
            {
                "listener_id": listener,
                "n_answers": len(group),
                "gold_n": len(gold),
                "gold_correct": correct,
                "gold_accuracy": accuracy,
                "passed": not len(gold) or accuracy >= min_accuracy,
            }
        )
    columns = ["listener_id", "n_answers", "gold_n", "gold_correct", "gold_accuracy", "passed"]
    return pd.DataFrame(rows, columns=columns)


def majority_vote(answers: pd.DataFrame) -> pd.DataFrame:
    """Per stimulus: ``majority_label``, ``agreement`` (its share of votes), ``n_raters``."""
    order = label_order(answers["label"])
    rank = {label: n for n, label in enumerate(order)}
    rows = []
    for stimulus, group in answers.groupby("stimulus_id", sort=True):
        counts = group["label"].value_counts()
        top = counts.max()
        winner = min((lab for lab, c in counts.items() if c == top), key=rank.__getitem__)
        rows.append(
            {
                "stimulus_id": stimulus,
                "majority_label": winner,
                "agreement": top / len(group),
                "n_raters": len(group),
            }
        )
    return pd.DataFrame(rows, columns=["stimulus_id", "majority_label", "agreement", "n_raters"])


#: aggregation methods: one skill per listener (robust with few answers per listener) or a
#: full confusion matrix per listener (needs many answers per listener; gold clamped)
METHODS = ("one-coin", "ds")


def dawid_skene(
    answers: pd.DataFrame, *, n_iter: int = 100, method: str = "one-coin", use_gold: bool = True
) -> pd.DataFrame:
    """Posterior label probabilities per stimulus (rows) and label (columns), crowd-kit's EM.

    ``method`` ``"one-coin"``: one-coin Dawid–Skene (each listener has one skill, errors
    spread evenly); ``"ds"``: the full Dawid–Skene model (a confusion matrix per listener),
    with gold stimuli (``is_gold`` with a ``truth``) clamped to their known label.
    """
    if method not in METHODS:
        raise ValueError(
            f"unknown aggregation method {method!r} (choose from {', '.join(METHODS)})"
        )
    data = answers.rename(columns={"stimulus_id": "task", "listener_id": "worker"})[
        ["task", "worker", "label"]
    ]
    gold = None
    if use_gold and method == "ds":
        known = answers[answers["is_gold"] & (answers["truth"].astype(str) != "")]
        if len(known):
            gold = known.groupby("stimulus_id")["truth"].first()
            gold = gold[gold.isin(set(answers["label"]))]  # a label nobody chose cannot clamp
            gold = gold if len(gold) else None
    with warnings.catch_warnings():  # crowd-kit 1.4 uses pandas' deprecated inplace/copy args
        warnings.filterwarnings("ignore", message=r".*(inplace|copy) keyword")
        if method == "ds":
            probas = DawidSkene(n_iter=n_iter).fit_predict_proba(data, true_labels=gold)
        else:
            probas = OneCoinDawidSkene(n_iter=n_iter).fit_predict_proba(data)
    probas = probas.reindex(columns=label_order(probas.columns)).fillna(0.0)
    probas.columns.name = None
    probas.index.name = "stimulus_id"
    return probas


def agreement(answers: pd.DataFrame) -> dict[str, float]:
    """Inter-rater agreement of categorical answers.

    ``alpha``: Krippendorff's α (nominal; units = stimuli, any number of raters each);
    ``fleiss_kappa``: Fleiss' κ over the stimuli, only when every stimulus has the same
    number of raters and more than one label occurs (else NaN); ``units``: stimuli with at
    least two raters.
    """
    order = label_order(answers["label"])
    code = {label: n for n, label in enumerate(order)}
    wide = answers.pivot_table(
        index="listener_id", columns="stimulus_id", values="label", aggfunc="first"
    )
    counts = wide.notna().sum(axis=0)
    wide = wide.loc[:, counts >= 2]
    alpha = math.nan
    if wide.shape[1] and len(order) > 1:
        data = wide.map(lambda v: code[v] if isinstance(v, str) else np.nan).to_numpy(float)
        alpha = float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    kappa = math.nan
    used = answers[answers["stimulus_id"].isin(wide.columns)]
    table = pd.crosstab(used["stimulus_id"], used["label"]).reindex(columns=order, fill_value=0)
    if len(table) and table.sum(axis=1).nunique() == 1 and len(order) > 1:
        kappa = float(fleiss_kappa(table.to_numpy(), method="fleiss"))
    return {"alpha": alpha, "fleiss_kappa": kappa, "units": int(wide.shape[1])}


@dataclass
class LabelTable:
    """Aggregated labels (:data:`LABEL_TABLE_COLUMNS`), listener screening and provenance."""

    table: pd.DataFrame
    listeners: pd.DataFrame
    meta: dict = field(default_factory=dict)

    def provenance(self) -> str:
        """One line for a model card: ``labels: human, test X, N listeners, α = …``."""
        return label_provenance(self.meta)


def aggregate_labels(
    frame: pd.DataFrame,
    *,
    n_iter: int = 100,
    method: str = "one-coin",
    min_gold_accuracy: float = 0.5,
    use_gold: bool = True,
) -> LabelTable:
    """Screen listeners on gold, then Dawid–Skene + majority vote per regular stimulus."""
    answers = categorical_answers(frame)
    if answers.empty:
        raise RatingError("no emotion answers (emotion-id / annotate rows with a label) found")
    listeners = screen_on_gold(answers, min_gold_accuracy)
    kept = set(listeners.loc[listeners["passed"], "listener_id"])
    if not kept:
        raise RatingError("every listener failed the gold screening")
    answers = answers[answers["listener_id"].isin(kept)]
    probas = dawid_skene(answers, n_iter=n_iter, method=method, use_gold=use_gold)
    regular = answers[~answers["is_gold"]]
    votes = majority_vote(regular)
    info = regular.groupby("stimulus_id")[["item_id", "system", "truth"]].first()
    best = probas.loc[votes["stimulus_id"]]
    table = votes.assign(
        label=best.idxmax(axis=1).to_numpy(),
        confidence=best.max(axis=1).to_numpy(),
    ).join(info, on="stimulus_id")
    stats = agreement(regular)
    meta = {
        "test_ids": sorted(set(answers["test_id"].astype(str)) - {""}),
        "n_listeners": int(len(listeners)),
        "n_listeners_kept": len(kept),
        "screened_out": sorted(set(listeners["listener_id"]) - kept),
        "n_stimuli": int(len(table)),
        "n_answers": int(len(regular)),
        "alpha": stats["alpha"],
        "fleiss_kappa": stats["fleiss_kappa"],
        "method": f"{'one-coin ' if method == 'one-coin' else ''}Dawid-Skene "
        f"(crowd-kit {version('crowd-kit')}, {n_iter} EM iterations max)",
        "min_gold_accuracy": min_gold_accuracy,
    }
    return LabelTable(table[list(LABEL_TABLE_COLUMNS)].reset_index(drop=True), listeners, meta)


def write_labels(ratings_csv: str | Path, out: str | Path, **options) -> LabelTable:
    """Aggregate ``ratings_csv`` and write ``out`` (CSV) plus its ``.json`` provenance."""
    result = aggregate_labels(read_ratings(ratings_csv), **options)
    out = Path(out)
    write_frame(result.table, out)
    meta = {
        k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in result.meta.items()
    }
    meta["ratings_csv"] = str(ratings_csv)
    meta_path = out.with_suffix(".json")
    tmp = meta_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(meta_path)
    log.info("wrote %d labels to %s", len(result.table), out)
    return result


def read_label_meta(labels_csv: str | Path) -> dict:
    """The provenance written beside a label table (empty when there is none)."""
    path = Path(labels_csv).with_suffix(".json")
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))
