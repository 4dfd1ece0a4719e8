"""One input through every system of a task, with measured figures for each output.

    >>> comparison = compare("enhance", noisy, 16000, reference=clean)
    >>> [(o.name, o.figures.get("OVRL")) for o in comparison.outputs]

Figures measured here on the actual outputs: enhancement: DNSMOS OVRL/SIG/BAK (and
PESQ-WB, STOI, SI-SDR against a clean reference when given); emotion conversion: DNSMOS
OVRL, median F0 and its change against the input, output duration. Alongside them each
system carries a few *key figures* from the model cards (the project's own test runs).
When a scorer cannot run (e.g. ``onnxruntime`` is missing) the comparison carries a note
saying so instead of failing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from pipeline import api
from pipeline.audio import validate
from pipeline.checkpoint import CheckpointError
from pipeline.quality import Scorer, default_scorer
from pipeline.registry import Registry, UnknownSystemError

log = logging.getLogger(__name__)

#: errors of one system that leave the others running (shown in that system's cell)
SYSTEM_ERRORS = (
    CheckpointError,
    UnknownSystemError,
    ImportError,
    OSError,
    RuntimeError,
    ValueError,
)


@dataclass
class SystemOutput:
    """One system's result on the input.

    ``wave`` is ``(samples,)`` float32 at the input's rate (``None`` when the system failed,
    then ``error`` says why); ``figures`` are measured on this output; ``card_figures`` come
    from the model card named by ``card_source``.
    """

    name: str
    label: str
    wave: np.ndarray | None
    seconds: float = 0.0
    figures: dict[str, float] = field(default_factory=dict)
    card_figures: list[tuple[str, str]] = field(default_factory=list)
    card_source: str = ""
    error: str = ""


@dataclass
class Comparison:
    """An input (``(samples,)`` float32 at ``sample_rate`` Hz) and every system's output."""

    task: str
    title: str
    wave: np.ndarray
    sample_rate: int
    setting: str = ""
    input_figures: dict[str, float] = field(default_factory=dict)
    outputs: list[SystemOutput] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def card_figures(registry: Registry, task: str, name: str) -> tuple[list[tuple[str, str]], str]:
    """Key figures of ``name``: from its own card, else from another card of the task that
    evaluated it (the shipped GAN's card compares with the baselines). Returns
    ``(figures, card name)``; ``([], "")`` when no card has figures for it."""
    names = [name] + [n for n in registry.names(task) if n != name]
    for source in names:
        try:
            card = registry.card(task, source)
        except (CheckpointError, ImportError, OSError, ValueError, RuntimeError):
            continue
        figures = card.key_figures() if source == name else _foreign_figures(card, name)
        if figures:
            return figures, source
    return [], ""


def _foreign_figures(card, name: str) -> list[tuple[str, str]]:
    from pipeline.cards import table_row

    row = table_row(card.metrics_table, name)
    return [(k, v) for k, v in row[1:] if v not in ("", "–", "-")][:8]


def compare(
    task: str,
    wave: np.ndarray,
    sr: int,
    *,
    systems: Sequence[str] | None = None,
    emotion: str = "angry",
    intensity: float = 0.8,
    reference: np.ndarray | None = None,
    title: str = "input",
    registry: Registry | None = None,
    scorer: Callable[[], Scorer] | None = None,
    dnsmos: bool = True,
    progress: Callable[[float, str], None] | None = None,
) -> Comparison:
    """Run ``wave`` through ``systems`` (default: all of ``task``) and measure each output.

    Args:
        wave: ``(samples,)`` float in [-1, 1] at ``sr`` Hz.
        emotion, intensity: the conversion target (``task == "emotion"`` only).
        reference: clean ``(samples,)`` at ``sr`` with the input's length (enhancement).
        scorer: factory of the DNSMOS scorer (default: the process-wide one).
        dnsmos: ``False`` skips DNSMOS (faster; the other figures remain).
        progress: called with (fraction done, what is happening).
    Raises:
        ValueError / AudioError: unknown task, bad input or reference (one line).
    """
    registry = registry or api.default_registry()
    audio = validate(wave, sr, max_seconds=None)
    names = list(systems) if systems else registry.names(task)
    if reference is not None and len(reference) != len(audio.wave):
        raise ValueError("the clean reference must have the input's length")
    setting = f"{emotion}, intensity {intensity:g}" if task == "emotion" else ""
    result = Comparison(task, title, audio.wave, audio.sample_rate, setting=setting)
    measure = _Measurer(task, audio.wave, audio.sample_rate, reference, scorer, result.notes)
    measure.use_dnsmos = dnsmos
    result.input_figures = measure(audio.wave)
    for index, name in enumerate(names):
        if progress:
            progress(index / max(1, len(names)), f"running {name}")
        result.outputs.append(
            _run_one(registry, task, name, audio.wave, audio.sample_rate, emotion, intensity)
        )
        output = result.outputs[-1]
        if output.wave is not None:
            output.figures = measure(output.wave)
        output.card_figures, output.card_source = card_figures(registry, task, name)
    if progress:
        progress(1.0, "done")
    return result


def _run_one(registry, task, name, wave, sr, emotion, intensity) -> SystemOutput:
    label = registry.display_name(task, name)
    start = time.perf_counter()
    try:
        if task == "enhance":
            out = api.enhance(wave, sr, model=name, registry=registry)
        else:
            out = api.convert(wave, sr, emotion, intensity, model=name, registry=registry)
    except SYSTEM_ERRORS as err:
        log.warning("%s/%s failed: %s", task, name, err)
        return SystemOutput(name, label, None, error=str(err).splitlines()[0] if str(err) else "")
    return SystemOutput(name, label, out, seconds=time.perf_counter() - start)


class _Measurer:
    """Figures of one signal for a task; scorer failures become one note, not an error."""

    def __init__(self, task, wave, sr, reference, scorer, notes: list[str]) -> None:
        self.task, self.sr, self.reference, self.notes = task, sr, reference, notes
        self._scorer_factory = scorer or default_scorer
        self._scorer: Scorer | None = None
        self._scorer_failed = False
        self.use_dnsmos = True
        self._input = wave
        self._input_f0 = _median_f0(wave, sr) if task == "emotion" else float("nan")

    def __call__(self, wave: np.ndarray) -> dict[str, float]:
        figures: dict[str, float] = {}
        dnsmos = self._dnsmos(wave)
        figures.update({k.upper(): dnsmos[k] for k in ("ovrl", "sig", "bak") if k in dnsmos})
        if self.task == "enhance" and self.reference is not None:
            from pipeline.metrics import intrusive_metrics

            scores = intrusive_metrics(self.reference, wave, self.sr)
            figures.update(
                {
                    "PESQ-WB": scores["pesq_wb"],
                    "STOI": scores["stoi"],
                    "SI-SDR dB": scores["si_sdr"],
                }
            )
        if self.task == "emotion":
            f0 = _median_f0(wave, self.sr)
            figures["F0 median Hz"] = f0
            if wave is not self._input:
                figures["F0 change st"] = 12.0 * np.log2(f0 / self._input_f0)
            figures["duration s"] = len(wave) / self.sr
        return figures

    def _dnsmos(self, wave: np.ndarray) -> dict[str, float]:
        if self._scorer_failed or not self.use_dnsmos:
            return {}
        try:
            if self._scorer is None:
                self._scorer = self._scorer_factory()
            return self._scorer.score(wave, self.sr)
        except (ImportError, OSError, RuntimeError) as err:
            self._scorer_failed = True
            self.notes.append(f"DNSMOS unavailable ({err}); other figures are shown.")
            return {}


def _median_f0(wave: np.ndarray, sr: int) -> float:
    """Median F0 (Hz) over voiced frames; NaN when nothing is voiced."""
    from pipeline.plots import f0_contour

    _, f0 = f0_contour(wave, sr)
    voiced = f0[np.isfinite(f0)]
    return float(np.median(voiced)) if voiced.size else float("nan")
