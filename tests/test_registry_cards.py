"""Registry discovery and loading, model cards, and the api's use of a registry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline import api
from pipeline.cards import ModelCard
from pipeline.checkpoint import save_model
from pipeline.enhance.model import MaskGenerator
from pipeline.registry import DEFAULT_GAN, Registry, UnknownSystemError
from pipeline.signals import synthetic_voice

TINY = {"n_fft": 256, "hop": 64, "hidden": 8, "gru_layers": 1, "lookahead": 0}


def _user_model(root: Path, name: str, *, card: bool = True) -> Path:
    """A tiny trained-enhancer folder ``root/enhance/<name>/`` (random weights)."""
    folder = root / "enhance" / name
    model = MaskGenerator(**TINY)
    save_model(
        folder / "model.pt", model, arch="enhance.mask_gan", model_kwargs=TINY, sample_rate=16_000
    )
    if card:
        ModelCard(
            name=name,
            task="enhance",
            title=f"Tiny {name}",
            kind="user",
            architecture="MaskGenerator (test size)",
            parameters=sum(p.numel() for p in model.parameters()),
            sample_rate=16_000,
            training_data="none: random weights for a registry test",
            label_provenance="not applicable",
        ).write(folder / "card.json")
    return folder


def test_builtin_baselines_without_checkpoints(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    for task in ("enhance", "emotion"):
        assert "dsp" in registry.names(task)
        assert registry.default(task) == "dsp"
        card = registry.card(task, "dsp")
        assert card.task == task and card.kind == "dsp"
        text = card.to_markdown()
        assert text.startswith("### ") and "`dsp`" in text


def test_unknown_task_and_system(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    with pytest.raises(ValueError, match="unknown task"):
        registry.entries("denoise")
    with pytest.raises(UnknownSystemError) as info:
        registry.get("enhance", "nope")
    message = str(info.value)
    assert message.startswith("unknown enhance system 'nope'") and "dsp" in message
    assert "\n" not in message


def test_systems_are_loaded_once(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    assert registry.get("enhance", "dsp") is registry.get("enhance", None)
    assert registry.get("emotion", "dsp") is registry.get("emotion", "dsp")


def test_user_checkpoint_is_listed_carded_and_loaded(tmp_path: Path) -> None:
    _user_model(tmp_path, "my-model")
    registry = Registry(tmp_path)
    entries = registry.entries("enhance")
    assert entries[0].name == "my-model" and entries[0].kind == "user"
    assert registry.default("enhance") == "dsp"  # a user model is not the default
    card = registry.card("enhance", "my-model")
    assert card.title == "Tiny my-model" and card.parameters > 0
    assert ("enhance", "my-model") not in registry._loaded  # card read without loading
    wave = synthetic_voice(1.0, 22_050)
    out = api.enhance(wave, 22_050, model="my-model", registry=registry)
    assert out.shape == wave.shape and out.dtype == np.float32
    assert np.all(np.isfinite(out))


def test_shipped_gan_name_becomes_default(tmp_path: Path) -> None:
    _user_model(tmp_path, DEFAULT_GAN["enhance"])
    _user_model(tmp_path, "another")
    registry = Registry(tmp_path)
    assert registry.default("enhance") == DEFAULT_GAN["enhance"]
    assert registry.names("enhance")[0] == DEFAULT_GAN["enhance"]


def test_checkpoint_without_card_gets_a_placeholder(tmp_path: Path) -> None:
    _user_model(tmp_path, "bare", card=False)
    card = Registry(tmp_path).card("enhance", "bare")
    assert card.kind == "user" and "No model card" in card.summary


def test_folder_without_weights_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "enhance" / "empty").mkdir(parents=True)
    assert "empty" not in Registry(tmp_path).names("enhance")


def test_broken_card_is_reported(tmp_path: Path) -> None:
    folder = _user_model(tmp_path, "broken")
    (folder / "card.json").write_text(json.dumps({"name": "broken", "colour": "red"}))
    registry = Registry(tmp_path)
    assert "broken" in registry.names("enhance")
    with pytest.raises(ValueError, match="unknown model card fields"):
        registry.card("enhance", "broken")


def test_card_round_trip_and_markdown(tmp_path: Path) -> None:
    card = ModelCard(
        name="x",
        task="emotion",
        title="X",
        kind="gan",
        parameters=1234,
        sample_rate=16_000,
        training_command="python -m pipeline.train emotion --config c.yaml",
        metrics={"emotion_accuracy": 0.5},
    )
    path = card.write(tmp_path / "card.json")
    assert ModelCard.read(path) == card
    text = card.to_markdown()
    assert "| Parameters | 1,234 |" in text
    assert "python -m pipeline.train emotion" in text
    assert "| emotion_accuracy | 0.5 |" in text


def test_shipped_checkpoints_have_cards() -> None:
    registry = Registry()
    for task in ("enhance", "emotion"):
        for entry in registry.entries(task):
            if entry.path is not None:
                card = registry.card(task, entry.name)
                assert card.training_data and card.label_provenance and card.training_command
