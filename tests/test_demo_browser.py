"""Real browser (Debian chromium via playwright): examples run on one click, the Compare view
renders every system, its exported samples page plays from disk, and screenshots of every
tab at desktop (1280 px) and mobile (390 px) width.

Screenshots go to ``$STUDIO_SCREENSHOTS`` when set (e.g. for a reviewer), else ``tmp_path``.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from pipeline.demo.site import slug
from pipeline.registry import Registry

pytestmark = pytest.mark.browser

TIMEOUT_MS = 120_000
#: the first DNSMOS call JIT-compiles librosa features; compare runs every system
SLOW_MS = 400_000
TABS = ("Emotion conversion", "Speech enhancement", "Compare", "Listening test", "Results", "About")


def new_page(browser, url: str, width: int = 1280):
    page = browser.new_page(viewport={"width": width, "height": 900}, accept_downloads=True)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.locator("[role=tab]").first.wait_for()
    return page


def open_tab(page, name: str) -> None:
    """Click a top-level tab, through Gradio's "More tabs" menu when it overflowed (mobile)."""
    tab = page.get_by_role("tab", name=name, exact=True)
    if tab.count() and tab.first.is_visible():
        tab.first.click()
        return
    page.get_by_label("More tabs").first.click()
    page.locator(".overflow-dropdown button", has_text=name).first.click()


def shots_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("STUDIO_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_example_click_produces_output(browser, studio_url: str, tmp_path: Path) -> None:
    page = new_page(browser, studio_url)
    try:
        open_tab(page, "Speech enhancement")
        page.locator("#enhance-examples").get_by_text("tt-weasels").click()
        page.locator("#enhance-output audio").first.wait_for(state="attached")
        page.get_by_text("Enhanced 3.0 s").first.wait_for()
        page.locator("#enhance-spectrograms img").wait_for()
        open_tab(page, "Emotion conversion")
        page.locator("#convert-examples").get_by_text("vm-nobodyavail").click()
        page.locator("#convert-output audio").first.wait_for(state="attached")
        page.get_by_text("Converted to").first.wait_for()
        page.locator("#convert-f0 img").wait_for(timeout=SLOW_MS)
        path = shots_dir(tmp_path) / "example_conversion_1280.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
    finally:
        page.close()


@pytest.fixture(scope="module")
def compared(browser, studio_url: str, tmp_path_factory):
    """The Compare view after running the first enhancement example: (page, zip path)."""
    page = new_page(browser, studio_url)
    open_tab(page, "Compare")
    page.locator("#compare-enhance-examples").get_by_text("tt-weasels").click()
    page.locator(
        "#compare-enhance-input audio, #compare-enhance-input .waveform-container"
    ).first.wait_for(state="attached")
    page.locator("#compare-enhance-button").click()
    link = page.locator("#compare-enhance-download a").first
    link.wait_for(state="attached", timeout=SLOW_MS)
    with page.expect_download() as info:
        link.click()
    archive = tmp_path_factory.mktemp("samples") / "samples.zip"
    info.value.save_as(archive)
    yield page, archive
    page.close()


def test_compare_view_renders_all_systems(compared, tmp_path: Path) -> None:
    page, _ = compared
    names = Registry().names("enhance")
    assert len(names) >= 2
    for name in ["input", *names]:
        cell = page.locator(f"#compare-enhance-cell-{slug(name)}")
        cell.locator("audio").first.wait_for(state="attached")
        cell.locator("img").first.wait_for()
        assert "OVRL" in cell.inner_text()
    path = shots_dir(tmp_path) / "compare_result_1280.png"
    page.screenshot(path=str(path), full_page=True)


def test_exported_samples_page_plays_from_disk(browser, compared, tmp_path: Path) -> None:
    _, archive = compared
    site = tmp_path / "site"
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(site)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto((site / "index.html").as_uri())
        page.wait_for_function(
            "[...document.querySelectorAll('audio')].every(a => a.readyState > 0)",
            timeout=TIMEOUT_MS,
        )
        audio = page.eval_on_selector_all(
            "audio", "els => els.map(a => [a.readyState, a.duration])"
        )
        images = page.eval_on_selector_all("img", "els => els.map(i => i.naturalWidth)")
        assert len(audio) == len(Registry().names("enhance")) + 1
        assert all(state > 0 and duration > 2.0 for state, duration in audio)
        assert len(images) == len(audio) and all(width > 100 for width in images)
        path = shots_dir(tmp_path) / "samples_page_1280.png"
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_screenshots_of_every_tab(browser, studio_url: str, tmp_path: Path, width: int) -> None:
    page = new_page(browser, studio_url, width)
    try:
        folder = shots_dir(tmp_path)
        for name in TABS:
            open_tab(page, name)
            if name == "About":
                page.locator("#model-cards").get_by_text("Key figures").first.wait_for()
            page.wait_for_timeout(500)
            path = folder / f"tab_{slug(name)}_{width}.png"
            page.screenshot(path=str(path), full_page=True)
            assert path.stat().st_size > 5_000
    finally:
        page.close()
