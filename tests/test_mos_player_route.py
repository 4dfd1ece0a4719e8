"""The listener routes outside Gradio (ui/listener_routes.py): the player route binds play
state to the page token, unlocks only after every clip ended after enough play time, and
refuses bad tokens, malformed and large bodies and floods; the clip route serves only the
clip cache's ``<digest>/audio.wav``."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from pipeline.mos.forms import AnswerForm
from pipeline.mos.listening import PlayTracker
from pipeline.mos.pages import MAX_EVENTS_PER_PAGE, Page, PageBook
from ui import listener_routes
from ui.listener_routes import FILE_PREFIX, MAX_BODY, PLAYER_PATH, SUBMIT_PATH, install


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fallback(request):
    return PlainTextResponse("gradio", status_code=418)


def page(listener: str = "L1", clips: int = 1, seconds: float = 2.0) -> Page:
    return Page(
        test_id="t",
        listener_id=listener,
        kind="rating",
        ref="s1",
        form=AnswerForm("acr", (("5", 5),)),
        trackers=[PlayTracker(seconds) for _ in range(clips)],
    )


@pytest.fixture
def setup(tmp_path: Path):
    """An app with the listener routes over a page book and a clip cache under tmp_path."""
    books = [PageBook()]
    clock = Clock()
    clip_root = tmp_path / "clips"
    app = Starlette(
        routes=[
            Route(PLAYER_PATH, listener_routes.player_endpoint(books, clock), methods=["POST"]),
            *listener_routes.routes(books, clip_root)[1:],
            Route("/{rest:path}", fallback, methods=["GET", "POST"]),
        ]
    )
    return TestClient(app), books[0], clock, clip_root


def send(client: TestClient, token: str, clip: int, event: str):
    return client.post(PLAYER_PATH, json={"page": token, "clip": clip, "event": event})


def test_end_unlocks_only_after_enough_play_time(setup):
    client, book, clock, _ = setup
    token = book.add(page(clips=2))
    assert send(client, token, 0, "play").json() == {"ready": False}
    clock.now += 2.0
    assert send(client, token, 0, "end").json() == {"ready": False}  # clip 1 not played
    assert send(client, token, 1, "play").json() == {"ready": False}
    clock.now += 0.5  # seeking to the end is not listening
    assert send(client, token, 1, "end").json() == {"ready": False}
    assert send(client, token, 1, "play").json() == {"ready": False}
    clock.now += 2.0
    assert send(client, token, 1, "end").json() == {"ready": True}
    assert book.get(token).trackers[1].play_count == 2


def test_play_state_is_bound_to_the_page_token(setup):
    client, book, clock, _ = setup
    first, second = book.add(page()), book.add(page())  # two tabs of one listener
    send(client, first, 0, "play")
    clock.now += 2.5
    assert send(client, first, 0, "end").json() == {"ready": True}
    assert not book.get(second).complete()
    assert send(client, second, 0, "end").json() == {"ready": False}
    assert not book.get(second).complete()


def test_unknown_and_malformed_tokens(setup):
    client, book, _, _ = setup
    token = book.add(page())
    unknown = "0" * 32
    r = send(client, unknown, 0, "end")
    assert (r.status_code, r.json()) == (404, {"ready": False})
    assert send(client, token, 5, "end").status_code == 404  # no such clip on this page
    for bad in ("", token[:-1], token.upper(), token + "0", "../" + token[3:], None, 7):
        assert send(client, bad, 0, "end").status_code == 400, bad
    assert not book.get(token).trackers[0].ended


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"page": "%s", "clip": "0", "event": "end"}',
        b'{"page": "%s", "clip": true, "event": "end"}',
        b'{"page": "%s", "clip": -1, "event": "end"}',
        b'{"page": "%s", "clip": 0, "event": "seek"}',
        b'{"page": "%s", "clip": 0}',
        b"\xff\xfe",
    ],
)
def test_malformed_bodies_are_refused(setup, body: bytes):
    client, book, _, _ = setup
    token = book.add(page())
    if b"%s" in body:
        body = body % token.encode()
    r = client.post(PLAYER_PATH, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert book.get(token).events == 0


def test_body_limit(setup):
    client, book, _, _ = setup
    token = book.add(page())
    padded = json.dumps({"page": token, "clip": 0, "event": "play", "pad": "x" * MAX_BODY})
    assert client.post(PLAYER_PATH, content=padded).status_code == 413

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(MAX_BODY):
            yield b"xx"

    assert client.post(PLAYER_PATH, content=chunks()).status_code == 413
    lying = {"content-length": "abc"}
    assert client.post(PLAYER_PATH, content=b"{}", headers=lying).status_code in (400, 413)
    assert book.get(token).events == 0
    assert client.get(PLAYER_PATH).status_code == 418  # POST only: a GET goes on


def test_events_per_page_are_bounded(setup):
    client, book, clock, _ = setup
    token = book.add(page())
    for _ in range(MAX_EVENTS_PER_PAGE // 2):
        send(client, token, 0, "play")
        send(client, token, 0, "pause")
    assert send(client, token, 0, "end").status_code == 429
    assert not book.get(token).trackers[0].ended
    other = book.add(page())
    assert send(client, other, 0, "play").status_code == 200  # other pages are not affected


def publish(clip_root: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()[:32]
    (clip_root / digest).mkdir(parents=True)
    (clip_root / digest / "audio.wav").write_bytes(data)
    return digest


def test_clip_route_serves_only_the_clip_cache(setup, tmp_path: Path):
    client, _, _, clip_root = setup
    digest = publish(clip_root, b"RIFF-clip-bytes")
    (clip_root / "secret.txt").write_text("no")
    (tmp_path / "ratings.csv").write_text("no")
    url = f"{FILE_PREFIX}{clip_root.as_posix()}/{digest}/audio.wav"
    r = client.get(url)
    assert r.status_code == 200 and r.content == b"RIFF-clip-bytes"
    assert "immutable" in r.headers["cache-control"]
    assert r.headers["content-type"] == "audio/wav"
    again = client.get(url, headers={"if-none-match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    part = client.get(url, headers={"range": "bytes=0-3"})
    assert part.status_code == 206 and part.content == b"RIFF"
    assert client.head(url).status_code == 200
    # anything else is not this route's: it goes on to the app's own route (here: 418)
    root = clip_root.as_posix()
    others = [
        f"{FILE_PREFIX}{root}/{digest}/other.wav",
        f"{FILE_PREFIX}{root}/secret.txt",
        f"{FILE_PREFIX}{root}/{digest}/../secret.txt/audio.wav",
        f"{FILE_PREFIX}{root}/..%2f..%2fratings.csv/audio.wav",
        f"{FILE_PREFIX}{tmp_path.as_posix()}/ratings.csv",
    ]
    for path in others:
        assert client.get(path).status_code in (404, 418), path
    missing = f"{FILE_PREFIX}{root}/{'0' * 32}/audio.wav"
    assert client.get(missing).status_code == 404
    not_hex = f"{FILE_PREFIX}{root}/{'g' * 32}/audio.wav"
    assert client.get(not_hex).status_code == 404


class FakeApp:
    """What install() needs of a Starlette app: a router and a state."""

    def __init__(self, auth=None) -> None:
        self.router = Starlette(routes=[Route("/{rest:path}", fallback)]).router
        self.state = type("State", (), {})()
        self.auth = auth


def test_install_once_in_front_and_no_clip_route_behind_a_login(tmp_path: Path):
    lock = threading.Lock()
    app, pages = FakeApp(), PageBook()
    assert install(app, pages, tmp_path, lock) is True
    assert install(app, pages, tmp_path, lock) is False
    paths = [route.path for route in app.router.routes]
    assert paths[:2] == [PLAYER_PATH, SUBMIT_PATH] and paths[2].startswith(FILE_PREFIX)
    assert len(paths) == 4
    other = PageBook()  # a second listening tab in the same app: its pages are found too
    assert install(app, other, tmp_path, lock) is True
    assert len(app.router.routes) == 4
    client = TestClient(Starlette(routes=app.router.routes))
    token = other.add(page())
    assert send(client, token, 0, "play").json() == {"ready": False}

    guarded = FakeApp(auth={"user": "pw"})
    install(guarded, PageBook(), tmp_path, lock)
    assert [route.path for route in guarded.router.routes][:2] == [PLAYER_PATH, SUBMIT_PATH]
    assert len(guarded.router.routes) == 3  # clips stay behind Gradio's login check
