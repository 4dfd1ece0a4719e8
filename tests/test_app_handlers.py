"""The tabs' handlers called directly: quality figures, reference metrics, error mapping."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import soundfile as sf

from pipeline.registry import Registry
from pipeline.signals import synthetic_voice
from ui.common import to_output
from ui.conversion import ConversionHandlers
from ui.enhancement import EnhancementHandlers


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    return Registry(tmp_path_factory.mktemp("checkpoints"))


def _no_progress(*_args, **_kwargs) -> None:
    return None


def _noisy_pair(tmp_path: Path) -> tuple[Path, Path]:
    clean = synthetic_voice(3.0, 16_000)
    noisy = clean + 0.05 * np.random.default_rng(1).standard_normal(len(clean)).astype(np.float32)
    clean_path, noisy_path = tmp_path / "clean.wav", tmp_path / "noisy.wav"
    sf.write(clean_path, clean, 16_000, subtype="PCM_16")
    sf.write(noisy_path, noisy, 16_000, subtype="PCM_16")
    return clean_path, noisy_path


def test_enhance_then_analyse_with_reference(registry: Registry, tmp_path: Path) -> None:
    clean_path, noisy_path = _noisy_pair(tmp_path)
    handlers = EnhancementHandlers(registry, scorer=lambda: _FakeDnsmos())
    (sr, samples), status = handlers.enhance(str(noisy_path), "dsp", progress=_no_progress)
    assert sr == 16_000 and samples.dtype == np.int16 and len(samples) == 48_000
    figure = handlers.figures(str(noisy_path), (sr, samples), progress=_no_progress)
    text = handlers.quality(str(noisy_path), (sr, samples), str(clean_path), progress=_no_progress)
    assert len(figure.axes) >= 2
    assert "DNSMOS" in text and "PESQ-WB" in text and "SI-SDR" in text
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    assert {"input", "enhanced"} <= set(rows)


def test_reference_of_another_length_is_rejected(registry: Registry, tmp_path: Path) -> None:
    _, noisy_path = _noisy_pair(tmp_path)
    other = tmp_path / "other.wav"
    sf.write(other, synthetic_voice(1.0, 16_000), 16_000)
    handlers = EnhancementHandlers(registry, scorer=lambda: _FakeDnsmos())
    result = to_output(synthetic_voice(3.0, 16_000), 16_000)
    with pytest.raises(gr.Error, match="clean reference is 1.00 s but the input is 3.00 s"):
        handlers.quality(str(noisy_path), result, str(other), progress=_no_progress)


def test_missing_and_bad_inputs_raise_gr_error(registry: Registry, tmp_path: Path) -> None:
    handlers = ConversionHandlers(registry)
    with pytest.raises(gr.Error, match="no input audio"):
        handlers.convert(None, "sad", 0.5, "dsp", progress=_no_progress)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"nope" * 100)
    with pytest.raises(gr.Error, match="not a readable audio file"):
        handlers.convert(str(bad), "sad", 0.5, "dsp", progress=_no_progress)
    good = tmp_path / "good.wav"
    sf.write(good, synthetic_voice(1.0, 16_000), 16_000)
    with pytest.raises(gr.Error, match="unknown emotion system 'gan9000'"):
        handlers.convert(str(good), "sad", 0.5, "gan9000", progress=_no_progress)


def test_convert_keeps_rate_and_reports(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "voice.wav"
    sf.write(path, synthetic_voice(1.5, 44_100), 44_100)
    handlers = ConversionHandlers(registry)
    (sr, samples), status = handlers.convert(
        str(path), "angry", 1.0, "dsp", True, progress=_no_progress
    )
    assert sr == 44_100 and samples.dtype == np.int16
    assert "angry" in status and "enhanced first" in status
    spectrograms, f0 = handlers.analyse(str(path), (sr, samples), progress=_no_progress)
    assert len(f0.axes) == 1 and len(spectrograms.axes) >= 2


class _FakeDnsmos:
    """Stands in for DNSMOS (its real scores are covered by the evaluation tests)."""

    def score(self, wave: np.ndarray, sr: int) -> dict[str, float]:
        level = float(np.sqrt(np.mean(np.square(wave))))
        return {"sig": 3.0, "bak": 2.0 + level, "ovrl": 2.5, "p808": 3.1}
