"""The batch CLIs: python -m pipeline.enhance / python -m pipeline.convert."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline import convert
from pipeline.enhance import __main__ as enhance_cli
from pipeline.registry import REPO_ROOT
from pipeline.signals import synthetic_voice


def _inputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    good = tmp_path / "in" / "good.flac"
    good.parent.mkdir()
    sf.write(good, synthetic_voice(1.0, 22_050), 22_050, format="FLAC")
    bad = tmp_path / "in" / "bad.wav"
    bad.write_text("not audio at all")
    good2 = tmp_path / "in" / "stereo.wav"
    sf.write(good2, np.stack([synthetic_voice(0.8, 8_000)] * 2, axis=1), 8_000)
    return good, bad, good2


def test_enhance_cli_carries_on_after_bad_file(tmp_path: Path, capsys) -> None:
    good, bad, good2 = _inputs(tmp_path)
    out = tmp_path / "out"
    code = enhance_cli.main(
        [str(good), str(bad), str(good2), "--out-dir", str(out), "--model", "dsp"]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert f"error: {bad}: not a readable audio file" in err
    assert sorted(p.name for p in out.iterdir()) == ["good.wav", "stereo.wav"]
    info = sf.info(out / "good.wav")
    assert (info.samplerate, info.subtype, info.channels) == (22_050, "PCM_16", 1)
    assert info.frames == 22_050  # enhancement keeps the length
    assert sf.info(out / "stereo.wav").samplerate == 8_000


def test_enhance_cli_all_good_exits_zero(tmp_path: Path) -> None:
    good, _, _ = _inputs(tmp_path)
    assert enhance_cli.main([str(good), "--out-dir", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "good.wav").is_file()


def test_enhance_cli_unknown_model_fails_fast(tmp_path: Path, capsys) -> None:
    good, _, _ = _inputs(tmp_path)
    code = enhance_cli.main([str(good), "--out-dir", str(tmp_path / "o"), "--model", "nope"])
    assert code == 2
    assert "error: unknown enhance system 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "o" / "good.wav").exists()


def test_cli_duplicate_stems_do_not_overwrite(tmp_path: Path, capsys) -> None:
    a = tmp_path / "a" / "take.wav"
    b = tmp_path / "b" / "take.wav"
    for p in (a, b):
        p.parent.mkdir()
        sf.write(p, synthetic_voice(0.5, 16_000), 16_000)
    code = enhance_cli.main([str(a), str(b), "--out-dir", str(tmp_path / "o")])
    assert code == 1
    assert "already written" in capsys.readouterr().err


def test_cli_too_long_uses_max_seconds(tmp_path: Path, capsys) -> None:
    good, _, _ = _inputs(tmp_path)
    code = enhance_cli.main([str(good), "--out-dir", str(tmp_path / "o"), "--max-seconds", "0.5"])
    assert code == 1
    assert "audio too long: 1.0 s (limit 0.5 s)" in capsys.readouterr().err


def test_enhance_cli_list(capsys) -> None:
    assert enhance_cli.main(["--list"]) == 0
    assert "dsp" in capsys.readouterr().out.split()


def test_convert_cli_writes_outputs_and_reports_errors(tmp_path: Path, capsys) -> None:
    good, bad, good2 = _inputs(tmp_path)
    out = tmp_path / "out"
    argv = [str(good), str(bad), str(good2), "--emotion", "sad", "--intensity", "0.7"]
    code = convert.main([*argv, "--out-dir", str(out), "--model", "dsp"])
    assert code == 1
    assert f"error: {bad}:" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["good.wav", "stereo.wav"]
    wave, sr = sf.read(out / "good.wav")
    assert sr == 22_050 and np.all(np.isfinite(wave)) and np.max(np.abs(wave)) > 0.01


@pytest.mark.parametrize(
    "bad_args", [["--emotion", "bored"], ["--emotion", "sad", "--intensity", "2"]]
)
def test_convert_cli_rejects_bad_arguments(tmp_path: Path, bad_args: list[str]) -> None:
    good, _, _ = _inputs(tmp_path)
    with pytest.raises(SystemExit) as info:
        convert.main([str(good), *bad_args, "--out-dir", str(tmp_path / "o")])
    assert info.value.code == 2


def test_cli_entry_points_run_as_modules(tmp_path: Path) -> None:
    good, bad, _ = _inputs(tmp_path)
    for module, extra in (("pipeline.enhance", []), ("pipeline.convert", ["--emotion", "happy"])):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                module,
                str(good),
                str(bad),
                *extra,
                "--out-dir",
                str(tmp_path / module),
            ],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 1, proc.stderr
        assert f"error: {bad}: not a readable audio file" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert (tmp_path / module / "good.wav").is_file()
