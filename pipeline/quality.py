"""Quality figures of a processed clip, with the reason whenever a figure is unavailable.

:func:`assess_quality` scores named signals (e.g. ``"input"`` and ``"enhanced"``) with DNSMOS
(non-intrusive) and, given a clean reference, PESQ-WB, STOI/ESTOI and SI-SDR. A metric that
cannot run (its package missing, a model that fails to load, PESQ finding no utterance) does
not fail the whole report: it is left out and :attr:`QualityReport.notes` says why, in one
line each, so a user interface can show the reason next to the figures.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

import numpy as np

from pipeline.audio import fit_length, resample
from pipeline.metrics import pesq_wb, si_sdr, stoi

log = logging.getLogger(__name__)

INSTALL_HINT = "install the runtime requirements: pip install -r requirements.txt"


class Scorer(Protocol):
    """Non-intrusive quality scorer (:class:`pipeline.metrics.DnsmosScorer`)."""

    def score(self, wave: np.ndarray, sr: int) -> dict[str, float]: ...


def default_scorer() -> Scorer:
    """The process-wide DNSMOS scorer (ONNX sessions load on first use)."""
    from pipeline.metrics import default_dnsmos

    return default_dnsmos()


@dataclass(frozen=True)
class QualityReport:
    """Scores per signal name; a metric family that could not run is empty and has a note.

    Attributes:
        dnsmos: ``{name: {"sig", "bak", "ovrl", "p808"}}`` (MOS 1-5), or ``{}``.
        intrusive: ``{name: {"pesq_wb", "stoi", "estoi", "si_sdr"}}`` against the reference
            (a value is ``nan`` when that metric could not score the pair), or ``{}``.
        notes: one-line reasons for whatever is missing.
    """

    dnsmos: dict[str, dict[str, float]] = field(default_factory=dict)
    intrusive: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _unavailable(what: str, err: BaseException) -> str:
    if isinstance(err, ImportError):
        module = err.name or str(err)
        return f"{what} unavailable: the Python package '{module}' is missing ({INSTALL_HINT})"
    first_line = str(err).splitlines()[0] if str(err) else ""
    return f"{what} unavailable: {type(err).__name__}: {first_line}"


def _dnsmos(
    signals: Mapping[str, tuple[np.ndarray, int]], scorer: Callable[[], Scorer]
) -> tuple[dict[str, dict[str, float]], list[str]]:
    try:
        model = scorer()
        return {name: model.score(wave, sr) for name, (wave, sr) in signals.items()}, []
    except (ImportError, OSError, RuntimeError) as err:  # missing package, model, ONNX failure
        log.warning("DNSMOS unavailable: %s", err)
        return {}, [_unavailable("DNSMOS", err)]


#: reference metrics that need an extra package: key -> (title, function(ref, wave, sr))
REFERENCE_METRICS = {
    "pesq_wb": ("PESQ-WB", pesq_wb),
    "stoi": ("STOI", stoi),
    "estoi": ("ESTOI", partial(stoi, extended=True)),
}


def _intrusive(
    signals: Mapping[str, tuple[np.ndarray, int]], reference: tuple[np.ndarray, int]
) -> tuple[dict[str, dict[str, float]], list[str]]:
    clean, clean_sr = reference
    rows: dict[str, dict[str, float]] = {}
    missing: dict[str, str] = {}  # title -> note
    for name, (wave, sr) in signals.items():
        ref = fit_length(resample(clean, clean_sr, sr), len(wave))
        row = {"si_sdr": si_sdr(ref, wave)}
        for key, (title, metric) in REFERENCE_METRICS.items():
            row[key] = float("nan")
            if title in missing:
                continue
            try:
                row[key] = metric(ref, wave, sr)
            except ImportError as err:
                missing[title] = _unavailable(title, err)
        rows[name] = row
    notes = list(missing.values())
    unscored = [name for name, row in rows.items() if not np.isfinite(row["pesq_wb"])]
    if unscored and "PESQ-WB" not in missing:
        notes.append(f"PESQ-WB could not score {', '.join(unscored)} (no utterance detected)")
    return rows, notes


def assess_quality(
    signals: Mapping[str, tuple[np.ndarray, int]],
    *,
    reference: tuple[np.ndarray, int] | None = None,
    scorer: Callable[[], Scorer] = default_scorer,
) -> QualityReport:
    """Score every ``(wave, sr)`` of ``signals`` (``(samples,)`` float32 in [-1, 1], Hz).

    Args:
        reference: the clean ``(wave, sr)`` of the same recording; it is resampled to each
            signal's rate and trimmed/padded to its length. ``None``: DNSMOS only.
        scorer: returns the DNSMOS scorer (called once; may raise ImportError and the like,
            which become a note).
    """
    dnsmos, notes = _dnsmos(signals, scorer)
    intrusive: dict[str, dict[str, float]] = {}
    if reference is not None:
        intrusive, more = _intrusive(signals, reference)
        notes += more
    return QualityReport(dnsmos, intrusive, tuple(notes))
