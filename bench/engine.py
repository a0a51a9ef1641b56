"""Benchmark: earlog's evaluator (provenance on and off), the pyDatalog backend and clingo.

Run ``python bench/engine.py [--quick]``. Each engine runs each case in its own
subprocess (so peak memory, ``ru_maxrss``, is measured the same way for all and a
slow engine can be stopped by a timeout); time is wall clock and CPU time (less
disturbed by other load), best of N runs, from the case's rows in Python to the
model's rows back in Python:

* earlog: parse + check + evaluate (facts built as ``ir.Fact``);
* pydatalog: the same, through ``reasoner.engine.pydatalog_backend``;
* clingo: facts written as ASP text + ground + solve + reading the one model
  (end to end, converting every atom's symbols back to Python values);
* clingo's own work, the ``core`` columns: parse + ground + solve of the program text
  (built beforehand), the model not read back. Most of the end-to-end clingo figure
  is converting symbols, so the fair comparison is with this one.

The rules of every case are written once, in the common subset of earlog's
language and ASP (upper-case variables, quoted strings, integers).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["CASES", "Case", "main"]

Rows = dict[str, list[tuple[Any, ...]]]

ENGINES = ("earlog+prov", "earlog", "pydatalog", "clingo")


@dataclass(frozen=True)
class Case:
    """A benchmark case: rules (shared syntax) and a fact generator by size."""

    name: str
    rules: str
    facts: Callable[[int], Rows]
    full: int
    quick: int


# path(X, Z) :- path(X, Y), edge(Y, Z).   (left-linear, so pyDatalog may run it)
TC_RULES = """
path(X, Y) :- edge(X, Y).
path(X, Z) :- path(X, Y), edge(Y, Z).
"""


def chain(n: int) -> Rows:
    return {"edge": [(i, i + 1) for i in range(n)]}


def random_graph(n: int) -> Rows:
    rnd = random.Random(7)
    edges = set()
    while len(edges) < 3 * n:
        edges.add((rnd.randrange(n), rnd.randrange(n)))
    return {"edge": sorted(edges)}


JOIN_RULES = "q(X, W) :- a(X, Y), b(Y, Z), c(Z, W).\n"


def join3(n: int) -> Rows:
    """``n`` facts in three relations; the join yields about 1.2 n rows."""
    rnd = random.Random(11)
    na, nb = int(n * 0.4), int(n * 0.3)
    keys_y, keys_z = max(n // 10, 1), nb
    return {
        "a": [(i, rnd.randrange(keys_y)) for i in range(na)],
        "b": [(rnd.randrange(keys_y), i) for i in range(nb)],
        "c": [(rnd.randrange(keys_z), i) for i in range(n - na - nb)],
    }


NEG_RULES = """
good(X) :- n(X), not bad(X).
r(X, Y) :- e(X, Y), good(X), not bad(Y).
lonely(X) :- good(X), not e(X, _).
"""


def negation(n: int) -> Rows:
    rnd = random.Random(13)
    nodes = n // 2
    return {
        "n": [(i,) for i in range(nodes)],
        "bad": [(i,) for i in rnd.sample(range(nodes), n // 4)],
        "e": [(rnd.randrange(nodes), rnd.randrange(nodes)) for _ in range(n - nodes - n // 4)],
    }


# A legal-style screening workload: corporate ownership (ultimate parent by
# recursion), destination and headquarters tiers, item thresholds, licence
# requirements with exceptions, and violations (stratified negation).
LEGAL_RULES = """
ancestor(E, P) :- parent(E, P).
ancestor(E, Q) :- ancestor(E, P), parent(P, Q).
has_parent(E) :- parent(E, _).
ultimate_parent(E, P) :- ancestor(E, P), not has_parent(P).
ultimate_parent(E, E) :- company(E, _), not has_parent(E).
hq_country(E, C) :- ultimate_parent(E, P), company(P, C).
hq_tier(E, G) :- hq_country(E, C), country_group(C, G).
dest_country(T, C) :- txn(T, _, B, _, _, _), company(B, C).
dest_tier(T, G) :- dest_country(T, C), country_group(C, G).
controlled_item(I) :- item(I, "3A090", _).
controlled_item(I) :- item(I, "4A090", _).
high_perf(I) :- item(I, _, P), P >= 4800.
covered(T) :- txn(T, _, _, I, _, _), controlled_item(I).
covered(T) :- txn(T, _, _, I, _, _), high_perf(I).
large(T) :- txn(T, _, _, _, Q, _), Q > 1700.
valuable(T) :- txn(T, _, _, _, _, V), V >= 1000000.
tier3_dest(T) :- dest_tier(T, 3).
tier3_parent(T) :- txn(T, _, B, _, _, _), hq_tier(B, 3).
embargo(T) :- dest_country(T, C), embargoed(C).
veu_buyer(T) :- txn(T, _, B, _, _, _), veu(B).
veu_buyer(T) :- txn(T, _, B, _, _, _), ultimate_parent(B, P), veu(P).
lpp_eligible(T) :- covered(T), not large(T), not tier3_dest(T), not tier3_parent(T).
needs_license(T) :- covered(T), tier3_dest(T).
needs_license(T) :- covered(T), tier3_parent(T), not veu_buyer(T).
needs_license(T) :- covered(T), dest_tier(T, 2), not veu_buyer(T).
needs_license(T) :- embargo(T).
licensed(T) :- needs_license(T), license(T).
exception_ok(T) :- needs_license(T), exception_used(T, "LPP"), lpp_eligible(T).
violation(T) :- needs_license(T), not licensed(T), not exception_ok(T).
flagged_seller(S) :- txn(T, S, _, _, _, _), violation(T).
review(T, A) :- valuable(T), violation(T), txn(T, _, _, _, _, V), A = V * 2.
cleared(T) :- txn(T, _, _, _, _, _), not violation(T).
"""


def legal(n: int) -> Rows:
    """``n`` transactions among n/10 companies in ownership trees up to 6 deep."""
    rnd = random.Random(17)
    countries = [f"C{i:02d}" for i in range(40)]
    groups = [(c, 1 if i < 18 else 2 if i < 34 else 3) for i, c in enumerate(countries)]
    ncomp = max(n // 10, 10)
    companies = [(f"E{i}", rnd.choice(countries)) for i in range(ncomp)]
    parents = []
    for i in range(ncomp):
        if i >= 50 and rnd.random() < 0.7:  # parents have smaller ids: a forest
            parents.append((f"E{i}", f"E{rnd.randrange(max(i // 6, 1), i)}"))
    eccns = ["3A090", "4A090", "5A002", "EAR99"]
    items = [(f"I{i}", rnd.choice(eccns), rnd.randrange(0, 10000)) for i in range(200)]
    txns, licences, exceptions = [], [], []
    for t in range(n):
        tid = f"T{t}"
        seller, buyer = rnd.randrange(ncomp), rnd.randrange(ncomp)
        txns.append((tid, f"E{seller}", f"E{buyer}", f"I{rnd.randrange(200)}",
                     rnd.randrange(1, 4000), rnd.randrange(1000, 3_000_000)))
        if rnd.random() < 0.3:
            licences.append((tid,))
        if rnd.random() < 0.2:
            exceptions.append((tid, "LPP"))
    return {
        "company": companies, "parent": parents, "country_group": groups, "item": items,
        "txn": txns, "license": licences, "exception_used": exceptions,
        "embargoed": [(c,) for c in countries[36:]],
        "veu": [(f"E{i}",) for i in rnd.sample(range(ncomp), ncomp // 50)],
    }


CASES = (
    Case("tc-chain", TC_RULES, chain, 2000, 200),
    Case("tc-random", TC_RULES, random_graph, 1000, 150),
    Case("join3-100k", JOIN_RULES, join3, 100_000, 10_000),
    Case("negation-100k", NEG_RULES, negation, 100_000, 10_000),
    Case("legal-50k", LEGAL_RULES, legal, 50_000, 5_000),
)


# ---- workers: one engine, one case, in a fresh process ----------------------------

def _run_earlog(rules: str, rows: Rows, engine_name: str) -> dict[str, int]:
    from reasoner.lang.checks import check
    from reasoner.engine import get_engine
    from reasoner.lang.ir import Fact
    from reasoner.lang.syntax import parse_program

    program = parse_program(rules, file="<bench>")
    facts = tuple(Fact(p, tuple(r)) for p, rs in rows.items() for r in rs)
    inputs = {a.pred: len(a.args) for r in program.rules for a in _body_atoms(r.body)}
    checked = check(program, inputs=inputs)
    engine = get_engine("pydatalog" if engine_name == "pydatalog" else "earlog")
    model = engine.evaluate(checked, facts, provenance=engine_name == "earlog+prov")
    heads = {r.head.pred for r in program.rules}
    return {p: len(model.rows(p)) for p in sorted(heads)}


def _body_atoms(body: Any) -> list[Any]:
    return [i.atom for i in body if hasattr(i, "atom")]


def _asp_value(v: Any) -> str:
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(v)


def _run_clingo(rules: str, rows: Rows) -> dict[str, int]:
    import clingo

    ctl = clingo.Control(["--warn=none"])
    ctl.add("base", [], _asp_text(rules, rows))
    ctl.ground([("base", [])])
    model: dict[str, set[tuple[Any, ...]]] = {}

    def on_model(m: Any) -> None:
        for sym in m.symbols(atoms=True):
            model.setdefault(sym.name, set()).add(tuple(
                a.number if a.type == clingo.SymbolType.Number else a.string
                for a in sym.arguments))
    ctl.solve(on_model=on_model)
    heads = {line.split("(", 1)[0].strip() for line in rules.splitlines() if ":-" in line}
    return {p: len(model.get(p, ())) for p in sorted(heads)}


def _asp_text(rules: str, rows: Rows) -> str:
    parts = [rules]
    for pred, rs in rows.items():
        parts.append("".join(f"{pred}({','.join(map(_asp_value, r))}).\n" for r in rs))
    return "".join(parts)


def _time_clingo_core(text: str) -> tuple[float, float]:
    """Wall and CPU seconds of clingo's parse + ground + solve of ``text``, the model
    not read back."""
    import clingo

    start, start_cpu = time.perf_counter(), time.process_time()
    ctl = clingo.Control(["--warn=none"])
    ctl.add("base", [], text)
    ctl.ground([("base", [])])
    ctl.solve()
    return time.perf_counter() - start, time.process_time() - start_cpu


def worker(engine: str, case_name: str, size: int, repeats: int) -> dict[str, Any]:
    """Run one engine on one case ``repeats`` times; best time, peak RSS and sizes."""
    case = next(c for c in CASES if c.name == case_name)
    rows = case.facts(size)
    best, best_cpu = float("inf"), float("inf")
    sizes: dict[str, int] = {}
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        if engine == "clingo":
            sizes = _run_clingo(case.rules, rows)
        else:
            sizes = _run_earlog(case.rules, rows, engine)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {"time": best, "cpu": best_cpu, "rss_mb": peak_kb / 1024, "sizes": sizes}
    if engine == "clingo":
        text = _asp_text(case.rules, rows)
        runs = [_time_clingo_core(text) for _ in range(repeats)]
        out["core"] = min(w for w, _ in runs)
        out["core_cpu"] = min(c for _, c in runs)
    return out


# ---- driver -----------------------------------------------------------------------

def _measure(engine: str, case: Case, size: int, repeats: int, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", engine, case.name, str(size), str(repeats)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout ({timeout:.0f} s)"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return {"status": "refused" if "UnsupportedProgram" in done.stderr else last[:60]}
    return {"status": "ok", **json.loads(done.stdout.strip().splitlines()[-1])}


def _row(case: Case, size: int, engine: str, r: dict[str, Any], ref: dict[str, Any]) -> str:
    label = f"{case.name} (n={size})"
    if r["status"] != "ok":
        return f"{label:<26} {engine:<12} {r['status']:>40}"
    ok = ref.get("status") == "ok"

    def ratio(key: str) -> str:
        return f"{r[key] / ref[key]:.2f}x" if ok else "-"
    agree = "" if not ok or r["sizes"] == ref["sizes"] else "  MODEL DIFFERS"
    derived = sum(r["sizes"].values())
    core = f"{r['cpu'] / ref['core_cpu']:.2f}x" if ok and ref.get("core_cpu") else "-"
    line = (f"{label:<26} {engine:<12} {r['time']:>8.2f} {r['cpu']:>8.2f} {r['rss_mb']:>8.0f} "
            f"{ratio('time'):>7} {ratio('cpu'):>7} {ratio('rss_mb'):>7} {core:>8} {derived:>9}{agree}")
    if engine == "clingo" and "core" in r:
        line += (f"\n{label:<26} {'clingo core':<12} {r['core']:>8.2f} {r['core_cpu']:>8.2f}"
                 "   (parse + ground + solve, no symbols read back)")
    return line


def main(argv: list[str] | None = None) -> None:
    """Run every case on every engine and print one table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    ap.add_argument("--repeats", type=int, default=None, help="runs per measurement (best of)")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per engine and case")
    ap.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    ap.add_argument("--worker", nargs=4, metavar=("ENGINE", "CASE", "SIZE", "REPEATS"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        engine, case_name, size, repeats = args.worker
        print(json.dumps(worker(engine, case_name, int(size), int(repeats))))
        return
    repeats = args.repeats or (2 if args.quick else 3)
    timeout = args.timeout or (60.0 if args.quick else 300.0)
    wanted = set(filter(None, args.cases.split(",")))
    print(f"{'case':<26} {'engine':<12} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} "
          f"{'wall/cl':>7} {'cpu/cl':>7} {'mem/cl':>7} {'cpu/core':>8} {'derived':>9}")
    for case in CASES:
        if wanted and case.name not in wanted:
            continue
        size = case.quick if args.quick else case.full
        ref = _measure("clingo", case, size, repeats, timeout)
        for engine in ENGINES:
            # pyDatalog is far slower: one run, and a shorter leash
            r = ref if engine == "clingo" else _measure(
                engine, case, size, 1 if engine == "pydatalog" else repeats,
                min(timeout, 60.0) if engine == "pydatalog" else timeout)
            print(_row(case, size, engine, r, ref), flush=True)


if __name__ == "__main__":
    main()
