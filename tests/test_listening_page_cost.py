"""What a listening page build costs Gradio: the property updates a render sends (each one
makes Gradio build a component and its config on the event loop), the players' API schema,
and Gradio's per-event matplotlib backend switch."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import gradio as gr
from gradio.blocks import BlocksConfig

from pipeline.mos.synthetic import make_test
from ui.listening_parts import Flows
from ui.listening_test import ListeningTab


def updates(out: dict) -> set:
    """The components an event's outputs change by a property update (not a plain value)."""
    return {c for c, v in out.items() if isinstance(v, dict) and v.get("__type__") == "update"}


def request(**params) -> SimpleNamespace:
    return SimpleNamespace(query_params=params, username=None, client=None, headers={})


def open_tab(tmp_path: Path, **test) -> tuple[ListeningTab, dict]:
    make_test(tmp_path, test_id="t", **test)
    with gr.Blocks():
        tab = ListeningTab(Flows(tmp_path))
    return tab, {}


def test_first_render_updates_only_what_changes(tmp_path: Path) -> None:
    tab, ctx = open_tab(tmp_path, headphone=True)
    out = tab.on_load("", ctx, request(test="t", listener="L1"))
    assert ctx["props"] == tab.initial_props()
    assert updates(out) == {*tab.columns.values(), tab.picker_col}  # the consent page
    out = tab.on_start(True, ctx, request())
    assert "headphone" in str(out[tab.title]).lower()
    changed = updates(out)
    # hidden scales and a hidden Continue stay as the layout made them: plain values
    assert not changed & {*tab.scales, tab.continue_btn}
    assert tab.choice in changed  # the page's answers replace the layout's empty choices
    shown = ctx["props"][tab.choice._id]
    again = tab.render(tab.open_test(ctx), {**ctx, "shape": None})
    assert again[tab.choice] is None and ctx["props"][tab.choice._id] == shown


def test_render_after_load_still_updates_what_differs_from_the_layout(tmp_path: Path) -> None:
    """The headphone check has one clip with its own label: the first player gets its
    label, the second is hidden (both differ from the layout, so both are updates)."""
    tab, ctx = open_tab(tmp_path, headphone=True)
    tab.on_load("", ctx, request(test="t", listener="L2"))
    out = tab.on_start(True, ctx, request())
    (clip,) = tab.open_test(ctx).clips
    first, second = tab.players
    assert clip.label != first.label and {first, second} <= updates(out)
    assert out[first]["label"] == clip.label and out[second]["visible"] is False
    assert ctx["props"][second._id] == {"visible": False}


def test_players_are_skipped_from_the_api(tmp_path: Path) -> None:
    """No pydantic schema per player update, none in the page's config."""
    tab, _ = open_tab(tmp_path)
    player = tab.players[0]
    assert player.skip_api
    config = BlocksConfig.config_for_block(player._id, [], player)
    assert "api_info" not in config and config["type"] == "audio"


def test_gradio_event_backend_switch_is_a_no_op(monkeypatch) -> None:
    """Gradio wraps every event in a switch to matplotlib's "agg": with the backend already
    named so, pyplot is not switched (twice per event) any more."""
    import matplotlib
    import matplotlib.pyplot as plt
    from gradio.utils import MatplotlibBackendMananger

    import pipeline.mos.report  # noqa: F401  (sets the backend)

    def fail(name):
        raise AssertionError(f"pyplot switched to {name}")

    monkeypatch.setattr(plt, "switch_backend", fail)
    with MatplotlibBackendMananger():
        pass
    assert matplotlib.get_backend() == "agg"


def test_memoized_signatures_are_the_same_and_not_recomputed(monkeypatch) -> None:
    import functools
    import inspect

    from ui.serving import memoize_signatures

    def wrapped(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            return f(*args, **kwargs)

        return wrapper

    class Base:
        def __init__(self, a, b=1) -> None:
            self.a = a

    class Part(Base):
        @wrapped
        def __init__(self, x, *, y: int = 2) -> None:
            super().__init__(x)

    def seen() -> tuple:
        return (
            inspect.signature(Part.__init__),
            inspect.getfullargspec(Part.__init__.__wrapped__),
            inspect.signature(Base.__init__),
        )

    demo = SimpleNamespace(blocks={1: Part(0), 2: Part(1)})
    before = seen()
    assert memoize_signatures(demo) == 3  # the wrapper, what it wraps, the base class
    assert memoize_signatures(demo) == 0

    def recomputed(*args, **kwargs):
        raise AssertionError("signature recomputed")

    monkeypatch.setattr(inspect, "_signature_from_function", recomputed)
    assert seen() == before


def test_the_app_memoizes_its_component_signatures(tmp_path: Path) -> None:
    import inspect

    import app
    from pipeline.registry import Registry

    demo = app.build_app(Registry(tmp_path / "none"), ratings_root=tmp_path, listening_only=True)
    for block in demo.blocks.values():
        init = type(block).__init__
        if inspect.isfunction(init):
            assert "__signature__" in init.__dict__, type(block)
