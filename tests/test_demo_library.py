"""pipeline.demo: example clips, compare-all-systems, the static samples page and its CLI;
clean system labels, card key figures, the F0 legend placement and the screening sentence."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline.cards import ModelCard, table_row
from pipeline.demo.__main__ import main as demo_main
from pipeline.demo.compare import compare
from pipeline.demo.examples import EXAMPLES_DIR, conversion_examples, enhancement_examples
from pipeline.demo.site import write_site, zip_site
from pipeline.mos import stats
from pipeline.mos.report import analyse
from pipeline.registry import Registry
from pipeline.signals import synthetic_voice

SR = 16_000


class LevelScorer:
    """A stand-in for DNSMOS: scores the RMS level (dBFS) so outputs differ measurably."""

    def score(self, wave: np.ndarray, sr: int) -> dict[str, float]:
        level = 20 * np.log10(np.sqrt(np.mean(np.square(wave))) + 1e-9)
        return {"ovrl": level, "sig": level, "bak": level}


def noisy_pair(seconds: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    clean = synthetic_voice(seconds, SR)
    noise = np.random.default_rng(1).standard_normal(len(clean)).astype(np.float32) * 0.05
    return clean + noise, clean


def test_committed_examples_are_short_small_and_listed() -> None:
    conversion, enhancement = conversion_examples(), enhancement_examples()
    assert len(conversion) >= 3 and len(enhancement) >= 3
    paths = [e.path for e in conversion] + [p for e in enhancement for p in (e.path, e.reference)]
    for path in paths:
        info = sf.info(path)
        assert info.samplerate == SR and info.channels == 1
        assert 2.0 <= info.duration <= 4.0, path.name
    assert sum(p.stat().st_size for p in EXAMPLES_DIR.glob("*.flac")) < 1_000_000
    assert (EXAMPLES_DIR / "README.md").is_file()
    for example in enhancement:  # the noisy clip is the clean one plus noise
        noisy, _ = sf.read(example.path, dtype="float32")
        clean, _ = sf.read(example.reference, dtype="float32")
        assert len(noisy) == len(clean) and not np.allclose(noisy, clean, atol=1e-3)


def test_compare_runs_every_system_and_measures_each_output(tmp_path: Path) -> None:
    registry = Registry(tmp_path)  # built-in systems only
    noisy, clean = noisy_pair()
    result = compare("enhance", noisy, SR, reference=clean, registry=registry, scorer=LevelScorer)
    assert [o.name for o in result.outputs] == registry.names("enhance")
    for output in result.outputs:
        assert output.error == "" and output.wave is not None and len(output.wave) == len(noisy)
        assert np.isfinite(output.figures["PESQ-WB"]) and np.isfinite(output.figures["OVRL"])
        assert "(" not in output.label or output.label != f"{output.name} ({output.name})"
    dsp = next(o for o in result.outputs if o.name == "dsp")
    assert dsp.figures["OVRL"] < result.input_figures["OVRL"]  # denoising lowers the level
    assert dsp.figures["SI-SDR dB"] > result.input_figures["SI-SDR dB"]


def test_scorer_failure_becomes_a_note_not_an_error(tmp_path: Path) -> None:
    def missing():
        raise ImportError("No module named 'onnxruntime'")

    result = compare(
        "emotion",
        synthetic_voice(1.2, SR),
        SR,
        systems=["dsp"],
        emotion="sad",
        registry=Registry(tmp_path),
        scorer=missing,
    )
    assert len(result.notes) == 1 and "onnxruntime" in result.notes[0]
    output = result.outputs[0]
    assert output.wave is not None and "OVRL" not in output.figures
    assert output.figures["F0 change st"] < 0  # sad lowers F0
    assert "F0 change st" not in result.input_figures


def test_samples_page_is_self_contained(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "ckpt")
    noisy, clean = noisy_pair(1.0)
    result = compare(
        "enhance",
        noisy,
        SR,
        systems=["dsp"],
        reference=clean,
        title="my clip",
        registry=registry,
        scorer=LevelScorer,
    )
    index = write_site([result], tmp_path / "site", title="Samples <test>")
    page = index.read_text()
    assert "Samples &lt;test&gt;" in page and "http" not in page  # no CDN, no absolute URL
    links = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert links and all(not re.match(r"^[a-z]+:|^/", link) for link in links)
    for link in links:
        assert (index.parent / link).is_file(), link
    assert sf.info(index.parent / "audio/my-clip/dsp.wav").samplerate == SR
    archive = zip_site(index.parent)
    with zipfile.ZipFile(archive) as zipped:
        assert "index.html" in zipped.namelist() and "audio/my-clip/input.wav" in zipped.namelist()


def test_export_cli(tmp_path: Path, voice_wav: Path) -> None:
    out = tmp_path / "site"
    code = demo_main(
        [
            "export",
            "--inputs",
            str(voice_wav),
            "--systems",
            "enhance:dsp,emotion:dsp",
            "--emotion",
            "happy",
            "--out",
            str(out),
            "--zip",
            "--no-dnsmos",
            "--checkpoints",
            str(tmp_path / "ckpt"),
        ]
    )
    assert code == 0
    page = (out / "index.html").read_text()
    assert page.count("<audio") == 4  # two inputs (one per task) + two outputs
    assert (tmp_path / "site.zip").is_file()
    assert (
        demo_main(
            [
                "export",
                "--inputs",
                str(voice_wav),
                "--systems",
                "enhance:nope",
                "--out",
                str(out),
                "--checkpoints",
                str(tmp_path / "ckpt"),
            ]
        )
        == 2
    )


def test_clean_labels_and_key_figures(tmp_path: Path) -> None:
    choices = Registry(tmp_path).choices("enhance")
    assert ("Spectral gating (Wiener, decision-directed, minimum statistics)", "dsp") in choices
    assert all(label != f"{value} ({value})" for label, value in choices)
    table = "| system | PESQ-WB | RTF |\n|---|---|---|\n| `a` | 1.2 | – |\n| `b` | 1.5 | 0.1 |"
    assert table_row(table, "b") == [("system", "`b`"), ("PESQ-WB", "1.5"), ("RTF", "0.1")]
    card = ModelCard(name="a", task="enhance", title="A", kind="gan", metrics_table=table)
    assert card.key_figures() == [("PESQ-WB", "1.2")]
    text = card.to_markdown()
    assert "**Key figures:** PESQ-WB **1.2**" in text
    assert text.index("Key figures") < text.index("<details>") < text.index("| system |")


def test_f0_legend_sits_above_the_contours(voice) -> None:
    from pipeline.plots import f0_figure

    wave, sr = voice
    fig = f0_figure([("input", wave, sr), ("converted", wave * 0.5, sr)])
    fig.savefig(io.BytesIO(), format="png")  # lays the figure out
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent()
    assert legend.y0 >= ax.get_window_extent().y1 - 1.0


@pytest.mark.parametrize(
    ("rows", "sentence"),
    [
        (
            [
                ("L1", True, ""),
                ("L2", False, "trap"),
                ("L3", False, "trap; low variance"),
                ("L4", True, ""),
            ],
            "Screening kept 2 of 4 listeners: 2 failed the trap, 1 gave (almost) the same "
            "score to everything.",
        ),
        ([("L1", True, "")], "Screening kept 1 of 1 listener: all passed."),
    ],
)
def test_screening_sentence(rows, sentence) -> None:
    import pandas as pd

    frame = pd.DataFrame(rows, columns=["listener_id", "passed", "reasons"])
    assert stats.screening_sentence(frame) == sentence


def test_report_explains_an_empty_chart() -> None:
    import pandas as pd

    rows = [  # both listeners fail the trap: nothing survives screening
        {
            "listener_id": lid,
            "stimulus_id": f"s{i}",
            "system": "A",
            "item_id": f"i{i}",
            "score": score,
            "play_count": 1,
            "is_gold": False,
            "is_trap": False,
            "expected": None,
        }
        for lid in ("L1", "L2")
        for i, score in enumerate((1, 5))
    ] + [
        {
            "listener_id": lid,
            "stimulus_id": "t",
            "system": "trap",
            "item_id": "t",
            "score": 1,
            "play_count": 1,
            "is_gold": False,
            "is_trap": True,
            "expected": 2,
        }
        for lid in ("L1", "L2")
    ]
    report = analyse(pd.DataFrame(rows))
    assert report.summary.empty
    assert "No listener passed screening" in report.empty_reason()
    assert "Screening kept 0 of 2 listeners: 2 failed the trap." in report.markdown()
