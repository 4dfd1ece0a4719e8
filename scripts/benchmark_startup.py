"""Cold start of the web app: seconds from ``python app.py --port P`` to a served page.

    python scripts/benchmark_startup.py [--port 7899] [--runs 3] [--timeout 120]

Launches the app as a fresh process each run, polls ``http://127.0.0.1:P/`` until it answers
HTTP 200 with the page, prints the seconds of each run and their median, then stops the app.
Also printed: the CPU time (user + sys) the app process used up to that point, which does not
grow when other jobs load the machine (on an idle machine wall time is close to it) and the
1-minute load average, so a slow figure on a busy machine can be told apart.
Target: <= 15 s on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def page_served(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200 and b"<html" in response.read(4096).lower()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def cold_start(port: int, timeout: float) -> tuple[float, float]:
    """(wall seconds, app CPU seconds) until the page is served; RuntimeError on failure."""
    url = f"http://127.0.0.1:{port}/"
    cpu_before = _children_cpu()
    # the app's output goes to a file, not a pipe: a full pipe would block the app
    with tempfile.TemporaryFile(mode="w+") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(port)],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wall = _wait_until_served(proc, url, start, timeout)
        except RuntimeError as err:
            log.seek(0)
            raise RuntimeError(f"{err}; app output: {log.read()[-500:]}") from None
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    # CPU time is known once the child is reaped; it includes the few ms of shutdown.
    return wall, _children_cpu() - cpu_before


def _wait_until_served(proc: subprocess.Popen, url: str, start: float, timeout: float) -> float:
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited with {proc.returncode}")
        if page_served(url):
            return time.perf_counter() - start
        time.sleep(0.1)
    raise RuntimeError(f"page not served within {timeout:g} s")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7899)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    walls, cpus = [], []
    for run in range(1, args.runs + 1):
        load = os.getloadavg()[0]
        wall, cpu = cold_start(args.port, args.timeout)
        walls.append(wall)
        cpus.append(cpu)
        print(f"run {run}: {wall:.2f} s to a served page (app CPU {cpu:.2f} s, load {load:.1f})")
    print(
        f"median cold start: {statistics.median(walls):.2f} s wall, "
        f"{statistics.median(cpus):.2f} s app CPU over {len(walls)} runs"
    )


if __name__ == "__main__":
    main()
