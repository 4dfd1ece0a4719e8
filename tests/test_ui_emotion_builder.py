"""The admin panel's emotion builder handler: locked without the password, builds an
annotation test from a manifest, reports bad input as one line."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest
import soundfile as sf

from pipeline import api
from pipeline.mos.definition import load_definition
from pipeline.mos.synthetic import tone
from ui.results import build_results_tab


def handler(demo: gr.Blocks, module: str):
    return next(
        f.fn
        for f in demo.fns.values()
        if f.fn and f.fn.__module__ == module and f.fn.__name__ == "on_build"
    )


def test_admin_builds_an_annotation_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    data = tmp_path / "data"
    lines = ["path,emotion"]
    for i, emotion in enumerate(["neutral", "happy", "angry"]):
        rel = f"speech/c{i}.wav"
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(data / rel, tone(0.3, 200 + 40 * i), 16_000)
        lines.append(f"{rel},{emotion}")
    manifest = tmp_path / "m.csv"
    manifest.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("STUDIO_DATA", str(data))
    root = tmp_path / "ratings"
    with gr.Blocks() as demo:
        build_results_tab(ratings_root=root, admin_password="pw", registry=api.default_registry())
    build = handler(demo, "ui.emotion_results")
    args = [
        "annotate",
        "ann1",
        ["intensity"],
        None,
        [],
        [],
        "1",
        None,
        None,
        str(manifest),
        0,
        3,
        None,
    ]
    with pytest.raises(gr.Error, match="Locked"):
        build(False, *args)
    message = build(True, *args)
    assert "Built **ann1** (annotate): 3 stimuli" in message
    definition = load_definition(root / "ann1")
    assert definition.ask_intensity and definition.votes_per_stimulus == 3
    with pytest.raises(gr.Error, match="at least 3"):
        build(
            True, "annotate", "ann2", [], None, [], [], "1", None, None, str(manifest), 0, 2, None
        )
