"""A tiny listening test made of short synthetic tones: for tests, demos and the benchmark.

``make_test(root)`` writes ``root/<test_id>/`` with ``items x systems`` clips (each
``seconds`` long, 16 kHz), optional references, training, gold items and headphone check.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.audio import write_wav
from pipeline.mos.definition import (
    HeadphoneCheck,
    Stimulus,
    TestDefinition,
    TrainingClip,
    save_definition,
)

RATE = 16_000


def tone(seconds: float, freq: float, *, rate: int = RATE) -> np.ndarray:
    """A sine of ``freq`` Hz, amplitude 0.2: ``(round(seconds * rate),)`` float32."""
    t = np.arange(int(seconds * rate)) / rate
    return (0.2 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def make_test(
    root: Path,
    *,
    test_id: str = "demo",
    question: str = "acr",
    systems: tuple[str, ...] = ("sysA", "sysB"),
    items: int = 4,
    seconds: float = 0.5,
    items_per_session: int = 4,
    votes: int = 2,
    training: int = 1,
    headphone: bool = False,
    gold: int = 0,
    code: str = "DONE-1234",
) -> TestDefinition:
    """Write ``root/test_id`` with ``items x systems`` clips of ``seconds`` and a definition."""
    folder = root / test_id
    stimuli = []
    paired = question != "acr"
    for i in range(items):
        ref = f"stimuli/ref{i}.wav"
        if paired:
            write_wav(folder / ref, tone(seconds, 300 + 10 * i), RATE)
        for j, system in enumerate(systems):
            rel = f"stimuli/c{i}{j}.wav"
            write_wav(folder / rel, tone(seconds, 400 + 50 * j + 10 * i), RATE)
            stimuli.append(
                Stimulus(
                    id=f"s{i}{j}",
                    file=rel,
                    system=system,
                    item_id=f"item{i}",
                    reference=ref if paired else None,
                )
            )
    for g in range(gold):
        rel = f"stimuli/g{g}.wav"
        write_wav(folder / rel, tone(seconds, 900), RATE)
        stimuli.append(
            Stimulus(
                id=f"g{g}",
                file=rel,
                system="gold",
                item_id=f"item{g}",
                reference=f"stimuli/ref{g}.wav" if paired else None,
                gold=1 if question in ("acr", "dcr") else None,
            )
        )
    train = []
    for k in range(training):
        rel = f"stimuli/t{k}.wav"
        write_wav(folder / rel, tone(seconds, 500), RATE)
        train.append(
            TrainingClip(
                rel,
                5 if question in ("acr", "dcr", "smos") else 0,
                reference="stimuli/ref0.wav" if paired else None,
            )
        )
    check = None
    if headphone:
        write_wav(folder / "stimuli/check.wav", tone(seconds, 1000), RATE)
        check = HeadphoneCheck("stimuli/check.wav", 3)
    definition = TestDefinition(
        test_id=test_id,
        title=f"Test {test_id}",
        question=question,
        stimuli=stimuli,
        items_per_session=items_per_session,
        votes_per_stimulus=votes,
        gold_per_session=gold and 1,
        trap_per_session=0,
        completion_code=code,
        training=train,
        headphone_check=check,
    )
    save_definition(definition, folder)
    return definition
