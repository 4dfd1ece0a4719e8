"""The "Speech enhancement" tab: denoise, hear and see before/after, quality figures.

Endpoint ``/enhance`` (inputs: audio file, system name; outputs: enhanced audio, status)
runs the system; spectrograms and then quality scores follow in UI-only steps, so API
clients get their audio without waiting for the analysis and users see figures early.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import gradio as gr
import numpy as np

from pipeline import api
from pipeline.audio import fit_length, resample
from pipeline.demo.examples import enhancement_examples
from pipeline.quality import QualityReport, Scorer, default_scorer
from pipeline.registry import Registry
from ui.common import (
    FAILED_NOTE,
    FIGURES_CSS,
    AudioValue,
    audio_input,
    clear_outputs_on_new_input,
    figures_markdown,
    format_scores,
    from_component,
    load_input,
    system_dropdown,
    to_output,
    user_errors,
)

DNSMOS_KEYS = [("sig", "SIG"), ("bak", "BAK"), ("ovrl", "OVRL"), ("p808", "P.808")]
INTRUSIVE_KEYS = [
    ("pesq_wb", "PESQ-WB"),
    ("stoi", "STOI"),
    ("estoi", "ESTOI"),
    ("si_sdr", "SI-SDR (dB)"),
]


#: a clean reference may differ from the noisy input by this fraction of its length
REFERENCE_LENGTH_TOLERANCE = 0.02


class EnhancementHandlers:
    """Event handlers of the tab, bound to the app's one registry and quality scorer."""

    def __init__(self, registry: Registry, scorer: Callable[[], Scorer] | None = None) -> None:
        self.registry = registry
        self.scorer = scorer or default_scorer

    def enhance(
        self, audio_file: str | None, system: str, progress: gr.Progress = gr.Progress()
    ) -> tuple[AudioValue, str]:
        """Enhance the uploaded file with ``system``; returns (int16 audio, plain-text status)."""
        audio = load_input(audio_file)
        progress(0.1, desc=f"loading {system}")
        with user_errors():
            api.load("enhance", system, registry=self.registry)
            progress(0.3, desc=f"enhancing with {system}")
            start = time.perf_counter()
            out = api.enhance(audio.wave, audio.sample_rate, model=system, registry=self.registry)
        seconds = time.perf_counter() - start
        status = (
            f"Enhanced {audio.seconds:.1f} s at {audio.sample_rate} Hz with {system} "
            f"in {seconds:.2f} s (real-time factor {seconds / audio.seconds:.3f})."
        )
        return to_output(out, audio.sample_rate), status

    def figures(
        self, path: str | None, result: AudioValue | None, progress: gr.Progress = gr.Progress()
    ):
        """Spectrograms of the input and the enhanced speech (fast: shown first)."""
        from pipeline.plots import spectrogram_figure  # deferred: keeps start-up fast

        before = load_input(path)
        after = from_component(result)
        progress(0.2, desc="drawing spectrograms")
        return spectrogram_figure(
            [
                ("input", before.wave, before.sample_rate),
                ("enhanced", after.wave, after.sample_rate),
            ]
        )

    def quality(
        self,
        path: str | None,
        result: AudioValue | None,
        reference: str | None,
        progress: gr.Progress = gr.Progress(),
    ) -> str:
        """DNSMOS of input and output; PESQ/STOI/SI-SDR against ``reference`` when given.
        A figure that cannot be computed is replaced by a persistent note saying why."""
        before = load_input(path)
        after = from_component(result)
        clean = None
        if reference:
            clean = (
                self._reference(reference, before.sample_rate, len(before.wave)),
                before.sample_rate,
            )
        progress(0.1, desc="scoring quality (DNSMOS; PESQ/STOI/SI-SDR with a reference)")
        with user_errors():
            report = api.quality(
                {
                    "input": (before.wave, before.sample_rate),
                    "enhanced": (after.wave, after.sample_rate),
                },
                reference=clean,
                scorer=self.scorer,
            )
        return render_quality(report, with_reference=clean is not None)

    @staticmethod
    def _reference(path: str, sr: int, length: int) -> np.ndarray:
        clean = load_input(path, what="clean reference")
        wave = resample(clean.wave, clean.sample_rate, sr)
        if abs(len(wave) - length) > REFERENCE_LENGTH_TOLERANCE * length:
            raise gr.Error(
                f"clean reference is {len(wave) / sr:.2f} s but the input is {length / sr:.2f} s: "
                "give the same recording without noise"
            )
        return fit_length(wave, length)


def render_quality(report: QualityReport, *, with_reference: bool) -> str:
    """Markdown of a :class:`pipeline.quality.QualityReport`: its tables, then one
    persistent line per note (a missing metric says why instead of leaving a blank)."""
    text: list[str] = []
    if report.dnsmos:
        text += [
            "**DNSMOS P.835 / P.808** (predicted MOS 1–5, higher is better)",
            "",
            format_scores(report.dnsmos, DNSMOS_KEYS),
        ]
    if report.intrusive:
        text += [
            "",
            "**Against the clean reference**",
            "",
            format_scores(report.intrusive, INTRUSIVE_KEYS),
        ]
    elif not with_reference:
        text += [
            "",
            "_Add a clean reference (same recording, without noise) to also get "
            "PESQ-WB, STOI/ESTOI and SI-SDR._",
        ]
    text += [f"\n**Note:** {note}" for note in report.notes]
    return "\n".join(text).strip()


def build_enhancement_tab(
    registry: Registry, *, scorer: Callable[[], Scorer] | None = None
) -> None:
    """Lay out the tab inside the current ``gr.Tab`` and wire its events."""
    handlers = EnhancementHandlers(registry, scorer)
    with gr.Row(equal_height=False):
        with gr.Column() as left_column:
            noisy = audio_input("Noisy speech", elem_id="enhance-input")
            system = system_dropdown(registry, "enhance")
            with gr.Accordion("Clean reference (optional: PESQ, STOI, SI-SDR)", open=False):
                reference = audio_input("Clean reference", microphone=False)
            button = gr.Button("Enhance", variant="primary", elem_id="enhance-button")
        with gr.Column():
            enhanced = gr.Audio(
                label="Enhanced", type="numpy", interactive=False, elem_id="enhance-output"
            )
            status = gr.Markdown(label="Status")
            quality = figures_markdown("Quality")
            gr.HTML(FIGURES_CSS, padding=False)
    spectrograms = gr.Plot(
        label="Spectrograms: input and enhanced", format="png", elem_id="enhance-spectrograms"
    )
    examples = enhancement_examples()
    with left_column:
        if examples:
            picked = gr.Examples(
                [[str(e.path), str(e.reference)] for e in examples],
                [noisy, reference],
                label="Examples: noisy speech (click one to enhance it)",
                example_labels=[f"{e.source}, {e.noise} at {e.snr_db:g} dB" for e in examples],
                elem_id="enhance-examples",
                api_visibility="private",
            )
    clear_outputs_on_new_input(noisy, [enhanced, status, spectrograms, quality])
    run = {"api_name": "enhance"}
    for trigger in [button.click] + ([picked.load_input_event.then] if examples else []):
        started = trigger(
            handlers.enhance, [noisy, system], [enhanced, status], concurrency_limit=2, **run
        )
        started.failure(
            lambda: (None, FAILED_NOTE), None, [enhanced, status], api_visibility="private"
        )
        started.success(
            handlers.figures, [noisy, enhanced], spectrograms, api_visibility="private"
        ).success(handlers.quality, [noisy, enhanced, reference], quality, api_visibility="private")
        run = {"api_visibility": "private"}
