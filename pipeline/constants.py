"""Names the whole studio shares, in one place (imports nothing).

* :data:`TASKS` — the two model families; ``checkpoints/<task>/<name>/`` and the registry use them.
* :data:`EMOTIONS` — the emotion set every corpus layout maps onto and every converter accepts.
* :data:`SAMPLE_RATE` — Hz: prepared corpora, training and the trained models all work at it
  (audio is resampled to it at the boundary, :mod:`pipeline.audio`).
"""

from __future__ import annotations

TASKS: tuple[str, ...] = ("enhance", "emotion")
EMOTIONS: tuple[str, ...] = ("neutral", "happy", "angry", "sad", "surprise")
SAMPLE_RATE = 16_000
