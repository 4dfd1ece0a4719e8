"""Serving limits and hygiene: one request's total upload size, rejected uploads deleted,
output file modes, plain-text API status, the launch message's flags."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import gradio as gr
import httpx
import pytest
import soundfile as sf
from conftest import free_port
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import app
from pipeline.registry import Registry
from pipeline.signals import synthetic_voice
from pipeline.streaming import enhance_file
from ui.common import discard_upload, load_input
from ui.conversion import ConversionHandlers
from ui.enhancement import EnhancementHandlers
from ui.serving import UPLOADS_CLOSED, ClosedRoutes, RequestSizeLimit

LIMIT = 1_000


def _echo_app() -> Starlette:
    async def echo(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"got {len(await request.body())}")

    return Starlette(
        routes=[Route("/upload", echo, methods=["POST"])],
        middleware=[Middleware(RequestSizeLimit, max_bytes=LIMIT)],
    )


async def _post(body, headers: dict | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=_echo_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post("/upload", content=body, headers=headers)


@pytest.mark.anyio
async def test_request_over_the_total_is_refused_with_one_line() -> None:
    small = await _post(b"x" * LIMIT)
    assert (small.status_code, small.text) == (200, f"got {LIMIT}")
    big = await _post(b"x" * (LIMIT + 1))
    assert big.status_code == 413
    assert big.text.startswith("upload too large") and "\n" not in big.text


@pytest.mark.anyio
async def test_chunked_request_without_length_is_cut_off() -> None:
    async def chunks():
        for _ in range(5):
            yield b"x" * 400

    response = await _post(chunks())
    assert response.status_code == 413 and "upload too large" in response.text


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_app_refuses_three_files_in_one_upload_request(tmp_path: Path) -> None:
    """Three files, each under the per-file limit, in one request: refused as a whole."""
    from ui import serving

    demo = app.build_app(Registry(tmp_path / "none"), ratings_root=tmp_path)
    args = app.parse_args(["--port", str(free_port()), "--ratings-root", str(tmp_path)])
    kwargs = app.launch_kwargs(args)
    kwargs["app_kwargs"] = {"middleware": [Middleware(RequestSizeLimit, max_bytes=3 * 2**20)]}
    kwargs["max_file_size"] = 2**20 + 10_000
    demo.launch(prevent_thread_lock=True, quiet=True, **kwargs)
    try:
        files = [("files", (f"f{i}.wav", b"\0" * 2**20, "audio/wav")) for i in range(3)]
        big = httpx.post(f"{demo.local_url}gradio_api/upload", files=files, timeout=60)
        one = httpx.post(f"{demo.local_url}gradio_api/upload", files=files[:1], timeout=60)
    finally:
        demo.close()
    assert big.status_code == 413 and big.text.startswith("upload too large")
    assert one.status_code == 200
    assert serving.MAX_REQUEST_BYTES > 100 * 2**20  # the real limit: one 100 MB file fits


def test_listening_only_server_refuses_uploads(tmp_path: Path) -> None:
    """With only the listening test served, the upload route answers 403 with one line;
    the page itself is served."""
    argv = ["--port", str(free_port()), "--ratings-root", str(tmp_path), "--listening-only"]
    demo = app.build_app(Registry(tmp_path / "none"), ratings_root=tmp_path, listening_only=True)
    demo.launch(prevent_thread_lock=True, quiet=True, **app.launch_kwargs(app.parse_args(argv)))
    files = [("files", ("f.wav", b"\0" * 1000, "audio/wav"))]
    try:
        plain = httpx.post(f"{demo.local_url}gradio_api/upload", files=files, timeout=60)
        slash = httpx.post(f"{demo.local_url}gradio_api/upload/", files=files, timeout=60)
        progress = httpx.get(f"{demo.local_url}gradio_api/upload_progress?upload_id=x", timeout=60)
        page = httpx.get(demo.local_url, timeout=60)
    finally:
        demo.close()
    assert (plain.status_code, plain.text) == (403, UPLOADS_CLOSED)
    assert slash.status_code == 403 and progress.status_code == 403
    assert page.status_code == 200


@pytest.mark.anyio
async def test_closed_routes_match_below_a_mount_path_only_those_routes() -> None:
    app_ = Starlette(
        routes=[
            Route("/{path:path}", lambda r: PlainTextResponse("open"), methods=["GET", "POST"])
        ],
        middleware=[Middleware(ClosedRoutes)],
    )
    transport = httpx.ASGITransport(app=app_)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        mounted = await client.post("/studio/gradio_api/upload")
        other = await client.post("/gradio_api/queue/join")
        lookalike = await client.post("/gradio_api/uploads")
    assert (mounted.status_code, mounted.text) == (403, UPLOADS_CLOSED)
    assert (other.text, lookalike.text) == ("open", "open")


def test_rejected_upload_is_deleted_other_files_never(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uploads = tmp_path / "gradio"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(uploads))
    (uploads / "abc").mkdir(parents=True)
    bad = uploads / "abc" / "bad.wav"
    bad.write_bytes(b"not audio" * 50)
    with pytest.raises(gr.Error, match="not a readable audio file"):
        load_input(str(bad))
    assert not bad.exists()
    outside = tmp_path / "mine.wav"
    outside.write_bytes(b"not audio" * 50)
    with pytest.raises(gr.Error):
        load_input(str(outside))
    assert outside.exists() and not discard_upload(outside)


def test_streamed_output_has_the_usual_mode(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.wav", tmp_path / "out" / "clean.wav"
    sf.write(src, synthetic_voice(1.0, 16_000), 16_000)
    enhance_file(Registry(tmp_path / "none").get("enhance", "dsp"), src, dst)
    assert stat.S_IMODE(os.stat(dst).st_mode) == 0o644


def test_api_status_is_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "voice.wav"
    sf.write(path, synthetic_voice(1.0, 16_000), 16_000)
    registry = Registry(tmp_path / "none")
    _, enhanced = EnhancementHandlers(registry).enhance(str(path), "dsp", progress=_quiet)
    _, converted = ConversionHandlers(registry).convert(
        str(path), "sad", 0.5, "dsp", True, progress=_quiet
    )
    for status in (enhanced, converted):
        assert not any(mark in status for mark in ("`", "**", "_", "#")), status
    assert "dsp" in enhanced and "sad" in converted


def test_launch_message_names_the_flag_not_the_function() -> None:
    local = app.launch_message("http://127.0.0.1:7860/", None)
    assert "--share" in local and "share=True" not in local and "launch()" not in local
    shared = app.launch_message("http://127.0.0.1:7860/", "https://abc.gradio.live")
    assert "https://abc.gradio.live" in shared


def _quiet(*_args, **_kwargs) -> None:
    return None


def test_example_clips_survive_the_cache_clean_up(tmp_path: Path) -> None:
    """Gradio's delete_cache removes old files of the app, but never the example clips that
    were cached while the app was built (else the examples break after DELETE_AFTER_S)."""
    from gradio.route_utils import delete_files_created_by_app

    demo = app.build_app(Registry(), ratings_root=tmp_path)
    cached = set().union(*demo.temp_file_sets)
    assert any(path.endswith(".flac") for path in cached)  # the examples/ clips
    delete_files_created_by_app(demo, age=None)  # what shutdown or an old age does
    assert all(Path(path).is_file() for path in cached)
