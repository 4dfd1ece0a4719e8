"""Emotion report: identification rates with Wilson intervals, chance, confusion, intensity by
request, similarity MOS, gold screening — checked against hand-computed values."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from pipeline.mos.__main__ import main
from pipeline.mos.emotion_report import analyse_emotion, is_emotion_frame, wilson
from pipeline.mos.storage import RatingStore, read_ratings


def answer(listener: str, stimulus: str, label: str, truth: str, **extra) -> dict:
    return {
        "test_id": "eid",
        "listener_id": listener,
        "stimulus_id": stimulus,
        "system": "emotion/dsp",
        "question": "emotion-id",
        "label": label,
        "truth": truth,
        "condition": f"{truth}@1",
        **extra,
    }


def identification_csv(path: Path) -> Path:
    store = RatingStore(path)
    # 10 listeners hear one angry conversion: 7 say angry, 2 happy, 1 other
    perceived = ["angry"] * 7 + ["happy"] * 2 + ["other"]
    for n, label in enumerate(perceived):
        store.append(answer(f"L{n}", "s_angry", label, "angry"))
        store.append(answer(f"L{n}", "g1", "sad", "sad", system="gold", is_gold=True))
    # intensity: requested 0.5 rated 2, 3, 4; requested 1.0 rated 4, 5, 5
    for n, (req, score) in enumerate([(0.5, 2), (0.5, 3), (0.5, 4), (1, 4), (1, 5), (1, 5)]):
        store.append(
            answer(f"L{n}", f"s_sad{req}", "sad", "sad", score=score, condition=f"sad@{req:g}")
        )
    # natural control heard by 4 listeners, all right
    for n in range(4):
        store.append(
            answer(f"L{n}", "nat", "neutral", "neutral", system="natural", condition="natural")
        )
    # a spammer who misses the gold clip is screened out with all answers
    store.append(answer("spam", "g1", "happy", "sad", system="gold", is_gold=True))
    store.append(answer("spam", "s_angry", "surprise", "angry"))
    return path


def test_identification_rates_confusion_and_screening(tmp_path: Path):
    frame = read_ratings(identification_csv(tmp_path / "r.csv"))
    assert is_emotion_frame(frame)
    report = analyse_emotion(frame)
    screening = report.listeners.set_index("listener_id")
    assert not screening.loc["spam", "passed"] and screening["passed"].sum() == 10
    rates = report.rates.set_index(["system", "target"])
    angry = rates.loc[("emotion/dsp", "angry")]
    assert (angry["n"], angry["correct"], angry["rate"]) == (10, 7, 0.7)
    # Wilson: (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), z = 1.959964
    z = 1.959964
    center = (0.7 + z * z / 20) / (1 + z * z / 10)
    half = z * math.sqrt(0.7 * 0.3 / 10 + z * z / 400) / (1 + z * z / 10)
    assert (angry["ci95_low"], angry["ci95_high"]) == pytest.approx(
        (center - half, center + half), abs=1e-5
    )
    assert (round(angry["ci95_low"], 4), round(angry["ci95_high"], 4)) == (0.3968, 0.8922)
    assert angry["chance"] == pytest.approx(1 / 6)
    tail = sum(math.comb(10, k) * (1 / 6) ** k * (5 / 6) ** (10 - k) for k in range(7, 11))
    assert angry["p_vs_chance"] == pytest.approx(tail, rel=1e-9)
    natural = rates.loc[("natural", "neutral")]
    assert (natural["n"], natural["rate"]) == (4, 1.0)
    assert "gold" not in set(report.rates["system"])
    counts = report.confusion.set_index(["system", "truth", "label"])["count"]
    assert counts[("emotion/dsp", "angry", "angry")] == 7
    assert counts[("emotion/dsp", "angry", "happy")] == 2
    assert counts[("emotion/dsp", "angry", "other")] == 1
    assert ("emotion/dsp", "angry", "surprise") not in counts  # the spammer's answer is gone


def test_intensity_by_requested_intensity(tmp_path: Path):
    report = analyse_emotion(read_ratings(identification_csv(tmp_path / "r.csv")))
    table = report.intensity.set_index("requested")
    assert table.loc[0.5, "mean_rated"] == pytest.approx(3.0)
    assert table.loc[1.0, "mean_rated"] == pytest.approx(14 / 3)
    # t interval of (2, 3, 4): 3 ± t(0.975, 2) * 1 / sqrt(3), t = 4.302653
    assert table.loc[0.5, "ci95_high"] == pytest.approx(3 + 4.302653 / math.sqrt(3), abs=1e-5)
    assert table["spearman_rho_system"].iloc[0] > 0.7


def test_similarity_mos_and_cli(tmp_path: Path):
    path = tmp_path / "sim.csv"
    store = RatingStore(path)
    scores = {"emotion/a": [5, 4, 4, 5, 3, 4], "emotion/b": [2, 3, 2, 1, 2, 3]}
    for system, values in scores.items():
        for n, score in enumerate(values):
            store.append(
                {
                    "listener_id": f"L{n}",
                    "stimulus_id": f"{system}-x",
                    "system": system,
                    "item_id": "u1",
                    "question": "emotion-sim",
                    "score": score,
                    "truth": "angry",
                    "play_count": 1,
                }
            )
    frame = read_ratings(path)
    assert (frame["label"] == "").all()  # similarity rows leave the label empty
    report = analyse_emotion(frame)
    mos = report.similarity.set_index("system")["mos"]
    assert mos["emotion/a"] == pytest.approx(25 / 6) and mos["emotion/b"] == pytest.approx(13 / 6)
    pair = report.similarity_pairwise.iloc[0]
    assert pair["test"] == "wilcoxon" and pair["n_pairs"] == 6
    assert main(["emotion-report", str(path), "--out-dir", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "confusion.png").is_file()
    written = pd.read_csv(tmp_path / "out" / "similarity.csv")
    assert list(written["n_ratings"]) == [6, 6]


def test_wilson_edges():
    assert wilson(0, 10)[0] == pytest.approx(0.0, abs=1e-12)
    assert all(math.isnan(v) for v in wilson(0, 0))


def test_latest_identification_for_the_about_tab(tmp_path: Path):
    from pipeline.mos.emotion_report import latest_identification

    identification_csv((tmp_path / "eid").mkdir() or tmp_path / "eid" / "ratings.csv")
    found = latest_identification(tmp_path)
    assert set(found) == {"dsp"}  # natural controls and gold are not systems
    # emotion/dsp: 7 of 10 angry + 6 of 6 sad answers name the intended emotion = 13 / 16
    assert "in 0.81 of 16 answers" in found["dsp"] and "`eid`" in found["dsp"]
    assert "10 listeners" in found["dsp"]
    assert latest_identification(tmp_path / "none") == {}
