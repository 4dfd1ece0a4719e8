"""The enhancement GAN: model shapes and size, the checkpoint system, chunking, the shipped model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline.cards import ModelCard
from pipeline.checkpoint import count_parameters, load_model, save_model
from pipeline.enhance.model import MaskGenerator, MelDiscriminator
from pipeline.enhance.system import GanEnhancer
from pipeline.metrics import si_sdr
from pipeline.registry import CHECKPOINTS
from pipeline.signals import coloured_noise, mix_at_snr, synthetic_voice

SHIPPED = CHECKPOINTS / "enhance" / "mask-gan"


def _card(name: str = "tiny") -> ModelCard:
    return ModelCard(name=name, task="enhance", title=name, kind="gan")


def _save_tiny_generator(folder, *, hidden: int) -> None:
    """An untrained one-layer MaskGenerator checkpoint in ``folder/model.pt``."""
    kwargs = {"hidden": hidden, "gru_layers": 1}
    save_model(
        folder / "model.pt",
        MaskGenerator(**kwargs),
        arch="enhance.mask_gan",
        model_kwargs=kwargs,
        sample_rate=16_000,
    )


@pytest.fixture(scope="module")
def tiny_system(tmp_path_factory) -> GanEnhancer:
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("ckpt")
    _save_tiny_generator(folder, hidden=32)
    return GanEnhancer(folder, card=_card())


def test_default_sizes_within_budget():
    gen, disc = MaskGenerator(), MelDiscriminator()
    assert count_parameters(gen) <= 5_000_000
    assert count_parameters(disc) < count_parameters(gen)
    wave = torch.randn(2, 16_000 + 37) * 0.1
    assert gen(wave).shape == wave.shape
    logits, feats = disc(wave)
    assert len(logits) == len(feats) == 3


def test_mask_is_bounded():
    gen = MaskGenerator(hidden=16, gru_layers=1, mask_max=1.2)
    mag = torch.rand(1, 257, 40) * 3
    with torch.no_grad():
        mask = gen.mask(mag)
    assert mask.shape == mag.shape and mask.min().item() >= 0 and mask.max().item() <= 1.2


def test_chunked_equals_whole_file(tiny_system):
    clean = synthetic_voice(23.0, 16_000, seed=5)
    noisy, _ = mix_at_snr(clean, coloured_noise("pink", len(clean), 6), 5.0)
    whole = tiny_system.enhance_native(noisy)  # one pass, no chunks
    chunked = tiny_system.enhance(noisy, 16_000)  # 10 s chunks, 1 s cross-fades, state carried
    assert chunked.shape == noisy.shape
    err = chunked - np.clip(whole, -1, 1)
    rel_db = 10 * np.log10(np.sum(err**2) / np.sum(whole**2))
    assert rel_db < -50.0, rel_db


@pytest.mark.parametrize("sr", [8_000, 16_000, 22_050, 48_000])
def test_length_and_rate_preserved(tiny_system, sr):
    wave, _ = mix_at_snr(
        synthetic_voice(1.1, sr, seed=7), coloured_noise("pink", int(round(1.1 * sr)), 8), 10.0
    )
    out = tiny_system.enhance(wave, sr)
    assert out.shape == wave.shape and out.dtype == np.float32
    assert np.all(np.isfinite(out))


def test_registry_loads_checkpoint_folder(tmp_path):
    from pipeline.registry import Registry

    folder = tmp_path / "enhance" / "mine"
    _save_tiny_generator(folder, hidden=16)
    _card("mine").write(folder / "card.json")
    system = Registry(tmp_path).get("enhance", "mine")
    assert isinstance(system, GanEnhancer) and system.sample_rate == 16_000


@pytest.mark.skipif(not (SHIPPED / "model.pt").is_file(), reason="no shipped mask-gan checkpoint")
def test_shipped_checkpoint_loads_and_improves_si_sdr():
    payload = torch.load(SHIPPED / "model.pt", map_location="cpu", weights_only=True)
    assert "optimizers" not in payload and payload["arch"] == "enhance.mask_gan"
    assert (SHIPPED / "model.pt").stat().st_size <= 20 * 1024 * 1024
    model, meta = load_model(SHIPPED / "model.pt")
    assert count_parameters(model) <= 5_000_000 and meta["sample_rate"] == 16_000
    card = ModelCard.read(SHIPPED / "card.json")
    assert card.kind == "gan" and card.training_command and card.metrics
    system = GanEnhancer(Path(SHIPPED), card=card)
    clean = synthetic_voice(3.0, 16_000, seed=11)
    noisy, clean = mix_at_snr(clean, coloured_noise(0.5, len(clean), 12), 5.0)
    out = system.enhance(noisy, 16_000)
    assert si_sdr(clean, out) > si_sdr(clean, noisy) + 1.0


def test_state_split_is_exact():
    torch.manual_seed(1)
    gen = MaskGenerator(hidden=16, gru_layers=2).eval()
    wave = torch.randn(1, 16_000) * 0.1
    with torch.no_grad():
        plain = gen(wave)
        split, state = gen.forward_with_state(wave, None, 128 * 40)
    torch.testing.assert_close(split, plain)
    assert state is not None and state.shape == (2, 1, 16)


def _whole_and_chunked(gen, kwargs, folder, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Save ``gen`` as a checkpoint in ``folder`` and enhance 12 s of noisy speech-like signal
    (seeds ``seed``, ``seed + 1``) in one pass and in streamed chunks."""
    save_model(
        folder / "model.pt", gen, arch="enhance.mask_gan", model_kwargs=kwargs, sample_rate=16_000
    )
    system = GanEnhancer(folder, card=_card())
    clean = synthetic_voice(12.0, 16_000, seed=seed)
    noisy, _ = mix_at_snr(clean, coloured_noise("pink", 192_000, seed + 1), 5.0)
    return system.enhance_native(noisy), system.enhance(noisy, 16_000)


def test_frequency_front_end_streams_like_the_plain_model(tmp_path):
    """``freq_channels > 0``: same shapes and bounds, the GRU-state split stays exact (the
    front end is frame-local) and a checkpoint with it streams in chunks like a whole pass."""
    torch.manual_seed(2)
    kwargs = {"hidden": 16, "gru_layers": 1, "freq_channels": 4, "lookahead": 2}
    gen = MaskGenerator(**kwargs).eval()
    assert gen.front is not None and MaskGenerator(hidden=16).front is None
    wave = torch.randn(1, 16_000) * 0.1
    with torch.no_grad():
        plain = gen(wave)
        split, _ = gen.forward_with_state(wave, None, 128 * 40)
        mask = gen.mask(torch.rand(1, 257, 30))
    torch.testing.assert_close(split, plain)
    assert plain.shape == wave.shape and 0 <= mask.min() and mask.max() <= 1.2
    whole, chunked = _whole_and_chunked(gen, kwargs, tmp_path, seed=3)
    err = chunked - np.clip(whole, -1, 1)
    assert 10 * np.log10(np.sum(err**2) / np.sum(whole**2)) < -50.0


def test_deep_filter_head_starts_as_the_mask_model_and_taps_the_right_frames():
    """A generator grown by a deep-filter head and given a mask-only model's weights is that
    model exactly (the head starts at the identity filter); the filter's tap k reads frame
    ``t - behind + k``; bins above ``df_bins`` are untouched."""
    torch.manual_seed(5)
    base = {"hidden": 16, "gru_layers": 1, "lookahead": 2}
    plain = MaskGenerator(**base).eval()
    grown = MaskGenerator(**base, df_bins=40, df_order=5).eval()
    result = grown.load_state_dict(plain.state_dict(), strict=False)
    assert not result.unexpected_keys and all(k.startswith("df_head") for k in result.missing_keys)
    wave = torch.randn(2, 8_000) * 0.1
    with torch.no_grad():
        torch.testing.assert_close(grown(wave), plain(wave), rtol=0, atol=1e-6)
    assert grown.df_ahead == 2 and MaskGenerator(lookahead=1, df_bins=8, df_order=5).df_ahead == 1
    spec = torch.randn(1, 257, 12, dtype=torch.complex64)
    delta = torch.zeros(1, 40, 12, 5, 2)
    delta[..., 2, 0] = -1.0  # cancel the identity (tap 2 is frame t) ...
    delta[..., 3, 0] = 1.0  # ... and read frame t + 1 instead
    out = grown.deep_filter(spec, delta)
    torch.testing.assert_close(out[:, :40, :-1], spec[:, :40, 1:])
    assert torch.all(out[:, :40, -1] == 0)  # past the end: zero padding
    torch.testing.assert_close(out[:, 40:], spec[:, 40:])
    with pytest.raises(ValueError, match="df_bins"):
        MaskGenerator(df_bins=300)


def test_deep_filter_checkpoint_streams_like_a_whole_pass(tmp_path):
    torch.manual_seed(6)
    kwargs = {"hidden": 16, "gru_layers": 1, "lookahead": 2, "df_bins": 64, "df_order": 3}
    gen = MaskGenerator(**kwargs).eval()
    with torch.no_grad():  # a non-identity filter, so the test sees it work
        gen.df_head[-1].bias.normal_(0.0, 0.3)
    whole, chunked = _whole_and_chunked(gen, kwargs, tmp_path, seed=7)
    assert whole.shape == chunked.shape == (192_000,) and np.isfinite(whole).all()
    err = chunked - np.clip(whole, -1, 1)
    assert 10 * np.log10(np.sum(err**2) / np.sum(whole**2)) < -50.0
