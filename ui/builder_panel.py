"""The admin panel that builds a MOS listening test (inside the "Results" tab).

:func:`mos_builder_section` lays the panel out; :func:`wire_mos_builder` connects its
"Build test" button to :func:`pipeline.mos.builder.build_test` (the library builds, this
renders). Temporary folders of a build are deleted when the build ends.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

import gradio as gr

from pipeline.audio import AudioError
from pipeline.mos.builder import BuildError, BuildOptions, build_test, system_specs
from pipeline.mos.definition import EMOTION_QUESTIONS, QUESTIONS, DefinitionError
from pipeline.registry import UnknownSystemError

#: event keywords of the admin panels: handlers stay out of the public API
PRIVATE = {"api_visibility": "private"}


@dataclass
class MosBuilderPanel:
    """The MOS test builder's inputs (in the build event's order), button and message."""

    clips: gr.File
    clean: gr.File
    test_id: gr.Textbox
    question: gr.Dropdown
    reference: gr.Dropdown
    systems: gr.CheckboxGroup
    items: gr.Number
    votes: gr.Number
    level: gr.Number
    rate: gr.Dropdown
    title: gr.Textbox
    instructions: gr.Textbox
    build: gr.Button
    message: gr.Markdown

    def inputs(self) -> list:
        return [getattr(self, f.name) for f in fields(self)][:-2]


def mos_builder_section(registry) -> MosBuilderPanel:
    """Lay the panel out (inside the current column); components in the panel's field order."""
    panel: dict = {}
    with gr.Accordion("Build a new test", open=False):
        panel["clips"] = gr.File(
            label="Input clips",
            file_count="multiple",
            file_types=["audio"],
            type="filepath",
            elem_id="builder-clips",
        )
        panel["clean"] = gr.File(
            label="Clean references (same file names; optional)",
            file_count="multiple",
            file_types=["audio"],
            type="filepath",
        )
        with gr.Row():
            panel["test_id"] = gr.Textbox(label="Test id", placeholder="my_test_1")
            panel["question"] = gr.Dropdown(
                label="Question",
                choices=sorted(set(QUESTIONS) - set(EMOTION_QUESTIONS)),
                value="acr",
            )
            panel["reference"] = gr.Dropdown(
                label="Reference (paired questions)",
                choices=["none", "input", "clean"],
                value="none",
            )
        panel["systems"] = gr.CheckboxGroup(
            label="Systems",
            choices=system_specs(registry),
            value=["input", "enhance:dsp"],
        )
        with gr.Row():
            panel["items"] = gr.Number(label="Items per session", value=10, precision=0)
            panel["votes"] = gr.Number(label="Votes per stimulus", value=8, precision=0)
            panel["level"] = gr.Number(label="Level (dBov)", value=-26.0)
            panel["rate"] = gr.Dropdown(
                label="Sample rate", choices=[16000, 22050, 48000], value=16000
            )
        panel["title"] = gr.Textbox(label="Title")
        panel["instructions"] = gr.Textbox(label="Instructions (optional)", lines=3)
        panel["build"] = gr.Button("Build test", variant="primary", elem_id="builder-build")
        panel["message"] = gr.Markdown(elem_id="builder-message")
    return MosBuilderPanel(**panel)


def build_test_from_panel(ratings_root: Path, registry, values: dict, progress: gr.Progress) -> str:
    """Build a MOS test from the builder panel's ``values`` (field name -> value); returns the
    message and the new test's id. Bad input raises :class:`gr.Error` with one line."""
    if not values["clips"]:
        raise gr.Error("Upload some input clips.")
    clean_dir = None
    if values["clean"]:
        clean_dir = Path(tempfile.mkdtemp(prefix="mos_clean_"))
        for path in values["clean"]:
            (clean_dir / Path(path).name).symlink_to(Path(path).resolve())
    reference = values["reference"]
    options = BuildOptions(
        test_id=(values["test_id"] or "").strip(),
        question=values["question"],
        reference=None if reference == "none" else reference,
        title=values["title"],
        instructions=values["instructions"],
        sample_rate=int(values["rate"]),
        level_dbov=float(values["level"]),
        items_per_session=int(values["items"]),
        votes_per_stimulus=int(values["votes"]),
    )
    try:
        definition = build_test(
            ratings_root,
            [Path(p) for p in values["clips"]],
            list(values["systems"]),
            options,
            clean_dir=clean_dir,
            registry=registry,
            progress=lambda it: progress.tqdm(list(it), desc="building stimuli"),
        )
    except (BuildError, AudioError, DefinitionError, UnknownSystemError, ValueError) as err:
        raise gr.Error(str(err)) from None
    finally:
        if clean_dir is not None:
            shutil.rmtree(clean_dir, ignore_errors=True)
    link = f"/?test={definition.test_id}&PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}"
    return (
        f"Built **{definition.test_id}**: {len(definition.stimuli)} stimuli. "
        f"{definition.notes} Completion code `{definition.completion_code}`. "
        f"Listener link: `{link}`"
    )


def wire_mos_builder(
    builder: MosBuilderPanel,
    ratings_root: Path,
    registry,
    authorised: gr.State,
    test_picker,
    tests_update,
) -> None:
    """The "Build test" event: builds from the panel, then refreshes the test picker."""

    def on_build(
        ok,
        clips,
        clean,
        test_id,
        question,
        reference,
        systems,
        items,
        votes,
        level,
        rate,
        title,
        instructions,
        progress=gr.Progress(track_tqdm=True),
    ):  # noqa: B008
        values = dict(locals())  # the arguments by field name (taken before any other local)
        if not ok:
            raise gr.Error("Locked.")
        return build_test_from_panel(ratings_root, registry, values, progress), tests_update()

    builder.build.click(
        on_build,
        inputs=[authorised, *builder.inputs()],
        outputs=[builder.message, test_picker],
        **PRIVATE,
    )
