"""Benchmark (not a test): the cost of recording provenance, of explaining one goal, and of
the proofs ``earlog screen --explain-dir`` writes.

Run: python bench/proofs.py [--transactions 10000] [--repeat 5] [--screen-rows 1000]

Targets: evaluation with provenance at most 1.3x evaluation without; explain()
and why_not() of one goal, warm, under 100 ms. Screen proofs (issue 6): the run
with proofs at most 1.3x the run without.

The screen part decides a generated book (bench/screen_data.py) as one scenario,
like one screening chunk, and times the proof of every license_required or
indeterminate transaction with the collector paused (as screen runs): explaining,
laying out and writing JSON, shared per model (``ExplanationWriter``, what screen
uses) and unshared (a fresh explain_transaction + explanation_graph + to_json).
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from typing import Callable

import importlib.util
from pathlib import Path
from typing import Any

from reasoner.lang.checks import CheckedProgram, check
from reasoner.engine import SemiNaiveEngine
from reasoner.lang.ir import Fact
from reasoner.proof import ProofBuilder, explain
from reasoner.proof.graph import to_graph
from reasoner.render import to_json, to_text
from reasoner.lang.syntax import parse_program
from reasoner.proof import why_not

RULES = """\
input tx_qty(Tx, I, N). input item_tpp(I, P). input tx_consignee(Tx, E).
input hq_in(E, C). input d5(C). input parent(E, P). input lpp_cap(C).

@id(tx_tpp) @cite("15 CFR 740.29(b)(2)") @en("{Tx} carries {T} TPP")
tx_tpp(Tx, T) :- tx_qty(Tx, I, N), item_tpp(I, P), T = N * P.
@id(within_cap) @cite("15 CFR 740.29(b)(1)") @en("{Tx} is within the cap ({T} <= {Cap})")
within_cap(Tx) :- tx_tpp(Tx, T), lpp_cap(Cap), T <= Cap.
has_parent(E) :- parent(E, _).
ultimate_parent(E, P) :- parent(E, P), not has_parent(P).
ultimate_parent(E, P) :- parent(E, M), ultimate_parent(M, P).
@id(d5_hq_self) @cite("15 CFR 740.2(a)(9)(ii)")
d5_hq(E) :- hq_in(E, C), d5(C).
@id(d5_hq_parent) @cite("15 CFR 740.2(a)(9)(ii)")
d5_hq(E) :- ultimate_parent(E, P), hq_in(P, C), d5(C).
@id(lpp) @cite("15 CFR 740.29(a)") @en("LPP is available for {Tx}")
lpp(Tx) :- within_cap(Tx), tx_consignee(Tx, E), not d5_hq(E).
@id(received) @cite("15 CFR 740.29(b)(3)")
received(E, Total) :- tx_consignee(_, E), Total = sum(T : tx_consignee(Tx, E), tx_tpp(Tx, T)).
"""

ITEMS = {"H100": 15832, "H20": 2368, "B200": 36000, "L40": 5800}
COUNTRIES = ["SG", "IN", "BR", "CN", "MO", "DE", "AE", "MY"]
D5 = ["CN", "MO"]


def facts(transactions: int, entities: int, seed: int = 7) -> list[Fact]:
    """``transactions`` shipments (quantity and consignee each) to ``entities`` companies."""
    rnd = random.Random(seed)
    out = [Fact("item_tpp", (i, p)) for i, p in ITEMS.items()]
    out += [Fact("d5", (c,)) for c in D5] + [Fact("lpp_cap", (26900000,))]
    for e in range(entities):
        out.append(Fact("hq_in", (f"e{e}", rnd.choice(COUNTRIES))))
        if e >= 10 and rnd.random() < 0.3:  # ownership chains, a few levels deep
            out.append(Fact("parent", (f"e{e}", f"e{rnd.randrange(e // 2, e)}")))
    for t in range(transactions):
        tx = f"tx{t}"
        out.append(Fact("tx_qty", (tx, rnd.choice(list(ITEMS)), rnd.randrange(1, 2000))))
        out.append(Fact("tx_consignee", (tx, f"e{rnd.randrange(entities)}")))
    return out


def _best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _screen_book(rows: int) -> Any:
    """A generated book of ``rows`` transactions decided as one scenario."""
    import tempfile

    from reasoner.law.decision import decide
    from reasoner.law.scenario import load_scenario
    from reasoner.tools.screen.screener import validate_row
    from reasoner.tools.screen.files import read_rows

    here = Path(__file__).resolve().parent
    spec = importlib.util.spec_from_file_location("screen_data", here / "screen_data.py")
    assert spec is not None and spec.loader is not None
    data = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(data)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = load_scenario(str(data.write_context(Path(tmp) / "ctx.yaml")),
                            require_transactions=False)
        path = data.write_rows(Path(tmp) / "rows.csv", rows, "csv")
        txs = [validate_row(r, ctx, str(path)) for r in read_rows(str(path), "csv")]
    return decide(ctx.with_transactions(txs))


def screen_proofs(rows: int, repeat: int) -> None:
    """Per-proof cost of screen's proofs on one chunk of ``rows`` transactions."""
    from reasoner.render.export import ExplanationWriter
    from reasoner.proof.explanation import (Explainer, explain_transaction,
                                      explanation_graph)
    from reasoner.engine.gcpause import gc_paused

    result = _screen_book(rows)
    ids = [d.transaction for d in result.decisions
           if d.outcome in ("license_required", "indeterminate")]
    print(f"screen proofs: {len(ids)} of {rows} transactions (one chunk)")
    best: dict[str, float] = {}
    size = 0
    for _ in range(repeat):
        with gc_paused():
            w = ExplanationWriter(result)
            start = time.process_time()
            for tx in ids:
                w.explainer.explain(tx)
            explained = time.process_time()
            texts = [w.json(tx) for tx in ids]  # explanations are memoized: layout + JSON
            done = time.process_time()
        size = sum(len(t.encode("utf-8")) for t in texts)
        for key, secs in (("explain", explained - start), ("layout + JSON", done - explained)):
            best[key] = min(best.get(key, secs), secs)
    for key, secs in best.items():
        print(f"  shared {key + ':':16} {secs / len(ids) * 1000:7.2f} ms/proof (CPU, best of {repeat})")
    sample = ids[: max(1, len(ids) // 10)]
    with gc_paused():
        ex = Explainer(result)
        start = time.process_time()
        for tx in sample:
            to_json(explanation_graph(ex.explain(tx)))
        mid = time.process_time()
        for tx in sample:
            to_json(explanation_graph(explain_transaction(result, tx)))
        end = time.process_time()
    print(f"  one Explainer, graph + to_json per proof: {(mid - start) / len(sample) * 1000:7.2f} ms/proof"
          f" ({len(sample)} proofs)")
    print(f"  nothing shared (explain_transaction):    {(end - mid) / len(sample) * 1000:7.2f} ms/proof")
    print(f"  JSON size: {size / len(ids) / 1024:.1f} KB/proof")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transactions", type=int, default=10_000)
    ap.add_argument("--entities", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--screen-rows", type=int, default=1000,
                    help="rows of the screen-proofs chunk (0: skip)")
    ap.add_argument("--screen-only", action="store_true", help="only the screen proofs")
    args = ap.parse_args()
    if args.screen_rows:
        screen_proofs(args.screen_rows, args.repeat)
    if args.screen_only:
        return
    checked: CheckedProgram = check(parse_program(RULES, "bench.dl"))
    given = facts(args.transactions, args.entities)
    engine = SemiNaiveEngine()
    runs: dict[tuple[bool, bool], list[float]] = {}
    for _ in range(args.repeat):  # interleaved, so that load from others hits all alike
        for prov in (False, True):
            for collect in (True, False):  # gc off: how much overhead is the collector
                if not collect:
                    gc.disable()
                try:
                    runs.setdefault((prov, collect), []).append(
                        _best(lambda: engine.evaluate(checked, given, provenance=prov), 1))
                finally:
                    gc.enable()
    off, on = min(runs[(False, True)]), min(runs[(True, True)])
    off_gc, on_gc = min(runs[(False, False)]), min(runs[(True, False)])
    model = engine.evaluate(checked, given, provenance=True)
    derived = sum(len(model.rows(p)) for p in ("tx_tpp", "within_cap", "lpp", "d5_hq", "received"))
    print(f"facts: {len(given)} given ({args.transactions} transactions), {derived} derived")
    print(f"evaluate, provenance off: {off * 1000:8.1f} ms (best of {args.repeat})")
    print(f"evaluate, provenance on:  {on * 1000:8.1f} ms (best of {args.repeat})")
    print(f"provenance overhead:      {on / off:8.2f}x   (target <= 1.30x)")
    print(f"  same, gc disabled:      {on_gc / off_gc:8.2f}x   ({off_gc * 1000:.0f} / {on_gc * 1000:.0f} ms)")

    yes = sorted(model.rows("lpp"))[0]
    no_rows = sorted(r for r in model.rows("within_cap") if r not in model.rows("lpp"))
    no = no_rows[0] if no_rows else ("tx0",)
    chain = max(model.rows("ultimate_parent"), key=lambda r: model.provenance[("ultimate_parent", r)].level)  # type: ignore[index]
    total = sorted(model.rows("received"))[0]
    reps = 20
    ms = _median_ms(lambda: explain(model, checked, "lpp", yes), reps)
    print(f"explain lpp{yes}:            {ms:8.2f} ms (warm, median of {reps}; target < 100 ms)")
    ms = _median_ms(lambda: explain(model, checked, "received", total), reps)
    print(f"explain received{total}: {ms:8.2f} ms (aggregate)")
    ms = _median_ms(lambda: explain(model, checked, "ultimate_parent", chain), reps)
    print(f"explain ultimate_parent{chain}: {ms:8.2f} ms (recursion)")
    builder = ProofBuilder(model, checked)
    ms = _median_ms(lambda: builder.proof("received", total), reps)
    print(f"ProofBuilder.proof received{total}: {ms:8.2f} ms (same builder again: memoized)")
    ms = _median_ms(lambda: why_not(model, checked, "lpp", no), reps)
    print(f"why_not lpp{no}:             {ms:8.2f} ms (warm, median of {reps}; target < 100 ms)")
    proof = explain(model, checked, "lpp", yes)
    ms = _median_ms(lambda: to_json(to_graph(proof)), reps)
    print(f"to_graph + to_json:       {ms:8.2f} ms")
    ms = _median_ms(lambda: to_text(proof), reps)
    print(f"to_text:                  {ms:8.2f} ms")


if __name__ == "__main__":
    main()
