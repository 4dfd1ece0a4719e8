"""Statistics against hand-computed values on small known tables."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from pipeline.mos import stats
from pipeline.mos.report import write_report
from pipeline.mos.storage import RatingStore, read_ratings

T_975_3 = 3.182446305284263  # Student t, 97.5 % quantile, 3 degrees of freedom (table value)

# (listener, item, system, score)
KNOWN = [
    ("L1", "i1", "A", 5),
    ("L1", "i2", "A", 4),
    ("L2", "i1", "A", 3),
    ("L2", "i2", "A", 2),
    ("L1", "i1", "B", 4),
    ("L1", "i2", "B", 2),
    ("L2", "i1", "B", 1),
    ("L2", "i2", "B", 1),
    ("L3", "i3", "C", 1),
    ("L3", "i4", "C", 2),
]


def store_rows(path: Path, rows, **defaults) -> pd.DataFrame:
    store = RatingStore(path)
    for listener, item, system, score, *rest in rows:
        extra = rest[0] if rest else {}
        store.append(
            {
                "listener_id": listener,
                "stimulus_id": f"{system}-{item}",
                "item_id": item,
                "system": system,
                "score": score,
                "play_count": 1,
                **defaults,
                **extra,
            }
        )
    return read_ratings(path)


@pytest.fixture
def known(tmp_path: Path) -> pd.DataFrame:
    return store_rows(tmp_path / "ratings.csv", KNOWN)


def test_summary_matches_hand_computation(known):
    summary = stats.summarize(known).set_index("system")
    a, b = summary.loc["A"], summary.loc["B"]
    # A: 5 4 3 2 -> mean 3.5, SS = 2.25+0.25+0.25+2.25 = 5, s = sqrt(5/3)
    s_a = math.sqrt(5 / 3)
    assert a["mos"] == pytest.approx(3.5)
    assert a["std"] == pytest.approx(s_a)
    assert a["ci95_low"] == pytest.approx(3.5 - T_975_3 * s_a / 2)
    assert a["ci95_high"] == pytest.approx(3.5 + T_975_3 * s_a / 2)
    assert (a["ci95_low"], a["ci95_high"]) == pytest.approx((1.44574, 5.55426), abs=1e-5)
    assert a["median"] == 3.5
    assert (a["n_listeners"], a["n_ratings"]) == (2, 4)
    # B: 4 2 1 1 -> mean 2, SS = 4+0+1+1 = 6, s = sqrt(2), median 1.5
    assert b["mos"] == pytest.approx(2.0)
    assert b["std"] == pytest.approx(math.sqrt(2))
    assert b["ci95_high"] == pytest.approx(2.0 + T_975_3 * math.sqrt(2) / 2)
    assert b["median"] == 1.5
    # C: two ratings 1, 2 -> mean 1.5, s = sqrt(0.5), t(0.975, 1) = 12.7062
    c = summary.loc["C"]
    assert c["ci95_high"] == pytest.approx(1.5 + 12.706204736 * math.sqrt(0.5) / math.sqrt(2))
    assert list(summary.index) == ["A", "B", "C"]  # best first


def test_single_rating_has_no_interval():
    mean, std, low, high = stats.mean_ci(np.array([4.0]))
    assert mean == 4.0 and math.isnan(std) and math.isnan(low) and math.isnan(high)


def test_holm_by_hand():
    # sorted 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> monotone 0.06
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    # 0.8*2 = 1.6 -> capped at 1; 0.9*1 = 0.9 -> monotone 1
    assert stats.holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])


def test_pairwise_tests_and_holm(known):
    table = stats.pairwise(known, min_pairs=4).set_index(["system_a", "system_b"])
    ab = table.loc[("A", "B")]
    # A and B were rated by the same listeners on the same items: Wilcoxon on 4 pairs
    assert ab["test"] == "wilcoxon" and ab["n_pairs"] == 4
    expected = sps.wilcoxon([5, 4, 3, 2], [4, 2, 1, 1])
    assert ab["statistic"] == pytest.approx(expected.statistic)
    assert ab["p"] == pytest.approx(expected.pvalue)
    # A vs C share no (listener, item): Mann-Whitney U. By hand: pairs with a > c count 1,
    # ties 1/2: c=1 -> 4, c=2 -> 3 + 0.5  =>  U = 7.5
    ac = table.loc[("A", "C")]
    assert ac["test"] == "mannwhitneyu" and ac["n_pairs"] == 0
    assert ac["statistic"] == pytest.approx(7.5)
    assert ac["p"] == pytest.approx(sps.mannwhitneyu([5, 4, 3, 2], [1, 2]).pvalue)
    assert table["p_holm"].to_numpy() == pytest.approx(stats.holm(table["p"].to_numpy()))
    # with the default (5 pairs minimum) the 4-pair comparison falls back to Mann-Whitney
    assert stats.pairwise(known).set_index(["system_a", "system_b"]).loc[("A", "B"), "test"] == (
        "mannwhitneyu"
    )


def test_screening_rules(tmp_path: Path):
    gold = {"is_gold": True, "expected": 1}
    trap = {"is_trap": True, "expected": 2}
    rows = [
        # L1 passes: gold within 1, varied ratings
        ("L1", "i1", "A", 5),
        ("L1", "i2", "A", 3),
        ("L1", "g", "gold", 2, gold),
        # L4 always answers 3: variance 0 < 0.1
        ("L4", "i1", "A", 3),
        ("L4", "i2", "A", 3),
        ("L4", "i3", "A", 3),
        # L5 misses the gold item by 2
        ("L5", "i1", "A", 4),
        ("L5", "i2", "A", 2),
        ("L5", "g", "gold", 3, gold),
        # L6 follows the trap's instruction, L7 does not
        ("L6", "i1", "A", 1),
        ("L6", "i2", "A", 2),
        ("L6", "t", "trap", 2, trap),
        ("L7", "i1", "A", 5),
        ("L7", "i2", "A", 1),
        ("L7", "t", "trap", 3, trap),
        # L8 rated a clip it never played
        ("L8", "i1", "A", 4),
        ("L8", "i2", "A", 2, {"play_count": 0}),
    ]
    frame = store_rows(tmp_path / "r.csv", rows)
    report = stats.screen_listeners(frame).set_index("listener_id")
    assert report["passed"].to_dict() == {
        "L1": True,
        "L4": False,
        "L5": False,
        "L6": True,
        "L7": False,
        "L8": False,
    }
    assert report.loc["L4", "reasons"] == "low variance"
    assert report.loc["L4", "variance"] == 0.0
    assert report.loc["L1", "variance"] == pytest.approx(1.0)  # population var of 5, 3
    assert report.loc["L5", "reasons"] == "gold"
    assert report.loc["L7", "reasons"] == "trap"
    assert report.loc["L8", "reasons"] == "not all clips played"
    kept = stats.apply_screening(frame, report.reset_index())
    assert set(kept["listener_id"]) == {"L1", "L6"}
    after = stats.summarize(kept).set_index("system")
    assert after.loc["A", "mos"] == pytest.approx((5 + 3 + 1 + 2) / 4)  # gold/trap excluded
    before = stats.summarize(frame).set_index("system")
    assert before.loc["A", "n_ratings"] == 13
    assert "gold" not in before.index and "trap" not in before.index


def test_per_item_table(known):
    table = stats.per_item(known).set_index("item_id")
    assert table.loc["i1", "A"] == pytest.approx((5 + 3) / 2)
    assert table.loc["i2", "B"] == pytest.approx((2 + 1) / 2)
    assert math.isnan(table.loc["i3", "A"])


def test_report_cli_writes_every_file(tmp_path: Path):
    store_rows(tmp_path / "ratings.csv", KNOWN)
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline.mos",
            "report",
            str(tmp_path / "ratings.csv"),
            "--out-dir",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 0, result.stderr
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == list(stats.SUMMARY_COLUMNS)
    assert summary.set_index("system").loc["A", "mos"] == pytest.approx(3.5)
    for name in (
        "summary_before_screening.csv",
        "listeners.csv",
        "pairwise.csv",
        "items.csv",
        "ratings_raw.csv",
        "ratings_screened.csv",
        "mos.png",
        "report.md",
    ):
        assert (out / name).stat().st_size > 0, name


def test_report_api_matches_cli_numbers(tmp_path: Path):
    store_rows(tmp_path / "ratings.csv", KNOWN)
    report = write_report(tmp_path / "ratings.csv", tmp_path / "o")
    assert report.summary.set_index("system").loc["B", "median"] == 1.5
    assert "ratings from 3 listeners" in report.markdown()


def test_csv_from_another_tool_without_play_counts(tmp_path: Path):
    path = tmp_path / "other.csv"
    path.write_text(
        "listener_id,stimulus_id,system,item_id,score\n"
        "a,s1,X,i1,4\na,s2,Y,i1,2\nb,s1,X,i1,5\nb,s2,Y,i1,1\n"
    )
    frame = read_ratings(path)
    listeners = stats.screen_listeners(frame)
    assert listeners["passed"].all()  # nothing logged about playback: not held against anyone
    assert stats.summarize(frame).set_index("system").loc["X", "mos"] == pytest.approx(4.5)
