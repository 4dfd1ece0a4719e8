"""Moved to :mod:`pipeline.signals` (compatibility re-export for callers written before the
move; import ``synthetic_voice`` from ``pipeline.signals`` instead)."""

from pipeline.signals import synthetic_voice  # noqa: F401
