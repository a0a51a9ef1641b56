"""Bulk screening set-at-a-time: the rulebook compiled to SQL over the whole book (DuckDB)."""

# How a book becomes decisions here (compare screener.py, which decides chunks
# with earlog's evaluator):
#
#   rows ──validate──▶ Transaction | Rejected     (Screener's own validation, file order)
#        ──stage──▶    one table of transactions (line, fields), then the tx_* relations;
#                      tx_seq numbers them by (date, line): the engine sorts the book
#        ──pass 1──▶   every stratum once over the whole book, LPP counting only history
#        ──fold──▶     per (consignee, calendar year), in tx_seq order: a transaction
#                      whose only available exception was LPP ships under it when the
#                      year's running total plus its TPP is within the cap; the shipments
#                      become lpp_shipped(E, Y, N, Tx) facts
#        ──pass 2──▶   the strata that read lpp_shipped (transitively), again
#        ──decide──▶   the decision fields per transaction, by GROUP BY (outcome, exceptions,
#                      review); citations and uncertainty ids are or-ed mark columns (below)
#
# Invariants:
# * Pass 1 is exact for every predicate that does not read lpp_shipped; for LPP, a
#   transaction's prior total in pass 1 (history only) is at most its true one, so
#   an LPP candidate of the true model is one of pass 1 (TPP is never negative):
#   the fold over pass 1's LPP-only transactions is `decision.decide`'s sequence.
# * Every row of every relation carries the or of the citation and uncertainty marks
#   of the rules of its proof by first derivations (``compiler.compile_program``'s
#   ``marks``); a decision's citations and uncertainties are the or over the same
#   facts `decision._decision` walks. Where a fact has several derivations by its
#   first rule, the marks of all of them are or-ed (earlog's evaluator takes the
#   first match's only).

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any, Callable, Iterable, Iterator, Mapping, Sequence

from reasoner.engine.sql.compiler import DUCKDB, WORD_BITS, SqlProgram, table_name
from reasoner.engine.sql.duckdb_engine import connect, create_tables, executor
from reasoner.engine.sql.runner import csv_cell, load_rows, prepare, run_steps
from reasoner.lang.checks import CheckedProgram
from reasoner.lang.errors import EarlogError, EngineError
from reasoner.lang.ir import Const, Fact, Literal, Value
from reasoner.law.decision import EXCEPTION_CODES, FLAG_PREDICATES, input_facts
from reasoner.law.rulebook import Rulebook, load_rulebook
from reasoner.law.scenario import Scenario, Transaction
from reasoner.tools.screen.files import DECISION_COLUMNS, RawRow
from reasoner.tools.screen.screener import Rejected, Screener

__all__ = ["ColumnarScreen", "Marks", "dependents"]

_TX_FIELDS = ("line", "id", "type", "date", "exporter", "from_", "to", "ultimate_consignee",
              "item", "model", "quantity", "end_use", "final_destination")
_TX_TYPES = ("BIGINT", "VARCHAR", "VARCHAR", "DATE", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR",
             "VARCHAR", "VARCHAR", "HUGEINT", "VARCHAR", "VARCHAR")
# relation <- column of the staged transactions table (None: the relation is special)
_TX_RELATIONS = (("tx_type", "type"), ("tx_date", "date"), ("tx_exporter", "exporter"),
                 ("tx_from", "from_"), ("tx_to", "to"), ("tx_consignee", "ultimate_consignee"),
                 ("tx_item", "item"), ("tx_model", "model"), ("tx_quantity", "quantity"),
                 ("tx_end_use", "end_use"), ("tx_final_destination", "final_destination"))


class Marks:
    """Citations and uncertainty ids as bit positions; per rule, the bits of its own."""

    def __init__(self, book: Rulebook) -> None:
        self.index: dict[tuple[bool, str], int] = {}
        self.own: list[int] = []
        for rule in book.rules:
            marks = [(True, rule.meta.cite)] if rule.meta.cite else []
            marks += [(False, u) for u in rule.meta.uncertain]
            self.own.append(sum(1 << self.index.setdefault(m, len(self.index)) for m in set(marks)))
        self.names = list(self.index)

    def cites_mask(self, cites: Iterable[str]) -> int:
        return sum(1 << self.index[(True, c)] for c in set(cites) if (True, c) in self.index)

    def decode(self, mask: int) -> tuple[list[str], list[str]]:
        """The citations (in the contract's order) and uncertainty ids of ``mask``."""
        marks = [self.names[i] for i in range(mask.bit_length()) if mask >> i & 1]
        cites = sorted((t for is_cite, t in marks if is_cite),
                       key=lambda c: (0 if c.startswith("15 CFR") else 1, c))
        return cites, sorted(t for is_cite, t in marks if not is_cite)


def dependents(checked: CheckedProgram, preds: Iterable[str]) -> set[str]:
    """The predicates whose rules read one of ``preds``, directly or not."""
    out = set(preds)
    changed = True
    while changed:
        changed = False
        for rule in checked.rules:
            if rule.head.pred in out:
                continue
            if _reads(rule.body) & out:
                out.add(rule.head.pred)
                changed = True
    return out - set(preds)


def _reads(body: Any) -> set[str]:
    got: set[str] = set()
    for item in body:
        if isinstance(item, Literal):
            got.add(item.atom.pred)
        elif hasattr(item, "body"):
            got |= _reads(item.body)
    return got


@dataclass(slots=True)
class Stats:
    """What a columnar run did."""

    decided: int = 0
    lpp_shipped: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


class ColumnarScreen:
    """Decides a whole book at once on DuckDB.

    Args:
        context: the screening context (no transactions).
        file: the input's name, for diagnostics.
        regime, as_of: as for ``Screener``.
        sort: decide rows in (date, line) order whatever the file's order (True), or
            reject a row dated before an earlier row of its consignee and year.
        threads: DuckDB threads (None: DuckDB's default, the CPUs).
        memory_limit: DuckDB's memory limit (e.g. ``"1GB"``); beyond it, DuckDB spills
            to disk.
    """

    def __init__(self, context: Scenario, file: str = "<input>", *, regime: str | None = None,
                 as_of: _dt.date | None = None, sort: bool = True, threads: int | None = None,
                 memory_limit: str | None = None) -> None:
        self.context = context.with_transactions(())
        self.file = file
        self.as_of = as_of
        self.validator = Screener(context, file, regime=regime, as_of=as_of, sort=sort)
        self.book = load_rulebook(regime or context.regime)
        self.checked = self.book.checked.without(("condition",))
        self.marks = Marks(self.book)
        self.con = connect(threads, memory_limit)
        self.execute = executor(self.con)
        self.folder = tempfile.mkdtemp(prefix="earlog-screen-")
        self._staged = os.path.join(self.folder, "transactions.csv")
        self._fh: IO[str] | None = open(self._staged, "w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._fh, lineterminator="\n")
        self.accepted = 0
        self.sql: SqlProgram | None = None
        self.stats = Stats()

    # -- stage 1: validation (Python, file order) ---------------------------------------

    def accept(self, rows: Iterable[RawRow]) -> Iterator[Rejected]:
        """Validate ``rows`` and stage the accepted ones; yield the rejected ones."""
        accept, write = self.validator._accept, self._writer.writerow
        for row in rows:
            got = accept(row)
            if isinstance(got, Rejected):
                yield got
                continue
            t = got
            write((row.line, t.id, t.type, t.date.isoformat(), t.exporter, t.from_, t.to,
                   t.ultimate_consignee, _cell(t.item), _cell(t.model), _cell(t.quantity),
                   t.end_use, _cell(t.final_destination)))
            self.accepted += 1

    # -- stage 2: deciding ---------------------------------------------------------------

    def decide(self, on_stage: Callable[[str], None] | None = None) -> Stats:
        """Decide every staged transaction (the decisions stay in the database).

        Raises:
            EngineError: DuckDB failed, or the rulebook does not have one LPP cap.
        """
        import time

        assert self._fh is not None
        self._fh.close()
        self._fh = None
        say = on_stage or (lambda _: None)
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            self.stats.seconds[name] = now - clock
            clock = now
        say("loading")
        static = self._static_facts()
        rows: dict[str, set[tuple[Value, ...]]] = {}
        for fact in (*self.checked.program.facts, *static):
            rows.setdefault(fact.pred, set()).add(fact.values)
        sql = self.sql = prepare(self.checked, {**rows, **self._samples(rows)}, DUCKDB,
                                 self.marks.own)
        create_tables(self.execute, sql)
        for pred, rs in rows.items():
            if pred in sql.arity:
                load_rows(self.execute, sql, pred, rs, self.folder)
        self._load_transactions(sql)
        lap("load")
        say("evaluating")
        run_steps(self.execute, sql)
        lap("pass 1")
        say("counting LPP")
        shipped = self._lpp_fold()
        self.stats.lpp_shipped = len(shipped)
        lap("LPP fold")
        if shipped:
            say("evaluating LPP")
            load_rows(self.execute, sql, "lpp_shipped", shipped, self.folder)
            again = dependents(self.checked, ("lpp_shipped",))
            for pred in again:
                self.execute(f"DELETE FROM {table_name(pred)} WHERE _r >= 0")
            run_steps(self.execute, sql, [s for s in sql.steps if set(s.preds) & again])
        lap("pass 2")
        say("deciding")
        self._decisions(sql)
        lap("decisions")
        self.stats.decided = self.accepted
        return self.stats

    def _static_facts(self) -> list[Fact]:
        facts = list(input_facts(self.context, self.as_of))
        # SCENARIOS.md: a model's produced_in defaults to the `from` of its first transaction
        for model, (country, span) in sorted(self.validator.model_from.items()):
            facts.append(Fact("model_produced_in", (model, country), span))
        return facts

    def _samples(self, rows: Mapping[str, set[tuple[Value, ...]]]) -> dict[str, set[tuple[Value, ...]]]:
        """One row of each kind that the staged relations and the LPP shipments hold."""
        d = _dt.date(2025, 1, 1)
        tpp_kinds = {type(r[1]) for r in rows.get("item_tpp", ())}
        tpp: Value = Decimal("0.5") if Decimal in tpp_kinds else 1
        out: dict[str, set[tuple[Value, ...]]] = {
            "tx": {("t",)}, "tx_seq": {("t", 0)}, "tx_date": {("t", d)}, "tx_as_of": {("t", d)},
            "tx_quantity": {("t", 1)}, "lpp_shipped": {*rows.get("lpp_shipped", ()),
                                                       ("e", 2025, tpp, "t")}}
        for pred, _ in _TX_RELATIONS:
            out.setdefault(pred, {("t", "x")})
        return out

    def _load_transactions(self, sql: SqlProgram) -> None:
        ex = self.execute
        cols = ", ".join(f"'{n}': '{t}'" for n, t in zip(_TX_FIELDS, _TX_TYPES))
        path = self._staged.replace("'", "''")
        ex(f"CREATE TABLE txs AS SELECT * FROM read_csv('{path}', header=false, "
           f"columns={{{cols}}}, quote='\"', escape='\"', auto_detect=false, "
           f"force_not_null=['id', 'type', 'exporter', 'from_', 'to', 'ultimate_consignee', "
           f"'end_use'])")
        zeros = "".join(", CAST(0 AS BIGINT)" for _ in range(sql.words))
        as_of = self.as_of or self.context.as_of
        ex(f"INSERT INTO {table_name('tx')} SELECT id, -1{zeros} FROM txs")
        ex(f"INSERT INTO {table_name('tx_seq')} SELECT id, CAST(row_number() OVER "
           f"(ORDER BY date, line) - 1 AS HUGEINT), -1{zeros} FROM txs")
        when = f"DATE '{as_of.isoformat()}'" if as_of is not None else "date"
        ex(f"INSERT INTO {table_name('tx_as_of')} SELECT id, {when}, -1{zeros} FROM txs")
        for pred, col in _TX_RELATIONS:
            ex(f"INSERT INTO {table_name(pred)} SELECT id, \"{col}\", -1{zeros} FROM txs "
               f"WHERE \"{col}\" IS NOT NULL")

    # -- LPP --------------------------------------------------------------------------

    def _lpp_fold(self) -> list[tuple[Value, ...]]:
        """The LPP shipments of the book: (consignee, year, TPP, transaction) rows."""
        from reasoner.engine.sql.runner import to_value

        ex = self.execute
        caps = ex(f"SELECT c1 FROM {table_name('threshold')} WHERE c0 = 'lpp_cap'")
        if len(caps) != 1:
            raise EngineError("the rulebook must state one LPP cap (threshold \"lpp_cap\")")
        cap = to_value(caps[0][0])
        codes = ", ".join(f"'{c}'" for c in EXCEPTION_CODES if c != "LPP")
        found = ex(f"""
            SELECT s.c1, s.c2, t.c1, p.c1, s.c0
            FROM {table_name('lpp_slot')} s
            JOIN {table_name('tx_tpp')} t ON t.c0 = s.c0
            JOIN {table_name('lpp_prior')} p ON p.c0 = s.c0
            JOIN {table_name('tx_seq')} q ON q.c0 = s.c0
            WHERE EXISTS (SELECT 1 FROM {table_name('exception')} x
                          WHERE x.c0 = s.c0 AND x.c1 = 'LPP')
              AND NOT EXISTS (SELECT 1 FROM {table_name('exception')} x
                              WHERE x.c0 = s.c0 AND x.c1 IN ({codes}))
            ORDER BY s.c1, s.c2, q.c1""")
        shipped: list[tuple[Value, ...]] = []
        slot: tuple[Any, Any] | None = None
        total: Any = 0
        for e, y, tpp, prior, tx in found:
            if (e, y) != slot:
                slot, total = (e, y), to_value(prior)
            tpp = to_value(tpp)
            if total + tpp <= cap:  # type: ignore[operator]
                total = total + tpp
                shipped.append((e, to_value(y), tpp, tx))
        return shipped

    # -- the decision fields --------------------------------------------------------------

    def _decisions(self, sql: SqlProgram) -> None:
        ex = self.execute
        T = table_name
        ms = [f"m{w}" for w in range(sql.words)]
        codes = ", ".join(f"'{c}'" for c in EXCEPTION_CODES)
        ex(f"""CREATE TABLE base AS
            SELECT t.line, t.id AS tx, a.c1 AS as_of,
                   i.c0 IS NOT NULL AS in_scope, n.c0 IS NOT NULL AS needs,
                   u.c0 IS NOT NULL AS unknown,
                   COALESCE(o.outcome, 'indeterminate') AS outcome,
                   COALESCE(x.codes, []) AS exceptions, r.review, r.review IS NOT NULL AS reviewed,
                   w.c0 IS NOT NULL AS weights, it.tx IS NOT NULL AS has_item
            FROM txs t
            LEFT JOIN (SELECT c0, min(c1) AS c1 FROM {T('tx_as_of')} GROUP BY c0) a ON a.c0 = t.id
            LEFT JOIN {T('in_scope')} i ON i.c0 = t.id
            LEFT JOIN {T('needs_license')} n ON n.c0 = t.id
            LEFT JOIN {T('license_unknown')} u ON u.c0 = t.id
            LEFT JOIN (SELECT c0, min(c1) AS outcome FROM {T('outcome')} GROUP BY c0) o
                ON o.c0 = t.id
            LEFT JOIN (SELECT c0, list_sort(list(DISTINCT c1)) AS codes FROM {T('exception')}
                       WHERE c1 IN ({codes}) GROUP BY c0) x ON x.c0 = t.id
            LEFT JOIN (SELECT c0, min(c1) AS review FROM {T('review')} GROUP BY c0) r
                ON r.c0 = t.id
            LEFT JOIN {T('weights')} w ON w.c0 = t.id
            LEFT JOIN (SELECT DISTINCT c0 AS tx FROM {T('tx_item')}) it ON it.tx = t.id""")
        self._candidate_marks(sql)
        open_ = "b.outcome IN ('license_required', 'indeterminate')"
        ruled = "NOT list_contains(b.exceptions, r.c1)"
        parts = [
            f"SELECT o.c0 AS tx, {_m('o', ms)} FROM {T('outcome')} o JOIN base b "
            "ON o.c0 = b.tx AND o.c1 = b.outcome",
            f"SELECT x.c0, {_m('x', ms)} FROM {T('exception')} x WHERE x.c1 IN ({codes})",
            f"SELECT r.c0, {_m('r', ms)} FROM {T('review')} r JOIN base b ON r.c0 = b.tx "
            "AND r.c1 = b.review WHERE b.outcome = 'license_required'",
            f"SELECT l.c0, {_m('l', ms)} FROM {T('license_required')} l",
            f"SELECT h.c0, {_m('h', ms)} FROM {T('cons_hq')} h JOIN base b ON h.c0 = b.tx "
            "WHERE b.in_scope",
            f"SELECT i.c0, {_m('c', ms)} FROM {T('tx_item')} i JOIN {T('class_confirmed')} c "
            "ON c.c0 = i.c1 JOIN base b ON i.c0 = b.tx WHERE b.in_scope",
            f"SELECT n.c0, {_m('n', ms)} FROM {T('no_license')} n JOIN base b ON n.c0 = b.tx "
            "WHERE b.outcome = 'permitted' AND NOT b.needs",
            f"SELECT r.c0, {_m('r', ms)} FROM {T('relevant_exception')} r JOIN base b "
            f"ON r.c0 = b.tx WHERE {open_} AND {ruled}",
            f"SELECT r.c0, {_m('x', ms)} FROM {T('relevant_exception')} r JOIN base b "
            f"ON r.c0 = b.tx JOIN {T('barred')} x ON x.c0 = r.c0 AND x.c1 = r.c1 "
            f"WHERE {open_} AND {ruled}",
            f"SELECT r.c0, {_m('k', ms)} FROM {T('relevant_exception')} r JOIN base b "
            f"ON r.c0 = b.tx JOIN cand k ON k.code = r.c1 AND k.weights = b.weights "
            f"AND k.item = b.has_item WHERE {open_} AND {ruled}",
            f"SELECT p.c0, {_m('p', ms)} FROM {T('pending')} p JOIN base b ON p.c0 = b.tx "
            f"WHERE {open_} AND NOT EXISTS (SELECT 1 FROM {T('barred_pending')} q "
            "WHERE q.c0 = p.c0 AND q.c1 = p.c1)",
            f"SELECT l.c0, {_m('l', ms)} FROM {T('lr_unknown')} l JOIN base b ON l.c0 = b.tx "
            f"WHERE {open_}",
        ] + [f"SELECT f.c0, {_m('f', ms)} FROM {T(p)} f" for p in FLAG_PREDICATES]
        ors = ", ".join(f"bit_or({m}) AS {m}" for m in ms)
        ex(f"CREATE TABLE used AS SELECT tx, {ors} FROM ({' UNION ALL '.join(parts)}) u "
           "GROUP BY tx")
        ex(f"""CREATE TABLE missing AS
            SELECT p.c0 AS tx, list_sort(list(DISTINCT p.c2)) AS missing
            FROM {T('pending')} p JOIN base b ON p.c0 = b.tx
            WHERE {open_} AND NOT EXISTS (SELECT 1 FROM {T('barred_pending')} q
                                          WHERE q.c0 = p.c0 AND q.c1 = p.c1)
            GROUP BY p.c0""")
        ex(f"""CREATE TABLE flags AS SELECT c0 AS tx, list(DISTINCT c1) AS flagged
            FROM {T('tx_flag')} GROUP BY c0""")
        self._decode(ms)
        zero = ", ".join(f"COALESCE(u.{m}, 0) AS {m}" for m in ms)
        on = " AND ".join(f"d.{m} = k.{m}" for m in ms)
        ex(f"""CREATE TABLE decisions AS
            WITH k AS (SELECT b.*, {zero}, COALESCE(mi.missing, []) AS missing0,
                              COALESCE(f.flagged, []) AS flagged
                       FROM base b LEFT JOIN used u ON u.tx = b.tx
                       LEFT JOIN missing mi ON mi.tx = b.tx LEFT JOIN flags f ON f.tx = b.tx),
            k2 AS (SELECT k.*, CASE WHEN k.outcome = 'indeterminate' AND k.needs
                                     AND NOT k.reviewed AND len(k.missing0) = 0
                                    THEN ['tpp_per_unit'] ELSE k.missing0 END AS missing
                   FROM k)
            SELECT k.line, k.tx AS "transaction", k.as_of,
                   k.in_scope,
                   CASE WHEN NOT k.in_scope THEN FALSE WHEN k.unknown THEN NULL
                        ELSE k.needs END AS license_required,
                   k.exceptions, k.outcome,
                   CASE WHEN k.outcome = 'license_required' THEN k.review END AS review_policy,
                   d.cites AS citations,
                   list_sort(list_distinct(list_concat(d.unc, k.flagged,
                       list_transform(k.missing, lambda s: 'missing:' || s)))) AS uncertainties
            FROM k2 k JOIN decoded d ON {on}""")

    def _candidate_marks(self, sql: SqlProgram) -> None:
        """``cand(code, weights, item, m..)``: the citations `decision._ruled_out` adds for
        an unavailable exception (``DecisionView.candidate_cites``), as marks."""
        rows = []
        heads = {r.head.args[1].value for r in self.book.rules if r.head.pred == "candidate"
                 and isinstance(r.head.args[1], Const)}
        for code in sorted(set(EXCEPTION_CODES) | {str(h) for h in heads}):
            for weights in (False, True):
                for item in (False, True):
                    kind = {"weights": weights, "tx_item": item, "tx_eccn": item}
                    cites = {
                        rule.meta.cite for rule in self.book.rules
                        if rule.meta.cite and rule.head.pred == "candidate"
                        and isinstance(rule.head.args[1], Const) and rule.head.args[1].value == code
                        and not any(isinstance(b, Literal) and not b.negated
                                    and kind.get(b.atom.pred) is False for b in rule.body)}
                    rows.append((code, weights, item, *_words(self.marks.cites_mask(cites),
                                                             sql.words)))
        cols = ", ".join(["code VARCHAR", "weights BOOLEAN", "item BOOLEAN"]
                         + [f"m{w} BIGINT" for w in range(sql.words)])
        self.execute(f"CREATE TABLE cand ({cols})")
        self.execute("INSERT INTO cand VALUES " + ", ".join(
            "(" + ", ".join(_sql_value(v) for v in row) + ")" for row in rows))

    def _decode(self, ms: list[str]) -> None:
        """``decoded(m.., cites, unc)`` for every distinct mark set of a decision."""
        got = self.execute(f"SELECT DISTINCT {', '.join(f'COALESCE({m}, 0)' for m in ms)} "
                           "FROM base b LEFT JOIN used u ON u.tx = b.tx")
        cols = ", ".join([f"{m} BIGINT" for m in ms] + ["cites VARCHAR[]", "unc VARCHAR[]"])
        self.execute(f"CREATE TABLE decoded ({cols})")
        values = []
        for words in got:
            mask = sum(int(w) << (WORD_BITS * k) for k, w in enumerate(words))
            cites, unc = self.marks.decode(mask)
            values.append("(" + ", ".join([str(int(w)) for w in words]
                                          + [_sql_list(cites), _sql_list(unc)]) + ")")
        for k in range(0, len(values), 1000):
            self.execute("INSERT INTO decoded VALUES " + ", ".join(values[k:k + 1000]))

    # -- results ------------------------------------------------------------------------

    def counts(self) -> tuple[int, Counter[str], Counter[str], Counter[str]]:
        """Rows decided, and the counts of outcomes, exceptions and review policies."""
        ex = self.execute
        outcomes = Counter({k: n for k, n in ex(
            "SELECT outcome, COUNT(*) FROM decisions GROUP BY outcome")})
        exceptions = Counter({k: n for k, n in ex(
            "SELECT x, COUNT(*) FROM (SELECT unnest(exceptions) AS x FROM decisions) GROUP BY x")})
        reviews = Counter({k: n for k, n in ex(
            "SELECT review_policy, COUNT(*) FROM decisions WHERE review_policy IS NOT NULL "
            "GROUP BY review_policy")})
        return sum(outcomes.values()), outcomes, exceptions, reviews

    def records(self, batch: int = 10_000, outcomes: Sequence[str] | None = None
                ) -> Iterator[tuple[int, dict[str, Any]]]:
        """(line, decision record) per decided row (with one of ``outcomes``), in file order."""
        where = ""
        if outcomes is not None:
            where = " WHERE outcome IN (" + ", ".join(_sql_value(o) for o in outcomes) + ")"
        cur = self.con.cursor().execute(
            "SELECT line, " + ", ".join(f'"{c}"' for c in DECISION_COLUMNS)
            + f" FROM decisions{where} ORDER BY line")
        while True:
            chunk = cur.fetchmany(batch)
            if not chunk:
                return
            for row in chunk:
                rec = dict(zip(DECISION_COLUMNS, row[1:]))
                rec["as_of"] = rec["as_of"].isoformat()
                yield row[0], rec

    def copy_to(self, path: str, fmt: str) -> None:
        """Write the decisions to ``path`` (``csv`` or ``parquet``), in file order."""
        quoted = path.replace("'", "''")
        if fmt == "parquet":
            self.execute(f"COPY (SELECT {_columns()} FROM decisions ORDER BY line) "
                         f"TO '{quoted}' (FORMAT parquet)")
            return
        cells = []
        for c in DECISION_COLUMNS:
            if c in ("exceptions", "citations", "uncertainties"):
                cells.append(f"NULLIF(array_to_string(\"{c}\", ';'), '') AS \"{c}\"")
            else:
                cells.append(f'"{c}"')
        self.execute(f"COPY (SELECT {', '.join(cells)} FROM decisions ORDER BY line) "
                     f"TO '{quoted}' (FORMAT csv, HEADER true)")

    def close(self) -> None:
        """Drop the database and the staged files."""
        import shutil

        if self._fh is not None:
            self._fh.close()
            self._fh = None
        try:
            self.con.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _columns() -> str:
    return ", ".join(f'"{c}"' for c in DECISION_COLUMNS)


def _m(alias: str, ms: list[str]) -> str:
    return ", ".join(f"{alias}.{m} AS {m}" for m in ms)


def _words(mask: int, words: int) -> list[int]:
    return [(mask >> (WORD_BITS * w)) & ((1 << WORD_BITS) - 1) for w in range(words)]


def _sql_value(v: Any) -> str:
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def _sql_list(items: Sequence[str]) -> str:
    return "CAST([" + ", ".join(_sql_value(s) for s in items) + "] AS VARCHAR[])"


def _cell(v: Any) -> str:
    return "" if v is None else csv_cell(v)
