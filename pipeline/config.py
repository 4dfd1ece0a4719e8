"""Configs are (nested) dataclasses; this module turns them into YAML and back, strictly.

Unknown keys are an error (a typo must not silently fall back to a default), nested
dataclass fields are rebuilt recursively, and dotted overrides such as
``train.steps=200`` can be applied on top of a file (values parsed as YAML scalars).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A config file or override does not match its dataclass."""


def _nested_type(cls: type, name: str) -> type | None:
    hint = typing.get_type_hints(cls).get(name)
    return hint if dataclasses.is_dataclass(hint) else None


def from_dict(cls: type[T], data: dict[str, Any], *, where: str = "") -> T:
    """Build dataclass ``cls`` from plain ``data``, recursing into nested dataclasses."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where or cls.__name__}: expected a mapping, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"{where or cls.__name__}: unknown keys {unknown} (known: {sorted(names)})"
        )
    kwargs = {}
    for key, value in data.items():
        nested = _nested_type(cls, key)
        if nested is not None and isinstance(value, dict):
            value = from_dict(nested, value, where=f"{where}{key}.")
        kwargs[key] = value
    return cls(**kwargs)


def to_dict(config: Any) -> dict[str, Any]:
    """A dataclass instance as plain nested dicts (YAML/JSON/``torch.load``-safe)."""
    return dataclasses.asdict(config)


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``"a.b=value"`` strings to nested ``data`` (a copy is returned)."""
    out = yaml.safe_load(yaml.safe_dump(data)) or {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {part} is not a section")
        node[leaf] = yaml.safe_load(raw)
    return out


def add_overrides_argument(parser: argparse.ArgumentParser, help: str) -> None:
    """Add the repeatable ``--set KEY=VALUE`` option (into ``args.overrides``) to ``parser``."""
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=help
    )


def add_option_arguments(
    parser: argparse.ArgumentParser,
    defaults: Any,
    types: dict[str, type],
    helps: dict[str, str] | None = None,
) -> None:
    """One ``--some-name`` option per field ``some_name`` of ``types`` (field → type), with
    the default of the dataclass instance ``defaults``; a ``bool`` field is a flag. Read the
    values back with :func:`option_values`."""
    helps = helps or {}
    for name, kind in types.items():
        flag = "--" + name.replace("_", "-")
        if kind is bool:
            parser.add_argument(flag, action="store_true", help=helps.get(name))
        else:
            default = getattr(defaults, name)
            parser.add_argument(flag, type=kind, default=default, help=helps.get(name))


def option_values(args: argparse.Namespace, names: typing.Iterable[str]) -> dict[str, Any]:
    """``name`` → ``args.name`` for every name (the fields :func:`add_option_arguments` added)."""
    return {name: getattr(args, name) for name in names}


def load_config(cls: type[T], path: str | Path | None, overrides: list[str] | None = None) -> T:
    """Read YAML (or JSON) ``path`` into ``cls``; ``path=None`` starts from the defaults."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError(f"cannot read config {path}: {err}") from err
    return from_dict(cls, apply_overrides(data, overrides or []))


def save_config(config: Any, path: str | Path) -> Path:
    """Write ``config`` as YAML atomically (temp file + ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(to_dict(config), handle, sort_keys=False)
    os.replace(tmp, path)
    return path
