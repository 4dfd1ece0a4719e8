"""Enhancement and emotion report code on tiny fixtures made in tmp_path."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import write_csv, write_noisy_pair

from pipeline.constants import EMOTIONS
from pipeline.evaluate.emotion_tables import build_report, real_effects, summarize, system_means
from pipeline.evaluate.enhance_markdown import markdown_report
from pipeline.evaluate.enhance_report import evaluate_enhancement, load_test_set, write_outputs
from pipeline.registry import Registry
from pipeline.signals import synthetic_voice


@pytest.fixture
def tiny_test_set(tmp_path):
    """4 pairs: 2 voices x SNR 0 and 10 dB, white noise, the corpora helper's CSV layout."""
    folder = tmp_path / "enhance_test"
    rng = np.random.default_rng(0)
    rows = []
    for v, f0 in enumerate((120.0, 210.0)):
        clean = synthetic_voice(1.2, 16_000, f0_hz=f0, seed=v)
        for snr in (0.0, 10.0):
            pair = write_noisy_pair(folder, f"v{v}_snr{int(snr):02d}", clean, 16_000, snr, rng)
            rows.append({**pair, "speaker": f"v{v}", "noise_path": "white"})
    write_csv(folder / "pairs.csv", rows)
    return folder


def test_load_test_set_limits_per_snr(tiny_test_set):
    items = load_test_set(tiny_test_set)
    assert len(items) == 4 and items[0].clean.is_file() and items[0].noisy.is_file()
    assert [i.snr_db for i in load_test_set(tiny_test_set, per_snr=1)] == [0.0, 10.0]


def test_enhancement_report_noisy_and_dsp(tiny_test_set, tmp_path):
    items = load_test_set(tiny_test_set)
    registry = Registry(tmp_path / "no_checkpoints")
    evaluation = evaluate_enhancement(
        items, ["noisy", "dsp", "not-a-system"], registry=registry, dnsmos=None
    )
    per_file = evaluation.per_file
    assert len(per_file) == 8 and set(per_file["system"]) == {"noisy", "dsp"}
    assert per_file[["pesq_wb", "stoi", "estoi", "si_sdr"]].notna().all().all()
    noisy = per_file[per_file["system"] == "noisy"].set_index("item_id")
    # SI-SDR of the unprocessed mixture is its input SNR (white noise, long enough)
    assert noisy["si_sdr"].to_numpy() == pytest.approx(noisy["snr_db"].to_numpy(), abs=0.6)
    dsp = per_file[per_file["system"] == "dsp"].set_index("item_id")
    assert (dsp["si_sdr"] > noisy["si_sdr"]).mean() >= 0.5
    assert dsp["rtf"].gt(0).all() and noisy["rtf"].isna().all()
    summary = evaluation.summary
    assert set(summary["snr"]) == {"0", "10", "0-10", "all"}
    avg = summary[summary["snr"] == "0-10"].set_index("system")
    assert avg.loc["noisy", "n"] == 4
    assert avg.loc["noisy", "si_sdr"] == pytest.approx(noisy["si_sdr"].mean())
    res = evaluation.resources.set_index("system")
    assert list(res.index) == ["dsp"] and res.loc["dsp", "rtf"] > 0
    by_name = {t.name: t for t in evaluation.targets}
    assert not any(t.passed for t in evaluation.targets)  # no GAN here: nothing measured
    assert all(not t.measured for n, t in by_name.items() if "mask-gan" in n)
    text = markdown_report(evaluation)
    assert "| `dsp` |" in text and "Per input SNR" in text and "Targets" in text
    report = write_outputs(evaluation, tmp_path / "out")
    for name in ("per_file.csv", "summary.csv", "resources.csv", "targets.csv", "report.md"):
        assert (report.parent / name).is_file()


def test_enhance_cli_writes_outputs(tiny_test_set, tmp_path, capsys):
    from pipeline.evaluate.__main__ import main

    out = tmp_path / "cli_out"
    code = main(
        [
            "--checkpoints",
            str(tmp_path / "none"),
            "enhance",
            "--test-dir",
            str(tiny_test_set),
            "--systems",
            "noisy,dsp",
            "--no-dnsmos",
            "--per-snr",
            "1",
            "--out-dir",
            str(out),
        ]
    )
    assert code == 0
    assert len(pd.read_csv(out / "per_file.csv")) == 4
    assert "Target checks" in capsys.readouterr().out


def _emotion_rows() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic per-clip rows: `good` converts perfectly, `flat` changes nothing."""
    rows = []
    base = {"f0_mean_st": 10.0, "f0_range_st": 5.0, "energy_db": -25.0, "syllable_rate": 4.0}
    up = {"happy": 2.0, "angry": 1.0, "sad": -2.0, "surprise": 3.0, "neutral": 0.0}
    for clip in range(4):
        common = {
            "path": f"c{clip}.wav",
            "speaker": "s1",
            "duration_s": 2.0,
            "source_duration_s": 2.0,
        }
        rows.append(
            {
                "system": "source",
                "emotion": "-",
                "intensity": math.nan,
                "predicted": "neutral",
                "dnsmos_ovrl": 3.0,
                "speaker_sim": 1.0,
                "wer": 0.1,
                "transcript": "hello big world",
                **base,
                **common,
            }
        )
        for e in EMOTIONS:
            shifted = {**base, "f0_mean_st": base["f0_mean_st"] + up[e]}
            rows.append(
                {
                    "system": "good",
                    "emotion": e,
                    "intensity": 1.0,
                    "predicted": e,
                    "dnsmos_ovrl": 2.9,
                    "speaker_sim": 0.8,
                    "wer": 0.2,
                    "transcript": "hello big world",
                    **shifted,
                    **common,
                }
            )
            rows.append(
                {
                    "system": "dsp",
                    "emotion": e,
                    "intensity": 1.0,
                    "predicted": "neutral",
                    "dnsmos_ovrl": 2.0,
                    "speaker_sim": 0.7,
                    "wer": 0.3,
                    "transcript": "hello world",
                    **base,
                    **common,
                }
            )
    real = []
    for spk, offset in (("a", 0.0), ("b", 5.0)):
        for e in EMOTIONS:
            for k in range(3):
                real.append(
                    {
                        "path": f"{spk}{e}{k}",
                        "speaker": spk,
                        "emotion": e,
                        "f0_mean_st": 10 + offset + up[e] + (k - 1) * 0.5,
                        "f0_range_st": 5.0 + k,
                        "energy_db": -25.0 + k,
                        "syllable_rate": 4.0 + k,
                    }
                )
    return pd.DataFrame(rows), pd.DataFrame(real)


def test_emotion_tables_known_answers(tmp_path):
    rows, real = _emotion_rows()
    effects, sds = real_effects(real)
    assert effects.loc["happy", "f0_mean_st"] == pytest.approx(2.0 / sds["f0_mean_st"])
    assert effects.loc["neutral", "f0_mean_st"] == pytest.approx(0.0)
    summary = summarize(rows, sds)
    good = summary[summary["system"] == "good"].set_index("emotion")
    assert good.loc["sad", "accuracy"] == 1.0
    assert good.loc["sad", "shift_f0_mean_st"] == pytest.approx(effects.loc["sad", "f0_mean_st"])
    assert good.loc["angry", "ovrl_drop"] == pytest.approx(0.1)
    assert good.loc["angry", "wer_vs_source"] == 0.0
    dsp = summary[summary["system"] == "dsp"].set_index("emotion")
    assert dsp.loc["sad", "wer_vs_source"] == pytest.approx(1 / 3)  # one deleted word of three
    source = summary[summary["system"] == "source"].set_index("emotion")
    assert source.loc["neutral", "accuracy"] == 1.0 and source.loc["happy", "accuracy"] == 0.0
    means = system_means(summary).set_index("system")
    assert means.loc["dsp", "accuracy"] == 0.0 and means.loc[
        "good", "speaker_sim"
    ] == pytest.approx(0.8)
    text, targets = build_report(rows, real, classifier_dir=tmp_path, gan="good", n_sources=4)
    by_name = {t.name: t for t in targets}
    assert by_name["speaker similarity of good"].passed
    assert by_name["DNSMOS OVRL drop of good vs source"].passed
    assert by_name["emotion accuracy of good minus dsp"].value == pytest.approx(1.0)
    assert not by_name["speaker similarity of dsp (reference)"].passed
    assert "| happy | real |" in text
    # paired GAN-vs-dsp section: constant differences give a zero-width interval
    assert "### `good` minus `dsp`, paired" in text
    assert "| accuracy | +1.000 | [+1.000, +1.000] | 16 | 4 |" in text
    assert "| ovrl_drop | -0.900 | [-0.900, -0.900] | 16 | 4 |" in text


def test_paired_comparison_bootstraps_over_clips():
    from pipeline.evaluate.emotion_tables import paired_comparison

    rows, _ = _emotion_rows()
    rows.loc[(rows["system"] == "good") & (rows["path"] == "c0.wav"), "speaker_sim"] = 0.5
    table = paired_comparison(rows, gan="good", n_boot=500).set_index("measure")
    sim = table.loc["speaker_sim"]
    assert sim["difference"] == pytest.approx((3 * 0.1 + 1 * -0.2) / 4)
    assert sim["ci_low"] < sim["difference"] < sim["ci_high"]  # clip c0 differs: not a point
    assert sim["ci_low"] >= -0.2 - 1e-9 and sim["ci_high"] <= 0.1 + 1e-9
    assert paired_comparison(rows, gan="good", intensity=0.5).empty


def test_select_sources_round_robin_and_transcripts():
    from pipeline.evaluate.emotion_report import select_sources

    rows = []
    for spk, n in (("a", 5), ("b", 2)):
        for i in range(n):
            rows.append(
                {
                    "path": f"{spk}/{i}.wav",
                    "abs_path": f"/d/{spk}/{i}.wav",
                    "speaker": spk,
                    "language": "en",
                    "split": "test",
                    "emotion": "neutral",
                    "duration_s": 2.0,
                }
            )
    rows.append(
        {
            "path": "a/long.wav",
            "abs_path": "/d/a/long.wav",
            "speaker": "a",
            "language": "en",
            "split": "test",
            "emotion": "neutral",
            "duration_s": 30.0,
        }
    )
    rows.append(
        {
            "path": "c/0.wav",
            "abs_path": "/d/c/0.wav",
            "speaker": "c",
            "language": "en",
            "split": "train",
            "emotion": "neutral",
            "duration_s": 2.0,
        }
    )
    table = pd.DataFrame(rows)
    manifest = pd.DataFrame({"path": ["a/0.wav"], "text": ["hello world"]})
    chosen = select_sources(table, manifest, 5, seed=0)
    assert [c.speaker for c in chosen] == ["a", "b", "a", "b", "a"]
    assert all(c.path.name != "long.wav" and c.speaker != "c" for c in chosen)
    assert {c.text for c in chosen if c.path.name == "0.wav" and c.speaker == "a"} <= {
        "hello world"
    }
    assert select_sources(table, None, 2, seed=0) == select_sources(table, None, 2, seed=0)
    valid = table.assign(split=table["split"].replace({"train": "valid"}))
    assert [c.speaker for c in select_sources(valid, None, 5, seed=0, split="valid")] == ["c"]
    with pytest.raises(ValueError, match="split"):
        select_sources(table, None, 2, seed=0, split="train")


def test_breakdown_by_source_and_noise_kind():
    from pipeline.evaluate.enhance_markdown import breakdown_markdown

    rows = []
    for system, bonus in (("noisy", 0.0), ("gan", 0.5)):
        for source, kind, snr, pesq in (
            ("a", "babble", 0.0, 1.0),
            ("a", "recorded", 5.0, 2.0),
            ("b", "babble", 10.0, 3.0),
            ("b", "babble", 15.0, 9.0),  # outside 0-10 dB: ignored
        ):
            rows.append(
                {
                    "system": system,
                    "source": source,
                    "noise_kind": kind,
                    "snr_db": snr,
                    "pesq_wb": pesq + bonus,
                }
            )
    text = "\n".join(breakdown_markdown(pd.DataFrame(rows)))
    assert "| speech source | `noisy` | `gan` |" in text
    assert "| a (2) | 1.50 | 2.00 |" in text and "| b (1) | 3.00 | 3.50 |" in text
    assert "| babble (2) | 2.00 | 2.50 |" in text and "| recorded (1) | 2.00 | 2.50 |" in text


def test_equal_emotion_accuracy_meets_the_at_least_dsp_target():
    from pipeline.evaluate.emotion_tables import emotion_targets

    # per-target shares that differ but average to the same value (float sums differ by ~1e-17)
    per_target = {"gan": (0.29166666, 0.29166667, 0.0416667, 0.1666667)}
    per_target["dsp"] = (0.33333333, 0.25, 0.0416667, 0.1666667)
    means = pd.DataFrame(
        [
            {
                "system": s,
                "intensity": 1.0,
                "accuracy": float(np.mean(v)),
                "speaker_sim": 0.8,
                "ovrl_drop": 0.0,
            }
            for s, v in per_target.items()
        ]
    )
    by_name = {t.name: t for t in emotion_targets(means, gan="gan")}
    target = by_name["emotion accuracy of gan minus dsp"]
    assert target.op == ">=" and target.passed
    worse = means.assign(accuracy=means["accuracy"] - np.where(means["system"] == "gan", 0.01, 0))
    assert not {t.name: t for t in emotion_targets(worse, gan="gan")}[target.name].passed
