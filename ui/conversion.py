"""The "Emotion conversion" tab: convert, hear and see spectrogram and F0 before/after.

Endpoint ``/convert`` (inputs: audio file, target emotion, intensity, system name, an
optional "enhance first" flag defaulting to False, and an optional reference clip whose
prosody becomes the target — "emotion from this clip" — defaulting to none; outputs:
converted audio, status). Calls without the last two arguments work as before. The figures
follow in a UI-only second step.
"""

from __future__ import annotations

import time

import gradio as gr

from pipeline import api
from pipeline.constants import EMOTIONS
from pipeline.demo.examples import conversion_examples
from pipeline.registry import Registry
from ui.common import (
    FAILED_NOTE,
    AudioValue,
    audio_input,
    clear_outputs_on_new_input,
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
        reference_file: str | None = None,
        progress: gr.Progress = gr.Progress(),
    ) -> tuple[AudioValue, str]:
        """Convert the uploaded file; returns (int16 audio at the input rate, plain-text status).

        With ``reference_file`` the target prosody comes from that clip and ``emotion`` is
        not used."""
        audio = load_input(audio_file)
        wave, sr = audio.wave, audio.sample_rate
        reference = None
        if reference_file:
            ref = load_input(reference_file, what="reference clip")
            reference = (ref.wave, ref.sample_rate)
        start = time.perf_counter()
        steps = []
        with user_errors():
            if enhance_first:
                denoiser = self.registry.default("enhance")
                progress(0.1, desc=f"enhancing first with {denoiser}")
                wave = api.enhance(wave, sr, model=denoiser, registry=self.registry)
                steps.append(f"enhanced first with {denoiser}")
            progress(0.3, desc=f"loading {system}")
            api.load("emotion", system, registry=self.registry)
            target = "the reference clip's prosody" if reference else emotion
            progress(0.5, desc=f"converting to {target}")
            out = api.convert(
                wave,
                sr,
                emotion,
                float(intensity),
                model=system,
                registry=self.registry,
                reference=reference,
            )
        seconds = time.perf_counter() - start
        steps.insert(
            0,
            f"Converted to {target} at intensity {float(intensity):.2f} "
            f"with {system} in {seconds:.2f} s",
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
        with gr.Column() as left_column:
            source = audio_input("Speech to convert", elem_id="convert-input")
            with gr.Row():
                emotion = gr.Radio(list(EMOTIONS), value=DEFAULT_EMOTION, label="Target emotion")
                reference = gr.Audio(
                    label="Emotion from this clip (optional reference; overrides the emotion)",
                    sources=["upload", "microphone"],
                    type="filepath",
                    elem_id="convert-reference",
                )
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
    examples = conversion_examples()
    with left_column:
        if examples:
            picked = gr.Examples(
                [[str(e.path), e.emotion, e.intensity] for e in examples],
                [source, emotion, intensity],
                label="Examples: calm speech (click one to convert it)",
                example_labels=[f"{e.source} → {e.emotion}" for e in examples],
                elem_id="convert-examples",
                api_visibility="private",
            )
    inputs = [source, emotion, intensity, system, enhance_first, reference]
    clear_outputs_on_new_input(source, [converted, status, spectrograms, f0])
    run = {"api_name": "convert"}
    for trigger in [button.click] + ([picked.load_input_event.then] if examples else []):
        started = trigger(handlers.convert, inputs, [converted, status], concurrency_limit=2, **run)
        started.failure(
            lambda: (None, FAILED_NOTE), None, [converted, status], api_visibility="private"
        )
        started.success(
            handlers.analyse, [source, converted], [spectrograms, f0], api_visibility="private"
        )
        run = {"api_visibility": "private"}
