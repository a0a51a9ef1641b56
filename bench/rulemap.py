"""Benchmark (not a test): the size and cost of ``earlog rules --graph`` per level.

Run: python bench/rulemap.py [--regime ifr] [--lang en] [--repeat 3]

For ``--level element`` (the default map) and ``--level full`` it prints the graph's
nodes and edges, the Graphviz render time of the PNG alone (median of --repeat), the PNG's
pixel size, and the wall time and peak memory of the whole command
(``earlog rules --graph --level L --format png -o FILE``, each run in a fresh process).
Target (issue 13, item 8): the element map at most ~2000 px wide, rendered well under a
few seconds.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from reasoner.law.rulebook import load_rulebook
from reasoner.proof.rulegraph import rule_graph, rules_dot
from reasoner.proof.rulemap import element_map, element_map_dot
from reasoner.render import to_image


def _command(level: str, regime: str, lang: str, out: Path) -> list[str]:
    earlog = Path(sys.executable).with_name("earlog")
    return [str(earlog), "rules", "--graph", "--level", level, "--regime", regime, "--lang", lang,
            "--format", "png", "-o", str(out)]


def _one(level: str, regime: str, lang: str) -> None:
    """Child mode: run the command once, print wall seconds and peak RSS (MB) of it."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run(_command(level, regime, lang, Path(tmp) / "g.png"), check=True)
        wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{wall:.3f} {peak:.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--regime", default="ifr")
    ap.add_argument("--lang", default="en")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        _one(args.one, args.regime, args.lang)
        return
    checked = load_rulebook(args.regime).checked
    graphs = {"element": element_map(checked), "full": rule_graph(checked)}
    dots = {"element": element_map_dot(graphs["element"], args.lang),
            "full": rules_dot(graphs["full"], args.lang)}
    print(f"earlog rules --graph, regime {args.regime}, lang {args.lang}")
    print(f"{'level':8} {'nodes':>5} {'edges':>5} {'PNG px':>13} {'dot (s)':>8} "
          f"{'command (s)':>11} {'peak MB':>8}")
    for level in ("element", "full"):
        times = []
        for _ in range(max(1, args.repeat if level == "element" else 1)):
            start = time.perf_counter()
            png = to_image(dots[level], "png", timeout=300)
            times.append(time.perf_counter() - start)
        width, height = struct.unpack(">II", png[16:24])
        child = subprocess.run([sys.executable, __file__, "--one", level, "--regime", args.regime,
                                "--lang", args.lang], capture_output=True, text=True, check=True,
                               env=dict(os.environ))
        wall, peak = child.stdout.split()
        g = graphs[level]
        print(f"{level:8} {g.number_of_nodes():5d} {g.number_of_edges():5d} "
              f"{f'{width} x {height}':>13} {statistics.median(times):8.2f} {float(wall):11.2f} "
              f"{float(peak):8.0f}")


if __name__ == "__main__":
    main()
