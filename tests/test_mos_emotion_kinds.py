"""Emotion test kinds: the label storage contract, old CSVs, answers, and the two builders."""

from __future__ import annotations

import csv
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline.mos.__main__ import main
from pipeline.mos.builder import BuildError
from pipeline.mos.definition import EMOTION_LABELS, QUESTIONS, load_definition
from pipeline.mos.emotion_answers import EmotionAnswer, submit_answer
from pipeline.mos.emotion_builder import (
    EmotionTestOptions,
    LabelledClip,
    build_annotation_test,
    build_conversion_test,
    read_labelled_clips,
)
from pipeline.mos.listening import ListeningTest
from pipeline.mos.rating_format import COLUMNS, CRC_COLUMN, LEGACY_COLUMNS, RatingError
from pipeline.mos.storage import RatingStore, read_ratings
from pipeline.mos.synthetic import make_test, tone


def mos_row(listener: str, stim: str, **extra) -> dict:
    base = {"test_id": "t", "listener_id": listener, "stimulus_id": stim, "system": "a"}
    return {**base, "question": "acr", "score": 3, **extra}


def legacy_csv(path: Path, rows: int = 2) -> None:
    """A ratings file as written before the label columns existed (valid CRCs)."""
    lines = [",".join((*LEGACY_COLUMNS, CRC_COLUMN))]
    for n in range(rows):
        cells = {c: "" for c in LEGACY_COLUMNS}
        cells.update(
            listener_id=f"L{n}", stimulus_id="s1", system="a", question="acr", score=str(4 - n)
        )
        cells.update(is_gold="0", is_trap="0")
        body = ",".join(cells[c] for c in LEGACY_COLUMNS)
        lines.append(f"{body},{zlib.crc32(body.encode()):08x}")
    path.write_text("\n".join(lines) + "\n")


def test_label_columns_and_mos_rows_leave_label_empty(tmp_path: Path):
    assert COLUMNS[-3:] == ("label", "certainty", "truth")
    store = RatingStore(tmp_path / "r.csv")
    assert store.append(mos_row("L1", "s1"))
    emotion = mos_row("L1", "s2", question="emotion-id", score=None, label="angry", truth="sad")
    assert store.append(emotion)
    assert store.append(mos_row("L2", "s2", question="emotion-id", score=4, label="happy"))
    with open(tmp_path / "r.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["label"] for r in rows] == ["", "angry", "happy"]
    assert [r["score"] for r in rows] == ["3", "", "4"]
    frame = read_ratings(tmp_path / "r.csv")
    assert len(frame) == 3  # the label-only answer (no intensity asked) is kept
    assert list(frame["label"]) == ["", "angry", "happy"]
    assert list(frame["truth"]) == ["", "sad", ""]


def test_old_csv_without_label_column_loads_and_keeps_its_layout(tmp_path: Path):
    path = tmp_path / "old.csv"
    legacy_csv(path)
    frame = read_ratings(path)
    assert list(frame["score"]) == [4, 3] and list(frame["label"]) == ["", ""]
    store = RatingStore(path)
    assert store.append(mos_row("L9", "s1", score=5))  # MOS rows still append
    assert not store.append(mos_row("L0", "s1"))  # key already stored in the old layout
    with pytest.raises(RatingError, match="predates the label"):
        store.append(mos_row("L8", "s1", label="sad"))
    header = path.read_text().splitlines()[0].split(",")
    assert header == [*LEGACY_COLUMNS, CRC_COLUMN]
    assert list(read_ratings(path)["score"]) == [4, 3, 5]


def test_emotion_answers_are_checked_and_stored_once(tmp_path: Path):
    make_test(tmp_path, question="acr", items=2, training=0, items_per_session=4)
    folder = tmp_path / "demo"
    definition = load_definition(folder)
    definition.question, definition.ask_intensity = "emotion-id", True
    definition.stimuli[0].truth = "angry"
    from pipeline.mos.definition import save_definition

    save_definition(definition, folder)
    test = ListeningTest(folder)
    session = test.open("P1")
    first = session.order[0]
    with pytest.raises(ValueError, match="not one of"):
        submit_answer(test, session, first, EmotionAnswer("bored", 3), **PLAY)
    with pytest.raises(ValueError, match="intensity"):
        submit_answer(test, session, first, EmotionAnswer("sad"), **PLAY)
    with pytest.raises(ValueError, match="certainty"):
        submit_answer(test, session, first, EmotionAnswer("sad", 2, certainty=4), **PLAY)
    answers = {}
    for n, sid in enumerate(session.order):
        answers[sid] = EMOTION_LABELS[n % len(EMOTION_LABELS)]
        assert submit_answer(test, session, sid, EmotionAnswer(answers[sid], 1 + n), **PLAY)
    assert not submit_answer(test, session, first, EmotionAnswer("happy", 5), **PLAY)
    assert test.open("P1").stage == "done"
    frame = read_ratings(folder / "ratings.csv")
    assert dict(zip(frame["stimulus_id"], frame["label"], strict=True)) == answers
    assert list(frame["score"]) == [1, 2, 3, 4]
    assert set(frame["question"]) == {"emotion-id"}
    truth = dict(zip(frame["stimulus_id"], frame["truth"], strict=True))
    assert truth[definition.stimuli[0].id] == "angry"


PLAY = {"play_count": 1, "listened_s": 0.5, "response_ms": 800}


def test_an_emotion_page_says_which_answer_is_missing(tmp_path: Path):
    """A label without the asked intensity is not stored, and the listener is told to
    answer every question (not "choose an answer", which they did)."""
    from pipeline.mos.clips import ClipCache
    from pipeline.mos.definition import save_definition
    from pipeline.mos.pages import PageBook
    from pipeline.mos.session_flow import ListenerFlow
    from pipeline.mos.strings import text

    make_test(tmp_path, question="acr", items=2, training=0, items_per_session=4)
    folder = tmp_path / "demo"
    definition = load_definition(folder)
    definition.question, definition.ask_intensity = "emotion-id", True
    save_definition(definition, folder)
    flow = ListenerFlow(ListeningTest(folder), PageBook(), ClipCache(tmp_path / "clips"))
    screen = flow.start("P1", agreed=True).screen
    for tracker in flow.pages.get(screen.page_id).trackers:
        tracker.play(0.0)
        tracker.end(tracker.duration_s + 0.01)
    missing = flow.answer("P1", screen.page_id, {"label": "sad", "intensity": None})
    assert missing.status == "choose_first"
    assert missing.message == text("answer_all_first") != text("choose_first")
    assert flow.answer("P1", screen.page_id, None).message == text("answer_all_first")
    saved = flow.answer("P1", screen.page_id, {"label": "sad", "intensity": 4})
    assert saved.status == "saved"
    assert list(read_ratings(folder / "ratings.csv")["label"]) == ["sad"]


def wav(path: Path, freq: float, seconds: float = 0.4, rate: int = 22_050) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone(seconds, freq, rate=rate), rate)
    return path


def test_conversion_test_keeps_intended_emotion_hidden(tmp_path: Path):
    sources = [
        LabelledClip(wav(tmp_path / f"in/u{i}.wav", 200 + 30 * i), "neutral") for i in range(2)
    ]
    controls = [LabelledClip(wav(tmp_path / "ctl/h.wav", 330), "happy")]
    options = EmotionTestOptions(test_id="eid", gold=1, ask_intensity=True, seed=0)
    definition = build_conversion_test(
        tmp_path / "ratings",
        sources,
        ["dsp"],
        ["angry", "sad"],
        options,
        intensities=(0.5, 1.0),
        controls=controls,
    )
    assert definition == load_definition(tmp_path / "ratings" / "eid")
    converted = [s for s in definition.stimuli if s.system == "emotion/dsp"]
    assert len(converted) == 2 * 2 * 2
    assert {(s.truth, s.condition) for s in converted} == {
        (e, f"{e}@{i:g}") for e in ("angry", "sad") for i in (0.5, 1.0)
    }
    natural = [s for s in definition.stimuli if s.condition == "natural"]  # gold included
    assert sorted(s.truth for s in natural) == ["happy", "neutral", "neutral"]
    assert [s.gold_label for s in definition.stimuli if s.kind == "gold"] == ["happy"]
    assert definition.gold_per_session == 1 and definition.ask_intensity
    for s in definition.stimuli:  # nothing about the truth leaks into file names
        assert "angry" not in s.file and "sad" not in s.file
    with pytest.raises(BuildError, match="reference clip"):
        build_conversion_test(
            tmp_path / "r2", sources, ["dsp"], ["angry"], EmotionTestOptions("x", "emotion-sim")
        )


def test_emotion_sim_test_uses_target_references(tmp_path: Path):
    sources = [LabelledClip(wav(tmp_path / "in/u0.wav", 220))]
    refs = {"angry": wav(tmp_path / "ref/a.wav", 300), "sad": wav(tmp_path / "ref/s.wav", 180)}
    options = EmotionTestOptions(test_id="esim", question="emotion-sim", seed=0)
    definition = build_conversion_test(
        tmp_path / "ratings", sources, ["dsp"], ["angry", "sad"], options, references=refs
    )
    assert QUESTIONS[definition.question].paired
    by_truth = {s.truth: s.reference for s in definition.stimuli}
    assert by_truth["angry"] != by_truth["sad"] and all(by_truth.values())


def test_needed_listeners_never_fewer_than_the_votes():
    """k answers per clip need k different listeners, however long a session may be."""
    from pipeline.mos.emotion_builder import needed_listeners

    assert needed_listeners(4, 3, 12) == 3  # a session holds each of the 4 clips once
    assert needed_listeners(40, 3, 12) == 10
    assert needed_listeners(10, 5, 10) == 5


def test_annotation_test_from_a_manifest(tmp_path: Path):
    data = tmp_path / "data"
    rows = []
    for i, emotion in enumerate(["neutral", "happy", "angry", "sad", "neutral"]):
        rel = f"speech/x/c{i}.wav"
        wav(data / rel, 150 + 20 * i)
        rows.append({"path": rel, "source": "x" if i < 4 else "y", "emotion": emotion})
    manifest = tmp_path / "labels.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "source", "emotion"])
        writer.writeheader()
        writer.writerows(rows)
    clips = read_labelled_clips(manifest, data_root=data, sources=["x"])
    assert [c.item_id for c in clips] == [r["path"] for r in rows[:4]]
    gold = [LabelledClip(data / rows[4]["path"], "neutral", rows[4]["path"])]
    options = EmotionTestOptions(test_id="ann", question="annotate", votes_per_stimulus=3)
    definition = build_annotation_test(tmp_path / "ratings", clips, options, gold=gold)
    assert [s.truth for s in definition.regular()] == ["neutral", "happy", "angry", "sad"]
    assert [s.item_id for s in definition.regular()] == [r["path"] for r in rows[:4]]
    assert [s.gold_label for s in definition.stimuli if s.kind == "gold"] == ["neutral"]
    assert "k = 3" in definition.notes
    too_few = EmotionTestOptions(test_id="ann2", question="annotate", votes_per_stimulus=2)
    with pytest.raises(BuildError, match="at least 3"):
        build_annotation_test(tmp_path / "ratings", clips, too_few)
    assert np.isfinite(sf.info(tmp_path / "ratings/ann" / definition.stimuli[0].file).duration)


def test_cli_builds_both_emotion_kinds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    data = tmp_path / "data"
    rows = []
    for i, emotion in enumerate(["neutral", "happy", "angry", "sad"]):
        rel = f"speech/x/c{i}.wav"
        wav(data / rel, 150 + 20 * i)
        rows.append(f"{rel},{emotion}")
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,emotion\n" + "\n".join(rows) + "\n")
    gold = tmp_path / "gold.csv"
    gold.write_text(f"path,emotion\n{rows[2]}\n")
    monkeypatch.setenv("STUDIO_DATA", str(data))
    root = tmp_path / "ratings"
    args = ["--ratings-root", str(root), "--k", "3", "--gold-csv", str(gold), "--seed", "1"]
    assert main(["annotate", str(manifest), "--test-id", "ann", *args]) == 0
    ann = load_definition(root / "ann")
    assert ann.question == "annotate" and ann.votes_per_stimulus == 3
    assert len(ann.regular()) == 4 and [s.gold_label for s in ann.stimuli if s.gold_label] == [
        "angry"
    ]
    source = wav(tmp_path / "src.wav", 200)
    args = ["--ratings-root", str(root), "--systems", "dsp", "--emotions", "sad", "--ask-intensity"]
    assert (
        main(["build-emotion", str(source), "--test-id", "eid", "--source-label", "neutral", *args])
        == 0
    )
    eid = load_definition(root / "eid")
    assert eid.ask_intensity and {s.truth for s in eid.stimuli} == {"sad", "neutral"}
    assert (
        main(
            ["annotate", str(manifest), "--test-id", "bad", "--ratings-root", str(root), "--k", "2"]
        )
        == 1
    )
