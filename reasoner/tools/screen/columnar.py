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

from reasoner.engine.sql.compiler import (DUCKDB, SYMBOL_TYPE, WORD_BITS, SqlProgram, constants,
                                          table_name)
from reasoner.engine.sql.duckdb_engine import connect, create_tables, executor
from reasoner.engine.sql.runner import csv_cell, load_rows, prepare, run_steps
from reasoner.lang.checks import CheckedProgram
from reasoner.lang.errors import EarlogError, EngineError
from reasoner.lang.ir import Const, Fact, Literal, Value
from reasoner.law.decision import EXCEPTION_CODES, FLAG_PREDICATES, input_facts
from reasoner.law.rulebook import Rulebook, load_rulebook
from reasoner.law.scenario import Scenario, Transaction
from reasoner.tools.screen.files import DECISION_COLUMNS, TX_COLUMNS, RawRow
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
        memory_limit: DuckDB's memory limit (e.g. ``"1GB"``); with one, the tables live
            in a database file in a temporary folder and DuckDB spills to disk beyond it;
            without, everything stays in memory.
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
        self.folder = tempfile.mkdtemp(prefix="earlog-screen-")
        # Under a memory limit, a database file, so that DuckDB can move tables out of
        # memory; else in memory (measured 2x faster on 1M rows).
        database = ":memory:" if memory_limit is None else os.path.join(self.folder, "screen.duckdb")
        try:
            self.con = connect(threads, memory_limit, database)
        except BaseException:
            import shutil

            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        if memory_limit is not None:
            folder = self.folder.replace("'", "''")
            self.con.execute(f"SET temp_directory = '{folder}'")
        self.execute = executor(self.con)
        self._staged = os.path.join(self.folder, "transactions.csv")
        self._fh: IO[str] | None = open(self._staged, "w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._fh, lineterminator="\n")
        self.accepted = 0
        self.sql: SqlProgram | None = None
        self.symbols: dict[str, int] = {}
        self.stats = Stats()

    # -- stage 1: validation (Python, file order) ---------------------------------------

    def accept(self, rows: Iterable[RawRow]) -> Iterator[Rejected]:
        """Validate ``rows`` and stage the accepted ones; yield the rejected ones."""
        accept, write = self.validator._accept, self._write
        for row in rows:
            got = accept(row)
            if isinstance(got, Rejected):
                yield got
                continue
            write(row.line, got)
            self.accepted += 1

    def accept_file(self, path: str, fmt: str) -> list[Rejected] | None:
        """Read and validate a plain CSV file or a Parquet file in the database; return
        its rejected rows.

        A plain CSV file (no quotes, lone carriage returns, blank lines or byte-order
        mark, so each line is one row) or a Parquet file that DuckDB reads with exactly
        the transaction columns is validated in SQL where rows are in canonical form
        (``screener._FastPath``'s conditions); the other rows go through ``Screener``'s
        validation. Duplicate ids are rejected after the first valid row with the id
        (as ``Screener`` does when sorting). None (nothing done) for other files, or
        when DuckDB cannot read it: then use ``accept``.
        """
        if not self.validator.sort or fmt not in ("csv", "parquet") \
                or (fmt == "csv" and not _plain(path)):
            return None
        quoted = path.replace("'", "''")
        try:
            self.execute("SET preserve_insertion_order = true")
            if fmt == "csv":
                self.execute(f"CREATE TABLE raw0 AS SELECT * FROM read_csv('{quoted}', "
                             "header=true, all_varchar=true, delim=',', quote='\"', "
                             "escape='\"', strict_mode=true, null_padding=false)")
            else:
                self.execute(f"CREATE TABLE raw0 AS SELECT * FROM read_parquet('{quoted}')")
            names = [r[0] for r in self.execute("DESCRIBE raw0")]
            if sorted(names) != sorted(TX_COLUMNS):
                self.execute("DROP TABLE raw0")
                return None
            first = 2 if fmt == "csv" else 1  # a CSV header is line 1; Parquet rows count from 1
            text = ", ".join(f"CAST({_q(n)} AS VARCHAR) AS {_q(n)}" for n in names)
            self.execute(f"CREATE TABLE raw AS SELECT rowid + {first} AS line, {text} FROM raw0")
            self.execute("DROP TABLE raw0")
        except EngineError:
            self.execute("DROP TABLE IF EXISTS raw0")
            return None
        finally:
            self.execute("SET preserve_insertion_order = false")
        self._valid_values()
        self.execute(f"CREATE TABLE raw_ok AS SELECT line, ({_canonical()}) AS ok FROM raw")
        rejected = []
        cur = self.con.cursor().execute(
            f"SELECT r.line, {', '.join(_q(n) for n in names)} FROM raw r "
            "JOIN raw_ok k ON k.line = r.line WHERE NOT k.ok ORDER BY r.line")
        while True:
            chunk = cur.fetchmany(10_000)
            if not chunk:
                break
            for line, *cells in chunk:
                shown = tuple((n, "" if c is None else c) for n, c in zip(names, cells))
                row = RawRow(line, {n: c for n, c in zip(names, cells) if c is not None},
                             None, shown)
                got = self._validate(row)
                if isinstance(got, Rejected):
                    rejected.append(got)
        assert self._fh is not None
        self._fh.close()
        self._fh = None
        self._stage_csv(canonical=True)
        rejected += self._duplicates(names)
        self._model_defaults()
        for table in ("raw", "raw_ok", "txs_all", "txs_first"):
            self.execute(f"DROP TABLE {table}")
        self.accepted = self.execute("SELECT COUNT(*) FROM txs")[0][0]
        return sorted(rejected, key=lambda r: r.line)

    def _validate(self, row: RawRow) -> Transaction | Rejected:
        from reasoner.lang.errors import CheckFailed, ScenarioError
        from reasoner.tools.screen.screener import _rejected, validate_row

        try:
            tx = validate_row(row, self.validator.context, self.file, self.validator._fast)
        except (ScenarioError, CheckFailed) as exc:
            return _rejected(row, exc)
        self._write(row.line, tx)
        return tx

    def _write(self, line: int, t: Transaction) -> None:
        self._writer.writerow((line, t.id, t.type, t.date.isoformat(), t.exporter, t.from_, t.to,
                               t.ultimate_consignee, _cell(t.item), _cell(t.model),
                               _cell(t.quantity), t.end_use, _cell(t.final_destination)))

    def _valid_values(self) -> None:
        """``valid(kind, value)``: the entities, items, models and countries a canonical
        row may name."""
        import pycountry

        from reasoner.law.scenario import EXTRA_COUNTRIES

        ctx = self.validator.context
        values = [("entity", e.id) for e in ctx.entities] + [("item", i.id) for i in ctx.items]
        values += [("model", m.id) for m in ctx.models]
        values += [("country", c) for c in sorted({c.alpha_2 for c in pycountry.countries}
                                                   | set(EXTRA_COUNTRIES))]
        self.execute("CREATE TABLE valid (kind VARCHAR, value VARCHAR)")
        for k in range(0, len(values), 500):
            self.execute("INSERT INTO valid VALUES " + ", ".join(
                f"({_sql_value(a)}, {_sql_value(b)})" for a, b in values[k:k + 500]))

    def _stage_csv(self, canonical: bool) -> None:
        """``txs``: the staged rows (and, from ``accept_csv``, the canonical ones)."""
        cols = ", ".join(f"'{n}': '{t}'" for n, t in zip(_TX_FIELDS, _TX_TYPES))
        path = self._staged.replace("'", "''")
        staged = (f"SELECT * FROM read_csv('{path}', header=false, columns={{{cols}}}, "
                  "quote='\"', escape='\"', auto_detect=false, force_not_null=['id', 'type', "
                  "'exporter', 'from_', 'to', 'ultimate_consignee', 'end_use'])")
        if not canonical:
            self.execute(f"CREATE TABLE txs AS {staged}")
            return
        self.execute(f"""CREATE TABLE txs_all AS
            SELECT r.line, r.id, r.type, CAST(r.date AS DATE) AS date, r.exporter,
                   r."from" AS from_, r."to", r.ultimate_consignee, r.item, r.model,
                   CAST(r.quantity AS HUGEINT) AS quantity, r.end_use, r.final_destination
            FROM raw r JOIN raw_ok k ON k.line = r.line WHERE k.ok
            UNION ALL {staged}""")
        self.execute("""CREATE TABLE txs_first AS
            SELECT *, min(line) OVER (PARTITION BY id) AS first FROM txs_all""")
        self.execute("CREATE TABLE txs AS SELECT * EXCLUDE (first) FROM txs_first "
                     "WHERE line = first")

    def _duplicates(self, names: list[str]) -> list[Rejected]:
        from reasoner.lang.errors import ScenarioError
        from reasoner.lang.span import Span
        from reasoner.tools.screen.screener import _rejected

        out = []
        for line, tid, first, *cells in self.execute(
                f"SELECT f.line, f.id, f.first, {', '.join('r.' + _q(n) for n in names)} "
                "FROM txs_first f JOIN raw r ON r.line = f.line WHERE f.line > f.first"):
            shown = tuple((n, "" if c is None else c) for n, c in zip(names, cells))
            row = RawRow(line, None, None, shown)
            out.append(_rejected(row, ScenarioError(
                f"duplicate transaction id '{tid}'", Span(self.file, line, 1),
                f"first used at line {first}; transaction ids must be unique in the file")))
        return out

    def _model_defaults(self) -> None:
        """The production country of each model without one: its first row's ``from``."""
        from reasoner.lang.span import Span

        defaulted = self.validator._defaulted
        if not defaulted:
            return
        names = ", ".join(_sql_value(m) for m in sorted(defaulted))
        for model, country, line in self.execute(
                f"SELECT model, arg_min(from_, line), min(line) FROM txs "
                f"WHERE model IN ({names}) GROUP BY model"):
            self.validator.model_from[model] = (country, Span(self.file, line, 1))

    # -- stage 2: deciding ---------------------------------------------------------------

    def decide(self, on_stage: Callable[[str], None] | None = None) -> Stats:
        """Decide every staged transaction (the decisions stay in the database).

        Raises:
            EngineError: DuckDB failed, or the rulebook does not have one LPP cap.
        """
        import time

        if self._fh is not None:  # rows staged by ``accept``
            self._fh.close()
            self._fh = None
            self._stage_csv(canonical=False)
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
        symbols = self._symbols(rows)
        sql = self.sql = prepare(self.checked, {**rows, **self._samples(rows)}, DUCKDB,
                                 self.marks.own, symbols)
        create_tables(self.execute, sql)
        for pred, rs in rows.items():
            if pred in sql.arity:
                load_rows(self.execute, sql, pred, rs, self.folder)
        self._load_transactions(sql)
        lap("load")
        say("evaluating")
        given = {p for p, rs in rows.items() if rs} | {"lpp_shipped"} | {
            p for p, _ in _TX_RELATIONS} | {"tx", "tx_seq", "tx_as_of"}
        run_steps(self.execute, sql, given=given, after=self._dropper(sql))
        lap("pass 1")
        say("counting LPP")
        shipped = self._lpp_fold()
        self.stats.lpp_shipped = len(shipped)
        lap("LPP fold")
        if shipped:
            say("evaluating LPP")
            load_rows(self.execute, sql, "lpp_shipped", shipped, self.folder, encoded=True)
            again = dependents(self.checked, ("lpp_shipped",))
            for pred in again:
                self.execute(f"DELETE FROM {table_name(pred)} WHERE _r >= 0")
            run_steps(self.execute, sql, [s for s in sql.steps if set(s.preds) & again],
                      given=given)
        lap("pass 2")
        say("deciding")
        self._decisions(sql)
        lap("decisions")
        self.stats.decided = self.accepted
        return self.stats

    def _dropper(self, sql: SqlProgram) -> Callable[[Any], None]:
        """After each step of pass 1, drop the tables no later step, pass 2 or the decision
        fields read (memory: most relations are read by a few strata only)."""
        again = dependents(self.checked, ("lpp_shipped",))
        keep = set(again) | set(_DECISION_PREDICATES) | set(FLAG_PREDICATES)
        for rule in self.checked.rules:
            if rule.head.pred in again:
                keep |= _reads(rule.body)
        last: dict[str, int] = {}
        for k, step in enumerate(sql.steps):
            for p in step.preds:
                last.setdefault(p, k)
            for i in step.rules:
                for p in _reads(self.checked.rules[i].body):
                    last[p] = k
        drop: dict[tuple[str, ...], list[str]] = {}
        for p, k in last.items():
            if p not in keep and p in sql.arity:
                drop.setdefault(sql.steps[k].preds, []).append(p)

        def after(step: Any) -> None:
            for p in drop.get(step.preds, ()):
                self.execute(f"DROP TABLE {table_name(p)}")
        return after

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

    def _symbols(self, rows: Mapping[str, set[tuple[Value, ...]]]) -> dict[str, int]:
        """``sym(s, id)``: every string of the facts, the rules and the staged rows, numbered
        in sort order; returns the ids of the program's constants."""
        strings = constants(self.checked) | {
            v for rs in rows.values() for r in rs for v in r if isinstance(v, str)}
        path = os.path.join(self.folder, "strings.csv")
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            for text in sorted(strings):
                w.writerow((text,))
        quoted = path.replace("'", "''")
        ex = self.execute
        ex(f"CREATE TABLE sym_src AS SELECT * FROM read_csv('{quoted}', header=false, "
           "columns={'s': 'VARCHAR'}, quote='\"', escape='\"', auto_detect=false, "
           "force_not_null=['s'])")
        for col in ("id",) + tuple(c for _, c in _TX_RELATIONS if c not in ("date", "quantity")):
            ex(f"INSERT INTO sym_src SELECT DISTINCT {_q(col)} FROM txs WHERE {_q(col)} IS NOT NULL")
        ex("CREATE TABLE sym AS SELECT s, CAST(row_number() OVER (ORDER BY s) - 1 AS INTEGER) "
           "AS id FROM (SELECT DISTINCT s FROM sym_src)")
        ex("DROP TABLE sym_src")
        wanted = constants(self.checked) | set(EXCEPTION_CODES)
        found = {s: int(i) for s, i in ex("SELECT s, id FROM sym WHERE s IN (" + ", ".join(
            _sql_value(c) for c in sorted(wanted)) + ")")}
        self.symbols = found
        return found

    def _lit(self, text: str) -> str:
        """The SQL of a string constant's symbol id (-1: a string no row holds)."""
        return str(self.symbols.get(text, -1))

    def _load_transactions(self, sql: SqlProgram) -> None:
        ex = self.execute
        texts = [c for _, c in _TX_RELATIONS if c not in ("date", "quantity")]
        joins = " ".join(f"LEFT JOIN sym s_{c} ON s_{c}.s = t.{_q(c)}" for c in texts)
        ex(f"""CREATE TABLE txk AS SELECT t.line, si.id AS tx, t.id AS name, t.date, t.quantity,
                   {', '.join(f's_{c}.id AS {_q(c)}' for c in texts)}
               FROM txs t JOIN sym si ON si.s = t.id {joins}""")
        zeros = "".join(", CAST(0 AS BIGINT)" for _ in range(sql.words))
        as_of = self.as_of or self.context.as_of
        ex(f"INSERT INTO {table_name('tx')} SELECT tx, -1{zeros} FROM txk")
        ex(f"INSERT INTO {table_name('tx_seq')} SELECT tx, CAST(row_number() OVER "
           f"(ORDER BY date, line) - 1 AS HUGEINT), -1{zeros} FROM txk")
        when = f"DATE '{as_of.isoformat()}'" if as_of is not None else "date"
        ex(f"INSERT INTO {table_name('tx_as_of')} SELECT tx, {when}, -1{zeros} FROM txk")
        for pred, col in _TX_RELATIONS:
            ex(f"INSERT INTO {table_name(pred)} SELECT tx, {_q(col)}, -1{zeros} FROM txk "
               f"WHERE {_q(col)} IS NOT NULL")

    # -- LPP --------------------------------------------------------------------------

    def _lpp_fold(self) -> list[tuple[Value, ...]]:
        """The LPP shipments of the book: (consignee, year, TPP, transaction) rows, the
        consignee and transaction as symbol ids."""
        from reasoner.engine.sql.runner import to_value

        ex = self.execute
        lit = self._lit
        caps = ex(f"SELECT c1 FROM {table_name('threshold')} WHERE c0 = {lit('lpp_cap')}")
        if len(caps) != 1:
            raise EngineError("the rulebook must state one LPP cap (threshold \"lpp_cap\")")
        cap = to_value(caps[0][0])
        others = ", ".join(lit(c) for c in EXCEPTION_CODES if c != "LPP")
        found = ex(f"""
            SELECT s.c1, s.c2, t.c1, p.c1, s.c0
            FROM {table_name('lpp_slot')} s
            JOIN {table_name('tx_tpp')} t ON t.c0 = s.c0
            JOIN {table_name('lpp_prior')} p ON p.c0 = s.c0
            JOIN {table_name('tx_seq')} q ON q.c0 = s.c0
            WHERE EXISTS (SELECT 1 FROM {table_name('exception')} x
                          WHERE x.c0 = s.c0 AND x.c1 = {lit('LPP')})
              AND NOT EXISTS (SELECT 1 FROM {table_name('exception')} x
                              WHERE x.c0 = s.c0 AND x.c1 IN ({others}))
            ORDER BY s.c1, s.c2, q.c1""")
        shipped: list[tuple[Value, ...]] = []
        slot: tuple[Any, Any] | None = None
        total: Any = 0
        for e, y, tpp, prior, tx in found:
            if (e, y) != slot:
                slot, total = (e, y), to_value(prior)
            tpp = to_value(tpp)
            if total + tpp <= cap:
                total = total + tpp
                shipped.append((e, to_value(y), tpp, tx))
        return shipped

    # -- the decision fields --------------------------------------------------------------

    def _decisions(self, sql: SqlProgram) -> None:
        ex = self.execute
        T = table_name
        lit = self._lit
        ms = [f"m{w}" for w in range(sql.words)]
        codes = ", ".join(lit(c) for c in EXCEPTION_CODES)
        ex(f"""CREATE TABLE base AS
            SELECT t.line, t.tx, t.name, a.c1 AS as_of,
                   i.c0 IS NOT NULL AS in_scope, n.c0 IS NOT NULL AS needs,
                   u.c0 IS NOT NULL AS unknown,
                   COALESCE(o.outcome, {lit('indeterminate')}) AS outcome,
                   COALESCE(x.codes, []) AS exceptions, COALESCE(x.names, []) AS exception_names,
                   r.review, r.review IS NOT NULL AS reviewed,
                   w.c0 IS NOT NULL AS weights, it.tx IS NOT NULL AS has_item
            FROM txk t
            LEFT JOIN (SELECT c0, min(c1) AS c1 FROM {T('tx_as_of')} GROUP BY c0) a ON a.c0 = t.tx
            LEFT JOIN {T('in_scope')} i ON i.c0 = t.tx
            LEFT JOIN {T('needs_license')} n ON n.c0 = t.tx
            LEFT JOIN {T('license_unknown')} u ON u.c0 = t.tx
            LEFT JOIN (SELECT c0, min(c1) AS outcome FROM {T('outcome')} GROUP BY c0) o
                ON o.c0 = t.tx
            LEFT JOIN (SELECT e.c0, list_sort(list(DISTINCT e.c1)) AS codes,
                              list_sort(list(DISTINCT y.s)) AS names
                       FROM {T('exception')} e JOIN sym y ON y.id = e.c1
                       WHERE e.c1 IN ({codes}) GROUP BY e.c0) x ON x.c0 = t.tx
            LEFT JOIN (SELECT c0, min(c1) AS review FROM {T('review')} GROUP BY c0) r
                ON r.c0 = t.tx
            LEFT JOIN {T('weights')} w ON w.c0 = t.tx
            LEFT JOIN (SELECT DISTINCT c0 AS tx FROM {T('tx_item')}) it ON it.tx = t.tx""")
        self._candidate_marks(sql)
        lr, ind, ok = lit("license_required"), lit("indeterminate"), lit("permitted")
        open_ = f"b.outcome IN ({lr}, {ind})"
        ruled = "NOT list_contains(b.exceptions, r.c1)"
        parts = [
            f"SELECT o.c0 AS tx, {_m('o', ms)} FROM {T('outcome')} o JOIN base b "
            "ON o.c0 = b.tx AND o.c1 = b.outcome",
            f"SELECT x.c0, {_m('x', ms)} FROM {T('exception')} x WHERE x.c1 IN ({codes})",
            f"SELECT r.c0, {_m('r', ms)} FROM {T('review')} r JOIN base b ON r.c0 = b.tx "
            f"AND r.c1 = b.review WHERE b.outcome = {lr}",
            f"SELECT l.c0, {_m('l', ms)} FROM {T('license_required')} l",
            f"SELECT h.c0, {_m('h', ms)} FROM {T('cons_hq')} h JOIN base b ON h.c0 = b.tx "
            "WHERE b.in_scope",
            f"SELECT i.c0, {_m('c', ms)} FROM {T('tx_item')} i JOIN {T('class_confirmed')} c "
            "ON c.c0 = i.c1 JOIN base b ON i.c0 = b.tx WHERE b.in_scope",
            f"SELECT n.c0, {_m('n', ms)} FROM {T('no_license')} n JOIN base b ON n.c0 = b.tx "
            f"WHERE b.outcome = {ok} AND NOT b.needs",
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
            SELECT p.c0 AS tx, list_sort(list(DISTINCT y.s)) AS missing
            FROM {T('pending')} p JOIN base b ON p.c0 = b.tx JOIN sym y ON y.id = p.c2
            WHERE {open_} AND NOT EXISTS (SELECT 1 FROM {T('barred_pending')} q
                                          WHERE q.c0 = p.c0 AND q.c1 = p.c1)
            GROUP BY p.c0""")
        ex(f"""CREATE TABLE flags AS SELECT f.c0 AS tx, list(DISTINCT y.s) AS flagged
            FROM {T('tx_flag')} f JOIN sym y ON y.id = f.c1 GROUP BY f.c0""")
        self._decode(ms)
        zero = ", ".join(f"COALESCE(u.{m}, 0) AS {m}" for m in ms)
        on = " AND ".join(f"d.{m} = k.{m}" for m in ms)
        ex(f"""CREATE TABLE decisions AS
            WITH k AS (SELECT b.*, {zero}, COALESCE(mi.missing, []) AS missing0,
                              COALESCE(f.flagged, []) AS flagged
                       FROM base b LEFT JOIN used u ON u.tx = b.tx
                       LEFT JOIN missing mi ON mi.tx = b.tx LEFT JOIN flags f ON f.tx = b.tx),
            k2 AS (SELECT k.*, CASE WHEN k.outcome = {ind} AND k.needs
                                     AND NOT k.reviewed AND len(k.missing0) = 0
                                    THEN ['tpp_per_unit'] ELSE k.missing0 END AS missing
                   FROM k)
            SELECT k.line, k.name AS "transaction", k.as_of,
                   k.in_scope,
                   CASE WHEN NOT k.in_scope THEN FALSE WHEN k.unknown THEN NULL
                        ELSE k.needs END AS license_required,
                   k.exception_names AS exceptions, so.s AS outcome,
                   CASE WHEN k.outcome = {lr} THEN sr.s END AS review_policy,
                   d.cites AS citations,
                   list_sort(list_distinct(list_concat(d.unc, k.flagged,
                       list_transform(k.missing, lambda s: 'missing:' || s)))) AS uncertainties
            FROM k2 k JOIN decoded d ON {on} JOIN sym so ON so.id = k.outcome
            LEFT JOIN sym sr ON sr.id = k.review""")

    def _candidate_marks(self, sql: SqlProgram) -> None:
        """``cand(code, weights, item, m..)``: the citations `decision._ruled_out` adds for
        an unavailable exception (``DecisionView.candidate_cites``), as marks."""
        rows = []
        heads = {r.head.args[1].value for r in self.book.rules if r.head.pred == "candidate"
                 and isinstance(r.head.args[1], Const)}
        for code in sorted(set(EXCEPTION_CODES) | {str(h) for h in heads}):
            if code not in self.symbols:
                continue  # no row holds it
            for weights in (False, True):
                for item in (False, True):
                    kind = {"weights": weights, "tx_item": item, "tx_eccn": item}
                    cites = {
                        rule.meta.cite for rule in self.book.rules
                        if rule.meta.cite and rule.head.pred == "candidate"
                        and isinstance(rule.head.args[1], Const) and rule.head.args[1].value == code
                        and not any(isinstance(b, Literal) and not b.negated
                                    and kind.get(b.atom.pred) is False for b in rule.body)}
                    rows.append((self.symbols[code], weights, item,
                                 *_words(self.marks.cites_mask(cites), sql.words)))
        cols = ", ".join([f"code {SYMBOL_TYPE}", "weights BOOLEAN", "item BOOLEAN"]
                         + [f"m{w} BIGINT" for w in range(sql.words)])
        self.execute(f"CREATE TABLE cand ({cols})")
        if rows:
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


def _plain(path: str) -> bool:
    """Whether each line of a CSV file is one row: no quotes, lone CRs, blank lines or BOM
    (a CR split from its LF by a block boundary counts as lone: then the file just
    takes the slower path)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(3)
            if head.startswith(b"\xef\xbb\xbf"):
                return False
            fh.seek(0)
            last = b""
            for block in iter(lambda: fh.read(1 << 22), b""):
                if b'"' in block or block.replace(b"\r\n", b"").count(b"\r") \
                        or b"\n\n" in block or b"\n\r\n" in block \
                        or (last == b"\n" and block.startswith((b"\n", b"\r\n"))):
                    return False
                last = block[-1:]
    except OSError:
        return False
    return True


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _canonical() -> str:
    """SQL: a row of ``raw`` is in canonical form (``screener._FastPath``'s conditions)."""
    from reasoner.law.scenario import END_USES, TX_TYPES

    def one_of(col: str, values: Sequence[str]) -> str:
        return f"{_q(col)} IN ({', '.join(_sql_value(v) for v in values)})"

    def valid(col: str, kind: str) -> str:
        return f"{_q(col)} IN (SELECT value FROM valid WHERE kind = '{kind}')"

    nulls = "('~', 'null', 'Null', 'NULL')"
    text = [c for c in _CSV_COLUMNS if c != "quantity"]
    required = ("id", "type", "date", "exporter", "from", "to", "ultimate_consignee", "end_use")
    conds = [f"{_q(c)} IS NOT NULL" for c in required]
    conds += [f"({_q(c)} IS NULL OR {_q(c)} NOT IN {nulls})" for c in text]
    conds += [one_of("type", TX_TYPES), one_of("end_use", END_USES),
              valid("exporter", "entity"), valid("ultimate_consignee", "entity"),
              valid("from", "country"), valid("to", "country"),
              f"(final_destination IS NULL OR {valid('final_destination', 'country')})",
              "((item IS NULL) <> (model IS NULL))",
              f"(item IS NULL OR ({valid('item', 'item')} AND "
              "regexp_full_match(quantity, '[1-9][0-9]{0,17}')))",
              f"(model IS NULL OR ({valid('model', 'model')} AND quantity IS NULL))",
              "regexp_full_match(date, '[0-9]{4}-[0-9]{2}-[0-9]{2}')",
              "TRY_CAST(date AS DATE) IS NOT NULL", "NOT starts_with(date, '0000')"]
    return "COALESCE(" + " AND ".join(conds) + ", FALSE)"


# What the LPP fold and the decision fields read.
_DECISION_PREDICATES = (
    "threshold", "lpp_slot", "tx_tpp", "lpp_prior", "tx_seq", "exception", "tx_as_of",
    "in_scope", "needs_license", "license_unknown", "outcome", "review", "weights", "tx_item",
    "license_required", "cons_hq", "class_confirmed", "no_license", "relevant_exception",
    "barred", "pending", "barred_pending", "lr_unknown", "tx_flag")

_CSV_COLUMNS = ("id", "type", "date", "exporter", "from", "to", "ultimate_consignee", "item",
                "model", "quantity", "end_use", "final_destination")


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
