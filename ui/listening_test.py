"""The "Listening test" tab: what a crowd listener sees (see pipeline.mos for the logic).

Flow: identity from the URL (``?PROLIFIC_PID=``, ``?listener=``, ``?workerId=``), the
logged-in user or an anonymous id kept in browser storage → instructions and consent →
optional headphone check → training with anchors → the session's stimuli → completion code.
A reload resumes where the listener left off (sessions and ratings are on disk).

Play-to-end: the players' play/pause/stop events are timed on the server; the submit button
only unlocks, and a rating is only accepted, once every clip of the page ended after enough
real play time (:class:`pipeline.mos.listening.PlayTracker`). Stimuli are sent as sample
arrays, so the browser only sees an anonymous cache file; there is no download button and
no trimming.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from pipeline.mos.definition import DefinitionError, list_tests
from pipeline.mos.listening import ListeningTest, PlayTracker, resolve_listener
from pipeline.mos.strings import scale_label, text

log = logging.getLogger(__name__)

BROWSER_KEY = "studio_mos_listener"
MAX_HEADPHONE_ATTEMPTS = 3
CSS = """
<style>
.mos-tab {max-width: 720px; margin: 0 auto;}
.mos-tab .mos-choices .wrap {flex-direction: column; align-items: stretch;}
.mos-tab .mos-choices label {width: 100%; padding: 10px 12px; font-size: 1.05em;}
.mos-tab button {min-height: 48px;}
.mos-tab button.playback, .mos-tab button.rewind, .mos-tab button.skip {display: none !important;}
</style>
"""


@dataclass
class Page:
    """Server-side state of the page a listener is on (clip timings live here)."""

    kind: str  # training | rating | headphone
    ref: str  # stimulus id, training index or "check"
    clips: tuple[str, ...]
    trackers: list[PlayTracker]
    shown_at: float = field(default_factory=time.time)
    feedback: bool = False

    def complete(self) -> bool:
        return all(t.complete for t in self.trackers)


class _Tests:
    """Open tests by id (reloaded when the definition file changes) + live pages."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._tests: dict[str, tuple[float, ListeningTest]] = {}
        self.pages: dict[str, Page] = {}
        self.lock = threading.Lock()

    def get(self, test_id: str) -> ListeningTest:
        folder = self.root / test_id
        if test_id not in list_tests(self.root):
            raise DefinitionError(text("unknown_test", test_id=test_id))
        mtime = max(p.stat().st_mtime for p in folder.glob("definition.*"))
        with self.lock:
            cached = self._tests.get(test_id)
            if cached is None or cached[0] != mtime:
                cached = (mtime, ListeningTest(folder))
                self._tests[test_id] = cached
            return cached[1]


def build_listening_tab(*, ratings_root: Path, registry=None) -> None:  # noqa: ARG001
    """Lay out the tab inside the current Blocks/Tab context and register its load handler.

    ``registry`` is accepted for symmetry with the results tab (the listener side does not
    run models).
    """
    tests = _Tests(ratings_root)
    gr.HTML(CSS, visible=True, padding=False)
    with gr.Column(elem_classes="mos-tab"):
        state = gr.State({})
        # the anonymous id travels through a hidden textbox and lives in localStorage (read
        # and written by small js hooks); gr.BrowserState is not used because inside a tab
        # that is not shown yet it is not mounted when the page-load event fires.
        browser = gr.Textbox(visible=False)
        header = gr.Markdown()
        message = gr.Markdown()
        with gr.Column(visible=False) as picker_col:
            picker = gr.Dropdown(label=text("pick_test"), choices=[])
            picker_btn = gr.Button(text("pick_button"))
        with gr.Column(visible=False) as consent_col:
            instructions = gr.Markdown()
            consent = gr.Checkbox(label=text("consent"), value=False)
            start_btn = gr.Button(text("start"), variant="primary")
        with gr.Column(visible=False) as rate_col:
            title = gr.Markdown()
            prompt = gr.Markdown()
            players = [
                gr.Audio(
                    label=text("clip_a"),
                    interactive=False,
                    editable=False,
                    buttons=[],
                    type="numpy",
                    elem_id=f"mos-player-{i}",
                    waveform_options=gr.WaveformOptions(skip_length=0),
                )
                for i in range(2)
            ]
            choice = gr.Radio(
                choices=[], label=" ", elem_classes="mos-choices", elem_id="mos-choice"
            )
            submit_btn = gr.Button(
                text("submit"), variant="primary", interactive=False, elem_id="mos-submit"
            )
            feedback = gr.Markdown()
            continue_btn = gr.Button(text("continue"), visible=False, elem_id="mos-continue")
        with gr.Column(visible=False) as done_col:
            done = gr.Markdown(elem_id="mos-done")

    outputs = [
        header,
        message,
        picker_col,
        picker,
        consent_col,
        instructions,
        consent,
        rate_col,
        title,
        prompt,
        *players,
        choice,
        submit_btn,
        feedback,
        continue_btn,
        done_col,
        done,
    ]

    def hidden() -> dict:
        return {
            picker_col: gr.update(visible=False),
            consent_col: gr.update(visible=False),
            rate_col: gr.update(visible=False),
            done_col: gr.update(visible=False),
            message: "",
        }

    def render(ctx: dict, note: str = "") -> dict:
        """Updates for every output: the page the listener's session is on."""
        out = hidden()
        out[message] = note
        test = tests.get(ctx["test_id"])
        d = test.definition
        session = test.open(ctx["listener_id"])
        lang = d.language
        out[header] = (
            text("welcome", lang, title=d.title)
            + "\n\n"
            + text("listener_line", lang, listener_id=ctx["listener_id"])
        )
        if session.stage == "consent":
            out[consent_col] = gr.update(visible=True)
            out[instructions] = d.instructions or text("default_instructions", lang)
            return out
        if session.stage == "rating" and not test.remaining(session):
            session.stage = "done"
            test.save(session)
        if session.stage == "done":
            out[done_col] = gr.update(visible=True)
            if session.headphone_ok is False:
                out[done] = text("headphone_failed", lang)
            elif d.completion_code:
                out[done] = (
                    text("done_title", lang)
                    + "\n\n"
                    + text("done_code", lang, code=d.completion_code)
                )
            else:
                out[done] = text("done_title", lang) + "\n\n" + text("done_no_code", lang)
            return out
        out[rate_col] = gr.update(visible=True)
        key = f"{test.test_id}/{session.listener_id}"
        spec = d.spec
        if session.stage == "headphone":
            check = d.headphone_check
            clips = (check.file,)
            page = Page("headphone", "check", clips, [PlayTracker(test.duration(check.file))])
            out[title] = text("headphone_title", lang)
            out[prompt] = text("headphone_prompt", lang)
            choices = [(str(c), c) for c in check.choices]
            labels = [text("clip_single", lang)]
        else:
            if session.stage == "training":
                clip = d.training[session.training_done]
                clips = (clip.reference, clip.file) if clip.reference else (clip.file,)
                ref = str(session.training_done)
                out[title] = (
                    text("training_title", lang, n=session.training_done + 1, total=len(d.training))
                    + "\n\n"
                    + text("training_note", lang)
                )
            else:
                sid = test.remaining(session)[0]
                clips = test.presentation(session, sid).clips
                ref = sid
                done_n, total = test.progress(session)
                out[title] = text("rating_title", lang, n=done_n + 1, total=total)
            page = Page(session.stage, ref, clips, [PlayTracker(test.duration(c)) for c in clips])
            out[prompt] = text(f"prompt_{d.question}", lang, attribute=d.attribute)
            stim = test.definition.by_id().get(ref)
            if stim is not None and stim.trap is not None and d.trap_text:
                label = scale_label(d.question, int(stim.trap), lang, d.scale)
                out[prompt] += "\n\n" + text("trap_prompt", lang, label=label)
            choices = [(scale_label(d.question, s, lang, d.scale), s) for s in spec.scores]
            if not spec.paired:
                labels = [text("clip_single", lang)]
            elif spec.randomise_order:
                labels = [text("clip_a", lang), text("clip_b", lang)]
            else:
                labels = [text("clip_reference", lang), text("clip_test", lang)]
        with tests.lock:
            tests.pages[key] = page
        for i, player in enumerate(players):
            if i < len(clips):
                out[player] = gr.update(
                    value=test.load_clip(clips[i]), label=labels[i], visible=True
                )
            else:
                out[player] = gr.update(value=None, visible=False)
        out[choice] = gr.update(choices=choices, value=None, interactive=True)
        out[submit_btn] = gr.update(interactive=False, visible=True)
        out[feedback] = ""
        out[continue_btn] = gr.update(visible=False)
        return out

    def safely(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except (DefinitionError, OSError, ValueError, KeyError) as err:
                log.warning("listening test: %s", err)
                return {message: text("error", error=err)}

        return wrapper

    @safely
    def on_load(stored: str, request: gr.Request):
        params = dict(request.query_params) if request else {}
        username = getattr(request, "username", None)
        listener, source = resolve_listener(params, username, stored)
        available = list_tests(tests.root)
        test_id = params.get("test") or (available[0] if len(available) == 1 else None)
        ctx = {"listener_id": listener, "test_id": test_id}
        new_store = listener if source == "new" else stored
        if test_id is None:
            out = hidden()
            if available:
                out.update(
                    {
                        picker_col: gr.update(visible=True),
                        picker: gr.update(choices=available, value=None),
                    }
                )
            else:
                out[message] = text("no_tests")
            return {**out, state: ctx, browser: new_store}
        return {**render(ctx), state: ctx, browser: new_store}

    @safely
    def on_pick(test_id: str, ctx: dict):
        if not test_id:
            return {message: text("pick_test")}
        ctx = {**ctx, "test_id": test_id}
        return {**render(ctx), state: ctx}

    @safely
    def on_start(agreed: bool, ctx: dict):
        test = tests.get(ctx["test_id"])
        if not agreed:
            return {message: text("need_consent", test.definition.language)}
        session = test.open(ctx["listener_id"])
        if session.stage == "consent":
            d = test.definition
            session.stage = (
                "headphone" if d.headphone_check else "training" if d.training else "rating"
            )
            test.save(session)
        return render(ctx)

    def player_event(index: int, event: str):
        def handler(ctx: dict):
            key = f"{ctx.get('test_id')}/{ctx.get('listener_id')}"
            now = time.time()
            with tests.lock:
                page = tests.pages.get(key)
                if page is None or index >= len(page.trackers):
                    return gr.update()
                getattr(page.trackers[index], event)(now)
                ready = page.complete() and not page.feedback
            return gr.update(interactive=ready)

        handler.__name__ = f"mos_player{index}_{event}"
        return handler

    for i, player in enumerate(players):
        for event, name in (("play", "play"), ("pause", "pause"), ("stop", "end")):
            getattr(player, event)(
                player_event(i, name),
                inputs=[state],
                outputs=[submit_btn],
                queue=False,
                show_progress="hidden",
                api_visibility="private",
            )

    @safely
    def on_submit(value, ctx: dict):
        test = tests.get(ctx["test_id"])
        lang = test.definition.language
        key = f"{test.test_id}/{ctx['listener_id']}"
        with tests.lock:
            page = tests.pages.get(key)
        if page is None:  # e.g. the server restarted under an open page: show it afresh
            return render(ctx, text("play_first", lang))
        if not page.complete():
            return {message: text("play_first", lang)}
        if value is None:
            return {message: text("choose_first", lang)}
        session = test.open(ctx["listener_id"])
        d = test.definition
        if page.kind == "headphone":
            if int(value) == d.headphone_check.answer:
                session.headphone_ok = True
                session.stage = "training" if d.training else "rating"
                test.save(session)
                return render(ctx)
            session.headphone_attempts += 1
            if session.headphone_attempts >= MAX_HEADPHONE_ATTEMPTS:
                session.headphone_ok = False
                session.stage = "done"
            test.save(session)
            return {**render(ctx), message: text("headphone_wrong", lang)}
        if page.kind == "training":
            page.feedback = True
            clip = d.training[int(page.ref)]
            label = scale_label(d.question, int(clip.expected), lang, d.scale)
            return {
                feedback: text("training_feedback", lang, label=label),
                submit_btn: gr.update(interactive=False),
                continue_btn: gr.update(visible=True),
                message: "",
            }
        if page.ref not in session.order:  # a stale page after a reload elsewhere
            return render(ctx)
        tracker_plays = sum(t.play_count for t in page.trackers)
        listened = sum(t.listened_s for t in page.trackers)
        test.submit(
            session,
            page.ref,
            int(value),
            play_count=tracker_plays,
            listened_s=listened,
            response_ms=1000 * (time.time() - page.shown_at),
        )
        return render(ctx, text("saved", lang))

    @safely
    def on_continue(ctx: dict):
        test = tests.get(ctx["test_id"])
        session = test.open(ctx["listener_id"])
        if session.stage == "training":
            session.training_done += 1
            if session.training_done >= len(test.definition.training):
                session.stage = "rating"
            test.save(session)
        return render(ctx)

    root = gr.context.Context.root_block
    private = {"api_visibility": "private"}
    root.load(
        on_load,
        inputs=[browser],
        outputs=[*outputs, state, browser],
        js=f"() => window.localStorage.getItem('{BROWSER_KEY}') || ''",
        **private,
    ).then(
        None,
        inputs=[browser],
        js=f"(v) => {{ if (v) window.localStorage.setItem('{BROWSER_KEY}', v); return []; }}",
        **private,
    )
    picker_btn.click(on_pick, inputs=[picker, state], outputs=[*outputs, state], **private)
    start_btn.click(on_start, inputs=[consent, state], outputs=outputs, **private)
    submit_btn.click(
        on_submit, inputs=[choice, state], outputs=outputs, concurrency_limit=16, **private
    )
    continue_btn.click(on_continue, inputs=[state], outputs=outputs, **private)


def attach(demo: gr.Blocks) -> None:  # noqa: ARG001
    """Kept for compatibility: :func:`build_listening_tab` registers its load handler itself."""
