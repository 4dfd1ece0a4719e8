"""Labelling rules, the phrase table, the corpus builder on a tiny fixture, and the committed table."""

import csv

import numpy as np
import pandas as pd
import pytest

from pipeline.audio import write_wav
from pipeline.constants import EMOTIONS
from pipeline.emotion import corpus
from pipeline.emotion.labelcheck import cohens_d, cohens_kappa
from pipeline.emotion.labels import (
    LABELS_CSV,
    CircumplexRules,
    TextValence,
    circumplex_label,
    has_surprise_marker,
    load_labels,
    load_phrase_labels,
    speaker_z,
)
from pipeline.signals import synthetic_voice

RULES = CircumplexRules()


@pytest.mark.parametrize(
    ("valence", "arousal", "marker", "expected"),
    [
        (0.6, 1.0, False, "happy"),
        (-0.6, 1.0, False, "angry"),
        (-0.6, -1.0, False, "sad"),
        (0.0, 0.0, False, "neutral"),
        (0.0, 1.0, True, "surprise"),
        (-0.6, 1.0, True, "surprise"),
        (0.0, -1.0, True, None),  # a marker without arousal is not surprise
        (0.6, -1.0, False, None),  # content: not one of the five
        (0.15, 1.0, False, None),  # valence inside the margin
        (-0.6, 0.0, False, None),  # arousal inside the margin
        (0.0, 1.0, False, None),  # aroused, flat valence, no marker
        (float("nan"), 1.0, False, None),
    ],
)
def test_circumplex_rule(valence, arousal, marker, expected):
    emotion, confidence, reason = circumplex_label(valence, arousal, marker, RULES)
    assert emotion == expected, reason
    assert (0.0 < confidence <= 1.0) if expected else confidence == 0.0


def test_confidence_grows_with_margin():
    _, near, _ = circumplex_label(0.31, 0.55, False, RULES)
    _, far, _ = circumplex_label(0.9, 2.0, False, RULES)
    assert near < far


@pytest.mark.parametrize(
    ("text", "marker"),
    [
        ("What?!", True),
        ("Oh! Look at that.", True),
        ("Wow, a sunken ship!", True),
        ("Really?", True),
        ("We have to move this steel pipe.", False),
        ("What do you think we should do.", False),
        ("", False),
    ],
)
def test_surprise_marker(text, marker):
    assert has_surprise_marker(text) is marker


def test_text_valence_signs():
    valence = TextValence()
    assert valence("This is wonderful, I love it!") > 0.3
    assert valence("I hate this terrible, stupid place.") < -0.3
    assert abs(valence("The pipe is on the left.")) < 0.05
    assert np.isnan(valence(""))


def test_phrase_table_is_complete_and_valid():
    table = load_phrase_labels()
    labelled = {p: lab for p, lab in table.items() if lab.emotion}
    assert {lab.emotion for lab in labelled.values()} == set(EMOTIONS)
    assert all(0.5 <= lab.confidence <= 1.0 and lab.reason for lab in labelled.values())
    for pain in ("Ow", "Ooff", "Ouch", "Jump", "PoisonMoan"):
        assert table[pain].emotion is None
    assert table["Illgetyou"].emotion == "angry" and table["Amazing"].emotion == "happy"


def test_phrase_table_rejects_unknown_emotion(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("phrase,emotion,confidence,reason\nYay,joyful,1.0,x\n")
    with pytest.raises(ValueError, match="unknown emotion"):
        load_phrase_labels(path)


def test_speaker_z_normalises_within_speaker_and_skips_small_speakers():
    frame = pd.DataFrame(
        {"speaker": ["a"] * 10 + ["b"] * 3, "x": list(range(10)) + [100.0, 200.0, 300.0]}
    )
    z = speaker_z(frame, ["x"], min_clips=8)
    a = z["x"][:10]
    assert abs(a.mean()) < 1e-9 and a.std() == pytest.approx(1.0)
    assert z["x"][10:].isna().all()


def test_effect_size_helpers():
    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 1.0, 4000), rng.normal(0.0, 1.0, 4000)
    assert cohens_d(a, b) == pytest.approx(1.0, abs=0.08)
    assert np.isnan(cohens_d([1.0], [2.0, 3.0]))
    assert cohens_kappa(["a", "b", "a"], ["a", "b", "a"]) == pytest.approx(1.0)
    assert cohens_kappa(["a", "b"] * 50, ["a"] * 50 + ["b"] * 50) == pytest.approx(0.0)


def _fixture_corpus(tmp_path):
    """A tiny manifest: one hedgewars pack, one fillets speaker with aroused/calm lines, asterisk."""
    rows = []

    def add(source, speaker, name, wave, dialog_id, text_en, split="train"):
        rel = f"speech/{source}/{speaker}/{name}.wav"
        write_wav(tmp_path / rel, wave, 16_000)
        rows.append(
            dict(
                path=rel,
                kind="speech",
                source=source,
                source_package="x",
                speaker=speaker,
                language="en",
                licence="GPL-2",
                duration_s=len(wave) / 16_000,
                dialog_id=dialog_id,
                text=text_en,
                text_en=text_en,
                category="",
                split=split,
                raw="",
            )
        )

    for i, phrase in enumerate(["Amazing", "Illgetyou", "Nooo", "Whatthe", "Hello", "Ow", "Jump"]):
        add(
            "hedgewars",
            "Pirate",
            phrase,
            synthetic_voice(0.8, f0_hz=120 + 10 * i, seed=i),
            phrase,
            phrase,
            "test",
        )
    calm, loud = "The pipe is on the left.", "This is wonderful, I love it!"
    # most lines calm (their arousal then sits near the speaker mean), a few aroused
    for i in range(16):
        wave = synthetic_voice(
            1.0, f0_hz=110 + i, level_dbfs=-30 + 0.1 * i, syllable_rate=3, seed=i
        )
        add("fillets-nl", "nl-v", f"calm{i}", wave, f"c{i}", calm)
    for i in range(2):
        wave = synthetic_voice(1.0, f0_hz=170 + i, level_dbfs=-15, syllable_rate=5, seed=i)
        add("fillets-nl", "nl-v", f"happy{i}", wave, f"h{i}", loud)
    for i in range(2):
        wave = synthetic_voice(1.0, f0_hz=175 + i, level_dbfs=-14, syllable_rate=5, seed=i)
        add("fillets-nl", "nl-v", f"angry{i}", wave, f"a{i}", "I hate this stupid, terrible fish!")
    add(
        "asterisk",
        "allison",
        "prompt",
        synthetic_voice(1.0, f0_hz=200),
        "vm-goodbye",
        "Goodbye",
        "test",
    )
    add("lincity", "lincity/Farm", "farm", synthetic_voice(0.5), "Farm", "")
    with open(tmp_path / "manifest.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_build_on_tiny_corpus(tmp_path):
    _fixture_corpus(tmp_path)
    labels_out, report = tmp_path / "labels.csv", tmp_path / "EMOTION_LABELS.md"
    decisions = corpus.build(tmp_path, labels_out=labels_out, report_out=report, jobs=1)
    table = load_labels(labels_out, data_dir=tmp_path)
    assert list(table.columns[: len(corpus.LABEL_COLUMNS)]) == list(corpus.LABEL_COLUMNS)
    by_path = dict(zip(table["path"], table["emotion"], strict=True))
    hw = "speech/hedgewars/Pirate/"
    assert by_path[hw + "Amazing.wav"] == "happy" and by_path[hw + "Illgetyou.wav"] == "angry"
    assert by_path[hw + "Nooo.wav"] == "sad" and by_path[hw + "Whatthe.wav"] == "surprise"
    assert hw + "Ow.wav" not in by_path and hw + "Jump.wav" not in by_path
    assert by_path["speech/asterisk/allison/prompt.wav"] == "neutral"
    assert not any("lincity" in p for p in by_path)
    fil = {p.rsplit("/", 1)[1]: e for p, e in by_path.items() if "fillets" in p}
    assert all(fil.get(f"happy{i}.wav") == "happy" for i in range(2))
    assert all(fil.get(f"angry{i}.wav") == "angry" for i in range(2))
    assert sum(fil.get(f"calm{i}.wav") == "neutral" for i in range(16)) >= 8
    assert set(decisions.loc[decisions["emotion"].isna(), "reason"])  # exclusions carry a reason
    assert all((tmp_path / p).is_file() for p in table["path"])
    text = report.read_text()
    assert "## Label distribution" in text and "Cohen" in text
    # second run reuses the acoustics cache and gives the same table
    corpus.build(tmp_path, labels_out=labels_out, report_out=None)
    pd.testing.assert_frame_equal(load_labels(labels_out), table.drop(columns="abs_path"))


def test_build_without_manifest_is_a_clear_error(tmp_path, capsys):
    assert corpus.main(["build", "--data-dir", str(tmp_path)]) == 1
    assert "no manifest" in capsys.readouterr().err


@pytest.mark.skipif(not LABELS_CSV.is_file(), reason="label table not built yet")
def test_committed_label_table_is_consistent():
    table = load_labels()
    assert set(corpus.LABEL_COLUMNS) <= set(table.columns)
    assert set(table["emotion"]) == set(EMOTIONS)
    assert table["path"].is_unique
    # splits are speaker-disjoint and every held-out split has several emotions
    assert (table.groupby("speaker")["split"].nunique() == 1).all()
    for split in ("valid", "test"):
        assert table.loc[table["split"] == split, "emotion"].nunique() >= 4
    assert table["confidence"].between(0, 1).all()
