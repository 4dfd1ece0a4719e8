"""Answers of the categorical emotion questions (``emotion-id``, ``annotate``).

The listener picks a label from the definition's ``labels`` (the five emotions plus
``other`` = "other / can't tell"), optionally an intensity 1..5 (stored as ``score``) and
their own certainty 1..5. :func:`submit_answer` checks the answer against the definition
and stores it through the test's :class:`~pipeline.mos.storage.RatingStore`, exactly like a
MOS rating (same row, same exactly-once key, same session completion).

:class:`EmotionForm` is the answer form of both kinds in the listener flow
(:mod:`pipeline.mos.session_flow`): the labels as the choice, plus the intensity and
certainty scales when the test asks for them; it is registered for ``emotion-id`` and
``annotate`` when this module is imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline import __version__
from pipeline.mos.assignment import Session
from pipeline.mos.definition import TestDefinition
from pipeline.mos.forms import AnswerForm, register_answer_form
from pipeline.mos.listening import ListeningTest
from pipeline.mos.strings import text

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
    """Store the answer as a row (standard columns + ``label``/``certainty``/``truth``);
    ``True`` if written now, ``False`` if this listener already answered."""
    if stimulus_id not in session.order:
        raise ValueError(f"stimulus {stimulus_id} is not part of this session")
    check_answer(test.definition, answer)
    stim = test.definition.by_id()[stimulus_id]
    row = {
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
    return test.record(session, row)


@dataclass(frozen=True)
class EmotionForm(AnswerForm):
    """The emotion choice (``choices``: ``(text, label)``) plus the optional 1..5 scales.

    :meth:`parse` takes a label, or a mapping ``{"label", "intensity", "certainty"}`` from
    a page with the extra scales, and returns an :class:`EmotionAnswer` (None when the label
    or an asked scale is missing or not a choice).
    """

    intensity: tuple[tuple[str, int], ...] = ()  # empty: not asked
    certainty: tuple[tuple[str, int], ...] = ()

    @property
    def unanswered(self) -> str:
        return "answer_all_first" if self.intensity or self.certainty else "choose_first"

    def parse(self, raw: Any) -> EmotionAnswer | None:
        fields = dict(raw) if isinstance(raw, dict) else {"label": raw}
        label = AnswerForm.parse(self, fields.get("label"))
        if label is None:
            return None
        values = []
        for name, scale in (("intensity", self.intensity), ("certainty", self.certainty)):
            value = fields.get(name)
            if not scale:
                values.append(None)
                continue
            if value is None or str(value) not in {str(v) for _, v in scale}:
                return None
            values.append(int(value))
        return EmotionAnswer(label, *values)


def emotion_form(definition: TestDefinition, lang: str) -> EmotionForm:
    """The form of an ``emotion-id`` / ``annotate`` page of ``definition``."""
    choices = tuple((text(f"emotion_{label}", lang), label) for label in definition.labels)
    scale = tuple((str(v), v) for v in ANSWER_SCALE)
    return EmotionForm(
        definition.question,
        choices,
        intensity=scale if definition.ask_intensity else (),
        certainty=scale if definition.ask_certainty else (),
    )


for _kind in ("emotion-id", "annotate"):
    register_answer_form(_kind, emotion_form)
