"""Live listener pages: each rendered clip page with its players' timings, by page id.

A page id is random per rendered page (per browser tab and step), so play state belongs to
the page instance that played, never to the listener as a whole. It is also the page's
token for the player route (:mod:`ui.listener_routes`): 128 random bits, known only to the
page it was rendered for.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from pipeline.mos.forms import AnswerForm
from pipeline.mos.listening import PlayTracker

#: player events one page may send (a page has at most two clips; replays are allowed, a
#: flood is not): later events are refused
MAX_EVENTS_PER_PAGE = 400
#: the player events a page reports (:meth:`PageBook.event`)
PLAYER_EVENTS = ("play", "pause", "end")
#: what :meth:`PageBook.event` reports
READY, PLAYING, UNKNOWN, TOO_MANY = "ready", "playing", "unknown", "too_many"


@dataclass
class Page:
    """One rendered clip page (server side): its clips' play timings and what it asks."""

    test_id: str
    listener_id: str
    kind: str  # headphone | training | rating
    ref: str  # "check", the practice index, or the stimulus id
    form: AnswerForm
    trackers: list[PlayTracker]
    shown_at: float = field(default_factory=time.time)
    answered: bool = False  # practice: the expected answer was shown
    events: int = 0  # player events received
    layout: str = ""  # the layout of the screen it was rendered on (``Screen.layout``)

    def complete(self) -> bool:
        return all(t.complete for t in self.trackers)


class PageBook:
    """Live pages by ``page_id``, and layouts parked for pages to claim (thread-safe; the
    oldest dropped beyond ``capacity``)."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._pages: OrderedDict[str, Page] = OrderedDict()
        self._parked: OrderedDict[str, tuple[str, Any]] = OrderedDict()
        self.lock = threading.Lock()

    def add(self, page: Page) -> str:
        page_id = secrets.token_hex(16)
        with self.lock:
            self._pages[page_id] = page
            while len(self._pages) > self.capacity:
                self._pages.popitem(last=False)
        return page_id

    def park(self, listener_id: str, value: Any) -> str:
        """Keep ``value`` (a new layout to render) for ``listener_id`` under a fresh random
        key, which the page then hands back (:meth:`claim`)."""
        key = secrets.token_hex(16)
        with self.lock:
            self._parked[key] = (listener_id, value)
            while len(self._parked) > self.capacity:
                self._parked.popitem(last=False)
        return key

    def claim(self, key: str | None, listener_id: str | None) -> Any | None:
        """The value parked under ``key`` for ``listener_id`` (once), else None."""
        with self.lock:
            entry = self._parked.get(key or "")
            if entry is None or entry[0] != listener_id:
                return None
            del self._parked[key]
            return entry[1]

    def get(self, page_id: str | None) -> Page | None:
        with self.lock:
            return self._pages.get(page_id or "")

    def played(self, page_id: str | None, index: int, event: str, now: float) -> bool:
        """Record a player event (``play`` | ``pause`` | ``end``); True when the page can be
        answered (every clip complete, practice not answered yet)."""
        return self.event(page_id, index, event, now) == READY

    def event(self, page_id: str | None, index: int, event: str, now: float) -> str:
        """Record a player event of clip ``index`` of page ``page_id``: :data:`READY` when
        the page can now be answered, :data:`PLAYING` when not yet, :data:`UNKNOWN` for no
        such page or clip, :data:`TOO_MANY` beyond :data:`MAX_EVENTS_PER_PAGE` (not recorded).
        """
        if event not in PLAYER_EVENTS:
            raise ValueError(f"unknown player event {event!r}")
        with self.lock:
            page = self._pages.get(page_id or "")
            if page is None or not 0 <= index < len(page.trackers):
                return UNKNOWN
            if page.events >= MAX_EVENTS_PER_PAGE:
                return TOO_MANY
            page.events += 1
            getattr(page.trackers[index], event)(now)
            return READY if page.complete() and not page.answered else PLAYING
