"""Emotion GAN: generator/discriminator shapes, the GAN conversion system's invariants, and
the shipped checkpoint (skipped when it is absent)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipeline.cards import ModelCard
from pipeline.checkpoint import count_parameters, read_checkpoint, save_model
from pipeline.constants import EMOTIONS
from pipeline.emotion import features as wf
from pipeline.emotion.model import AuxEmotionClassifier, EmotionDiscriminator, EmotionGenerator
from pipeline.emotion.system import GanConverter
from pipeline.registry import CHECKPOINTS
from pipeline.signals import synthetic_voice

SHIPPED = CHECKPOINTS / "emotion" / "stargan-emotion"
TINY = {"channels": 16, "n_blocks": 1, "base_2d": 4, "prosody_channels": 8, "prosody_blocks": 1}


def _features(batch: int, frames: int) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    spec = torch.randn(batch, 36, frames, generator=g)
    pros = torch.randn(batch, 2, frames, generator=g)
    voiced = (torch.rand(batch, 1, frames, generator=g) > 0.3).float()
    return spec, pros, voiced


def test_default_generator_size_and_untrained_identity() -> None:
    gen = EmotionGenerator()
    assert 1_000_000 <= count_parameters(gen) <= 3_000_000
    spec, pros, voiced = _features(2, 64)
    cond = torch.eye(len(EMOTIONS))[[1, 3]]
    out_spec, out_pros = gen(spec, pros, voiced, cond)
    # residual outputs start at zero: an untrained generator returns its input
    assert torch.equal(out_spec, spec) and torch.equal(out_pros, pros)


def test_shapes_and_padding() -> None:
    gen = EmotionGenerator(**TINY)
    disc = EmotionDiscriminator(channels=16)
    clf = AuxEmotionClassifier(channels=16)
    spec, pros, voiced = _features(3, 50)
    padded = [EmotionGenerator.pad_frames(x) for x in (spec, pros, voiced)]
    assert padded[0].shape[-1] == 52
    out_spec, out_pros = gen(*padded, torch.eye(len(EMOTIONS))[:3])
    assert out_spec.shape == padded[0].shape and out_pros.shape == padded[1].shape
    labels = torch.tensor([0, 2, 4])
    assert disc(spec, pros, voiced, labels).shape == (3,)
    assert clf(spec, pros, voiced).shape == (3, len(EMOTIONS))


@pytest.fixture(scope="module")
def perturbed_system(tmp_path_factory: pytest.TempPathFactory) -> GanConverter:
    """A tiny generator with random (non-zero) output layers and a faster angry rate."""
    torch.manual_seed(0)
    gen = EmotionGenerator(**TINY)
    torch.nn.init.normal_(gen.out.weight, std=0.002)  # small spectral change
    torch.nn.init.normal_(gen.p_out.weight, std=0.05)  # clear prosody change
    gen.prosody_scale.copy_(torch.tensor([0.2, 6.0]))
    gen.log_rate[EMOTIONS.index("angry")] = 0.15
    folder = tmp_path_factory.mktemp("ckpt") / "tiny"
    save_model(
        folder / "model.pt", gen, arch="emotion.stargan", model_kwargs=TINY, sample_rate=16_000
    )
    return GanConverter(
        folder, card=ModelCard(name="tiny", task="emotion", title="tiny", kind="user")
    )


def test_intensity_zero_returns_the_input(perturbed_system: GanConverter) -> None:
    """Intensity 0 is the input itself (the contract of every conversion system), not a WORLD
    round trip: sample for sample, also through :meth:`convert_native`."""
    wave = synthetic_voice(1.2, 16_000)
    out = perturbed_system.convert(wave, 16_000, "angry", 0.0)
    assert out.dtype == np.float32 and np.array_equal(out, wave)
    assert np.array_equal(perturbed_system.convert_native(wave, "angry", 0.0), wave)
    changed = perturbed_system.convert(wave, 16_000, "angry", 1.0)
    assert len(changed) != len(out) or not np.allclose(changed, out, atol=1e-3)


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_output_finite_at_input_rate_and_duration(
    perturbed_system: GanConverter, emotion: str
) -> None:
    sr = 22_050
    wave = synthetic_voice(1.5, sr)
    out = perturbed_system.convert(wave, sr, emotion, 1.0)
    assert out.dtype == np.float32 and np.all(np.isfinite(out))
    assert np.max(np.abs(out)) <= 1.0
    assert 0.75 <= len(out) / len(wave) <= 1.25
    if emotion == "angry":  # rate ratio e^0.15: about 14 % shorter
        assert len(out) / len(wave) == pytest.approx(np.exp(-0.15), abs=0.03)


def test_intensity_interpolates_f0(perturbed_system: GanConverter) -> None:
    wave = synthetic_voice(1.2, 16_000)
    f0 = {}
    for a in (0.0, 0.5, 1.0):
        out = perturbed_system.convert(wave, 16_000, "sad", a)
        world = wf.analyze(out, 16_000)
        f0[a] = float(np.median(np.log(world.f0[world.f0 > 0])))
    # half intensity lands between the source and the full conversion
    lo, hi = sorted((f0[0.0], f0[1.0]))
    assert lo - 0.02 <= f0[0.5] <= hi + 0.02


@pytest.mark.skipif(not (SHIPPED / "model.pt").is_file(), reason="no shipped emotion checkpoint")
def test_shipped_checkpoint_loads_and_converts() -> None:
    payload = read_checkpoint(SHIPPED / "model.pt")  # torch.load(weights_only=True)
    assert payload["arch"] == "emotion.stargan"
    assert (SHIPPED / "model.pt").stat().st_size <= 20 * 2**20
    card = ModelCard.read(SHIPPED / "card.json")
    assert card.kind == "gan" and card.label_provenance and card.training_command
    system = GanConverter(SHIPPED, card=card)
    wave = synthetic_voice(1.5, 16_000)
    for emotion in EMOTIONS:
        out = system.convert(wave, 16_000, emotion, 1.0)
        assert np.all(np.isfinite(out)) and 0.75 <= len(out) / len(wave) <= 1.25
        assert float(np.sqrt(np.mean(out**2))) > 1e-3
    unchanged = system.convert(wave, 16_000, "angry", 0.0)
    assert np.array_equal(unchanged, wave)


@pytest.mark.skipif(not (SHIPPED / "model.pt").is_file(), reason="no shipped emotion checkpoint")
def test_shipped_checkpoint_moves_prosody_in_the_data_direction() -> None:
    """On a synthetic voice: surprise raises and sad lowers F0 relative to a neutral target,
    and sad is quieter than angry — the ordering of the training data's emotion statistics."""
    from pipeline.emotion.prosody import prosody_stats
    from pipeline.signals import synthetic_voice

    system = GanConverter(SHIPPED, card=ModelCard.read(SHIPPED / "card.json"))
    wave = synthetic_voice(2.0, 16_000, seed=3)
    stats = {
        e: prosody_stats(system.convert(wave, 16_000, e, 1.0), 16_000, f0_method="dio")
        for e in ("neutral", "angry", "sad", "surprise")
    }
    assert stats["surprise"].f0_mean_st > stats["neutral"].f0_mean_st > stats["sad"].f0_mean_st
    assert stats["angry"].energy_db > stats["sad"].energy_db


def test_envelope_weight_scales_only_the_spectral_change(perturbed_system: GanConverter) -> None:
    """Weight 0 keeps the source's spectral shape (prosody still converted); weight 1 and 0.5
    change it, 0.5 by about half as much in the log domain."""
    from pipeline.emotion.system import convert_world

    world = wf.analyze(synthetic_voice(1.2, 16_000).astype(np.float64), 16_000)
    gen, norm = perturbed_system.generator, perturbed_system.normalizer
    gen.log_rate.zero_()  # same frame count in and out, so shapes can be compared frame by frame
    try:
        out = {
            w: convert_world(gen, norm, world, "happy", 1.0, envelope_weight=w)
            for w in (0.0, 0.5, 1.0)
        }
    finally:
        gen.log_rate[EMOTIONS.index("angry")] = 0.15

    def shape(sp: np.ndarray) -> np.ndarray:
        return np.log(sp / sp.mean(axis=1, keepdims=True))

    src = shape(world.sp)
    np.testing.assert_allclose(shape(out[0.0].sp), src, atol=1e-6)
    full = np.abs(shape(out[1.0].sp) - src).mean()
    half = np.abs(shape(out[0.5].sp) - src).mean()
    assert full > 1e-4 and half == pytest.approx(full / 2, rel=0.2)
    assert not np.allclose(out[0.0].f0, world.f0)  # prosody is converted whatever the weight


def test_envelope_weight_from_checkpoint_is_checked(tmp_path) -> None:
    gen = EmotionGenerator(**TINY)
    card = ModelCard(name="t", task="emotion", title="t", kind="user")
    for weight, ok in ((0.5, True), (1.5, False)):
        folder = tmp_path / f"w{weight}"
        save_model(
            folder / "model.pt",
            gen,
            arch="emotion.stargan",
            model_kwargs=TINY,
            sample_rate=16_000,
            extra={"envelope_weight": weight},
        )
        if ok:
            assert GanConverter(folder, card=card).envelope_weight == 0.5
        else:
            with pytest.raises(ValueError, match="envelope_weight"):
                GanConverter(folder, card=card)
