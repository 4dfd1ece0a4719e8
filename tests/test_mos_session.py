"""Listener sessions: balanced assignment, resume, sign correction, play-to-end, identity,
and the definition file."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml
from conftest import assign_listeners, assignment_property

from pipeline.mos.definition import DefinitionError, Stimulus, load_definition
from pipeline.mos.listening import ListeningTest, PlayTracker, resolve_listener
from pipeline.mos.storage import read_ratings
from pipeline.mos.synthetic import make_test


def rate_all(test: ListeningTest, listener: str, choice: int = 3) -> None:
    session = test.open(listener)
    for sid in list(test.remaining(session)):
        assert test.submit(session, sid, choice, play_count=1, listened_s=0.5, response_ms=10)


def test_votes_are_spread_evenly_across_listeners(tmp_path: Path):
    # 6 items x 2 systems = 12 stimuli, 4 per session, 2 votes wanted -> 6 listeners fill it
    make_test(tmp_path, items=6, items_per_session=4, votes=2, training=0)
    test = ListeningTest(tmp_path / "demo")
    for n in range(6):
        rate_all(test, f"L{n}")
        counts = Counter(read_ratings(test.store.path)["stimulus_id"])
        loads = [counts.get(s.id, 0) for s in test.definition.stimuli]
        assert max(loads) - min(loads) <= 1, (n, loads)
    assert set(loads) == {2}


def test_live_sessions_reserve_their_stimuli(tmp_path: Path):
    make_test(tmp_path, items=4, items_per_session=4, votes=1, training=0)
    test = ListeningTest(tmp_path / "demo")
    first = test.open("A")  # has not rated anything yet
    second = test.open("B")
    assert not set(first.order) & set(second.order)  # 8 stimuli, two disjoint sessions


def test_sessions_prefer_distinct_items(tmp_path: Path):
    make_test(tmp_path, items=4, systems=("a", "b", "c"), items_per_session=4, training=0)
    test = ListeningTest(tmp_path / "demo")
    session = test.open("L1")
    items = [test.definition.by_id()[s].item_id for s in session.order]
    assert len(set(items)) == 4


@assignment_property(25, n_stim=(2, 30), per_session=(1, 8), listeners=(1, 12))
def test_sequential_assignment_is_balanced(n_stim, per_session, listeners, seed):
    stimuli = [
        Stimulus(id=f"s{i}", file=f"{i}.wav", system="x", item_id=f"i{i % 5}")
        for i in range(n_stim)
    ]
    for order, load in assign_listeners(stimuli, per_session, listeners, seed):
        assert len(order) == len(set(order)) == min(per_session, n_stim)
        assert max(load.values()) - min(load.values()) <= 1


def test_reload_resumes_the_same_session(tmp_path: Path):
    make_test(tmp_path, items=4, items_per_session=4, training=0)
    test = ListeningTest(tmp_path / "demo")
    session = test.open("P1")
    first = session.order[0]
    test.submit(session, first, 4, play_count=1, listened_s=0.5, response_ms=5)
    again = ListeningTest(tmp_path / "demo").open("P1")  # e.g. another server process
    assert again.session_id == session.session_id and again.order == session.order
    assert test.progress(again) == (1, 4)
    assert test.remaining(again)[0] == session.order[1]


def test_double_submission_is_ignored(tmp_path: Path):
    make_test(tmp_path, items=2, items_per_session=2, training=0)
    test = ListeningTest(tmp_path / "demo")
    session = test.open("P1")
    sid = session.order[0]
    assert test.submit(session, sid, 4, play_count=1, listened_s=0.5, response_ms=5)
    assert not test.submit(session, sid, 2, play_count=1, listened_s=0.5, response_ms=5)
    frame = read_ratings(test.store.path)
    assert len(frame) == 1 and frame["score"].item() == 4


@pytest.mark.parametrize("question", ["ccr", "ab"])
def test_randomised_pairs_are_sign_corrected(tmp_path: Path, question):
    make_test(tmp_path, question=question, items=4, items_per_session=8, training=0)
    test = ListeningTest(tmp_path / "demo")
    session = test.open("P1")
    session.flipped = session.order[:4]  # force both orders to occur
    for sid in session.order:
        shown = test.presentation(session, sid)
        stim = shown.stimulus
        # the listener prefers the system's clip ("B is better" when B is the stimulus)
        choice = 1 if shown.clips[1] == stim.file else -1
        assert test.submit(session, sid, choice, play_count=2, listened_s=1, response_ms=5)
    frame = read_ratings(test.store.path)
    assert (frame["score"] == 1).all()  # always stored as stimulus vs reference
    assert set(frame["order"]) == {"stim-first", "ref-first"}


def test_choice_must_be_on_the_scale(tmp_path: Path):
    make_test(tmp_path, items=1, items_per_session=1, training=0)
    test = ListeningTest(tmp_path / "demo")
    session = test.open("P1")
    with pytest.raises(ValueError):
        test.submit(session, session.order[0], 7, play_count=1, listened_s=1, response_ms=1)


def test_play_tracker_needs_real_play_time_to_the_end():
    tracker = PlayTracker(duration_s=3.0)
    assert not tracker.complete
    tracker.play(100.0)
    tracker.end(100.5)  # skipped to the end after half a second
    assert tracker.ended and not tracker.complete
    tracker.play(101.0)
    tracker.pause(102.0)
    tracker.play(102.0)
    tracker.end(103.6)
    assert tracker.play_count == 3 and tracker.listened_s == pytest.approx(3.1)
    assert tracker.complete
    assert PlayTracker.from_dict(tracker.to_dict()) == tracker


def test_listener_identity_sources():
    assert resolve_listener({"PROLIFIC_PID": "5f1a"}, "bob", "anon-1") == ("5f1a", "PROLIFIC_PID")
    assert resolve_listener({"listener": "x1"}, None, None) == ("x1", "listener")
    assert resolve_listener({"workerId": "A1B2"}, None, None)[0] == "A1B2"
    assert resolve_listener({}, "bob", "anon-1") == ("user-bob", "login")
    assert resolve_listener({}, None, "anon-1") == ("anon-1", "browser")
    new, source = resolve_listener({}, None, "")
    assert source == "new" and new.startswith("anon-")
    odd, _ = resolve_listener({"listener": "=cmd|' /C calc'!A0"}, None, None)
    assert odd.startswith("h-") and "=" not in odd


def test_definition_yaml_and_json_round_trip(tmp_path: Path):
    made = make_test(tmp_path, question="dcr", headphone=True, gold=1)
    loaded = load_definition(tmp_path / "demo")
    assert loaded.to_dict() == made.to_dict()
    data = yaml.safe_load((tmp_path / "demo" / "definition.yaml").read_text())
    (tmp_path / "demo" / "definition.yaml").unlink()
    (tmp_path / "demo" / "definition.json").write_text(json.dumps(data))
    assert load_definition(tmp_path / "demo").to_dict() == made.to_dict()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"question": "mushra"}, "unknown question"),
        ({"stimuli": []}, "no stimuli"),
        ({"colour": "red"}, "unknown definition fields"),
        ({"test_id": "../x"}, "invalid test_id"),
    ],
)
def test_bad_definitions_give_one_line_errors(tmp_path: Path, change, message):
    make_test(tmp_path)
    path = tmp_path / "demo" / "definition.yaml"
    data = {**yaml.safe_load(path.read_text()), **change}
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(DefinitionError, match=message) as err:
        load_definition(tmp_path / "demo")
    assert "\n" not in str(err.value)


def test_missing_stimulus_file_is_reported(tmp_path: Path):
    make_test(tmp_path)
    (tmp_path / "demo" / "stimuli" / "c00.wav").unlink()
    with pytest.raises(DefinitionError, match="missing stimulus file stimuli/c00.wav"):
        load_definition(tmp_path / "demo")
