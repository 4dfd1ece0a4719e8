"""Target checks shared by the evaluation reports: measured value vs threshold, pass/fail."""

from __future__ import annotations

import math
import operator
from dataclasses import asdict, dataclass

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


@dataclass(frozen=True)
class Target:
    """One target: ``value <op> threshold``. ``passed`` is ``False`` when not measured (nan)."""

    name: str
    value: float
    op: str
    threshold: float
    passed: bool

    @property
    def measured(self) -> bool:
        return math.isfinite(self.value)

    def as_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        """One human-readable line, e.g. ``PASS  PESQ gain 0.91 >= 0.8``."""
        status = "PASS" if self.passed else ("FAIL" if self.measured else "N/A ")
        value = f"{self.value:+.3f}" if self.measured else "not measured"
        return f"{status}  {self.name}: {value} (target {self.op} {self.threshold:g})"


def check(name: str, value: float, op: str, threshold: float) -> Target:
    """Build a :class:`Target`; ``op`` is one of ``>=, <=, >, <``."""
    value = float(value)
    passed = math.isfinite(value) and bool(_OPS[op](value, threshold))
    return Target(name, value, op, float(threshold), passed)


def targets_markdown(targets: list[Target]) -> str:
    """A markdown table of target checks."""
    lines = ["| target | measured | threshold | result |", "|---|---|---|---|"]
    for t in targets:
        value = f"{t.value:+.3f}" if t.measured else "not measured"
        result = "pass" if t.passed else ("**miss**" if t.measured else "n/a")
        lines.append(f"| {t.name} | {value} | {t.op} {t.threshold:g} | {result} |")
    return "\n".join(lines)
