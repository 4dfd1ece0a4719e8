"""Every name → class lookup of the studio, in one place.

Each value is a ``"module:Class"`` path, imported by :func:`resolve` on first use, so the web
app does not import model families (and their scipy / pyworld stacks) nobody has asked for:
that keeps start-up lean (importing them all up front costs about 2.4 s of CPU). Every path
here is checked by ``tests/test_layering.py::test_catalog_paths_resolve``.

* :data:`ARCHITECTURES` — a checkpoint's ``arch`` → its model class (:mod:`pipeline.checkpoint`);
* :data:`BUILTIN_SYSTEMS` — task → system name → class of systems built in code
  (:mod:`pipeline.registry`, built as ``cls()``);
* :data:`CHECKPOINT_SYSTEMS` — task → class wrapping a ``checkpoints/<task>/<name>/`` folder
  (:mod:`pipeline.registry`, built as ``cls(folder, card=...)``);
* :data:`TRAINERS` — ``python -m pipeline.train <task>`` → its
  :class:`pipeline.training.TrainTask` class (:mod:`pipeline.train`).
"""

from __future__ import annotations

import importlib

ARCHITECTURES: dict[str, str] = {
    "enhance.mask_gan": "pipeline.enhance.model:MaskGenerator",
    "emotion.stargan": "pipeline.emotion.model:EmotionGenerator",
    "emotion.classifier": "pipeline.emotion.classifier:EmotionJudge",
}
BUILTIN_SYSTEMS: dict[str, dict[str, str]] = {
    "enhance": {
        "dsp": "pipeline.enhance.dsp:SpectralGateEnhancer",
        "deepfilternet3": "pipeline.enhance.peers:DeepFilterNet3",
    },
    "emotion": {"dsp": "pipeline.emotion.dsp:ProsodyRuleConverter"},
}
CHECKPOINT_SYSTEMS: dict[str, str] = {
    "enhance": "pipeline.enhance.system:GanEnhancer",
    "emotion": "pipeline.emotion.system:GanConverter",
}
TRAINERS: dict[str, str] = {
    "enhance": "pipeline.enhance.trainer:EnhanceTask",
    "emotion": "pipeline.emotion.trainer:EmotionTask",
}


def resolve(path: str) -> type:
    """The class named by a ``"module:Class"`` path of this catalog (imported now)."""
    module_name, class_name = path.split(":")
    return getattr(importlib.import_module(module_name), class_name)
