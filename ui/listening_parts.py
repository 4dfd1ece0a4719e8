"""Building blocks of the "Listening test" tab that hold no layout: the page's CSS and head
script, the clip player, the per-test :class:`Flows` (with the submit route's function), the
js of the players and the submit button, and which component updates an event sends back.

Cost of an output in Gradio 6 (6.31, measured in this project): an output given as an update
(``gr.update(...)``, and also ``gr.skip()``, which is an empty update) makes Gradio construct
a fresh component on the event loop (about 1 ms each), while a plain value only runs the
component's ``postprocess``. So the listener events that go through Gradio (load, Start,
Continue, relayout) send plain values wherever a value is enough, and the most frequent ones
(player events, submit) do not go through Gradio at all (:mod:`ui.listener_routes`).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path

import gradio as gr
from gradio.data_classes import FileData, GradioModel, GradioRootModel
from gradio.route_utils import get_root_url
from gradio.utils import get_upload_folder
from starlette.requests import Request

from pipeline.mos.clips import CLIP_NAME, ClipCache
from pipeline.mos.definition import DefinitionError, TestDefinition, definition_path
from pipeline.mos.limits import ClientRateLimit
from pipeline.mos.listening import ListeningTest
from pipeline.mos.pages import Page, PageBook
from pipeline.mos.session_flow import ListenerFlow, Reply
from pipeline.mos.strings import text
from ui import listener_routes

log = logging.getLogger(__name__)

#: the listener events (load, start, submit, continue) bypass Gradio's queue: their handlers
#: are short (a session file, one fsync-ed CSV line), and a direct call costs a fraction of a
#: queued one (no join + event stream, no queue polling). They run in the server's worker
#: threads, which bound how many run at once (``max_threads``, 40). Their handlers return
#: post-processed values (:func:`postprocessed`), so Gradio does not post-process them.
LISTENER_EVENTS = {
    "queue": False,
    "show_progress": "hidden",
    "api_visibility": "private",
    "postprocess": False,
}
#: js of a player event (``fn=None``: the browser sends it to the player route, see
#: :mod:`ui.listener_routes`, with the page's token; Gradio's request path is not involved).
#: An "end" the server answers with ``ready`` unlocks the submit button, and one the server
#: does not know the page of (404: it restarted since the page was shown) says to reload;
#: anything else changes nothing on the page.
PLAYER_JS = """async (page) => {
  const root = String((window.gradio_config || {}).root || '').replace(/\\/$/, '');
  const keep = {__type__: 'update'};
  try {
    const r = await fetch(root + '%(path)s', {method: 'POST',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify({page: page, clip: %(index)d, event: '%(event)s'})});
    const reply = r.ok ? await r.json() : {};
    const expired = r.status === 404;
    return %(outcome)s;
  } catch (err) {
    return %(failed)s;
  }
}"""


#: js of the submit button (``fn=None``): the answer goes to the submit route (see
#: :mod:`ui.listener_routes`) with the page's token, and the route's JSON reply becomes the
#: values of the submit outputs, by the names ``ListeningLayout.submit_named`` gives them
#: (message, title, prompt, player0/1, choice, intensity, certainty, submit, feedback,
#: continue, layout, page; an output a reply does not name is left as it is):
#: the next clip of the same layout, a practice answer, a message, or a new layout key that
#: makes the page ask Gradio for the new layout (``on_relayout``). The inputs are the answer,
#: the two scales, the page token and the two players' files (a player whose clip does not
#: change is left alone: it keeps playing).
SUBMIT_JS = """async (answer, intensity, certainty, page, shown0, shown1) => {
  const root = String((window.gradio_config || {}).root || '').replace(/\\/$/, '');
  const keep = {__type__: 'update'};
  const lock = {__type__: 'update', interactive: false};
  const put = (values) => %(names)s.map((name) => (name in values ? values[name] : keep));
  let reply;
  try {
    const r = await fetch(root + '%(path)s', {method: 'POST',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify({page: page, answer: answer, intensity: intensity,
                            certainty: certainty})});
    reply = r.ok ? await r.json() : {message: r.status === 404 ? %(expired)s : %(failed)s,
                                     unlock: r.status !== 404};
  } catch (err) {
    reply = {message: %(failed)s, unlock: true};
  }
  const message = reply.message || '';
  if (reply.next) {
    const next = reply.next;
    const shown = [shown0, shown1];
    const [player0, player1] = [0, 1].map((i) => {
      const path = next.clips[i];
      if (!path) return null;
      if (shown[i] && shown[i].path === path) return keep;
      return {path: path, url: root + '%(files)s' + path, orig_name: '%(clip)s',
              meta: {_type: 'gradio.FileData'}};
    });
    return put({message, title: next.title, prompt: next.prompt, player0, player1,
                choice: null, intensity: null, certainty: null, submit: lock, feedback: '',
                continue: {__type__: 'update', visible: false}, page: next.page});
  }
  if (reply.feedback) {
    return put({message, submit: lock, feedback: reply.feedback,
                continue: {__type__: 'update', visible: true}});
  }
  if (reply.relayout) {
    return put({message, title: '', prompt: '', player0: null, player1: null, choice: null,
                intensity: null, certainty: null, feedback: '', layout: reply.relayout,
                page: ''});
  }
  return put({message, submit: {__type__: 'update', interactive: Boolean(reply.unlock)}});
}"""


def submit_js(names: list[str], lang: str = "en") -> str:
    """The js of the submit button (:data:`SUBMIT_JS`) for outputs named ``names`` (the
    names the js fills, in the event's output order; an output it does not name stays as it
    is), its fixed messages in ``lang``."""
    return SUBMIT_JS % {
        "names": json.dumps(list(names)),
        "path": listener_routes.SUBMIT_PATH,
        "files": listener_routes.FILE_PREFIX,
        "clip": CLIP_NAME,
        "expired": json.dumps(text("page_expired", lang)),
        "failed": json.dumps(text("not_sent", lang)),
    }


def player_js(index: int, event: str, lang: str = "en") -> str:
    """The js of player ``index``'s ``event`` (play | pause | end): an end's outputs are the
    submit button and the message line, the others' none."""
    outcome = failed = "undefined"
    if event == "end":
        unlock = "reply.ready ? {__type__: 'update', interactive: true} : keep"
        outcome = f"[{unlock}, expired ? {json.dumps(text('page_expired', lang))} : keep]"
        failed = "[keep, keep]"
    return PLAYER_JS % {
        "path": listener_routes.PLAYER_PATH,
        "index": index,
        "event": event,
        "outcome": outcome,
        "failed": failed,
    }


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

    @property
    def skip_api(self) -> bool:
        """No API schema for the players (the tab's events are private). Gradio builds a
        fresh component for every update of a player (a new label or visibility) and, unless
        it is skipped from the API, the pydantic JSON schema of ``FileData`` with it: about
        1.7 ms of CPU on the server's event loop per update, and three copies of the schema
        in every page's config."""
        return True

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
        self.new_sessions = ClientRateLimit()  # per client address, across this app's tests
        self._flows: dict[str, tuple[float, ListenerFlow]] = {}
        self._lock = threading.Lock()

    def get(self, test_id: str | None) -> ListenerFlow:
        """The flow of ``test_id`` (one ``stat`` per call once the test is open)."""
        path = definition_path(self.root / test_id) if _plain_name(test_id) else None
        if path is None:
            raise DefinitionError(text("unknown_test", test_id=test_id))
        folder = path.parent
        mtime = path.stat().st_mtime
        with self._lock:
            cached = self._flows.get(test_id)
            if cached is None or cached[0] != mtime:
                test = ListeningTest(folder)
                flow = ListenerFlow(test, self.pages, self.clips, self.new_sessions)
                cached = (mtime, flow)
                self._flows[test_id] = cached
            return cached[1]

    def install_routes(self, request: gr.Request | None) -> None:
        """Serve the players' events and the clips of this tab through the cheap routes of
        :mod:`ui.listener_routes`, on the app that serves ``request`` (once per app)."""
        app = getattr(getattr(request, "request", None), "app", None)
        if app is not None:
            root = page_root(app) if hasattr(app, "get_blocks") else None
            listener_routes.install(
                app, self.pages, self.clips.root, self._lock, root, self.submit_page
            )

    def submit_page(self, token: str, answer) -> dict | None:
        """Answer the live page ``token`` with ``answer`` (the submit route's function):
        the reply as JSON for the page's js (:data:`SUBMIT_JS`), None for an unknown page.
        The page's own listener answers (the token is known only to the page rendered for
        that listener, after its link was admitted)."""
        page = self.pages.get(token)
        if page is None:
            return None
        try:
            reply = self.get(page.test_id).answer(page.listener_id, token, answer)
        except (DefinitionError, OSError, ValueError, KeyError) as err:
            log.warning("listening test: %s", err)
            return {"status": "error", "message": text("error", error=err), "unlock": True}
        return self.reply_json(reply, page)

    def reply_json(self, reply: Reply, page: Page) -> dict:
        """What the page's js needs of ``reply`` to the page ``page``: the next clip when
        the layout stays, else a relayout key whose screen :meth:`claim` hands to Gradio."""
        out: dict = {"status": reply.status, "message": reply.message}
        screen = reply.screen
        if screen is not None and screen.layout == page.layout:
            clips = [clip.path for clip in screen.clips]
            out["next"] = {
                "page": screen.page_id,
                "title": screen.title,
                "prompt": screen.prompt,
                "clips": clips,
            }
        elif screen is not None:
            out["relayout"] = self.pages.park(page.listener_id, (screen, reply.message))
        elif reply.feedback:
            out["feedback"] = reply.feedback
        else:
            out["unlock"] = reply.status != "play_first"
        return out

    def crowd_test(self, params: dict[str, str]) -> TestDefinition | None:
        """The test a crowd link names (``?test=<id>`` of a test in crowd mode), else None."""
        try:
            definition = self.get(params.get("test")).definition
        except (DefinitionError, OSError, ValueError):
            return None
        return definition if definition.crowd_mode else None


def page_root(app) -> Callable[[dict], str]:
    """The root URL Gradio's page route puts in the page for a request (its own function
    and arguments, see ``gradio.routes``' ``main``), for :mod:`ui.page_cache`."""

    def root_of(scope: dict) -> str:
        root_path = app.root_path or scope.get("root_path") or app.get_blocks().custom_mount_path
        return get_root_url(request=Request(scope), route_path="/", root_path=root_path)

    return root_of


def postprocessed(handler):
    """A handler of an event with ``postprocess=False`` from one that returns
    ``{component: value or gr.update(...)}``: each value (also an update's ``value``) goes
    through its component's ``postprocess`` here, in the handler's worker thread.

    Gradio post-processes each output of an event in a worker thread of its own (6.31:
    ``anyio.to_thread.run_sync(block.postprocess, ...)`` per output), so a submit with 13
    outputs made 13 thread hand-offs, the largest single cost of a submit (py-spy: 16 % of
    the app's busy samples in ``Queue.put``). The postprocess functions of these components
    depend only on the value, so the result is the same.
    """

    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        out = handler(*args, **kwargs)
        return {component: ready(component, value) for component, value in out.items()}

    return wrapper


def ready(component, value):
    """``value`` as ``component.postprocess`` makes it (updates: their ``value`` only)."""
    if isinstance(value, dict) and value.get("__type__") == "update":
        if "value" in value:
            value = {**value, "value": ready(component, value["value"])}
        return value
    value = component.postprocess(value)
    return value.model_dump() if isinstance(value, GradioModel | GradioRootModel) else value


def _plain_name(test_id: str | None) -> bool:
    """A test id that names a folder directly under the root (no path, no dot names)."""
    return (
        bool(test_id) and "/" not in test_id and "\\" not in test_id and not test_id.startswith(".")
    )
