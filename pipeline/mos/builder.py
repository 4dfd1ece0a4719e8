"""Build a listening test from input clips and registry systems.

For every input clip and every requested system the builder runs the system, resamples the
result to one rate, normalises its RMS level to one target (``pipeline.audio.normalize_level``,
default −26 dBov, peak-limited to 0.99 — clips that hit the limiter are reported), writes it
under an anonymous random-hex file name and records it in the definition. It also makes
training anchors, optional gold items (strongly degraded clips with a known answer), trap
items (attention checks: the page asks for a stated answer) and a headphone check (count
the beeps).

System specs (strings, as on the CLI):

* ``input`` — the unprocessed input clip (the noisy or natural reference);
* ``clean`` — the clean counterpart from ``clean_dir`` (same file name), for enhancement tests;
* ``enhance:<name>`` — an enhancement system from the registry (``dsp``, ``mask-gan``,
  ``deepfilternet3``...);
* ``emotion:<name>:<emotion>[:<intensity>]`` — an emotion-conversion system.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline import api
from pipeline.audio import fit_length, normalize_level, read_audio, resample, rms_dbfs, write_wav
from pipeline.mos.definition import (
    EMOTION_QUESTIONS,
    QUESTIONS,
    HeadphoneCheck,
    Stimulus,
    TestDefinition,
    TrainingClip,
    save_definition,
)
from pipeline.registry import Registry
from pipeline.systems import check_emotion

log = logging.getLogger(__name__)

#: expected score of a strongly degraded clip (gold items, "bad" training anchor)
DEGRADED_EXPECTED = {"acr": 1, "dcr": 1, "ccr": -3, "ab": -1}
#: expected score of a clip compared with itself (paired training anchor)
IDENTICAL_EXPECTED = {"acr": 5, "dcr": 5, "ccr": 0, "smos": 5, "ab": 0}


class BuildError(ValueError):
    """Bad builder input (one-line message)."""


@dataclass(frozen=True)
class SystemSpec:
    """A parsed system spec; ``label`` is what lands in the CSV's ``system`` column."""

    kind: str  # input | clean | enhance | emotion
    name: str = ""
    emotion: str = ""
    intensity: float = 1.0

    @property
    def label(self) -> str:
        if self.kind in ("input", "clean"):
            return self.kind
        if self.kind == "enhance":
            return f"enhance/{self.name}"
        return f"emotion/{self.name}/{self.emotion}@{self.intensity:g}"

    @property
    def text(self) -> str:
        """The spec as written on the CLI and in the builder panel (inverse of :meth:`parse`)."""
        if self.kind in ("input", "clean"):
            return self.kind
        if self.kind == "enhance":
            return f"enhance:{self.name}"
        return f"emotion:{self.name}:{self.emotion}:{self.intensity:g}"

    @classmethod
    def parse(cls, text: str) -> SystemSpec:
        parts = text.strip().split(":")
        kind = parts[0]
        if kind in ("input", "clean") and len(parts) == 1:
            return cls(kind)
        if kind == "enhance" and len(parts) == 2:
            return cls(kind, parts[1])
        if kind == "emotion" and len(parts) in (3, 4):
            try:
                intensity = float(parts[3]) if len(parts) == 4 else 1.0
                check_emotion(parts[2], intensity)
            except ValueError as err:
                raise BuildError(f"system {text!r}: {err}") from None
            return cls(kind, parts[1], parts[2], intensity)
        raise BuildError(
            f"bad system spec {text!r} (use input, clean, enhance:NAME or "
            "emotion:NAME:EMOTION[:INTENSITY])"
        )


#: emotion targets and intensities offered for each emotion system by :func:`system_specs`
OFFERED_EMOTIONS: tuple[str, ...] = ("happy", "angry", "sad")
OFFERED_INTENSITIES: tuple[float, ...] = (0.8,)


def system_specs(
    registry: Registry,
    *,
    emotions: tuple[str, ...] = OFFERED_EMOTIONS,
    intensities: tuple[float, ...] = OFFERED_INTENSITIES,
) -> list[str]:
    """Every spec a builder can offer: input, clean, each enhancement system, and each
    emotion system at each of ``emotions`` x ``intensities``."""
    specs = [SystemSpec("input"), SystemSpec("clean")]
    specs += [SystemSpec("enhance", name) for name in registry.names("enhance")]
    specs += [
        SystemSpec("emotion", name, emotion, intensity)
        for name in registry.names("emotion")
        for emotion in emotions
        for intensity in intensities
    ]
    return [spec.text for spec in specs]


@dataclass
class BuildOptions:
    """Knobs of :func:`build_test` (levels in dBov = dB re full scale RMS, rates in Hz)."""

    test_id: str
    question: str = "acr"
    reference: str | None = None  # "input" | "clean" for paired questions
    title: str = ""
    instructions: str = ""
    attribute: str = "quality"
    sample_rate: int = 16_000
    level_dbov: float = -26.0
    items_per_session: int = 10
    votes_per_stimulus: int = 8
    gold: int = 1
    traps: int = 1
    training: bool = True
    headphone_check: bool = True
    completion_code: str | None = None
    seed: int | None = None


def degrade(wave: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A clearly bad version of ``wave`` (``(n,)`` at ``sr``): 1 kHz band limit + noise at 0 dB SNR."""
    narrow = resample(resample(wave, sr, 2_000), 2_000, sr)[: len(wave)]
    narrow = np.pad(narrow, (0, len(wave) - len(narrow)))
    noise = rng.standard_normal(len(wave)).astype(np.float32)
    noise *= np.sqrt(np.mean(narrow**2) / max(np.mean(noise**2), 1e-12))
    return np.clip(narrow + noise, -1.0, 1.0).astype(np.float32)


def beeps(count: int, sr: int, *, level_dbov: float = -32.0) -> np.ndarray:
    """``count`` 1 kHz beeps of 150 ms, 350 ms apart, at a quiet RMS level."""
    t = np.arange(int(0.15 * sr)) / sr
    tone = np.sin(2 * np.pi * 1000.0 * t) * np.hanning(len(t))
    gap = np.zeros(int(0.35 * sr))
    parts = [np.zeros(int(0.4 * sr))]
    for _ in range(count):
        parts += [tone, gap]
    wave = np.concatenate(parts + [np.zeros(int(0.2 * sr))]).astype(np.float32)
    return normalize_level(wave, level_dbov)


class Builder:
    """Writes stimuli into ``folder/stimuli/`` under anonymous names and tracks the levels."""

    def __init__(self, folder: Path, options: BuildOptions) -> None:
        self.folder = folder
        self.options = options
        self.limited = 0  # clips whose peak limiter pulled them under the target level
        (folder / "stimuli").mkdir(parents=True, exist_ok=True)

    def write(self, wave: np.ndarray, sr: int) -> str:
        out = resample(wave, sr, self.options.sample_rate)
        out = normalize_level(out, self.options.level_dbov)
        if rms_dbfs(out) < self.options.level_dbov - 0.5:
            self.limited += 1
        rel = f"stimuli/{secrets.token_hex(8)}.wav"
        write_wav(self.folder / rel, out, self.options.sample_rate)
        return rel


def run_system(
    spec: SystemSpec, wave: np.ndarray, sr: int, clean: np.ndarray | None, registry: Registry
) -> np.ndarray:
    """``(n,)`` float32 at ``sr`` → the system's output at ``sr``."""
    if spec.kind == "input":
        return wave
    if spec.kind == "clean":
        if clean is None:
            raise BuildError("system 'clean' needs --clean-dir with matching file names")
        return clean
    if spec.kind == "enhance":
        return api.enhance(wave, sr, model=spec.name, registry=registry)
    return api.convert(wave, sr, spec.emotion, spec.intensity, model=spec.name, registry=registry)


def build_test(
    root: str | Path,
    clips: list[Path],
    systems: list[str],
    options: BuildOptions,
    *,
    clean_dir: Path | None = None,
    registry: Registry | None = None,
    progress: Callable[[Iterable[Path]], Iterator[Path]] = iter,
) -> TestDefinition:
    """Create ``root/<test_id>/`` with stimuli and ``definition.yaml``; returns the definition.

    ``progress`` wraps the iterator over input clips (e.g. ``tqdm``). Raises :class:`BuildError` or
    :class:`pipeline.audio.AudioError` with a one-line message on bad input.
    """
    if options.question not in QUESTIONS:
        raise BuildError(f"unknown question {options.question!r}")
    if options.question in EMOTION_QUESTIONS:
        raise BuildError(
            f"{options.question} tests are built by pipeline.mos.emotion_builder "
            "(python -m pipeline.mos build-emotion / annotate)"
        )
    paired = QUESTIONS[options.question].paired
    if paired and options.reference not in ("input", "clean"):
        raise BuildError(f"question {options.question} needs --reference input or clean")
    if not clips:
        raise BuildError("no input clips given")
    specs = [SystemSpec.parse(s) for s in systems]
    if not specs:
        raise BuildError("no systems given")
    folder = Path(root) / options.test_id
    if folder.exists() and any(folder.iterdir()):
        raise BuildError(f"test folder {folder} already exists and is not empty")
    registry = registry or api.default_registry()
    rng = np.random.default_rng(options.seed)
    builder = Builder(folder, options)
    stimuli: list[Stimulus] = []
    references: dict[str, str] = {}
    loaded = []
    for clip in progress(iter(clips)):
        audio = read_audio(clip, max_seconds=None)
        clean = None
        if clean_dir is not None and (Path(clean_dir) / clip.name).is_file():
            ref_audio = read_audio(Path(clean_dir) / clip.name, max_seconds=None)
            clean = fit_length(
                resample(ref_audio.wave, ref_audio.sample_rate, audio.sample_rate),
                len(audio.wave),
            )
        item = clip.stem
        natural = audio.wave if clean is None else clean
        if paired:
            ref = run_system(
                SystemSpec(options.reference), audio.wave, audio.sample_rate, clean, registry
            )
            references[item] = builder.write(ref, audio.sample_rate)
            natural = ref
        loaded.append((item, natural, audio.sample_rate))
        for spec in specs:
            out = run_system(spec, audio.wave, audio.sample_rate, clean, registry)
            rel = builder.write(out, audio.sample_rate)
            stimuli.append(
                Stimulus(
                    id="s" + Path(rel).stem,
                    file=rel,
                    system=spec.label,
                    item_id=item,
                    condition=spec.emotion and f"{spec.emotion}@{spec.intensity:g}",
                    reference=references.get(item),
                )
            )
    q = options.question

    def check_stimulus(rel: str, system: str, item: str, **answer) -> Stimulus:
        """A gold or trap item: a check with a known answer, not a system under test."""
        reference = references.get(item) if paired else None
        return Stimulus(
            id="s" + Path(rel).stem,
            file=rel,
            system=system,
            item_id=item,
            reference=reference,
            **answer,
        )

    for item, wave, sr in loaded[: options.gold] if q in DEGRADED_EXPECTED else []:
        rel = builder.write(degrade(wave, sr, rng), sr)
        stimuli.append(check_stimulus(rel, "gold", item, gold=DEGRADED_EXPECTED[q]))
    scale = QUESTIONS[q].scores
    for n, (item, wave, sr) in enumerate(loaded[: options.traps]):
        # an attention check: an ordinary-sounding clip whose page asks for a given answer
        rel = builder.write(wave, sr)
        trap = scale[(len(scale) // 2 + 1 + n) % len(scale)]
        stimuli.append(check_stimulus(rel, "trap", item, trap=trap))
    training: list[TrainingClip] = []
    if options.training and loaded:
        item, wave, sr = loaded[-1]
        ref = references.get(item) if paired else None
        good = ref if paired else builder.write(wave, sr)
        training.append(
            TrainingClip(good, IDENTICAL_EXPECTED[q], reference=ref, note="anchor_good")
        )
        if q in DEGRADED_EXPECTED:
            bad = builder.write(degrade(wave, sr, rng), sr)
            training.append(
                TrainingClip(bad, DEGRADED_EXPECTED[q], reference=ref, note="anchor_bad")
            )
    check = None
    if options.headphone_check:
        count = int(rng.integers(2, 6))
        rel = f"stimuli/{secrets.token_hex(8)}.wav"
        write_wav(folder / rel, beeps(count, options.sample_rate), options.sample_rate)
        check = HeadphoneCheck(rel, count)
    definition = TestDefinition(
        test_id=options.test_id,
        title=options.title or options.test_id,
        question=q,
        stimuli=stimuli,
        instructions=options.instructions,
        attribute=options.attribute,
        items_per_session=options.items_per_session,
        votes_per_stimulus=options.votes_per_stimulus,
        gold_per_session=1 if any(s.gold is not None for s in stimuli) else 0,
        trap_per_session=1 if any(s.trap is not None for s in stimuli) else 0,
        completion_code=options.completion_code or secrets.token_hex(4).upper(),
        training=training,
        headphone_check=check,
        sample_rate=options.sample_rate,
        level_dbov=options.level_dbov,
        notes=(
            f"Levels: every stimulus normalised to {options.level_dbov:g} dBov RMS "
            f"(peak-limited to 0.99; {builder.limited} clip(s) hit the limiter and are "
            f"quieter), resampled to {options.sample_rate} Hz, PCM-16."
        ),
    )
    save_definition(definition, folder)
    log.info("built test %s: %d stimuli in %s", options.test_id, len(stimuli), folder)
    return definition
