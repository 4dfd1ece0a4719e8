"""Real browser: a listener takes an emotion-id session in headless chromium (playwright),
reloads in the middle, resumes, finishes; the CSV holds exactly their answers."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest
from conftest import play_until_answer_unlocked, serve, start_phone_session

from pipeline.mos.definition import load_definition, save_definition
from pipeline.mos.storage import read_ratings
from pipeline.mos.synthetic import make_test
from ui.listening_test import build_listening_tab

TIMEOUT_MS = 60_000

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: what the listener answers on clip n: (emotion shown on the page, intensity)
ANSWERS = [("Angry", "4"), ("Sad", "2"), ("Happy", "5"), ("Other / can't tell", "1")]
STORED = {"Angry": "angry", "Sad": "sad", "Happy": "happy", "Other / can't tell": "other"}


@pytest.fixture
def app_url(tmp_path: Path):
    root = tmp_path / "ratings"
    make_test(root, test_id="emo", items=2, items_per_session=4, training=0, code="EMO-42")
    definition = load_definition(root / "emo")
    definition.question, definition.ask_intensity = "emotion-id", True
    for stim, truth in zip(definition.stimuli, ("angry", "sad", "happy", "neutral"), strict=True):
        stim.truth = truth
    save_definition(definition, root / "emo")
    with gr.Blocks() as demo:
        with gr.Tab("Listening test"):
            build_listening_tab(ratings_root=root)
    with serve(demo) as url:
        yield url, root / "emo"


def play_and_answer(page, emotion: str, intensity: str) -> None:
    """Play the clip to the end (again if the answer stays locked), pick emotion and
    intensity, submit."""
    play_until_answer_unlocked(page)
    page.locator("#mos-choice").get_by_label(emotion, exact=True).check()
    page.locator("#mos-intensity").get_by_label(intensity, exact=True).check()
    page.locator("#mos-submit").click()


def test_emotion_id_session_with_reload(app_url, chromium_launch):
    playwright = pytest.importorskip("playwright.sync_api")
    url, folder = app_url
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(**chromium_launch)
        page = start_phone_session(
            browser, f"{url}/?PROLIFIC_PID=emo1&test=emo", timeout_ms=TIMEOUT_MS
        )
        page.get_by_text("Clip 1 of 4").wait_for()
        page.get_by_text("Which emotion does the speaker express?").wait_for()
        for label in ("Neutral", "Happy", "Angry", "Sad", "Surprised", "Other / can't tell"):
            assert page.locator("#mos-choice").get_by_label(label, exact=True).count() == 1
        play_and_answer(page, *ANSWERS[0])
        page.get_by_text("Clip 2 of 4").wait_for()
        play_and_answer(page, *ANSWERS[1])
        page.get_by_text("Clip 3 of 4").wait_for()
        page.reload()
        page.get_by_text("Clip 3 of 4").wait_for()  # resumed where the listener left off
        play_and_answer(page, *ANSWERS[2])
        page.get_by_text("Clip 4 of 4").wait_for()
        play_and_answer(page, *ANSWERS[3])
        page.get_by_text("EMO-42").wait_for()
        browser.close()
    rows = read_ratings(folder / "ratings.csv").sort_values("position")
    assert len(rows) == 4 and set(rows["listener_id"]) == {"emo1"}
    assert list(rows["position"].astype(int)) == [1, 2, 3, 4]
    assert list(rows["label"]) == [STORED[e] for e, _ in ANSWERS]
    assert list(rows["score"].astype(int)) == [int(i) for _, i in ANSWERS]
    assert set(rows["question"]) == {"emotion-id"} and rows["stimulus_id"].is_unique
    assert (rows["play_count"] >= 1).all()
    truth = {s.id: s.truth for s in load_definition(folder).stimuli}
    assert list(rows["truth"]) == [truth[s] for s in rows["stimulus_id"]]
    assert len((folder / "ratings.csv").read_text().splitlines()) == 5  # header + 4 answers
