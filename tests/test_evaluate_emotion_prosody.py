"""The prosody-target tables of the emotion evaluation on hand-made rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.evaluate.emotion_prosody import markdown_table, monotonicity, profile_table


def _rows() -> pd.DataFrame:
    base = {"f0_mean_st": 10.0, "f0_std_st": 2.0, "energy_db": -25.0, "duration_s": 2.0}
    rows = [
        {"system": "source", "emotion": "-", "intensity": np.nan, "path": p, **base}
        for p in ("a", "b")
    ]
    moves = {"happy": (3.0, 0.5, 2.0), "sad": (-2.0, -0.5, -4.0)}
    for emotion, (f0, sd, en) in moves.items():
        for p, flip in (("a", 1.0), ("b", -1.0 if emotion == "sad" else 1.0)):
            rows.append(
                {
                    "system": "x",
                    "emotion": emotion,
                    "intensity": 1.0,
                    "path": p,
                    "f0_mean_st": 10.0 + flip * f0,
                    "f0_std_st": 2.0 + sd,
                    "energy_db": -25.0 + en,
                    "duration_s": 1.8,
                }
            )
    return pd.DataFrame(rows)


def test_profile_table_counts_the_direction_rule_per_clip() -> None:
    table = profile_table(_rows()).set_index("emotion")
    assert table.loc["happy", "direction_ok"] == 1.0
    # clip b's sad conversion raised F0: half of the sad clips break the rule
    assert table.loc["sad", "direction_ok"] == 0.5
    assert np.isclose(table.loc["happy", "d_f0_st"], 3.0)
    assert np.isclose(table.loc["happy", "rate"], 2.0 / 1.8)


def test_monotonicity_flags_a_non_monotone_sweep() -> None:
    rows = []
    for k, f0 in zip((0.0, 0.5, 1.0), (0.0, 2.0, 1.5), strict=True):
        rows.append(
            {
                "system": "x",
                "emotion": "happy",
                "intensity": k,
                "d_f0_st": f0,
                "d_energy_db": 3 * k,
                "rate": 1.08**k,
            }
        )
        rows.append(
            {
                "system": "x",
                "emotion": "sad",
                "intensity": k,
                "d_f0_st": -f0 * 0 - k,
                "d_energy_db": -5 * k,
                "rate": 0.85**k,
            }
        )
    mono = monotonicity(pd.DataFrame(rows)).set_index("emotion")
    assert not mono.loc["happy", "f0_monotone"] and mono.loc["happy", "energy_monotone"]
    assert mono.loc["sad", "f0_monotone"] and mono.loc["sad", "rate_monotone"]
    text = markdown_table(mono.reset_index())
    assert "**no**" in text and text.count("\n") == 3
