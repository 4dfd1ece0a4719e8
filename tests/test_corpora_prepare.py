"""Data preparation on a tiny fake Debian package tree (no apt-get)."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline.corpora import CorpusError, debian, sources
from pipeline.corpora.prepare import (
    MANIFEST_COLUMNS,
    PrepareConfig,
    decode_g722,
    prepare,
    read_manifest,
    trim_silence,
)
from pipeline.corpora.splits import assign_splits

FILLETS = "usr/share/games/fillets-ng"


def _tone(seconds: float, sr: int, freq: float = 220.0, lead: float = 0.3) -> np.ndarray:
    """A voiced-ish tone with ``lead`` s of silence before and after."""
    t = np.arange(int(seconds * sr)) / sr
    wave = 0.3 * np.sin(2 * np.pi * freq * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    pad = np.zeros(int(lead * sr))
    return np.concatenate([pad, wave, pad]).astype(np.float32)


def _write(path: Path, wave: np.ndarray, sr: int, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), wave, sr, format=fmt)


@pytest.fixture()
def fake_tree(tmp_path: Path) -> dict[str, Path]:
    roots = {}
    # fillets scripts with a multi-line dialogStr and an escaped quote
    scripts = tmp_path / "fillets-ng-data"
    lvl = scripts / FILLETS / "script" / "reef"
    lvl.mkdir(parents=True)
    (lvl / "dialogs_en.lua").write_text(
        'dialogId("ree-m-ahoj", "font_small", "Hello there.")\n'
        'dialogId("ree-v-no", "font_big", "No way, \\"friend\\".")\n'
        'dialogId("ree-x-klik", "", "")\n',
        encoding="utf-8",
    )
    (lvl / "dialogs_cs.lua").write_text(
        'dialogId("ree-m-ahoj", "font_small", "Hello there.")\n'
        'dialogStr("Ahoj.")\n\n'
        'dialogId("ree-v-no", "font_big", "No way, \\"friend\\".")\n'
        'dialogStr(\n"V žádném případě.")\n',
        encoding="utf-8",
    )
    roots["fillets-ng-data"] = scripts
    voice = tmp_path / "fillets-ng-data-cs"
    snd = voice / FILLETS / "sound" / "reef" / "cs"
    _write(snd / "ree-m-ahoj.ogg", _tone(1.2, 22050), 22050, "OGG")
    _write(snd / "ree-v-no.ogg", _tone(1.5, 22050, 120.0), 22050, "OGG")
    _write(snd / "ree-x-klik.ogg", _tone(1.0, 22050), 22050, "OGG")  # sound cue: skipped
    roots["fillets-ng-data-cs"] = voice
    # hedgewars: two voice packs, one effect (and one vocal effect that is not noise)
    hw = tmp_path / "hedgewars-data" / "usr/share/games/hedgewars/Data"
    _write(hw / "Sounds/voices/Pirate/Illgetyou.ogg", _tone(0.9, 44100), 44100, "OGG")
    _write(hw / "Sounds/voices/Default_es/Laugh.ogg", _tone(0.8, 44100), 44100, "OGG")
    _write(hw / "Sounds/voices/Default_es/Ow1.ogg", _tone(0.2, 44100), 44100, "OGG")  # too short
    rng = np.random.default_rng(0)
    _write(hw / "Sounds/explosion.ogg", 0.1 * rng.standard_normal(44100), 44100, "OGG")
    _write(hw / "Sounds/Kiss.ogg", _tone(0.8, 44100), 44100, "OGG")
    roots["hedgewars-data"] = tmp_path / "hedgewars-data"
    # lincity: two variants of one effect share a recording group
    lc = tmp_path / "lincity-ng-data" / "usr/share/games/lincity-ng/sounds"
    for name in ("Farm1.wav", "Farm2.wav", "Rocket1.wav"):
        _write(lc / name, 0.05 * rng.standard_normal(11025), 11025, "WAV")
    roots["lincity-ng-data"] = tmp_path / "lincity-ng-data"
    return roots


def test_prepare_fake_tree(tmp_path: Path, fake_tree: dict[str, Path]) -> None:
    config = PrepareConfig(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    manifest = prepare(config, roots=fake_tree)
    rows = read_manifest(manifest)
    assert list(rows[0].keys()) == list(MANIFEST_COLUMNS)
    by_id = {r["dialog_id"]: r for r in rows}

    m = by_id["ree-m-ahoj"]
    assert (m["speaker"], m["language"], m["text"], m["text_en"]) == (
        "cs-m",
        "cs",
        "Ahoj.",
        "Hello there.",
    )
    assert m["source_package"] == "fillets-ng-data-cs" and m["licence"] == "GPL-2"
    assert by_id["ree-v-no"]["text"] == "V žádném případě."
    assert by_id["ree-v-no"]["text_en"] == 'No way, "friend".'
    assert "ree-x-klik" not in by_id

    assert by_id["Illgetyou"]["speaker"] == "Pirate"
    assert by_id["Illgetyou"]["text_en"] == "I'll get you"
    assert by_id["Laugh"]["language"] == "es" and by_id["Laugh"]["text"] == ""
    assert "Ow" not in by_id  # 0.2 s: skipped
    skipped = (tmp_path / "data" / "skipped.csv").read_text()
    assert "Ow1.ogg" in skipped and "too short" in skipped
    assert "Kiss" not in by_id  # vocal effect is neither speech nor noise
    assert by_id["explosion"]["kind"] == "noise"
    assert by_id["Farm1"]["speaker"] == by_id["Farm2"]["speaker"] == "lincity/Farm"

    for r in rows:
        info = sf.info(str(tmp_path / "data" / r["path"]))
        assert info.samplerate == 16000 and info.channels == 1 and info.subtype == "PCM_16"
        assert info.frames / 16000 == pytest.approx(r["duration_s"], abs=1e-3)
        assert r["split"] in ("train", "valid", "test")
    # silences trimmed: 1.2 s tone with 0.3 s silence each side -> ~1.2 s + 2 x 0.1 s margin
    assert 1.1 < m["duration_s"] < 1.5
    # idempotent: a second run reuses the wavs and writes the same manifest
    assert read_manifest(prepare(config, roots=fake_tree)) == rows


def test_unknown_package_is_a_clear_error(tmp_path: Path) -> None:
    config = PrepareConfig(data_dir=tmp_path, cache_dir=tmp_path, packages=("no-such-pkg",))
    with pytest.raises(CorpusError, match="unknown package"):
        prepare(config)


def test_fetch_reports_apt_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    apt = fake_bin / "apt-get"
    apt.write_text("#!/bin/sh\necho 'E: Unable to locate package nothing-here' >&2\nexit 100\n")
    apt.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}:/usr/bin:/bin")
    with pytest.raises(CorpusError, match="Unable to locate package") as err:
        debian.fetch("nothing-here", tmp_path / "cache")
    assert "\n" not in str(err.value)


def test_fetch_reuses_flat_cache(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "usr").mkdir(parents=True)
    assert debian.fetch("pkg", tmp_path) == tmp_path / "pkg"


def test_trim_silence_keeps_margin() -> None:
    wave = _tone(1.0, 16000, lead=0.5)
    out = trim_silence(wave)
    assert 1.1 <= len(out) / 16000 <= 1.3
    assert trim_silence(np.zeros(16000, dtype=np.float32)).size == 0


def test_splits_are_speaker_disjoint() -> None:
    rows = [
        {"kind": "speech", "source": "hedgewars", "speaker": f"pack{i}", "split": ""}
        for i in range(15)
        for _ in range(3)
    ]
    rows += [{"kind": "speech", "source": "asterisk", "speaker": "allison", "split": ""}]
    rows += [
        {"kind": "noise", "source": "lincity", "speaker": f"g{i}", "split": ""} for i in range(20)
    ]
    assign_splits(rows, seed=3)
    per_speaker: dict[str, set] = {}
    for r in rows:
        per_speaker.setdefault(r["speaker"], set()).add(r["split"])
    assert all(len(s) == 1 for s in per_speaker.values())
    hw = {r["split"] for r in rows if r["source"] == "hedgewars"}
    assert hw == {"train", "valid", "test"}
    assert per_speaker["allison"] == {"test"}
    again = assign_splits([dict(r, split="") for r in rows], seed=3)
    assert [r["split"] for r in again] == [r["split"] for r in rows]


def test_fillets_character_naming() -> None:
    assert sources.fillets_character("vit-m-hlava", "font_small", "city") == "m"
    assert sources.fillets_character("vit-v-proc", "font_big", "city") == "v"
    assert sources.fillets_character("vit-hs-klid1", "font_statue", "city") == "statue"
    assert sources.fillets_character("vit-hs-x", "font_white", "city") == "city.hs"
    assert sources.hedgewars_phrase("Firepunch3") == ("Firepunch", "Fire punch")
    assert sources.hedgewars_language("Default_pl") == "pl"


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_g722_decode_and_transcripts(tmp_path: Path) -> None:
    wav = tmp_path / "in.wav"
    sf.write(str(wav), _tone(1.0, 16000), 16000)
    g722 = tmp_path / "g722" / "usr/share/asterisk/sounds/en_US_f_Allison/vm-hello.g722"
    g722.parent.mkdir(parents=True)
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(wav), "-ar", "16000", "-f", "g722", str(g722)],
        check=True,
    )
    wave = decode_g722(g722)
    assert abs(len(wave) / 16000 - 1.6) < 0.05
    doc = tmp_path / "tr" / "usr/share/doc/asterisk-core-sounds-en"
    doc.mkdir(parents=True)
    with gzip.open(doc / "core-sounds-en.txt.gz", "wt") as fh:
        fh.write("; header\nvm-hello: Hello.\n")
    clips = sources.list_asterisk(tmp_path / "g722", tmp_path / "tr")
    assert [(c.speaker, c.text, c.codec) for c in clips] == [("allison", "Hello.", "g722")]


def test_other_asterisk_voices_get_their_speaker_language_and_english_text(tmp_path: Path):
    """The opt-in French voice: its own speaker id and language, its transcript as ``text``,
    the English transcript (by prompt name) as ``text_en``; tones are skipped; the voices are
    fixed to train/valid and never to the test split (Allison's Spanish set is not offered)."""
    base = tmp_path / "g722" / "usr/share/asterisk/sounds/fr_CA_f_June"
    base.mkdir(parents=True)
    for name in ("vm-hello", "beep"):
        (base / f"{name}.g722").write_bytes(b"\0" * 64)
    for lang, lines in (("fr", "vm-hello: Bonjour.\nbeep: [bip]\n"), ("en", "vm-hello: Hello.\n")):
        doc = tmp_path / lang / f"usr/share/doc/asterisk-core-sounds-{lang}"
        doc.mkdir(parents=True)
        with gzip.open(doc / f"core-sounds-{lang}.txt.gz", "wt") as fh:
            fh.write(lines)
    clips = sources.list_asterisk(
        tmp_path / "g722",
        tmp_path / "fr",
        package="asterisk-core-sounds-fr-g722",
        english_root=tmp_path / "en",
    )
    assert [(c.speaker, c.language, c.text, c.text_en, c.rel) for c in clips] == [
        ("june", "fr", "Bonjour.", "Hello.", "june/vm-hello")
    ]
    assert "asterisk-core-sounds-es-g722" not in sources.ASTERISK_VOICES
    rows = [
        {"kind": "speech", "source": "asterisk", "speaker": s, "split": ""}
        for s in ("allison", "june", "carlo", "ivrvoice-ru")
    ]
    splits = {r["speaker"]: r["split"] for r in assign_splits(rows)}
    assert splits == {"allison": "test", "june": "train", "carlo": "train", "ivrvoice-ru": "valid"}
