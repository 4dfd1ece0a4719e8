"""Simulated listeners: prove the annotation / identification loop without people.

A :class:`Crowd` answers from a known confusion matrix (rows: true emotion, columns: the
answer), with a known share of spammers who pick any label at random, and honest listeners
whose skill varies (the chance of naming the truth is scaled by a per-listener factor).
Listeners take their sessions through the object the listening page uses,
:class:`~pipeline.mos.session_flow.ListenerFlow` (start, play events, answer), which stores
through the test's :class:`~pipeline.mos.storage.RatingStore` — so the CSV they leave is
what real listeners would leave.

Nothing here measures a system: the identification rates a simulated listener "hears" are
inputs of the simulation (``rates``), which is how the report can be checked against them.
"""

from __future__ import annotations

import csv
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.audio import write_wav
from pipeline.mos.clips import ClipCache
from pipeline.mos.definition import EMOTION_LABELS, Stimulus
from pipeline.mos.listening import ListeningTest
from pipeline.mos.pages import PageBook
from pipeline.mos.session_flow import ListenerFlow
from pipeline.signals import synthetic_voice

try:  # main moved the synthetic voice to pipeline.signals (architecture v2)
    from pipeline.signals import synthetic_voice
except ImportError:  # this branch's base still has it in pipeline.emotion.testsignals
    from pipeline.emotion.testsignals import synthetic_voice

log = logging.getLogger(__name__)

#: ``--set`` overrides that shrink the emotion GAN to a seconds-long CPU run (the simulated
#: loop and the tests train it on the labels the simulated crowd leaves)
TINY_EMOTION_GAN_SIZE = (
    "model.channels=16",
    "model.n_blocks=1",
    "model.base_2d=4",
    "model.prosody_channels=8",
    "model.prosody_blocks=1",
    "model.disc_channels=16",
    "model.cls_channels=16",
    "data.segment_frames=32",
    "data.val_segments=16",
    "train.batch_size=4",
    "loss.reconstruction=l2",
)

#: pairs of emotions honest listeners mix up more often than others (arousal / valence)
CONFUSABLE = (("happy", "surprise"), ("angry", "happy"), ("sad", "neutral"))


def confusion_matrix(
    accuracy: float, labels: tuple[str, ...] = EMOTION_LABELS, *, confusable_share: float = 0.5
) -> dict[str, dict[str, float]]:
    """Honest listeners' P(answer | truth): ``accuracy`` on the diagonal; of the rest,
    ``confusable_share`` goes to the truth's :data:`CONFUSABLE` partners, the remainder is
    spread evenly over the other labels."""
    out = {}
    for truth in labels:
        partners = {b for a, b in CONFUSABLE if a == truth} | {
            a for a, b in CONFUSABLE if b == truth
        }
        partners &= set(labels)
        others = [x for x in labels if x != truth and x not in partners]
        row = {truth: accuracy}
        miss = 1.0 - accuracy
        near = confusable_share * miss if partners else 0.0
        for x in partners:
            row[x] = near / len(partners)
        for x in others:
            row[x] = (miss - near) / len(others)
        out[truth] = row
    return out


@dataclass
class Crowd:
    """A population of simulated listeners.

    Attributes:
        confusion: honest P(answer | truth) for natural clips (see :func:`confusion_matrix`).
        spam_share: probability that a new listener is a spammer (uniform random labels).
        gold_accuracy: honest listeners' chance of naming a gold clip's label (clear clips).
        rates: (system, target) → honest chance of perceiving the target in a converted clip;
            misses are spread like the confusion row of the target.
        skill_sd: per-listener skill factor ~ N(1, skill_sd), clipped to [0.5, 1.5].
    """

    confusion: dict[str, dict[str, float]]
    spam_share: float = 0.2
    gold_accuracy: float = 0.95
    rates: dict[tuple[str, str], float] = field(default_factory=dict)
    skill_sd: float = 0.15
    seed: int = 0

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.labels = list(next(iter(self.confusion.values())))

    def new_listener(self) -> tuple[bool, float]:
        """(is_spammer, skill factor) of the next arriving listener."""
        spammer = bool(self.rng.random() < self.spam_share)
        return spammer, float(np.clip(self.rng.normal(1.0, self.skill_sd), 0.5, 1.5))

    def hit_chance(self, stimulus: Stimulus) -> float:
        """Honest chance (skill 1) of naming ``stimulus.truth``."""
        if stimulus.gold_label is not None:
            return self.gold_accuracy
        target = stimulus.truth
        rate = self.rates.get((stimulus.system, target))
        return self.confusion[target][target] if rate is None else rate

    def answer(self, stimulus: Stimulus, spammer: bool, skill: float) -> str:
        """The label a listener picks for ``stimulus`` (its hidden truth drives the odds)."""
        if spammer or not stimulus.truth:
            return str(self.rng.choice(self.labels))
        truth = stimulus.truth
        p_hit = min(0.99, self.hit_chance(stimulus) * skill)
        if self.rng.random() < p_hit:
            return truth
        row = {k: v for k, v in self.confusion[truth].items() if k != truth}
        total = sum(row.values())
        names = list(row)
        return str(self.rng.choice(names, p=[row[n] / total for n in names]))


def listener_flow(folder: str | Path) -> ListenerFlow:
    """The flow object the listening page uses, for the test in ``folder`` (clips are
    published under ``folder/.sim-clips``)."""
    return ListenerFlow(ListeningTest(folder), PageBook(), ClipCache(Path(folder) / ".sim-clips"))


def take_session(
    flow: ListenerFlow,
    listener_id: str,
    choose: Callable[[Stimulus], str],
    *,
    intensity: Callable[[Stimulus], int | None] = lambda s: None,
) -> int:
    """One listener's whole session through the page's flow; returns answers saved.

    Consent → every rating page: each clip is played to its end (the play and end events
    are given the clip's duration apart, so no real waiting), then the answer is submitted
    as the page submits it. The session's stimulus order is drawn from a generator seeded
    by the listener id (the session is opened just before Start), so runs are reproducible.
    """
    flow.test.open(listener_id, rng=random.Random(listener_id))
    screen = flow.start(listener_id, True).screen
    saved = 0
    by_id = flow.definition.by_id()
    while screen is not None and screen.stage == "rating":
        page = flow.pages.get(screen.page_id)
        now = time.time()
        for i, tracker in enumerate(page.trackers):
            flow.pages.played(screen.page_id, i, "play", now)
            flow.pages.played(screen.page_id, i, "end", now + tracker.duration_s)
        stim = by_id[page.ref]
        raw = {"label": choose(stim)}
        if flow.definition.ask_intensity:
            raw["intensity"] = intensity(stim)
        reply = flow.answer(listener_id, screen.page_id, raw)
        saved += reply.status == "saved"
        screen = reply.screen
    return saved


def run_crowd(
    flow: ListenerFlow, crowd: Crowd, n_listeners: int, *, intensity=lambda s: None, start: int = 0
) -> dict[str, tuple[bool, float]]:
    """``n_listeners`` simulated listeners take the test; listener id → (spammer, skill)."""
    kinds = {}
    for n in range(start, start + n_listeners):
        spammer, skill = crowd.new_listener()
        listener = f"sim{n:04d}" + ("-s" if spammer else "")
        kinds[listener] = (spammer, skill)
        take_session(
            flow,
            listener,
            lambda stim, sp=spammer, sk=skill: crowd.answer(stim, sp, sk),
            intensity=intensity,
        )
    return kinds


def synthetic_corpus(
    root: Path,
    *,
    clips_per_emotion: int = 24,
    speakers: tuple[str, ...] = ("s1", "s2", "s3", "s4"),
    seconds: float = 1.0,
    seed: int = 0,
) -> Path:
    """Acted-like synthetic voices (F0 / level / rate by emotion) + a manifest CSV.

    Returns ``root/manifest.csv`` (``path`` relative to ``root``, ``speaker``, ``emotion``,
    ``split``: the last speaker is ``valid``, ``source`` ``synthetic``).
    """
    style = {  # F0 factor, level dB, syllables/s
        "neutral": (1.0, -24.0, 4.0),
        "happy": (1.3, -20.0, 4.8),
        "angry": (1.15, -16.0, 5.2),
        "sad": (0.85, -30.0, 3.2),
        "surprise": (1.45, -19.0, 4.4),
    }
    rng = random.Random(seed)
    rows = []
    for emotion, (f0_factor, level, rate) in style.items():
        for k in range(clips_per_emotion):
            speaker = speakers[k % len(speakers)]
            base = 110.0 + 40.0 * speakers.index(speaker)
            wave = synthetic_voice(
                seconds,
                16_000,
                f0_hz=base * f0_factor * rng.uniform(0.95, 1.05),
                syllable_rate=rate,
                level_dbfs=level,
                seed=1000 * speakers.index(speaker) + k,
            )
            rel = f"speech/synthetic/{speaker}/{emotion}_{k:03d}.wav"
            write_wav(root / rel, wave, 16_000)
            split = "valid" if speaker == speakers[-1] else "train"
            rows.append(
                {
                    "path": rel,
                    "speaker": speaker,
                    "emotion": emotion,
                    "split": split,
                    "source": "synthetic",
                }
            )
    manifest = root / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def wilson_half_width(p: float, n: int, z: float = 1.959964) -> float:
    """Half-width of the 95 % Wilson interval of a rate ``p`` from ``n`` answers."""
    return z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)


def answers_for_half_width(p: float, target: float = 0.05) -> int:
    """Fewest answers whose Wilson half-width at rate ``p`` is at most ``target``."""
    n = 1
    while wilson_half_width(p, n) > target:
        n = max(n + 1, int(n * 1.05))
    while n > 1 and wilson_half_width(p, n - 1) <= target:
        n -= 1
    return n
