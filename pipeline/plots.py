"""Figures for the UI and reports: spectrograms and F0 contours before/after processing.

Figures are plain :class:`matplotlib.figure.Figure` objects (no pyplot, so no global figure
registry and nothing to close); they render with the Agg backend. Inputs are ``(samples,)``
float arrays in [-1, 1] with their sample rates in Hz.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from scipy.signal import stft

from pipeline.emotion.features import analyze_at

#: ``(label, wave, sample_rate)`` of one signal to draw.
Signal = tuple[str, np.ndarray, int]

WINDOW_S = 0.025
HOP_S = 0.010
DYNAMIC_RANGE_DB = 80.0
F0_ANALYSIS_RATE = 16_000


def spectrogram_db(wave: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Power spectrogram in dB (Hann, 25 ms window, 10 ms hop).

    Returns:
        ``(times_s (T,), freqs_hz (F,), power_db (F, T))``; 0 dB is a full-scale sine.
    """
    nperseg = max(16, round(WINDOW_S * sr))
    hop = max(1, round(HOP_S * sr))
    freqs, times, spec = stft(
        np.asarray(wave, dtype=np.float64),
        fs=sr,
        window="hann",
        nperseg=nperseg,
        noverlap=nperseg - hop,
        boundary=None,
        padded=True,
    )
    power = np.abs(spec) ** 2 * 4.0  # scipy scales by the window sum: full-scale sine -> 0 dB
    return times, freqs, 10.0 * np.log10(np.maximum(power, 1e-12))


def _spectrogram_panel(ax, times: np.ndarray, freqs: np.ndarray, db: np.ndarray, top: float):
    """Draw ``db`` ``(F, T)`` (times in s, freqs in Hz, shown in kHz) on ``ax`` from
    ``top - DYNAMIC_RANGE_DB`` to ``top`` dB; return the mesh (for a colour bar)."""
    image = ax.pcolormesh(
        times,
        freqs / 1000.0,
        db,
        shading="auto",
        cmap="magma",
        vmin=top - DYNAMIC_RANGE_DB,
        vmax=top,
        rasterized=True,
    )
    ax.set_facecolor(image.cmap(0.0))  # a shorter signal's missing tail reads as silence
    return image


def spectrogram_figure(signals: Sequence[Signal], *, max_hz: float | None = 8_000.0) -> Figure:
    """One spectrogram panel per signal, stacked, on a shared dB colour scale.

    Args:
        signals: ``(label, wave, sr)`` for each panel, e.g. before and after.
        max_hz: highest frequency shown (capped at each signal's Nyquist); ``None`` for all.
    """
    specs = [spectrogram_db(wave, sr) for _, wave, sr in signals]
    top = max(float(db.max()) for _, _, db in specs)
    fig = Figure(figsize=(8.0, 2.2 * len(signals) + 0.4), layout="constrained")
    axes = fig.subplots(len(signals), 1, squeeze=False, sharex=True)[:, 0]
    image = None
    for ax, (label, _, sr), (times, freqs, db) in zip(axes, signals, specs, strict=True):
        image = _spectrogram_panel(ax, times, freqs, db, top)
        ax.set_ylim(0, min(max_hz or sr / 2, sr / 2) / 1000.0)
        ax.set_ylabel("kHz")
        ax.set_title(label, fontsize=10, loc="left")
    axes[-1].set_xlabel("time (s)")
    if image is not None:
        fig.colorbar(image, ax=list(axes), label="dB", pad=0.01)
    return fig


def f0_contour(wave: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """F0 track from WORLD (:func:`pipeline.emotion.features.analyze_at`).

    Returns:
        ``(times_s (T,), f0_hz (T,))`` with NaN in unvoiced frames.
    """
    features = analyze_at(wave, sr, target_rate=F0_ANALYSIS_RATE)
    times = np.arange(features.n_frames) * features.frame_period / 1000.0
    f0 = np.where(features.f0 > 0, features.f0, np.nan)
    return times, f0


def f0_figure(signals: Sequence[Signal]) -> Figure:
    """F0 contours of all ``signals`` overlaid on one axis, with their voiced medians."""
    fig = Figure(figsize=(8.0, 2.8), layout="constrained")
    ax = fig.subplots()
    for (label, wave, sr), colour in zip(
        signals, ("tab:blue", "tab:red", "tab:green"), strict=False
    ):
        times, f0 = f0_contour(wave, sr)
        voiced = f0[np.isfinite(f0)]
        median = f"median {np.median(voiced):.0f} Hz" if voiced.size else "unvoiced"
        ax.plot(times, f0, color=colour, linewidth=1.4, label=f"{label} ({median})")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("F0 (Hz)")
    ax.grid(alpha=0.3)
    # above the axes (right-aligned, clear of a UI's label at the top left), so the legend
    # never covers the contours
    ax.legend(
        loc="lower right",
        bbox_to_anchor=(1.0, 1.01),
        ncols=max(1, len(signals)),
        fontsize=8,
        frameon=False,
        borderaxespad=0.0,
    )
    return fig


def spectrogram_thumbnail(wave: np.ndarray, sr: int, *, max_hz: float = 8_000.0) -> Figure:
    """A small single spectrogram (about 320 x 150 px at 100 dpi) without colour bar, for
    grids of results; same analysis as :func:`spectrogram_figure`, 80 dB range below its peak.
    """
    times, freqs, db = spectrogram_db(wave, sr)
    fig = Figure(figsize=(3.2, 1.5), layout="constrained")
    ax = fig.subplots()
    top = float(db.max())
    _spectrogram_panel(ax, times, freqs, db, top)
    ax.set_ylim(0, min(max_hz, sr / 2) / 1000.0)
    ax.tick_params(labelsize=7)
    ax.set_ylabel("kHz", fontsize=7)
    ax.set_xlabel("s", fontsize=7, labelpad=0)
    return fig


def save_png(fig: Figure, path: str | Path, *, dpi: int = 100) -> Path:
    """Write ``fig`` as a PNG file (parent folders created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=dpi)
    return path
