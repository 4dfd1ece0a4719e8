"""The line format of a ratings CSV, shared by the file store and the database store.

One rating is one line: the :data:`COLUMNS` cells, formatted by :func:`format_line` (text
neutralised for CSV and spreadsheets, numbers formatted by the store and finite), and a
``row_crc32`` of the rest of the line, so a torn or corrupt line is recognised on reading
(:func:`parse_line`). No field ever needs quoting.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

COLUMNS: tuple[str, ...] = (
    "timestamp",
    "test_id",
    "listener_id",
    "session_id",
    "stimulus_id",
    "system",
    "item_id",
    "question",
    "score",
    "play_count",
    "listened_s",
    "response_ms",
    "is_gold",
    "is_trap",
    "app_version",
    "condition",
    "position",
    "order",
    "expected",
    "label",
    "certainty",
    "truth",
)
#: the columns of ratings files written before the emotion kinds (no label/certainty/truth);
#: such a file still loads, and appends to it keep its layout (a row with a label is refused)
LEGACY_COLUMNS: tuple[str, ...] = COLUMNS[: COLUMNS.index("label")]
#: emotion answers: ``label`` the chosen category, ``certainty`` the listener's own
#: confidence 1..5, ``truth`` the stimulus's hidden intended emotion / gold label
LABEL_COLUMNS = ("label", "certainty", "truth")
CRC_COLUMN = "row_crc32"
NUMERIC = {"score", "play_count", "listened_s", "response_ms", "position", "expected", "certainty"}
BOOLEAN = {"is_gold", "is_trap"}
KEY = ("listener_id", "stimulus_id")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
FORMULA_START = ("=", "+", "-", "@")


class RatingError(ValueError):
    """A row that cannot be stored (missing key, non-numeric score...)."""


def neutralise(value: Any) -> str:
    """Make a free-text value safe for CSV without quoting and for spreadsheets."""
    text = _CONTROL.sub(" ", str(value)).replace('"', "'").replace(",", ";").strip()
    if text.startswith(FORMULA_START):
        text = "'" + text
    return text


def _number(name: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RatingError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise RatingError(f"{name} must be finite, got {value!r}")
    return str(int(number)) if number.is_integer() else f"{number:.4f}".rstrip("0")


def format_line(row: Mapping[str, Any], columns: tuple[str, ...] = COLUMNS) -> bytes:
    """One complete CSV line (with CRC and newline) for ``row``; missing columns are empty.

    ``columns`` is the file's layout (:data:`COLUMNS`, or :data:`LEGACY_COLUMNS` for a file
    written before the label columns: then a row with a label column set is refused).
    """
    extra = set(row) - set(COLUMNS)
    if extra:
        raise RatingError(f"unknown rating columns: {', '.join(sorted(extra))}")
    dropped = [c for c in COLUMNS if c not in columns and row.get(c) not in (None, "")]
    if dropped:
        raise RatingError(
            f"this ratings file predates the {', '.join(dropped)} column(s); "
            "store emotion answers in a new test folder"
        )
    cells = []
    for name in columns:
        value = row.get(name)
        if name in NUMERIC:
            cells.append(_number(name, value))
        elif name in BOOLEAN:
            cells.append("1" if value in (True, 1, "1", "true", "True") else "0")
        else:
            cells.append("" if value is None else neutralise(value))
    body = ",".join(cells)
    return f"{body},{zlib.crc32(body.encode()):08x}\n".encode()


def parse_line(line: str, header: list[str]) -> dict[str, str] | None:
    """Fields of one stored line, or None when it is torn or corrupt (CRC mismatch)."""
    cells = line.split(",")
    if len(cells) != len(header):
        return None
    if header[-1] == CRC_COLUMN:
        body = line.rsplit(",", 1)[0]
        if f"{zlib.crc32(body.encode()):08x}" != cells[-1]:
            return None
    return dict(zip(header, cells, strict=True))


HEADER = (",".join((*COLUMNS, CRC_COLUMN)) + "\n").encode()
LEGACY_HEADER = (",".join((*LEGACY_COLUMNS, CRC_COLUMN)) + "\n").encode()


def utc_now() -> str:
    """UTC ISO 8601 timestamp with milliseconds, e.g. ``2026-01-31T12:00:00.123Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stamped(row: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``row`` with ``timestamp`` set to :func:`utc_now` when absent."""
    row = dict(row)
    row.setdefault("timestamp", utc_now())
    return row


def rating_key(row: Mapping[str, Any]) -> tuple[str, ...]:
    """The row's :data:`KEY` cells, neutralised; :class:`RatingError` when one is empty."""
    key = tuple(neutralise(row.get(k) or "") for k in KEY)
    if not all(key):
        raise RatingError(f"a rating needs {' and '.join(KEY)}")
    return key


def row_cells(row: Mapping[str, Any]) -> dict[str, str]:
    """The row's cells exactly as :func:`format_line` writes them (validated)."""
    fields = parse_line(format_line(row).decode().rstrip("\n"), [*COLUMNS, CRC_COLUMN])
    fields.pop(CRC_COLUMN)
    return fields
