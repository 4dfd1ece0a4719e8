"""Components of the "Listening test" tab and which of them each event may change.

:class:`ListeningLayout` only lays out; :class:`ui.listening_test.ListeningTab` renders
screens into it and wires the events.
"""

from __future__ import annotations

import gradio as gr

from pipeline.mos.strings import text
from ui.listening_parts import CSS, ClipPlayer

#: optional answer scales of emotion pages (EmotionForm attributes of the same names)
SCALES = ("intensity", "certainty")


class ListeningLayout:
    """The tab's components and the output lists of its events (no behaviour)."""

    def __init__(self) -> None:
        self._layout()
        self.columns = {"consent": self.consent_col, "rate": self.rate_col, "done": self.done_col}
        #: the rating page's answer area, in the order its handlers return updates
        rating = [
            self.title,
            self.prompt,
            *self.players,
            self.choice,
            *self.scales,
            self.submit_btn,
            self.feedback,
            self.continue_btn,
        ]
        #: everything a page can change (load, start, continue, pick, relayout)
        self.outputs = [
            self.header,
            self.message,
            self.picker_col,
            self.picker,
            self.consent_col,
            self.instructions,
            self.consent,
            self.rate_col,
            *rating,
            self.done_col,
            self.done,
            self.layout,
            self.page_token,
        ]
        #: what a submit changes on a page that keeps its layout (plus the page's tokens), by
        #: the names its js gives them (ui.listening_parts.SUBMIT_JS)
        self.submit_named = {
            "message": self.message,
            "title": self.title,
            "prompt": self.prompt,
            "player0": self.players[0],
            "player1": self.players[1],
            "choice": self.choice,
            **dict(zip(SCALES, self.scales, strict=True)),
            "submit": self.submit_btn,
            "feedback": self.feedback,
            "continue": self.continue_btn,
            "layout": self.layout,
            "page": self.page_token,
        }
        self.submit_outputs = list(self.submit_named.values())

    def initial_props(self) -> dict:
        """The properties a freshly loaded page shows, by component id, in the form
        :meth:`ui.listening_test.ListeningTab.value_or_update` compares: a page's first
        render then sends a property update only for components whose properties change
        (each update makes Gradio build a component and its config, 0.2-0.5 ms of CPU)."""
        props = {p._id: {"label": p.label, "visible": p.visible} for p in self.players}
        for scale in self.scales:
            props[scale._id] = {"choices": list(scale.choices), "visible": scale.visible}
        props[self.choice._id] = {"choices": list(self.choice.choices)}
        props[self.continue_btn._id] = {"visible": self.continue_btn.visible}
        return props

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
            # a new value asks the page for a change of layout (on_relayout); "hidden" keeps
            # it in the page, so its change event fires
            self.layout = gr.Textbox(value="", visible="hidden", elem_id="mos-layout")
            # the shown page's token (its page id): the players' js sends it with their events
            # to the player route (ui.listener_routes), which binds play state to this page
            self.page_token = gr.Textbox(value="", visible="hidden", elem_id="mos-page")
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
