"""A static "audio samples" page from comparisons: inputs × systems, players and spectrograms.

    out/index.html              one page, inline CSS, no script, no CDN, relative links only
    out/audio/<input>/<sys>.wav PCM-16 at the input's rate (``input.wav`` for the input)
    out/img/<input>/<sys>.png   spectrogram thumbnails

It opens from disk (``file://``) or from any static web server; :func:`zip_site` packs it.
"""

from __future__ import annotations

import html
import logging
import re
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from pipeline import __version__
from pipeline.audio import write_wav
from pipeline.demo.compare import Comparison, SystemOutput

log = logging.getLogger(__name__)

TASK_TITLES = {"enhance": "Speech enhancement", "emotion": "Emotion conversion"}

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1200px;
padding:1rem;color:#1f2328;line-height:1.45}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.25rem;margin-top:2rem}
h3{font-size:1.05rem;margin:1.2rem 0 .4rem}
.muted{color:#57606a;font-size:.9rem}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:.8rem}
.cell{border:1px solid #d0d7de;border-radius:8px;padding:.6rem;background:#fff}
.cell.input{background:#f6f8fa}
.cell h4{margin:0 0 .3rem;font-size:.95rem;overflow-wrap:anywhere;min-height:2.5em}
.cell audio{width:100%}
.cell img{width:100%;height:auto;display:block;margin:.3rem 0;border-radius:4px}
.figs{font-size:.85rem;margin:0;padding:0;list-style:none}
.figs li{display:inline-block;margin:0 .6rem .1rem 0;white-space:nowrap}
.error{color:#b42318}
.sys{border-bottom:1px solid #d0d7de;padding:.45rem 0}
.sys .figs{margin-top:.2rem}
code{font-size:.85em;overflow-wrap:anywhere}
"""


def slug(text: str) -> str:
    """A file-name-safe form of ``text`` (lower case, ``[a-z0-9_-]``)."""
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-") or "item"


def write_site(comparisons: Sequence[Comparison], out_dir: str | Path, *, title: str = "") -> Path:
    """Write the samples page for ``comparisons`` into ``out_dir``; returns ``index.html``."""
    from pipeline.plots import save_png, spectrogram_thumbnail

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sections = []
    used: set[str] = set()
    for comparison in comparisons:
        key = _unique(slug(comparison.title), used)
        cells = []
        for name, wave in [("input", comparison.wave)] + [
            (o.name, o.wave) for o in comparison.outputs
        ]:
            if wave is None:
                continue
            write_wav(out / "audio" / key / f"{slug(name)}.wav", wave, comparison.sample_rate)
            fig = spectrogram_thumbnail(wave, comparison.sample_rate)
            save_png(fig, out / "img" / key / f"{slug(name)}.png")
        cells.append(_cell(key, "input", "Input", comparison.input_figures, css="input"))
        cells += [_output_cell(key, output) for output in comparison.outputs]
        setting = f" — {html.escape(comparison.setting)}" if comparison.setting else ""
        notes = "".join(f'<p class="muted">{html.escape(n)}</p>' for n in comparison.notes)
        sections.append(
            f"<h3>{html.escape(comparison.title)}"
            f' <span class="muted">({TASK_TITLES.get(comparison.task, comparison.task)}'
            f"{setting})</span></h3>{notes}"
            f'<div class="grid">{"".join(cells)}</div>'
        )
    page = _page(title or "Audio samples", comparisons, "".join(sections))
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    log.info("wrote samples page %s (%d inputs)", index, len(comparisons))
    return index


def zip_site(site_dir: str | Path, zip_path: str | Path | None = None) -> Path:
    """Pack ``site_dir`` into a zip (default: ``<site_dir>.zip``); returns its path."""
    site = Path(site_dir)
    base = Path(zip_path).with_suffix("") if zip_path else site
    return Path(shutil.make_archive(str(base), "zip", root_dir=site))


def _unique(key: str, used: set[str]) -> str:
    candidate, n = key, 2
    while candidate in used:
        candidate, n = f"{key}-{n}", n + 1
    used.add(candidate)
    return candidate


def _figures_html(figures: dict[str, float]) -> str:
    items = [
        f"<li>{html.escape(k)} <b>{v:.2f}</b></li>"
        for k, v in figures.items()
        if v is not None and np.isfinite(v)
    ]
    return f'<ul class="figs">{"".join(items)}</ul>' if items else ""


def _cell(key: str, name: str, heading: str, figures: dict[str, float], css: str = "") -> str:
    file = slug(name)
    return (
        f'<div class="cell {css}"><h4>{html.escape(heading)}</h4>'
        f'<audio controls preload="metadata" src="audio/{key}/{file}.wav"></audio>'
        f'<img src="img/{key}/{file}.png" alt="spectrogram of {html.escape(heading)}">'
        f"{_figures_html(figures)}</div>"
    )


def _output_cell(key: str, output: SystemOutput) -> str:
    if output.wave is None:
        return (
            f'<div class="cell"><h4>{html.escape(output.label)}</h4>'
            f'<p class="error">failed: {html.escape(output.error)}</p></div>'
        )
    return _cell(key, output.name, output.label, output.figures)


def _systems_list(comparisons: Sequence[Comparison]) -> str:
    seen: dict[tuple[str, str], SystemOutput] = {}
    for comparison in comparisons:
        for output in comparison.outputs:
            seen.setdefault((comparison.task, output.name), output)
    items = []
    for (task, name), output in seen.items():
        figures = "".join(
            f"<li>{html.escape(k)} <b>{html.escape(v)}</b></li>" for k, v in output.card_figures
        )
        source = (
            f'<span class="muted">from the <code>{html.escape(output.card_source)}</code> card'
            "</span>"
            if figures and output.card_source != name
            else ""
        )
        items.append(
            f'<div class="sys"><b>{html.escape(output.label)}</b> <code>{html.escape(name)}</code>'
            f' <span class="muted">{TASK_TITLES.get(task, task)}</span>'
            f'<ul class="figs">{figures or "<li>no measured figures on its card</li>"}</ul>'
            f"{source}</div>"
        )
    return "".join(items)


def _page(title: str, comparisons: Sequence[Comparison], sections: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{html.escape(title)}</title><style>{CSS}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="muted">Emotion &amp; Enhancement Studio v{__version__}, exported {stamp}.
Every input was processed by every listed system; the figures under each player were
measured on that output (DNSMOS: predicted MOS 1–5; F0 change in semitones against the
input). Spectrograms: 0–8 kHz, 80 dB range.</p>
<h2>Systems</h2>
<p class="muted">Key figures from each model card (the project's own test runs, averaged over its test set).</p>
{_systems_list(comparisons)}
<h2>Samples</h2>
{sections}
</body></html>
"""
