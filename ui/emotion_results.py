"""Results of emotion tests in the admin "Results" tab (the library computes, this renders).

:func:`emotion_results` is called by ``ui/results.py`` when a test's ratings hold emotion
answers (``emotion-id`` / ``annotate``) or emotion-similarity ratings: identification rates
with Wilson intervals and chance, the confusion-matrix plot, intensity by requested
intensity, similarity MOS with paired tests, agreement and gold screening.
"""

from __future__ import annotations

from pathlib import Path

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


def build_emotion_builder(*, ratings_root: Path, registry, authorised: gr.State):
    """The admin panel that builds emotion tests; returns its build event (to chain on).

    Conversion tests (``emotion-id`` / ``emotion-sim``): source clips × emotion systems ×
    target emotions × intensities, with labelled natural controls (``path,emotion`` CSV,
    the first ones become gold) and, for ``emotion-sim``, one reference clip per emotion
    (``<emotion>.wav`` file names). ``annotate``: a corpus manifest under the data folder.
    """
    from pipeline.constants import EMOTIONS

    with gr.Accordion("Build an emotion test (identification, similarity, annotation)", open=False):
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
        build = gr.Button("Build emotion test", variant="primary", elem_id="emotion-builder-build")
        message = gr.Markdown(elem_id="emotion-builder-message")

    def on_build(
        ok,
        kind,
        test_id,
        ask,
        sources,
        systems,
        emotions,
        intensities,
        controls,
        refs,
        manifest,
        limit,
        k,
        gold_csv,
    ):
        if not ok:
            raise gr.Error("Locked.")
        from pipeline.audio import AudioError
        from pipeline.corpora import data_dir
        from pipeline.mos.builder import BuildError
        from pipeline.mos.definition import DefinitionError
        from pipeline.mos.emotion_builder import (
            EmotionTestOptions,
            LabelledClip,
            build_annotation_test,
            build_conversion_test,
            read_manifest,
        )

        options = EmotionTestOptions(
            test_id=(test_id or "").strip(),
            question=kind,
            ask_intensity="intensity" in (ask or []),
            ask_certainty="certainty" in (ask or []),
        )
        try:
            if kind == "annotate":
                root = data_dir()
                clips = read_manifest(manifest, data_root=root, limit=int(limit) or None)
                gold = read_manifest(gold_csv, data_root=root) if gold_csv else []
                options.votes_per_stimulus, options.gold = int(k), len(gold)
                definition = build_annotation_test(ratings_root, clips, options, gold=gold)
            else:
                natural = read_manifest(controls, data_root=Path(".")) if controls else []
                definition = build_conversion_test(
                    ratings_root,
                    [LabelledClip(Path(p)) for p in sources or []],
                    list(systems or []),
                    list(emotions or []),
                    options,
                    intensities=[float(x) for x in str(intensities).replace(",", " ").split()],
                    controls=natural,
                    references={Path(p).stem: Path(p) for p in refs or []},
                    registry=registry,
                )
        except (BuildError, AudioError, DefinitionError, ValueError, OSError) as err:
            raise gr.Error(str(err)) from None
        return (
            f"Built **{definition.test_id}** ({definition.question}): "
            f"{len(definition.stimuli)} stimuli. {definition.notes} "
            f"Listener link: `/?test={definition.test_id}`"
        )

    return build.click(
        on_build,
        inputs=[
            authorised,
            kind,
            test_id,
            ask,
            sources,
            systems,
            emotions,
            intensities,
            controls,
            references,
            manifest,
            limit,
            k,
            gold_csv,
        ],
        outputs=[message],
        api_visibility="private",
    )
