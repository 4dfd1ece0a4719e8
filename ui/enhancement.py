"""The "Speech enhancement" tab: denoise, hear and see before/after, quality figures.

Endpoint ``/enhance`` (inputs: audio file, system name; outputs: enhanced audio, status)
runs the system; spectrograms and then quality scores follow in UI-only steps, so API
clients get their audio without waiting for the analysis and users see figures early.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import gradio as gr
import numpy as np

from pipeline import api
from pipeline.audio import fit_length, resample
from pipeline.registry import Registry
from ui.common import (
    AudioValue,
    audio_input,
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


class Scorer(Protocol):
    """Non-intrusive quality scorer (:class:`pipeline.metrics.DnsmosScorer`)."""

    def score(self, wave: np.ndarray, sr: int) -> dict[str, float]: ...


#: a clean reference may differ from the noisy input by this fraction of its length
REFERENCE_LENGTH_TOLERANCE = 0.02


class EnhancementHandlers:
    """Event handlers of the tab, bound to the app's one registry and quality scorer."""

    def __init__(self, registry: Registry, scorer: Callable[[], Scorer] | None = None) -> None:
        self.registry = registry
        self.scorer = scorer  # None: api.quality's process-wide DNSMOS (loads on first use)

    def enhance(
        self, audio_file: str | None, system: str, progress: gr.Progress = gr.Progress()
    ) -> tuple[AudioValue, str]:
        """Enhance the uploaded file with ``system``; returns (int16 audio, status markdown)."""
        audio = load_input(audio_file)  # read and validated once, here
        progress(0.1, desc=f"loading {system}")
        with user_errors():
            loaded = api.load("enhance", system, registry=self.registry)
            progress(0.3, desc=f"enhancing with {system}")
            start = time.perf_counter()
            out = loaded.enhance(audio.wave, audio.sample_rate)
        seconds = time.perf_counter() - start
        status = (
            f"Enhanced {audio.seconds:.1f} s at {audio.sample_rate} Hz with `{system}` "
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
        """DNSMOS of input and output; PESQ/STOI/SI-SDR against ``reference`` when given."""
        before = load_input(path)
        after = from_component(result)
        progress(0.1, desc="scoring DNSMOS (non-intrusive)")
        scorer = self.scorer() if self.scorer else None
        with user_errors():
            dnsmos = {
                "input": api.quality(before.wave, before.sample_rate, scorer=scorer),
                "enhanced": api.quality(after.wave, after.sample_rate, scorer=scorer),
            }
        text = [
            "**DNSMOS P.835 / P.808** (predicted MOS 1–5, higher is better)",
            "",
            format_scores(dnsmos, DNSMOS_KEYS),
        ]
        if reference:
            progress(0.7, desc="PESQ / STOI / SI-SDR against the clean reference")
            clean = self._reference(reference, before.sample_rate, len(before.wave))
            with user_errors():
                intrusive = {
                    name: api.quality(audio.wave, audio.sample_rate, reference=clean, dnsmos=False)
                    for name, audio in (("input", before), ("enhanced", after))
                }
            text += [
                "",
                "**Against the clean reference**",
                "",
                format_scores(intrusive, INTRUSIVE_KEYS),
            ]
        else:
            text += [
                "",
                "_Add a clean reference (same recording, without noise) to also get "
                "PESQ-WB, STOI/ESTOI and SI-SDR._",
            ]
        return "\n".join(text)

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


def build_enhancement_tab(
    registry: Registry, *, scorer: Callable[[], Scorer] | None = None
) -> None:
    """Lay out the tab inside the current ``gr.Tab`` and wire its events."""
    handlers = EnhancementHandlers(registry, scorer)
    with gr.Row(equal_height=False):
        with gr.Column():
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
            quality = gr.Markdown(label="Quality")
    spectrograms = gr.Plot(
        label="Spectrograms: input and enhanced", format="png", elem_id="enhance-spectrograms"
    )
    button.click(
        handlers.enhance,
        [noisy, system],
        [enhanced, status],
        api_name="enhance",
        concurrency_limit=2,
    ).success(handlers.figures, [noisy, enhanced], spectrograms, api_visibility="private").success(
        handlers.quality, [noisy, enhanced, reference], quality, api_visibility="private"
    )
