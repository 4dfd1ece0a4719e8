"""Recipe files (recipes/*.yaml) and their runner, ``python -m pipeline.train recipe``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from test_training_cli import TINY

from pipeline.cards import ModelCard
from pipeline.config import ConfigError, load_config, to_dict
from pipeline.train import cli as train
from pipeline.train.recipe import NOT_FINISHED, RecipeRun, load_recipe

REPO = Path(__file__).resolve().parent.parent
RECIPES = sorted((REPO / "recipes").glob("*.yaml"))
#: settings of a run that do not change what it trains
RUN_PLACE = {"out_dir", "deadline_utc", "device", "stop_at"}


def _write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _tiny_recipe(tmp_path: Path) -> Path:
    config = _write(tmp_path / "tiny.yaml", TINY)
    stages = [
        {"name": "warm", "task": "enhance", "config": str(config), "steps": 6, "stop_at": 4},
        {"name": "rest", "task": "enhance", "config": str(config), "steps": 6, "resume": "warm"},
    ]
    return _write(tmp_path / "tiny_recipe.yaml", {"name": "tiny", "stages": stages})


def _state(run: Path) -> dict:
    return torch.load(run / "train_state.pt", map_location="cpu", weights_only=True)


def test_two_stage_recipe_runs_resumes_and_skips_finished_stages(tmp_path, capsys):
    recipe, runs = _tiny_recipe(tmp_path), tmp_path / "runs"
    argv = ["recipe", str(recipe), "--run-dir", str(runs)]
    # interrupted at once (a deadline in the past): the first stage stops at step 1
    past = ["--set", "train.deadline_utc=2000-01-01T00:00:00Z"]
    assert train.main(argv + past) == NOT_FINISHED
    assert _state(runs / "warm")["step"] == 1 and not (runs / "rest").exists()
    # run again: warm resumes to its stop_at, rest continues from a copy of it
    assert train.main(argv) == 0
    assert _state(runs / "warm")["step"] == 4 and _state(runs / "rest")["step"] == 6
    # the same weights as one uninterrupted 6-step run (exact resume across the stages)
    straight = tmp_path / "straight"
    config = str(tmp_path / "tiny.yaml")
    assert train.main(["enhance", "--config", config, "--set", f"train.out_dir={straight}"]) == 0
    for module, tensors in _state(straight)["modules"].items():
        for key, tensor in tensors.items():
            torch.testing.assert_close(_state(runs / "rest")["modules"][module][key], tensor)
    # a third run trains nothing: both stages are done
    stamps = {s: (runs / s / "train_state.pt").stat().st_mtime_ns for s in ("warm", "rest")}
    assert train.main(argv) == 0
    assert stamps == {s: (runs / s / "train_state.pt").stat().st_mtime_ns for s in stamps}
    capsys.readouterr()
    assert train.main([*argv, "--dry-run"]) == 0
    assert capsys.readouterr().out.count(": done") == 2


def test_command_stages_run_once(tmp_path):
    counter = tmp_path / "count.txt"
    append = f"python -c \"open({str(counter)!r}, 'a').write('x')\""
    made = tmp_path / "made.txt"
    create = f"python -c \"open({str(made)!r}, 'a').write('y')\""
    recipe = _write(
        tmp_path / "r.yaml",
        {
            "name": "commands",
            "stages": [
                {"name": "marked", "run": append},
                {"name": "creating", "run": create, "creates": [str(made)]},
            ],
        },
    )
    argv = ["recipe", str(recipe), "--run-dir", str(tmp_path / "runs")]
    assert train.main(argv) == 0 and train.main(argv) == 0
    assert counter.read_text() == "x" and made.read_text() == "y"
    assert json.loads((tmp_path / "runs" / "marked.done").read_text())["command"] == append


def test_a_failing_command_stops_the_recipe_with_a_clear_error(tmp_path, capsys):
    stages = [{"name": "fails", "run": 'python -c "raise SystemExit(4)"'}]
    recipe = _write(tmp_path / "r.yaml", {"name": "x", "stages": stages})
    assert train.main(["recipe", str(recipe), "--run-dir", str(tmp_path / "runs")]) == 2
    assert "stage 'fails'" in capsys.readouterr().err
    assert not (tmp_path / "runs" / "fails.done").exists()


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ([{"name": "a", "task": "enhance", "config": "c.yaml", "resume": "b"}], "resume"),
        ([{"name": "a", "task": "enhance", "config": "c.yaml", "stpes": 3}], "stpes"),
        ([{"name": "a", "task": "enhance", "config": "c.yaml", "run": "ls"}], "either"),
        ([{"name": "a", "task": "nope", "config": "c.yaml"}], "task must be"),
        ([{"name": "a", "run": "ls"}, {"name": "a", "run": "ls"}], "unique"),
        ([{"name": "a", "run": "ls", "creates": "out.txt"}], "list of paths"),
        ([{"run": "ls"}], "name"),
    ],
)
def test_bad_recipes_are_rejected_with_the_reason(tmp_path, stages, message):
    with pytest.raises(ConfigError, match=message):
        load_recipe(_write(tmp_path / "r.yaml", {"name": "x", "stages": stages}))


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_every_recipe_loads_and_describes_its_stages(path, tmp_path):
    recipe = load_recipe(path)
    text = RecipeRun(recipe, tmp_path).describe()
    assert all(f"{stage.name}: " in text for stage in recipe.stages)
    for stage in recipe.stages:
        assert not stage.is_training or (REPO / stage.config).is_file(), stage.config


@pytest.mark.parametrize(
    "path", [p for p in RECIPES if load_recipe(p).shipped_to], ids=lambda p: p.stem
)
def test_recipe_of_a_shipped_model_gives_the_config_it_was_trained_with(path, tmp_path):
    """Every setting in the shipped folder's config.yaml is what the recipe's last stage sets
    (apart from where and until when it ran)."""
    from pipeline.train.cli import resolve_trainer

    recipe = load_recipe(path)
    stage = recipe.stages[-1]
    config_class = resolve_trainer(stage.task).config_class
    ours = to_dict(
        load_config(config_class, stage.config, RecipeRun(recipe, tmp_path).stage_overrides(stage))
    )
    shipped = yaml.safe_load((REPO / recipe.shipped_to / "config.yaml").read_text())
    for section, values in shipped.items():
        for key, value in values.items():
            if section == "train" and key in RUN_PLACE:
                continue
            assert as_yaml_value(ours[section][key]) == value, f"{section}.{key}"


def as_yaml_value(value):
    """``value`` as YAML reads it back: tuples (dataclass defaults) become lists."""
    if isinstance(value, dict):
        return {k: as_yaml_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_yaml_value(v) for v in value]
    return value


def test_shipped_cards_point_at_the_recipe_that_made_them():
    cards = sorted((REPO / "checkpoints").rglob("card.json"))
    assert cards
    for path in cards:
        card = ModelCard.read(path)
        assert card.recipe, path
        recipe = load_recipe(REPO / card.recipe)
        folder = str(path.parent.relative_to(REPO))
        assert recipe.shipped_to == folder or any(
            folder in " ".join(s.creates) for s in recipe.stages
        ), (path, card.recipe)
        assert f"`{card.recipe}`" in card.to_markdown()
