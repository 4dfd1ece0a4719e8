"""The short introduction at the top of the studio's landing page."""

from __future__ import annotations

import gradio as gr

from pipeline.audio import UI_MAX_SECONDS

INTRO = f"""
Hear what **speech enhancement** (removing background noise) and **emotion conversion**
(making calm speech sound angry, happy, sad or surprised) do to a voice. Open a tab, click
one of the **examples** under the input (or upload / record up to {UI_MAX_SECONDS:g} s of speech) and
listen to the result, with spectrograms and quality figures. **Compare** runs one clip
through every system side by side and exports a shareable samples page; **About** has each
system's model card with the figures measured in this project.
"""


def build_intro() -> gr.Markdown:
    """Render the introduction in the current Blocks context and return it."""
    return gr.Markdown(INTRO, elem_id="intro")
