"""Listener sessions and the balanced choice of stimuli for each new session.

Every listener has at most one session per test, kept as JSON in
``ratings/<test_id>/sessions/<hash of listener id>.json`` (atomic writes), so a reload —
or a different server process — resumes exactly where the listener left off. Which
stimuli were already rated is never stored here: the ratings CSV is the truth.

Assignment: a new session takes ``items_per_session`` regular stimuli, the systems taking
turns (so a session holds every system within ±1 clip), within a turn the stimulus with the
lowest *load* (listeners who rated it + live sessions still holding it unrated), ties broken
at random and preferring different utterances (``item_id``) within a session, plus
``gold_per_session`` gold and ``trap_per_session`` trap items; then everything is shuffled.
Arrivals one after another therefore spread votes evenly across stimuli while the test is
filling. A session is live while it was touched within ``session_timeout_minutes`` (idle
time); an abandoned session stops reserving its clips after that, and one that has not stored
a rating yet after :data:`UNRATED_HOLD_S` (3 minutes). Sessions are created only when a
listener starts (never by a page visit), and only so many per client and minute
(:mod:`pipeline.mos.limits`).
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from filelock import FileLock

from pipeline.mos.definition import Stimulus, TestDefinition

STAGES = ("consent", "headphone", "training", "rating", "done")
#: a session without a stored rating holds its clips only this long after its last activity
#: (seconds; a listener who gives up in the check or the practice frees them soon)
UNRATED_HOLD_S = 180.0


@dataclass
class Session:
    """One listener's progress through one test.

    Attributes:
        order: stimulus ids in presentation order.
        flipped: stimulus ids whose pair is presented stimulus-first (randomised questions).
        created / updated: UNIX seconds.
    """

    test_id: str
    listener_id: str
    session_id: str
    order: list[str]
    flipped: list[str] = field(default_factory=list)
    stage: str = "consent"
    training_done: int = 0
    headphone_attempts: int = 0
    headphone_ok: bool | None = None
    created: float = 0.0
    updated: float = 0.0
    completed: float | None = None

    def alive(self, now: float, timeout_s: float) -> bool:
        return self.stage == "done" or now - self.updated <= timeout_s


def session_file(sessions_dir: Path, listener_id: str) -> Path:
    digest = hashlib.sha256(listener_id.encode()).hexdigest()[:24]
    return sessions_dir / f"{digest}.json"


def read_session(path: Path) -> Session | None:
    try:
        return Session(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def write_session(sessions_dir: Path, session: Session) -> None:
    """Atomically (temp file + replace) store ``session``."""
    sessions_dir.mkdir(parents=True, exist_ok=True)
    path = session_file(sessions_dir, session.listener_id)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(json.dumps(asdict(session)), encoding="utf-8")
    tmp.replace(path)


def stimulus_loads(
    definition: TestDefinition,
    sessions: Iterable[Session],
    stored_keys: set[tuple[str, ...]],
    *,
    now: float,
) -> Counter:
    """Votes each stimulus has or is promised: stored ratings + live unrated reservations."""
    load: Counter = Counter({s.id: 0 for s in definition.stimuli})
    rated = {(who, stim) for who, stim in stored_keys}
    for _, stim in rated:
        load[stim] += 1
    timeout = definition.session_timeout_minutes * 60.0
    for session in sessions:
        if session.stage == "done":
            continue
        unrated = [s for s in session.order if (session.listener_id, s) not in rated]
        hold = timeout if len(unrated) < len(session.order) else min(timeout, UNRATED_HOLD_S)
        if not session.alive(now, hold):
            continue
        for stim in unrated:
            load[stim] += 1
    return load


def choose(pool: list[Stimulus], count: int, load: Counter, rng: random.Random) -> list[Stimulus]:
    """``count`` stimuli from ``pool``: systems take turns, then the lowest load.

    Round-robin over systems: the next pick comes from the systems with the fewest picks so
    far in this session, so within one session no system has more than one clip more than
    another (while each still has clips left). Within a turn the stimulus with the lowest
    load wins, then one of an utterance (``item_id``) not yet chosen; ties are random.
    """
    remaining = sorted(pool, key=lambda s: (load[s.id], rng.random()))
    chosen: list[Stimulus] = []
    items: set[str] = set()
    per_system: Counter = Counter()
    while len(chosen) < count and remaining:
        fewest = min(per_system[s.system] for s in remaining)
        turn = [s for s in remaining if per_system[s.system] == fewest]  # still load-sorted
        lowest = load[turn[0].id]
        level = [s for s in turn if load[s.id] == lowest]
        fresh = [s for s in level if not s.item_id or s.item_id not in items]
        pick = (fresh or level)[0]
        chosen.append(pick)
        remaining.remove(pick)
        items.add(pick.item_id)
        per_system[pick.system] += 1
    return chosen


def new_order(
    definition: TestDefinition, load: Counter, rng: random.Random
) -> tuple[list[str], list[str]]:
    """Stimulus order and flipped pairs for a new session (see module docstring)."""
    regular = definition.regular()
    gold = [s for s in definition.stimuli if s.kind == "gold"]
    trap = [s for s in definition.stimuli if s.kind == "trap"]
    picked = choose(regular, min(definition.items_per_session, len(regular)), load, rng)
    picked += choose(gold, min(definition.gold_per_session, len(gold)), load, rng)
    picked += choose(trap, min(definition.trap_per_session, len(trap)), load, rng)
    order = [s.id for s in picked]
    rng.shuffle(order)
    flipped = []
    if definition.spec.randomise_order:
        flipped = [sid for sid in order if rng.random() < 0.5]
    return order, flipped


def new_session(
    definition: TestDefinition,
    listener_id: str,
    sessions: Iterable[Session],
    stored_keys: set[tuple[str, ...]],
    rng: random.Random,
    *,
    now: float,
) -> Session:
    """A fresh session (stage ``consent``) for ``listener_id``, its order balanced against
    the ``sessions`` there are and the stored ``(listener_id, stimulus_id)`` keys."""
    load = stimulus_loads(definition, sessions, stored_keys, now=now)
    order, flipped = new_order(definition, load, rng)
    return Session(
        test_id=definition.test_id,
        listener_id=listener_id,
        session_id=secrets.token_hex(6),
        order=order,
        flipped=flipped,
        stage="consent",
        created=now,
        updated=now,
    )


class SessionBook:
    """Creates and resumes sessions of one test; safe across threads and processes."""

    #: a live session's ``updated`` time is rewritten at most this often (seconds)
    TOUCH_EVERY_S = 60.0

    def __init__(self, folder: Path, definition: TestDefinition) -> None:
        self.dir = Path(folder) / "sessions"
        self.definition = definition
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.dir / ".lock"), timeout=30)
        self._parsed: dict[Path, tuple[int, Session | None]] = {}  # path -> (mtime_ns, session)

    def get(self, listener_id: str) -> Session | None:
        return read_session(session_file(self.dir, listener_id))

    def all(self) -> list[Session]:
        """Every session on disk (files re-read only when their mtime changed)."""
        parsed: dict[Path, tuple[int, Session | None]] = {}
        for path in self.dir.glob("*.json"):
            try:
                mtime = path.stat().st_mtime_ns
            except OSError:
                continue
            cached = self._parsed.get(path)
            parsed[path] = cached if cached and cached[0] == mtime else (mtime, read_session(path))
        self._parsed = parsed
        return [s for _, s in parsed.values() if s is not None]

    def touch(self, session: Session, *, now: float | None = None) -> None:
        """Keep a live session's reservation (rewrites the file at most once a minute)."""
        now = time.time() if now is None else now
        if now - session.updated >= self.TOUCH_EVERY_S:
            self.save(session, now=now)

    def open(
        self,
        listener_id: str,
        stored_keys_fn,
        *,
        rng: random.Random | None = None,
        now: float | None = None,
    ) -> Session:
        """The listener's session, created with a balanced order on first visit.

        ``stored_keys_fn()`` returns the stored ``(listener_id, stimulus_id)`` keys; it is
        called under the sessions lock so two arriving listeners never see the same loads.
        """
        now = time.time() if now is None else now
        existing = self.get(listener_id)
        if existing is not None:
            return existing
        rng = rng or random.Random(secrets.randbits(64))
        with self._lock:
            existing = self.get(listener_id)
            if existing is not None:
                return existing
            session = new_session(
                self.definition, listener_id, self.all(), stored_keys_fn(), rng, now=now
            )
            write_session(self.dir, session)
        return session

    def save(self, session: Session, *, now: float | None = None) -> None:
        session.updated = time.time() if now is None else now
        write_session(self.dir, session)
