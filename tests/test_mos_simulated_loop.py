"""The loop without people: simulated listeners annotate a corpus through the page's session
objects and the store, labels are aggregated, and a tiny emotion training reads them."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import make_emotion_corpus, tiny_emotion_run

from pipeline.emotion.data import read_label_table
from pipeline.emotion.human_labels import NO_HUMAN_TEST, human_label_provenance
from pipeline.mos.emotion_builder import (
    EmotionTestOptions,
    build_annotation_test,
    needed_listeners,
    read_labelled_clips,
)
from pipeline.mos.labels import write_labels
from pipeline.mos.simulate import (
    Crowd,
    answers_for_half_width,
    confusion_matrix,
    listener_flow,
    run_crowd,
    wilson_half_width,
)
from pipeline.mos.storage import read_ratings
from pipeline.train.cli import main as train_main


def test_confusion_rows_are_distributions_and_planning_numbers():
    matrix = confusion_matrix(0.7)
    for truth, row in matrix.items():
        assert sum(row.values()) == pytest.approx(1.0) and row[truth] == 0.7
    assert matrix["happy"]["surprise"] > matrix["happy"]["sad"]  # a confusable pair
    # p = 0.5: the normal approximation needs 1.96² · 0.25 / 0.05² = 384.1 answers; Wilson's
    # half-width z·sqrt(0.25/n + z²/4n²) / (1 + z²/n) is 0.049955 at n = 381, 0.050013 at 380
    assert answers_for_half_width(0.5) == 381
    assert wilson_half_width(0.5, 381) == pytest.approx(0.049955, abs=2e-6)
    n = answers_for_half_width(0.2)
    assert wilson_half_width(0.2, n) <= 0.05 < wilson_half_width(0.2, n - 1)


def annotate(tmp_path: Path, table: Path, spam: float) -> tuple[Path, dict, list]:
    clips = read_labelled_clips(table, data_root=tmp_path)
    gold = clips[:2]
    options = EmotionTestOptions(
        test_id="ann",
        question="annotate",
        items_per_session=8,
        votes_per_stimulus=3,
        gold_per_session=2,
    )
    build_annotation_test(tmp_path / "ratings", clips, options, gold=gold)
    flow = listener_flow(tmp_path / "ratings" / "ann")
    crowd = Crowd(confusion_matrix(0.9), spam_share=spam, skill_sd=0.0, seed=3)
    n = needed_listeners(len(clips), 3, 8)
    kinds = run_crowd(flow, crowd, n + 2)
    return flow.test.store.path, kinds, clips


def test_simulated_annotation_labels_feed_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    table = make_emotion_corpus(tmp_path)  # 24 clips, 3 speakers x 4 emotions x 2
    csv_path, kinds, clips = annotate(tmp_path, table, spam=0.0)
    frame = read_ratings(csv_path)
    per_clip = frame[~frame["is_gold"]].groupby("stimulus_id").size()
    assert len(per_clip) == len(clips) and per_clip.min() >= 3  # k = 3 reached for every clip
    assert set(frame["question"]) == {"annotate"} and (frame["label"] != "").all()
    labels_csv = tmp_path / "labels.csv"
    result = write_labels(csv_path, labels_csv)
    truth = {c.item_id: c.label for c in clips}
    errors = (result.table["label"] != result.table["item_id"].map(truth)).mean()
    assert errors <= 0.1  # 90 %-accurate listeners, k = 3, Dawid-Skene
    provenance = human_label_provenance(labels_csv)
    assert provenance.startswith(f"labels: human, test ann, {len(kinds)} listeners, α = 0.")
    assert human_label_provenance(None) == NO_HUMAN_TEST

    # a label table with one clip relabelled and one below the confidence floor
    # (two training-split clips: speakers a and b train, c validates)
    edited = pd.read_csv(labels_csv).sort_values("item_id", ignore_index=True)
    assert edited.loc[0, "item_id"].startswith("speech/a/")
    edited.loc[0, "label"], edited.loc[0, "confidence"] = "surprise", 0.99
    edited.loc[1, "confidence"] = 0.1
    edited.to_csv(labels_csv, index=False)
    used = read_label_table(table, root=tmp_path, human_labels=labels_csv, min_confidence=0.5)
    by_path = {Path(c.path).relative_to(tmp_path).as_posix(): c.emotion for c in used}
    assert by_path[edited.loc[0, "item_id"]] == "surprise"
    assert edited.loc[1, "item_id"] not in by_path
    kept = (edited["confidence"] >= 0.5) & edited["label"].isin(
        ["neutral", "happy", "angry", "sad", "surprise"]
    )
    assert len(used) == int(kept.sum()) >= len(edited) - 3

    monkeypatch.setenv("STUDIO_DATA", str(tmp_path))
    args, out = tiny_emotion_run(tmp_path, table, steps=2, data={"min_confidence": 0.5})
    assert train_main([*args, "--labels", str(labels_csv)]) == 0
    extra = torch.load(out / "last.pt", weights_only=True)["extra"]
    assert extra["label_provenance"] == provenance
    assert extra["clip_counts"]["train"]["surprise"] >= 1  # the listeners' label was used
    assert sum(sum(c.values()) for c in extra["clip_counts"].values()) == len(used)


def test_spammers_fail_gold(tmp_path: Path):
    table = make_emotion_corpus(tmp_path, clips_per_cell=1)
    csv_path, kinds, _ = annotate(tmp_path, table, spam=0.5)
    result = write_labels(csv_path, tmp_path / "labels.csv", min_gold_accuracy=1.0)
    dropped = set(result.meta["screened_out"])
    spammers = {lid for lid, (spam, _) in kinds.items() if spam}
    frame = read_ratings(csv_path)
    gold = frame[frame["is_gold"]]
    missed = set(gold.loc[gold["label"] != gold["truth"], "listener_id"])
    assert dropped == missed  # gold >= 1.0: one wrong gold answer drops the listener
    honest = set(kinds) - spammers
    assert len(dropped & spammers) / len(spammers) > len(dropped & honest) / len(honest)
    with csv_path.open() as handle:
        assert sum(1 for _ in csv.reader(handle)) == len(read_ratings(csv_path)) + 1
