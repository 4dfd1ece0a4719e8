"""The listener-side logic of a test, free of any UI: what to play next, play-to-end
enforcement, sign correction and storing a rating. The Gradio tab and the benchmark both
drive :class:`ListeningTest`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import soundfile as sf

from pipeline import __version__
from pipeline.mos.assignment import Session, SessionBook
from pipeline.mos.definition import Stimulus, TestDefinition, load_definition
from pipeline.mos.storage import RatingStore

log = logging.getLogger(__name__)

#: a clip counts as heard when the accumulated play time reaches its duration minus this
#: tolerance (seconds, or this fraction of the duration if larger) — covers event latency.
PLAY_TOLERANCE_S = 0.25
PLAY_TOLERANCE_FRACTION = 0.1


@dataclass
class PlayTracker:
    """Server-side bookkeeping of one clip's playback from the player's events.

    Times are UNIX seconds (server clock). ``listened_s`` accumulates play→pause/end
    intervals, so seeking to the end does not count as listening.
    """

    duration_s: float
    play_count: int = 0
    listened_s: float = 0.0
    ended: bool = False
    _started: float | None = field(default=None, repr=False)

    def play(self, now: float) -> None:
        if self._started is None:
            self.play_count += 1
            self._started = now

    def pause(self, now: float) -> None:
        if self._started is not None:
            self.listened_s += max(0.0, now - self._started)
            self._started = None

    def end(self, now: float) -> None:
        self.pause(now)
        self.ended = True

    @property
    def complete(self) -> bool:
        """Played to the end, with enough time spent playing."""
        tolerance = max(PLAY_TOLERANCE_S, PLAY_TOLERANCE_FRACTION * self.duration_s)
        return self.ended and self.listened_s >= self.duration_s - tolerance

    def to_dict(self) -> dict:
        return {
            "duration_s": self.duration_s,
            "play_count": self.play_count,
            "listened_s": self.listened_s,
            "ended": self.ended,
            "started": self._started,
        }

    @classmethod
    def from_dict(cls, data: dict) -> PlayTracker:
        tracker = cls(data["duration_s"], data["play_count"], data["listened_s"], data["ended"])
        tracker._started = data.get("started")
        return tracker


@dataclass(frozen=True)
class Presentation:
    """What the listener sees for one stimulus: clips in play order (A, B) and their roles."""

    stimulus: Stimulus
    clips: tuple[str, ...]  # file paths relative to the test folder, in presentation order
    flipped: bool  # for randomised pairs: True = stimulus first


class ListeningTest:
    """One test folder: definition, sessions, rating store."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.definition: TestDefinition = load_definition(self.folder)
        self.store = RatingStore(self.folder / "ratings.csv")
        self.sessions = SessionBook(self.folder, self.definition)
        self._durations: dict[str, float] = {}
        self._stimuli = self.definition.by_id()

    @property
    def test_id(self) -> str:
        return self.definition.test_id

    def open(self, listener_id: str, *, rng: random.Random | None = None) -> Session:
        """Resume the listener's session or start a balanced new one."""
        return self.sessions.open(listener_id, self.store.stored_keys, rng=rng)

    def save(self, session: Session) -> None:
        self.sessions.save(session)

    def find(self, listener_id: str) -> Session | None:
        """The listener's session if they have started one (never creates one)."""
        return self.sessions.get(listener_id)

    def remaining(self, session: Session, *, refresh: bool = True) -> list[str]:
        """Unrated stimulus ids of the session in order (``refresh=False``: this process's
        view as of its last read or write, enough right after its own submit)."""
        rated = self.store.rated_by(session.listener_id, refresh=refresh)
        return [sid for sid in session.order if sid not in rated]

    def progress(self, session: Session, *, refresh: bool = True) -> tuple[int, int]:
        """(rated, total) stimuli of this session."""
        total = len(session.order)
        return total - len(self.remaining(session, refresh=refresh)), total

    def admits(self, listener_id: str, key: str | None) -> bool:
        """Whether a link's ``key`` matches the listener (always, without a link secret)."""
        secret = self.definition.link_secret
        if not secret:
            return True
        return bool(key) and hmac.compare_digest(listener_key(secret, listener_id), key.strip())

    def presentation(self, session: Session, stimulus_id: str) -> Presentation:
        stim = self._stimuli[stimulus_id]
        spec = self.definition.spec
        if not spec.paired:
            return Presentation(stim, (stim.file,), False)
        flipped = stimulus_id in session.flipped
        if spec.randomise_order and flipped:
            return Presentation(stim, (stim.file, stim.reference), True)
        return Presentation(stim, (stim.reference, stim.file), False)

    def path(self, rel: str) -> Path:
        return self.folder / rel

    def duration(self, rel: str) -> float:
        """Clip duration in seconds (cached)."""
        if rel not in self._durations:
            self._durations[rel] = float(sf.info(str(self.path(rel))).duration)
        return self._durations[rel]

    def load_clip(self, rel: str) -> tuple[int, np.ndarray]:
        """``(sample_rate, int16 samples)`` ready for a player (no file name leaks)."""
        data, rate = sf.read(str(self.path(rel)), dtype="int16", always_2d=False)
        return int(rate), data

    def stored_score(self, presentation: Presentation, choice: int) -> int:
        """Listener's choice → stored score (sign corrected for stimulus-first pairs).

        For ``ccr``/``ab`` the choice rates the *second* clip against the first; the stored
        score always rates the stimulus against its reference.
        """
        if self.definition.spec.randomise_order and presentation.flipped:
            return -int(choice)
        return int(choice)

    def submit(
        self,
        session: Session,
        stimulus_id: str,
        choice: int,
        *,
        play_count: int,
        listened_s: float,
        response_ms: float,
    ) -> bool:
        """Store the rating; ``True`` if written now, ``False`` if it was a duplicate."""
        if stimulus_id not in session.order:
            raise ValueError(f"stimulus {stimulus_id} is not part of this session")
        presentation = self.presentation(session, stimulus_id)
        if choice not in self.definition.spec.scores:
            raise ValueError(f"choice {choice} is not on the {self.definition.question} scale")
        stim = presentation.stimulus
        expected = stim.gold if stim.gold is not None else stim.trap
        row = {
            "test_id": self.test_id,
            "listener_id": session.listener_id,
            "session_id": session.session_id,
            "stimulus_id": stim.id,
            "system": stim.system,
            "item_id": stim.item_id,
            "question": self.definition.question,
            "score": self.stored_score(presentation, choice),
            "play_count": play_count,
            "listened_s": round(listened_s, 3),
            "response_ms": round(response_ms),
            "is_gold": stim.gold is not None,
            "is_trap": stim.trap is not None,
            "app_version": __version__,
            "condition": stim.condition,
            "position": session.order.index(stimulus_id) + 1,
            "order": ("stim-first" if presentation.flipped else "ref-first")
            if self.definition.spec.paired
            else "",
            "expected": expected,
            "truth": stim.truth,
        }
        return self.record(session, row)

    def record(self, session: Session, row: dict) -> bool:
        """Append ``row`` (a rating or an emotion answer) and close a complete session."""
        saved = self.store.append(row)
        if not saved:
            log.info("duplicate rating ignored: %s %s", session.listener_id, row["stimulus_id"])
        rated = self.store.rated_by(session.listener_id, refresh=False)  # current as of append
        if session.stage != "done" and rated.issuperset(session.order):
            session.stage = "done"
            session.completed = time.time()
            self.save(session)
        else:
            self.sessions.touch(session)  # still live: keep its reservations
        return saved


#: URL query parameters that carry a listener id, in priority order (Prolific, generic, MTurk).
ID_PARAMS = ("PROLIFIC_PID", "listener", "workerId", "participant")
#: URL query parameter carrying the per-listener key of a test with a ``link_secret``
KEY_PARAM = "key"
_ID_OK = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def clean_listener_id(raw: str) -> str:
    """An id safe for CSV and file names: kept as is when simple, else a short hash."""
    raw = raw.strip()
    if _ID_OK.match(raw) and not raw.startswith(("-", "@")):
        return raw
    return "h-" + hashlib.sha256(raw.encode()).hexdigest()[:16]


def listener_key(secret: str, listener_id: str) -> str:
    """The per-listener link key (12 hex digits of an HMAC-SHA256 of the id)."""
    return hmac.new(secret.encode(), listener_id.encode(), hashlib.sha256).hexdigest()[:12]


def listener_link(base_url: str, definition: TestDefinition, listener_id: str) -> str:
    """The crowd link of ``listener_id``: ``?test=…&listener=…`` plus ``&key=…`` when the test
    has a ``link_secret``."""
    params = {"test": definition.test_id, "listener": listener_id}
    if definition.link_secret:
        params[KEY_PARAM] = listener_key(definition.link_secret, listener_id)
    return f"{base_url.rstrip('/')}/?{urlencode(params)}"


def resolve_listener(
    params: dict[str, str], username: str | None, stored: str | None
) -> tuple[str, str]:
    """(listener_id, source): URL parameter, then logged-in user, then the browser-stored
    anonymous id, else a new anonymous id (the caller stores it in the browser)."""
    for name in ID_PARAMS:
        value = params.get(name)
        if value and value.strip():
            return clean_listener_id(value), name
    if username:
        return clean_listener_id(f"user-{username}"), "login"
    if stored and stored.strip():
        return clean_listener_id(stored), "browser"
    return f"anon-{secrets.token_hex(8)}", "new"
