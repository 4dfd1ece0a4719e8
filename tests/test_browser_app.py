"""Real browser: headless Debian chromium (playwright) uploads speech in both tabs.

Uses the system chromium (``/usr/bin/chromium``, installed by the test command with apt);
never ``playwright install``. Screenshots are saved under ``tmp_path`` as test artifacts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000
DNSMOS_TIMEOUT_MS = 240_000


@pytest.fixture(scope="module")
def page(browser, studio_url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(studio_url)
    for name in ("Emotion conversion", "Speech enhancement", "Listening test", "Results", "About"):
        page.get_by_role("tab", name=name).wait_for()
    yield page
    page.close()


def _upload_and_run(page, prefix: str, speech: Path) -> None:
    page.locator(f"#{prefix}-input input[type=file]").set_input_files(str(speech))
    page.locator(f"#{prefix}-input audio, #{prefix}-input .waveform-container").first.wait_for(
        state="attached"
    )
    page.locator(f"#{prefix}-button").click()
    page.locator(f"#{prefix}-output audio").first.wait_for(state="attached")


def test_conversion_tab_in_browser(page, real_speech: Path, tmp_path: Path) -> None:
    page.get_by_role("tab", name="Emotion conversion").click()
    page.get_by_label("happy").check()
    _upload_and_run(page, "convert", real_speech)
    page.get_by_text("Converted to").first.wait_for()
    page.locator("#convert-f0 img").wait_for()
    page.locator("#convert-spectrograms img").wait_for()
    page.screenshot(path=str(tmp_path / "conversion.png"), full_page=True)
    assert (tmp_path / "conversion.png").stat().st_size > 10_000


def test_enhancement_tab_in_browser(page, real_speech: Path, tmp_path: Path) -> None:
    page.get_by_role("tab", name="Speech enhancement").click()
    _upload_and_run(page, "enhance", real_speech)
    page.locator("#enhance-spectrograms img").wait_for()
    # DNSMOS's first call JIT-compiles librosa features: allow for a slow, busy machine
    page.get_by_text("DNSMOS P.835").first.wait_for(timeout=DNSMOS_TIMEOUT_MS)
    page.screenshot(path=str(tmp_path / "enhancement.png"), full_page=True)
    assert (tmp_path / "enhancement.png").stat().st_size > 10_000


def test_about_tab_shows_model_cards(page, tmp_path: Path) -> None:
    page.get_by_role("tab", name="About").click()
    cards = page.locator("#model-cards")
    cards.get_by_text("Where the labels came from").first.wait_for()
    page.screenshot(path=str(tmp_path / "about.png"), full_page=True)


def test_listener_links_open_the_listening_test(browser, studio_url: str) -> None:
    page = browser.new_page()
    try:
        page.goto(studio_url + "?PROLIFIC_PID=abc123")
        page.get_by_role("tab", name="Listening test", selected=True).wait_for(timeout=TIMEOUT_MS)
    finally:
        page.close()
