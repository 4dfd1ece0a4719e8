"""The app's page (``GET /``) built once per root URL instead of once per visit.

Gradio 6 builds the page for every visit: it deep-copies the whole Blocks config, rewrites
every file URL in it for the visit's root URL and renders the HTML template around it (about
5 ms of CPU for the listening test's 36 kB page, the largest single cost of a listener's
arrival after the page-load event). Without a login, that page depends on nothing of the
visit but the root URL Gradio derives from the request (host, ``X-Forwarded-Host``,
``X-Forwarded-Proto``, root path): the query string (``?test=…&PROLIFIC_PID=…``) is read by
the page's js, not put in the HTML. So :class:`PageCache`, a route put in front of Gradio's,
hands the first visit to Gradio's own route, keeps its answer, and answers later visits with
the same root URL from memory. Anything else goes to Gradio's routes unchanged: other
methods, the ``page`` and ``deep_link`` parameters, answers that are not a plain 200 page.

No gradio import: the root URL comes from a function given by the tab (Gradio's own).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from starlette.routing import Match, Route

#: query parameters that change Gradio's page (a multipage app's page, a deep link)
PAGE_PARAMS = (b"page=", b"deep_link=")
#: at most this many root URLs are kept (a client may send any X-Forwarded-Host)
MAX_ROOTS = 8


class PageCache:
    """An ASGI app for ``GET /``: Gradio's page per root URL, built once.

    ``routes`` are the app's routes it stands in front of (a miss, and anything it does not
    serve, goes to the first of them that matches); ``root_of(scope)`` is the root URL
    Gradio would put in the page for that request.
    """

    def __init__(self, routes: list, root_of: Callable[[dict], str]) -> None:
        self.routes = routes
        self.root_of = root_of
        self.pages: dict[str, tuple[list, bytes]] = {}  # root URL -> headers, body
        self._lock = threading.Lock()

    def cacheable(self, scope: dict) -> bool:
        query = scope.get("query_string") or b""
        parts = query.split(b"&")
        named = any(part.startswith(name) for part in parts for name in PAGE_PARAMS)
        return scope.get("method") == "GET" and not named

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if not self.cacheable(scope):
            await self.pass_on(scope, receive, send)
            return
        root = self.root_of(scope)
        page = self.pages.get(root)
        if page is not None:
            headers, body = page
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def record(message: dict) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    self.keep(root, start, b"".join(chunks))
            await send(message)

        await self.pass_on(scope, receive, record)

    def keep(self, root: str, start: dict, body: bytes) -> None:
        """Remember a plain 200 page (no cookie) for ``root``, up to :data:`MAX_ROOTS`."""
        headers = list(start.get("headers") or [])
        if start.get("status") != 200 or any(k.lower() == b"set-cookie" for k, _ in headers):
            return
        with self._lock:
            if root in self.pages or len(self.pages) < MAX_ROOTS:
                self.pages[root] = (headers, body)

    async def pass_on(self, scope: dict, receive: Callable, send: Callable) -> None:
        """Serve the request by the first of :attr:`routes` that matches it fully."""
        partial = None
        for route in self.routes:
            match, child = route.matches(scope)
            if match == Match.FULL:
                await route.handle({**scope, **child}, receive, send)
                return
            if match == Match.PARTIAL and partial is None:
                partial = (route, child)
        if partial is None:
            raise LookupError("no route for the page")  # Gradio always has one
        route, child = partial
        await route.handle({**scope, **child}, receive, send)


def page_route(routes: list, root_of: Callable[[dict], str]) -> Route:
    """The route of ``GET /`` served by a :class:`PageCache` over ``routes``."""
    return Route("/", PageCache(routes, root_of), methods=["GET"])
