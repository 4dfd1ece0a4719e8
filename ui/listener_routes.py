"""The listening test's two frequent requests, served outside Gradio's request path.

A rated clip costs the server one clip download, a player "play" and an "end" besides the
submit. Through Gradio these cost about 2.3, 3.0 and 3.5 ms of CPU each (dependency solving,
session state, output post-processing); as plain Starlette routes they cost a fraction of
that (docs/CROWD.md, "Speed under many listeners"). Both are installed in front of Gradio's
routes of the app that serves the tab (:func:`install`, called by the tab's page load):

``POST <root>/mos/player`` with ``{"page": <token>, "clip": <index>, "event": "play" |
"pause" | "end"}``
    Records a player event for the page instance that holds ``token`` (its random page id,
    which only the page it was rendered for knows) and answers ``{"ready": true}`` once every
    clip of that page was played to the end. The page's js unlocks the answer only then; the
    server enforces it again on submit. Bounded: a body of at most :data:`MAX_BODY` bytes,
    at most :data:`~pipeline.mos.pages.MAX_EVENTS_PER_PAGE` events per page (429 beyond),
    404 for an unknown page, 400 for anything malformed.

``POST <root>/mos/submit`` with ``{"page": <token>, "answer": <choice>, "intensity": <scale
or null>, "certainty": <scale or null>}``
    Answers the page that holds ``token`` (a rating, the headphone check or a practice
    clip) and returns what the page shows next as plain JSON, which the submit button's js
    puts into the page itself (see :func:`ui.listening_parts.submit_js`): the next clip of
    the same layout, a practice answer, a message, or ``relayout`` (a new layout, which the
    page then asks Gradio for). The answer's work (one fsync-ed session file and rating)
    runs in a worker thread. Through Gradio a submit cost about 10 ms of CPU, mostly
    Gradio's (session state, dependency checks, output handling); here 2-3 ms. Bounded: a
    body of at most :data:`MAX_SUBMIT_BODY` bytes; 404 for an unknown (expired) page, 400
    for anything malformed.

``GET <root>/gradio_api/file=<clip cache>/<digest>/audio.wav``
    The immutable content-hashed clip files of :class:`~pipeline.mos.clips.ClipCache`, at the
    very URL Gradio's file route gives them, served with a year-long immutable cache header.
    Only ``<32 hex digits>/audio.wav`` directly under the clip cache matches; every other
    path goes on to Gradio's file route and its checks. Not installed when the app requires
    a login (Gradio's route then checks it).

``GET <root>/`` (with a ``page_root`` function, and no login)
    The app's page, built by Gradio's route once per root URL and then answered from
    memory (:mod:`ui.page_cache`).

No gradio import: the routes take :class:`~pipeline.mos.pages.PageBook` objects, submit
functions and a folder.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from pipeline.mos.clips import CLIP_NAME
from pipeline.mos.pages import PLAYER_EVENTS, READY, TOO_MANY, UNKNOWN, PageBook
from ui.page_cache import page_route

PLAYER_PATH = "/mos/player"
SUBMIT_PATH = "/mos/submit"
#: Gradio's file route, under which the clip cache is served
FILE_PREFIX = "/gradio_api/file="
#: the largest body the player route reads (a real one is about 70 bytes)
MAX_BODY = 256
#: the largest body the submit route reads (a real one is about 100 bytes)
MAX_SUBMIT_BODY = 1024
MAX_CLIPS = 8
#: a page token (128 random bits) and a clip's folder name (its content digest) alike
HEX32 = re.compile(r"[0-9a-f]{32}")
#: clips up to this size are read in one go on the event loop (larger: FileResponse)
INLINE_MAX = 4 << 20
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
#: the app's state key of the installed page books (one per listening tab of the app)
STATE_KEY = "mos_page_books"
#: the app's state key of the installed submit functions (one per listening tab)
SUBMITS_KEY = "mos_submit_functions"
#: a submit function: ``(token, answer) -> reply`` (JSON-ready), None for an unknown token
Submit = Callable[[str, Any], dict | None]
#: what an answer or a scale may be (a choice's value: a number or a label)
SCALAR = (str, int, float)


def parse_event(body: bytes) -> tuple[str, int, str] | None:
    """``(token, clip, event)`` of a player-route body, or None when it is malformed."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    token, clip, event = data.get("page"), data.get("clip"), data.get("event")
    if not isinstance(token, str) or not HEX32.fullmatch(token):
        return None
    if type(clip) is not int or not 0 <= clip < MAX_CLIPS or event not in PLAYER_EVENTS:
        return None
    return token, clip, event


def parse_answer(body: bytes) -> tuple[str, Any] | None:
    """``(token, answer)`` of a submit-route body, or None when it is malformed. The answer
    is the choice, or ``{"label", "intensity", "certainty"}`` when a scale is given (an
    emotion page with scales, as :class:`~pipeline.mos.emotion_answers.EmotionForm` reads
    it)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("page"), str):
        return None
    token = data["page"]
    values = [data.get(key) for key in ("answer", "intensity", "certainty")]
    if not HEX32.fullmatch(token) or any(
        v is not None and (type(v) is bool or not isinstance(v, SCALAR)) for v in values
    ):
        return None
    if any(isinstance(v, str) and len(v) > 200 for v in values):
        return None
    answer, intensity, certainty = values
    if intensity is not None or certainty is not None:
        answer = {"label": answer, "intensity": intensity, "certainty": certainty}
    return token, answer


async def read_bounded(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it declares or sends more than ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isdigit() or int(declared) > limit):
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return body


async def parsed_body(
    request: Request, limit: int, parse: Callable[[bytes], Any], what: str
) -> Any:
    """``parse`` of the request's body (at most ``limit`` bytes), or the error response:
    413 for a larger body, 400 when ``parse`` finds it malformed (returns None)."""
    body = await read_bounded(request, limit)
    if body is None:
        return PlainTextResponse("body too large", status_code=413)
    parsed = parse(body)
    if parsed is None:
        return PlainTextResponse(f"malformed {what}", status_code=400)
    return parsed


def player_endpoint(
    books: list[PageBook], clock: Callable[[], float] = time.time
) -> Callable[[Request], Any]:
    """The player route over the page books ``books`` (a list the app may extend)."""

    async def endpoint(request: Request) -> Response:
        parsed = await parsed_body(request, MAX_BODY, parse_event, "player event")
        if isinstance(parsed, Response):
            return parsed
        token, clip, event = parsed
        status = UNKNOWN
        for book in books:
            status = book.event(token, clip, event, clock())
            if status != UNKNOWN:
                break
        if status == TOO_MANY:
            return PlainTextResponse("too many player events for this page", status_code=429)
        return JSONResponse(
            {"ready": status == READY}, status_code=404 if status == UNKNOWN else 200
        )

    return endpoint


def submit_endpoint(submits: list[Submit]) -> Callable[[Request], Any]:
    """The submit route over the submit functions ``submits`` (a list the app may extend);
    the first that knows the token answers."""

    def answer(token: str, raw: Any) -> dict | None:
        for submit in submits:
            reply = submit(token, raw)
            if reply is not None:
                return reply
        return None

    async def endpoint(request: Request) -> Response:
        parsed = await parsed_body(request, MAX_SUBMIT_BODY, parse_answer, "answer")
        if isinstance(parsed, Response):
            return parsed
        reply = await run_in_threadpool(answer, *parsed)  # file writes and fsync: not here
        if reply is None:
            return JSONResponse({"expired": True}, status_code=404)
        return JSONResponse(reply)

    return endpoint


def clip_endpoint(root: Path) -> Callable[[Request], Any]:
    """The clip route over the clip cache ``root`` (``<digest>/audio.wav`` only)."""

    async def endpoint(request: Request) -> Response:
        digest = request.path_params.get("digest", "")
        path = root / digest / CLIP_NAME
        if not HEX32.fullmatch(digest) or not path.is_file():
            return PlainTextResponse("not found", status_code=404)
        etag = f'"{digest}"'  # the name is the content's hash
        headers = {**IMMUTABLE, "ETag": etag}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        large = path.stat().st_size > INLINE_MAX
        if request.method != "GET" or "range" in request.headers or large:
            return FileResponse(path, media_type="audio/wav", headers=headers)
        # a whole clip: one read on the event loop (from the page cache), no thread
        # hand-offs as FileResponse makes for its stat, open and reads
        return Response(path.read_bytes(), media_type="audio/wav", headers=headers)

    return endpoint


def routes(
    books: list[PageBook], clip_root: Path | None, submits: list[Submit] | None = None
) -> list[Route]:
    """The listener routes; the submit route only with ``submits``, the clip route only
    with a ``clip_root``."""
    found = [Route(PLAYER_PATH, player_endpoint(books), methods=["POST"])]
    if submits is not None:
        found.append(Route(SUBMIT_PATH, submit_endpoint(submits), methods=["POST"]))
    if clip_root is not None:
        clip_path = f"{FILE_PREFIX}{Path(clip_root).as_posix().rstrip('/')}/{{digest}}/{CLIP_NAME}"
        found.append(Route(clip_path, clip_endpoint(Path(clip_root)), methods=["GET", "HEAD"]))
    return found


def install(
    app: Any,
    pages: PageBook,
    clip_root: Path,
    lock: threading.Lock,
    page_root: Callable[[dict], str] | None = None,
    submit: Submit | None = None,
) -> bool:
    """Put the listener routes in front of ``app``'s routes (once per app) and make the
    player route know ``pages``. ``app`` is the Starlette/FastAPI app serving the page (a
    Gradio app: ``gr.Request.request.app``). Returns True when this call changed the app.
    With ``page_root`` (the root URL Gradio puts in the page for a request's scope), the
    app's page is also served by a :class:`ui.page_cache.PageCache`. With ``submit`` (the
    tab's submit function), the submit route answers that tab's pages.

    The router's list is replaced, not edited, so a request being routed meanwhile sees the
    old or the new list, never a list being changed. A login-protected app keeps serving clips
    and its page through Gradio's routes (they check the login); the player route needs the
    page's token.
    """
    router = getattr(app, "router", None)
    state = getattr(app, "state", None)
    if router is None or state is None:
        return False
    with lock:
        books = getattr(state, STATE_KEY, None)
        if books is not None:
            if any(book is pages for book in books):
                return False
            books.append(pages)  # another listening tab in the same app
            if submit is not None:
                getattr(state, SUBMITS_KEY).append(submit)
            return True
        books, submits = [pages], [submit] if submit is not None else []
        setattr(state, STATE_KEY, books)
        setattr(state, SUBMITS_KEY, submits)
        login = getattr(app, "auth", None) or getattr(app, "auth_dependency", None)
        found = routes(books, None if login else clip_root, submits)
        if page_root is not None and not login:
            found.append(page_route(list(router.routes), page_root))
        router.routes = [*found, *router.routes]
        return True
