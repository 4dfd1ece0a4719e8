"""The admin-only "Results" tab: statistics of a listening test and the test builder.

Nothing is filled in before the admin password (``--admin-password`` /
``STUDIO_ADMIN_PASSWORD``) is checked on the server: the password unlocks a flag kept in
server-side session state, and every handler re-checks that flag, so calling the
endpoints directly does not bypass it. Without a configured password the tab stays
disabled.

Downloads (``ratings/`` stays blocked): each computation writes its report into a fresh
folder under Gradio's cache named by a random 128-bit token, so Gradio serves it without
another copy, and only the unlocked session that computed it is handed its links. The folder
is deleted when that session computes again, when it ends (tab closed), or
:data:`ADMIN_FILES_TTL_S` after it was made, whichever comes first; temporary folders of the
builder are deleted when the build ends.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import gradio as gr
import matplotlib.pyplot as plt
from gradio.utils import get_upload_folder

from pipeline.audio import AudioError
from pipeline.mos.backends import ratings_csv
from pipeline.mos.builder import BuildError, BuildOptions, build_test, system_specs
from pipeline.mos.definition import EMOTION_QUESTIONS, QUESTIONS, DefinitionError, list_tests
from pipeline.mos.report import mos_figure, write_report
from pipeline.mos.storage import RatingError
from pipeline.registry import UnknownSystemError
from ui.emotion_results import build_emotion_builder, emotion_results, holds_emotion_answers

log = logging.getLogger(__name__)

PRIVATE = {"api_visibility": "private"}
#: how long a computed report's download links live (seconds)
ADMIN_FILES_TTL_S = 900


def new_report_dir() -> Path:
    """A fresh, unguessable folder for one report inside Gradio's cache."""
    return Path(get_upload_folder()) / "mos-admin" / secrets.token_hex(16)


def remove_report_dir(path: str | None) -> None:
    """Delete a report folder made by :func:`new_report_dir` (and nothing else)."""
    if path and Path(path).parent == Path(get_upload_folder()) / "mos-admin":
        shutil.rmtree(path, ignore_errors=True)


def build_results_tab(*, ratings_root: Path, admin_password: str | None, registry=None) -> None:
    """Lay out the tab inside the current Blocks/Tab context."""
    ratings_root = Path(ratings_root)
    if not admin_password:
        gr.Markdown(
            "Results are disabled: start the app with `--admin-password` or set "
            "`STUDIO_ADMIN_PASSWORD`."
        )
        return
    authorised = gr.State(False)
    report_dir = gr.State(None, time_to_live=ADMIN_FILES_TTL_S, delete_callback=remove_report_dir)
    with gr.Row(equal_height=True) as login_row:
        password = gr.Textbox(
            label="Admin password", type="password", scale=3, elem_id="results-password"
        )
        login_btn = gr.Button("Unlock", scale=1, elem_id="results-unlock")
    login_msg = gr.Markdown()
    with gr.Column(visible=False) as admin_col:
        with gr.Row():
            test_dd = gr.Dropdown(label="Test", choices=[], scale=3)
            refresh_btn = gr.Button("Refresh", scale=1)
            compute_btn = gr.Button(
                "Compute results", variant="primary", scale=1, elem_id="results-compute"
            )
        report_md = gr.Markdown(elem_id="results-report")
        chart = gr.Plot(label="MOS with 95% CI", visible=False, elem_id="results-chart")
        with gr.Accordion("Per-listener screening (P.808 style)", open=False):
            listeners_df = gr.Dataframe(interactive=False)
        with gr.Accordion("Per-item table", open=False):
            items_df = gr.Dataframe(interactive=False)
        downloads = gr.File(label="Downloads", file_count="multiple", interactive=False)
        if registry is not None:
            with gr.Accordion("Build a new test", open=False):
                b_clips = gr.File(
                    label="Input clips",
                    file_count="multiple",
                    file_types=["audio"],
                    type="filepath",
                    elem_id="builder-clips",
                )
                b_clean = gr.File(
                    label="Clean references (same file names; optional)",
                    file_count="multiple",
                    file_types=["audio"],
                    type="filepath",
                )
                with gr.Row():
                    b_id = gr.Textbox(label="Test id", placeholder="my_test_1")
                    b_question = gr.Dropdown(
                        label="Question",
                        choices=sorted(set(QUESTIONS) - set(EMOTION_QUESTIONS)),
                        value="acr",
                    )
                    b_reference = gr.Dropdown(
                        label="Reference (paired questions)",
                        choices=["none", "input", "clean"],
                        value="none",
                    )
                b_systems = gr.CheckboxGroup(
                    label="Systems",
                    choices=system_specs(registry),
                    value=["input", "enhance:dsp"],
                )
                with gr.Row():
                    b_items = gr.Number(label="Items per session", value=10, precision=0)
                    b_votes = gr.Number(label="Votes per stimulus", value=8, precision=0)
                    b_level = gr.Number(label="Level (dBov)", value=-26.0)
                    b_rate = gr.Dropdown(
                        label="Sample rate", choices=[16000, 22050, 48000], value=16000
                    )
                b_title = gr.Textbox(label="Title")
                b_instructions = gr.Textbox(label="Instructions (optional)", lines=3)
                build_btn = gr.Button("Build test", variant="primary", elem_id="builder-build")
                build_msg = gr.Markdown(elem_id="builder-message")
            emotion_builder = build_emotion_builder(
                ratings_root=ratings_root, registry=registry, authorised=authorised
            )

    def tests_update():
        tests = list_tests(ratings_root)
        return gr.update(choices=tests, value=tests[-1] if tests else None)

    def on_login(text: str):
        if text and hmac.compare_digest(text.encode(), admin_password.encode()):
            return {
                authorised: True,
                admin_col: gr.update(visible=True),
                login_row: gr.update(visible=False),
                login_msg: "Unlocked.",
                test_dd: tests_update(),
                password: "",
            }
        time.sleep(1.0)  # slow down guessing
        return {authorised: False, login_msg: "Wrong password.", password: ""}

    def on_refresh(ok: bool):
        return tests_update() if ok else gr.update()

    def on_compute(test_id: str | None, ok: bool, previous: str | None):
        if not ok:
            raise gr.Error("Locked.")
        if not test_id:
            raise gr.Error("Choose a test.")
        remove_report_dir(previous)
        out = new_report_dir()
        try:
            csv = ratings_csv(ratings_root / test_id, test_id, out)  # the file or a DB export
            if csv is None:
                remove_report_dir(str(out))
                raise gr.Error(f"No ratings yet for {test_id}.")
            if holds_emotion_answers(csv):  # emotion-id / annotate / emotion-sim tests
                return (*emotion_results(csv, test_id, out), str(out))
            report = write_report(csv, out)
        except (RatingError, ValueError, OSError) as err:
            remove_report_dir(str(out))
            raise gr.Error(str(err)) from None
        if report.empty_reason():  # never an empty chart: the markdown says why
            chart_value = gr.update(value=None, visible=False)
        else:
            fig = mos_figure(report.summary, title=f"{test_id}: MOS with 95% CI (after screening)")
            plt.close(fig)
            chart_value = gr.update(value=fig, visible=True)
        files = [
            str(report.files[k])
            for k in (
                "summary",
                "summary_before",
                "listeners",
                "pairwise",
                "items",
                "raw",
                "screened",
                "chart",
                "markdown",
            )
        ]
        return report.markdown(), chart_value, report.listeners, report.items, files, str(out)

    login_btn.click(
        on_login,
        inputs=[password],
        outputs=[authorised, admin_col, login_row, login_msg, test_dd, password],
        **PRIVATE,
    )
    password.submit(
        on_login,
        inputs=[password],
        outputs=[authorised, admin_col, login_row, login_msg, test_dd, password],
        **PRIVATE,
    )
    refresh_btn.click(on_refresh, inputs=[authorised], outputs=[test_dd], **PRIVATE)
    if registry is not None:
        emotion_builder.then(on_refresh, inputs=[authorised], outputs=[test_dd], **PRIVATE)
    compute_btn.click(
        on_compute,
        inputs=[test_dd, authorised, report_dir],
        outputs=[report_md, chart, listeners_df, items_df, downloads, report_dir],
        **PRIVATE,
    )

    if registry is None:
        return

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
        if not ok:
            raise gr.Error("Locked.")
        if not clips:
            raise gr.Error("Upload some input clips.")
        clean_dir = None
        if clean:
            clean_dir = Path(tempfile.mkdtemp(prefix="mos_clean_"))
            for path in clean:
                (clean_dir / Path(path).name).symlink_to(Path(path).resolve())
        options = BuildOptions(
            test_id=(test_id or "").strip(),
            question=question,
            reference=None if reference == "none" else reference,
            title=title,
            instructions=instructions,
            sample_rate=int(rate),
            level_dbov=float(level),
            items_per_session=int(items),
            votes_per_stimulus=int(votes),
        )
        try:
            definition = build_test(
                ratings_root,
                [Path(p) for p in clips],
                list(systems),
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
        ), tests_update()

    build_btn.click(
        on_build,
        inputs=[
            authorised,
            b_clips,
            b_clean,
            b_id,
            b_question,
            b_reference,
            b_systems,
            b_items,
            b_votes,
            b_level,
            b_rate,
            b_title,
            b_instructions,
        ],
        outputs=[build_msg, test_dd],
        **PRIVATE,
    )
