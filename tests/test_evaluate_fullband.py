"""One evaluation run over a 16 kHz and a 48 kHz test set: high-band metrics and the
resample-only path appear only where there is an upper band."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from conftest import write_csv, write_noisy_pair

from pipeline.signals import synthetic_voice


def _test_set(folder: Path, sr: int) -> Path:
    rng = np.random.default_rng(0)
    rows = []
    for snr in (0.0, 10.0):
        clean = synthetic_voice(1.2, sr, f0_hz=140.0, seed=1)
        clean = clean + 0.01 * rng.standard_normal(len(clean)).astype(
            np.float32
        )  # "air" above 8 kHz
        pair = write_noisy_pair(folder, f"i_snr{int(snr):02d}", clean, sr, snr, rng)
        rows.append({**pair, "speaker": "v", "source": "synthetic"})
    write_csv(folder / "pairs.csv", rows)
    return folder


def test_one_run_over_two_test_sets(tmp_path: Path, capsys) -> None:
    from pipeline.evaluate.__main__ import main

    narrow = _test_set(tmp_path / "enhance_test", 16_000)
    wide = _test_set(tmp_path / "enhance_test_48k", 48_000)
    out = tmp_path / "eval"
    args = ["--checkpoints", str(tmp_path / "none"), "enhance", "--test-dir", str(narrow)]
    args += [str(wide), "--systems", "noisy,dsp,dsp:resample", "--no-dnsmos"]
    assert main([*args, "--out-dir", str(out)]) == 0
    low = pd.read_csv(out / "enhance_test" / "per_file.csv")
    high = pd.read_csv(out / "enhance_test_48k" / "per_file.csv")
    assert set(low["system"]) == {"noisy", "dsp"} and "lsd_hi_db" not in low
    assert set(high["system"]) == {"noisy", "dsp", "dsp:resample"}
    means = high.groupby("system")[["lsd_hi_db", "energy_ratio_hi_db"]].mean()
    assert means.loc["dsp", "lsd_hi_db"] < means.loc["dsp:resample", "lsd_hi_db"]
    ratio = means["energy_ratio_hi_db"]
    assert ratio["dsp:resample"] < ratio["dsp"] - 10  # the resampled path loses the band
    report = (out / "enhance_test_48k" / "report.md").read_text()
    assert "LSD >8 kHz (dB)" in report and "`dsp:resample`" in report
