"""The "About" tab: every system's model card, data provenance, how to cite and deploy."""

from __future__ import annotations

import logging
from pathlib import Path

import gradio as gr

from pipeline.checkpoint import CheckpointError
from pipeline.constants import TASKS
from pipeline.registry import REPO_ROOT, Registry

log = logging.getLogger(__name__)

DATA_DOC = REPO_ROOT / "docs" / "DATA.md"
TASK_TITLES = {"enhance": "Speech enhancement", "emotion": "Emotion conversion"}

INTRO = """
## Emotion & Enhancement Studio

An open studio to demo, share and listen-test speech enhancement and emotion conversion
systems: GAN models trained here, rule-based signal-processing baselines (`dsp`) and, when
installed, strong peers such as DeepFilterNet3. Every number on a model card below was
measured by the project's own evaluation code.
"""

DEPLOY = """
## Use it from Python, share it, deploy it

**Python, without the web page** — the same functions the app calls:

```python
import soundfile as sf
from pipeline import api

wave, sr = sf.read("noisy.wav", dtype="float32")
clean = api.enhance(wave, sr, model="dsp")                  # same length, same rate
angry = api.convert(wave, sr, "angry", 0.8, model="dsp")
```

**Remote, with `gradio_client`** — named endpoints `/enhance` and `/convert`:

```python
from gradio_client import Client, handle_file

client = Client("http://127.0.0.1:7860/")
enhanced_wav, status = client.predict(handle_file("noisy.wav"), "dsp", api_name="/enhance")
converted_wav, status = client.predict(
    handle_file("calm.wav"), "angry", 0.8, "dsp", api_name="/convert"
)
```

**Share a temporary public link**: `python app.py --share` (add `--auth user:password` to
protect it). **Hugging Face Spaces**: create a Gradio Space, push this repository (`app.py` at
the root, `requirements.txt`, and `checkpoints/`), and the Space runs `python app.py`; set
`GRADIO_SERVER_NAME=0.0.0.0`. Uploads are limited in size, analytics and the `/monitoring`
page are off, and `checkpoints/` and `ratings/` are never served as files.

**Cite**: if the studio helps your research, cite the repository (Emotion & Enhancement
Studio, with the version shown in the page title) and the papers of the systems you used, listed on their
model cards.
"""


def cards_markdown(registry: Registry) -> str:
    """All model cards of all tasks, as markdown (loads built-in systems to read theirs)."""
    parts = []
    for task in TASKS:
        parts.append(f"## {TASK_TITLES.get(task, task)} systems")
        default = registry.default(task)
        for entry in registry.entries(task):
            try:
                card = registry.card(task, entry.name).to_markdown()
            except (CheckpointError, ImportError, OSError, ValueError) as err:
                log.warning("card of %s/%s: %s", task, entry.name, err)
                card = f"### {entry.name}\n\nModel card unavailable: {err}\n"
            if entry.name == default:
                heading, _, rest = card.partition("\n")
                card = f"{heading}\n\n**Default {TASK_TITLES.get(task, task).lower()} system.**\n{rest}"
            parts.append(card)
    return "\n\n".join(parts)


def data_markdown() -> str:
    """The data manifest (docs/DATA.md) or a pointer when it is not there."""
    if DATA_DOC.is_file():
        return DATA_DOC.read_text(encoding="utf-8")
    return "## Data\n\nThe data provenance document (`docs/DATA.md`) is not present in this copy."


#: readable cards: table cells break between words (Gradio's default breaks anywhere, so
#: narrow columns wrap letter by letter), wide tables scroll, commands wrap.
ABOUT_CSS = """
<style>
#about-page td, #about-page th { overflow-wrap: break-word; word-break: normal; }
#about-page table { display: block; overflow-x: auto; max-width: 100%; width: fit-content;
  border: none; }
#about-page pre, #about-page pre code { white-space: pre-wrap; overflow-wrap: anywhere; }
#about-page details { margin: 0.4em 0 1.2em; }
#about-page summary { cursor: pointer; color: var(--body-text-color-subdued); }
</style>
"""


def human_tests_markdown(registry: Registry, ratings_root: Path) -> str:
    """Per emotion system: its latest human identification test, or that none was run."""
    from pipeline.mos.emotion_report import latest_identification  # statistics stack: on use

    try:
        found = latest_identification(ratings_root)
    except (OSError, ValueError) as err:
        log.warning("identification results: %s", err)
        found = {}
    lines = ["## Human listening tests of the emotion systems", ""]
    for entry in registry.entries("emotion"):
        text = found.get(entry.name, "No human listening test has been run yet.")
        lines.append(f"- **{entry.name}**: {text}")
    return "\n".join(lines)


def build_about_tab(registry: Registry, tab: gr.Tab, *, ratings_root: Path | None = None) -> None:
    """Fill the About tab; model cards are rendered when the tab is first opened."""
    ratings_root = Path(ratings_root or REPO_ROOT / "ratings")
    gr.HTML(ABOUT_CSS, padding=False)
    with gr.Column(elem_id="about-page"):
        gr.Markdown(INTRO)
        cards = gr.Markdown("_Model cards load when this tab opens…_", elem_id="model-cards")
        with gr.Accordion("Data provenance", open=False):
            gr.Markdown(data_markdown())
        gr.Markdown(DEPLOY)
    tab.select(
        lambda: cards_markdown(registry) + "\n\n" + human_tests_markdown(registry, ratings_root),
        None,
        cards,
        api_visibility="private",
    )
