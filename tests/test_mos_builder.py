"""Test builder: runs systems, one level and rate, anonymous names, valid definition."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline.audio import rms_dbfs
from pipeline.mos.__main__ import main
from pipeline.mos.builder import BuildError, BuildOptions, SystemSpec, build_test, system_specs
from pipeline.mos.definition import load_definition
from pipeline.mos.synthetic import tone


def noisy_clips(folder: Path, n: int = 2) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        wave = tone(1.0, 220 + 40 * i, rate=22_050) * (0.3 + 0.2 * i)
        wave += 0.02 * rng.standard_normal(len(wave)).astype(np.float32)
        path = folder / f"utt{i}.wav"
        sf.write(path, wave, 22_050)
        paths.append(path)
    return paths


def test_build_acr_test(tmp_path: Path):
    clips = noisy_clips(tmp_path / "in")
    options = BuildOptions(test_id="enh", sample_rate=16_000, level_dbov=-26.0, seed=1)
    definition = build_test(tmp_path / "ratings", clips, ["input", "enhance:dsp"], options)
    folder = tmp_path / "ratings" / "enh"
    assert load_definition(folder).to_dict() == definition.to_dict()
    regular = definition.regular()
    assert len(regular) == 4
    assert {s.system for s in regular} == {"input", "enhance/dsp"}
    assert sum(s.gold is not None for s in definition.stimuli) == 1
    assert [s.trap for s in definition.stimuli if s.trap is not None] == [2]  # "2 Poor"
    assert (definition.gold_per_session, definition.trap_per_session) == (1, 1)
    assert [t.expected for t in definition.training] == [5, 1]
    assert definition.headphone_check is not None
    assert "-26 dBov" in definition.notes
    for rel in definition.files():
        path = folder / rel
        name = path.stem
        assert len(name) == 16 and int(name, 16) >= 0  # random hex: says nothing
        data, rate = sf.read(path)
        assert rate == 16_000
        if rel != definition.headphone_check.file:
            assert rms_dbfs(data) == pytest.approx(-26.0, abs=0.2)
    for stim in definition.stimuli:
        assert stim.system not in stim.file and stim.item_id not in stim.file


def test_build_paired_ccr_test_has_references(tmp_path: Path):
    clips = noisy_clips(tmp_path / "in", n=1)
    options = BuildOptions(
        test_id="cmp", question="ccr", reference="input", gold=0, traps=0, headphone_check=False
    )
    definition = build_test(tmp_path / "r", clips, ["enhance:dsp"], options)
    (stim,) = definition.stimuli
    assert stim.reference and stim.reference != stim.file
    assert [t.expected for t in definition.training] == [0, -3]


def test_builder_errors(tmp_path: Path):
    clips = noisy_clips(tmp_path / "in", n=1)
    with pytest.raises(BuildError, match="needs --reference"):
        build_test(tmp_path / "r", clips, ["input"], BuildOptions(test_id="x", question="dcr"))
    with pytest.raises(BuildError, match="bad system spec"):
        SystemSpec.parse("magic")
    with pytest.raises(BuildError, match="unknown emotion"):
        SystemSpec.parse("emotion:dsp:bored")
    assert SystemSpec.parse("emotion:dsp:angry:0.5").label == "emotion/dsp/angry@0.5"
    with pytest.raises(BuildError, match="clean"):
        build_test(tmp_path / "r", clips, ["clean"], BuildOptions(test_id="y"))


def test_a_failed_build_leaves_nothing_so_the_corrected_command_works(tmp_path: Path):
    from pipeline.audio import AudioError

    clips = noisy_clips(tmp_path / "in", n=2)
    missing = tmp_path / "in" / "*noisy*.wav"  # an unexpanded glob, as a shell passes it on
    with pytest.raises(AudioError, match="no such file"):
        build_test(tmp_path / "r", [*clips, missing], ["input"], BuildOptions(test_id="t"))
    assert not (tmp_path / "r" / "t").exists()
    definition = build_test(tmp_path / "r", clips, ["input"], BuildOptions(test_id="t"))
    assert len(definition.stimuli) >= 2 and (tmp_path / "r" / "t" / "definition.yaml").is_file()
    # a folder that held a test before is never removed by a failing build
    with pytest.raises(BuildError, match="already exists"):
        build_test(tmp_path / "r", clips, ["input"], BuildOptions(test_id="t"))
    assert (tmp_path / "r" / "t" / "definition.yaml").is_file()


def test_build_cli(tmp_path: Path, capsys):
    clips = noisy_clips(tmp_path / "in", n=1)
    argv = [
        "build",
        *map(str, clips),
        "--test-id",
        "cli",
        "--systems",
        "input",
        "--ratings-root",
        str(tmp_path / "r"),
        "--gold",
        "0",
    ]
    assert main(argv) == 0
    assert "completion code" in capsys.readouterr().out
    assert load_definition(tmp_path / "r" / "cli").test_id == "cli"
    assert main(argv) == 1  # the folder exists now: one clear line, non-zero exit
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "already exists" in err and err.count("\n") == 1


def test_system_specs_round_trip_through_the_parser():
    class Names:
        def names(self, task):
            return {"enhance": ["dsp", "mask-gan"], "emotion": ["stargan-emotion"]}[task]

    specs = system_specs(Names(), emotions=("happy", "sad"), intensities=(0.5, 1.0))
    assert specs[:4] == ["input", "clean", "enhance:dsp", "enhance:mask-gan"]
    assert "emotion:stargan-emotion:sad:0.5" in specs and len(specs) == 8
    assert [SystemSpec.parse(s).text for s in specs] == specs
