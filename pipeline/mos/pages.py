"""Live listener pages: each rendered clip page with its players' timings, by page id.

A page id is random per rendered page (per browser tab and step), so play state belongs to
the page instance that played, never to the listener as a whole.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from pipeline.mos.forms import AnswerForm
from pipeline.mos.listening import PlayTracker


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

    def complete(self) -> bool:
        return all(t.complete for t in self.trackers)


class PageBook:
    """Live pages by ``page_id`` (thread-safe; oldest dropped beyond ``capacity``)."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._pages: OrderedDict[str, Page] = OrderedDict()
        self.lock = threading.Lock()

    def add(self, page: Page) -> str:
        page_id = secrets.token_hex(8)
        with self.lock:
            self._pages[page_id] = page
            while len(self._pages) > self.capacity:
                self._pages.popitem(last=False)
        return page_id

    def get(self, page_id: str | None) -> Page | None:
        with self.lock:
            return self._pages.get(page_id or "")

    def played(self, page_id: str | None, index: int, event: str, now: float) -> bool:
        """Record a player event (``play`` | ``pause`` | ``end``); True when the page can be
        answered (every clip complete, practice not answered yet)."""
        with self.lock:
            page = self._pages.get(page_id or "")
            if page is None or not 0 <= index < len(page.trackers):
                return False
            getattr(page.trackers[index], event)(now)
            return page.complete() and not page.answered
