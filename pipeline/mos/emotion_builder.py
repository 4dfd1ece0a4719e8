"""Build the emotion tests: identification / similarity of converted speech, and corpus annotation.

* :func:`build_conversion_test` — systems × source clips × target emotions (× intensities).
  Every converted stimulus keeps its intended emotion as hidden ``truth`` (``condition`` is
  ``<emotion>@<intensity>``, ``system`` is ``emotion/<name>``); natural clips with a known
  label are mixed in as controls (``system`` ``natural``), and some of them can be gold
  clips that screen the listeners. ``emotion-id`` asks for the perceived emotion,
  ``emotion-sim`` for the emotion similarity to a natural reference clip of the target
  emotion.
* :func:`build_annotation_test` — the clips of a corpus manifest (such as
  ``pipeline/emotion/resources/emotion_labels.csv``: ``path`` relative to the data directory and
  its rule-derived ``emotion``, kept as hidden ``truth`` so people can check the rules) for
  ``annotate``: every clip gets ``votes_per_stimulus`` (k ≥ 3) listeners, gold clips with
  known labels screen them.

Stimuli are written like the MOS builder's (one rate, one RMS level, anonymous names).
"""

from __future__ import annotations

import csv
import logging
import math
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import api
from pipeline.audio import read_audio
from pipeline.constants import EMOTIONS
from pipeline.mos.builder import (
    Builder,
    BuildError,
    CommonTestOptions,
    SystemSpec,
    definition_fields,
    removed_on_failure,
    run_system,
    test_folder,
)
from pipeline.mos.definition import (
    EMOTION_LABELS,
    Stimulus,
    TestDefinition,
    save_definition,
)
from pipeline.registry import Registry

log = logging.getLogger(__name__)

MIN_ANNOTATORS = 3  #: listeners per clip an annotation test gives at least


@dataclass(frozen=True)
class LabelledClip:
    """An audio file with an optional known emotion (``None``: unknown)."""

    path: Path
    label: str | None = None
    item_id: str = ""

    @property
    def item(self) -> str:
        return self.item_id or self.path.stem


@dataclass
class EmotionTestOptions(CommonTestOptions):
    """Knobs of the emotion builders, beyond :class:`CommonTestOptions` (whose defaults for
    the question, session size and gold clips differ here)."""

    question: str = "emotion-id"  # emotion-id | emotion-sim | annotate
    items_per_session: int = 12
    gold: int = 2  # gold clips (known labels) in the test
    gold_per_session: int = 1
    ask_intensity: bool = False
    ask_certainty: bool = False
    labels: list[str] = field(default_factory=lambda: list(EMOTION_LABELS))


def _writer(root: str | Path, options: EmotionTestOptions) -> tuple[Path, Builder]:
    folder = test_folder(root, options.test_id)
    return folder, Builder(folder, options)


def _finish(
    folder: Path, builder: Builder, options: EmotionTestOptions, stimuli: list[Stimulus], notes: str
) -> TestDefinition:
    definition = TestDefinition(
        **definition_fields(options),
        stimuli=stimuli,
        gold_per_session=options.gold_per_session if any(s.kind == "gold" for s in stimuli) else 0,
        trap_per_session=0,
        labels=list(options.labels),
        ask_intensity=options.ask_intensity,
        ask_certainty=options.ask_certainty,
        notes=(
            f"{notes} Levels: every stimulus normalised to {options.level_dbov:g} dBov RMS "
            f"({builder.limited} clip(s) hit the peak limiter), {options.sample_rate} Hz."
        ),
    )
    save_definition(definition, folder)
    log.info("built %s test %s: %d stimuli", options.question, options.test_id, len(stimuli))
    return definition


def _stimulus(rel: str, **fields) -> Stimulus:
    return Stimulus(id="s" + Path(rel).stem, file=rel, **fields)


def _conversion_specs(
    sources: list[LabelledClip],
    systems: list[str],
    emotions: list[str],
    intensities: Iterable[float],
    options: EmotionTestOptions,
    references: dict[str, Path] | None,
) -> list[SystemSpec]:
    """Every (system, target emotion, intensity) spec, after checking the test's inputs."""
    if options.question not in ("emotion-id", "emotion-sim"):
        raise BuildError(
            f"conversion tests ask emotion-id or emotion-sim, not {options.question!r}"
        )
    if not sources or not systems or not emotions:
        raise BuildError("give source clips, systems and target emotions")
    bad = [e for e in emotions if e not in EMOTIONS]
    if bad:
        raise BuildError(f"unknown emotion(s) {', '.join(bad)} (choose from {', '.join(EMOTIONS)})")
    specs = [
        SystemSpec.parse(f"emotion:{name}:{e}:{i:g}")
        for name in systems
        for e in emotions
        for i in intensities
    ]
    paired = options.question == "emotion-sim"
    missing = [e for e in emotions if paired and e not in (references or {})]
    if missing:
        raise BuildError(f"emotion-sim needs a reference clip for {', '.join(missing)}")
    return specs


def _natural_stimuli(
    builder: Builder,
    natural: list[LabelledClip],
    options: EmotionTestOptions,
    ref_files: dict[str, str],
) -> list[Stimulus]:
    """Natural clips with known labels as controls (system ``natural``); in ``emotion-id``
    tests the first ``options.gold`` are gold clips (system ``gold``)."""
    paired = options.question == "emotion-sim"
    stimuli = []
    for n, clip in enumerate(natural):
        audio = read_audio(clip.path, max_seconds=None)
        rel = builder.write(audio.wave, audio.sample_rate)
        gold = n < options.gold and not paired
        stimuli.append(
            _stimulus(
                rel,
                system="gold" if gold else "natural",
                item_id=clip.item,
                condition="natural",
                truth=clip.label,
                gold_label=clip.label if gold else None,
                reference=ref_files.get(clip.label),
            )
        )
    return stimuli


@removed_on_failure
def build_conversion_test(
    root: str | Path,
    sources: list[LabelledClip],
    systems: list[str],
    emotions: list[str],
    options: EmotionTestOptions,
    *,
    intensities: Iterable[float] = (1.0,),
    controls: list[LabelledClip] = (),
    references: dict[str, Path] | None = None,
    registry: Registry | None = None,
    progress: Callable[[Iterable], Iterator] = iter,
) -> TestDefinition:
    """An ``emotion-id`` or ``emotion-sim`` test of emotion-conversion ``systems`` (names).

    Every source clip is converted by every system to every target emotion at every
    intensity. ``controls`` (natural clips whose ``label`` is known; sources with a known
    label are added after them) are stimuli of system ``natural``; the first
    ``options.gold`` of them become gold clips (system ``gold``). ``emotion-sim`` needs ``references``: emotion → natural clip
    expressing it, played as the reference of every stimulus with that (target) emotion.
    """
    specs = _conversion_specs(sources, systems, emotions, intensities, options, references)
    registry = registry or api.default_registry()
    folder, builder = _writer(root, options)
    ref_files = {}
    for emotion, path in (references or {}).items():
        audio = read_audio(path, max_seconds=None)
        ref_files[emotion] = builder.write(audio.wave, audio.sample_rate)
    stimuli: list[Stimulus] = []
    for clip in progress(list(sources)):
        audio = read_audio(clip.path, max_seconds=None)
        for spec in specs:
            out = run_system(spec, audio.wave, audio.sample_rate, None, registry)
            rel = builder.write(out, audio.sample_rate)
            stimuli.append(
                _stimulus(
                    rel,
                    system=f"emotion/{spec.name}",
                    item_id=clip.item,
                    condition=f"{spec.emotion}@{spec.intensity:g}",
                    truth=spec.emotion,
                    reference=ref_files.get(spec.emotion),
                )
            )
    natural = [c for c in [*controls, *sources] if c.label is not None]
    if options.question == "emotion-sim":
        natural = [c for c in natural if c.label in ref_files]
    stimuli += _natural_stimuli(builder, natural, options, ref_files)
    notes = (
        f"{len(sources)} source clip(s) x {len(systems)} system(s) x {len(emotions)} emotion(s) "
        f"x {len(list(intensities))} intensity(ies); {len(natural)} natural control(s)."
    )
    return _finish(folder, builder, options, stimuli, notes)


def read_labelled_clips(
    path: str | Path,
    *,
    data_root: str | Path,
    limit: int | None = None,
    seed: int = 0,
    sources: Iterable[str] = (),
) -> list[LabelledClip]:
    """Rows of a corpus manifest (``path`` + ``emotion``) as clips; ``limit`` picks at random.

    ``item_id`` is the manifest's ``path`` (so labels join back to the corpus); ``label`` its
    ``emotion`` column (rule-derived labels are hidden truth, never shown to listeners).
    """
    path = Path(path)
    if not path.is_file():
        raise BuildError(f"manifest not found: {path}")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or "path" not in rows[0]:
        raise BuildError(f"{path}: a manifest needs a 'path' column")
    wanted = set(sources)
    rows = [r for r in rows if not wanted or r.get("source") in wanted]
    if limit is not None and limit < len(rows):
        rows = random.Random(seed).sample(rows, limit)
    root = Path(data_root)
    return [
        LabelledClip(root / r["path"], r.get("emotion") or None, item_id=r["path"]) for r in rows
    ]


def needed_listeners(n_clips: int, votes: int, items_per_session: int) -> int:
    """Listeners who, with balanced assignment, give every clip ``votes`` answers (a
    session holds each clip at most once, so never fewer than ``votes``)."""
    per_session = max(1, min(items_per_session, n_clips))
    return math.ceil(n_clips * votes / per_session)


@removed_on_failure
def build_annotation_test(
    root: str | Path,
    clips: list[LabelledClip],
    options: EmotionTestOptions,
    *,
    gold: list[LabelledClip] = (),
    progress: Callable[[Iterable], Iterator] = iter,
) -> TestDefinition:
    """An ``annotate`` test over ``clips`` (their ``label`` kept as hidden truth).

    ``gold`` clips carry labels known to be right; the listener must pick them. k =
    ``options.votes_per_stimulus`` must be at least :data:`MIN_ANNOTATORS`.
    """
    if options.question != "annotate":
        raise BuildError("an annotation test asks the 'annotate' question")
    if options.votes_per_stimulus < MIN_ANNOTATORS:
        raise BuildError(f"annotation needs at least {MIN_ANNOTATORS} listeners per clip")
    if not clips:
        raise BuildError("no clips to annotate")
    if any(g.label is None for g in gold):
        raise BuildError("every gold clip needs a known label")
    folder, builder = _writer(root, options)
    stimuli: list[Stimulus] = []
    for clip, is_gold in progress([(c, False) for c in clips] + [(g, True) for g in gold]):
        audio = read_audio(clip.path, max_seconds=None)
        rel = builder.write(audio.wave, audio.sample_rate)
        stimuli.append(
            _stimulus(
                rel,
                system="gold" if is_gold else "corpus",
                item_id=clip.item,
                truth=clip.label if clip.label in options.labels else None,
                gold_label=clip.label if is_gold else None,
            )
        )
    need = needed_listeners(len(clips), options.votes_per_stimulus, options.items_per_session)
    notes = (
        f"{len(clips)} clip(s) to annotate, k = {options.votes_per_stimulus} listeners each "
        f"(about {need} session(s) of {min(options.items_per_session, len(clips))} clips); "
        f"{len(gold)} gold clip(s)."
    )
    return _finish(folder, builder, options, stimuli, notes)
