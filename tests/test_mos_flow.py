"""The listener state machine (pipeline.mos.session_flow) without any UI: consent, headphone
check, practice, rating, done; honest replies; play state per page instance; practice and
sessions enforced on the server; per-session system balance; link keys; immutable clips."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from conftest import assign_listeners, assignment_property

from pipeline.mos.clips import ClipCache
from pipeline.mos.definition import Stimulus, TestDefinition, readable_title
from pipeline.mos.listening import ListeningTest, listener_key
from pipeline.mos.session_flow import (
    AnswerForm,
    ListenerFlow,
    PageBook,
    Reply,
    Screen,
    register_answer_form,
)
from pipeline.mos.storage import read_ratings
from pipeline.mos.synthetic import make_test


def flow_for(tmp_path: Path, **kwargs) -> ListenerFlow:
    make_test(tmp_path / "ratings", **kwargs)
    test = ListeningTest(tmp_path / "ratings" / "demo")
    return ListenerFlow(test, PageBook(), ClipCache(tmp_path / "clips"))


def play_all(flow: ListenerFlow, screen: Screen) -> None:
    """Play every clip of ``screen`` for its full length (server clock shifted, no sleeping)."""
    page = flow.pages.get(screen.page_id)
    for tracker in page.trackers:
        tracker.play(0.0)
        tracker.end(tracker.duration_s + 0.01)


def answer(flow: ListenerFlow, listener: str, screen: Screen, value) -> Reply:
    play_all(flow, screen)
    return flow.answer(listener, screen.page_id, value)


def test_full_session_headphone_practice_rating_done(tmp_path: Path):
    flow = flow_for(tmp_path, headphone=True, training=1, items=2, items_per_session=4)
    sessions = tmp_path / "ratings" / "demo" / "sessions"
    first = flow.screen("P1")
    assert first.stage == "consent" and not list(sessions.glob("*.json"))  # no file on visit
    assert flow.start("P1", agreed=False).status == "need_consent"
    assert not list(sessions.glob("*.json"))
    check = flow.start("P1", agreed=True).screen
    assert check.stage == "headphone" and len(list(sessions.glob("*.json"))) == 1
    assert check.clips[0].label == "Beep clip" and check.submit_label == "Check"
    wrong = answer(flow, "P1", check, 1)
    assert wrong.status == "wrong" and wrong.screen.stage == "headphone"
    practice = answer(flow, "P1", wrong.screen, 3).screen
    assert practice.stage == "training" and practice.submit_label != "Submit rating"
    shown = answer(flow, "P1", practice, 4)
    assert shown.status == "answered" and "Expected answer" in shown.feedback
    screen = flow.proceed("P1", practice.page_id).screen
    saved = []
    while screen.stage == "rating":
        reply = answer(flow, "P1", screen, 3)
        saved.append(reply.status)
        screen = reply.screen
    assert saved == ["saved"] * 4
    assert screen.stage == "done" and "DONE-1234" in screen.done_text
    assert len(read_ratings(flow.test.store.path)) == 4


def test_saved_only_when_this_submit_stored_the_rating(tmp_path: Path):
    flow = flow_for(tmp_path, training=0, items=2, items_per_session=2)
    screen = flow.start("P1", agreed=True).screen
    play_all(flow, screen)
    assert flow.answer("P1", screen.page_id, 5).status == "saved"
    again = flow.answer("P1", screen.page_id, 1)  # a double click on the same page
    assert again.status == "already_rated" and "Saved" not in again.message
    last = again.screen
    assert answer(flow, "P1", last, 2).status == "saved"
    after = flow.answer("P1", last.page_id, 4)  # a submit after the end
    assert after.status == "finished" and after.screen.stage == "done"
    frame = read_ratings(flow.test.store.path)
    assert sorted(frame["score"].astype(int)) == [2, 5]


def test_play_state_belongs_to_the_page_instance(tmp_path: Path):
    flow = flow_for(tmp_path, training=0, items=2, items_per_session=2)
    first_tab = flow.start("P1", agreed=True).screen
    second_tab = flow.screen("P1")  # the same listener opens a second tab
    assert second_tab.page_id != first_tab.page_id
    play_all(flow, first_tab)
    reply = flow.answer("P1", second_tab.page_id, 4)  # the second tab played nothing
    assert reply.status == "play_first"
    assert flow.played(second_tab.page_id, 0, "play") is False
    assert flow.answer("P1", first_tab.page_id, 4).status == "saved"
    assert flow.answer("P2", first_tab.page_id, 4).status == "stale"  # another listener's page


def test_practice_cannot_be_skipped(tmp_path: Path):
    flow = flow_for(tmp_path, headphone=True, training=2, items=2, items_per_session=2)
    check = flow.start("P1", agreed=True).screen
    # Continue on the headphone page (or twice) moves nothing
    assert flow.proceed("P1", check.page_id).screen.stage == "headphone"
    practice = answer(flow, "P1", check, 3).screen
    assert flow.proceed("P1", practice.page_id).status == "stale"  # not answered yet
    assert flow.proceed("P1", None).status == "stale"
    answer(flow, "P1", practice, 5)
    second = flow.proceed("P1", practice.page_id).screen
    assert second.stage == "training" and "Practice 2 of 2" in second.title
    assert flow.proceed("P1", practice.page_id).status == "stale"  # same page twice
    answer(flow, "P1", second, 5)
    assert flow.proceed("P1", second.page_id).screen.stage == "rating"


def test_three_wrong_headphone_answers_end_the_session(tmp_path: Path):
    flow = flow_for(tmp_path, headphone=True, training=0)
    screen = flow.start("P1", agreed=True).screen
    for _ in range(3):
        screen = answer(flow, "P1", screen, 6).screen
    assert screen.stage == "done" and "did not succeed" in screen.done_text


def test_answers_must_be_on_the_form(tmp_path: Path):
    flow = flow_for(tmp_path, training=0)
    screen = flow.start("P1", agreed=True).screen
    assert answer(flow, "P1", screen, None).status == "choose_first"
    assert answer(flow, "P1", screen, 9).status == "choose_first"
    assert answer(flow, "P1", screen, "4").status == "saved"  # string from the browser


def test_question_kinds_bring_their_own_answer_form(tmp_path: Path):
    def yes_no(definition, lang):
        return AnswerForm("acr", (("Yes", 5), ("No", 1)), label="Natural?")

    register_answer_form("acr", yes_no)
    try:
        flow = flow_for(tmp_path, training=0)
        screen = flow.start("P1", agreed=True).screen
        assert screen.form.choices == (("Yes", 5), ("No", 1))
        assert answer(flow, "P1", screen, 3).status == "choose_first"
        assert answer(flow, "P1", screen, 5).status == "saved"
    finally:
        from pipeline.mos.session_flow import ANSWER_FORMS

        ANSWER_FORMS.pop("acr")


def test_each_session_is_balanced_across_systems(tmp_path: Path):
    flow = flow_for(
        tmp_path, training=0, items=6, systems=("a", "b", "c", "d"), items_per_session=10, votes=3
    )
    by_id = flow.definition.by_id()
    for n in range(6):
        session = flow.test.open(f"L{n}")
        counts = Counter(by_id[s].system for s in session.order)
        assert max(counts.values()) - min(counts.values()) <= 1, counts
        assert sum(counts.values()) == 10


@assignment_property(40, systems=(1, 5), items=(1, 8), per_session=(1, 12), listeners=(1, 10))
def test_assignment_balances_systems_within_every_session(
    systems, items, per_session, listeners, seed
):
    stimuli = [
        Stimulus(id=f"s{i}_{j}", file="x.wav", system=f"sys{j}", item_id=f"i{i}")
        for i in range(items)
        for j in range(systems)
    ]
    system_of = {s.id: s.system for s in stimuli}
    for order, load in assign_listeners(stimuli, per_session, listeners, seed):
        counts = Counter(system_of[s] for s in order)
        per_system = [counts.get(f"sys{j}", 0) for j in range(systems)]
        assert max(per_system) - min(per_system) <= 1
        assert max(load.values()) - min(load.values()) <= 2  # votes stay spread evenly


def test_abandoned_sessions_free_their_clips(tmp_path: Path):
    make_test(tmp_path, items=2, items_per_session=2, votes=1, training=0)  # 4 stimuli
    test = ListeningTest(tmp_path / "demo")
    idle = test.definition.session_timeout_minutes * 60
    assert idle == 15 * 60

    def arrive(name: str, now: float):
        return test.sessions.open(name, test.store.stored_keys, now=now, rng=random.Random(0))

    first = arrive("A", 1000.0)
    second = arrive("B", 1000.0 + idle + 1)  # same draw as A: A's clips are free again
    assert set(first.order) == set(second.order)
    third = arrive("C", 1000.0 + idle + 2)  # B is live: C gets the other two
    assert not set(second.order) & set(third.order)


def test_link_keys_gate_a_test_with_a_secret(tmp_path: Path):
    make_test(tmp_path, training=0)
    test = ListeningTest(tmp_path / "demo")
    assert test.admits("P1", None)  # no secret: ids alone
    test.definition.link_secret = "s3cret"
    key = listener_key("s3cret", "P1")
    assert len(key) == 12 and test.admits("P1", key)
    assert not test.admits("P1", None) and not test.admits("P2", key)


def test_titles_fall_back_to_a_readable_id():
    assert readable_title("enh1") == "Enhancement listening test 1"
    assert readable_title("my_test_2") == "My test 2"
    assert readable_title("eid1") == "Emotion identification listening test 1"
    definition = TestDefinition(test_id="emo3", title="emo3", question="acr", stimuli=[])
    assert definition.display_title == "Emotion listening test 3"
    definition.title = "Voice quality study"
    assert definition.display_title == "Voice quality study"


def test_clips_are_published_once_under_their_content_hash(tmp_path: Path):
    flow = flow_for(tmp_path, training=0, items=2, items_per_session=2)
    screen = flow.start("P1", agreed=True).screen
    path = Path(screen.clips[0].path)
    assert path.name == "audio.wav" and path.parent.parent == tmp_path / "clips"
    before = path.stat()
    again = flow.screen("P1")  # shown again (e.g. a reload)
    assert again.clips[0].path == str(path)
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_links_cli_prints_keyed_links(tmp_path: Path, capsys):
    from pipeline.mos.__main__ import main

    make_test(tmp_path, training=0)
    argv = ["links", str(tmp_path / "demo"), "--base-url", "https://x.org/", "--ids", "P1"]
    assert main([*argv, "--new-secret"]) == 0
    link = capsys.readouterr().out.strip()
    test = ListeningTest(tmp_path / "demo")
    key = listener_key(test.definition.link_secret, "P1")
    assert link == f"https://x.org/?test=demo&listener=P1&key={key}"
    assert test.admits("P1", key) and not test.admits("P1", None)
