"""Moved to :mod:`pipeline.metrics` (compatibility re-export for callers written before the
move; import from ``pipeline.metrics`` instead — tests/test_layering.py flags users)."""

from pipeline.metrics import *  # noqa: F403
