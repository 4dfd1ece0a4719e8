"""Reading the studio's small CSV tables (label tables, emotion manifests) with a header check.

Imports nothing of the project, so every floor may use it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path


def read_rows(
    path: str | Path, required: Iterable[str], *, error: type[Exception] = ValueError
) -> list[dict[str, str]]:
    """Every row of the UTF-8 CSV at ``path`` as a dict (header → cell).

    Raises ``error`` (one line, naming the file and the columns) when the header lacks any of
    the ``required`` columns; extra columns are kept.
    """
    with Path(path).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = sorted(set(required) - set(reader.fieldnames or []))
        if missing:
            raise error(f"{path}: missing column(s) {', '.join(missing)}")
        return list(reader)
