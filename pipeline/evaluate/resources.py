"""Speed and memory of a piece of work: wall time, CPU time, peak resident-memory increase.

Memory is measured as the growth of the process's *peak resident set size* while the work
runs: Linux's high-water mark ``VmHWM`` is reset to the current RSS at the start (by
writing ``5`` to ``/proc/self/clear_refs``) and read at the end; the reported figure is
``VmHWM(end) - VmRSS(start)``. It therefore counts every allocator in the process (numpy,
torch, onnxruntime, Rust extensions), but not memory an allocator already held from
earlier work and re-used. Where the reset is not possible (non-Linux, restricted
``/proc``) the memory figure is ``nan``.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> float:
    """A ``kB`` field of ``/proc/self/status`` in KiB, ``nan`` if unavailable."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1])
    except OSError:
        pass
    return math.nan


def current_rss_mib() -> float:
    """Resident set size of this process in MiB (``nan`` off Linux)."""
    return _status_kib("VmRSS") / 1024.0


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS; ``False`` if not supported."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError as err:
        log.debug("cannot reset VmHWM: %s", err)
        return False
    return True


@dataclass
class Measurement:
    """Result of one :class:`ResourceMeter` block. Times in seconds, memory in MiB."""

    wall_s: float = math.nan
    cpu_s: float = math.nan
    rss_start_mib: float = math.nan
    peak_rss_delta_mib: float = math.nan

    def rtf(self, audio_seconds: float) -> float:
        """Real-time factor: wall-clock processing time / audio duration."""
        return self.wall_s / audio_seconds if audio_seconds > 0 else math.nan


class ResourceMeter:
    """Context manager measuring one block::

    with ResourceMeter() as meter:
        out = system.enhance(wave, sr)
    meter.result.wall_s, meter.result.peak_rss_delta_mib
    """

    def __init__(self) -> None:
        self.result = Measurement()
        self._ok = False
        self._t0 = self._c0 = 0.0

    def __enter__(self) -> ResourceMeter:
        self._ok = reset_peak_rss()
        self.result.rss_start_mib = current_rss_mib()
        self._c0 = time.process_time()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.result.wall_s = time.perf_counter() - self._t0
        self.result.cpu_s = time.process_time() - self._c0
        if self._ok:
            peak = _status_kib("VmHWM") / 1024.0
            self.result.peak_rss_delta_mib = max(0.0, peak - self.result.rss_start_mib)
