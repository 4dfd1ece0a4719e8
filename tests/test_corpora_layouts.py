"""Loaders for user-brought corpora on tiny fixture trees made in tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from pipeline.corpora import CorpusError
from pipeline.corpora.emotion_labels import map_emotion
from pipeline.corpora.layouts import (
    load_crema_d,
    load_emotion_manifest,
    load_esd,
    load_paired_folder,
    load_ravdess,
    load_voicebank_demand,
)
from pipeline.corpora.paired import PairedEnhancementDataset


def _wav(path: Path, seconds: float = 0.5, sr: int = 16000, value: float = 0.1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(str(path), (value * np.sin(2 * np.pi * 200 * t)).astype(np.float32), sr)
    return path


def test_map_emotion() -> None:
    assert map_emotion("Calm") == "neutral"
    assert map_emotion("surprised") == "surprise"
    assert map_emotion("ANG") == "angry"
    assert map_emotion("fearful") is None and map_emotion("disgust") is None


# --------------------------------------------------------------------------- paired


def test_voicebank_demand(tmp_path: Path) -> None:
    for split, spk in (("trainset_28spk", "p226"), ("testset", "p232")):
        for k in (1, 2):
            _wav(tmp_path / f"clean_{split}_wav" / f"{spk}_00{k}.wav", sr=48000)
            _wav(tmp_path / f"noisy_{split}_wav" / f"{spk}_00{k}.wav", sr=48000, value=0.2)
    _wav(tmp_path / "clean_testset_wav" / "p232_009.wav", sr=48000)  # no noisy counterpart
    records = load_voicebank_demand(tmp_path)
    assert len(records) == 4
    assert {(r.speaker, r.split) for r in records} == {("p226", "train"), ("p232", "test")}
    assert all(r.clean.name == r.noisy.name for r in records)


def test_voicebank_demand_errors(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="not a VoiceBank-DEMAND folder"):
        load_voicebank_demand(tmp_path)
    _wav(tmp_path / "clean_trainset_wav" / "p1_001.wav")
    with pytest.raises(CorpusError, match="has no noisy_trainset_wav"):
        load_voicebank_demand(tmp_path)
    with pytest.raises(CorpusError, match="does not exist"):
        load_voicebank_demand(tmp_path / "missing")


def test_paired_folder_and_dataset(tmp_path: Path) -> None:
    _wav(tmp_path / "clean" / "a.wav", seconds=3.0, sr=48000)
    _wav(tmp_path / "noisy" / "a.wav", seconds=3.0, sr=48000, value=0.3)
    _wav(tmp_path / "clean" / "sub" / "b.wav", seconds=1.0)
    _wav(tmp_path / "noisy" / "sub" / "b.flac", seconds=1.0, value=0.3)
    _wav(tmp_path / "noisy" / "orphan.wav")
    records = load_paired_folder(tmp_path)
    assert sorted(r.utt_id for r in records) == ["a", "sub/b"]

    ds = PairedEnhancementDataset(records, segment_seconds=2.0, seed=1, items_per_epoch=4)
    assert len(ds) == 4
    for i in range(4):
        noisy, clean = ds[i]
        assert noisy.dtype == torch.float32 and noisy.shape == clean.shape == (32000,)
    assert torch.equal(ds[0][0], PairedEnhancementDataset(records, seed=1)[0][0])
    whole = PairedEnhancementDataset(records, segment_seconds=None)
    lengths = sorted(whole[i][1].shape[0] for i in range(2))
    assert lengths == [16000, 48000]  # 48 kHz input resampled to 16 kHz


def test_paired_folder_errors(tmp_path: Path) -> None:
    (tmp_path / "clean").mkdir()
    with pytest.raises(CorpusError, match="expected clean/ and noisy/"):
        load_paired_folder(tmp_path)
    (tmp_path / "noisy").mkdir()
    _wav(tmp_path / "clean" / "x.wav")
    _wav(tmp_path / "noisy" / "y.wav")
    with pytest.raises(CorpusError, match="no file name appears in both"):
        load_paired_folder(tmp_path)


# --------------------------------------------------------------------------- emotion


@pytest.mark.parametrize("with_split", [False, True])
def test_esd(tmp_path: Path, with_split: bool) -> None:
    for emo in ("Angry", "Happy", "Neutral", "Sad", "Surprise"):
        sub = tmp_path / "0011" / emo / ("train" if with_split else "")
        _wav(sub / f"0011_{emo}.wav")
    _wav(tmp_path / "0012" / "Fear" / "0012_000001.wav")
    (tmp_path / "0011" / "0011.txt").write_text(
        "0011_Angry\tHow are you?\tAngry\n", encoding="utf-8"
    )
    corpus = load_esd(tmp_path)
    assert corpus.counts() == {e: 1 for e in ("angry", "happy", "neutral", "sad", "surprise")}
    assert corpus.dropped == {"Fear": 1}
    angry = next(r for r in corpus if r.emotion == "angry")
    assert (angry.speaker, angry.text, angry.corpus) == ("0011", "How are you?", "esd")
    assert angry.split == ("train" if with_split else "")


def test_esd_error(tmp_path: Path) -> None:
    _wav(tmp_path / "loose.wav")
    with pytest.raises(CorpusError, match="not an ESD folder"):
        load_esd(tmp_path)


def test_ravdess(tmp_path: Path) -> None:
    names = {
        "03-01-01-01-01-01-01.wav": "neutral",
        "03-01-02-02-01-01-01.wav": "neutral",  # calm
        "03-01-05-02-02-01-12.wav": "angry",
        "03-01-08-01-01-02-12.wav": "surprise",
        "03-01-06-01-01-01-12.wav": None,  # fearful
        "03-01-07-01-01-01-12.wav": None,  # disgust
        "03-02-03-01-01-01-12.wav": None,  # song
    }
    for name in names:
        actor = name[-6:-4]
        _wav(tmp_path / f"Actor_{actor}" / name)
    _wav(tmp_path / "README.wav")
    corpus = load_ravdess(tmp_path)
    got = {r.path.name: r.emotion for r in corpus}
    assert got == {k: v for k, v in names.items() if v}
    assert corpus.dropped == {"disgust": 1, "fearful": 1, "song": 1}
    angry = next(r for r in corpus if r.emotion == "angry")
    assert angry.speaker == "Actor_12" and angry.intensity == "strong"
    assert angry.text == "Dogs are sitting by the door"
    assert next(r for r in corpus if r.path.name.startswith("03-01-02")).label == "calm"


def test_crema_d(tmp_path: Path) -> None:
    for name in ("1001_DFA_ANG_XX", "1001_IEO_HAP_HI", "1002_TIE_NEU_XX", "1002_DFA_FEA_XX"):
        _wav(tmp_path / "AudioWAV" / f"{name}.wav")
    corpus = load_crema_d(tmp_path)
    assert sorted((r.speaker, r.emotion) for r in corpus) == [
        ("1001", "angry"),
        ("1001", "happy"),
        ("1002", "neutral"),
    ]
    assert corpus.dropped == {"fear": 1}
    assert next(r for r in corpus if r.emotion == "angry").text == "Don't forget a jacket"


@pytest.mark.parametrize("loader", [load_ravdess, load_crema_d])
def test_filename_coded_layout_errors(tmp_path: Path, loader) -> None:
    _wav(tmp_path / "hello.wav")
    with pytest.raises(CorpusError, match="not a"):
        loader(tmp_path)


def test_emotion_manifest(tmp_path: Path) -> None:
    _wav(tmp_path / "a.wav")
    _wav(tmp_path / "b.wav")
    _wav(tmp_path / "c.wav")
    (tmp_path / "manifest.csv").write_text(
        "path,speaker,emotion,text\na.wav,s1,Happy,hi\nb.wav,s2,calm,\nc.wav,s2,disgust,\n",
        encoding="utf-8",
    )
    corpus = load_emotion_manifest(tmp_path)
    assert [(r.speaker, r.emotion, r.text) for r in corpus] == [
        ("s1", "happy", "hi"),
        ("s2", "neutral", ""),
    ]
    assert corpus.dropped == {"disgust": 1}


def test_emotion_manifest_errors(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no emotion manifest"):
        load_emotion_manifest(tmp_path / "manifest.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("file,speaker\nx.wav,s\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="missing column"):
        load_emotion_manifest(bad)
    missing = tmp_path / "missing.csv"
    missing.write_text("path,speaker,emotion\nnope.wav,s,happy\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="line 2: no such audio file"):
        load_emotion_manifest(missing)
