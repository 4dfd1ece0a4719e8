"""The "Compare" tab: one input through every system of a task, side by side, and an export.

The systems come from the registry listing when the app starts (a new checkpoint folder or
an installed peer such as DeepFilterNet3 appears by itself). Running, measuring and the
samples page are :mod:`pipeline.demo`; this module lays out the cells and fills them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import gradio as gr
import numpy as np

from pipeline.audio import fit_length, resample
from pipeline.constants import EMOTIONS
from pipeline.demo.compare import Comparison, compare
from pipeline.demo.examples import conversion_examples, enhancement_examples
from pipeline.demo.site import slug, write_site, zip_site
from pipeline.quality import Scorer
from pipeline.registry import Registry
from ui.common import (
    FAILED_NOTE,
    audio_input,
    clear_outputs_on_new_input,
    load_input,
    user_errors,
)

INTRO = (
    "Run one clip through **every system** of a task and hear the outputs side by side, "
    "each with its spectrogram and figures measured on that output (DNSMOS: predicted MOS "
    "1–5). Key figures from the model cards (the project's test runs) are listed per "
    "system. **Download** packs the result as a static samples page (open `index.html` "
    "from the zip in any browser), the same as `python -m pipeline.demo export`."
)


class CompareHandlers:
    """Runs a comparison for one task and maps it onto the tab's fixed cells."""

    def __init__(
        self, registry: Registry, task: str, scorer: Callable[[], Scorer] | None = None
    ) -> None:
        self.registry = registry
        self.task = task
        self.systems = registry.names(task)
        self.scorer = scorer

    def run(self, path: str | None, *extra, progress: gr.Progress = gr.Progress()) -> list:
        """Compare; returns notes, input cell, each system's cell, the zip to download and
        the results column made visible."""
        audio = load_input(path)
        emotion, intensity, reference = "angry", 0.8, None
        if self.task == "emotion":
            emotion, intensity = extra[0], float(extra[1])
        elif extra and extra[0]:
            clean = load_input(extra[0], what="clean reference")
            wave = resample(clean.wave, clean.sample_rate, audio.sample_rate)
            reference = fit_length(wave, len(audio.wave))
        with user_errors():
            result = compare(
                self.task,
                audio.wave,
                audio.sample_rate,
                systems=self.systems,
                emotion=emotion,
                intensity=intensity,
                reference=reference,
                title=Path(path).stem,
                registry=self.registry,
                scorer=self.scorer,
                progress=lambda f, desc: progress(0.9 * f, desc=desc),
            )
        progress(0.92, desc="writing the samples page")
        site = Path(tempfile.mkdtemp(prefix="studio_compare_")) / "samples"
        write_site([result], site, title=f"Audio samples: {result.title}")
        archive = zip_site(site)
        return self._cells(result, site) + [str(archive), gr.Column(visible=True)]

    def _cells(self, result: Comparison, site: Path) -> list:
        key = slug(result.title)
        notes = "\n\n".join(f"_{note}_" for note in result.notes)
        values = [notes, *_cell_values(site, key, "input", result.input_figures)]
        by_name = {o.name: o for o in result.outputs}
        for name in self.systems:
            output = by_name.get(name)
            if output is None or output.wave is None:
                reason = output.error if output else "not run"
                values += [None, None, f"**Failed:** {reason}"]
                continue
            audio, image, figures = _cell_values(site, key, name, output.figures)
            card = " · ".join(f"{k} {v}" for k, v in output.card_figures)
            source = (
                f" (from the `{output.card_source}` card)"
                if card and output.card_source != name
                else ""
            )
            figures += f"\n\n<small>Model card: {card}{source}</small>" if card else ""
            figures += f"\n\n<small>{output.seconds:.2f} s to process</small>"
            values += [audio, image, figures]
        return values


def _cell_values(site: Path, key: str, name: str, figures: dict[str, float]) -> list:
    """(audio path, thumbnail path, figures markdown) of one cell of the written site."""
    shown = " · ".join(
        f"{k} **{v:.2f}**" for k, v in figures.items() if v is not None and np.isfinite(v)
    )
    audio = site / "audio" / key / f"{slug(name)}.wav"
    image = site / "img" / key / f"{slug(name)}.png"
    return [str(audio), str(image), shown or "_no figures_"]


def _cell(heading: str, elem_id: str) -> list:
    """Audio, thumbnail and figures components of one system's cell."""
    with gr.Column(min_width=240, elem_classes=["compare-cell"], elem_id=elem_id):
        gr.Markdown(f"**{heading}**")
        audio = gr.Audio(type="filepath", interactive=False, show_label=False)
        image = gr.Image(type="filepath", interactive=False, show_label=False, height=150)
        figures = gr.Markdown()
    return [audio, image, figures]


def _panel(registry: Registry, task: str, scorer) -> None:
    handlers = CompareHandlers(registry, task, scorer)
    with gr.Row(equal_height=False):
        source = audio_input("Input speech", elem_id=f"compare-{task}-input")
        with gr.Column():
            if task == "emotion":
                extra = [
                    gr.Radio(list(EMOTIONS), value="angry", label="Target emotion"),
                    gr.Slider(0.0, 1.0, value=0.8, step=0.05, label="Intensity"),
                ]
                found = conversion_examples()
                examples = [[str(e.path), e.emotion, e.intensity] for e in found]
                labels = [f"{e.source} → {e.emotion}" for e in found]
            else:
                extra = [audio_input("Clean reference (optional)", microphone=False)]
                found = enhancement_examples()
                examples = [[str(e.path), str(e.reference)] for e in found]
                labels = [f"{e.source}, {e.noise} at {e.snr_db:g} dB" for e in found]
            button = gr.Button(
                "Compare all systems", variant="primary", elem_id=f"compare-{task}-button"
            )
    if examples:
        gr.Examples(
            examples,
            [source, *extra],
            label="Examples (click one, then Compare all systems)",
            example_labels=labels,
            elem_id=f"compare-{task}-examples",
            api_visibility="private",
        )
    notes = gr.Markdown()
    outputs: list = []
    with gr.Column(visible=False) as results:  # shown once there is something to show
        with gr.Row(equal_height=False, elem_id=f"compare-{task}-grid"):
            outputs += _cell("Input", f"compare-{task}-cell-input")
            for label, name in registry.choices(task):
                outputs += _cell(label, f"compare-{task}-cell-{slug(name)}")
        download = gr.File(label="Samples page (zip)", elem_id=f"compare-{task}-download")
    clear_outputs_on_new_input(source, [notes, *outputs, download])
    button.click(
        handlers.run,
        [source, *extra],
        [notes, *outputs, download, results],
        api_visibility="private",
        concurrency_limit=1,
    ).failure(lambda: FAILED_NOTE, None, notes, api_visibility="private")


def build_compare_tab(registry: Registry, *, scorer: Callable[[], Scorer] | None = None) -> None:
    """Lay out the tab inside the current ``gr.Tab``: one sub-tab per task."""
    gr.Markdown(INTRO)
    with gr.Tabs():
        with gr.Tab("Speech enhancement", id="compare-enhance"):
            _panel(registry, "enhance", scorer)
        with gr.Tab("Emotion conversion", id="compare-emotion"):
            _panel(registry, "emotion", scorer)
