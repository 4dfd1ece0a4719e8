"""The listener's path through a test, as a plain object the UI only renders.

Stages (stored in the listener's :class:`~pipeline.mos.assignment.Session`):
``consent`` → ``headphone`` (if the test has a check) → ``training`` (practice clips, if any)
→ ``rating`` → ``done``. :class:`ListenerFlow` decides everything; the Gradio tab turns a
:class:`Screen` into components and a :class:`Reply` into a status line.

Rules enforced here, on the server:

* no session (no file, no reservation) exists before the listener presses Start with consent,
  and one client (address) may start only so many new sessions per minute;
* every clip page is a *page instance* with a random ``page_id``; its players' play/pause/end
  events are timed on that instance only, so a second browser tab cannot answer a clip the
  first tab played;
* an answer is taken only when every clip of its page was played to the end;
* practice cannot be skipped: Continue moves on only from the practice page that was answered;
* "Saved." is said only when this very submit stored the rating; a repeat says "already
  rated", a submit after the end says "the test is finished".

Answer forms are per question kind (:mod:`pipeline.mos.forms`, re-exported here): a new kind
of question registers a function that builds its :class:`AnswerForm` with
:func:`register_answer_form`. Live pages and their play timings are in :mod:`pipeline.mos.pages`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pipeline.mos.assignment import Session
from pipeline.mos.clips import ClipCache
from pipeline.mos.definition import TestDefinition
from pipeline.mos.emotion_answers import EmotionAnswer, submit_answer  # registers its forms
from pipeline.mos.forms import (  # noqa: F401  (re-exported: the flow's extension points)
    ANSWER_FORMS,
    AnswerForm,
    answer_form,
    register_answer_form,
)
from pipeline.mos.limits import ClientRateLimit
from pipeline.mos.listening import ListeningTest, PlayTracker
from pipeline.mos.pages import Page, PageBook
from pipeline.mos.strings import scale_label, text

MAX_HEADPHONE_ATTEMPTS = 3

# -- what the UI renders ---------------------------------------------------------------------


@dataclass(frozen=True)
class PlayerClip:
    """A player: its label and the file to play (an immutable published copy)."""

    label: str
    path: str


@dataclass(frozen=True)
class Screen:
    """Everything one listener page shows. ``stage`` picks the layout."""

    stage: str  # consent | headphone | training | rating | done | invalid
    header: str
    page_id: str = ""
    instructions: str = ""
    title: str = ""
    prompt: str = ""
    clips: tuple[PlayerClip, ...] = ()
    form: AnswerForm | None = None
    submit_label: str = ""
    done_text: str = ""

    @property
    def layout(self) -> str:
        """What the page looks like apart from its content: two screens with the same layout
        differ only in title, prompt, clips and page id (the UI then swaps those alone)."""
        labels = tuple(clip.label for clip in self.clips)
        return repr((self.stage, self.form, labels, self.submit_label))


@dataclass(frozen=True)
class Reply:
    """The outcome of a listener action.

    ``status``: saved | already_rated | finished | wrong | answered | moved | play_first |
    choose_first | need_consent | limited | stale. ``screen`` is None when the page stays as it is;
    ``feedback`` is the practice answer shown under an answered practice page.
    """

    status: str
    message: str = ""
    screen: Screen | None = None
    feedback: str = ""


# -- the flow --------------------------------------------------------------------------------


class ListenerFlow:
    """Decides every listener page of one test (see the module docstring)."""

    def __init__(
        self,
        test: ListeningTest,
        pages: PageBook,
        clips: ClipCache,
        new_sessions: ClientRateLimit | None = None,
    ) -> None:
        """``new_sessions`` limits how many sessions one client may create (default: a
        :class:`ClientRateLimit` of this flow)."""
        self.test = test
        self.pages = pages
        self.clips = clips
        self.new_sessions = new_sessions or ClientRateLimit()

    @property
    def definition(self) -> TestDefinition:
        return self.test.definition

    @property
    def lang(self) -> str:
        return self.definition.language

    def say(self, key: str, **fields: object) -> str:
        return text(key, self.lang, **fields)

    # -- reading -----------------------------------------------------------------------------
    def header(self, listener_id: str) -> str:
        title = self.say("welcome", title=self.definition.display_title)
        return title + "\n\n" + self.say("listener_line", listener_id=listener_id)

    def screen(self, listener_id: str) -> Screen:
        """The page for the listener now (never creates a session)."""
        session = self.test.find(listener_id)
        if session is None or session.stage == "consent":
            instructions = self.definition.instructions or self.say("default_instructions")
            return Screen("consent", self.header(listener_id), instructions=instructions)
        return self._session_screen(session)

    def invalid(self) -> Screen:
        """The page for a link whose key does not match its listener id."""
        return Screen(
            "invalid",
            self.say("welcome", title=self.definition.display_title),
            done_text=self.say("bad_key"),
        )

    def _session_screen(self, session: Session, *, refresh: bool = True) -> Screen:
        d = self.definition
        header = self.header(session.listener_id)
        remaining: list[str] = []
        if session.stage == "rating":
            remaining = self.test.remaining(session, refresh=refresh)
            if not remaining:
                self._finish(session)
        if session.stage == "done":
            return Screen("done", header, done_text=self._done_text(session))
        if session.stage == "headphone":
            check = d.headphone_check
            clips = ((self.say("clip_headphone"), check.file),)
            form = AnswerForm("headphone", tuple((str(c), c) for c in check.choices))
            return self._page(
                session,
                "headphone",
                "check",
                clips,
                form,
                title=self.say("headphone_title"),
                prompt=self.say("headphone_prompt"),
                submit=self.say("headphone_submit"),
            )
        form = answer_form(d, self.lang)
        prompt = self.say(f"prompt_{d.question}", attribute=d.attribute)
        if session.stage == "training":
            clip = d.training[session.training_done]
            files = (clip.reference, clip.file) if clip.reference else (clip.file,)
            title = (
                self.say("training_title", n=session.training_done + 1, total=len(d.training))
                + "\n\n"
                + self.say("training_note")
            )
            return self._page(
                session,
                "training",
                str(session.training_done),
                self._labelled(files),
                form,
                title=title,
                prompt=prompt,
                submit=self.say("training_submit"),
            )
        sid = remaining[0]
        presentation = self.test.presentation(session, sid)
        stim = presentation.stimulus
        if stim.trap is not None and d.trap_text:
            label = scale_label(d.question, int(stim.trap), self.lang, d.scale)
            prompt += "\n\n" + self.say("trap_prompt", label=label)
        title = self.say(
            "rating_title", n=len(session.order) - len(remaining) + 1, total=len(session.order)
        )
        return self._page(
            session,
            "rating",
            sid,
            self._labelled(presentation.clips),
            form,
            title=title,
            prompt=prompt,
            submit=self.say("submit"),
        )

    def _labelled(self, files: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        spec = self.definition.spec
        if len(files) == 1:
            labels = [self.say("clip_single")]
        elif spec.randomise_order:
            labels = [self.say("clip_a"), self.say("clip_b")]
        else:
            labels = [self.say("clip_reference"), self.say("clip_test")]
        return tuple(zip(labels, files, strict=True))

    def _page(
        self,
        session: Session,
        kind: str,
        ref: str,
        clips,
        form: AnswerForm,
        *,
        title: str,
        prompt: str,
        submit: str,
    ) -> Screen:
        trackers = [PlayTracker(self.test.duration(rel)) for _, rel in clips]
        page = Page(self.test.test_id, session.listener_id, kind, ref, form, trackers)
        page_id = self.pages.add(page)
        shown = tuple(
            PlayerClip(label, str(self.clips.publish(self.test.path(rel)))) for label, rel in clips
        )
        screen = Screen(
            kind,
            self.header(session.listener_id),
            page_id=page_id,
            title=title,
            prompt=prompt,
            clips=shown,
            form=form,
            submit_label=submit,
        )
        page.layout = screen.layout
        return screen

    def _done_text(self, session: Session) -> str:
        if session.headphone_ok is False:
            return self.say("headphone_failed")
        code = self.definition.completion_code
        body = self.say("done_code", code=code) if code else self.say("done_no_code")
        return self.say("done_title") + "\n\n" + body

    def _finish(self, session: Session) -> None:
        session.stage = "done"
        session.completed = session.completed or time.time()
        self.test.save(session)

    # -- acting ------------------------------------------------------------------------------
    def start(self, listener_id: str, agreed: bool, client: str | None = None) -> Reply:
        """Consent given: create (or resume) the session and move to its first page.

        ``client`` (the caller's address) may create only so many sessions per minute
        (:attr:`new_sessions`); resuming is never limited.
        """
        if not agreed:
            return Reply("need_consent", self.say("need_consent"))
        session = self.test.find(listener_id)
        if session is None:
            if not self.new_sessions.allow(client):
                return Reply("limited", self.say("too_many_sessions"))
            session = self.test.open(listener_id)
        if session.stage == "consent":
            d = self.definition
            session.stage = (
                "headphone" if d.headphone_check else "training" if d.training else "rating"
            )
            self.test.save(session)
        return Reply("moved", screen=self._session_screen(session))

    def played(self, page_id: str | None, index: int, event: str) -> bool:
        """A player event of page ``page_id``; True when its answer may be given."""
        return self.pages.played(page_id, index, event, time.time())

    def answer(self, listener_id: str, page_id: str | None, raw: Any) -> Reply:
        """The listener answers the page ``page_id`` with the choice ``raw``."""
        page = self.pages.get(page_id)
        session = self.test.find(listener_id)
        if session is None or session.stage == "consent":
            return Reply("stale", screen=self.screen(listener_id))
        if session.stage == "done":
            return Reply("finished", self.say("finished"), self._session_screen(session))
        if page is None or page.listener_id != listener_id or page.kind != session.stage:
            return Reply("stale", self.say("play_first"), self._session_screen(session))
        if not page.complete():
            return Reply("play_first", self.say("play_first"))
        value = page.form.parse(raw)
        if value is None:
            return Reply("choose_first", self.say(page.form.unanswered))
        if page.kind == "headphone":
            return self._check_headphones(session, value)
        if page.kind == "training":
            return self._practice_answered(page)
        return self._rate(session, page, value)

    def _check_headphones(self, session: Session, value: Any) -> Reply:
        d = self.definition
        if int(value) == d.headphone_check.answer:
            session.headphone_ok = True
            session.stage = "training" if d.training else "rating"
            self.test.save(session)
            return Reply("moved", screen=self._session_screen(session))
        session.headphone_attempts += 1
        if session.headphone_attempts >= MAX_HEADPHONE_ATTEMPTS:
            session.headphone_ok = False
            session.stage = "done"
        self.test.save(session)
        return Reply("wrong", self.say("headphone_wrong"), self._session_screen(session))

    def _practice_answered(self, page: Page) -> Reply:
        with self.pages.lock:
            page.answered = True
        d = self.definition
        clip = d.training[int(page.ref)]
        label = scale_label(d.question, int(clip.expected), self.lang, d.scale)
        return Reply("answered", feedback=self.say("training_feedback", label=label))

    def _rate(self, session: Session, page: Page, value: Any) -> Reply:
        if page.ref not in session.order:
            return Reply("stale", screen=self._session_screen(session))
        if page.ref in self.test.store.rated_by(session.listener_id, refresh=False):
            return Reply(
                "already_rated",
                self.say("already_rated"),
                self._session_screen(session, refresh=False),
            )
        play = {
            "play_count": sum(t.play_count for t in page.trackers),
            "listened_s": sum(t.listened_s for t in page.trackers),
            "response_ms": 1000 * (time.time() - page.shown_at),
        }
        if isinstance(value, EmotionAnswer):  # emotion-id / annotate: a label (+ scales)
            saved = submit_answer(self.test, session, page.ref, value, **play)
        else:
            saved = self.test.submit(session, page.ref, int(value), **play)
        status, key = ("saved", "saved") if saved else ("already_rated", "already_rated")
        return Reply(status, self.say(key), self._session_screen(session, refresh=False))

    def proceed(self, listener_id: str, page_id: str | None) -> Reply:
        """Continue after an answered practice page (nothing else moves on from here)."""
        session = self.test.find(listener_id)
        page = self.pages.get(page_id)
        if session is None or session.stage != "training":
            return Reply("stale", screen=self.screen(listener_id))
        if (
            page is None
            or page.kind != "training"
            or page.listener_id != listener_id
            or not page.answered
            or int(page.ref) != session.training_done
        ):
            return Reply("stale", self.say("practice_first"), self._session_screen(session))
        session.training_done = int(page.ref) + 1
        if session.training_done >= len(self.definition.training):
            session.stage = "rating"
        self.test.save(session)
        return Reply("moved", screen=self._session_screen(session))
