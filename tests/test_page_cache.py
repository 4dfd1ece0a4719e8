"""The app's page built once per root URL (ui/page_cache.py): the same bytes as Gradio's
route, per root URL, and everything it does not serve goes on to the routes behind it."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from ui.page_cache import MAX_ROOTS, PageCache, page_route


def root_of(scope: dict) -> str:
    return Request(scope).headers.get("x-forwarded-host") or "local"


def setup(status: int = 200, cookie: bool = False):
    """An app whose page route counts its builds, behind a page cache."""
    built = []

    def page(request: Request):
        built.append(dict(request.query_params))
        response = HTMLResponse(f"page for {root_of(request.scope)}", status_code=status)
        if cookie:
            response.set_cookie("session", "x")
        return response

    def head(request: Request):
        return PlainTextResponse("head")

    def other(request: Request):
        return PlainTextResponse("posted")

    routes = [
        Route("/", page, methods=["GET"]),
        Route("/", head, methods=["HEAD"]),
        Route("/", other, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.router.routes = [page_route(list(routes), root_of), *routes]
    return TestClient(app), built


def test_page_is_built_once_per_root() -> None:
    client, built = setup()
    first = client.get("/?test=t&PROLIFIC_PID=a")
    again = client.get("/?test=t&PROLIFIC_PID=b")
    assert first.status_code == again.status_code == 200
    assert first.content == again.content == b"page for local" and len(built) == 1
    assert again.headers["content-type"] == first.headers["content-type"]
    proxied = client.get("/", headers={"x-forwarded-host": "example.org"})
    assert proxied.text == "page for example.org" and len(built) == 2


def test_deep_links_pages_and_other_methods_go_to_the_app() -> None:
    client, built = setup()
    client.get("/")
    client.get("/?deep_link=abc")
    client.get("/?page=other")
    assert len(built) == 3
    assert client.head("/").status_code == 200
    assert client.post("/").text == "posted"


def test_errors_and_cookies_are_not_kept() -> None:
    for kind in ({"status": 500}, {"cookie": True}):
        client, built = setup(**kind)
        client.get("/")
        client.get("/")
        assert len(built) == 2


def test_roots_kept_are_bounded() -> None:
    client, built = setup()
    for n in range(MAX_ROOTS + 3):
        client.get("/", headers={"x-forwarded-host": f"h{n}.example"})
    cache = client.app.router.routes[0].app
    assert len(cache.pages) == MAX_ROOTS
    client.get("/", headers={"x-forwarded-host": f"h{MAX_ROOTS + 1}.example"})  # not kept
    assert len(built) == MAX_ROOTS + 4


def test_app_serves_gradios_own_page_from_the_cache(tmp_path: Path) -> None:
    """Through the real app: after the first page load, GET / gives the very bytes Gradio's
    route gave, for each root URL."""
    import asyncio

    import httpx
    from conftest import free_port

    import app
    from pipeline.registry import Registry
    from scripts.loadtest_http import Listener, Stats
    from scripts.loadtest_listeners import prepare

    prepare(tmp_path, clip_seconds=0.3)
    argv = ["--port", str(free_port()), "--ratings-root", str(tmp_path), "--listening-only"]
    demo = app.build_app(Registry(tmp_path / "none"), ratings_root=tmp_path, listening_only=True)
    demo.launch(prevent_thread_lock=True, quiet=True, **app.launch_kwargs(app.parse_args(argv)))
    proxy = {"x-forwarded-host": "listen.example.org", "x-forwarded-proto": "https"}

    async def visit() -> list[bytes]:
        async with httpx.AsyncClient(base_url=demo.local_url, timeout=60) as client:
            by_gradio = [(await client.get("/?test=loadtest")).content]
            by_gradio.append((await client.get("/", headers=proxy)).content)
            config = (await client.get("/config")).json()
            page = Listener(client, config, "p1", Stats(), 0)
            await page.page_load()  # installs the listener routes and the page cache
            await page.close_page()
            cached = [(await client.get("/?test=loadtest&PROLIFIC_PID=x")).content]
            cached.append((await client.get("/", headers=proxy)).content)
            return [*by_gradio, *cached]

    try:
        local, proxied, local_cached, proxied_cached = asyncio.run(visit())
    finally:
        demo.close()
    assert local_cached == local and proxied_cached == proxied
    assert b"https://listen.example.org" in proxied and b"https://listen" not in local
    routes = demo.app.router.routes
    (cache,) = [r.app for r in routes if isinstance(getattr(r, "app", None), PageCache)]
    assert sorted(cache.pages) == ["http://127.0.0.1:" + argv[1], "https://listen.example.org"]
