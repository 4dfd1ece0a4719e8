"""Serving limits of the web app: the size of one request, and how long uploads are kept.

Gradio's ``max_file_size`` bounds each uploaded file, not a request: three 99 MB files in one
upload request would all be accepted. :class:`RequestSizeLimit` is a plain ASGI middleware
(no gradio import) that refuses any request whose body exceeds a total, with HTTP 413 and a
one-line message, before the body is written anywhere. :class:`ClosedRoutes` refuses
Gradio's upload route altogether when only the listening test is served (it takes no files).
:func:`memoize_signatures` keeps Gradio from re-reading its components' signatures per event.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

MB = 1 << 20  # as Gradio counts a "mb"
#: the largest upload, per file (Gradio's ``max_file_size``)
MAX_FILE_MB = 100
#: the largest request body: one maximal file plus room for the multipart framing
MAX_REQUEST_BYTES = MAX_FILE_MB * MB + MB
#: Gradio deletes uploads and generated files this old (s), checking every DELETE_EVERY s;
#: longer than a listening session, so clips of a running session stay served
DELETE_AFTER_S = 2 * 3600
DELETE_EVERY_S = 600

#: Gradio's file upload route and its progress stream (under its ``/gradio_api`` prefix)
UPLOAD_ROUTES = ("/gradio_api/upload", "/gradio_api/upload_progress")
UPLOADS_CLOSED = "uploads are closed: this server only runs listening tests"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def too_large_message(size: int | None, limit: int) -> str:
    """The one-line reason shown to the user."""
    what = f"{size / MB:.0f} MB" if size is not None else "more than the limit"
    return f"upload too large: {what} in one request (limit {limit / MB:.0f} MB in total)"


class RequestSizeLimit:
    """Refuse request bodies above ``max_bytes`` (HTTP 413, plain text).

    A declared ``Content-Length`` is checked before anything is read; a body without one
    (chunked) is counted as it arrives and cut off at the limit: the application sees the
    client disconnect, and the client gets the 413.
    """

    def __init__(self, app: Callable, max_bytes: int = MAX_REQUEST_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send, int(declared))
            return
        received = 0
        started = False
        exceeded = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # our 413 goes out instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except Exception:
            if not exceeded:
                raise
            # the application saw the body end early (e.g. starlette's ClientDisconnect)
        if exceeded and not started:
            await self._refuse(send, None)

    async def _refuse(self, send: Send, size: int | None) -> None:
        body = too_large_message(size, self.max_bytes).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class ClosedRoutes:
    """Refuse every request to ``routes`` (HTTP 403, one plain-text line) before the app or
    any body parsing sees it. A route matches with or without a trailing slash, also below
    a mount path (``/studio/gradio_api/upload``)."""

    def __init__(
        self, app: Callable, routes: tuple[str, ...] = UPLOAD_ROUTES, message: str = UPLOADS_CLOSED
    ) -> None:
        self.app = app
        self.routes = routes
        self.message = message

    def closed(self, path: str) -> bool:
        path = "/" + path.strip("/")
        return any(path == route or path.endswith(route) for route in self.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.closed(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        body = self.message.encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8")]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 403, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def keep_build_time_files(demo: Any) -> int:
    """Exempt the files a Blocks cached while it was built (the example clips) from Gradio's
    ``delete_cache``, which otherwise removes them after ``DELETE_AFTER_S`` like any upload and
    the examples stop working. Returns how many files were exempted.

    ``demo`` is a built ``gr.Blocks``; Gradio skips every file listed in a component's
    ``keep_in_cache`` when it deletes old files.
    """
    files = set().union(*demo.temp_file_sets) if demo.temp_file_sets else set()
    if files:
        holder = next(iter(demo.blocks.values()))
        holder.keep_in_cache = set(getattr(holder, "keep_in_cache", set())) | files
    return len(files)


def memoize_signatures(demo: Any) -> int:
    """Give the constructors of ``demo``'s component classes their signature as
    ``__signature__`` (PEP 362), so ``inspect.signature`` returns it instead of computing it.

    Gradio 6 computes ``inspect.signature(cls.__init__)`` (40-odd parameters, 0.05-0.1 ms)
    for every component config it builds: for every block of the page when a page's
    session starts (its first event), and twice more for every output an event sends as a
    property update, besides ``getfullargspec`` when it builds the updated component. The
    signatures cannot change while the app runs. Returns how many functions were given one.
    """
    done = 0
    for cls in {type(block) for block in demo.blocks.values()}:
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            while inspect.isfunction(init) and "__signature__" not in init.__dict__:
                init.__signature__ = inspect.signature(init)
                done += 1
                init = getattr(init, "__wrapped__", None)  # also what a decorator wraps
    return done
