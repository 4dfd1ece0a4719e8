"""Moved to :mod:`pipeline.metrics` (compatibility re-export for callers written before the
move; import from ``pipeline.metrics`` instead — tests/test_layering.py flags users)."""

from pipeline.metrics import (  # noqa: F401
    intrusive_metrics,
    pause_attenuation_db,
    pesq_wb,
    si_sdr,
    snr,
    stoi,
)
