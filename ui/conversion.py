"""The "Emotion conversion" tab: convert, hear and see spectrogram and F0 before/after.

Endpoint ``/convert`` (inputs: audio file, target emotion, intensity, system name, and an
optional "enhance first" flag defaulting to False; outputs: converted audio, status). The
figures follow in a UI-only second step.
"""

from __future__ import annotations

import time

import gradio as gr

from pipeline import api
from pipeline.registry import Registry
from pipeline.systems import EMOTIONS
from ui.common import (
    AudioValue,
    audio_input,
    from_component,
    load_input,
    system_dropdown,
    to_output,
    user_errors,
)

DEFAULT_EMOTION = "angry"
DEFAULT_INTENSITY = 0.8


class ConversionHandlers:
    """Event handlers of the tab, bound to the app's one registry."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def convert(
        self,
        audio_file: str | None,
        emotion: str,
        intensity: float,
        system: str,
        enhance_first: bool = False,
        progress: gr.Progress = gr.Progress(),
    ) -> tuple[AudioValue, str]:
        """Convert the uploaded file; returns (int16 audio at the input rate, status)."""
        audio = load_input(audio_file)
        wave, sr = audio.wave, audio.sample_rate
        start = time.perf_counter()
        steps = []
        with user_errors():
            if enhance_first:
                denoiser = self.registry.default("enhance")
                progress(0.1, desc=f"enhancing first with {denoiser}")
                wave = api.enhance(wave, sr, model=denoiser, registry=self.registry)
                steps.append(f"enhanced first with `{denoiser}`")
            progress(0.3, desc=f"loading {system}")
            api.load("emotion", system, registry=self.registry)
            progress(0.5, desc=f"converting to {emotion}")
            out = api.convert(
                wave, sr, emotion, float(intensity), model=system, registry=self.registry
            )
        seconds = time.perf_counter() - start
        steps.insert(
            0,
            f"Converted to **{emotion}** at intensity {float(intensity):.2f} "
            f"with `{system}` in {seconds:.2f} s",
        )
        return to_output(out, sr), "; ".join(steps) + f" ({len(out) / sr:.1f} s out)."

    def analyse(
        self, path: str | None, result: AudioValue | None, progress: gr.Progress = gr.Progress()
    ):
        """Spectrograms and F0 contours of the input and the converted speech."""
        from pipeline.plots import f0_figure, spectrogram_figure  # deferred: keeps start-up fast

        before = load_input(path)
        after = from_component(result)
        signals = [
            ("input", before.wave, before.sample_rate),
            ("converted", after.wave, after.sample_rate),
        ]
        progress(0.2, desc="drawing spectrograms")
        spectrograms = spectrogram_figure(signals)
        progress(0.6, desc="tracking F0")
        return spectrograms, f0_figure(signals)


def build_conversion_tab(registry: Registry) -> None:
    """Lay out the tab inside the current ``gr.Tab`` and wire its events."""
    handlers = ConversionHandlers(registry)
    with gr.Row(equal_height=False):
        with gr.Column():
            source = audio_input("Speech to convert", elem_id="convert-input")
            emotion = gr.Radio(list(EMOTIONS), value=DEFAULT_EMOTION, label="Target emotion")
            intensity = gr.Slider(
                0.0,
                1.0,
                value=DEFAULT_INTENSITY,
                step=0.05,
                label="Intensity (0 = unchanged, 1 = full)",
            )
            system = system_dropdown(registry, "emotion")
            enhance_first = gr.Checkbox(
                False, label="Enhance first (denoise with the default enhancement system)"
            )
            button = gr.Button("Convert", variant="primary", elem_id="convert-button")
        with gr.Column():
            converted = gr.Audio(
                label="Converted", type="numpy", interactive=False, elem_id="convert-output"
            )
            status = gr.Markdown(label="Status")
            f0 = gr.Plot(
                label="F0 contour: input and converted", format="png", elem_id="convert-f0"
            )
    spectrograms = gr.Plot(
        label="Spectrograms: input and converted", format="png", elem_id="convert-spectrograms"
    )
    button.click(
        handlers.convert,
        [source, emotion, intensity, system, enhance_first],
        [converted, status],
        api_name="convert",
        concurrency_limit=2,
    ).success(handlers.analyse, [source, converted], [spectrograms, f0], api_visibility="private")
