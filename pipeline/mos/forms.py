"""Answer forms, one per question kind: what a listener page offers as answers.

:class:`~pipeline.mos.session_flow.ListenerFlow` asks :func:`answer_form` for the form of a
test's question. Kinds not registered use the rating scale of :data:`~pipeline.mos.definition.
QUESTIONS` (P.800 labels or the definition's own); a new kind of question (e.g. emotion
identification) registers its form with :func:`register_answer_form`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline.mos.definition import TestDefinition
from pipeline.mos.strings import scale_label


@dataclass(frozen=True)
class AnswerForm:
    """How a page is answered: one choice among ``choices`` (``(label, value)`` pairs, in
    display order). ``kind`` names the form (a question kind, or ``headphone``)."""

    kind: str
    choices: tuple[tuple[str, Any], ...]
    label: str = " "

    @property
    def unanswered(self) -> str:
        """The key of the string (:mod:`pipeline.mos.strings`) a submit without a complete
        answer gets."""
        return "choose_first"

    def parse(self, raw: Any) -> Any | None:
        """The choice's value for a submitted ``raw`` answer, or None if it is not a choice."""
        if raw is None:
            return None
        for _, value in self.choices:
            if str(value) == str(raw):
                return value
        return None


def scale_form(definition: TestDefinition, lang: str) -> AnswerForm:
    """The question's rating scale (P.800 labels or the definition's own)."""
    question = definition.question
    choices = tuple(
        (scale_label(question, s, lang, definition.scale), s) for s in definition.spec.scores
    )
    return AnswerForm(question, choices)


#: question kind -> builder of its answer form; kinds not listed use :func:`scale_form`
ANSWER_FORMS: dict[str, Callable[[TestDefinition, str], AnswerForm]] = {}


def register_answer_form(kind: str, build: Callable[[TestDefinition, str], AnswerForm]) -> None:
    """Let question kind ``kind`` be answered with the form ``build(definition, lang)``."""
    ANSWER_FORMS[kind] = build


def answer_form(definition: TestDefinition, lang: str) -> AnswerForm:
    return ANSWER_FORMS.get(definition.question, scale_form)(definition, lang)
