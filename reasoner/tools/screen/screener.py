"""Bulk screening: deciding a stream of transactions in chunks, carrying LPP usage forward.

Screening a stream is one job, kept in one module though it runs past 500 lines.
"""

# How a stream of rows becomes decisions (each step is a generator; memory is
# bounded by one window of rows plus the per-consignee state below):
#
#   rows ──validate──▶ Transaction | Rejected        (file order; ids unique in the file)
#        ──order──▶    reject a row dated before an earlier row of the same consignee
#                      and calendar year (or, with sort=True, an external sort by date)
#        ──window──▶   chunk_size rows per partition; consignees are split between
#                      partitions (worker processes) by a hash of their id
#        ──decide──▶   one chunk: evaluate, then re-evaluate only the transactions of
#                      (consignee, year) slots after a wrong LPP assumption, until stable
#        ──carry──▶    each slot's LPP total goes forward as lpp_shipped(E, Y, N, "history")
#
# Invariants:
# * A transaction's decision depends on other transactions only through the LPP facts
#   of its (consignee, calendar year) slot (lpp_shipped of earlier tx_seq; the rulebook's
#   LPP rules). Slots never span partitions, so partitions are independent.
# * Within a slot, rows are decided in (date, file line) order, as `decision.decide`
#   orders a scenario; hence screening a file equals deciding it as one scenario.
# * Cross-transaction facts that are not LPP are not carried: the AIA certification
#   condition (`condition`, rule aia_report) sums a consignee's AIA shipments over the
#   evaluated transactions only, so `conditions` are not part of screening output.

from __future__ import annotations

import datetime as _dt
import multiprocessing
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Sequence

from reasoner.law.decision import (Decision, DecisionView, ScenarioDecisions, decision_record, input_facts,
                                   lpp_use, slot_chain)
from reasoner.engine import get_engine
from reasoner.lang.errors import CheckFailed, Diagnostic, EarlogError, EngineError, ScenarioError
from reasoner.engine.gcpause import gc_paused
from reasoner.lang.ir import Fact, Value
from reasoner.law.rulebook import load_rulebook
from reasoner.law.scenario import (END_USES, EXTRA_COUNTRIES, TX_TYPES, Scenario, Transaction,
                       bad_id_char, parse_transaction)
from reasoner.law.scenario.iso3166 import ALPHA_2
from reasoner.tools.screen.files import TX_COLUMNS, ExternalSorter, RawRow
from reasoner.lang.span import Span

__all__ = [
    "CHUNK_SIZE",
    "PROOF_OUTCOMES",
    "Screened",
    "Rejected",
    "Summary",
    "Screener",
    "decision_record",
    "validate_row",
]

# Rows decided together; the rulebook's per-consignee AIA aggregate grows with the
# square of a consignee's rows in one evaluation, so bigger is not faster.
CHUNK_SIZE = 1000
# Decisions whose proof ``--explain-dir`` writes.
PROOF_OUTCOMES = ("license_required", "indeterminate")

Slot = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Screened:
    """A decided row: its line, its transaction, the decision and, on request, its proof."""

    line: int
    transaction: Transaction
    decision: Decision
    proof: bytes | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A row that was not decided: where it was, why (one line), and its cells as read."""

    line: int
    reason: str
    diagnostics: tuple[Diagnostic, ...]
    cells: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class Summary:
    """Counts over a screening run."""

    decided: int = 0
    rejected: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    exceptions: Counter[str] = field(default_factory=Counter)
    reviews: Counter[str] = field(default_factory=Counter)
    proofs: int = 0  # written (counted by the writer)
    unwritten: int = 0  # proofs that could not be written

    def add(self, result: Screened | Rejected) -> None:
        """Count one result."""
        if isinstance(result, Rejected):
            self.rejected += 1
            return
        d = result.decision
        self.decided += 1
        self.outcomes[d.outcome] += 1
        self.exceptions.update(d.exceptions)
        if d.review_policy is not None:
            self.reviews[d.review_policy] += 1


def validate_row(row: RawRow, context: Scenario, file: str,
                 fast: "_FastPath | None" = None) -> Transaction:
    """Validate one read row against the context's parties, items and models.

    Args:
        row: the row as read.
        context: the screening context.
        file: the input's name, for diagnostics.
        fast: a fast path for rows written in canonical form (see ``_FastPath``);
            every other row goes through ``scenario.parse_transaction``.

    Raises:
        ScenarioError: the row could not be read, or has one problem.
        CheckFailed: several problems.
    """
    where = Span(file, row.line, 1)
    if row.values is None:
        raise ScenarioError(row.error or "unreadable row", where)
    if fast is not None:
        tx = fast.transaction(row.values, where)
        if tx is not None:
            return tx
    return parse_transaction(row.values, context, where=where)


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_UNITS = re.compile(r"[1-9][0-9]{0,17}")


class _FastPath:
    """Builds the Transaction of a row written in canonical form, without the YAML
    node tree that ``parse_transaction`` reads: known keys only, exact choices, ISO
    dates, upper-case country codes, ids that exist, a plain positive quantity for
    items. It returns None for anything else, which then gets the full validation
    and its diagnostics. Invariant (tested): when it returns a Transaction, it equals
    ``parse_transaction``'s, spans included.
    """

    def __init__(self, context: Scenario) -> None:
        self.entities = {e.id for e in context.entities}
        self.items = {i.id for i in context.items}
        self.models = {m.id for m in context.models}
        self.countries = set(ALPHA_2) | set(EXTRA_COUNTRIES)

    def transaction(self, v: Mapping[str, Any], where: Span) -> Transaction | None:
        if not _REQUIRED <= v.keys() or not v.keys() <= _KEYS:
            return None
        text = {k: x for k, x in v.items() if k != "quantity"}
        if any(not isinstance(x, str) or x in _NULLS for x in text.values()):
            return None
        tid, item, model = v["id"], v.get("item"), v.get("model")
        if bad_id_char(tid) is not None \
                or v["type"] not in TX_TYPES or v["end_use"] not in END_USES \
                or v["exporter"] not in self.entities \
                or v["ultimate_consignee"] not in self.entities \
                or any(v.get(k) not in self.countries for k in ("from", "to")) \
                or v.get("final_destination", "US") not in self.countries \
                or (item is None) == (model is None) \
                or (item is not None and item not in self.items) \
                or (model is not None and (model not in self.models or "quantity" in v)):
            return None
        quantity = None
        if item is not None:
            quantity = _units(v.get("quantity"))
            if quantity is None:
                return None
        if not _DAY.fullmatch(v["date"]):
            return None
        try:
            date = _dt.date.fromisoformat(v["date"])
        except ValueError:
            return None
        return Transaction(
            id=tid, type=v["type"], date=date, exporter=v["exporter"], from_=v["from"], to=v["to"],
            ultimate_consignee=v["ultimate_consignee"], end_use=v["end_use"], item=item,
            model=model, quantity=quantity, final_destination=v.get("final_destination"),
            span=where, spans=tuple((k, where) for k in v))


def _units(q: Any) -> int | None:
    if isinstance(q, str):
        return int(q) if _UNITS.fullmatch(q) else None
    if isinstance(q, int) and not isinstance(q, bool) and q >= 1:
        return q
    return None


_KEYS = frozenset(TX_COLUMNS)
_REQUIRED = frozenset(("id", "type", "date", "exporter", "from", "to", "ultimate_consignee",
                       "end_use"))
_NULLS = ("", "~", "null", "Null", "NULL")


def _rejected(row: RawRow, exc: EarlogError) -> Rejected:
    diags = exc.diagnostics
    reason = "; ".join(d.message + (f" (hint: {d.hint})" if d.hint else "") for d in diags)
    return Rejected(row.line, reason, diags, row.cells)


class Screener:
    """Decides the rows of one screening file against a context scenario.

    Args:
        context: a validated scenario without transactions (parties, items, models,
            history, regime).
        file: the input's name, for diagnostics.
        regime: ``ifr`` or ``enforced``; default the context's own.
        as_of: read the law at this date instead of each transaction's date.
        chunk_size: rows decided together (per partition).
        proofs: ``json`` or ``svg`` to render the proof of each decision in
            ``PROOF_OUTCOMES``; None for none.
        theme: proof graph theme (svg).
        jobs: worker processes (consignees are split between them); 1 decides in-process.
        sort: sort the rows by date first (external sort, bounded memory) instead of
            rejecting rows out of date order.
        run_size: rows per sorted run of the external sort.
    """

    def __init__(self, context: Scenario, file: str = "<input>", *, regime: str | None = None,
                 as_of: Any = None, chunk_size: int = CHUNK_SIZE, proofs: str | None = None,
                 theme: str = "default", jobs: int = 1, sort: bool = False,
                 run_size: int = 20_000) -> None:
        if chunk_size < 1 or jobs < 1:
            raise EarlogError("chunk size and jobs must be at least 1")
        self.context = context.with_transactions(())
        self.file = file
        self.settings = (self.context, regime, as_of, proofs, theme)
        self.chunk_size = chunk_size
        self.jobs = jobs
        self.sort = sort
        self.run_size = run_size
        load_rulebook(regime or context.regime)  # fail early on a broken rulebook
        self._ids: dict[str, int] = {}
        self._last: dict[Slot, tuple[Any, int]] = {}
        self.model_from: dict[str, tuple[str, Span]] = {}
        self._defaulted = {m.id for m in context.models if m.produced_in is None}
        self._fast = _FastPath(self.context)

    # -- stage 1: validation, in file order --

    def _accept(self, row: RawRow) -> Transaction | Rejected:
        try:
            tx = validate_row(row, self.context, self.file, self._fast)
        except (ScenarioError, CheckFailed) as exc:
            return _rejected(row, exc)
        first = self._ids.get(tx.id)
        if first is not None:
            return _rejected(row, ScenarioError(
                f"duplicate transaction id '{tx.id}'", Span(self.file, row.line, 1),
                f"first used at line {first}; transaction ids must be unique in the file"))
        if not self.sort:
            slot = (tx.ultimate_consignee, tx.date.year)
            last = self._last.get(slot)
            if last is not None and tx.date < last[0]:
                return _rejected(row, ScenarioError(
                    f"out of date order: '{tx.ultimate_consignee}' has a transaction dated "
                    f"{last[0].isoformat()} at line {last[1]}, after this one "
                    f"({tx.date.isoformat()}) in the file",
                    Span(self.file, row.line, 1),
                    "LPP totals need each consignee's transactions of a calendar year in date "
                    "order: sort the file by date, or pass --sort"))
            self._last[slot] = (tx.date, row.line)
        self._ids[tx.id] = row.line
        if tx.model in self._defaulted and tx.model not in self.model_from:
            self.model_from[tx.model] = (tx.from_, tx.where("from"))
        return tx

    def _validated(self, rows: Iterable[RawRow]) -> Iterator[tuple[int, Transaction] | Rejected]:
        for row in rows:
            got = self._accept(row)
            yield got if isinstance(got, Rejected) else (row.line, got)

    # -- stage 2: windows of rows, decided per partition --

    def run(self, rows: Iterable[RawRow]) -> Iterator[Screened | Rejected]:
        """Decide ``rows``; yield each rejected row as it is found and each window's
        decisions in file order (with ``sort``, in date order).

        Raises:
            EngineError: a worker process failed.
        """
        stream = self._validated(rows)
        if self.sort:
            stream = self._sorted(stream)
        pool = _Pool(self.settings, self.jobs)
        try:
            window: list[tuple[int, Transaction]] = []
            size = self.chunk_size * self.jobs
            for got in stream:
                if isinstance(got, Rejected):
                    yield got
                    continue
                window.append(got)
                if len(window) >= size:
                    yield from pool.submit(window, dict(self.model_from))
                    window = []
            if window:
                yield from pool.submit(window, dict(self.model_from))
            yield from pool.drain()
        finally:
            pool.close()

    def _sorted(self, stream: Iterator[tuple[int, Transaction] | Rejected]
                ) -> Iterator[tuple[int, Transaction] | Rejected]:
        """Rejects as they are found, then the accepted rows by (date, line)."""
        sorter: ExternalSorter[tuple[int, Transaction]] = ExternalSorter(
            key=lambda p: (p[1].date, p[0]), run_size=self.run_size)
        try:
            for got in stream:
                if isinstance(got, Rejected):
                    yield got
                else:
                    sorter.add(got)
            yield from sorter
        finally:
            sorter.close()


# ---- partitions: deciding chunks with LPP carried forward ----------------------------


class _Partition:
    """Decides chunks of transactions for a fixed set of consignees, carrying each
    (consignee, calendar year)'s LPP usage from chunk to chunk."""

    def __init__(self, context: Scenario, regime: str | None, as_of: Any, proofs: str | None,
                 theme: str) -> None:
        self.book = load_rulebook(regime or context.regime)
        self.context = context
        self.as_of = as_of
        self.engine = get_engine("earlog")
        # screening reports no `condition` (see the invariants above): not derived
        self.checked = self.book.checked.without(("condition",))
        self.static = tuple(f for f in input_facts(context, as_of) if f.pred != "lpp_shipped")
        # lpp_shipped(E, Y, N, "history"): the history plus LPP shipments of earlier chunks
        self.carry: dict[Slot, tuple[Value, Span]] = {
            (h.entity, h.year): (h.tpp, h.span) for h in context.history.lpp_shipped}
        self.defaulted = {m.id for m in context.models if m.produced_in is None}
        self.proofs = proofs
        self.theme = theme

    def decide(self, chunk: Sequence[tuple[int, Transaction]],
               model_from: Mapping[str, tuple[str, Span]]) -> list[Screened]:
        """Decide ``chunk`` as `decision.decide` would after every earlier chunk.

        The rows of each slot are decided in (date, line) order. A first evaluation
        assumes no LPP shipment inside the chunk; after each evaluation, in every slot,
        rows are final up to and including the first whose LPP use differs from what
        was assumed; the rest are evaluated again with new assumptions (``_guess``),
        until every row is final. Each round settles at least one row per open slot,
        so this ends; the result does not depend on the assumptions, only the number
        of rounds does (usually two).
        """
        with gc_paused():
            return self._decide(chunk, model_from)

    def _decide(self, chunk: Sequence[tuple[int, Transaction]],
                model_from: Mapping[str, tuple[str, Span]]) -> list[Screened]:
        order = sorted(chunk, key=lambda p: (p[1].date, p[0]))
        seq = [Fact("tx_seq", (tx.id, k), tx.span) for k, (_, tx) in enumerate(order)]
        lines = {tx.id: line for line, tx in chunk}
        slots: dict[Slot, list[Transaction]] = {}
        for _, tx in order:
            slots.setdefault((tx.ultimate_consignee, tx.date.year), []).append(tx)
        fixed = [*self.static, *seq, *self._defaults(model_from)]
        start = dict.fromkeys(slots, 0)
        shipped: dict[str, Fact] = {}  # LPP shipments assumed in this chunk, by tx id
        claimed: set[str] = set()  # rows that were LPP-only in some evaluation
        done: dict[str, Screened] = {}
        while any(start[s] < len(m) for s, m in slots.items()):
            batch = [tx for s, m in slots.items() for tx in m[start[s]:]]
            # settled rows are not evaluated again: their LPP use joins the carried total
            facts = (*fixed, *self._tx_facts(batch), *self._carried(slots, start, shipped),
                     *slot_chain(m[start[s]:] for s, m in slots.items()),
                     *(shipped[tx.id] for tx in batch if tx.id in shipped))
            view = DecisionView(self.engine.evaluate(self.checked, facts, provenance=True),
                                self.book)
            final: list[Transaction] = []
            for s, members in slots.items():
                k = start[s]
                while k < len(members):
                    tx = members[k]
                    assumed = tx.id in shipped
                    used = lpp_use(view, tx)
                    self._assume(shipped, tx, used)
                    final.append(tx)
                    k += 1
                    if assumed != (used is not None):
                        break
                start[s] = k
                for tx in members[k:]:
                    if lpp_use(view, tx) is not None:
                        claimed.add(tx.id)
                if k < len(members):
                    self._guess(view, s, members, k, shipped, claimed)
            for tx, screened in self._finish(view, final, batch, lines):
                done[tx.id] = screened
        for _, tx in order:
            fact = shipped.get(tx.id)
            if fact is not None:
                self._carry(tx, fact.values[2], fact.span)
        return [done[tx.id] for _, tx in chunk]

    @staticmethod
    def _assume(shipped: dict[str, Fact], tx: Transaction, used: Fact | None) -> None:
        if used is None:
            shipped.pop(tx.id, None)
        else:
            shipped[tx.id] = used

    def _guess(self, view: DecisionView, slot: Slot, members: list[Transaction], k: int,
               shipped: dict[str, Fact], claimed: set[str]) -> None:
        """Assume LPP use for the unsettled rows ``members[k:]`` of a slot.

        Any assumption is corrected by the next evaluation, so this only saves
        evaluations: in order, a row that has been LPP-only in some evaluation is
        assumed to ship if the slot's total so far plus its TPP is within the cap.
        """
        caps = [r[1] for r in view.model.rows("threshold") if r[0] == "lpp_cap"]
        carried = self.carry.get(slot)
        total: Any = carried[0] if carried is not None else 0
        for tx in members[:k]:
            if tx.id in shipped:
                total = total + shipped[tx.id].values[2]
        for tx in members[k:]:
            tpp = view.one("tx_tpp", tx.id)
            if tpp is not None and tx.id in claimed and len(caps) == 1 \
                    and total + tpp <= caps[0]:
                total = total + tpp
                shipped[tx.id] = Fact("lpp_shipped", (tx.ultimate_consignee, tx.date.year, tpp,
                                                      tx.id), tx.span)
            else:
                shipped.pop(tx.id, None)

    def _carry(self, tx: Transaction, tpp: Value, span: Span) -> None:
        slot = (tx.ultimate_consignee, tx.date.year)
        before = self.carry.get(slot)
        total: Any = tpp if before is None else before[0] + tpp  # type: ignore[operator]
        self.carry[slot] = (total, span)

    def _finish(self, view: DecisionView, final: list[Transaction], batch: list[Transaction],
                lines: Mapping[str, int]) -> Iterator[tuple[Transaction, Screened]]:
        decisions = {tx.id: view.decision(tx) for tx in final}
        # one writer per evaluation: the proofs of its transactions share sub-proofs,
        # why-nots, graph nodes and node texts
        proofs: Any = None  # an render.export.ExplanationWriter, imported when first needed
        for tx in final:
            d = decisions[tx.id]
            proof = None
            if self.proofs is not None and d.outcome in PROOF_OUTCOMES:
                if proofs is None:
                    from reasoner.render.export import ExplanationWriter

                    result = ScenarioDecisions(self.context.with_transactions(batch), self.book,
                                               tuple(decisions.values()), view.model)
                    proofs = ExplanationWriter(result)
                proof = self._render(proofs, tx.id)
            yield tx, Screened(lines[tx.id], tx, d, proof)

    def _render(self, proofs: Any, tx: str) -> bytes:
        from reasoner.render import get_theme, to_dot, to_image

        if self.proofs == "svg":
            return to_image(to_dot(proofs.graph(tx).to_networkx(), get_theme(self.theme)), "svg")
        text: str = proofs.json(tx)
        return text.encode("utf-8")

    def _tx_facts(self, txs: list[Transaction]) -> tuple[Fact, ...]:
        facts = input_facts(self.context.with_transactions(txs), self.as_of)
        return tuple(f for f in facts if f.pred.startswith("tx"))

    def _defaults(self, model_from: Mapping[str, tuple[str, Span]]) -> list[Fact]:
        # SCENARIOS.md: a model's produced_in defaults to the `from` of its first transaction
        return [Fact("model_produced_in", (m, c), span) for m, (c, span) in sorted(model_from.items())
                if m in self.defaulted]

    def _carried(self, slots: Mapping[Slot, list[Transaction]], start: Mapping[Slot, int],
                 shipped: Mapping[str, Fact]) -> list[Fact]:
        """lpp_shipped(E, Y, N, "history"): per slot, the LPP total of earlier chunks and
        of this chunk's settled rows (``slots[s][:start[s]]``)."""
        carry = dict(self.carry)
        for slot, members in slots.items():
            for tx in members[:start[slot]]:
                fact = shipped.get(tx.id)
                if fact is not None:
                    before = carry.get(slot)
                    tpp: Any = fact.values[2]
                    carry[slot] = (tpp if before is None else before[0] + tpp, fact.span)
        return [Fact("lpp_shipped", (e, y, n, "history"), span)
                for (e, y), (n, span) in sorted(carry.items())]


# ---- the pool: partitions in-process or in worker processes -----------------------------


def _partition_of(tx: Transaction, jobs: int) -> int:
    return zlib.crc32(tx.ultimate_consignee.encode("utf-8")) % jobs


def _worker(conn: Any, settings: tuple[Any, ...]) -> None:
    """A worker process: decides the chunks it is sent for its partition."""
    part = _Partition(*settings)
    while True:
        msg = conn.recv()
        if msg is None:
            return
        chunk, model_from = msg
        try:
            # the parent has the transactions: send back only what it lacks
            conn.send(("ok", [(s.line, s.decision, s.proof) for s in part.decide(chunk, model_from)]))
        except EarlogError as exc:
            conn.send(("error", str(exc), exc.hint))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises
            conn.send(("error", f"{type(exc).__name__}: {exc}", "this is a bug in earlog"))


class _Pool:
    """Partitions of the consignees: one in-process, or one per worker process.

    With workers, a window is sent off and the previous window's results are
    collected, so reading and validating overlap with deciding.
    """

    def __init__(self, settings: tuple[Any, ...], jobs: int) -> None:
        self.jobs = jobs
        self.local = _Partition(*settings) if jobs == 1 else None
        self.conns: list[Any] = []
        self.procs: list[Any] = []
        self.pending: list[int] | None = None
        self.sent: dict[int, Transaction] = {}  # the window in flight, by line
        if jobs > 1:
            methods = multiprocessing.get_all_start_methods()
            ctx: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            for _ in range(jobs):
                parent, child = ctx.Pipe()
                proc = ctx.Process(target=_worker, args=(child, settings), daemon=True)
                proc.start()
                child.close()
                self.conns.append(parent)
                self.procs.append(proc)

    def submit(self, window: list[tuple[int, Transaction]],
               model_from: dict[str, tuple[str, Span]]) -> list[Screened]:
        """Hand over a window; return the decisions of the previous one (workers) or of
        this one (in-process), in file order."""
        if self.local is not None:
            return self.local.decide(window, model_from)
        parts: list[list[tuple[int, Transaction]]] = [[] for _ in range(self.jobs)]
        for line, tx in window:
            parts[_partition_of(tx, self.jobs)].append((line, tx))
        out = self.drain()
        self.pending = []
        self.sent = dict(window)
        for k, part in enumerate(parts):
            if part:
                self.conns[k].send((part, model_from))
                self.pending.append(k)
        return out

    def drain(self) -> list[Screened]:
        """The decisions of the window in flight, in file order (none in-process)."""
        if not self.pending:
            return []
        got: list[Screened] = []
        for k in self.pending:
            try:
                reply = self.conns[k].recv()
            except EOFError:
                raise EngineError("a screening worker process ended unexpectedly",
                                  hint="run again with --jobs 1 to see the problem") from None
            if reply[0] != "ok":
                raise EngineError(reply[1], hint=reply[2])
            got.extend(Screened(line, self.sent[line], d, proof) for line, d, proof in reply[1])
        self.pending = None
        self.sent = {}
        got.sort(key=lambda s: s.line)
        return got

    def close(self) -> None:
        """Stop the worker processes."""
        for conn in self.conns:
            try:
                conn.send(None)
            except (OSError, ValueError):
                pass
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
        self.conns, self.procs = [], []
