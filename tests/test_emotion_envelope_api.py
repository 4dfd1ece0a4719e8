"""The envelope-GAN system through the registry, the API, the CLI, the tab handler and the
``/convert`` endpoint: with and without a reference clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline import api
from pipeline.checkpoint import save_model
from pipeline.convert import main as convert_main
from pipeline.emotion.envelope.model import EnvelopeGenerator
from pipeline.emotion.envelope.system import EnvelopeGanConverter
from pipeline.emotion.reference import measure_prosody
from pipeline.registry import REPO_ROOT, Registry
from pipeline.signals import synthetic_voice
from ui.conversion import ConversionHandlers

TINY = {"n_spec": 36, "channels": 16, "n_blocks": 1, "speaker_dim": 8}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    root = tmp_path_factory.mktemp("checkpoints")
    kwargs = dict(TINY)
    save_model(
        root / "emotion" / "tiny-env" / "model.pt",
        EnvelopeGenerator(**kwargs),
        arch="emotion.envelope_gan",
        model_kwargs=kwargs,
        sample_rate=16_000,
    )
    return Registry(root)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("clips")
    source = synthetic_voice(1.5, 22_050, f0_hz=130.0, level_dbfs=-28.0)
    reference = synthetic_voice(1.5, 16_000, f0_hz=170.0, level_dbfs=-22.0, seed=3)
    sf.write(folder / "source.wav", source, 22_050, subtype="PCM_16")
    sf.write(folder / "reference.wav", reference, 16_000, subtype="PCM_16")
    return folder / "source.wav", folder / "reference.wav"


def _read(path: Path) -> tuple[np.ndarray, int]:
    wave, sr = sf.read(path, dtype="float32")
    return wave, sr


def test_api_convert_with_and_without_reference(registry: Registry, clips) -> None:
    assert isinstance(registry.get("emotion", "tiny-env"), EnvelopeGanConverter)
    (src, sr), (ref, ref_sr) = _read(clips[0]), _read(clips[1])
    plain = api.convert(src, sr, "sad", 1.0, model="tiny-env", registry=registry)
    assert plain.dtype == np.float32 and np.all(np.isfinite(plain))
    moved = api.convert(
        src, sr, None, 1.0, model="tiny-env", registry=registry, reference=(ref, ref_sr)
    )
    before, target, after = (
        measure_prosody(w, r) for w, r in ((src, sr), (ref, ref_sr), (moved, sr))
    )
    # same-voice reading: the output moves to the reference's F0 level and speech level
    assert abs(after.f0_mean_st - target.f0_mean_st) < 1.0 < target.f0_mean_st - before.f0_mean_st
    assert abs(after.energy_db - target.energy_db) < 1.5
    with pytest.raises(ValueError, match="reference"):
        api.convert(src, sr, "sad", 1.0, model="dsp", registry=registry, reference=(ref, ref_sr))
    with pytest.raises(ValueError, match="emotion or give a reference"):
        api.convert(src, sr, None, 1.0, model="tiny-env", registry=registry)


@pytest.mark.parametrize("sr", [16_000, 22_050, 48_000])
def test_intensity_zero_returns_the_input_unchanged(registry: Registry, clips, sr: int) -> None:
    """Through the one API, every system (envelope GAN with and without a reference, dsp) hands
    back the input sample for sample at intensity 0: same length, rate and values."""
    from pipeline.emotion.reference import ReferenceError

    src = synthetic_voice(1.2, sr, f0_hz=140.0, level_dbfs=-24.0, seed=5)
    ref, ref_sr = _read(clips[1])
    for model in ("tiny-env", "dsp"):
        for emotion in ("happy", "sad", "neutral"):
            out = api.convert(src, sr, emotion, 0.0, model=model, registry=registry)
            assert out.dtype == np.float32 and np.array_equal(out, src), (model, emotion)
            assert out is not src
    out = api.convert(
        src, sr, None, 0.0, model="tiny-env", registry=registry, reference=(ref, ref_sr)
    )
    assert np.array_equal(out, src)
    # the smallest step away from 0 does change the audio (0 is not a dead zone)
    step = api.convert(src, sr, "sad", 0.05, model="tiny-env", registry=registry)
    assert len(step) != len(src) or not np.allclose(step, src, atol=1e-4)
    with pytest.raises(ReferenceError, match="voiced"):  # a bad reference is still refused
        api.convert(
            src,
            sr,
            None,
            0.0,
            model="tiny-env",
            registry=registry,
            reference=(np.full(16_000, 1e-3, np.float32), 16_000),
        )


def test_cli_reference_without_emotion(
    registry: Registry, clips, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr("pipeline.convert.Registry", lambda: registry)
    out = tmp_path / "out"
    args = [
        str(clips[0]),
        "--reference",
        str(clips[1]),
        "--intensity",
        "0.5",
        "--out-dir",
        str(out),
    ]
    assert convert_main([*args, "--model", "tiny-env"]) == 0
    wave, sr = _read(out / "source.wav")
    assert sr == 22_050 and len(wave) > 0
    with pytest.raises(SystemExit):
        convert_main([str(clips[0]), "--out-dir", str(out)])  # neither emotion nor reference


def _no_progress(*_args, **_kwargs) -> None:
    return None


def test_tab_handler_with_and_without_reference(registry: Registry, clips) -> None:
    handlers = ConversionHandlers(registry)
    (sr, samples), status = handlers.convert(
        str(clips[0]), "angry", 1.0, "tiny-env", progress=_no_progress
    )
    assert sr == 22_050 and "Converted to angry" in status
    (sr, samples), status = handlers.convert(
        str(clips[0]), "angry", 1.0, "tiny-env", False, str(clips[1]), progress=_no_progress
    )
    assert sr == 22_050 and "reference clip" in status and samples.dtype == np.int16


SHIPPED = REPO_ROOT / "checkpoints" / "emotion" / "envelope-gan" / "model.pt"


@pytest.mark.skipif(not SHIPPED.is_file(), reason="envelope-gan not shipped")
def test_convert_endpoint_with_and_without_reference(studio_url: str, clips) -> None:
    from gradio_client import Client, handle_file

    client = Client(studio_url, verbose=False, download_files=True)
    names = [
        p["parameter_name"]
        for p in client.view_api(return_format="dict", print_info=False)["named_endpoints"][
            "/convert"
        ]["parameters"]
    ]
    assert (
        names[:4] == ["audio_file", "emotion", "intensity", "system"] and "reference_file" in names
    )
    old_style, status = client.predict(
        handle_file(clips[0]), "happy", 1.0, "envelope-gan", api_name="/convert"
    )
    assert "happy" in status and sf.info(old_style).samplerate == 22_050
    with_ref, status = client.predict(
        handle_file(clips[0]),
        "happy",
        1.0,
        "envelope-gan",
        False,
        handle_file(clips[1]),
        api_name="/convert",
    )
    assert "reference clip" in status and sf.info(with_ref).samplerate == 22_050
