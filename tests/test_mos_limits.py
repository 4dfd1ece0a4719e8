"""Session flooding: a per-client limit on new sessions (resuming is never limited), the
client address behind proxies and tunnels, and quick release of abandoned reservations."""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace

from pipeline.mos.assignment import UNRATED_HOLD_S
from pipeline.mos.clips import ClipCache
from pipeline.mos.limits import ClientRateLimit
from pipeline.mos.listening import ListeningTest
from pipeline.mos.session_flow import ListenerFlow, PageBook
from pipeline.mos.synthetic import make_test
from ui.listening_test import client_address


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_the_rate_per_client() -> None:
    clock = Clock()
    limit = ClientRateLimit(burst=3, per_minute=6, clock=clock)
    assert [limit.allow("1.2.3.4") for _ in range(4)] == [True, True, True, False]
    assert limit.allow("5.6.7.8")  # another client has its own bucket
    clock.now = 9.0  # 6 per minute: one token after 10 s
    assert not limit.allow("1.2.3.4")
    clock.now = 10.5
    assert limit.allow("1.2.3.4") and not limit.allow("1.2.3.4")
    assert all(limit.allow(None) for _ in range(10))  # unknown address: not limited


def test_bucket_memory_is_bounded() -> None:
    limit = ClientRateLimit(burst=1, per_minute=1, capacity=5, clock=Clock())
    for n in range(100):
        limit.allow(f"10.0.0.{n}")
    assert len(limit._buckets) == 5


def test_one_client_cannot_flood_sessions_but_can_resume(tmp_path: Path) -> None:
    make_test(tmp_path, items=4, items_per_session=2, training=0)
    test = ListeningTest(tmp_path / "demo")
    limit = ClientRateLimit(burst=3, per_minute=1, clock=Clock())
    flow = ListenerFlow(test, PageBook(), ClipCache(tmp_path / "clips"), limit)
    sessions = tmp_path / "demo" / "sessions"
    started = [flow.start(f"id{n}", True, "203.0.113.9").status for n in range(5)]
    assert started == ["moved"] * 3 + ["limited"] * 2
    assert len(list(sessions.glob("*.json"))) == 3  # refused starts reserve nothing
    refused = flow.start("id4", True, "203.0.113.9")
    assert refused.screen is None and "Too many new sessions" in refused.message
    assert flow.start("id0", True, "203.0.113.9").status == "moved"  # resume: not limited
    assert flow.start("other", True, "198.51.100.7").status == "moved"


def test_client_address_needs_a_forwarded_address_on_loopback() -> None:
    def request(host: str, headers: dict) -> SimpleNamespace:
        return SimpleNamespace(client=SimpleNamespace(host=host), headers=headers)

    assert client_address(request("203.0.113.9", {})) == "203.0.113.9"
    assert client_address(request("127.0.0.1", {})) is None  # share tunnel: unknown
    assert client_address(request("127.0.0.1", {"x-forwarded-for": "127.0.0.1"})) == "127.0.0.1"
    assert client_address(request("testclient", {})) == "testclient"
    assert client_address(None) is None


def test_a_session_without_ratings_frees_its_clips_after_three_minutes(tmp_path: Path):
    make_test(tmp_path, items=2, items_per_session=2, votes=1, training=0)  # 4 stimuli
    test = ListeningTest(tmp_path / "demo")
    assert UNRATED_HOLD_S == 180 < test.definition.session_timeout_minutes * 60

    def arrive(name: str, now: float):
        return test.sessions.open(name, test.store.stored_keys, now=now, rng=random.Random(0))

    gone = arrive("gave-up", 1000.0)
    soon = arrive("soon", 1000.0 + 60)  # the first still holds its two clips
    assert not set(gone.order) & set(soon.order)
    later = arrive("later", 1000.0 + UNRATED_HOLD_S + 61)  # both unrated and idle > 3 min
    assert set(later.order) == set(gone.order)


def test_a_session_with_a_rating_keeps_its_clips_for_the_idle_timeout(tmp_path: Path):
    make_test(tmp_path, items=2, items_per_session=2, votes=1, training=0)
    test = ListeningTest(tmp_path / "demo")

    def arrive(name: str, now: float):
        return test.sessions.open(name, test.store.stored_keys, now=now, rng=random.Random(0))

    rater = arrive("rater", 1000.0)
    first = rater.order[0]
    test.submit(rater, first, 3, play_count=1, listened_s=1.0, response_ms=900)
    test.sessions.save(rater, now=1000.0)
    after = arrive("after", 1000.0 + UNRATED_HOLD_S + 60)  # rater has rated: still holds one
    assert rater.order[1] not in after.order


def test_app_limits_new_sessions_per_forwarded_address(tmp_path: Path) -> None:
    """Through the real app over HTTP: 20 Starts from one forwarded address make sessions,
    the 21st is refused with one line and reserves nothing; another address still starts."""
    import asyncio

    import httpx
    from conftest import free_port

    import app
    from pipeline.mos.limits import SESSION_BURST
    from pipeline.registry import Registry
    from scripts.loadtest_http import TEST_ID, Listener, Stats
    from scripts.loadtest_listeners import prepare

    prepare(tmp_path, clip_seconds=0.3)
    argv = ["--port", str(free_port()), "--ratings-root", str(tmp_path), "--listening-only"]
    demo = app.build_app(Registry(tmp_path / "none"), ratings_root=tmp_path, listening_only=True)
    demo.launch(prevent_thread_lock=True, quiet=True, **app.launch_kwargs(app.parse_args(argv)))

    async def start(client, config, name: str, address: str) -> str:
        page = Listener(client, config, name, Stats(), 0)
        page.headers = {"x-forwarded-for": address}
        await page.page_load()
        await page.call(("on_start", [True, None]))
        return str(page.elem("mos-message") or "")

    async def flood() -> list[str]:
        async with httpx.AsyncClient(base_url=demo.local_url, timeout=60) as client:
            config = (await client.get("/config")).json()
            said = [await start(client, config, f"f{n}", "203.0.113.5") for n in range(21)]
            return [*said, await start(client, config, "other", "198.51.100.7")]

    try:
        said = asyncio.run(flood())
    finally:
        demo.close()
    assert SESSION_BURST == 20
    assert all("Too many" not in m for m in said[:20])
    assert said[20].startswith("Too many new sessions") and "Too many" not in said[21]
    assert len(list((tmp_path / TEST_ID / "sessions").glob("*.json"))) == 21
