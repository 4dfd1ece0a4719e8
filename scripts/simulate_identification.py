"""Step 3 of ``scripts/simulate_listeners.py``: simulated listeners identify converted emotions.

dsp conversions + natural controls → ``emotion-id`` test → simulated crowd → the emotion
report, whose rates and Wilson intervals are compared with the simulation's own rates
(:data:`ASSUMED_RATES`: inputs of the simulation, not data), plus the intervals' coverage
over in-memory replications. Nothing here measures a real system.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.mos.emotion_builder import (  # noqa: E402
    EmotionTestOptions,
    LabelledClip,
    build_conversion_test,
    read_labelled_clips,
)
from pipeline.mos.emotion_report import write_emotion_report  # noqa: E402
from pipeline.mos.simulate import Crowd, confusion_matrix, listener_flow, run_crowd  # noqa: E402

#: honest identification chance the simulation assumes per (system, target) — inputs, not data
ASSUMED_RATES = {
    ("emotion/dsp", "angry"): 0.55,
    ("emotion/dsp", "happy"): 0.40,
    ("emotion/dsp", "sad"): 0.65,
    ("emotion/dsp", "surprise"): 0.30,
}


def build_identification_test(out: Path, manifest: Path, *, seed: int):
    """The ``emotion-id`` test: dsp conversions of 6 neutral clips to four emotions at two
    intensities, natural controls of every emotion and clear angry/sad gold clips."""
    corpus = read_labelled_clips(manifest, data_root=manifest.parent)
    by_emotion: dict[str, list[LabelledClip]] = {}
    for clip in corpus:
        by_emotion.setdefault(clip.label, []).append(clip)
    sources = by_emotion["neutral"][:6]
    emotions = ("neutral", "happy", "angry", "sad", "surprise")
    controls = [c for e in emotions for c in by_emotion[e][6:10]]
    gold = [c for e in ("angry", "sad") for c in by_emotion[e][10:12]]  # clear clips, known labels
    options = EmotionTestOptions(
        test_id="eid_sim",
        question="emotion-id",
        items_per_session=24,
        votes_per_stimulus=40,
        gold=len(gold),
        gold_per_session=2,
        ask_intensity=True,
        seed=seed,
    )
    return build_conversion_test(
        out,
        sources,
        ["dsp"],
        ["angry", "happy", "sad", "surprise"],
        options,
        intensities=(0.5, 1.0),
        controls=[*gold, *controls],
    )


def cell_rows(report, kinds: dict, crowd: Crowd) -> list[dict]:
    """Per (system, target) cell: the simulated rate, the rate expected among the listeners
    the report kept, the measured rate and whether its 95 % interval holds the expected one."""
    rows = []
    answers = report.answers[~report.answers["is_gold"]]
    for _, r in report.rates.iterrows():
        cell = answers[(answers["system"] == r["system"]) & (answers["truth"] == r["target"])]
        nominal = ASSUMED_RATES.get(
            (r["system"], r["target"]), crowd.confusion[r["target"]][r["target"]]
        )
        expected = np.mean(
            [
                1 / 6 if kinds[lid][0] else min(0.99, nominal * kinds[lid][1])
                for lid in cell["listener_id"]
            ]
        )
        rows.append(
            {
                "system": r["system"],
                "target": r["target"],
                "n": int(r["n"]),
                "simulated_rate": nominal,
                "expected_kept": round(float(expected), 4),
                "measured": round(float(r["rate"]), 4),
                "ci95": [round(float(r["ci95_low"]), 4), round(float(r["ci95_high"]), 4)],
                "expected_in_ci": bool(r["ci95_low"] <= expected <= r["ci95_high"]),
            }
        )
    return rows


def identification_run(
    out: Path, manifest: Path, *, listeners: int, spam: float, seed: int
) -> dict:
    """dsp conversions + natural controls; report rates vs the simulation's rates."""
    definition = build_identification_test(out, manifest, seed=seed)
    flow = listener_flow(out / definition.test_id)
    test = flow.test
    crowd = Crowd(confusion_matrix(0.75), spam_share=spam, rates=ASSUMED_RATES, seed=seed + 7)
    rng = np.random.default_rng(seed + 11)

    def intensity(stim) -> int:
        requested = float(stim.condition.partition("@")[2] or 0.75)
        return int(np.clip(round(1 + 4 * requested + rng.normal(0, 0.7)), 1, 5))

    kinds = run_crowd(flow, crowd, listeners, intensity=intensity)
    report = write_emotion_report(test.store.path, out / "eid_report")
    kept = set(report.answers["listener_id"])
    rows = cell_rows(report, kinds, crowd)
    spammers = {lid for lid, (s, _) in kinds.items() if s}
    coverage = replicate_coverage(test.definition, crowd, listeners, reps=100, seed=seed)
    return {
        "coverage_over_replications": coverage,
        "listeners": listeners,
        "spammers": len(spammers),
        "spammers_caught": f"{len(spammers - kept)}/{len(spammers)}",
        "honest_dropped": f"{len(set(kinds) - spammers - kept)}/{len(kinds) - len(spammers)}",
        "cells": rows,
        "intensity": report.intensity[["system", "target", "requested", "n", "mean_rated"]]
        .round(3)
        .to_dict("records"),
        "alpha": round(float(report.agreement.get("alpha", float("nan"))), 4),
        "stimuli": len(definition.stimuli),
    }


def replicate_coverage(definition, crowd: Crowd, listeners: int, *, reps: int, seed: int) -> dict:
    """Share of (replication, cell) pairs whose Wilson interval holds the kept-population rate.

    In memory (no store): each replication draws a new crowd; every listener answers a random
    session (``items_per_session`` regular stimuli + ``gold_per_session`` gold) with
    :meth:`Crowd.answer`; gold screening and :func:`identification_rates` as in the report.
    """
    from pipeline.mos.emotion_report import identification_rates
    from pipeline.mos.labels import screen_on_gold

    rng = np.random.default_rng(seed)
    regular = definition.regular()
    gold = [s for s in definition.stimuli if s.kind == "gold"]
    inside = total = 0
    widths = []
    for rep in range(reps):
        sim = Crowd(
            crowd.confusion, crowd.spam_share, crowd.gold_accuracy, crowd.rates, seed=1000 + rep
        )
        rows = []
        for n in range(listeners):
            spammer, skill = sim.new_listener()
            picked = [
                regular[i]
                for i in rng.choice(len(regular), definition.items_per_session, replace=False)
            ]
            picked += [
                gold[i] for i in rng.choice(len(gold), definition.gold_per_session, replace=False)
            ]
            for stim in picked:
                expected = 1 / 6 if spammer else min(0.99, sim.hit_chance(stim) * skill)
                rows.append(
                    {
                        "listener_id": f"L{n}",
                        "stimulus_id": stim.id,
                        "system": stim.system,
                        "truth": stim.truth,
                        "label": sim.answer(stim, spammer, skill),
                        "is_gold": stim.gold_label is not None,
                        "expected": expected,
                    }
                )
        frame = pd.DataFrame(rows)
        screening = screen_on_gold(frame)
        kept = frame[frame["listener_id"].isin(screening.loc[screening["passed"], "listener_id"])]
        rates = identification_rates(kept)
        truth = kept[~kept["is_gold"]].groupby(["system", "truth"])["expected"].mean()
        for _, r in rates.iterrows():
            total += 1
            inside += r["ci95_low"] <= truth[(r["system"], r["target"])] <= r["ci95_high"]
            widths.append((r["ci95_high"] - r["ci95_low"]) / 2)
    return {
        "replications": reps,
        "cells": total,
        "coverage": round(inside / total, 4),
        "mean_half_width": round(float(np.mean(widths)), 4),
    }
