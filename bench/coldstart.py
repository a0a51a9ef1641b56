"""Benchmark (not a test): the wall time of a whole ``earlog decide`` process on a bundled scenario.

Run: python bench/coldstart.py [--runs 15] [--scenario facts/scenarios/lpp-accumulation.yaml]

Each run is a new process (``earlog decide SCENARIO``, output discarded), so the
figure includes Python's start-up, imports, loading the rulebook and deciding. The
first run uses an empty rulebook cache (a temporary EARLOG_CACHE_DIR): it parses and
checks the rule files and writes the cache. The others read the cache. Printed: the
first run, then the minimum and median of the rest, in wall time and in CPU time of
the process (user + system; less disturbed by other load on a shared machine).
Python writes and reads its bytecode caches as it does for a user
(PYTHONDONTWRITEBYTECODE is dropped from the runs' environment: with it, every run
compiled earlog's modules again, about 60 ms). Target (issue 15): 0.25 s wall.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _earlog() -> list[str]:
    exe = shutil.which("earlog", path=os.path.dirname(sys.executable)) or shutil.which("earlog")
    return [exe] if exe else [sys.executable, "-c", "from reasoner.cli import main; main()"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--scenario", default=str(REPO / "facts" / "scenarios" / "lpp-accumulation.yaml"))
    args = ap.parse_args()
    cmd = [*_earlog(), "decide", args.scenario]
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["EARLOG_CACHE_DIR"] = cache
        times, cpus = [], []
        for _ in range(args.runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    warm, warm_cpu = times[1:], cpus[1:]
    print(f"earlog decide {Path(args.scenario).name}, {args.runs} processes")
    print(f"  first run (empty rulebook cache): {times[0]:.3f} s wall, {cpus[0]:.3f} s CPU")
    print(f"  cached rulebook: wall min {min(warm):.3f} s, median {statistics.median(warm):.3f} s "
          f"(target 0.25 s); CPU min {min(warm_cpu):.3f} s, median "
          f"{statistics.median(warm_cpu):.3f} s")


if __name__ == "__main__":
    main()
