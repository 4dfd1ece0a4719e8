"""On-the-fly noisy mixtures and the fixed test set, on a tiny synthetic manifest."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from torch.utils.data import DataLoader

from pipeline.audio import write_wav
from pipeline.corpora.mixing import MixConfig, NoisyMixtureDataset, build_test_set
from pipeline.corpora.prepare import MANIFEST_COLUMNS, write_csv
from pipeline.signals import coloured_noise, mix_at_snr

SR = 16000


def _snr(clean: np.ndarray, noisy: np.ndarray, mask: np.ndarray | None = None) -> float:
    clean = clean.astype(np.float64)
    noise = noisy.astype(np.float64) - clean
    active = clean if mask is None else clean[mask]
    return 10 * np.log10(np.mean(active**2) / np.mean(noise**2))


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 speakers per split (clips of 1-4 s) and 2 noise recordings per split."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    rows = []
    for split in ("train", "valid", "test"):
        for s in range(4):
            speaker = f"{split}-spk{s}"
            for k in range(3):
                seconds = (1.0, 2.5, 4.0)[k]
                t = np.arange(int(seconds * SR)) / SR
                f0 = 100 + 40 * s
                wave = 0.2 * np.sin(2 * np.pi * f0 * t) * (1.1 + np.sin(2 * np.pi * 2 * t))
                path = f"speech/fake/{speaker}/{k}.wav"
                write_wav(root / path, wave.astype(np.float32), SR)
                rows.append(_row(path, "speech", speaker, seconds, split, "dialogue"))
        for n, category in enumerate(("ambience", "music")):
            seconds = 0.7 if n == 0 else 3.0  # a short one gets looped
            path = f"noise/fake/{split}{n}.wav"
            write_wav(root / path, 0.1 * rng.standard_normal(int(seconds * SR)), SR)
            rows.append(_row(path, "noise", f"fake/{split}{n}", seconds, split, category))
    return write_csv(root / "manifest.csv", rows, MANIFEST_COLUMNS)


def _row(path, kind, speaker, seconds, split, category) -> dict:
    return {
        "path": path,
        "kind": kind,
        "source": "fake",
        "source_package": "fake-data",
        "speaker": speaker,
        "language": "en" if kind == "speech" else "",
        "licence": "CC0",
        "duration_s": seconds,
        "dialog_id": Path(path).stem,
        "text": "",
        "text_en": "hello" if kind == "speech" else "",
        "category": category,
        "split": split,
        "raw": path,
    }


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 7.5, 20.0])
def test_mix_at_snr_exact(snr_db: float) -> None:
    rng = np.random.default_rng(1)
    clean = (0.3 * np.sin(np.arange(SR) * 0.05)).astype(np.float32)
    noise = coloured_noise("pink", SR, rng)
    noisy, out_clean = mix_at_snr(clean, noise, snr_db, level_dbfs=-20.0)
    assert abs(_snr(out_clean, noisy) - snr_db) < 0.01
    assert np.max(np.abs(noisy)) <= 0.99 + 1e-6


def test_dataset_snr_shapes_and_determinism(manifest: Path) -> None:
    config = MixConfig(segment_seconds=2.0)
    ds = NoisyMixtureDataset(manifest, split="train", config=config, seed=5, items_per_epoch=40)
    assert len(ds) == 40
    for i in range(40):
        item = ds.draw(i)
        assert item["noisy"].shape == item["clean"].shape == (2 * SR,)
        assert item["noisy"].dtype == np.float32
        measured = _snr(item["clean"], item["noisy"], item["speech_mask"])
        assert abs(measured - item["snr_db"]) < 0.5, (i, item["noise_kind"])
        assert -5.0 <= item["snr_db"] <= 20.0 + config.music_snr_offset_db
        assert item["speaker"].startswith("train-")
    noisy, clean = ds[3]
    assert isinstance(noisy, torch.Tensor) and noisy.dtype == torch.float32
    assert noisy.shape == clean.shape == (2 * SR,)
    same = NoisyMixtureDataset(manifest, split="train", config=config, seed=5)
    assert torch.equal(same[3][0], noisy) and torch.equal(same[3][1], clean)
    other = NoisyMixtureDataset(manifest, split="train", config=config, seed=6)
    assert not torch.equal(other[3][0], noisy)
    same.set_epoch(1)
    assert not torch.equal(same[3][0], noisy)
    kinds = {ds.draw(i)["noise_kind"] for i in range(40)}
    assert kinds == {"recorded", "synthetic", "babble"}


def test_dataloader_workers_do_not_change_items(manifest: Path) -> None:
    ds = NoisyMixtureDataset(manifest, split="valid", seed=2, items_per_epoch=6)
    single = [b[0] for b in DataLoader(ds, batch_size=2, num_workers=0)]
    multi = [b[0] for b in DataLoader(ds, batch_size=2, num_workers=2)]
    assert all(torch.equal(a, b) for a, b in zip(single, multi, strict=True))


def test_coloured_noise_slopes() -> None:
    rng = np.random.default_rng(0)
    for colour, expected in (("white", 0.0), ("pink", -10.0), ("brown", -20.0)):
        x = coloured_noise(colour, 2**16, rng)
        spec = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(len(x), 1 / SR)
        lo = spec[(f > 100) & (f < 200)].mean()
        hi = spec[(f > 1000) & (f < 2000)].mean()
        slope = 10 * np.log10(hi / lo)  # dB per decade
        assert abs(slope - expected) < 2.0, (colour, slope)


def test_build_test_set(manifest: Path, tmp_path: Path) -> None:
    out = tmp_path / "enhance_test"
    csv_path = build_test_set(
        manifest, out, split="test", snrs=(0.0, 10.0), per_snr=2, seed=0, min_seconds=2.0
    )
    with csv_path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4
    assert sorted(float(r["snr_db"]) for r in rows) == [0.0, 0.0, 10.0, 10.0]
    for r in rows:
        assert r["speaker"].startswith("test-")
        assert r["noise_path"] == "" or "test" in r["noise_path"]
        assert "test1" not in r["noise_path"]  # music is excluded from the fixed set
        clean, sr = sf.read(str(out / r["clean_path"]))
        noisy, _ = sf.read(str(out / r["noisy_path"]))
        assert sr == SR and clean.shape == noisy.shape
        assert 2.0 <= len(clean) / SR <= 6.0
        assert abs(_snr(clean, noisy) - float(r["snr_db"])) < 0.5
    again = build_test_set(
        manifest, tmp_path / "again", split="test", snrs=(0.0, 10.0), per_snr=2, seed=0
    )
    assert again.read_text() == csv_path.read_text()


def test_quality_screen_keeps_clean_speakers_and_the_test_split(manifest: Path, tmp_path: Path):
    """A fake scorer rates the low-pitched fake speakers (spk0, spk1) clean: the screened
    manifest drops the others from train and valid, keeps every test row, re-roots an extra
    manifest's rows, and builds validation pairs from kept speakers only."""
    from pipeline.corpora.prepare import read_manifest
    from pipeline.corpora.quality import QualityConfig, screen

    def fake_dnsmos(wave: np.ndarray, sr: int) -> dict:
        f0 = np.count_nonzero(np.diff(np.signbit(wave))) / 2 / (len(wave) / sr)
        good = f0 < 160.0
        return {"sig": 3.0, "bak": 4.0 if good else 2.0, "ovrl": 3.0 if good else 2.0}

    extra_root = tmp_path / "extra"
    wave = (0.2 * np.sin(2 * np.pi * 110 * np.arange(SR) / SR)).astype(np.float32)
    write_wav(extra_root / "speech/x/w.wav", wave, SR)
    extra = write_csv(
        extra_root / "manifest.csv",
        [_row("speech/x/w.wav", "speech", "extra-spk", 1.0, "train", "word")],
        MANIFEST_COLUMNS,
    )
    out = manifest.parent / "manifest_clean.csv"
    verdicts = screen(
        manifest,
        out,
        QualityConfig(clips_per_speaker=2),
        extras=[extra],
        valid_dir=tmp_path / "valid_clean",
        score=fake_dnsmos,
    )
    kept = set(verdicts.loc[verdicts["keep"], "speaker"])
    assert kept == {"train-spk0", "train-spk1", "valid-spk0", "valid-spk1", "extra-spk"}
    assert set(verdicts["clips_scored"]) == {1, 2}
    rows = read_manifest(out)
    speech = {(r["split"], r["speaker"]) for r in rows if r["kind"] == "speech"}
    assert {s for split, s in speech if split == "train"} == {
        "train-spk0",
        "train-spk1",
        "extra-spk",
    }
    assert {s for split, s in speech if split == "test"} == {f"test-spk{i}" for i in range(4)}
    assert sum(r["kind"] == "noise" for r in rows) == 6
    extra_row = next(r for r in rows if r["speaker"] == "extra-spk")
    assert (manifest.parent / extra_row["path"]).resolve() == (
        extra_root / "speech/x/w.wav"
    ).resolve()
    with (tmp_path / "valid_clean" / "pairs.csv").open(newline="") as handle:
        pairs = list(csv.DictReader(handle))
    assert pairs and {p["speaker"] for p in pairs} <= {"valid-spk0", "valid-spk1"}
    assert (out.parent / "manifest_clean_speakers.csv").is_file()


def test_gaps_give_noise_only_stretches(manifest: Path) -> None:
    from pipeline.corpora.mixing import insert_gaps

    config = MixConfig(segment_seconds=2.0, p_gap=1.0, gap_seconds=(0.3, 0.3), max_gaps=1)
    rng = np.random.default_rng(5)
    clean = np.full(2 * SR, 0.1, dtype=np.float32)
    out, mask = insert_gaps(clean, np.ones(2 * SR, dtype=bool), config, rng)
    silent = np.flatnonzero(out == 0.0)
    assert len(silent) == int(0.3 * SR) and np.all(np.diff(silent) == 1)  # one 0.3 s gap
    assert (~mask).sum() == len(silent) + 2 * int(0.01 * SR)  # gap plus its two fades
    assert np.all(out[mask] == 0.1)
    # in the dataset: same SNR over the remaining speech, noise alone in the gap
    with_gaps = NoisyMixtureDataset(manifest, split="train", config=config, seed=3)
    plain = NoisyMixtureDataset(manifest, split="train", config=MixConfig(2.0), seed=3)
    item = with_gaps.draw(0)
    gap = ~item["speech_mask"] & (item["clean"] == 0)
    assert gap.sum() >= int(0.3 * SR) and np.abs(item["noisy"][gap]).max() > 0
    assert abs(_snr(item["clean"], item["noisy"], item["speech_mask"]) - item["snr_db"]) < 0.05
    assert np.array_equal(
        plain.draw(0)["clean"],
        NoisyMixtureDataset(manifest, split="train", config=MixConfig(2.0), seed=3).draw(0)[
            "clean"
        ],
    )


def test_pseudo_clean_targets_repoints_train_and_valid_speech_only(manifest: Path, tmp_path: Path):
    """The targets command cleans the chosen source's train/valid speech with a real system
    (``dsp`` here), repoints those rows to the cleaned files, keeps other sources and every
    test row as they were, reuses its output on a rerun and builds validation pairs."""
    from pipeline.corpora.prepare import read_manifest
    from pipeline.corpora.targets import TargetsConfig, pseudo_clean_targets

    extra_root = tmp_path / "extra"
    wave = (0.2 * np.sin(2 * np.pi * 110 * np.arange(SR) / SR)).astype(np.float32)
    write_wav(extra_root / "speech/studio/w.wav", wave, SR)
    row = _row("speech/studio/w.wav", "speech", "studio-spk", 1.0, "train", "prompt")
    extra = write_csv(extra_root / "manifest.csv", [{**row, "source": "studio"}], MANIFEST_COLUMNS)
    config = TargetsConfig(system="dsp", sources=("fake",), subdir="cleaned", jobs=1)
    out = manifest.parent / "manifest_targets.csv"
    counts = pseudo_clean_targets(
        manifest, out, config, extras=[extra], valid_dir=tmp_path / "valid_targets"
    )
    before = read_manifest(manifest)
    after = read_manifest(out)
    assert counts == {"cleaned": 24, "reused": 0, "dropped": 0, "kept_as_is": 1}
    assert [r for r in after if r["split"] == "test"] == [r for r in before if r["split"] == "test"]
    cleaned = [r for r in after if r["kind"] == "speech" and r["split"] in ("train", "valid")]
    studio = [r for r in cleaned if r["source"] == "studio"]
    assert len(studio) == 1 and studio[0]["path"].endswith("speech/studio/w.wav")
    for r in cleaned:
        if r["source"] == "fake":
            assert r["path"].startswith("cleaned/fake/")
            original = manifest.parent / "speech" / Path(r["path"]).relative_to("cleaned")
            info, ref = sf.info(str(manifest.parent / r["path"])), sf.info(str(original))
            assert (info.samplerate, info.frames) == (SR, ref.frames)
    again = pseudo_clean_targets(manifest, out, config, extras=[extra])
    assert again["reused"] == 24 and again["cleaned"] == 0
    assert read_manifest(out) == after
    with (tmp_path / "valid_targets" / "pairs.csv").open(newline="") as handle:
        assert {p["speaker"] for p in csv.DictReader(handle)} <= {f"valid-spk{i}" for i in range(4)}
