"""The "Listening test" tab: renders what :class:`pipeline.mos.session_flow.ListenerFlow`
decides (consent → headphone check → practice → rating → done) and nothing more.

Identity comes from the URL (``?PROLIFIC_PID=``, ``?listener=``, ``?workerId=``, and
``&key=`` for tests with a link secret), the logged-in user or an anonymous id kept in
browser storage. A reload resumes where the listener left off (sessions and ratings are on
disk); no session exists before the listener presses Start, and one address may start only
so many new sessions a minute (:func:`client_address`, :mod:`pipeline.mos.limits`).

Crowd mode: a link that names a test whose definition has ``crowd_mode`` (the default) shows
only this tab: :data:`~ui.listening_parts.CROWD_HEAD` hides the studio's header, tab bar and footer as soon as the
page opens, and :meth:`~ui.listening_parts.Flows.crowd_test` tells the app to hide the other tabs.

Play-to-end: the players' play/pause/stop events are timed on the server for the page
instance that played; the submit button unlocks, and an answer is accepted, only once every
clip of the page ended after enough real play time. The events go from the page's js straight
to the player route of :mod:`ui.listener_routes` with the page's token (the hidden
``mos-page`` box), not through Gradio. Clips are served as immutable content-hashed files
named ``audio.wav`` (also by a cheap route of :mod:`ui.listener_routes`); there is no download
button and no trimming.

Speed: a submit goes from the page's js to the submit route of :mod:`ui.listener_routes`
(not through Gradio), which answers with the next clip of the same layout as plain JSON; the
js puts it into the page (:data:`~ui.listening_parts.SUBMIT_JS`). A submit that changes the
layout (a new stage, the end) leaves it to a Gradio event, ``on_relayout``, which the page
triggers when the route's reply changes the hidden ``mos-layout`` box to a key under which
the new screen is parked. The other listener events are direct calls outside Gradio's queue
(see :data:`~ui.listening_parts.LISTENER_EVENTS`) that send back only what changes, as plain
values where possible (see :mod:`ui.listening_parts` for why).
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import threading
from pathlib import Path

import gradio as gr

from pipeline.mos.definition import DefinitionError, list_tests
from pipeline.mos.listening import KEY_PARAM, resolve_listener
from pipeline.mos.session_flow import ListenerFlow, Reply, Screen
from pipeline.mos.strings import text
from ui.listening_layout import SCALES, ListeningLayout
from ui.listening_parts import LISTENER_EVENTS, Flows, player_js, postprocessed, submit_js

log = logging.getLogger(__name__)

BROWSER_KEY = "studio_mos_listener"
#: page builds that may run at once (see :func:`gated`); the rest wait without using CPU
PAGE_BUILDS_AT_ONCE = 1
#: a submit click locks the button at once, in the browser (no update from the server needed
#: for the common reply, the next clip, which must be played before it unlocks again)
LOCK_JS = "() => ({__type__: 'update', interactive: false})"


def build_listening_tab(*, ratings_root: Path, registry=None) -> Flows:  # noqa: ARG001
    """Lay out the tab inside the current Blocks/Tab context and register its events.

    Returns the tab's :class:`Flows`, whose :meth:`Flows.crowd_test` tells the app whether a
    visit's URL parameters name a test in crowd mode. ``registry`` is accepted for symmetry
    with the results tab (the listener side does not run models).
    """
    return ListeningTab(Flows(ratings_root)).flows


def client_address(request: gr.Request | None) -> str | None:
    """The listener's address for per-client limits, or None when it is unknown: a loopback
    connection without a forwarded address (a share tunnel or a proxy that does not send
    ``X-Forwarded-For``) would put every listener under one address."""
    host = request.client.host if request is not None and request.client else None
    if not host:
        return None
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name such as "testclient"
        loopback = False
    if loopback and not request.headers.get("x-forwarded-for"):
        return None
    return host


def gated(handler):
    """A tab handler that builds a whole page (load, pick, start, continue, relayout: 10-20 ms
    of CPU each) and so waits for the tab's :attr:`ListeningTab.page_gate`.

    Events bypass Gradio's queue and run in worker threads that share one interpreter lock:
    when 200 listeners open the test together, 200 page builds time-slice with every submit
    and a submit waits for the whole burst. Behind the gate at most
    :data:`PAGE_BUILDS_AT_ONCE` page builds run at a time and submits (and player events)
    pass them; a waiting page build holds no lock and costs no CPU.
    """

    @functools.wraps(handler)
    def wrapper(self: ListeningTab, *args, **kwargs):
        with self.page_gate:
            return handler(self, *args, **kwargs)

    return wrapper


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


class ListeningTab(ListeningLayout):
    """How a :class:`Screen` becomes updates of the tab's components, and the tab's events.

    The page's context ``ctx`` (a ``gr.State`` dict, updated in place) remembers the
    listener, the test, the shown page id, the page's layout and what the browser shows
    (``sent``), so an event sends only what changed. Submits bypass Gradio (and ``ctx``):
    the handlers that may follow them (Continue, relayout) read the page's token from the
    page and forget what ``ctx`` knew of the components a submit's js changes.
    """

    def __init__(self, flows: Flows) -> None:
        super().__init__()
        self.flows = flows
        self.page_gate = threading.BoundedSemaphore(PAGE_BUILDS_AT_ONCE)
        self._wire()

    # -- rendering -----------------------------------------------------------------------------
    def show(self, column: str | None) -> dict:
        out = {col: gr.update(visible=name == column) for name, col in self.columns.items()}
        out[self.picker_col] = gr.update(visible=column == "picker")
        return out

    def render(self, screen: Screen, ctx: dict, note: str = "") -> dict:
        """Updates of :attr:`outputs` for ``screen``: a new layout, or the next clip of the
        same layout. Components whose properties stay as they are get plain values."""
        if ctx.get("layout") == screen.layout:
            return self.next_clip(screen, ctx, note)
        ctx.update(page_id=screen.page_id, layout=screen.layout, sent={})
        out = {self.message: note, self.header: screen.header}
        out[self.page_token] = screen.page_id or ""
        out.update({self.picker: None, self.consent: False, self.instructions: ""})
        out.update({self.title: "", self.prompt: "", self.feedback: "", self.done: ""})
        out.update({self.choice: None, self.continue_btn: text("continue")})
        out.update({part: None for part in (*self.players, *self.scales)})
        out[self.submit_btn] = screen.submit_label or text("submit")
        if screen.stage == "consent":
            return {**out, **self.show("consent"), self.instructions: screen.instructions}
        if not screen.clips:  # done, or a link that is not valid
            return {**out, **self.show("done"), self.done: screen.done_text}
        out.update(self.show("rate"))
        out.update({self.title: screen.title, self.prompt: screen.prompt})
        for i, player in enumerate(self.players):
            clip = screen.clips[i] if i < len(screen.clips) else None
            ctx["sent"][player._id] = clip.path if clip else None
            shown = {"label": clip.label, "visible": True} if clip else {"visible": False}
            out[player] = self.value_or_update(ctx, player, ctx["sent"][player._id], shown)
        shown = {"choices": list(screen.form.choices)}
        out[self.choice] = self.value_or_update(ctx, self.choice, None, shown)
        for scale, name in zip(self.scales, SCALES, strict=True):
            options = list(getattr(screen.form, name, ()))
            shown = {"choices": options, "visible": bool(options)}
            out[scale] = self.value_or_update(ctx, scale, None, shown)
        out[self.submit_btn] = gr.update(value=screen.submit_label, interactive=False)
        shown = {"visible": False}
        out[self.continue_btn] = self.value_or_update(
            ctx, self.continue_btn, text("continue"), shown
        )
        return out

    @staticmethod
    def value_or_update(ctx: dict, component, value, props: dict):
        """``value`` alone when the page shows ``component`` with these ``props`` already,
        else an update setting both (``ctx["props"]`` remembers what was set)."""
        known = ctx.setdefault("props", {})
        if known.get(component._id) == props:
            return value
        known[component._id] = props
        return gr.update(value=value, **props)

    def next_clip(self, screen: Screen, ctx: dict, note: str) -> dict:
        """Updates for the next page of the same layout: its title, clips and a reset answer,
        as plain values (see :mod:`ui.listening_parts`); only the disabled button is an
        update. A player whose clip did not change is left alone (it keeps playing)."""
        ctx["page_id"] = screen.page_id
        out = {self.message: note, self.title: screen.title, self.prompt: screen.prompt}
        out[self.page_token] = screen.page_id or ""
        out.update({self.feedback: "", self.choice: None})
        out.update({scale: None for scale in self.scales})
        out[self.submit_btn] = gr.update(interactive=False)
        sent = ctx.setdefault("sent", {})
        for i, player in enumerate(self.players):
            path = screen.clips[i].path if i < len(screen.clips) else None
            if path is None or sent.get(player._id) != path:
                out[player] = sent[player._id] = path
        hidden = {"visible": False}
        out[self.continue_btn] = self.value_or_update(
            ctx, self.continue_btn, text("continue"), hidden
        )
        return out

    def reply_updates(self, reply: Reply, ctx: dict) -> dict:
        """Updates of :attr:`outputs` for the reply to Start or Continue."""
        if reply.screen is not None:
            return self.render(reply.screen, ctx, reply.message)
        return {self.message: reply.message}

    # -- events ----------------------------------------------------------------------------------
    @gated
    @postprocessed
    @safely
    def on_load(self, stored: str, ctx: dict, request: gr.Request):
        """Opening the page renders its screen at once (not through :meth:`on_relayout`:
        in the full studio this tab may not be shown yet, and a hidden tab's components do
        not fire change events)."""
        self.flows.install_routes(request)
        params = dict(request.query_params) if request else {}
        username = getattr(request, "username", None)
        listener, source = resolve_listener(params, username, stored)
        available = list_tests(self.flows.root)
        test_id = params.get("test") or (available[0] if len(available) == 1 else None)
        ctx.clear()
        ctx.update(listener_id=listener, test_id=test_id, key=params.get(KEY_PARAM))
        ctx["props"] = self.initial_props()  # what this fresh page shows
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
        return {**self.render(self.open_test(ctx), ctx), **extra}

    def open_test(self, ctx: dict) -> Screen:
        flow = self.flows.get(ctx["test_id"])
        if not flow.test.admits(ctx["listener_id"], ctx.get("key")):
            ctx["listener_id"] = None  # no actions for this page
            return flow.invalid()
        return flow.screen(ctx["listener_id"])

    @gated
    @postprocessed
    @safely
    def on_relayout(self, key: str, ctx: dict):
        """The page asks for the layout that a submit parked under ``key`` (the new value of
        its ``mos-layout`` box); nothing for a key that is not this listener's."""
        pending = self.flows.pages.claim(key, ctx.get("listener_id")) if key else None
        if pending is None:
            return {self.message: gr.skip()}  # the message the submit showed stays
        screen, note = pending
        ctx.pop("layout", None)  # a new layout: everything is sent
        self.forget_submits(ctx)
        return self.render(screen, ctx, note)

    def forget_submits(self, ctx: dict) -> None:
        """Forget what ``ctx`` knew of the components a submit's js changes (players, the
        Continue button): the next render sends them."""
        ctx["sent"] = {}
        ctx.setdefault("props", {}).pop(self.continue_btn._id, None)

    @gated
    @postprocessed
    @safely
    def on_pick(self, test_id: str, ctx: dict):
        if not test_id:
            return {self.message: text("pick_test")}
        ctx["test_id"] = test_id
        return self.render(self.open_test(ctx), ctx)

    def listener_of(self, ctx: dict) -> tuple[ListenerFlow, str]:
        if not ctx.get("listener_id"):
            raise KeyError("no listener on this page")
        return self.flows.get(ctx.get("test_id")), ctx["listener_id"]

    @gated
    @postprocessed
    @safely
    def on_start(self, agreed: bool, ctx: dict, request: gr.Request):
        flow, listener = self.listener_of(ctx)
        return self.reply_updates(flow.start(listener, bool(agreed), client_address(request)), ctx)

    @gated
    @postprocessed
    @safely
    def on_continue(self, token: str, ctx: dict):
        """Continue after a practice answer (shown by a submit's js): the page's token says
        which page, and the button is visible (it was clicked)."""
        flow, listener = self.listener_of(ctx)
        self.forget_submits(ctx)  # the js showed Continue: the next render hides it
        return self.reply_updates(flow.proceed(listener, token or ctx.get("page_id")), ctx)

    def _wire(self) -> None:
        for i, player in enumerate(self.players):  # browser js + the player route only
            for event, name in (("play", "play"), ("pause", "pause"), ("stop", "end")):
                getattr(player, event)(
                    None,
                    inputs=[self.page_token],
                    outputs=[self.submit_btn, self.message] if name == "end" else [],
                    js=player_js(i, name),
                    show_progress="hidden",
                    api_visibility="private",
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
        self.layout.change(
            self.on_relayout, inputs=[self.layout, state], outputs=outputs, **LISTENER_EVENTS
        )
        pick(self.on_pick, inputs=[self.picker, state], outputs=outputs, **LISTENER_EVENTS)
        start(self.on_start, inputs=[self.consent, state], outputs=outputs, **LISTENER_EVENTS)
        submit(None, outputs=[self.submit_btn], js=LOCK_JS, show_progress="hidden")
        submit(  # the submit route, from the browser (see ui.listener_routes)
            None,
            inputs=[self.choice, *self.scales, self.page_token, *self.players],
            outputs=self.submit_outputs,
            js=submit_js(list(self.submit_named)),
            show_progress="hidden",
            api_visibility="private",
        )
        proceed(
            self.on_continue, inputs=[self.page_token, state], outputs=outputs, **LISTENER_EVENTS
        )
