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
import time
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import matplotlib.pyplot as plt
from gradio.utils import get_upload_folder

from pipeline.mos.backends import ratings_csv
from pipeline.mos.definition import list_tests
from pipeline.mos.report import mos_figure, write_report
from pipeline.mos.storage import RatingError
from ui.builder_panel import PRIVATE, mos_builder_section, wire_mos_builder
from ui.common import FIGURES_CSS, figures_markdown
from ui.emotion_results import build_emotion_builder, emotion_results, holds_emotion_answers

log = logging.getLogger(__name__)

#: how long a computed report's download links live (seconds)
ADMIN_FILES_TTL_S = 900


def new_report_dir() -> Path:
    """A fresh, unguessable folder for one report inside Gradio's cache."""
    return Path(get_upload_folder()) / "mos-admin" / secrets.token_hex(16)


def remove_report_dir(path: str | None) -> None:
    """Delete a report folder made by :func:`new_report_dir` (and nothing else)."""
    if path and Path(path).parent == Path(get_upload_folder()) / "mos-admin":
        shutil.rmtree(path, ignore_errors=True)


#: the MOS report's files offered for download, in this order
REPORT_DOWNLOADS = (
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


@dataclass
class _Login:
    """The password row and its message."""

    row: gr.Row
    password: gr.Textbox
    button: gr.Button
    message: gr.Markdown


@dataclass
class _ReportPanel:
    """Test picker, "Compute results" and what a computation fills in."""

    test: gr.Dropdown
    refresh: gr.Button
    compute: gr.Button
    report: gr.Markdown
    chart: gr.Plot
    listeners: gr.Dataframe
    items: gr.Dataframe
    downloads: gr.File


def _login_section() -> _Login:
    with gr.Row(equal_height=True) as row:
        password = gr.Textbox(
            label="Admin password", type="password", scale=3, elem_id="results-password"
        )
        button = gr.Button("Unlock", scale=1, elem_id="results-unlock")
    return _Login(row, password, button, gr.Markdown())


def _report_section() -> _ReportPanel:
    with gr.Row():
        test = gr.Dropdown(label="Test", choices=[], scale=3)
        refresh = gr.Button("Refresh", scale=1)
        compute = gr.Button(
            "Compute results", variant="primary", scale=1, elem_id="results-compute"
        )
    report = figures_markdown(elem_id="results-report")
    gr.HTML(FIGURES_CSS, padding=False)
    chart = gr.Plot(label="MOS with 95% CI", visible=False, elem_id="results-chart")
    with gr.Accordion("Per-listener screening (P.808 style)", open=False):
        listeners = gr.Dataframe(interactive=False)
    with gr.Accordion("Per-item table", open=False):
        items = gr.Dataframe(interactive=False)
    downloads = gr.File(label="Downloads", file_count="multiple", interactive=False)
    return _ReportPanel(test, refresh, compute, report, chart, listeners, items, downloads)


def mos_results(csv: Path, test_id: str, out: Path):
    """(markdown, chart update, listener screening, per-item table, downloadable files) of a
    MOS test's ratings; the report files are written into ``out``."""
    report = write_report(csv, out)
    if report.empty_reason():  # never an empty chart: the markdown says why
        chart_value = gr.update(value=None, visible=False)
    else:
        fig = mos_figure(report.summary, title=f"{test_id}: MOS with 95% CI (after screening)")
        plt.close(fig)
        chart_value = gr.update(value=fig, visible=True)
    files = [str(report.files[k]) for k in REPORT_DOWNLOADS]
    return report.markdown(), chart_value, report.listeners, report.items, files


def compute_results(ratings_root: Path, test_id: str | None, ok: bool, previous: str | None):
    """The "Compute results" handler's outputs: the report of ``test_id`` (emotion or MOS)
    written into a fresh download folder, whose path comes last; ``previous`` is deleted."""
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
        return (*mos_results(csv, test_id, out), str(out))
    except (RatingError, ValueError, OSError) as err:
        remove_report_dir(str(out))
        raise gr.Error(str(err)) from None


def _wire_login(
    login: _Login,
    admin_password: str,
    authorised: gr.State,
    admin_col: gr.Column,
    test_picker,
    tests_update,
) -> None:
    """Unlock the admin column (and fill the test picker) on the right password."""

    def on_login(text: str):
        if text and hmac.compare_digest(text.encode(), admin_password.encode()):
            return {
                authorised: True,
                admin_col: gr.update(visible=True),
                login.row: gr.update(visible=False),
                login.message: "Unlocked.",
                test_picker: tests_update(),
                login.password: "",
            }
        time.sleep(1.0)  # slow down guessing
        return {authorised: False, login.message: "Wrong password.", login.password: ""}

    outputs = [authorised, admin_col, login.row, login.message, test_picker, login.password]
    login.button.click(on_login, inputs=[login.password], outputs=outputs, **PRIVATE)
    login.password.submit(on_login, inputs=[login.password], outputs=outputs, **PRIVATE)


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
    login = _login_section()
    with gr.Column(visible=False) as admin_col:
        panel = _report_section()
        if registry is not None:
            builder = mos_builder_section(registry)
            emotion_builder = build_emotion_builder(
                ratings_root=ratings_root, registry=registry, authorised=authorised
            )

    def tests_update():
        tests = list_tests(ratings_root)
        return gr.update(choices=tests, value=tests[-1] if tests else None)

    def on_refresh(ok: bool):
        return tests_update() if ok else gr.update()

    def on_compute(test_id: str | None, ok: bool, previous: str | None):
        return compute_results(ratings_root, test_id, ok, previous)

    _wire_login(login, admin_password, authorised, admin_col, panel.test, tests_update)
    panel.refresh.click(on_refresh, inputs=[authorised], outputs=[panel.test], **PRIVATE)
    if registry is not None:
        emotion_builder.then(on_refresh, inputs=[authorised], outputs=[panel.test], **PRIVATE)
    panel.compute.click(
        on_compute,
        inputs=[panel.test, authorised, report_dir],
        outputs=[
            panel.report,
            panel.chart,
            panel.listeners,
            panel.items,
            panel.downloads,
            report_dir,
        ],
        **PRIVATE,
    )
    if registry is not None:
        wire_mos_builder(builder, ratings_root, registry, authorised, panel.test, tests_update)
