"""Helpers shared by the studio's tabs: input loading, output formatting, error mapping."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import numpy as np
from gradio.utils import get_upload_folder

from pipeline.audio import UI_MAX_SECONDS, Audio, AudioError, read_audio, to_int16, validate
from pipeline.checkpoint import CheckpointError
from pipeline.registry import Registry, UnknownSystemError
from pipeline.systems import ConversionRequestError

log = logging.getLogger(__name__)

#: The project's own errors, whose message is meant for the user (one line, no traceback).
#: Anything else is a bug: logged with its traceback, shown as :data:`INTERNAL_ERROR`.
USER_ERRORS = (AudioError, UnknownSystemError, CheckpointError, ConversionRequestError)
INTERNAL_ERROR = "internal error, see server log"

#: ``(sample_rate, int16 samples)``: the value handed to ``gr.Audio`` outputs. Returning
#: int16 keeps the level: Gradio peak-normalises float arrays but passes int16 through.
AudioValue = tuple[int, np.ndarray]


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the project's errors into ``gr.Error`` with the same one-line message as the CLI;
    log any other exception with its traceback and show :data:`INTERNAL_ERROR`."""
    try:
        yield
    except gr.Error:
        raise
    except USER_ERRORS as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise gr.Error(message, print_exception=False) from err
    except Exception as err:
        log.exception("internal error in a UI handler")
        raise gr.Error(INTERNAL_ERROR, print_exception=False) from err


def audio_input(label: str, *, microphone: bool = True, elem_id: str | None = None) -> gr.Audio:
    """An upload (+ microphone) input handing the handler a file path."""
    sources = ["upload", "microphone"] if microphone else ["upload"]
    return gr.Audio(label=label, sources=sources, type="filepath", elem_id=elem_id)


def load_input(path: str | None, *, what: str = "input audio") -> Audio:
    """Read and validate an uploaded/recorded file with the web UI's length limit.

    Raises:
        gr.Error: no file given, or the file failed validation (one-line reason).
    """
    if not path:
        raise gr.Error(f"no {what}: upload a file or record from the microphone first")
    try:
        with user_errors():
            audio = read_audio(path, max_seconds=UI_MAX_SECONDS)
    except gr.Error:
        discard_upload(path)
        raise
    for note in audio.notes:
        gr.Warning(note)
    return audio


def discard_upload(path: str | Path) -> bool:
    """Delete a rejected upload if it lies in Gradio's upload folder (never any other file).
    Returns whether a file was deleted."""
    upload_dir = Path(get_upload_folder()).resolve()
    target = Path(path).resolve()
    if upload_dir not in target.parents or not target.is_file():
        return False
    with contextlib.suppress(OSError):
        target.unlink()
        log.info("deleted rejected upload %s", target.name)
        return True
    return False


def from_component(value: AudioValue | None) -> Audio:
    """Validate the ``(sr, samples)`` value of a ``gr.Audio(type="numpy")`` component."""
    if value is None:
        raise gr.Error("no audio to analyse yet")
    sr, samples = value
    with user_errors():
        return validate(samples, int(sr), max_seconds=None)


def to_output(wave: np.ndarray, sr: int) -> AudioValue:
    """float32 ``(samples,)`` in [-1, 1] → ``(sr, int16 samples)`` for an output ``gr.Audio``."""
    return int(sr), to_int16(wave)


def system_dropdown(registry: Registry, task: str, *, label: str = "System") -> gr.Dropdown:
    """A dropdown of the registry's systems for ``task``: shown by display name (the model
    card's title), valued by system id."""
    return gr.Dropdown(choices=registry.choices(task), value=registry.default(task), label=label)


#: shown in a tab's status after a failed run, so the reason does not vanish with the toast
FAILED_NOTE = (
    "**No result:** the run stopped with an error (the notice in the corner says why). "
    "Fix the input or setting and run again."
)


def clear_outputs_on_new_input(audio: gr.Audio, outputs: list[gr.components.Component]) -> None:
    """Empty ``outputs`` (and any stale "Error" badge on them) whenever a new input is
    uploaded, recorded or removed, so old results never sit next to a different input."""

    def cleared() -> list[None]:
        return [None] * len(outputs)

    for event in (audio.upload, audio.stop_recording, audio.clear):
        event(
            cleared,
            None,
            outputs,
            queue=False,
            show_progress="hidden",
            api_visibility="private",
        )


#: figure tables (``format_scores``) keep their headers and numbers on one line; on a narrow
#: screen the table scrolls sideways instead of breaking "OVRL" into "OVR / L"
FIGURES_CSS = """
<style>
.figure-tables table {display: block; overflow-x: auto; max-width: 100%; width: fit-content;}
.figure-tables th, .figure-tables td {white-space: nowrap; padding: 6px 10px !important;}
</style>
"""


def figures_markdown(label: str | None = None, *, elem_id: str | None = None) -> gr.Markdown:
    """A Markdown output for tables of figures, styled by :data:`FIGURES_CSS` (which the tab
    adds once, after it, with ``gr.HTML(FIGURES_CSS, padding=False)``)."""
    return gr.Markdown(label=label, elem_id=elem_id, elem_classes="figure-tables")


def format_scores(rows: dict[str, dict[str, float]], keys: list[tuple[str, str]]) -> str:
    """A markdown table: one row per ``rows`` key, one column per ``(key, title)`` in ``keys``."""
    head = "| | " + " | ".join(title for _, title in keys) + " |"
    rule = "|---|" + "---:|" * len(keys)
    lines = [head, rule]
    for name, values in rows.items():
        cells = [_fmt(values.get(key)) for key, _ in keys]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    return f"{value:.2f}"
