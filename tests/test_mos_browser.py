"""Real browser: a listener completes a listening test in headless chromium (playwright).

Opens the tab with ``?PROLIFIC_PID=test1``, passes consent and the headphone check, does
the training, rates two clips, reloads the page, resumes, rates the remaining two, sees
the completion code; the CSV then holds exactly the four expected rows.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest
import yaml
from conftest import free_port, play_until_answer_unlocked, serve, start_phone_session

from pipeline.mos.assignment import session_file
from pipeline.mos.pages import PageBook
from pipeline.mos.storage import RatingStore, read_ratings
from pipeline.mos.synthetic import make_test
from ui.listening_test import build_listening_tab
from ui.results import build_results_tab

TIMEOUT_MS = 60_000  # generous: CI machines may be busy

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
]


@pytest.fixture
def app_url(tmp_path: Path):
    root = tmp_path / "ratings"
    make_test(
        root,
        test_id="demo",
        items=4,
        items_per_session=4,
        training=1,
        headphone=True,
        seconds=0.5,
        code="DONE-1234",
    )
    with gr.Blocks() as demo:
        with gr.Tab("Listening test"):
            build_listening_tab(ratings_root=root)
    with serve(demo) as url:
        yield url, root / "demo"


def play_and_rate(page, label: str) -> None:
    """Play every visible clip to the end, choose ``label``, submit.

    Like a listener, play again when the answer is still locked (a click that lands while
    the player is still decoding does not start playback).
    """
    submit = page.locator("#mos-submit")
    play_until_answer_unlocked(page)
    page.locator("#mos-choice").get_by_label(label, exact=True).check()
    submit.click()


def test_listener_completes_session_with_reload(app_url, chromium_launch, tmp_path: Path):
    playwright = pytest.importorskip("playwright.sync_api")
    url, folder = app_url
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(**chromium_launch)
        page = browser.new_page(viewport={"width": 390, "height": 844})  # phone-sized
        page.set_default_timeout(TIMEOUT_MS)
        audio_urls: list[str] = []
        page.on("request", lambda r: audio_urls.append(r.url) if ".wav" in r.url else None)
        page.goto(f"{url}/?PROLIFIC_PID=test1")
        page.get_by_label("I agree").check()
        page.get_by_role("button", name="Start").click()
        page.get_by_text("How many beeps").wait_for()
        # submit stays locked until the clip was played to the end
        assert page.locator("#mos-submit").is_disabled()
        play_and_rate(page, "3")
        page.get_by_text("Practice 1 of 1").wait_for()
        play_and_rate(page, "4 Good")
        page.get_by_text("Expected answer for this example").wait_for()
        page.locator("#mos-continue").click()
        page.get_by_text("Clip 1 of 4").wait_for()
        # the player offers no download and its file name says nothing about the stimulus
        assert page.locator("#mos-player-0 a[download]").count() == 0
        assert page.locator("#mos-player-0 button[aria-label*='ownload']").count() == 0
        play_and_rate(page, "5 Excellent")
        page.get_by_text("Clip 2 of 4").wait_for()
        play_and_rate(page, "3 Fair")
        page.get_by_text("Clip 3 of 4").wait_for()
        page.reload()
        page.get_by_text("Clip 3 of 4").wait_for()  # resumed where it left off
        play_and_rate(page, "2 Poor")
        page.get_by_text("Clip 4 of 4").wait_for()
        play_and_rate(page, "4 Good")
        page.get_by_text("DONE-1234").wait_for()
        page.screenshot(path=str(tmp_path / "mos_done.png"), full_page=True)
        page.reload()
        page.get_by_text("DONE-1234").wait_for()  # completion survives a reload
        browser.close()
    assert audio_urls and all(u.endswith("/audio.wav") for u in audio_urls), audio_urls
    ratings = read_ratings(folder / "ratings.csv")
    assert len(ratings) == 4
    assert set(ratings["listener_id"]) == {"test1"}
    assert sorted(ratings["score"].astype(int)) == [2, 3, 4, 5]
    assert ratings["stimulus_id"].is_unique
    assert (ratings["play_count"] >= 1).all()
    assert (ratings["listened_s"] > 0.2).all()
    assert (ratings["position"].astype(int).sort_values().tolist()) == [1, 2, 3, 4]
    raw_lines = (folder / "ratings.csv").read_text().splitlines()
    assert len(raw_lines) == 5  # header + 4 rows, nothing else (no training rows)


@pytest.fixture
def results_url(tmp_path: Path):
    root = tmp_path / "ratings"
    definition = make_test(root, test_id="demo", items=2, systems=("sysA", "sysB"))
    store = RatingStore(root / "demo" / "ratings.csv")
    for listener, scores in {"L1": (5, 4, 2, 1), "L2": (4, 5, 1, 2)}.items():
        for stim, score in zip(definition.stimuli, scores, strict=True):
            store.append(
                {
                    "listener_id": listener,
                    "stimulus_id": stim.id,
                    "score": score,
                    "system": stim.system,
                    "item_id": stim.item_id,
                    "play_count": 1,
                }
            )
    with gr.Blocks() as demo:
        with gr.Tab("Results"):
            build_results_tab(ratings_root=root, admin_password="s3cret")
    with serve(demo) as url:
        yield url


def test_results_tab_needs_password(results_url, chromium_launch, tmp_path: Path):
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(**chromium_launch)
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(results_url)
        page.locator("#results-password input").fill("wrong")
        page.locator("#results-unlock").click()
        page.get_by_text("Wrong password").wait_for()
        assert not page.locator("#results-compute").is_visible()
        assert "sysA" not in page.content()
        page.locator("#results-password input").fill("s3cret")
        page.locator("#results-unlock").click()
        page.locator("#results-compute").click()
        page.locator("#results-report").get_by_text("8 ratings from 2 listeners").wait_for()
        assert "sysA" in page.inner_text("#results-report")
        page.screenshot(path=str(tmp_path / "mos_results.png"), full_page=True)
        # downloads: unguessable per-computation links that die with the next computation
        links = page.locator("a[href*='mos-admin']")
        links.first.wait_for()
        first = links.first.evaluate("a => a.href")
        assert page.request.get(first).ok
        page.locator("#results-compute").click()
        page.wait_for_function(
            "old => ![...document.querySelectorAll('a')].some(a => a.href === old)", arg=first
        )
        assert page.request.get(first).status in (403, 404)  # gone
        browser.close()


def test_anonymous_listener_keeps_its_id_across_reloads(app_url, chromium_launch):
    playwright = pytest.importorskip("playwright.sync_api")
    url, folder = app_url
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(**chromium_launch)
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{url}/?test=demo")
        line = page.get_by_text("Your participant ID")
        first = line.inner_text()
        assert "anon-" in first
        page.get_by_label("I agree").check()
        page.get_by_role("button", name="Start").click()
        page.get_by_text("How many beeps").wait_for()
        page.reload()
        page.get_by_text("How many beeps").wait_for()  # same session: consent not asked again
        assert page.get_by_text("Your participant ID").inner_text() == first
        browser.close()


@pytest.fixture
def ccr_url(tmp_path: Path):
    root = tmp_path / "ratings"
    make_test(root, test_id="cmp", question="ccr", items=2, items_per_session=2, training=0)
    with gr.Blocks() as demo:
        with gr.Tab("Listening test"):
            build_listening_tab(ratings_root=root)
    with serve(demo) as url:
        yield url, root / "cmp"


def test_paired_comparison_needs_both_clips_and_corrects_the_sign(ccr_url, chromium_launch):
    playwright = pytest.importorskip("playwright.sync_api")
    url, folder = ccr_url
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(**chromium_launch)
        page = start_phone_session(browser, f"{url}/?listener=cmp1", timeout_ms=TIMEOUT_MS)
        page.get_by_text("Clip 1 of 2").wait_for()
        for label in ("Sample A", "Sample B"):
            assert page.get_by_text(label, exact=True).is_visible()
        page.locator("#mos-player-0 button.play-pause-button").click()
        page.wait_for_timeout(1500)
        assert page.locator("#mos-submit").is_disabled()  # Sample B not played yet
        play_and_rate(page, "Better")  # "B is better than A"
        page.get_by_text("Clip 2 of 2").wait_for()
        play_and_rate(page, "Better")
        page.get_by_text("DONE-1234").wait_for()
        browser.close()
    ratings = read_ratings(folder / "ratings.csv")
    assert len(ratings) == 2
    for row in ratings.itertuples():
        # stimulus played second -> B is the stimulus -> +2; played first -> -2
        assert row.score == (2 if row.order == "ref-first" else -2)


@pytest.fixture
def studio_crowd_url(tmp_path: Path):
    """The whole studio (all tabs) with two tests: ``enh1`` in crowd mode, untitled, and
    ``open1`` with crowd mode off."""
    import app
    from pipeline.registry import Registry

    root = tmp_path / "ratings"
    make_test(root, test_id="enh1", items=2, items_per_session=2, training=0, headphone=True)
    definition = root / "enh1" / "definition.yaml"
    data = yaml.safe_load(definition.read_text())
    definition.write_text(yaml.safe_dump({**data, "title": ""}))
    make_test(root, test_id="open1", items=1, items_per_session=1, training=0)
    definition = root / "open1" / "definition.yaml"
    data = yaml.safe_load(definition.read_text())
    definition.write_text(yaml.safe_dump({**data, "crowd_mode": False}))
    args = app.parse_args(["--port", str(free_port()), "--ratings-root", str(root)])
    demo = app.build_app(Registry(), ratings_root=root).queue(default_concurrency_limit=2)
    demo.launch(prevent_thread_lock=True, quiet=True, **app.launch_kwargs(args))
    try:
        yield demo.local_url.rstrip("/"), root
    finally:
        demo.close()


def test_crowd_link_shows_only_the_test(studio_crowd_url, chromium_launch, tmp_path: Path):
    playwright = pytest.importorskip("playwright.sync_api")
    url, root = studio_crowd_url
    sessions = root / "enh1" / "sessions"
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(**chromium_launch)
        for name, viewport in (("desktop", (1280, 900)), ("mobile", (390, 844))):
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{url}/?test=enh1&PROLIFIC_PID=crowd-{name}")
            page.get_by_text("Enhancement listening test 1").wait_for()  # from the id
            page.get_by_label("I agree").wait_for()
            assert page.locator("[role=tab]:visible").count() == 0
            assert not page.get_by_text("Emotion & Enhancement Studio").first.is_visible()
            assert page.locator("footer:visible").count() == 0
            assert not page.get_by_text("Use via API").is_visible()
            assert not session_file(sessions, f"crowd-{name}").exists()  # a visit: no session
            page.screenshot(path=str(tmp_path / f"crowd_{name}.png"), full_page=True)
            page.get_by_label("I agree").check()
            page.get_by_role("button", name="Start").click()
            page.get_by_text("How many beeps").wait_for()
            assert page.get_by_text("Beep clip").is_visible()
            assert page.locator("#mos-submit").inner_text().strip() == "Check"
            assert not page.get_by_text("Speech sample").is_visible()
            assert session_file(sessions, f"crowd-{name}").exists()  # Start made it
            page.close()
        assert len(list(sessions.glob("*.json"))) == 2
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{url}/?test=open1&PROLIFIC_PID=p2")  # crowd mode off: the studio stays
        page.get_by_label("I agree").wait_for()
        page.get_by_role("tab", name="Listening test", selected=True).wait_for()
        assert page.get_by_role("tab", name="About").is_visible()
        browser.close()


def test_a_page_from_before_a_restart_says_to_reload(tmp_path: Path, chromium_launch):
    """A server that lost its live pages (a restart) refuses the old page's submit; the page
    says to reload, and the reload resumes at the same clip."""
    playwright = pytest.importorskip("playwright.sync_api")
    root = tmp_path / "ratings"
    make_test(root, test_id="demo", items=2, items_per_session=2, training=0, seconds=0.5)
    with gr.Blocks() as demo:
        with gr.Tab("Listening test"):
            flows = build_listening_tab(ratings_root=root)
    with serve(demo) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(**chromium_launch)
        page = start_phone_session(browser, f"{url}/?PROLIFIC_PID=r1", timeout_ms=TIMEOUT_MS)
        page.get_by_text("Clip 1 of 2").wait_for()
        play_until_answer_unlocked(page)
        flows.pages = PageBook()  # what a restarted server knows of the pages shown before
        page.locator("#mos-choice label", has_text="4 Good").click()
        page.locator("#mos-submit").click()
        page.get_by_text("This page is out of date").wait_for()
        assert page.locator("#mos-submit").is_disabled()
        page.reload()
        page.get_by_text("Clip 1 of 2").wait_for()
        browser.close()
    store = RatingStore(root / "demo" / "ratings.csv")
    assert not store.path.exists() or read_ratings(store.path).empty
