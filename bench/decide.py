"""Benchmark (not a test): ``decide`` on one consignee's LPP shipments, 100 / 1,000 / 10,000.

Run: python bench/decide.py [--sizes 100,1000,10000] [--repeat 1]

Each size is a generated scenario: one Tier 2 consignee receiving one H100 per
transaction (LPP-eligible until the 26,900,000 TPP cap runs out, then license
required), spread over one calendar year. It prints, per size, the time to load
the scenario and the time of ``decision.decide`` (best of --repeat), and the
decide time per transaction. Target (issue 15): 10,000 in at most 5 s, growing
linearly (the per-transaction figure stays flat).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from reasoner.law.decision import decide
from reasoner.law.scenario import load_scenario

HEAD = """\
scenario: lpp-bulk
regime: ifr
entities:
  nvidia_us: {located_in: US, headquartered_in: US}
  sg_a: {located_in: SG, headquartered_in: SG}
items:
  h100: {eccn: 3A090.a, tpp_per_unit: 15832, datacenter: true, designer: approved}
transactions:
"""


def scenario_text(n: int) -> str:
    """``n`` one-unit H100 exports to ``sg_a`` from 2025-02-01 over 300 days."""
    start = dt.date(2025, 2, 1)
    rows = [
        f"  - {{id: t{k}, type: export, date: {start + dt.timedelta(days=k * 300 // n)}, "
        "exporter: nvidia_us, from: US, to: SG, ultimate_consignee: sg_a, item: h100, "
        "quantity: 1, end_use: inference}\n"
        for k in range(n)
    ]
    return HEAD + "".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    print(f"{'transactions':>12}  {'load s':>8}  {'decide s':>9}  {'ms/tx':>7}  outcomes")
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm.yaml"  # the rulebook is parsed and compiled once, here
        warm.write_text(scenario_text(2), encoding="utf-8")
        decide(load_scenario(str(warm)))
        for n in (int(x) for x in args.sizes.split(",")):
            path = Path(tmp) / f"lpp-{n}.yaml"
            path.write_text(scenario_text(n), encoding="utf-8")
            t0 = time.perf_counter()
            scn = load_scenario(str(path))
            load = time.perf_counter() - t0
            best = float("inf")
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                result = decide(scn)
                best = min(best, time.perf_counter() - t0)
            lpp = sum(1 for d in result.decisions if d.exceptions == ("LPP",))
            print(f"{n:>12,}  {load:>8.2f}  {best:>9.2f}  {best / n * 1000:>7.3f}  "
                  f"{lpp} LPP, {n - lpp} other")


if __name__ == "__main__":
    main()
