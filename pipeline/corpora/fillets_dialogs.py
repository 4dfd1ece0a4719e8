"""Dialog lines of Fish Fillets NG, parsed from its Lua scripts (``dialogs_<lang>.lua``).

:func:`load_fillets_dialogs` maps a dialog id (the voice file's stem) to its line: the
speaking character, the English original and the translation. Used by
:func:`pipeline.corpora.sources.list_fillets`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_LUA_STR = r'"((?:[^"\\]|\\.)*)"'
_DIALOG_RE = re.compile(
    r"dialogId\(\s*" + _LUA_STR + r"\s*,\s*" + _LUA_STR + r"\s*,\s*" + _LUA_STR + r"\s*\)"
    r"(?:\s*dialogStr\(\s*" + _LUA_STR + r"\s*\))?",
    re.S,
)
# Fonts that name a character; generic colour fonts (white, lightgrey...) do not.
_CHARACTER_FONTS = {"font_small": "m", "font_big": "v"}
_GENERIC_FONTS = {"", "font_white", "font_lightgrey", "font_darkgrey", "font_green", "font_pink"}


@dataclass(frozen=True)
class FilletsLine:
    """One dialog line of Fish Fillets NG: ``character`` is a speaker id within a language."""

    dialog_id: str
    level: str
    character: str
    text_en: str
    text: str


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s).strip()


def fillets_character(dialog_id: str, font: str, level: str) -> str:
    """Speaker id of a dialog line.

    The small fish speaks in ``font_small`` (ids ``<lvl>-m-...``) and the big fish in
    ``font_big`` (``<lvl>-v-...``); other named fonts are recurring characters
    (``font_parrot`` -> ``parrot``, ``font_viking3`` -> ``viking3``). Lines in a generic
    font are attributed to a level-local character ``<level>.<code>`` taken from the id.
    """
    if font in _CHARACTER_FONTS:
        return _CHARACTER_FONTS[font]
    if font not in _GENERIC_FONTS:
        return font.removeprefix("font_")
    parts = dialog_id.split("-")
    code = parts[1] if len(parts) > 2 else parts[0]
    return f"{level}.{code}"


def parse_fillets_dialogs(text: str, level: str) -> list[FilletsLine]:
    """Parse a ``dialogs_<lang>.lua`` file.

    ``dialogId("id", "font", "English")`` optionally followed by ``dialogStr("translation")``.
    For ``dialogs_en.lua`` the translation is the English text itself.
    """
    lines = []
    for m in _DIALOG_RE.finditer(text):
        did, font, en, tr = m.group(1), m.group(2), m.group(3), m.group(4)
        en = _unescape(en)
        lines.append(
            FilletsLine(
                dialog_id=did,
                level=level,
                character=fillets_character(did, font, level),
                text_en=en,
                text=_unescape(tr) if tr is not None else en,
            )
        )
    return lines


def fillets_root(root: Path) -> Path:
    return root / "usr" / "share" / "games" / "fillets-ng"


def load_fillets_dialogs(scripts_root: Path, language: str) -> dict[str, FilletsLine]:
    """Map dialog id -> line for one language from ``script/*/dialogs_<language>.lua``."""
    table: dict[str, FilletsLine] = {}
    for lua in sorted((fillets_root(scripts_root) / "script").glob(f"*/dialogs_{language}.lua")):
        for line in parse_fillets_dialogs(lua.read_text(encoding="utf-8"), lua.parent.name):
            table.setdefault(line.dialog_id, line)
    return table
