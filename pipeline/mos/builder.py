"""Build a listening test from input clips and registry systems.

For every input clip and every requested system the builder runs the system, resamples the
result to one rate, normalises its RMS level to one target (``pipeline.audio.normalize_level``,
default −26 dBov, peak-limited to 0.99 — clips that hit the limiter are reported), writes it
under an anonymous random-hex file name and records it in the definition. It also makes
training anchors, optional gold items (strongly degraded clips with a known answer), trap
items (attention checks: the page asks for a stated answer) and a headphone check (count
the beeps); see :mod:`pipeline.mos.check_items`.

System specs (strings, as on the CLI):

* ``input`` — the unprocessed input clip (the noisy or natural reference);
* ``clean`` — the clean counterpart from ``clean_dir`` (same file name), for enhancement tests;
* ``enhance:<name>`` — an enhancement system from the registry (``dsp``, ``mask-gan``,
  ``deepfilternet3``...);
* ``emotion:<name>:<emotion>[:<intensity>]`` — an emotion-conversion system.
"""

from __future__ import annotations

import functools
import inspect
import logging
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline import api
from pipeline.audio import (
    Audio,
    fit_length,
    normalize_level,
    read_audio,
    resample,
    rms_dbfs,
    write_wav,
)
from pipeline.mos.check_items import (
    NaturalClips,
    check_stimuli,
    headphone_check,
    training_anchors,
)
from pipeline.mos.definition import (
    EMOTION_QUESTIONS,
    QUESTIONS,
    Stimulus,
    TestDefinition,
    save_definition,
)
from pipeline.registry import Registry
from pipeline.systems import check_emotion

log = logging.getLogger(__name__)


class BuildError(ValueError):
    """Bad builder input (one-line message)."""


@dataclass(frozen=True)
class SystemSpec:
    """A parsed system spec; ``label`` is what lands in the CSV's ``system`` column."""

    kind: str  # input | clean | enhance | emotion
    name: str = ""
    emotion: str = ""
    intensity: float = 1.0

    def _parts(self) -> list[str]:
        """kind, then the system name (enhance, emotion), then emotion and intensity (emotion)."""
        if self.kind in ("input", "clean"):
            return [self.kind]
        if self.kind == "enhance":
            return [self.kind, self.name]
        return [self.kind, self.name, self.emotion, f"{self.intensity:g}"]

    @property
    def label(self) -> str:
        """``input``, ``enhance/<name>`` or ``emotion/<name>/<emotion>@<intensity>``."""
        parts = self._parts()
        return "/".join(parts[:3]) + "".join(f"@{p}" for p in parts[3:])

    @property
    def text(self) -> str:
        """The spec as written on the CLI and in the builder panel (inverse of :meth:`parse`)."""
        return ":".join(self._parts())

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
class CommonTestOptions:
    """Knobs every test builder takes (levels in dBov = dB re full scale RMS, rates in Hz):
    :class:`BuildOptions` and the emotion builders' options extend it."""

    test_id: str
    question: str = "acr"
    title: str = ""
    instructions: str = ""
    sample_rate: int = 16_000
    level_dbov: float = -26.0
    items_per_session: int = 10
    votes_per_stimulus: int = 8
    gold: int = 1
    completion_code: str | None = None
    seed: int | None = None


@dataclass
class BuildOptions(CommonTestOptions):
    """Knobs of :func:`build_test`, beyond :class:`CommonTestOptions`."""

    reference: str | None = None  # "input" | "clean" for paired questions
    attribute: str = "quality"
    traps: int = 1
    training: bool = True
    headphone_check: bool = True


class Builder:
    """Writes stimuli into ``folder/stimuli/`` under anonymous names and tracks the levels."""

    def __init__(self, folder: Path, options: CommonTestOptions) -> None:
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


#: definition fields every builder copies unchanged from its options
COPIED_OPTIONS = (
    "test_id",
    "question",
    "instructions",
    "items_per_session",
    "votes_per_stimulus",
    "sample_rate",
    "level_dbov",
)


def definition_fields(options: CommonTestOptions) -> dict:
    """The :class:`TestDefinition` fields a builder takes from its options:
    :data:`COPIED_OPTIONS`, the title (default: the test id) and the completion code
    (default: random)."""
    fields = {name: getattr(options, name) for name in COPIED_OPTIONS}
    fields["title"] = options.title or options.test_id
    fields["completion_code"] = options.completion_code or secrets.token_hex(4).upper()
    return fields


def test_folder(root: str | Path, test_id: str) -> Path:
    """``root/<test_id>``, which must not hold anything yet (a built test is never overwritten)."""
    folder = Path(root) / test_id
    if folder.exists() and any(folder.iterdir()):
        raise BuildError(f"test folder {folder} already exists and is not empty")
    return folder


def removed_on_failure(build):
    """A test builder ``build(root, ..., options=…)`` (``options.test_id`` names the folder)
    that leaves nothing behind when it fails: a half-written ``root/<test_id>/`` (stimuli but no
    definition) would otherwise make the corrected command fail with "already exists".
    A folder that held anything before the call is never touched."""

    signature = inspect.signature(build)

    @functools.wraps(build)
    def wrapper(root, *args, **kwargs):
        options = signature.bind(root, *args, **kwargs).arguments["options"]
        folder = Path(root) / options.test_id
        was_there = folder.exists() and any(folder.iterdir())
        try:
            return build(root, *args, **kwargs)
        except BaseException:
            if not was_there and folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)
                log.info("removed the unfinished test folder %s", folder)
            raise

    return wrapper


def _checked_specs(
    options: BuildOptions, clips: list[Path], systems: list[str]
) -> list[SystemSpec]:
    """The parsed system specs, after checking the question, reference and inputs."""
    if options.question not in QUESTIONS:
        raise BuildError(f"unknown question {options.question!r}")
    if options.question in EMOTION_QUESTIONS:
        raise BuildError(
            f"{options.question} tests are built by pipeline.mos.emotion_builder "
            "(python -m pipeline.mos build-emotion / annotate)"
        )
    if QUESTIONS[options.question].paired and options.reference not in ("input", "clean"):
        raise BuildError(f"question {options.question} needs --reference input or clean")
    if not clips:
        raise BuildError("no input clips given")
    specs = [SystemSpec.parse(s) for s in systems]
    if not specs:
        raise BuildError("no systems given")
    return specs


def _read_clip(clip: Path, clean_dir: Path | None) -> tuple[Audio, np.ndarray | None]:
    """The input clip and its clean counterpart (same file name in ``clean_dir``, resampled to
    the clip's rate and fitted to its length; ``None`` when there is none)."""
    audio = read_audio(clip, max_seconds=None)
    if clean_dir is None or not (Path(clean_dir) / clip.name).is_file():
        return audio, None
    ref_audio = read_audio(Path(clean_dir) / clip.name, max_seconds=None)
    clean = fit_length(
        resample(ref_audio.wave, ref_audio.sample_rate, audio.sample_rate), len(audio.wave)
    )
    return audio, clean


@dataclass
class _BuiltStimuli:
    """What the system pass writes: the stimuli, and the natural clips (with the references
    of paired questions) that the check items and the anchors are made from."""

    stimuli: list[Stimulus] = field(default_factory=list)
    natural: NaturalClips = field(default_factory=NaturalClips)


def _system_stimuli(
    builder: Builder,
    clips: Iterable[Path],
    specs: list[SystemSpec],
    *,
    clean_dir: Path | None,
    registry: Registry,
) -> _BuiltStimuli:
    """Every system's output for every clip (plus the reference of paired questions)."""
    options = builder.options
    paired = QUESTIONS[options.question].paired
    built = _BuiltStimuli()
    for clip in clips:
        audio, clean = _read_clip(clip, clean_dir)
        item = clip.stem
        natural = audio.wave if clean is None else clean
        if paired:
            ref = run_system(
                SystemSpec(options.reference), audio.wave, audio.sample_rate, clean, registry
            )
            built.natural.references[item] = builder.write(ref, audio.sample_rate)
            natural = ref
        built.natural.clips.append((item, natural, audio.sample_rate))
        for spec in specs:
            out = run_system(spec, audio.wave, audio.sample_rate, clean, registry)
            rel = builder.write(out, audio.sample_rate)
            built.stimuli.append(
                Stimulus(
                    id="s" + Path(rel).stem,
                    file=rel,
                    system=spec.label,
                    item_id=item,
                    condition=spec.emotion and f"{spec.emotion}@{spec.intensity:g}",
                    reference=built.natural.references.get(item),
                )
            )
    return built


@removed_on_failure
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
    specs = _checked_specs(options, clips, systems)
    folder = test_folder(root, options.test_id)
    registry = registry or api.default_registry()
    rng = np.random.default_rng(options.seed)
    builder = Builder(folder, options)
    built = _system_stimuli(
        builder, progress(iter(clips)), specs, clean_dir=clean_dir, registry=registry
    )
    stimuli = built.stimuli + check_stimuli(builder, built.natural, rng)
    training = training_anchors(builder, built.natural, rng)
    check = headphone_check(builder, rng)
    definition = TestDefinition(
        **definition_fields(options),
        stimuli=stimuli,
        attribute=options.attribute,
        gold_per_session=1 if any(s.gold is not None for s in stimuli) else 0,
        trap_per_session=1 if any(s.trap is not None for s in stimuli) else 0,
        training=training,
        headphone_check=check,
        notes=(
            f"Levels: every stimulus normalised to {options.level_dbov:g} dBov RMS "
            f"(peak-limited to 0.99; {builder.limited} clip(s) hit the limiter and are "
            f"quieter), resampled to {options.sample_rate} Hz, PCM-16."
        ),
    )
    save_definition(definition, folder)
    log.info("built test %s: %d stimuli in %s", options.test_id, len(stimuli), folder)
    return definition
