"""Label export: Dawid–Skene against crowd-kit's own small example, majority vote, agreement
(hand-computed), gold screening, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline.mos.__main__ import main
from pipeline.mos.labels import (
    aggregate_labels,
    agreement,
    categorical_answers,
    majority_vote,
)
from pipeline.mos.storage import RatingStore, read_ratings

# crowd-kit's step-by-step Dawid–Skene example (tests/aggregation/test_ds_aggregation.py):
# five tasks, five workers, labels no/yes; here no -> sad, yes -> happy
TOY = {
    "t1": {"w1": "no", "w2": "yes", "w4": "yes", "w5": "no"},
    "t2": {"w1": "yes", "w2": "yes", "w3": "yes", "w4": "no", "w5": "no"},
    "t3": {"w1": "yes", "w2": "no", "w3": "no", "w4": "yes", "w5": "no"},
    "t4": {"w1": "yes", "w2": "yes", "w3": "yes", "w4": "yes", "w5": "yes"},
    "t5": {"w1": "yes", "w2": "no", "w3": "no", "w4": "no", "w5": "no"},
}
NAMES = {"no": "sad", "yes": "happy"}
# crowd-kit's expected posterior P(yes) after one EM iteration (its probas_iter_1 fixture)
P_YES_ITER_1 = {"t1": 0.65, "t2": 0.74, "t3": 0.13, "t4": 1.00, "t5": 0.05}


def store_toy(path: Path, *, gold: dict[str, tuple[str, str]] | None = None) -> Path:
    store = RatingStore(path)
    for task, answers in TOY.items():
        for worker, label in answers.items():
            store.append(
                {
                    "test_id": "toy",
                    "listener_id": worker,
                    "stimulus_id": task,
                    "system": "corpus",
                    "item_id": f"clip_{task}",
                    "question": "annotate",
                    "label": NAMES[label],
                    "truth": "happy",
                }
            )
    for listener, (stimulus, label) in (gold or {}).items():
        store.append(
            {
                "test_id": "toy",
                "listener_id": listener,
                "stimulus_id": stimulus,
                "system": "gold",
                "question": "annotate",
                "label": label,
                "truth": "angry",
                "is_gold": True,
            }
        )
    store.append({"listener_id": "m1", "stimulus_id": "x", "system": "a", "score": 4})  # MOS row
    return path


def test_dawid_skene_matches_crowd_kit_example(tmp_path: Path):
    frame = read_ratings(store_toy(tmp_path / "r.csv"))
    assert len(categorical_answers(frame)) == 24  # the MOS row is not an answer
    result = aggregate_labels(frame, n_iter=1, method="ds")
    table = result.table.set_index("stimulus_id")
    for task, p_yes in P_YES_ITER_1.items():
        expected = max(p_yes, 1 - p_yes)
        assert table.loc[task, "confidence"] == pytest.approx(expected, abs=0.005), task
        assert table.loc[task, "label"] == ("happy" if p_yes > 0.5 else "sad")
    assert list(table["n_raters"]) == [4, 5, 5, 5, 5]
    assert list(table["item_id"]) == [f"clip_t{i}" for i in range(1, 6)]


def test_majority_vote_and_agreement_by_hand(tmp_path: Path):
    answers = categorical_answers(read_ratings(store_toy(tmp_path / "r.csv")))
    votes = majority_vote(answers).set_index("stimulus_id")
    # t1 is a 2-2 tie: "happy" is listed before "sad" in EMOTION_LABELS
    assert list(votes["majority_label"]) == ["happy", "happy", "sad", "happy", "sad"]
    assert list(votes["agreement"]) == pytest.approx([2 / 4, 3 / 5, 3 / 5, 5 / 5, 4 / 5])
    # Krippendorff's alpha (nominal) from the coincidence matrix:
    # o(sad,happy) = 4/3 + 6/4 + 6/4 + 0 + 4/4 = 16/3, n_sad = 11, n_happy = 13, n = 24
    # alpha = 1 - (n - 1) o(sad,happy) / (n_sad n_happy) = 1 - 23 (16/3) / 143 = 61/429
    stats = agreement(answers)
    assert stats["alpha"] == pytest.approx(61 / 429, abs=1e-9)
    assert stats["units"] == 5
    assert pd.isna(stats["fleiss_kappa"])  # t1 has 4 raters, the others 5
    # Fleiss' kappa on t2..t5 (5 raters each): P_bar = (0.4 + 0.4 + 1 + 0.6) / 4 = 0.6,
    # p = (9/20, 11/20), P_e = 0.505 -> kappa = 0.095 / 0.495
    five = answers[answers["stimulus_id"] != "t1"]
    assert agreement(five)["fleiss_kappa"] == pytest.approx(0.095 / 0.495, abs=1e-9)


def test_gold_screening_drops_listeners_and_cli_writes_table(tmp_path: Path):
    gold = {"w1": ("g1", "sad"), "w2": ("g1", "angry"), "w3": ("g1", "angry")}
    csv_path = store_toy(tmp_path / "r.csv", gold=gold)
    out = tmp_path / "labels.csv"
    assert main(["labels", str(csv_path), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns[:4]) == ["stimulus_id", "label", "confidence", "n_raters"]
    assert "g1" not in set(table["stimulus_id"])  # gold clips are not labelled
    assert list(table["n_raters"]) == [3, 4, 4, 4, 4]  # w1 missed its gold clip: dropped
    assert table["confidence"].between(0, 1).all()
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["screened_out"] == ["w1"] and meta["n_listeners_kept"] == 4
    assert meta["test_ids"] == ["toy"]
    assert main(["labels", str(tmp_path / "missing.csv"), "--out", str(out)]) == 1


def test_agreement_line_says_why_a_coefficient_is_missing(tmp_path: Path):
    from pipeline.mos.emotion_report import agreement_line

    answers = categorical_answers(read_ratings(store_toy(tmp_path / "r.csv")))
    line = agreement_line(agreement(answers))
    assert "α = 0.142" in line and "κ not computed" in line and "nan" not in line
    one = answers[answers["stimulus_id"] == "t4"]  # five raters, all "happy"
    assert "single label" in agreement_line(agreement(one))
    lonely = answers.drop_duplicates("stimulus_id")  # one rater per clip
    assert "not computed yet" in agreement_line(agreement(lonely))
