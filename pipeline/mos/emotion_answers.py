"""Answers of the categorical emotion questions (``emotion-id``, ``annotate``).

The listener picks a label from the definition's ``labels`` (the five emotions plus
``other`` = "other / can't tell"), optionally an intensity 1..5 (stored as ``score``) and
their own certainty 1..5. :func:`submit_answer` checks the answer against the definition
and stores it through the test's :class:`~pipeline.mos.storage.RatingStore`, exactly like a
MOS rating (same row, same exactly-once key, same session completion).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline import __version__
from pipeline.mos.assignment import Session
from pipeline.mos.definition import TestDefinition
from pipeline.mos.listening import ListeningTest

#: intensity / certainty scale of the categorical questions (low → high)
ANSWER_SCALE: tuple[int, ...] = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class EmotionAnswer:
    """One listener's answer: ``label`` plus optional ``intensity`` and ``certainty`` (1..5)."""

    label: str
    intensity: int | None = None
    certainty: int | None = None


def check_answer(definition: TestDefinition, answer: EmotionAnswer) -> None:
    """Raise ``ValueError`` (one line) when ``answer`` does not fit the definition."""
    if not definition.spec.categorical:
        raise ValueError(f"question {definition.question} does not take an emotion label")
    if answer.label not in definition.labels:
        raise ValueError(f"label {answer.label!r} is not one of {', '.join(definition.labels)}")
    for name, value, asked in (
        ("intensity", answer.intensity, definition.ask_intensity),
        ("certainty", answer.certainty, definition.ask_certainty),
    ):
        if value is None:
            if asked:
                raise ValueError(f"choose the {name} (1-5)")
            continue
        if not asked:
            raise ValueError(f"this test does not ask for {name}")
        if value not in ANSWER_SCALE:
            raise ValueError(f"{name} must be 1-5, got {value!r}")


def answer_row(
    test: ListeningTest,
    session: Session,
    stimulus_id: str,
    answer: EmotionAnswer,
    *,
    play_count: int,
    listened_s: float,
    response_ms: float,
) -> dict:
    """The storage row of ``answer`` (standard columns + ``label``/``certainty``/``truth``)."""
    if stimulus_id not in session.order:
        raise ValueError(f"stimulus {stimulus_id} is not part of this session")
    check_answer(test.definition, answer)
    stim = test.definition.by_id()[stimulus_id]
    return {
        "test_id": test.test_id,
        "listener_id": session.listener_id,
        "session_id": session.session_id,
        "stimulus_id": stim.id,
        "system": stim.system,
        "item_id": stim.item_id,
        "question": test.definition.question,
        "score": answer.intensity,
        "play_count": play_count,
        "listened_s": round(listened_s, 3),
        "response_ms": round(response_ms),
        "is_gold": stim.gold_label is not None,
        "is_trap": False,
        "app_version": __version__,
        "condition": stim.condition,
        "position": session.order.index(stimulus_id) + 1,
        "label": answer.label,
        "certainty": answer.certainty,
        "truth": stim.gold_label if stim.gold_label is not None else stim.truth,
    }


def submit_answer(
    test: ListeningTest,
    session: Session,
    stimulus_id: str,
    answer: EmotionAnswer,
    *,
    play_count: int,
    listened_s: float,
    response_ms: float,
) -> bool:
    """Store the answer; ``True`` if written now, ``False`` if this listener already answered."""
    row = answer_row(
        test,
        session,
        stimulus_id,
        answer,
        play_count=play_count,
        listened_s=listened_s,
        response_ms=response_ms,
    )
    return test.record(session, row)
