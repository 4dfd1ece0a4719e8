"""The submit route outside Gradio (ui/listener_routes.py + Flows.submit_page): a page's
token answers that page only, its listener's answer is stored once, and the reply tells the
page's js what to show (the next clip of the same layout, a practice answer, a message, or a
parked new layout that only the same listener can claim); bad bodies and unknown pages are
refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from pipeline.mos.session_flow import Screen
from pipeline.mos.storage import read_ratings
from pipeline.mos.synthetic import make_test
from ui import listener_routes
from ui.listener_routes import MAX_SUBMIT_BODY, SUBMIT_PATH, parse_answer
from ui.listening_parts import Flows


@pytest.fixture
def served(tmp_path: Path):
    """A synthetic test (headphone check, one practice clip, two rated clips) behind the
    submit route of its tab's :class:`Flows`."""
    make_test(tmp_path / "ratings", headphone=True, training=1, items=2, items_per_session=2)
    flows = Flows(tmp_path / "ratings")
    app = Starlette(routes=listener_routes.routes([flows.pages], None, [flows.submit_page]))
    return flows, flows.get("demo"), TestClient(app)


def played(flows: Flows, page_id: str) -> str:
    """Play every clip of the page to its end (server clock shifted, no sleeping)."""
    for tracker in flows.pages.get(page_id).trackers:
        tracker.play(0.0)
        tracker.end(tracker.duration_s + 0.01)
    return page_id


def submit(client: TestClient, token: str, answer, **scales):
    return client.post(SUBMIT_PATH, json={"page": token, "answer": answer, **scales})


def test_a_whole_session_through_the_route(served):
    flows, flow, client = served
    check = flow.start("P1", agreed=True).screen
    early = submit(client, check.page_id, 3).json()  # the beeps were not played yet
    assert early["status"] == "play_first" and early["unlock"] is False

    wrong = submit(client, played(flows, check.page_id), 1).json()
    assert wrong["status"] == "wrong" and wrong["message"].startswith("Not quite")
    retry = wrong["next"]  # the same layout again: a new page of the check, new token
    assert retry["page"] != check.page_id and retry["title"].startswith("### Volume")
    assert len(retry["clips"]) == 1 and retry["clips"][0].endswith("/audio.wav")

    moved = submit(client, played(flows, retry["page"]), 3).json()
    assert moved["status"] == "moved" and "next" not in moved  # a new stage: a new layout
    assert flows.pages.claim(moved["relayout"], "someone else") is None
    practice, note = flows.pages.claim(moved["relayout"], "P1")
    assert isinstance(practice, Screen) and practice.stage == "training" and note == ""
    assert flows.pages.claim(moved["relayout"], "P1") is None  # claimed once

    shown = submit(client, played(flows, practice.page_id), 4).json()
    assert shown["status"] == "answered" and "Expected answer" in shown["feedback"]
    first = flow.proceed("P1", practice.page_id).screen
    assert first.stage == "rating"

    saved = submit(client, played(flows, first.page_id), 5).json()
    assert saved["status"] == "saved" and saved["message"] == "Saved."
    assert saved["next"]["title"].startswith("### Clip 2 of 2")
    again = submit(client, first.page_id, 1).json()  # a second click on the same page
    assert again["status"] == "already_rated" and "Saved" not in again["message"]
    last = submit(client, played(flows, saved["next"]["page"]), 2).json()
    assert last["status"] == "saved" and last["relayout"]
    done, note = flows.pages.claim(last["relayout"], "P1")
    assert done.stage == "done" and note == "Saved."
    rows = read_ratings(flow.test.store.path)
    assert len(rows) == 2 and sorted(rows["score"].tolist()) == [2, 5]


def test_refused_requests(served):
    flows, flow, client = served
    check = flow.start("P1", agreed=True).screen
    assert submit(client, "0" * 32, 3).status_code == 404  # no such page (or expired)
    assert submit(client, "not-a-token", 3).status_code == 400
    assert submit(client, check.page_id, [3]).status_code == 400
    assert submit(client, check.page_id, True).status_code == 400
    assert client.post(SUBMIT_PATH, content=b"{").status_code == 400
    big = json.dumps({"page": check.page_id, "answer": "x" * MAX_SUBMIT_BODY})
    assert client.post(SUBMIT_PATH, content=big).status_code == 413
    assert client.get(SUBMIT_PATH).status_code == 405


def test_parse_answer_reads_scales_as_an_emotion_answer():
    token = "a" * 32
    body = json.dumps({"page": token, "answer": "angry", "intensity": 4, "certainty": None})
    assert parse_answer(body.encode()) == (
        token,
        {"label": "angry", "intensity": 4, "certainty": None},
    )
    assert parse_answer(json.dumps({"page": token, "answer": 3}).encode()) == (token, 3)
    assert parse_answer(json.dumps({"page": token, "answer": {"x": 1}}).encode()) is None
    assert parse_answer(json.dumps({"page": token, "answer": "x" * 201}).encode()) is None
    assert parse_answer(b"[1, 2]") is None
