"""The "Listening test" tab: renders what :class:`pipeline.mos.session_flow.ListenerFlow`
decides (consent → headphone check → practice → rating → done) and nothing more.

Identity comes from the URL (``?PROLIFIC_PID=``, ``?listener=``, ``?workerId=``, and
``&key=`` for tests with a link secret), the logged-in user or an anonymous id kept in
browser storage. A reload resumes where the listener left off (sessions and ratings are on
disk); no session exists before the listener presses Start.

Crowd mode: a link that names a test whose definition has ``crowd_mode`` (the default) shows
only this tab: :data:`CROWD_HEAD` hides the studio's header, tab bar and footer as soon as the
page opens, and :meth:`Flows.crowd_test` tells the app to hide the other tabs.

Play-to-end: the players' play/pause/stop events are timed on the server for the page
instance that played; the submit button unlocks, and an answer is accepted, only once every
clip of the page ended after enough real play time. Clips are served as immutable
content-hashed files named ``audio.wav``; there is no download button and no trimming.

Speed: a submit re-renders only what changes (title, clips, answer reset, status), and the
listener events are direct calls outside Gradio's queue (see :data:`LISTENER_EVENTS`).
"""

from __future__ import annotations

import functools
import logging
import threading
from pathlib import Path

import gradio as gr
from gradio.data_classes import FileData
from gradio.utils import get_upload_folder

from pipeline.mos.clips import CLIP_NAME, ClipCache
from pipeline.mos.definition import DefinitionError, TestDefinition, list_tests
from pipeline.mos.listening import KEY_PARAM, ListeningTest, resolve_listener
from pipeline.mos.pages import PageBook
from pipeline.mos.session_flow import ListenerFlow, Reply, Screen
from pipeline.mos.strings import text

log = logging.getLogger(__name__)

#: optional answer scales of emotion pages (EmotionForm attributes of the same names)
SCALES = ("intensity", "certainty")

BROWSER_KEY = "studio_mos_listener"
#: the listener events (load, start, submit, continue, player events) bypass Gradio's queue:
#: their handlers are short (a session file, one fsync-ed CSV line), and a direct call costs a
#: fraction of a queued one (no join + event stream, no queue polling). They run in the
#: server's worker threads, which bound how many run at once (``max_threads``, 40).
LISTENER_EVENTS = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}
CSS = """
<style>
.mos-tab {max-width: 720px; margin: 0 auto;}
.mos-tab .mos-choices .wrap {flex-direction: column; align-items: stretch;}
.mos-tab .mos-choices label {width: 100%; padding: 10px 12px; font-size: 1.05em;}
.mos-tab button {min-height: 48px;}
.mos-tab button.playback, .mos-tab button.rewind, .mos-tab button.skip {display: none !important;}
</style>
"""
#: for ``gr.Blocks(head=...)``: a link naming a test hides the studio around the test at
#: once (the load handler lifts it again for tests that are not in crowd mode)
CROWD_HEAD = """
<script>
if (new URLSearchParams(window.location.search).has('test')) {
  document.documentElement.classList.add('crowd-link');
}
</script>
<style>
.crowd-link footer, .crowd-link .studio-header, .crowd-link .tab-container,
.crowd-link [role=tablist] {display: none !important;}
</style>
"""


#: where published clips live: inside Gradio's cache, so Gradio serves them without a copy
CLIP_ROOT = str(Path(get_upload_folder()) / "mos-clips") + "/"


class ClipPlayer(gr.Audio):
    """``gr.Audio`` for the test's published clips: an immutable ``audio.wav`` under the
    Gradio cache is handed over as is (no ffprobe, no copy); anything else as usual."""

    is_template = True

    def postprocess(self, value):
        if isinstance(value, str) and value.startswith(CLIP_ROOT) and value.endswith(CLIP_NAME):
            return FileData(path=value, orig_name=CLIP_NAME)
        return super().postprocess(value)


class Flows:
    """One :class:`ListenerFlow` per test id (rebuilt when its definition file changes)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.pages = PageBook()
        self.clips = ClipCache(CLIP_ROOT)
        self._flows: dict[str, tuple[float, ListenerFlow]] = {}
        self._lock = threading.Lock()

    def get(self, test_id: str | None) -> ListenerFlow:
        if not test_id or test_id not in list_tests(self.root):
            raise DefinitionError(text("unknown_test", test_id=test_id))
        folder = self.root / test_id
        mtime = max(p.stat().st_mtime for p in folder.glob("definition.*"))
        with self._lock:
            cached = self._flows.get(test_id)
            if cached is None or cached[0] != mtime:
                flow = ListenerFlow(ListeningTest(folder), self.pages, self.clips)
                cached = (mtime, flow)
                self._flows[test_id] = cached
            return cached[1]

    def crowd_test(self, params: dict[str, str]) -> TestDefinition | None:
        """The test a crowd link names (``?test=<id>`` of a test in crowd mode), else None."""
        try:
            definition = self.get(params.get("test")).definition
        except (DefinitionError, OSError):
            return None
        return definition if definition.crowd_mode else None


def build_listening_tab(*, ratings_root: Path, registry=None) -> Flows:  # noqa: ARG001
    """Lay out the tab inside the current Blocks/Tab context and register its events.

    Returns the tab's :class:`Flows`, whose :meth:`Flows.crowd_test` tells the app whether a
    visit's URL parameters name a test in crowd mode. ``registry`` is accepted for symmetry
    with the results tab (the listener side does not run models).
    """
    return ListeningTab(Flows(ratings_root)).flows


def safely(handler):
    """A tab handler whose library errors become a one-line message on the page."""

    @functools.wraps(handler)
    def wrapper(self: ListeningTab, *args, **kwargs):
        try:
            return handler(self, *args, **kwargs)
        except (DefinitionError, OSError, ValueError, KeyError) as err:
            log.warning("listening test: %s", err)
            return {self.message: text("error", error=err)}

    return wrapper


class ListeningTab:
    """The tab's components, how a :class:`Screen` becomes their updates, and its events."""

    def __init__(self, flows: Flows) -> None:
        self.flows = flows
        self._layout()
        self.columns = {"consent": self.consent_col, "rate": self.rate_col, "done": self.done_col}
        self.outputs = [
            self.header,
            self.message,
            self.picker_col,
            self.picker,
            self.consent_col,
            self.instructions,
            self.consent,
            self.rate_col,
            self.title,
            self.prompt,
            *self.players,
            self.choice,
            *self.scales,
            self.submit_btn,
            self.feedback,
            self.continue_btn,
            self.done_col,
            self.done,
        ]
        self._wire()

    def _layout(self) -> None:
        gr.HTML(CSS, visible=True, padding=False)
        with gr.Column(elem_classes="mos-tab"):
            # the page's context (listener, test, page id, what the browser shows). Handlers
            # update this dict in place and never return it: a State output would make
            # Gradio rebuild the component's config on every event.
            self.state = gr.State({})
            # the anonymous id travels through a hidden textbox and lives in localStorage
            # (read and written by small js hooks); gr.BrowserState is not used because
            # inside a tab that is not shown yet it is not mounted when the page loads.
            self.browser = gr.Textbox(visible=False)
            self.crowd_flag = gr.Textbox(visible=False)
            self.header = gr.Markdown()
            self.message = gr.Markdown(elem_id="mos-message")
            with gr.Column(visible=False) as self.picker_col:
                self.picker = gr.Dropdown(label=text("pick_test"), choices=[])
                self.picker_btn = gr.Button(text("pick_button"))
            with gr.Column(visible=False) as self.consent_col:
                self.instructions = gr.Markdown()
                self.consent = gr.Checkbox(label=text("consent"), value=False)
                self.start_btn = gr.Button(text("start"), variant="primary")
            with gr.Column(visible=False) as self.rate_col:
                self.title = gr.Markdown(elem_id="mos-title")
                self.prompt = gr.Markdown()
                self.players = [
                    ClipPlayer(
                        label=text("clip_a"),
                        interactive=False,
                        editable=False,
                        buttons=[],
                        type="filepath",
                        elem_id=f"mos-player-{i}",
                        waveform_options=gr.WaveformOptions(skip_length=0),
                    )
                    for i in range(2)
                ]
                self.choice = gr.Radio(
                    choices=[], label=" ", elem_classes="mos-choices", elem_id="mos-choice"
                )
                # emotion tests: optional intensity / certainty scales (see EmotionForm)
                self.scales = [
                    gr.Radio(
                        choices=[],
                        label=text(f"{name}_label"),
                        visible=False,
                        elem_id=f"mos-{name}",
                    )
                    for name in SCALES
                ]
                self.submit_btn = gr.Button(
                    text("submit"), variant="primary", interactive=False, elem_id="mos-submit"
                )
                self.feedback = gr.Markdown()
                self.continue_btn = gr.Button(
                    text("continue"), visible=False, elem_id="mos-continue"
                )
            with gr.Column(visible=False) as self.done_col:
                self.done = gr.Markdown(elem_id="mos-done")

    # -- rendering -----------------------------------------------------------------------------
    def show(self, column: str | None) -> dict:
        out = {col: gr.update(visible=name == column) for name, col in self.columns.items()}
        out[self.picker_col] = gr.update(visible=column == "picker")
        return out

    @staticmethod
    def shape(screen: Screen) -> str:
        """What a page looks like apart from its content (re-sent only when it changes)."""
        labels = tuple(clip.label for clip in screen.clips)
        return repr((screen.stage, screen.form, labels, screen.submit_label))

    def render(self, screen: Screen, ctx: dict, note: str = "") -> dict:
        """Updates for ``screen``. While the page keeps its shape only content that changed
        is sent (``ctx["sent"]`` remembers what the browser shows)."""
        new_shape = self.shape(screen)
        same_shape = ctx.get("shape") == new_shape
        sent = ctx.get("sent", {}) if same_shape else {}
        ctx.update(page_id=screen.page_id, shape=new_shape, sent=sent)
        out = {self.message: note}

        def put(component, value) -> None:
            if sent.get(component._id, ...) != value:
                out[component] = sent[component._id] = value

        if screen.clips:
            put(self.title, screen.title)
            put(self.prompt, screen.prompt)
            put(self.feedback, "")
            out[self.choice] = None  # the browser holds the previous choice
            for scale in self.scales:
                out[scale] = None
            out[self.submit_btn] = gr.update(interactive=False)
            for i, player in enumerate(self.players):
                put(player, screen.clips[i].path if i < len(screen.clips) else None)
            if ctx.pop("continue_shown", False):
                out[self.continue_btn] = gr.update(visible=False)
        if same_shape:
            return out
        out[self.header] = screen.header
        if screen.stage == "consent":
            return {**out, **self.show("consent"), self.instructions: screen.instructions}
        if not screen.clips:  # done, or a link that is not valid
            return {**out, **self.show("done"), self.done: screen.done_text}
        return {**out, **self._new_layout(screen)}

    def _new_layout(self, screen: Screen) -> dict:
        """Players, answers and button of a clip page whose shape differs from the last."""
        out = self.show("rate")
        for i, player in enumerate(self.players):
            if i < len(screen.clips):
                clip = screen.clips[i]
                out[player] = gr.update(value=clip.path, label=clip.label, visible=True)
            else:
                out[player] = gr.update(value=None, visible=False)
        out[self.choice] = gr.update(choices=list(screen.form.choices), value=None)
        for scale, name in zip(self.scales, SCALES, strict=True):
            options = list(getattr(screen.form, name, ()))
            out[scale] = gr.update(choices=options, value=None, visible=bool(options))
        out[self.submit_btn] = gr.update(value=screen.submit_label, interactive=False)
        out[self.continue_btn] = gr.update(visible=False)
        return out

    def reply_updates(self, reply: Reply, ctx: dict) -> dict:
        if reply.screen is not None:
            return self.render(reply.screen, ctx, reply.message)
        if reply.feedback:  # an answered practice page: show the answer, offer Continue
            ctx.setdefault("sent", {})[self.feedback._id] = reply.feedback
            ctx["continue_shown"] = True
            return {
                self.feedback: reply.feedback,
                self.submit_btn: gr.update(interactive=False),
                self.continue_btn: gr.update(visible=True),
                self.message: reply.message,
            }
        return {self.message: reply.message}

    # -- events ----------------------------------------------------------------------------------
    @safely
    def on_load(self, stored: str, ctx: dict, request: gr.Request):
        params = dict(request.query_params) if request else {}
        username = getattr(request, "username", None)
        listener, source = resolve_listener(params, username, stored)
        available = list_tests(self.flows.root)
        test_id = params.get("test") or (available[0] if len(available) == 1 else None)
        ctx.clear()
        ctx.update(listener_id=listener, test_id=test_id, key=params.get(KEY_PARAM))
        new_store = listener if source == "new" else stored
        crowd = "1" if self.flows.crowd_test(params) is not None else ""
        extra = {self.browser: new_store, self.crowd_flag: crowd}
        if test_id is None:
            out = {**self.show("picker" if available else None), **extra}
            if available:
                out[self.picker] = gr.update(choices=available, value=None)
            else:
                out[self.message] = text("no_tests")
            return out
        return {**self.open_test(ctx), **extra}

    def open_test(self, ctx: dict) -> dict:
        flow = self.flows.get(ctx["test_id"])
        if not flow.test.admits(ctx["listener_id"], ctx.get("key")):
            ctx["listener_id"] = None  # no actions for this page
            return self.render(flow.invalid(), ctx)
        return self.render(flow.screen(ctx["listener_id"]), ctx)

    @safely
    def on_pick(self, test_id: str, ctx: dict):
        if not test_id:
            return {self.message: text("pick_test")}
        ctx["test_id"] = test_id
        return self.open_test(ctx)

    def listener_of(self, ctx: dict) -> tuple[ListenerFlow, str]:
        if not ctx.get("listener_id"):
            raise KeyError("no listener on this page")
        return self.flows.get(ctx.get("test_id")), ctx["listener_id"]

    @safely
    def on_start(self, agreed: bool, ctx: dict):
        flow, listener = self.listener_of(ctx)
        return self.reply_updates(flow.start(listener, bool(agreed)), ctx)

    @safely
    def on_submit(self, value, intensity, certainty, ctx: dict):
        flow, listener = self.listener_of(ctx)
        if intensity is not None or certainty is not None:  # an emotion page with scales
            value = {"label": value, "intensity": intensity, "certainty": certainty}
        return self.reply_updates(flow.answer(listener, ctx.get("page_id"), value), ctx)

    @safely
    def on_continue(self, ctx: dict):
        flow, listener = self.listener_of(ctx)
        return self.reply_updates(flow.proceed(listener, ctx.get("page_id")), ctx)

    def player_event(self, index: int, event: str):
        def handler(ctx: dict):
            try:
                flow = self.flows.get(ctx.get("test_id"))
            except DefinitionError:
                return gr.skip()
            ready = flow.played(ctx.get("page_id"), index, event)
            # only the end of a clip can unlock the answer: every other event changes nothing
            # on the page (a skipped output costs Gradio nothing)
            return gr.update(interactive=True) if ready and event == "end" else gr.skip()

        handler.__name__ = f"mos_player{index}_{event}"
        return handler

    def _wire(self) -> None:
        for i, player in enumerate(self.players):
            for event, name in (("play", "play"), ("pause", "pause"), ("stop", "end")):
                getattr(player, event)(
                    self.player_event(i, name),
                    inputs=[self.state],
                    outputs=[self.submit_btn],
                    **LISTENER_EVENTS,
                )
        root = gr.context.Context.root_block
        root.load(
            self.on_load,
            inputs=[self.browser, self.state],
            outputs=[*self.outputs, self.browser, self.crowd_flag],
            js=f"(v, ctx) => [window.localStorage.getItem('{BROWSER_KEY}') || '', ctx]",
            **LISTENER_EVENTS,
        ).then(
            None,
            inputs=[self.browser, self.crowd_flag],
            js=(
                f"(v, crowd) => {{ if (v) window.localStorage.setItem('{BROWSER_KEY}', v); "
                "if (!crowd) document.documentElement.classList.remove('crowd-link'); "
                "return []; }"
            ),
            api_visibility="private",
        )
        state, outputs = self.state, self.outputs
        pick, start = self.picker_btn.click, self.start_btn.click
        submit, proceed = self.submit_btn.click, self.continue_btn.click
        pick(self.on_pick, inputs=[self.picker, state], outputs=outputs, **LISTENER_EVENTS)
        start(self.on_start, inputs=[self.consent, state], outputs=outputs, **LISTENER_EVENTS)
        submit(self.on_submit, inputs=[self.choice, *self.scales, state], outputs=outputs, **LISTENER_EVENTS)
        proceed(self.on_continue, inputs=[state], outputs=outputs, **LISTENER_EVENTS)
