"""Cold start of the web app: seconds from ``python app.py --port P`` to a served page.

    python scripts/benchmark_startup.py [--port 7899] [--runs 3] [--timeout 120]

Launches the app as a fresh process each run, polls ``http://127.0.0.1:P/`` until it answers
HTTP 200 with the page, prints the seconds of each run and their median, then stops the app.
Target: <= 15 s on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
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


def cold_start(port: int, timeout: float) -> float:
    """Seconds until the page is served; raises RuntimeError on timeout or crash."""
    url = f"http://127.0.0.1:{port}/"
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while time.perf_counter() - start < timeout:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"app exited with {proc.returncode}: {proc.stderr.read()[-500:]}"
                )
            if page_served(url):
                return time.perf_counter() - start
            time.sleep(0.1)
        raise RuntimeError(f"page not served within {timeout:g} s")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7899)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    times = []
    for run in range(1, args.runs + 1):
        seconds = cold_start(args.port, args.timeout)
        times.append(seconds)
        print(f"run {run}: {seconds:.2f} s to a served page")
    print(f"median cold start: {statistics.median(times):.2f} s over {len(times)} runs")


if __name__ == "__main__":
    main()
