"""Shared test fixtures: a synthetic voice (:mod:`pipeline.signals`) and a real speech clip.

Real speech: the integration tests want a real human voice. CI has no ``data/`` folder, so
:func:`real_speech` takes one prompt from the Debian package ``asterisk-core-sounds-en-g722``
(CC-BY-SA-3.0, ~10 MB) fetched with ``apt-get download`` + ``dpkg -x`` through
:mod:`pipeline.corpora.debian` into a per-user cache (``$STUDIO_TEST_CACHE`` or
``~/.cache/studio-tests``) and decodes it with ffmpeg. A cache that already holds the
extracted package (``$STUDIO_DEB_CACHE``, e.g. the corpora helper's cache) is reused. When
neither the network nor ffmpeg is available the fixture falls back to the synthetic voice
below and warns, so the suite still runs offline.
"""

from __future__ import annotations

import contextlib
import csv
import os
import random
import shutil
import socket
import subprocess
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.mos.assignment import new_order
from pipeline.mos.definition import Stimulus, TestDefinition
from pipeline.mos.pg_local import PostgresUnavailable, local_postgres
from pipeline.mos.simulate import TINY_EMOTION_GAN_SIZE
from pipeline.signals import synthetic_voice

SPEECH_PACKAGE = "asterisk-core-sounds-en-g722"
SPEECH_PROMPT = "vm-tocallback"  # "To call this person back, press ..." — ~2.5 s, one female voice


#: emotion → (F0 factor, level factor) of the synthetic "acted" voices
STYLE = {"neutral": (1.0, 1.0), "happy": (1.35, 1.2), "angry": (1.2, 1.8), "sad": (0.85, 0.5)}


def manifest_row(
    path: str, kind: str, speaker: str, split: str, *, source: str = "fake", **overrides
) -> dict:
    """One corpus manifest row (``MANIFEST_COLUMNS``) for a fake ``source``: a 0.5 s English
    dialogue clip (``kind="speech"``) or an ambience clip; ``overrides`` replace columns."""
    row = {
        "path": path,
        "kind": kind,
        "source": source,
        "source_package": f"{source}-data",
        "speaker": speaker,
        "language": "en" if kind == "speech" else "",
        "licence": "CC0",
        "duration_s": 0.5,
        "dialog_id": Path(path).stem,
        "text": "",
        "text_en": "",
        "category": "dialogue" if kind == "speech" else "ambience",
        "split": split,
        "raw": path,
    }
    return row | overrides


def make_emotion_corpus(root: Path, *, clips_per_cell: int = 2) -> Path:
    """Synthetic voices of 3 speakers x 4 emotions under ``root``; returns the label table."""
    rows = []
    for s, (speaker, f0, split) in enumerate(
        (("a", 120.0, "train"), ("b", 210.0, "train"), ("c", 160.0, "valid"))
    ):
        for e, (emotion, (f0_factor, level)) in enumerate(STYLE.items()):
            for k in range(clips_per_cell):
                wave = level * synthetic_voice(
                    0.9, 16_000, f0_hz=f0 * f0_factor, seed=100 * s + 10 * e + k
                )
                rel = Path("speech") / speaker / f"{emotion}_{k}.wav"
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                sf.write(root / rel, np.clip(wave, -1, 1), 16_000, subtype="PCM_16")
                rows.append(
                    {"path": str(rel), "speaker": speaker, "emotion": emotion, "split": split}
                )
    table = root / "emotion" / "labels.csv"
    table.parent.mkdir(parents=True)
    return write_csv(table, rows)


def write_csv(path: Path, rows: list[dict]) -> Path:
    """``rows`` as a CSV file at ``path`` (the header: the first row's keys); returns ``path``."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_noisy_pair(
    folder: Path, item: str, clean: np.ndarray, sr: int, snr: float, rng: np.random.Generator
) -> dict:
    """White noise from ``rng`` at ``snr`` dB over ``clean``; ``folder/clean/<item>.wav`` and
    ``folder/noisy/<item>.wav`` (16-bit) written; returns the pair's test-set CSV columns."""
    noise = rng.standard_normal(len(clean)).astype(np.float32)
    noise *= np.sqrt(np.mean(clean**2) / np.mean(noise**2) / 10 ** (snr / 10))
    for sub, wave in (("clean", clean), ("noisy", np.clip(clean + noise, -1, 1))):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        sf.write(folder / sub / f"{item}.wav", wave, sr, subtype="PCM_16")
    return {
        "id": item,
        "clean_path": f"clean/{item}.wav",
        "noisy_path": f"noisy/{item}.wav",
        "snr_db": snr,
    }


#: --set overrides for a tiny emotion GAN (smoke and DDP tests)
TINY_EMOTION_GAN = [
    *TINY_EMOTION_GAN_SIZE,
    "train.log_every=2",
    "train.val_every=3",
    "train.ckpt_every=3",
    "train.best_metric=c_acc_converted",
    "loss.lambda_moment=1.0",
]


def tiny_emotion_run(
    root: Path, table: Path, *, steps: int, data: dict | None = None, train: dict | None = None
) -> tuple[list[str], Path]:
    """A tiny emotion-GAN run on label table ``table``: writes ``root/cfg.yaml`` (``steps``
    steps into ``root/run``, plus the ``data``/``train`` keys given) and returns the
    ``python -m pipeline.train`` arguments (with the :data:`TINY_EMOTION_GAN` overrides) and
    the run folder. The caller points ``STUDIO_DATA`` at ``root``."""
    out = root / "run"
    config = root / "cfg.yaml"
    sections = {
        "data": {"label_table": str(table), **(data or {})},
        "train": {"out_dir": str(out), "steps": steps, **(train or {})},
    }
    config.write_text(yaml.safe_dump(sections), encoding="utf-8")
    sets = [x for item in TINY_EMOTION_GAN for x in ("--set", item)]
    return ["emotion", "--config", str(config), *sets], out


@pytest.fixture
def voice() -> tuple[np.ndarray, int]:
    """``(wave, sr)``: 1.5 s of :func:`synthetic_voice` at 16 kHz."""
    return synthetic_voice(), 16_000


@pytest.fixture
def voice_wav(tmp_path: Path) -> Path:
    """:func:`synthetic_voice` written as a 22.05 kHz PCM-16 wav file."""
    path = tmp_path / "voice.wav"
    sf.write(path, synthetic_voice(1.5, 22_050), 22_050, subtype="PCM_16")
    return path


def _deb_cache() -> Path:
    return Path(os.environ.get("STUDIO_TEST_CACHE", Path.home() / ".cache" / "studio-tests"))


def _find_prompt(root: Path) -> Path | None:
    hits = sorted(root.glob(f"usr/share/asterisk/sounds/*/{SPEECH_PROMPT}.g722"))
    return hits[0] if hits else None


def _fetch_real_speech(out: Path) -> Path:
    """Decode the real prompt to ``out`` (16 kHz wav); raise RuntimeError when impossible."""
    from pipeline.corpora import CorpusError
    from pipeline.corpora.debian import extract_dir, fetch

    prompt = None
    for cache in filter(None, (os.environ.get("STUDIO_DEB_CACHE"), str(_deb_cache()))):
        root = extract_dir(SPEECH_PACKAGE, cache)
        prompt = _find_prompt(root) if root.is_dir() else None
        if prompt:
            break
    if prompt is None:
        try:
            prompt = _find_prompt(fetch(SPEECH_PACKAGE, _deb_cache()))
        except CorpusError as err:
            raise RuntimeError(str(err)) from err
    if prompt is None or shutil.which("ffmpeg") is None:
        raise RuntimeError("speech prompt or ffmpeg missing")
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "g722", "-i", str(prompt), "-ar", "16000", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {proc.stderr.strip()[-200:]}")
    return out


@pytest.fixture(scope="session")
def real_speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path to a wav of real human speech (see module docstring; synthetic fallback)."""
    out = tmp_path_factory.mktemp("speech") / "speech.wav"
    try:
        return _fetch_real_speech(out)
    except RuntimeError as err:
        warnings.warn(f"real speech unavailable ({err}); using a synthetic voice", stacklevel=1)
        sf.write(out, synthetic_voice(2.5, 16_000), 16_000, subtype="PCM_16")
        return out


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
)


@pytest.fixture(scope="session")
def chromium_launch() -> dict:
    """Keyword arguments for ``playwright.chromium.launch``: Debian's chromium, headless,
    with no background networking (never ``playwright install``)."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"chromium not found at {CHROMIUM}: run the README test command")
    return {"executable_path": CHROMIUM, "args": list(CHROMIUM_ARGS)}


@pytest.fixture(scope="module")
def browser(chromium_launch):
    """One headless chromium (playwright) shared by a test module's pages."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium_launch)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def serve(demo) -> Iterator[str]:
    """Launch a Gradio Blocks on a free loopback port; yield its URL; close it afterwards."""
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        demo.close()


def assign_listeners(
    stimuli: list[Stimulus], per_session: int, listeners: int, seed: int
) -> Iterator[tuple[list[str], Counter]]:
    """Deal sessions of ``per_session`` stimuli to ``listeners`` listeners in turn (an ACR
    test, ``new_order`` with a seeded rng); yield each listener's order of stimulus ids and
    the votes per stimulus id counted so far, this listener's included."""
    definition = TestDefinition(
        test_id="t", title="t", question="acr", stimuli=stimuli, items_per_session=per_session
    )
    rng = random.Random(seed)
    load: Counter = Counter({s.id: 0 for s in stimuli})
    for _ in range(listeners):
        order, _ = new_order(definition, load, rng)
        load.update(order)
        yield order, load


def assignment_property(examples: int, **ranges: tuple[int, int]):
    """``@settings`` + ``@given`` of a balanced-assignment property: ``examples`` examples,
    each argument named in ``ranges`` an integer in its (low, high) and ``seed`` in 0..10 000."""
    strategies = {name: st.integers(*bounds) for name, bounds in ranges.items()}
    strategies["seed"] = st.integers(0, 10_000)

    def decorate(test):
        return settings(max_examples=examples, deadline=None)(given(**strategies)(test))

    return decorate


def start_phone_session(browser, address: str, *, timeout_ms: int):
    """A phone-sized (390 x 844) page of ``browser`` at ``address`` past consent and Start."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.set_default_timeout(timeout_ms)
    page.goto(address)
    page.get_by_label("I agree").check()
    page.get_by_role("button", name="Start").click()
    return page


def play_until_answer_unlocked(page) -> None:
    """Play every visible MOS clip to the end; play again while the submit button stays
    locked (a click that lands while the player is still decoding does not start playback)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(4):
        for player in page.locator("[id^=mos-player-]:visible").all():
            player.locator("button.play-pause-button").click()
            page.wait_for_timeout(900)  # 0.5 s clips
        try:
            page.wait_for_function("!document.querySelector('#mos-submit').disabled", timeout=3_000)
            break
        except PlaywrightTimeout:
            continue


def free_port() -> int:
    """A TCP port nothing listens on right now (bound to 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def studio_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The studio app launched in-process on a free port (shared by the app/browser tests).

    Listening-test ratings go to a temporary folder, never into the repository.
    """
    import app
    from pipeline.registry import Registry

    ratings = tmp_path_factory.mktemp("ratings")
    argv = ["--host", "127.0.0.1", "--port", str(free_port()), "--ratings-root", str(ratings)]
    args = app.parse_args(argv)
    demo = app.build_app(Registry(), ratings_root=ratings).queue(default_concurrency_limit=2)
    kwargs = app.launch_kwargs(args)
    demo.launch(prevent_thread_lock=True, quiet=True, **kwargs)
    try:
        yield demo.local_url
    finally:
        demo.close()


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL server per test module (Debian postgresql); skip without it."""
    try:
        with local_postgres() as server:
            yield server.url
    except PostgresUnavailable as err:
        pytest.skip(str(err))
