"""What a listening test is: question types, scales, stimuli, and the definition file.

A test lives in a folder ``ratings/<test_id>/`` holding ``definition.yaml`` (or ``.yml`` /
``.json``), its stimuli (paths in the definition are relative to the folder) and, once
listeners arrive, ``ratings.csv`` and ``sessions/``.

Scores are stored as numbers whose meaning depends on the question (see :data:`QUESTIONS`):

* ``acr``  — absolute category rating 1..5 (P.800 labels Excellent..Bad).
* ``dcr``  — degradation category rating 1..5 against a reference (P.800 DCR labels).
* ``ccr``  — comparison category rating −3..+3, *stored as the stimulus relative to its
  reference* whatever order the pair was played in (the UI randomises the order and
  corrects the sign).
* ``smos`` — emotion similarity to a reference clip, 1..5.
* ``ab``   — preference: +1 the stimulus, −1 its reference/competitor, 0 no preference
  (order randomised, sign corrected like ``ccr``).

Emotion kinds (the answer's category goes to the CSV's ``label`` column):

* ``emotion-id`` — the listener picks the emotion heard (:data:`EMOTION_LABELS`: the five
  emotions plus ``other`` = "other / can't tell"); ``score`` holds the optional intensity
  1..5 (``ask_intensity``), ``certainty`` the optional own confidence 1..5.
* ``annotate``   — the same form on the clips of a corpus manifest (k listeners per clip).
* ``emotion-sim`` — emotion similarity of the clip to a reference clip, 1..5 (``score``).

A stimulus's hidden ``truth`` is its intended emotion (converted clips) or known label
(natural controls); ``gold_label`` makes it a gold clip of a categorical test.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

DEFINITION_NAMES = ("definition.yaml", "definition.yml", "definition.json")
TEST_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class DefinitionError(ValueError):
    """An invalid or missing test definition (one-line message)."""


@dataclass(frozen=True)
class Question:
    """A question type: its scale (score → label key) and whether it needs a reference.

    ``categorical`` questions ask for a label (an emotion); their ``scores`` are the
    optional intensity scale.
    """

    key: str
    scores: tuple[int, ...]  # in the order the choices are shown
    paired: bool  # stimulus is played together with a reference
    randomise_order: bool  # pair order randomised per listener, sign corrected
    categorical: bool = False


QUESTIONS: dict[str, Question] = {
    "acr": Question("acr", (5, 4, 3, 2, 1), paired=False, randomise_order=False),
    "dcr": Question("dcr", (5, 4, 3, 2, 1), paired=True, randomise_order=False),
    "ccr": Question("ccr", (3, 2, 1, 0, -1, -2, -3), paired=True, randomise_order=True),
    "smos": Question("smos", (5, 4, 3, 2, 1), paired=True, randomise_order=False),
    "ab": Question("ab", (-1, 0, 1), paired=True, randomise_order=True),
    "emotion-id": Question(
        "emotion-id", (5, 4, 3, 2, 1), paired=False, randomise_order=False, categorical=True
    ),
    "annotate": Question(
        "annotate", (5, 4, 3, 2, 1), paired=False, randomise_order=False, categorical=True
    ),
    "emotion-sim": Question("emotion-sim", (5, 4, 3, 2, 1), paired=True, randomise_order=False),
}
#: the emotion kinds (built by pipeline.mos.emotion_builder, not by the MOS builder)
EMOTION_QUESTIONS: tuple[str, ...] = ("emotion-id", "annotate", "emotion-sim")
#: answers of the categorical questions: the five emotions, then "other / can't tell"
EMOTION_LABELS: tuple[str, ...] = ("neutral", "happy", "angry", "sad", "surprise", "other")


@dataclass
class Stimulus:
    """One clip to rate.

    Attributes:
        id: anonymous id shown nowhere but stored in the CSV (e.g. ``s3f9a1c2d``).
        file: path relative to the test folder.
        system: the system that produced it (never shown to listeners).
        item_id: the utterance / input clip it came from.
        condition: free label (e.g. ``snr5``, ``angry@0.8``).
        reference: path of the reference clip for paired questions.
        gold: expected score of a gold item (screening: within ±1), else None.
        trap: score a trap item instructs the listener to give, else None.
        truth: hidden intended emotion (converted clip) or known label (natural control).
        gold_label: the label a listener must pick on a gold clip of a categorical test.
    """

    id: str
    file: str
    system: str
    item_id: str
    condition: str = ""
    reference: str | None = None
    gold: float | None = None
    trap: float | None = None
    truth: str | None = None
    gold_label: str | None = None

    @property
    def kind(self) -> str:
        if self.gold is not None or self.gold_label is not None:
            return "gold"
        return "trap" if self.trap is not None else "test"


@dataclass
class TrainingClip:
    """An anchor played during training; ``expected`` is shown after the listener answers."""

    file: str
    expected: float
    reference: str | None = None
    note: str = ""


@dataclass
class HeadphoneCheck:
    """A clip whose correct answer (e.g. the number of beeps) proves the listener hears it."""

    file: str
    answer: int
    choices: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5, 6])


@dataclass
class TestDefinition:
    """Everything a listening test needs; serialised as YAML/JSON next to its stimuli."""

    __test__ = False  # not a pytest test class despite the name

    test_id: str
    title: str
    question: str
    stimuli: list[Stimulus]
    instructions: str = ""
    attribute: str = "quality"  # what ACR asks about: "quality" | "naturalness" | ...
    scale: dict[int, str] = field(default_factory=dict)  # optional custom labels
    items_per_session: int = 10
    votes_per_stimulus: int = 8
    gold_per_session: int = 1
    trap_per_session: int = 1
    completion_code: str = ""
    training: list[TrainingClip] = field(default_factory=list)
    headphone_check: HeadphoneCheck | None = None
    session_timeout_minutes: float = 15.0  # idle time after which a session frees its clips
    crowd_mode: bool = True  # a link naming this test shows only the test (no studio tabs)
    link_secret: str = ""  # when set, listener links must carry key=listener_key(...)
    sample_rate: int | None = None
    level_dbov: float | None = None
    language: str = "en"
    trap_text: bool = True  # show trap items' requested answer as text on the page
    notes: str = ""
    labels: list[str] = field(default_factory=lambda: list(EMOTION_LABELS))
    ask_intensity: bool = False  # categorical questions: also ask intensity 1..5 (score)
    ask_certainty: bool = False  # categorical questions: also ask the listener's confidence

    @property
    def spec(self) -> Question:
        return QUESTIONS[self.question]

    @property
    def display_title(self) -> str:
        """The title listeners see: ``title``, or a readable form of the test id."""
        title = self.title.strip()
        return title if title and title != self.test_id else readable_title(self.test_id)

    def regular(self) -> list[Stimulus]:
        return [s for s in self.stimuli if s.kind == "test"]

    def by_id(self) -> dict[str, Stimulus]:
        return {s.id: s for s in self.stimuli}

    def validate(self, folder: Path | None = None) -> None:
        """Raise :class:`DefinitionError` on the first inconsistency found."""
        if not TEST_ID_RE.match(self.test_id):
            raise DefinitionError(f"invalid test_id {self.test_id!r} (letters, digits, _ . -)")
        if self.question not in QUESTIONS:
            raise DefinitionError(
                f"unknown question {self.question!r} (choose from {', '.join(QUESTIONS)})"
            )
        if not self.stimuli:
            raise DefinitionError("the test has no stimuli")
        if self.items_per_session < 1 or self.votes_per_stimulus < 1:
            raise DefinitionError("items_per_session and votes_per_stimulus must be >= 1")
        ids = [s.id for s in self.stimuli]
        if len(set(ids)) != len(ids):
            raise DefinitionError("stimulus ids must be unique")
        allowed = set(self.spec.scores)
        if self.spec.categorical and len(set(self.labels)) < 2:
            raise DefinitionError("a categorical test needs at least two labels")
        for s in self.stimuli:
            for name, label in (("truth", s.truth), ("gold_label", s.gold_label)):
                if label is not None and label not in self.labels:
                    raise DefinitionError(f"stimulus {s.id}: {name} {label!r} is not a label")
            if s.gold_label is not None and not self.spec.categorical:
                raise DefinitionError(f"stimulus {s.id}: gold_label needs a categorical question")
            if self.spec.paired and not s.reference:
                raise DefinitionError(
                    f"stimulus {s.id}: question {self.question} needs a reference"
                )
            for name, value in (("gold", s.gold), ("trap", s.trap)):
                if value is not None and value not in allowed:
                    raise DefinitionError(f"stimulus {s.id}: {name} {value} is not on the scale")
        if self.scale and set(self.scale) != allowed:
            raise DefinitionError(f"scale must label exactly the scores {sorted(allowed)}")
        if folder is not None:
            for path in self.files():
                if not (folder / path).is_file():
                    raise DefinitionError(f"missing stimulus file {path}")

    def files(self) -> list[str]:
        out = []
        for s in self.stimuli:
            out += [s.file] + ([s.reference] if s.reference else [])
        for t in self.training:
            out += [t.file] + ([t.reference] if t.reference else [])
        if self.headphone_check:
            out.append(self.headphone_check.file)
        return sorted(set(out))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["scale"] = {int(k): v for k, v in self.scale.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, default_id: str | None = None) -> TestDefinition:
        if not isinstance(data, dict):
            raise DefinitionError("a definition must be a mapping")
        data = dict(data)
        data.setdefault("test_id", default_id)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise DefinitionError(f"unknown definition fields: {', '.join(sorted(unknown))}")
        try:
            data["stimuli"] = [Stimulus(**_clean(s)) for s in data.get("stimuli") or []]
            data["training"] = [TrainingClip(**t) for t in data.get("training") or []]
            if data.get("headphone_check"):
                data["headphone_check"] = HeadphoneCheck(**data["headphone_check"])
            data["scale"] = {int(k): str(v) for k, v in (data.get("scale") or {}).items()}
            definition = cls(**data)
        except TypeError as err:
            raise DefinitionError(f"bad definition: {err}") from None
        definition.test_id = str(definition.test_id)
        definition.question = str(definition.question).lower()
        return definition


#: id fragments spelled out in titles made from a test id
_ID_WORDS = {
    "enh": "enhancement",
    "enhance": "enhancement",
    "emo": "emotion",
    "conv": "conversion",
    "vc": "voice conversion",
    "mos": "MOS",
    "acr": "quality",
    "ccr": "comparison",
    "ab": "preference",
    "smos": "emotion similarity",
    "eid": "emotion identification",
    "esim": "emotion similarity",
    "annot": "annotation",
    "annotate": "annotation",
}


def readable_title(test_id: str) -> str:
    """A title made from a test id: ``"enh1"`` → ``"Enhancement listening test 1"``."""
    words = [w.lower() for w in re.findall(r"[A-Za-z]+|[0-9]+", test_id)]
    numbers = [w for w in words if w.isdigit()]
    names = [_ID_WORDS.get(w, w) for w in words if not w.isdigit()]
    if "test" not in names:
        names += ["listening", "test"]
    text = " ".join([*names, *numbers]) or "listening test"
    return text[0].upper() + text[1:]


def _clean(stimulus: dict[str, Any]) -> dict[str, Any]:
    s = dict(stimulus)
    s["id"] = str(s.get("id") or Path(str(s.get("file", ""))).stem)
    s["item_id"] = str(s.get("item_id", ""))
    return s


def definition_path(folder: str | Path) -> Path | None:
    """The definition file inside ``folder``, or None."""
    for name in DEFINITION_NAMES:
        path = Path(folder) / name
        if path.is_file():
            return path
    return None


def load_definition(folder: str | Path) -> TestDefinition:
    """Read and validate ``folder``'s definition (stimulus files must exist)."""
    folder = Path(folder)
    path = definition_path(folder)
    if path is None:
        raise DefinitionError(f"no definition.yaml or definition.json in {folder}")
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, json.JSONDecodeError, yaml.YAMLError) as err:
        raise DefinitionError(f"cannot read {path.name}: {str(err).splitlines()[0]}") from None
    definition = TestDefinition.from_dict(data, default_id=folder.name)
    definition.validate(folder)
    return definition


def save_definition(definition: TestDefinition, folder: str | Path, *, fmt: str = "yaml") -> Path:
    """Validate and write ``definition.yaml`` (or ``.json``) atomically into ``folder``."""
    folder = Path(folder)
    definition.validate(folder)
    path = folder / ("definition.json" if fmt == "json" else "definition.yaml")
    data = definition.to_dict()
    text = (
        json.dumps(data, indent=2, ensure_ascii=False)
        if fmt == "json"
        else yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    )
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def list_tests(root: str | Path) -> list[str]:
    """Test ids (folder names) under ``root`` that hold a definition file, sorted."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and definition_path(p))
