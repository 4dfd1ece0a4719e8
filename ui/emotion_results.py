"""Results of emotion tests in the admin "Results" tab (the library computes, this renders).

:func:`emotion_results` is called by ``ui/results.py`` when a test's ratings hold emotion
answers (``emotion-id`` / ``annotate``) or emotion-similarity ratings: identification rates
with Wilson intervals and chance, the confusion-matrix plot, intensity by requested
intensity, similarity MOS with paired tests, agreement and gold screening.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import gradio as gr
import matplotlib.pyplot as plt
import pandas as pd

from pipeline.mos.storage import read_ratings


def holds_emotion_answers(csv: Path) -> bool:
    """True when ``csv`` holds answers of an emotion test."""
    from pipeline.mos.emotion_report import is_emotion_frame  # statistics stack: on use

    return is_emotion_frame(read_ratings(csv))


def emotion_results(
    csv: Path, test_id: str, out: Path
) -> tuple[str, object, pd.DataFrame, pd.DataFrame, list[str]]:
    """(markdown, confusion figure, listener screening, rates table, downloadable files);
    the files are written into ``out``."""
    from pipeline.mos.emotion_report import confusion_figure, write_emotion_report

    report = write_emotion_report(csv, out)
    fig = confusion_figure(report.answers, title=f"{test_id}: perceived vs intended emotion")
    plt.close(fig)
    files = [str(path) for path in report.files.values()]
    return report.markdown(), fig, report.listeners, report.rates, files


@dataclass
class EmotionBuildForm:
    """The emotion builder's fields in the build event's order: Gradio components when the
    panel is laid out, their values when the handler runs (one class, so the two agree)."""

    kind: Any
    test_id: Any
    ask: Any
    sources: Any
    systems: Any
    emotions: Any
    intensities: Any
    controls: Any
    references: Any
    manifest: Any
    limit: Any
    k: Any
    gold_csv: Any

    def as_list(self) -> list:
        return [getattr(self, f.name) for f in fields(self)]


def _emotion_builder_form(registry) -> EmotionBuildForm:
    """Lay out the panel's inputs (inside the current accordion)."""
    from pipeline.constants import EMOTIONS

    with gr.Row():
        kind = gr.Dropdown(
            label="Kind", choices=["emotion-id", "emotion-sim", "annotate"], value="emotion-id"
        )
        test_id = gr.Textbox(label="Test id", placeholder="emotion_test_1")
        ask = gr.CheckboxGroup(label="Also ask", choices=["intensity", "certainty"])
    sources = gr.File(
        label="Source clips (conversion tests)", file_count="multiple", type="filepath"
    )
    with gr.Row():
        systems = gr.CheckboxGroup(label="Emotion systems", choices=registry.names("emotion"))
        emotions = gr.CheckboxGroup(label="Target emotions", choices=list(EMOTIONS[1:]))
        intensities = gr.Textbox(label="Intensities", value="1.0")
    controls = gr.File(
        label="Natural controls CSV (path,emotion; first ones are gold)", type="filepath"
    )
    references = gr.File(
        label="emotion-sim references (<emotion>.wav)", file_count="multiple", type="filepath"
    )
    with gr.Row():
        manifest = gr.Textbox(
            label="annotate: manifest", value="pipeline/emotion/resources/emotion_labels.csv"
        )
        limit = gr.Number(label="clips (random subset)", value=200, precision=0)
        k = gr.Number(label="listeners per clip (k >= 3)", value=3, precision=0)
        gold_csv = gr.File(label="annotate: gold CSV (path,emotion)", type="filepath")
    return EmotionBuildForm(
        kind=kind,
        test_id=test_id,
        ask=ask,
        sources=sources,
        systems=systems,
        emotions=emotions,
        intensities=intensities,
        controls=controls,
        references=references,
        manifest=manifest,
        limit=limit,
        k=k,
        gold_csv=gold_csv,
    )


def build_emotion_test(form: EmotionBuildForm, *, ratings_root: Path, registry) -> str:
    """Build the test the panel's values (``form``) describe; returns the message.
    Bad input raises :class:`gr.Error` with one line."""
    from pipeline.audio import AudioError
    from pipeline.corpora import data_dir
    from pipeline.mos.builder import BuildError
    from pipeline.mos.definition import DefinitionError
    from pipeline.mos.emotion_builder import (
        EmotionTestOptions,
        LabelledClip,
        build_annotation_test,
        build_conversion_test,
        read_labelled_clips,
    )

    options = EmotionTestOptions(
        test_id=(form.test_id or "").strip(),
        question=form.kind,
        ask_intensity="intensity" in (form.ask or []),
        ask_certainty="certainty" in (form.ask or []),
    )
    try:
        if form.kind == "annotate":
            root = data_dir()
            clips = read_labelled_clips(
                form.manifest, data_root=root, limit=int(form.limit) or None
            )
            gold = read_labelled_clips(form.gold_csv, data_root=root) if form.gold_csv else []
            options.votes_per_stimulus, options.gold = int(form.k), len(gold)
            definition = build_annotation_test(ratings_root, clips, options, gold=gold)
        else:
            natural = (
                read_labelled_clips(form.controls, data_root=Path(".")) if form.controls else []
            )
            definition = build_conversion_test(
                ratings_root,
                [LabelledClip(Path(p)) for p in form.sources or []],
                list(form.systems or []),
                list(form.emotions or []),
                options,
                intensities=[float(x) for x in str(form.intensities).replace(",", " ").split()],
                controls=natural,
                references={Path(p).stem: Path(p) for p in form.references or []},
                registry=registry,
            )
    except (BuildError, AudioError, DefinitionError, ValueError, OSError) as err:
        raise gr.Error(str(err)) from None
    return (
        f"Built **{definition.test_id}** ({definition.question}): "
        f"{len(definition.stimuli)} stimuli. {definition.notes} "
        f"Listener link: `/?test={definition.test_id}`"
    )


def build_emotion_builder(*, ratings_root: Path, registry, authorised: gr.State):
    """The admin panel that builds emotion tests; returns its build event (to chain on).

    Conversion tests (``emotion-id`` / ``emotion-sim``): source clips × emotion systems ×
    target emotions × intensities, with labelled natural controls (``path,emotion`` CSV,
    the first ones become gold) and, for ``emotion-sim``, one reference clip per emotion
    (``<emotion>.wav`` file names). ``annotate``: a corpus manifest under the data folder.
    """
    with gr.Accordion("Build an emotion test (identification, similarity, annotation)", open=False):
        form = _emotion_builder_form(registry)
        build = gr.Button("Build emotion test", variant="primary", elem_id="emotion-builder-build")
        message = gr.Markdown(elem_id="emotion-builder-message")

    def on_build(ok, *values):
        """``values``: the form's fields in :class:`EmotionBuildForm` order."""
        if not ok:
            raise gr.Error("Locked.")
        form_values = EmotionBuildForm(*values)
        return build_emotion_test(form_values, ratings_root=ratings_root, registry=registry)

    return build.click(
        on_build,
        inputs=[authorised, *form.as_list()],
        outputs=[message],
        api_visibility="private",
    )
