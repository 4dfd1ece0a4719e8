"""The HTTP side of the listener load test: simulated browser pages that make the page's
calls (see ``scripts/loadtest_listeners.py``), optionally spread over several app replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import random
import ssl
import time
from collections import defaultdict
from urllib.parse import urlencode

import httpx
import numpy as np
import soundfile as sf

from ui.listener_routes import FILE_PREFIX, PLAYER_PATH, SUBMIT_PATH

TEST_ID = "loadtest"
HEADPHONE_ANSWER = 3  # the synthetic test's beep count


class Stats:
    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.acks: dict[str, int] = defaultdict(int)
        self.load: list[float] = []
        #: how late the generator's own event loop woke up (s): a measured latency includes it
        self.lag: list[float] = []
        self.resumed = 0  # listeners who reloaded on another replica and resumed there

    def summary(self, name: str) -> str:
        values = np.array(self.times.get(name) or [np.nan]) * 1000
        return (
            f"{name:9s} n={len(self.times.get(name, [])):5d}  p50 {np.percentile(values, 50):7.0f}"
            f"  p95 {np.percentile(values, 95):7.0f}  max {np.max(values):7.0f} ms"
        )


class Listener:
    """One simulated browser page of one listener (:meth:`open_page` on another replica is
    a reload there)."""

    def __init__(
        self, client: httpx.AsyncClient, config: dict, name: str, stats: Stats, number: int
    ):
        self.name, self.stats = name, stats
        # each simulated listener comes from its own address, as a reverse proxy on
        # 127.0.0.1 forwards it (the app limits new sessions per address)
        self.headers = {"x-forwarded-for": f"10.77.{number // 250}.{number % 250 + 1}"}
        self.params = urlencode({"test": TEST_ID, "PROLIFIC_PID": name})
        self.replica = 0
        self.heartbeat: asyncio.Task | None = None
        self.acked_on: dict[int, int] = defaultdict(int)  # replica -> acknowledged ratings
        self.open_page(client, config, 0)

    def open_page(self, client: httpx.AsyncClient, config: dict, replica: int) -> None:
        """A fresh page (new Gradio session) on ``client``'s server."""
        self.client, self.config, self.replica = client, config, replica
        self.session = os.urandom(6).hex()
        self.fns = {d["api_name"]: d for d in config["dependencies"] if d.get("api_name")}
        #: events a component's change triggers (the page fires them when an output changes it)
        self.on_change: dict[int, list[dict]] = defaultdict(list)
        for dep in config["dependencies"]:
            for cid, trigger in dep.get("targets", []):
                if trigger == "change" and dep.get("api_name"):
                    self.on_change[cid].append(dep)
        comps = {c["id"]: c.get("props", {}) for c in config["components"]}
        self.by_elem = {p.get("elem_id"): cid for cid, p in comps.items() if p.get("elem_id")}
        # what the page shows before any event: the components' initial values
        self.values: dict[object, object] = {cid: p.get("value") for cid, p in comps.items()}

    async def call(self, *names_and_data: tuple[str, list]) -> None:
        """Run these events as the page does: a direct POST for events outside the queue,
        else join the queue with all of them and read the event stream until all completed;
        then the change events of components whose value the outputs changed (as a browser
        does, e.g. the listening tab's layout token)."""
        before = {cid: self.values.get(cid) for cid in self.on_change}
        await self._run(*names_and_data)
        await self.follow_changes(before)

    async def follow_changes(self, before: dict) -> None:
        """Run the change events of components whose value differs from ``before``."""
        changed = [cid for cid in self.on_change if self.values.get(cid) != before[cid]]
        for cid in changed:
            follow = [(dep["api_name"], self.inputs_of(dep)) for dep in self.on_change[cid]]
            await self.call(*follow)

    def inputs_of(self, dep: dict) -> list:
        """The values a dependency's inputs hold on the page now (None for state)."""
        return [self.values.get(cid) for cid in dep.get("inputs", [])]

    async def _run(self, *names_and_data: tuple[str, list]) -> None:
        queued = []
        for name, data in names_and_data:
            fn = self.fns[name]
            if fn.get("queue") is False:
                await self.direct(fn, data)
            else:
                queued.append((fn, data))
        if queued:
            await self.queued(queued)

    def body(self, fn: dict, data: list) -> dict:
        return {
            "data": data,
            "fn_index": fn["id"],
            "session_hash": self.session,
            "event_data": None,
            "trigger_id": fn["targets"][0][0],
        }

    async def direct(self, fn: dict, data: list) -> None:
        r = await self.client.post(  # as the page posts it: "predict", the event by fn_index
            f"/gradio_api/run/predict?{self.params}",
            json=self.body(fn, data),
            headers=self.headers,
        )
        r.raise_for_status()
        for cid, value in zip(fn["outputs"], r.json()["data"], strict=False):
            self.absorb(cid, value)

    async def queued(self, calls: list[tuple[dict, list]]) -> None:
        pending = {}
        for fn, data in calls:
            r = await self.client.post(
                f"/gradio_api/queue/join?{self.params}",
                json=self.body(fn, data),
                headers=self.headers,
            )
            r.raise_for_status()
            pending[r.json()["event_id"]] = fn
        url = f"/gradio_api/queue/data?session_hash={self.session}"
        async with self.client.stream("GET", url, headers=self.headers) as stream:
            async for line in stream.aiter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                if msg.get("msg") != "process_completed" or msg.get("event_id") not in pending:
                    continue
                fn = pending.pop(msg["event_id"])
                if not msg.get("success"):
                    raise RuntimeError(f"{fn['api_name']} failed: {msg.get('output')}")
                for cid, value in zip(fn["outputs"], msg["output"]["data"], strict=False):
                    self.absorb(cid, value)
                if not pending:
                    return
        raise RuntimeError(f"stream ended with {len(pending)} event(s) pending")

    def absorb(self, cid: int, value) -> None:
        if isinstance(value, dict) and value.get("__type__") == "update":
            if "value" in value:
                self.values[cid] = value["value"]
            if "choices" in value:
                self.values[(cid, "choices")] = value["choices"]
        else:
            self.values[cid] = value

    def elem(self, elem_id: str):
        return self.values.get(self.by_elem[elem_id])

    async def timed(self, metric: str, *calls) -> None:
        start = time.perf_counter()
        await self.call(*calls)
        self.stats.times[metric].append(time.perf_counter() - start)

    async def page_load(self) -> None:
        """``GET /``, the theme, the page's heartbeat stream (held open while the page is
        open) and the page-load events, as chromium's network log shows them."""
        start = time.perf_counter()
        r = await self.client.get(f"/?{self.params}", headers=self.headers)
        r.raise_for_status()
        (await self.client.get("/theme.css", headers=self.headers)).raise_for_status()
        await self.close_page()
        self.heartbeat = asyncio.create_task(self.hold_heartbeat())
        loads = [
            (n, [] if n == "open_listener_links" else ["", None])
            for n in ("open_listener_links", "on_load")
            if n in self.fns
        ]
        await self.call(*loads)
        self.stats.times["page load"].append(time.perf_counter() - start)

    async def hold_heartbeat(self) -> None:
        """The page's heartbeat stream (Gradio drops the session's state when it closes)."""
        url = f"/gradio_api/heartbeat/{self.session}"
        with contextlib.suppress(httpx.HTTPError):
            async with self.client.stream("GET", url, headers=self.headers) as stream:
                async for _ in stream.aiter_lines():
                    pass

    async def close_page(self) -> None:
        """Close the page: its heartbeat stream ends."""
        if self.heartbeat is not None:
            self.heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.heartbeat
            self.heartbeat = None

    async def play_page(self) -> None:
        """Download the page's clips and play each for its length (play ... end events); the
        last end must unlock the answer, as it does on the page."""
        ready = None
        for i in range(2):
            clip = self.elem(f"mos-player-{i}")
            if not isinstance(clip, dict) or not clip.get("url"):
                continue
            r = await self.client.get(clip["url"], headers=self.headers)
            r.raise_for_status()
            seconds = sf.info(io.BytesIO(r.content)).duration
            await self.player(i, "play")
            await asyncio.sleep(seconds + 0.05)
            await self.player(i, "pause")  # the player reports a pause, then the end
            ready = await self.player(i, "end")
        if ready is False:
            self.stats.errors.append(f"{self.name}: the answer stayed locked after playing")

    async def player(self, index: int, event: str) -> bool:
        """A player event as the page's js sends it: to the player route, with the page's
        token (not through Gradio). True when the server unlocked the answer."""
        body = {"page": self.elem("mos-page") or "", "clip": index, "event": event}
        r = await self.client.post(PLAYER_PATH, json=body, headers=self.headers)
        r.raise_for_status()
        return bool(r.json().get("ready"))

    async def submit(self, answer) -> str:
        """A submit as the submit button's js sends it: to the submit route with the page's
        token (not through Gradio); the reply changes the page as the js does (the next
        clip, or a new layout token, whose change event asks Gradio for the new layout).
        Returns the message the page shows."""
        body = {"page": self.elem("mos-page") or "", "answer": answer}
        before = {cid: self.values.get(cid) for cid in self.on_change}
        r = await self.client.post(SUBMIT_PATH, json=body, headers=self.headers)
        r.raise_for_status()
        reply = r.json()
        self.set_elem("mos-message", reply.get("message", ""))
        if reply.get("next"):
            step = reply["next"]
            self.set_elem("mos-title", step["title"])
            self.set_elem("mos-page", step["page"])
            for i in range(2):
                path = step["clips"][i] if i < len(step["clips"]) else None
                clip = {"path": path, "url": f"{FILE_PREFIX}{path}"} if path else None
                self.set_elem(f"mos-player-{i}", clip)
        elif reply.get("relayout"):
            self.set_elem("mos-layout", reply["relayout"])
        await self.follow_changes(before)
        return str(self.elem("mos-message") or "")

    def set_elem(self, elem_id: str, value) -> None:
        self.values[self.by_elem[elem_id]] = value

    async def run(self, rng: random.Random, switch_to: tuple | None = None) -> None:
        """A whole session; ``switch_to=(client, config, replica)`` reloads the page on that
        replica after half of the rated clips and checks it resumes at the next clip."""
        try:
            await self.session_run(rng, switch_to)
        finally:
            await self.close_page()

    async def session_run(self, rng: random.Random, switch_to: tuple | None) -> None:
        await self.page_load()
        await self.timed("start", ("on_start", [True, None]))
        rated = 0
        for _ in range(40):  # headphone + practice + 10 clips + slack
            done = self.elem("mos-done")
            if isinstance(done, str) and "LOAD-DONE" in done:
                return
            title = str(self.elem("mos-title") or "")
            await self.play_page()
            if "headphone" in title.lower():
                await self.submit(HEADPHONE_ANSWER)
            elif "Practice" in title:
                await self.submit(rng.choice([1, 2, 3, 4, 5]))
                await self.call(("on_continue", [self.elem("mos-page"), None]))
            else:
                start = time.perf_counter()
                message = await self.submit(rng.choice([1, 2, 3, 4, 5]))
                self.stats.times["submit"].append(time.perf_counter() - start)
                if message.startswith("Saved."):
                    self.stats.acks[self.name] += 1
                    self.acked_on[self.replica] += 1
                    rated += 1
                else:
                    self.stats.errors.append(f"{self.name}: submit said {message!r}")
                if switch_to is not None and rated == 5:
                    await self.resume_on(*switch_to, rated=rated)
                    switch_to = None
        raise RuntimeError("session did not finish")

    async def resume_on(self, client, config, replica: int, *, rated: int) -> None:
        """Reload the page on another replica; it must show the next unrated clip."""
        await self.close_page()
        self.open_page(client, config, replica)
        await self.page_load()
        title = str(self.elem("mos-title") or "")
        if f"Clip {rated + 1} of" not in title:
            self.stats.errors.append(f"{self.name}: resumed on replica {replica} at {title!r}")
        self.stats.resumed += 1


async def drive(
    urls: list[str],
    count: int,
    stats: Stats,
    time_limit: float,
    run: str,
    *,
    switch_every: int = 0,
) -> list[Listener]:
    """``count`` listeners, listener ``n`` on replica ``n % len(urls)`` (a proxy pinning
    clients); with ``switch_every`` k > 0 every k-th listener reloads on the next replica
    halfway through its session. Returns the listeners (their acknowledgements per replica)."""
    # each simulated page has its own connection pool, as each browser does (one shared
    # pool of hundreds of connections makes httpx's pool bookkeeping quadratic and pegs the
    # load generator's core, which then measures its own lag); idle connections are dropped
    # before uvicorn's 5 s keep-alive timeout closes them: a request sent on a connection the
    # server is closing at that moment fails (browsers retry such a request on a new
    # connection; httpx does not)
    limits = httpx.Limits(max_connections=6, max_keepalive_connections=6, keepalive_expiry=3.0)
    timeout = httpx.Timeout(120.0)

    # one TLS context for all pages: httpx builds a new one per client otherwise (27 ms of
    # the generator's event loop each, 5 s when 200 pages open together, counted in the
    # measured latencies), though the app is reached over plain HTTP
    tls = ssl.create_default_context()

    def browser(url: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout, verify=tls)

    listeners: list[Listener] = []
    async with contextlib.AsyncExitStack() as stack:
        configs = []
        for url in urls:
            client = await stack.enter_async_context(browser(url))
            configs.append((await client.get("/config")).json())

        async def one(n: int) -> None:
            home = n % len(urls)
            other = (home + 1) % len(urls)
            switching = switch_every > 0 and n % switch_every == 0 and len(urls) > 1
            async with contextlib.AsyncExitStack() as pages:
                client = await pages.enter_async_context(browser(urls[home]))
                listener = Listener(client, configs[home], f"lt-{run}-{n:03d}", stats, n)
                listeners.append(listener)
                switch = None
                if switching:
                    switch = (
                        await pages.enter_async_context(browser(urls[other])),
                        configs[other],
                        other,
                    )
                try:
                    await listener.run(random.Random(n), switch)
                except (httpx.HTTPError, RuntimeError, KeyError, ValueError) as err:
                    where = ""
                    if isinstance(err, httpx.RequestError | httpx.HTTPStatusError):
                        where = f" ({err.request.method} {err.request.url.path})"
                    stats.errors.append(f"{listener.name}: {type(err).__name__}{where}: {err}")

        async def sample_load() -> None:
            while True:
                stats.load.append(os.getloadavg()[0])
                before = time.perf_counter()
                await asyncio.sleep(0.5)
                stats.lag.append(time.perf_counter() - before - 0.5)

        sampler = asyncio.create_task(sample_load())
        try:
            await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(count))), time_limit)
        except TimeoutError:
            stats.errors.append(f"time limit of {time_limit:.0f} s reached")
        finally:
            sampler.cancel()
    return listeners
