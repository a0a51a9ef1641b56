"""Benchmark (not a test): ``earlog screen`` throughput and peak memory on generated order books.

Run: python bench/screen.py --engines [--engine-rows 1000000] [--engine-jobs 1]
                            [--only earlog,duckdb,spark]
                            [--parquet-rows 10000000] [--parquet-memory 1GB]
     python bench/screen.py [--sizes 1000,10000,100000] [--proof-sizes 1000,10000]
                            [--jobs 1,2] [--memory-rows 1000000] [--quick]

``--engines``: every screening engine on the same generated book (``--engine earlog``,
``--engine duckdb``, and ``--engine spark`` where that engine exists and pyspark is
installed): seconds, rows/s and peak memory (the process tree, sampled every 50 ms: for
spark, the JVM Spark starts and its Python workers included) with speed and memory as
ratios to earlog's and to duckdb's (those that ran: ``--only`` picks engines; an engine
that fails is reported and left out), whether the output files are byte-identical, and
the load average of the host while it ran (the development host has 2 cores shared with
other jobs); then a ``--parquet-rows`` book in Parquet on DuckDB under a memory limit.

Without ``--engines``, ``--engine earlog``'s own numbers:

For each size it generates a deterministic book (bench/screen_data.py: Tier 1/2/3
destinations, PRC and US parents, LPP regulars, model weights), runs ``earlog screen``
in a subprocess and reports wall time, rows/s and peak RSS (ru_maxrss of the largest
process, and the sum over the process tree sampled every 50 ms). Then: the same with
``--explain-dir`` (proofs written), the time growth from the smallest to the largest
size, what recording proofs (provenance) costs the evaluation, the decisions and a
whole in-process screen, a full screen of ``--memory-rows`` rows (time and peak
memory), the memory of ``--sort``'s stages over those rows, and the rulebook evaluated
by the pyDatalog backend against earlog's evaluator on the same small file (the ratio,
and whether the models agree).

Targets: 100k rows decided in < 60 s without proofs; proof recording overhead <= 1.3x
(provenance on against off, as issue 4 defines it; writing proof files with
``--explain-dir`` is reported separately); peak < 2 GB at 100k.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable

_WRAP = """\
import resource, subprocess, sys
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
sys.stderr.write(p.stderr[-2000:] if p.returncode not in (0, 3) else "")
print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _data_module() -> Any:
    spec = importlib.util.spec_from_file_location("screen_data", REPO / "bench" / "screen_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tree_rss(pid: int) -> int:
    """Resident KB of ``pid`` and its descendants (Linux /proc)."""
    total = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            with open(f"/proc/{p}/task/{p}/children") as fh:
                stack.extend(int(c) for c in fh.read().split())
        except OSError:
            continue
    return total


def run_screen(args: list[str]) -> dict[str, Any]:
    """Run ``earlog screen ARGS`` measured: seconds, exit code, peak KB (largest, tree)."""
    cmd = [PY, "-c", _WRAP, PY, "-c", "from reasoner.cli import main; main()", "screen", *args,
           "--no-progress"]
    peak = [0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=REPO)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.05)
    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    done.set()
    t.join()
    code, largest = (int(x) for x in out.split())
    if code not in (0, 3):
        raise SystemExit(f"earlog screen failed ({code}): {err}")
    return {"seconds": seconds, "code": code, "largest_kb": largest, "tree_kb": peak[0]}


def stage_memory(ctx: Path, rows_file: Path, sort: bool) -> tuple[float, int]:
    """Seconds and peak KB of reading + validating + id/order checks (+ external sort)
    of a file, without deciding (the stages whose memory could grow with the file)."""
    code = f"""
import resource, sys, time
from reasoner.law.scenario import load_scenario
from reasoner.tools.screen.screener import Screener, Rejected
from reasoner.tools.screen.files import read_rows
ctx = load_scenario({str(ctx)!r}, require_transactions=False)
s = Screener(ctx, {str(rows_file)!r}, sort={sort!r})
t = time.perf_counter()
stream = s._validated(read_rows({str(rows_file)!r}, "csv"))
if {sort!r}:
    stream = s._sorted(stream)
n = sum(1 for x in stream if not isinstance(x, Rejected))
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, n)
"""
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    sec, kb, _ = out.stdout.split()
    return float(sec), int(kb)


def recording(ctx: Path, rows_file: Path) -> str:
    """What recording proofs costs when screening, as issue 4 defines proof recording
    overhead (evaluation with provenance against evaluation without it): each chunk of
    the book evaluated as screen's first round does, without and with provenance (the
    engine's record of first derivations, which proofs and citations are read from);
    then the same with every decision read, where provenance adds the citation walk.
    CPU seconds, with the collector paused as screen pauses it."""
    from reasoner.law.decision import DecisionView
    from reasoner.engine.gcpause import gc_paused
    from reasoner.law.scenario import load_scenario
    from reasoner.tools.screen.screener import CHUNK_SIZE, Screener, _Partition
    from reasoner.tools.screen.files import read_rows

    context = load_scenario(ctx, require_transactions=False)
    s = Screener(context, str(rows_file))
    txs = [got[1] for got in s._validated(read_rows(str(rows_file), "csv"))
           if isinstance(got, tuple)]
    part = _Partition(s.context, None, None, None, "default")
    chunks = [(*part.static, *part._tx_facts(txs[k:k + CHUNK_SIZE]))
              for k in range(0, len(txs), CHUNK_SIZE)]

    def run(provenance: bool) -> tuple[float, float]:
        evaluated = decided = 0.0
        for k, facts in enumerate(chunks):
            with gc_paused():
                start = time.process_time()
                model = part.engine.evaluate(part.checked, facts, provenance=provenance)
                mid = time.process_time()
                view = DecisionView(model, part.book)
                for tx in txs[k * CHUNK_SIZE:(k + 1) * CHUNK_SIZE]:
                    view.decision(tx)
                evaluated += mid - start
                decided += time.process_time() - mid
        return evaluated, decided

    best = {False: (float("inf"),) * 2, True: (float("inf"),) * 2}
    for _ in range(5):  # interleaved, best of five: the machine's noise is large
        for provenance in (False, True):
            got = run(provenance)
            best[provenance] = tuple(map(min, best[provenance], got))
    (bare, plain), (recorded, cited) = best[False], best[True]
    return (f"proof recording on {len(txs):,} rows (chunks of {CHUNK_SIZE:,}, CPU, best of 5): "
            f"evaluation {bare:.2f} s without provenance, {recorded:.2f} s with "
            f"(x{recorded / bare:.2f}, target <= 1.30); evaluation + decisions "
            f"{bare + plain:.2f} s without provenance (so without citations), "
            f"{recorded + cited:.2f} s with provenance and citations "
            f"(x{(recorded + cited) / (bare + plain):.2f})")


_UNRECORDED = """\
import contextlib, io, sys, time
import reasoner.tools.screen.screener as screen
from reasoner.cli import cli
real = screen.get_engine

class Unrecorded:  # earlog's evaluator, asked for no provenance whatever screen asks
    name = "earlog"

    def __init__(self, _name):
        self.inner = real("earlog")

    def evaluate(self, checked, facts=(), provenance=True):
        return self.inner.evaluate(checked, facts, provenance=False)

if sys.argv[1] == "off":
    screen.get_engine = Unrecorded
with contextlib.redirect_stderr(io.StringIO()):
    start = time.process_time()
    cli.main(["screen", *sys.argv[2:], "--engine", "earlog", "--jobs", "1", "--no-progress"], standalone_mode=False)
print(time.process_time() - start)
"""


def screen_recording(ctx: Path, rows_file: Path, out: Path, runs: int = 7) -> str:
    """The whole of ``earlog screen --jobs 1`` (read, validate, decide, write CSV), each
    run in a fresh process, with provenance recorded as screen records it and with it
    off (the decisions then carry no citations): what recording costs end to end.
    CPU seconds of the screen itself, interleaved runs: minimum and median."""
    times: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(runs):
        for mode in times:
            got = subprocess.run([PY, "-c", _UNRECORDED, mode, str(rows_file), "--context",
                                  str(ctx), "-o", str(out)], capture_output=True, text=True,
                                 cwd=REPO, check=True)
            times[mode].append(float(got.stdout.split()[-1]))
    out.unlink(missing_ok=True)
    low = {m: min(t) for m, t in times.items()}
    mid = {m: statistics.median(t) for m, t in times.items()}
    return (f"proof recording, whole screen of {rows_file.name} (--jobs 1, CPU, {runs} runs "
            f"each): without provenance (no citations) min {low['off']:.2f} s, median "
            f"{mid['off']:.2f} s; as screen runs min {low['on']:.2f} s, median {mid['on']:.2f} s "
            f"(x{low['on'] / low['off']:.2f} by minimum, x{mid['on'] / mid['off']:.2f} by "
            f"median; target <= 1.30)")


def engines(ctx: Path, rows_file: Path, rows: int) -> str:
    """The pyDatalog backend against earlog's evaluator on the same small book: ``decide``
    (every evaluation it makes, earlog recording provenance as decide asks), then one
    evaluation of the rulebook over the book's facts without provenance; the models must
    be equal (a ratio between different answers would mean nothing)."""
    from reasoner.law.decision import decide, input_facts
    from reasoner.engine import get_engine
    from reasoner.lang.errors import EarlogError
    from reasoner.law.rulebook import load_rulebook
    from reasoner.law.scenario import load_scenario
    from reasoner.tools.screen.screener import Screener
    from reasoner.tools.screen.files import read_rows

    if not (REPO / "reasoner" / "engine" / "pydatalog_backend.py").exists():
        return "pyDatalog backend: missing (reasoner/engine/pydatalog_backend.py does not exist)"
    context = load_scenario(ctx, require_transactions=False)
    s = Screener(context, str(rows_file))
    txs = [got[1] for got in itertools.islice(s._validated(read_rows(str(rows_file), "csv")), rows)
           if isinstance(got, tuple)]
    scenario = context.with_transactions(txs)
    book = load_rulebook(scenario.regime)
    facts = input_facts(scenario)
    times: dict[str, float] = {}
    models: dict[str, Any] = {}
    for name in ("earlog", "pydatalog"):
        try:
            start = time.perf_counter()
            models[f"decide {name}"] = decide(scenario, engine=name).model
            times[f"decide {name}"] = time.perf_counter() - start
            start = time.perf_counter()
            models[f"eval {name}"] = get_engine(name).evaluate(book.checked, facts, provenance=False)
            times[f"eval {name}"] = time.perf_counter() - start
        except EarlogError as exc:
            return f"pyDatalog backend refuses the rulebook: {exc}"
    lines = []
    for step, what in (("decide", f"decide on {len(txs)} rows"),
                       ("eval", "one evaluation of the rulebook, no provenance")):
        ours, theirs = models[f"{step} earlog"].relations, models[f"{step} pydatalog"].relations
        differ = sorted(p for p in set(ours) | set(theirs) if ours.get(p, set()) != theirs.get(p, set()))
        agree = "same model" if not differ else "MODELS DIFFER on " + ", ".join(differ[:5])
        e, p = times[f"{step} earlog"], times[f"{step} pydatalog"]
        lines.append(f"{what}: earlog {e:.2f} s, pyDatalog {p:.2f} s "
                     f"(pyDatalog / earlog = {p / e:.1f}x; {agree})")
    return "\n".join(lines)


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = lambda cells: "| " + " | ".join(c.rjust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
                     + [line(r) for r in rows])


# ---- the engines compared ---------------------------------------------------------------------


def _engines() -> list[str]:
    """The screening engines this checkout has: earlog, duckdb, and spark when its screen
    exists and pyspark is installed."""
    found = ["earlog", "duckdb"]
    spark = REPO / "reasoner" / "tools" / "screen" / "sparkscreen.py"
    if spark.exists() and importlib.util.find_spec("pyspark") is not None:
        found.append("spark")
    return found


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f} (1 min) / {five:.1f} (5 min), {os.cpu_count()} CPUs"


def compare_engines(rows: int, jobs: int, parquet_rows: int, memory: str,
                    keep: Path | None, only: set[str] | None = None) -> None:
    """Every engine on the same book (ratios to earlog's), then a Parquet book on DuckDB."""
    gen = _data_module()
    folder = Path(tempfile.mkdtemp(prefix="earlog-bench-")) if keep is None else keep
    folder.mkdir(parents=True, exist_ok=True)
    try:
        ctx = gen.write_context(folder / "context.yaml")
        if rows:
            _compare(gen, folder, ctx, rows, jobs, only=only)
        if parquet_rows:
            _parquet(gen, folder, ctx, parquet_rows, memory, jobs)
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def _compare(gen: Any, folder: Path, ctx: Path, rows: int, jobs: int,
             memory: str = "1GB", only: set[str] | None = None) -> None:
    """Every engine (those in ``only``, when given) on one book of ``rows`` rows (a book
    already in ``folder`` is reused), and DuckDB again under ``memory`` (when given and
    DuckDB runs). Ratios are to earlog's and DuckDB's runs, where they ran."""
    book = folder / f"orders-{rows}.csv"
    if not book.exists():
        gen.write_rows(book, rows, "csv")
    found: dict[str, dict[str, Any]] = {}  # the engines that finished
    files: dict[str, Path] = {}  # their output files
    loads: dict[str, str] = {}
    engines = [e for e in _engines() if only is None or e in only]
    order = engines + ([f"duckdb --memory-limit {memory}"] if memory and "duckdb" in engines
                       else [])
    for engine in order:
        out = folder / f"out-{engine.split()[0]}{'-limited' if ' ' in engine else ''}.csv"
        try:
            r = run_screen([str(book), "--context", str(ctx), "-o", str(out),
                            "--engine", *engine.split(),
                            *(["--jobs", str(jobs)] if jobs else [])])
        except SystemExit as exc:  # one engine failing does not lose the others' figures
            last = [line for line in str(exc).splitlines() if line.strip()][-2:]
            print(f"--engine {engine}: FAILED: {' / '.join(last)}; {_load()}", flush=True)
            continue
        found[engine], files[engine] = r, out
        loads[engine] = _load()
        print(f"--engine {engine}: {rows:,} rows in {r['seconds']:.1f} s "
              f"({rows / r['seconds']:,.0f} rows/s), peak {r['tree_kb'] / 1024:,.0f} MB; "
              f"{loads[engine]}", flush=True)
    same = len({f.read_bytes() for f in files.values()}) == 1
    peers = [p for p in ("earlog", "duckdb") if p in found]
    print()
    print(f"engines on the same generated {rows:,}-row book "
          f"({f'--jobs {jobs}' if jobs else 'each engine its default --jobs'}; output files "
          f"byte-identical: {same})")
    head = ["engine", "seconds", "rows/s", "peak MB"]
    for p in peers:
        head += [f"speed vs {p}", f"memory vs {p}"]
    body = []
    for e, r in found.items():
        line = [e, f"{r['seconds']:.1f}", f"{rows / r['seconds']:,.0f}", f"{r['tree_kb'] / 1024:,.0f}"]
        for p in peers:
            line += [f"x{found[p]['seconds'] / r['seconds']:.2f}",
                     f"x{r['tree_kb'] / found[p]['tree_kb']:.2f}"]
        body.append(line + [loads[e].split(",")[0]])
    print(table(head + ["host load after"], body), flush=True)
    for f in files.values():
        f.unlink(missing_ok=True)


def _parquet(gen: Any, folder: Path, ctx: Path, parquet_rows: int, memory: str,
             jobs: int) -> None:
    """A Parquet book of ``parquet_rows`` rows on DuckDB under a memory limit (a book
    already in ``folder`` is reused)."""
    import duckdb

    pq = folder / f"orders-{parquet_rows}.parquet"
    if not pq.exists():
        big = gen.write_rows(folder / "orders-big.csv", parquet_rows, "csv")
        con = duckdb.connect()
        con.execute(f"COPY (SELECT * FROM read_csv('{big}', all_varchar=true)) TO '{pq}' "
                    "(FORMAT parquet)")
        con.close()
        big.unlink()
    limit = ["--memory-limit", memory] if memory else []
    r = run_screen([str(pq), "--context", str(ctx), "-o", str(folder / "out-big.parquet"),
                    "--format", "parquet", "--engine", "duckdb",
                    *(["--jobs", str(jobs)] if jobs else []), *limit])
    print(f"--engine duckdb, {parquet_rows:,}-row Parquet book, --memory-limit "
          f"{memory or 'none'}: {r['seconds']:.0f} s ({parquet_rows / r['seconds']:,.0f} rows/s), "
          f"peak {r['tree_kb'] / 1024:,.0f} MB; {_load()}", flush=True)
    (folder / "out-big.parquet").unlink(missing_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engines", action="store_true",
                    help="compare the engines on one book, then a Parquet book on DuckDB")
    ap.add_argument("--engine-rows", type=int, default=1_000_000,
                    help="--engines: rows of the book every engine screens (0: skip)")
    ap.add_argument("--only", default="",
                    help="--engines: a comma-separated subset of earlog,duckdb,spark to run")
    ap.add_argument("--engine-jobs", type=int, default=0,
                    help="--engines: --jobs of each run (0: each engine's default)")
    ap.add_argument("--parquet-rows", type=int, default=10_000_000,
                    help="--engines: rows of the Parquet book (0: skip)")
    ap.add_argument("--parquet-memory", default="1GB",
                    help="--engines: --memory-limit of the Parquet run ('' for none)")
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--proof-sizes", default="1000,10000",
                    help="sizes also run with --explain-dir (proofs)")
    ap.add_argument("--jobs", default="1,2", help="--jobs values to run each size with")
    ap.add_argument("--memory-rows", type=int, default=1_000_000,
                    help="rows of the full screen run whose memory is measured (0: skip)")
    ap.add_argument("--pydatalog-rows", type=int, default=100)
    ap.add_argument("--quick", action="store_true", help="1k and 10k only, no 1M stage run")
    ap.add_argument("--keep", type=Path, default=None, help="keep generated files here")
    args = ap.parse_args()
    if args.engines:
        only = {e for e in args.only.split(",") if e} or None
        compare_engines(args.engine_rows, args.engine_jobs, args.parquet_rows,
                        args.parquet_memory, args.keep, only)
        return
    if args.quick:
        args.sizes, args.proof_sizes, args.memory_rows = "1000,10000", "1000", 0
    sizes = [int(s) for s in args.sizes.split(",") if s]
    proof_sizes = {int(s) for s in args.proof_sizes.split(",") if s}
    jobs = [int(j) for j in args.jobs.split(",") if j]
    gen = _data_module()
    folder = Path(tempfile.mkdtemp(prefix="earlog-bench-")) if args.keep is None else args.keep
    folder.mkdir(parents=True, exist_ok=True)
    try:
        ctx = gen.write_context(folder / "context.yaml")
        results: list[list[str]] = []
        per_row: dict[tuple[int, str], float] = {}
        for n in sizes:
            data = gen.write_rows(folder / f"orders-{n}.csv", n, "csv")
            for j in jobs:
                modes = [("no", [])]
                if n in proof_sizes:
                    modes.append(("json", ["--explain-dir", str(folder / f"proofs-{n}-{j}")]))
                for proofs, extra in modes:
                    r = run_screen([str(data), "--context", str(ctx), "-o",
                                    str(folder / f"out-{n}.csv"), "--engine", "earlog",
                                    "--jobs", str(j), *extra])
                    per_row[(n, f"{j}/{proofs}")] = r["seconds"] / n
                    results.append([f"{n:,}", str(j), proofs, f"{r['seconds']:.1f}",
                                    f"{n / r['seconds']:,.0f}", f"{r['largest_kb'] / 1024:,.0f}",
                                    f"{r['tree_kb'] / 1024:,.0f}"])
                    print(table(["rows", "jobs", "proofs", "seconds", "rows/s", "peak MB (largest)",
                                 "peak MB (tree)"], results[-1:]), flush=True)
                    shutil.rmtree(folder / f"proofs-{n}-{j}", ignore_errors=True)
        print()
        print(table(["rows", "jobs", "proofs", "seconds", "rows/s", "peak MB (largest)",
                     "peak MB (tree)"], results))
        lo, hi = min(sizes), max(sizes)
        for j in jobs:
            if (lo, f"{j}/no") in per_row and (hi, f"{j}/no") in per_row and hi > lo:
                ratio = per_row[(hi, f"{j}/no")] / per_row[(lo, f"{j}/no")]
                print(f"time growth {lo:,} -> {hi:,} rows, --jobs {j}: x{hi / lo:,.0f} rows, "
                      f"x{ratio * hi / lo:,.1f} time (per-row time x{ratio:.2f}; 1.00 = linear)")
        for n in sorted(proof_sizes & set(sizes)):
            for j in jobs:
                if (n, f"{j}/json") in per_row:
                    print(f"--explain-dir (proofs written) overhead at {n:,} rows, --jobs {j}: "
                          f"x{per_row[(n, f'{j}/json')] / per_row[(n, f'{j}/no')]:.2f}")
        mid = [n for n in sizes if n <= 10_000] or sizes
        print(recording(ctx, folder / f"orders-{max(mid)}.csv"), flush=True)
        print(screen_recording(ctx, folder / f"orders-{max(mid)}.csv", folder / "out-rec.csv"),
              flush=True)
        if args.memory_rows:
            big = gen.write_rows(folder / "orders-mem.csv", args.memory_rows, "csv")
            j = max(jobs)
            r = run_screen([str(big), "--context", str(ctx), "-o", str(folder / "out-mem.csv"),
                            "--engine", "earlog", "--jobs", str(j)])
            print(f"full screen of {args.memory_rows:,} rows, --jobs {j}: {r['seconds']:.0f} s "
                  f"({args.memory_rows / r['seconds']:,.0f} rows/s), peak "
                  f"{r['largest_kb'] / 1024:,.0f} MB (largest process), "
                  f"{r['tree_kb'] / 1024:,.0f} MB (all processes)", flush=True)
            (folder / "out-mem.csv").unlink(missing_ok=True)
            sec, kb = stage_memory(ctx, big, True)
            print(f"--sort's stages on {args.memory_rows:,} rows (read, validate, id checks, "
                  f"external sort; no deciding): {sec:.0f} s, peak {kb / 1024:,.0f} MB", flush=True)
            big.unlink()
        print(engines(ctx, folder / f"orders-{sizes[0]}.csv", args.pydatalog_rows))
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
