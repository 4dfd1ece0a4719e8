"""The listening tab's page-build gate: at most PAGE_BUILDS_AT_ONCE page builds run together."""

from __future__ import annotations

import threading
import time

from ui.listening_test import PAGE_BUILDS_AT_ONCE, gated


class _Tab:
    def __init__(self) -> None:
        self.page_gate = threading.BoundedSemaphore(PAGE_BUILDS_AT_ONCE)
        self.running = 0
        self.most = 0
        self.count = threading.Lock()

    @gated
    def build(self, k: int) -> int:
        with self.count:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.02)
        with self.count:
            self.running -= 1
        return k


def test_page_builds_wait_for_the_gate_and_all_finish() -> None:
    tab = _Tab()
    results: list[int] = []
    threads = [threading.Thread(target=lambda k=k: results.append(tab.build(k))) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results) == list(range(8))
    assert tab.most == PAGE_BUILDS_AT_ONCE and tab.running == 0
    assert tab.page_gate.acquire(blocking=False)  # released after every build
    tab.page_gate.release()
