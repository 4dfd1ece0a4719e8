"""pipeline.plots: spectrogram and F0 figures render and show the right things."""

from __future__ import annotations

import io

import numpy as np
import pytest

from pipeline.plots import f0_contour, f0_figure, spectrogram_db, spectrogram_figure
from pipeline.signals import synthetic_voice


def test_spectrogram_db_full_scale_sine_is_0_db() -> None:
    sr = 16_000
    t = np.arange(sr) / sr
    times, freqs, db = spectrogram_db(np.sin(2 * np.pi * 1000.0 * t), sr)
    peak_bin = int(np.argmax(db.mean(axis=1)))
    assert freqs[peak_bin] == pytest.approx(1000.0, abs=freqs[1])
    assert db[peak_bin].mean() == pytest.approx(0.0, abs=1.5)
    assert times[-1] == pytest.approx(1.0, abs=0.03)


def test_f0_contour_tracks_a_voice() -> None:
    times, f0 = f0_contour(synthetic_voice(1.5, 22_050, f0_hz=140.0), 22_050)
    voiced = f0[np.isfinite(f0)]
    assert voiced.size > 0.5 * len(f0)
    assert np.median(voiced) == pytest.approx(140.0, rel=0.08)
    assert times[1] - times[0] == pytest.approx(0.005)


@pytest.mark.parametrize("make", [spectrogram_figure, f0_figure])
def test_figures_render_png(make) -> None:
    signals = [
        ("input", synthetic_voice(1.0, 16_000, f0_hz=120.0), 16_000),
        ("output", synthetic_voice(1.2, 44_100, f0_hz=180.0), 44_100),
    ]
    figure = make(signals)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    shown = [ax.get_title(loc="left") for ax in figure.axes]
    shown += [label for ax in figure.axes for label in ax.get_legend_handles_labels()[1]]
    assert any("input" in t for t in shown) and any("output" in t for t in shown)
