"""Model cards: the schema every system (trained, rule-based or peer) describes itself with.

A trained system's card is ``checkpoints/<task>/<name>/card.json``; rule-based and peer
systems build theirs in code. :func:`ModelCard.to_markdown` is what the app's About tab and
the README show.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass
class ModelCard:
    """What a system is, what it was trained on, where its labels came from, how well it does.

    ``metrics`` maps a metric name to a number or string (as measured, never typed in by
    hand); ``metrics_table`` is an optional markdown table produced by ``pipeline.evaluate``.
    """

    name: str
    task: str  # "enhance" | "emotion"
    title: str
    kind: str  # "gan" | "dsp" | "peer" | "user"
    summary: str = ""
    architecture: str = ""
    parameters: int | None = None
    sample_rate: int | None = None
    training_data: str = ""
    label_provenance: str = ""
    training_command: str = ""
    recipe: str = ""  # the recipe file (recipes/*.yaml) that produced the weights, if any
    training_steps: int | None = None
    training_time: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    metrics_table: str = ""
    limitations: str = ""
    license: str = ""
    citation: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model card fields: {sorted(unknown)}")
        return cls(**data)

    @classmethod
    def read(cls, path: str | Path) -> ModelCard:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"cannot read model card {path}: {err}") from err
        return cls.from_dict(data)

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n", "utf-8")
        tmp.replace(path)
        return path

    def key_figures(self, limit: int = 8) -> list[tuple[str, str]]:
        """A few measured figures of this system, as ``(name, value)`` strings.

        Taken from the first table of :attr:`metrics_table` with a row for this system
        (``name`` or `` `name` `` in the first column), else from :attr:`metrics` entries
        that name the system; empty when the card measures nothing about it.
        """
        row = table_row(self.metrics_table, self.name)
        if row:
            figures = [(k, v) for k, v in row[1:] if v not in ("", "–", "-")]
        else:
            figures = [
                (k.replace(self.name, "").replace("  ", " ").strip(), str(v))
                for k, v in self.metrics.items()
                if self.name in k
            ]
        return figures[:limit]

    def to_markdown(self) -> str:
        """Render the card as markdown: headline, summary, key figures, data and labels,
        limitations, then the facts table, training command, metrics and citation folded
        in an HTML ``<details>`` block."""
        lines = [f"### {self.title}", "", self.summary]
        figures = self.key_figures()
        if figures:
            lines += ["", "**Key figures:** " + " · ".join(f"{k} **{v}**" for k, v in figures)]
        for heading, text in (
            ("Training data", self.training_data),
            ("Where the labels came from", self.label_provenance),
            ("Limitations", self.limitations),
        ):
            if text:
                lines += ["", f"**{heading}.** {text}"]
        lines += ["", "<details><summary>Details: facts, training, metrics, citation</summary>"]
        lines += ["", *self._details(), "", "</details>"]
        return "\n".join(lines).strip() + "\n"

    def _details(self) -> list[str]:
        """Markdown lines of the folded part of :meth:`to_markdown`."""
        rows = [
            ("System", f"`{self.name}` ({self.kind})"),
            ("Task", self.task),
            ("Architecture", self.architecture),
            ("Parameters", f"{self.parameters:,}" if self.parameters else ""),
            ("Sample rate", f"{self.sample_rate} Hz" if self.sample_rate else ""),
            ("Training steps", f"{self.training_steps:,}" if self.training_steps else ""),
            ("Training time", self.training_time),
            ("Licence", self.license),
        ]
        lines = ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows if v]
        if self.recipe:
            lines += [
                "",
                f"**Training recipe.** `{self.recipe}` (stages, configs and resume points).",
            ]
        if self.training_command:
            lines += ["", "**Training command.**", "", f"```\n{self.training_command}\n```"]
        if self.metrics_table or self.metrics:
            lines += ["", "**Measured metrics.**"]
        if self.metrics_table:
            lines += ["", self.metrics_table]
        if self.metrics:
            lines += ["", "| metric | value |", "|---|---|"]
            lines += [f"| {k} | {v} |" for k, v in self.metrics.items()]
        if self.citation:
            lines += ["", f"**Citation.** {self.citation}"]
        return lines


def recipe_command(recipe: str) -> str:
    """The one command that runs (or resumes) the recipe file ``recipe``."""
    return f"python -m pipeline.train recipe {recipe}"


def table_row(markdown: str, name: str) -> list[tuple[str, str]]:
    """The first row of a markdown table in ``markdown`` whose first cell is ``name`` (bare
    or in backticks), as ``(column header, cell)`` pairs; ``[]`` when there is none."""
    header: list[str] = []
    for line in markdown.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            header = []
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if not header:
            header = cells
        elif set("".join(cells)) <= set("-: "):
            continue
        elif cells[0].strip("`") == name and len(cells) == len(header):
            return list(zip(header, cells, strict=True))
    return []
