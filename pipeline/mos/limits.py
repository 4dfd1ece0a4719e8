"""Per-client limits on creating listener sessions (no UI import).

A session reserves clips for other listeners' balance, so creating sessions is the one
listener action worth flooding. :class:`ClientRateLimit` is a token bucket per client (the
caller's address): ``burst`` creations at once, then ``per_minute``. Resuming an existing
session is never limited. Memory is bounded: beyond ``capacity`` clients the least recently
seen are forgotten (a forgotten client starts with a full bucket).

The caller decides what a client is: the app uses the connection's address, or the address a
reverse proxy forwards (``X-Forwarded-For``, applied by uvicorn for proxies on 127.0.0.1),
and no limit for a loopback connection without one (e.g. Gradio's share tunnel, where every
listener would otherwise share one address).

The limit is per process. Behind a reverse proxy that pins a client to one replica
(``ip_hash``, docs/DEPLOY.md) it is a per-client limit; without pinning a client gets the
limit once per replica.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

#: new sessions one client may start at once, then per minute (a lab behind one address
#: starting together stays within the burst; a script creating ids does not)
SESSION_BURST = 20
SESSIONS_PER_MINUTE = 10.0


class ClientRateLimit:
    """Token bucket per client key; thread-safe."""

    def __init__(
        self,
        *,
        burst: int = SESSION_BURST,
        per_minute: float = SESSIONS_PER_MINUTE,
        capacity: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if burst < 1 or per_minute <= 0:
            raise ValueError("a rate limit needs burst >= 1 and per_minute > 0")
        self.burst = burst
        self.rate_per_s = per_minute / 60.0
        self.capacity = capacity
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, t)
        self._lock = threading.Lock()

    def allow(self, client: str | None) -> bool:
        """Take one token for ``client``; False when its bucket is empty. ``None`` (address
        unknown, e.g. a share tunnel or a library call) is never limited."""
        if not client:
            return True
        key = client
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate_per_s)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            while len(self._buckets) > self.capacity:
                self._buckets.popitem(last=False)
            return allowed
