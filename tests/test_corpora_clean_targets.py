"""clean-targets: the ledger cache, resume after an interruption, and the DNSMOS screen.

The cleaner and scorer are fakes here (a fixed gain and a score read off the clip's level),
so the test checks the cache logic, not DeepFilterNet3 or DNSMOS.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import manifest_row

from pipeline.audio import write_wav
from pipeline.corpora import clean_targets as ct
from pipeline.corpora.prepare import MANIFEST_COLUMNS, read_manifest, write_csv

SR = 16_000


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    """Two speakers per train/valid split (one loud, one quiet), a test clip, a noise clip."""
    rows = []
    t = np.arange(SR // 2) / SR
    for split in ("train", "valid"):
        for speaker, amp in (("loud", 0.3), ("quiet", 0.01)):
            for k in range(2):
                path = f"speech/fake/{split}-{speaker}/{k}.wav"
                write_wav(tmp_path / path, amp * np.sin(2 * np.pi * 200 * t), SR)
                rows.append(manifest_row(path, "speech", f"{split}-{speaker}", split))
    write_wav(tmp_path / "speech/fake/test/0.wav", 0.3 * np.sin(2 * np.pi * 300 * t), SR)
    rows.append(manifest_row("speech/fake/test/0.wav", "speech", "test-spk", "test"))
    write_wav(tmp_path / "noise/fake/n.wav", 0.1 * np.ones(SR // 2), SR)
    rows.append(manifest_row("noise/fake/n.wav", "noise", "fake/n", "train"))
    return write_csv(tmp_path / "manifest.csv", rows, MANIFEST_COLUMNS)


class CountingCleaner:
    """Scales the wave by 0.6 (-4.4 dB) and counts calls; raises on call number ``fail_at`` (1-based)."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.calls = 0
        self.fail_at = fail_at

    def __call__(self, wave: np.ndarray, sr: int) -> np.ndarray:
        self.calls += 1
        if self.calls == self.fail_at:
            raise KeyboardInterrupt  # as if the job were stopped mid-run
        return 0.6 * wave


def level_scorer(wave: np.ndarray, sr: int) -> dict[str, float]:
    """OVRL 4.0 for loud clips, 1.5 for quiet ones."""
    ovrl = 4.0 if np.max(np.abs(wave)) > 0.05 else 1.5
    return {"sig": ovrl, "bak": ovrl, "ovrl": ovrl}


def test_cleans_each_clip_once_and_screens(manifest: Path) -> None:
    root = manifest.parent
    config = ct.CleanTargetsConfig(min_ovrl=3.0)
    cleaner = CountingCleaner()
    out = root / "targets.csv"
    report = ct.clean_targets(manifest, out, config, cleaner=cleaner, scorer=level_scorer)
    assert cleaner.calls == 8 and report["cleaned_now"] == 8  # train+valid speech only
    assert report["kept"] == 4 and report["screened_out"] == 4 and report["not_cleaned"] == 0
    assert report["audio_s"] == pytest.approx(4.0) and report["rtf"] >= 0
    rows = read_manifest(out)
    speech = [r for r in rows if r["kind"] == "speech" and r["split"] != "test"]
    assert {r["speaker"] for r in speech} == {"train-loud", "valid-loud"}
    assert all(r["path"].startswith("speech_dfn3/fake/") for r in speech)
    wave, sr = sf.read(root / speech[0]["path"], dtype="float32")
    assert sr == SR and np.max(np.abs(wave)) == pytest.approx(0.18, abs=1e-3)
    test_rows = [r for r in rows if r["split"] == "test"]
    assert [r["path"] for r in test_rows] == ["speech/fake/test/0.wav"]  # untouched
    assert any(r["kind"] == "noise" for r in rows)

    again = ct.clean_targets(manifest, out, config, cleaner=cleaner, scorer=level_scorer)
    assert cleaner.calls == 8 and again["cleaned_now"] == 0  # all cached
    assert again["kept"] == 4


def test_resume_after_interruption_and_torn_ledger(manifest: Path) -> None:
    root = manifest.parent
    config = ct.CleanTargetsConfig(min_ovrl=3.0)
    out = root / "targets.csv"
    first = CountingCleaner(fail_at=4)
    with pytest.raises(KeyboardInterrupt):
        ct.clean_targets(manifest, out, config, cleaner=first, scorer=level_scorer)
    ledger = root / config.subdir / ct.LEDGER_NAME
    assert len(ct.read_ledger(ledger)) == 3
    with ledger.open("a", encoding="utf-8") as handle:
        handle.write("speech_dfn3/fake/torn.wav,speech/x")  # a crash mid-line
    assert len(ct.read_ledger(ledger)) == 3

    second = CountingCleaner()
    report = ct.clean_targets(manifest, out, config, cleaner=second, scorer=level_scorer)
    assert second.calls == 5 and report["cleaned_now"] == 5
    assert len(ct.read_ledger(ledger)) == 8 and report["not_cleaned"] == 0

    # a ledger row whose wav was deleted is cleaned again
    victim = next(iter(ct.read_ledger(ledger)))
    (root / victim).unlink()
    third = CountingCleaner()
    ct.clean_targets(manifest, out, config, cleaner=third, scorer=level_scorer)
    assert third.calls == 1 and (root / victim).is_file()


def test_screen_table_counts_before_and_after(manifest: Path) -> None:
    root = manifest.parent
    config = ct.CleanTargetsConfig(min_ovrl=3.0)
    ct.clean_targets(
        manifest, root / "t.csv", config, cleaner=CountingCleaner(), scorer=level_scorer
    )
    (table,) = ct.screen_table(read_manifest(manifest), root, config)
    assert table["source"] == "fake" and table["speakers_before"] == 4
    assert table["minutes_before"] == pytest.approx(4 * 2 * 0.5 / 60)
    assert table["speakers_kept"] == 2 and table["minutes_kept"] == pytest.approx(2 / 60)
    assert table["median_ovrl"] == pytest.approx(2.75)


def test_pending_jobs_interleave_sources_so_an_early_stop_covers_each():
    jobs = [{"row": {"source": s}, "i": i} for i, s in enumerate("aaaabbc")]
    ordered = ct.interleave_sources(jobs)
    assert [j["row"]["source"] for j in ordered] == list("abcabaa")
    assert sorted(j["i"] for j in ordered) == list(range(7))
    assert [j["i"] for j in ordered if j["row"]["source"] == "a"] == [0, 1, 2, 3]


def test_time_budget_stops_after_the_clip_in_hand_and_the_rest_stays_pending(manifest: Path):
    root = manifest.parent
    budget = ct.CleanTargetsConfig(min_ovrl=3.0, max_minutes=1e-9)
    rows = read_manifest(manifest)
    first = CountingCleaner()
    cleaned = ct.run_cleaning(rows, root, budget, cleaner=first, scorer=level_scorer)
    assert first.calls == 1 and cleaned == 1
    assert len(ct.pending_jobs(rows, root, budget)) == 7
    second = CountingCleaner()
    rest = ct.clean_targets(
        manifest,
        root / "targets.csv",
        ct.CleanTargetsConfig(min_ovrl=3.0),
        cleaner=second,
        scorer=level_scorer,
    )
    assert second.calls == 7 and rest["cleaned_now"] == 7 and rest["not_cleaned"] == 0
