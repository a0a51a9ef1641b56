"""Bulk screening set-at-a-time: the rulebook compiled to SQL over the whole book (DuckDB)."""

# How a book becomes decisions here (compare screener.py, which decides chunks with
# earlog's evaluator):
#
#   rows ──stage──▶   table txs (staging.py: validated in SQL where canonical)
#        ──load──▶    the context's facts and the tx_* relations, strings as symbol ids
#                     numbered in sort order; tx_seq numbers the rows by (date, line)
#        ──pass 1──▶  every stratum once over the whole book, with no LPP shipment in it
#                     (every row reads its consignee's history alone)
#        ──fold──▶    per (consignee, calendar year), in (date, line) order: a row whose
#                     only available exception was LPP ships under it when the running
#                     total plus its TPP is within the cap (lppfold.py)
#        ──pass 2──▶  the strata that read lpp_shipped or tx_slot_prev, again, with the
#                     running totals of the fold as lpp_prior
#        ──decide──▶  the decision fields per row (basis.py) and the ruled-out
#                     exceptions (exclusions.py), as GROUP BYs over mark columns
#
# Invariants:
# * Pass 1 is exact for every predicate that does not read lpp_shipped or tx_slot_prev;
#   for LPP, a row's prior total in pass 1 (history only) is at most its true one, so an
#   LPP-only row of the true model is one of pass 1 (TPP is never negative) and the fold
#   over pass 1's LPP-only rows is `decision.decide`'s sequence of shipments.
# * lpp_prior (recursive along tx_slot_prev, a chain as long as a consignee's year) is
#   not run as a fixpoint in pass 2: the fold computes each row's total and the rule of
#   its first derivation, exactly as the three lpp_prior rules would.

from __future__ import annotations

import copy
import csv
import datetime as _dt
import functools
import os
import shutil
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from reasoner.engine.sql.compiler import DUCKDB, SqlProgram, constants, table_name
from reasoner.engine.sql.duckdb_engine import connect, create_tables, executor
from reasoner.engine.sql.runner import load_rows, prepare, run_steps
from reasoner.lang.checks import CheckedProgram
from reasoner.lang.errors import EngineError
from reasoner.lang.ir import Fact, Value, body_preds
from reasoner.law.decision import EXCEPTION_CODES, input_facts
from reasoner.law.rulebook import is_rulebook_file, load_rulebook
from reasoner.law.scenario import Scenario
from reasoner.tools.screen.basis import BasisMarks, decide_fields, mask_of, words_of
from reasoner.tools.screen.files import DECISION_COLUMNS, RawRow
from reasoner.tools.screen.lppfold import fold_lpp
from reasoner.tools.screen.screener import Rejected, Screener
from reasoner.tools.screen.staging import Stager, quote_ident, sql_text

__all__ = ["ColumnarScreen", "Stats", "dependents", "PARTITION_ROWS", "BYTES_PER_ROW",
           "STAGE_SHARES"]

# relation <- column of the staged transactions table
_TX_RELATIONS = (("tx_type", "type"), ("tx_date", "date"), ("tx_exporter", "exporter"),
                 ("tx_from", "from_"), ("tx_to", "to"), ("tx_consignee", "ultimate_consignee"),
                 ("tx_item", "item"), ("tx_model", "model"), ("tx_quantity", "quantity"),
                 ("tx_end_use", "end_use"), ("tx_final_destination", "final_destination"))
# Rows decided together by a lane by default (``ColumnarScreen``'s ``partition_rows``),
# and the memory a row of a partition takes under a memory limit. Measured on the
# generated 1M-row book, 2 lanes: partitions of 125,000 rows in memory peaked at 1.33 GB
# (43 s); of 250,000 rows in a database file, 0.91-1.02 GB (42-47 s); of 62,500 rows in
# memory, 0.99 GB (56 s). One lane in memory with 125,000 rows: 1.0 GB, 63-66 s. Every
# partition costs about 1,800 statements (some 2.5 s), so bigger is faster. Under
# --memory-limit 1GB, 4 KB a row (partitions of 122,000 rows a lane) peaked at 0.69 GB.
PARTITION_ROWS = 250_000
BYTES_PER_ROW = 4096
# The staged rows of a book of several partitions, with their partition (``decide``).
_SPLIT = "lanes.main.txs_split"
# A lane's own tables (``ColumnarScreen._lane``).
_HERE = "database_name = current_database() AND schema_name = current_schema()"
# The inputs that tie a row to the rows before it in its (consignee, year).
_CHAIN_INPUTS = ("lpp_shipped", "tx_slot_prev")
# What the rows being decided give the program: tx, its order and law date, a relation a
# column, and the LPP chain's inputs.
_TX_INPUTS = frozenset({"tx", "tx_seq", "tx_as_of", *(p for p, _ in _TX_RELATIONS), *_CHAIN_INPUTS})
# The stages of deciding a partition, in order, with the share of its time each takes
# (measured on the 1M-row book, one lane: load 7.1 s, pass 1 22.1, LPP fold 1.9, pass 2
# 2.8, the decision fields 43.9, of which the failure search 34.8): progress counts a
# partition's rows as decided in these shares.
STAGE_SHARES = {"load": 0.09, "pass 1": 0.28, "LPP fold": 0.03, "pass 2": 0.04,
                "basis": 0.03, "ruled out": 0.50, "decisions": 0.03}


def dependents(checked: CheckedProgram, preds: Iterable[str]) -> set[str]:
    """The predicates whose rules read one of ``preds``, directly or not."""
    out = set(preds)
    changed = True
    while changed:
        changed = False
        for rule in checked.rules:
            if rule.head.pred not in out and body_preds(rule.body) & out:
                out.add(rule.head.pred)
                changed = True
    return out - set(preds)


@dataclass(slots=True)
class Stats:
    """What a columnar run did: rows decided, LPP shipments, seconds per stage (summed
    over the lanes)."""

    decided: int = 0
    lpp_shipped: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, stage: str, seconds: float = 0.0, shipped: int = 0) -> None:
        """Count ``seconds`` spent in ``stage`` and ``shipped`` LPP shipments (lanes add
        at once)."""
        with self.lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds
            self.lpp_shipped += shipped


class ColumnarScreen:
    """Decides a whole book at once on DuckDB.

    Args:
        context: the screening context (no transactions).
        file: the input's name, for diagnostics and the ``facts`` of ruled-out entries.
        regime, as_of: as for ``Screener``.
        sort: decide rows in (date, line) order whatever the file's order (True), or
            reject a row dated before an earlier row of its consignee and year.
        threads: DuckDB threads (None: DuckDB's default, the CPUs).
        memory_limit: DuckDB's memory limit (e.g. ``"1GB"``; None: DuckDB's default, 80 %
            of the memory); beyond it DuckDB spills to a temporary folder.
        partition_rows: a bigger book is split by consignee into partitions of about this
            many rows (a decision depends on other rows only within its consignee's
            calendar year), so that memory stays bounded (default: ``PARTITION_ROWS``, or
            under a memory limit as many rows as it holds at ``BYTES_PER_ROW`` for each
            lane).
        lanes: partitions decided at once, each over a connection of its own (default:
            ``threads``, or the CPUs). DuckDB runs each of the many small statements of a
            partition on about one core, so lanes are what uses the others.
    """

    stage_shares: Mapping[str, float] = STAGE_SHARES

    def __init__(self, context: Scenario, file: str = "<input>", *, regime: str | None = None,
                 as_of: _dt.date | None = None, sort: bool = True, threads: int | None = None,
                 memory_limit: str | None = None, partition_rows: int | None = None,
                 lanes: int | None = None) -> None:
        self.lanes = max(1, lanes or threads or _cpus())
        if partition_rows is None:
            limit = _bytes(memory_limit) if memory_limit is not None else None
            partition_rows = PARTITION_ROWS if limit is None else \
                max(50_000, min(PARTITION_ROWS, limit // (BYTES_PER_ROW * self.lanes)))
        self.partition_rows = max(1, partition_rows)
        self.file = file
        self.as_of = as_of
        self.validator = Screener(context, file, regime=regime, as_of=as_of, sort=sort)
        self.context = self.validator.context
        self.book = load_rulebook(regime or context.regime)
        self.checked = self.book.checked.without(("condition",))
        self.marks = BasisMarks(self.book)
        self.folder = tempfile.mkdtemp(prefix="earlog-screen-")
        try:
            # in memory; beyond the memory limit DuckDB spills to this run's own folder
            self.con = connect(threads, memory_limit)
            folder = self.folder.replace("'", "''")
            self.con.execute(f"SET temp_directory = '{folder}'")
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        self.execute = executor(self.con)
        self.stager = Stager(self.execute, self._cursor, self.validator, file, self.folder)
        self.sql: SqlProgram | None = None
        self.symbols: dict[str, int] = {}
        self._source = "txs"  # the staged rows being decided (a partition's, or all)
        self.stats = Stats()
        self.decided = False

    def _cursor(self, query: str) -> Any:
        import duckdb

        try:
            return self.con.cursor().execute(query)
        except duckdb.Error as exc:
            raise EngineError(f"DuckDB failed: {str(exc).splitlines()[0]}",
                              hint="this is a bug in the SQL backend; use --engine earlog") from None

    # -- stage 1: rows ---------------------------------------------------------------------

    def accept(self, rows: Iterable[RawRow]) -> Iterator[Rejected]:
        """Validate ``rows`` and stage the accepted ones; yield the rejected ones."""
        return self.stager.accept(rows)

    def accept_file(self, path: str, fmt: str) -> list[Rejected] | None:
        """Validate a plain CSV or Parquet file in SQL (see ``Stager.accept_file``)."""
        return self.stager.accept_file(path, fmt)

    # -- stage 2: deciding ---------------------------------------------------------------------

    def decide(self, on_stage: Callable[[str], None] | None = None,
               on_step: Callable[[int, int], None] | None = None) -> Stats:
        """Decide every staged row (the decisions stay in the database: ``records``,
        ``text``, ``copy_parquet``, ``counts``).

        Args:
            on_stage: called with the name of each stage as it starts (the first lane's).
            on_step: called with (rows decided, rows) as the partitions go through their
                stages (a partition's rows count in the shares of ``STAGE_SHARES``, its
                strata one by one).

        Raises:
            EngineError: DuckDB failed, or the rulebook's LPP rules are not the shape the
                fold computes.
        """
        self.stager.finish()
        say = on_stage or (lambda _: None)
        say("loading")
        total = self.execute("SELECT COUNT(*) FROM txs")[0][0]
        if on_step is not None:
            on_step(0, total)
        parts = max(1, -(-total // self.partition_rows))
        if parts > 1:  # as many partitions for each lane
            parts = -(-parts // self.lanes) * self.lanes
        # one partition is decided in this (in-memory) database; more in a database file,
        # where DuckDB compresses them and can let them go to disk (measured on the
        # 1M-row book: about half the memory for 40 % more time a row, which partitions
        # twice as big more than win back)
        database = self.execute("SELECT current_database()")[0][0]
        if parts > 1:
            path = os.path.join(self.folder, "lanes.duckdb")
            self.execute(f"ATTACH {sql_text(path)} AS lanes")
            database = "lanes"
            # the rows of each partition together, once (``txs`` reads them)
            self.execute(f"""CREATE TABLE {_SPLIT} AS SELECT *,
                CAST(hash(ultimate_consignee) % {parts} AS INTEGER) AS part FROM txs ORDER BY part""")
            self.execute("DROP TABLE txs")
            self.execute(f"CREATE VIEW txs AS SELECT * EXCLUDE (part) FROM {_SPLIT}")
            counted = dict(self.execute(f"SELECT part, COUNT(*) FROM {_SPLIT} GROUP BY part"))
            sizes = [int(counted.get(p, 0)) for p in range(parts)]
        else:
            sizes = [total]
        lanes = [self._lane(n, database) for n in range(min(self.lanes, parts))]
        progress = _Progress(sizes, on_step)
        # DuckDB's threads shared out between the lanes while they run (staging and
        # writing keep them all): on the 1M-row book, two lanes of one thread each took
        # 41.1-42.4 s to stage and decide, of two threads each 44.2-47.0 s
        threads = int(self.execute("SELECT current_setting('threads')")[0][0])
        self.execute(f"SET threads = {max(1, threads // len(lanes))}")
        try:
            _run_lanes([functools.partial(lane._decide_lane, progress,
                                          say if n == 0 else None)
                        for n, lane in enumerate(lanes)],
                       stop=progress.stop, interrupt=[lane.con.interrupt for lane in lanes])
        finally:
            for lane in lanes:
                lane.con.close()
        self.execute(f"SET threads = {threads}")
        self._merge(database, len(lanes))
        self.stats.decided = total
        self.decided = True
        return self.stats

    def _lane(self, n: int, database: str) -> ColumnarScreen:
        """A copy of this screen deciding partitions over a connection of its own, in schema
        ``w<n>`` of ``database`` (the staged rows are read from this one) and a folder of
        its own."""
        lane = copy.copy(self)
        lane.con = self.con.cursor()
        lane.execute = executor(lane.con)
        lane.execute(f"CREATE SCHEMA {quote_ident(database)}.w{n}")
        lane.execute(f"USE {quote_ident(database)}.w{n}")
        lane.folder = os.path.join(self.folder, f"w{n}")
        os.mkdir(lane.folder)
        lane.symbols = {}
        lane.sql = None
        lane._source = "txs"
        return lane

    def _decide_lane(self, progress: _Progress, say: Callable[[str], None] | None) -> None:
        """Decide partitions until none is left: their decisions join table
        ``decisions_all`` of this lane's schema, their signatures ``signatures``."""
        say = say or (lambda _: None)
        clock = _Clock(self.stats, self.stage_shares)
        while (part := progress.take()) is not None:
            clock.start(progress.reporter(part))
            say("loading")
            if len(progress.sizes) > 1:
                self.execute("DROP TABLE IF EXISTS txp")
                self.execute(f"CREATE TABLE txp AS SELECT * EXCLUDE (part) FROM {_SPLIT} "
                             f"WHERE part = {part}")
                self._source = "txp"
            # symbols numbered for the partition's own strings (and the program's)
            sql = self._compile()
            clock.lap("load")
            self._decide_part(sql, say, clock.lap, clock.step)
            # the decisions of the partition join the lane's; every other table goes
            if self._has_table("decisions_all"):
                self.execute("INSERT INTO decisions_all SELECT * FROM decisions")
            else:
                self.execute("ALTER TABLE decisions RENAME TO decisions_all")
            self._reset()

    def _has_table(self, name: str) -> bool:
        """Whether this connection's schema has table ``name``."""
        return bool(self.execute(f"SELECT 1 FROM duckdb_tables() WHERE table_name = "
                                 f"{sql_text(name)} AND {_HERE}"))

    def _merge(self, database: str, lanes: int) -> None:
        """Tables ``decisions`` and ``signatures`` of every lane's (in ``database``),
        signature ids numbered one lane after another; the lanes' schemas dropped."""
        ex = self.execute
        decisions, signatures = [], []
        first = 0
        for n in range(lanes):
            schema = f"{quote_ident(database)}.w{n}"
            decisions.append(f'SELECT line, "transaction", as_of, sig + {first} AS sig '
                             f"FROM {schema}.decisions_all")
            signatures.append(f"SELECT sig + {first} AS sig, * EXCLUDE (sig) FROM {schema}.signatures")
            first += ex(f"SELECT COALESCE(max(sig), 0) FROM {schema}.signatures")[0][0]
        ex(f"CREATE TABLE decisions AS {' UNION ALL '.join(decisions)}")
        ex(f"CREATE TABLE signatures AS {' UNION ALL '.join(signatures)}")
        for n in range(lanes):
            ex(f"DROP SCHEMA {quote_ident(database)}.w{n} CASCADE")

    def _decide_part(self, sql: SqlProgram, say: Callable[[str], None],
                     lap: Callable[[str], None], step: Callable[[int, int], None]) -> None:
        """Decide the staged rows of one partition (table ``decisions``)."""
        say("loading")
        self._load(sql)
        lap("load")
        say("evaluating")
        given = self._given
        self._pass1(sql, given, step)
        lap("pass 1")
        say("counting LPP")
        self.stats.add("LPP fold", shipped=fold_lpp(self.execute, sql, self.checked,
                                                    self.marks, self._lit, self.folder))
        lap("LPP fold")
        say("evaluating LPP")
        again = dependents(self.checked, _CHAIN_INPUTS)
        for pred in sorted(again - {"lpp_prior"}):
            if pred in sql.arity:
                self.execute(f"DELETE FROM {table_name(pred)} WHERE _r >= 0")
        steps = [s for s in sql.steps if set(s.preds) & again and "lpp_prior" not in s.preds]
        run_steps(self.execute, sql, steps, given=given - again)
        lap("pass 2")
        self._fields(sql, say, lap)

    def _fields(self, sql: SqlProgram, say: Callable[[str], None],
                lap: Callable[[str], None]) -> None:
        """The decision fields of the partition's rows, from its model (table
        ``decisions``)."""
        from reasoner.tools.screen import exclusions

        say("deciding")
        decide_fields(self.execute, sql, self._lit, lambda p: p in sql.arity)
        lap("basis")
        say("ruling out")
        exclusions.rule_out(self.execute, sql, self.checked, self.marks, self._lit)
        lap("ruled out")
        say("deciding")
        self._decisions(sql)
        lap("decisions")

    def _reset(self) -> None:
        """Drop every table and view of this lane's schema but the decisions and what
        later partitions add to (signatures, ruled-out entries)."""
        keep = {"decisions_all", "signatures", "ruled_entries"}
        for (name,) in self.execute(f"SELECT view_name FROM duckdb_views() WHERE NOT internal "
                                    f"AND {_HERE}"):
            if name not in keep:
                self.execute(f"DROP VIEW {quote_ident(name)}")
        for (name,) in self.execute(f"SELECT table_name FROM duckdb_tables() WHERE {_HERE}"):
            if name not in keep:
                self.execute(f"DROP TABLE {quote_ident(name)}")

    def _pass1(self, sql: SqlProgram, given: set[str],
               on_step: Callable[[int, int], None] | None = None) -> None:
        """Every stratum in order; those that read a transaction only through its inputs,
        once per distinct input values (``factor``)."""
        from reasoner.tools.screen.factor import evaluate_factored, factorable

        inputs = {"tx": "", "tx_as_of": "as_of", "tx_date": "date", "tx_quantity": "quantity"}
        inputs.update({p: quote_ident(c) for p, c in _TX_RELATIONS if p not in inputs})
        for done, step in enumerate(sql.steps, 1):
            f = factorable(self.checked, step, inputs)
            if f is None or f.pred in given \
                    or not evaluate_factored(self.execute, sql, step, f, inputs):
                run_steps(self.execute, sql, [step], given=given)
            if on_step is not None:
                on_step(done, len(sql.steps))

    def _compile(self) -> SqlProgram:
        """The symbols of the rows being decided (``_source``), and the program compiled
        for them."""
        static = self._static_facts()
        rows: dict[str, set[tuple[Value, ...]]] = {}
        scenario: dict[str, set[tuple[Value, ...]]] = {}
        for fact in (*self.checked.program.facts, *static):
            rows.setdefault(fact.pred, set()).add(fact.values)
            if fact.span.file and not is_rulebook_file(fact.span.file):
                scenario.setdefault(fact.pred, set()).add(fact.values)
        self._rows, self._scenario_rows = rows, scenario
        symbols = self._symbols(rows)
        sql = self.sql = prepare(self.checked, {**rows, **self._samples(rows)}, DUCKDB,
                                 self.marks.for_compiler(), symbols)
        self._given = {p for p, rs in rows.items() if rs} | _TX_INPUTS
        return sql

    def _load(self, sql: SqlProgram) -> None:
        """Every relation's table, the given facts, and the rows being decided."""
        create_tables(self.execute, sql)
        s_words = words_of(1 << self.marks.scenario, sql.words)
        for pred, rs in self._rows.items():
            if pred not in sql.arity:
                continue
            mine = self._scenario_rows.get(pred, set())
            # the scenario's own facts carry the scenario bit; the rulebook's do not
            load_rows(self.execute, sql, pred, mine, self.folder)
            if mine:
                sets = ", ".join(f"m{w} = {v}" for w, v in enumerate(s_words))
                self.execute(f"UPDATE {table_name(pred)} SET {sets} WHERE _r = -1")
            load_rows(self.execute, sql, pred, rs - mine, self.folder)
        self._load_transactions(sql, s_words)

    def _static_facts(self) -> list[Fact]:
        facts = list(input_facts(self.context, self.as_of))
        # SCENARIOS.md: a model's produced_in defaults to the `from` of its first transaction
        for model, (country, span) in sorted(self.validator.model_from.items()):
            facts.append(Fact("model_produced_in", (model, country), span))
        return facts

    def _samples(self, rows: Mapping[str, set[tuple[Value, ...]]]) -> dict[str, set[tuple[Value, ...]]]:
        """One row of each kind that the staged relations, the chain and the LPP shipments
        hold (the compiler types the columns from the facts)."""
        d = _dt.date(2025, 1, 1)
        tpp_kinds = {type(r[1]) for r in rows.get("item_tpp", ())}
        tpp: Value = Decimal("0.5") if Decimal in tpp_kinds else 1
        out: dict[str, set[tuple[Value, ...]]] = {
            "tx": {("t",)}, "tx_seq": {("t", 0)}, "tx_date": {("t", d)}, "tx_as_of": {("t", d)},
            "tx_quantity": {("t", 1)}, "tx_slot_prev": {("t", "u")},
            "lpp_shipped": {*rows.get("lpp_shipped", ()), ("e", 2025, tpp, "t")}}
        for pred, _ in _TX_RELATIONS:
            out.setdefault(pred, {("t", "x")})
        return out

    def _symbols(self, rows: Mapping[str, set[tuple[Value, ...]]]) -> dict[str, int]:
        """``sym(s, id)``: every string of the facts, the rules and the staged rows, numbered
        in sort order; returns the ids of the program's constants and the exception codes."""
        strings = constants(self.checked) | set(EXCEPTION_CODES) | {
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
            ex(f"INSERT INTO sym_src SELECT DISTINCT t.{quote_ident(col)} FROM {self._source} t "
               f"WHERE t.{quote_ident(col)} IS NOT NULL")
        ex("CREATE TABLE sym AS SELECT s, CAST(row_number() OVER (ORDER BY s) - 1 "
           "AS INTEGER) AS id FROM (SELECT DISTINCT s FROM sym_src)")
        ex("DROP TABLE sym_src")
        wanted = constants(self.checked) | set(EXCEPTION_CODES)
        found = {s: int(i) for s, i in ex("SELECT s, id FROM sym WHERE s IN (" + ", ".join(
            sql_text(c) for c in sorted(wanted)) + ")")}
        self.symbols = found
        return found

    def _lit(self, text: str) -> str:
        """The SQL of a string constant's symbol id (-1: a string no row holds)."""
        got = self.symbols.get(text)
        if got is None:
            rows = self.execute(f"SELECT id FROM sym WHERE s = {sql_text(text)}")
            got = int(rows[0][0]) if rows else -1
            self.symbols[text] = got
        return str(got)

    def _load_transactions(self, sql: SqlProgram, s_words: Sequence[int]) -> None:
        """``txk``: the staged rows with symbol ids and their (date, line) rank; and the
        tx_* relations (given facts of the scenario: the scenario bit)."""
        ex = self.execute
        texts = [c for _, c in _TX_RELATIONS if c not in ("date", "quantity")]
        # the symbols of the other columns (countries, parties, items...) are few: one small
        # table to join nine times, the ids' symbols one big join (memory: one hash table)
        ex("CREATE TABLE sym_small AS SELECT * FROM sym WHERE s IN (" + " UNION ".join(
            f"SELECT DISTINCT t.{quote_ident(c)} FROM {self._source} t" for c in texts) + ")")
        joins = " ".join(f"LEFT JOIN sym_small s_{c} ON s_{c}.s = t.{quote_ident(c)}"
                         for c in texts)
        as_of = self.as_of or self.context.as_of
        when = f"DATE '{as_of.isoformat()}'" if as_of is not None else "t.date"
        ex(f"""CREATE TABLE txk0 AS SELECT t.line, t.id, t.date, t.quantity,
                   {', '.join(f's_{c}.id AS {quote_ident(c)}' for c in texts)},
                   {when} AS as_of
               FROM {self._source} t {joins}""")
        ex("DROP TABLE sym_small")
        ex("""CREATE TABLE txk AS SELECT t.line, si.id AS tx, t.* EXCLUDE (line),
                   CAST(row_number() OVER (ORDER BY t.date, t.line) - 1 AS BIGINT) AS seq
               FROM txk0 t JOIN sym si ON si.s = t.id""")
        ex("DROP TABLE txk0")
        # the tx_* relations are views of txk (given facts of the scenario: the scenario
        # bit; --as-of is no fact of the scenario, its span is empty)
        marks = "".join(f", CAST({v} AS BIGINT) AS m{w}" for w, v in enumerate(s_words))
        zeros = "".join(f", CAST(0 AS BIGINT) AS m{w}" for w in range(len(s_words)))
        views = [("tx", None, marks), ("tx_seq", "seq", marks),
                 ("tx_as_of", "as_of", zeros if self.as_of is not None else marks)]
        views += [(pred, quote_ident(col), marks) for pred, col in _TX_RELATIONS]
        for pred, col, m in views:
            ex(f"DROP TABLE {table_name(pred)}")
            value = "" if col is None else \
                f", CAST({col} AS {sql.col_type(sql.kinds[pred][1])}) AS c1"
            where = "" if col is None else f" WHERE {col} IS NOT NULL"
            ex(f"CREATE VIEW {table_name(pred)} AS SELECT tx AS c0{value}, "
               f"CAST(-1 AS INTEGER) AS _r{m} FROM txk{where}")

    def rows(self, lines: Sequence[int]) -> list[tuple[Any, ...]]:
        """The staged rows of the slots (consignee, calendar year) of ``lines`` up to the
        last of those lines in each, in (date, line) order (``txs``'s columns)."""
        values = ", ".join(f"({int(n)})" for n in lines)
        found: list[tuple[Any, ...]] = self.execute(f"""
            WITH chosen AS (SELECT t.ultimate_consignee AS e, year(t.date) AS y,
                                   max((t.date, t.line)) AS upto
                            FROM txs t JOIN (VALUES {values}) v(line) ON v.line = t.line
                            GROUP BY 1, 2)
            SELECT o.* FROM txs o JOIN chosen c ON c.e = o.ultimate_consignee
                AND c.y = year(o.date) AND (o.date, o.line) <= c.upto
            ORDER BY o.date, o.line""")
        return found

    # -- the decision fields ---------------------------------------------------------------

    def _decisions(self, sql: SqlProgram) -> None:
        """Tables ``decisions(line, transaction, as_of, sig)``, one row per transaction, and
        ``signatures(sig, in_scope, ..., uncertainties)``: the contract's other fields, once
        per distinct decision (a book has few; ids past those of earlier partitions)."""
        ex = self.execute
        ms = [f"m{w}" for w in range(sql.words)]
        lr, ind = self._lit("license_required"), self._lit("indeterminate")
        zero = ", ".join(f"COALESCE(u.{m}, 0) AS {m}" for m in ms)
        rzero = ", ".join(f"COALESCE(x.r{m}, 0) AS r{m}" for m in ms)
        allm = ms + [f"r{m}" for m in ms]
        # what a row's decision is made of; review is NULL when there is none
        kind = ["in_scope", "unknown", "needs", "exception_names", "outcome", "review",
                "reviewed", *allm, "missing0", "flagged", "ruled"]
        ex(f"""CREATE TABLE keyed AS
            SELECT b.line, b.name, b.as_of, b.in_scope, b.unknown, b.needs,
                   b.exception_names, b.outcome, COALESCE(b.review, -1) AS review, b.reviewed,
                   {zero}, {rzero}, COALESCE(mi.missing, []) AS missing0,
                   COALESCE(f.flagged, []) AS flagged, COALESCE(x.ruled, []) AS ruled
            FROM base b LEFT JOIN used u ON u.tx = b.tx LEFT JOIN missing mi ON mi.tx = b.tx
            LEFT JOIN flags f ON f.tx = b.tx LEFT JOIN ruled_by_tx x ON x.tx = b.tx""")
        first = ex("SELECT COALESCE(max(sig), 0) FROM signatures")[0][0] \
            if self._has_table("signatures") else 0
        ex(f"""CREATE TABLE kinds AS SELECT CAST({int(first)} + row_number() OVER () AS BIGINT)
                   AS sig, * FROM (SELECT DISTINCT {', '.join(kind)} FROM keyed)""")
        ex(f"""CREATE TABLE decisions AS
            SELECT k.line, k.name AS "transaction", k.as_of, s.sig
            FROM keyed k JOIN kinds s ON {' AND '.join(f's.{c} = k.{c}' for c in kind)}""")
        ex("DROP TABLE keyed")
        got = ex(f"SELECT DISTINCT {', '.join(allm)} FROM kinds")
        cols = ", ".join([f"{m} BIGINT" for m in allm] + ["cites VARCHAR[]", "unc VARCHAR[]"])
        ex(f"CREATE TABLE decoded ({cols})")
        values = []
        n = len(ms)
        for words in got:
            used, raised = mask_of(words[:n]), mask_of(words[n:])
            cites = self.marks.cites(used)
            unc = sorted(self.marks.uncertain(used | raised))
            values.append("(" + ", ".join([str(int(w)) for w in words]
                                          + [_sql_list(cites), _sql_list(unc)]) + ")")
        for k in range(0, len(values), 1000):
            ex("INSERT INTO decoded VALUES " + ", ".join(values[k:k + 1000]))
        on = " AND ".join(f"d.{m} = k.{m}" for m in allm)
        if not first:
            ex("CREATE TABLE signatures (sig BIGINT, in_scope BOOLEAN, license_required BOOLEAN, "
               "exceptions VARCHAR[], outcome VARCHAR, review_policy VARCHAR, "
               "citations VARCHAR[], ruled_out STRUCT(exception VARCHAR, citation VARCHAR)[], "
               "uncertainties VARCHAR[])")
        ex(f"""INSERT INTO signatures
            WITH k2 AS (SELECT k.*, CASE WHEN k.outcome = {ind} AND k.needs
                                          AND NOT k.reviewed AND len(k.missing0) = 0
                                     THEN ['tpp_per_unit'] ELSE k.missing0 END AS missing
                        FROM kinds k),
                 ruled AS (SELECT k.sig, list(e.entry ORDER BY e.k) AS entries
                           FROM (SELECT sig, unnest(ruled) AS eid FROM kinds) k
                           JOIN ruled_entries e ON e.eid = k.eid GROUP BY k.sig)
            SELECT k.sig, k.in_scope,
                   CASE WHEN NOT k.in_scope THEN FALSE WHEN k.unknown THEN NULL
                        ELSE k.needs END AS license_required,
                   k.exception_names AS exceptions, so.s AS outcome,
                   CASE WHEN k.outcome = {lr} THEN sr.s END AS review_policy,
                   d.cites AS citations,
                   COALESCE(r.entries, []) AS ruled_out,
                   list_sort(list_distinct(list_concat(d.unc, k.flagged,
                       list_transform(k.missing, lambda s: 'missing:' || s)))) AS uncertainties
            FROM k2 k JOIN decoded d ON {on} JOIN sym so ON so.id = k.outcome
            LEFT JOIN sym sr ON sr.id = k.review LEFT JOIN ruled r ON r.sig = k.sig""")
        for table in ("kinds", "decoded"):
            ex(f"DROP TABLE {table}")

    # -- results ------------------------------------------------------------------------------

    def counts(self) -> tuple[int, Counter[str], Counter[str], Counter[str]]:
        """Rows decided, and the counts of outcomes, exceptions and review policies."""
        ex = self.execute
        per = "(SELECT sig, COUNT(*) AS n FROM decisions GROUP BY sig) c JOIN signatures s " \
              "ON s.sig = c.sig"
        outcomes = Counter({k: int(n) for k, n in ex(
            f"SELECT s.outcome, sum(c.n) FROM {per} GROUP BY s.outcome")})
        exceptions = Counter({k: int(n) for k, n in ex(
            f"SELECT x, sum(n) FROM (SELECT unnest(s.exceptions) AS x, c.n FROM {per}) GROUP BY x")})
        reviews = Counter({k: int(n) for k, n in ex(
            f"SELECT s.review_policy, sum(c.n) FROM {per} WHERE s.review_policy IS NOT NULL "
            "GROUP BY s.review_policy")})
        return sum(outcomes.values()), outcomes, exceptions, reviews

    def _decided(self, columns: Sequence[str]) -> str:
        """SQL of the decision columns ``columns`` (a row's, and its signature's)."""
        return ", ".join(f"d.{quote_ident(c)}" if c in ("transaction", "as_of")
                         else f"s.{quote_ident(c)}" for c in columns)

    def records(self, batch: int = 10_000, outcomes: Sequence[str] | None = None,
                lines: Sequence[int] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
        """(line, decision record) per decided row, in file order (only those with one of
        ``outcomes`` / on one of ``lines`` when given). A ruled-out entry has its
        exception and citation."""
        where = []
        if outcomes is not None:
            where.append("s.outcome IN (" + ", ".join(sql_text(o) for o in outcomes) + ")")
        if lines is not None:
            where.append("d.line IN (" + ", ".join(str(int(n)) for n in lines) + ")")
        cond = f" WHERE {' AND '.join(where)}" if where else ""
        cur = self._cursor(f"SELECT d.line, {self._decided(DECISION_COLUMNS)} FROM decisions d "
                           f"JOIN signatures s ON s.sig = d.sig{cond} ORDER BY d.line")
        while True:
            chunk = cur.fetchmany(batch)
            if not chunk:
                return
            for row in chunk:
                rec = dict(zip(DECISION_COLUMNS, row[1:]))
                rec["as_of"] = rec["as_of"].isoformat()
                rec["ruled_out"] = [{"exception": x["exception"], "citation": x["citation"]}
                                    for x in rec["ruled_out"]]
                yield row[0], rec

    def text(self, fmt: str, batch: int = 50_000) -> Iterator[str]:
        """The decisions as the text of a CSV file (header first) or a JSONL file, in file
        order, in pieces of ``batch`` lines: ``files.DecisionWriter``'s text exactly (a
        ruled-out entry has its exception and citation). A signature's part of the line is
        made once."""
        from reasoner.tools.screen.textsql import csv_line, json_fields

        own = ("transaction", "as_of")
        shared = tuple(c for c in DECISION_COLUMNS if c not in own)
        assert DECISION_COLUMNS[:len(own)] == own
        if fmt == "csv":
            yield ",".join(DECISION_COLUMNS) + "\n"
            head, tail = csv_line(own) + " || ','", csv_line(shared) + " || chr(10)"
        else:
            head, tail = "'{' || " + json_fields(own) + " || ', '", \
                json_fields(shared) + " || '}' || chr(10)"
        cur = self._cursor(f"""SELECT {head} || t.tail FROM decisions
            JOIN (SELECT sig, {tail} AS tail FROM signatures) t ON t.sig = decisions.sig
            ORDER BY decisions.line""")
        while True:
            chunk = cur.fetchmany(batch)
            if not chunk:
                return
            yield "".join(r[0] for r in chunk)

    def copy_parquet(self, path: str) -> None:
        """Write the decisions to a Parquet file, in file order (lists as lists, a ruled-out
        entry as a struct of exception and citation)."""
        quoted = path.replace("'", "''")
        self.execute(f"COPY (SELECT {self._decided(DECISION_COLUMNS)} FROM decisions d "
                     f"JOIN signatures s ON s.sig = d.sig ORDER BY d.line) TO '{quoted}' "
                     "(FORMAT parquet)")

    def close(self) -> None:
        """Drop the database and the staged files."""
        self.stager.close()
        try:
            self.con.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


class _Clock:
    """Seconds per stage of one lane, added to the screen's ``Stats``; and how far its
    partition has gone (the fraction of its rows decided, by the stages' ``shares``)."""

    def __init__(self, stats: Stats, shares: Mapping[str, float]) -> None:
        self.stats = stats
        self.clock = time.perf_counter()
        self.stages = list(shares)
        self.shares = list(shares.values())
        self.report: Callable[[float], None] = lambda _: None
        self.next = 0  # the stage running: the one after the last lapped

    def start(self, report: Callable[[float], None]) -> None:
        """A new partition, whose progress goes to ``report``."""
        self.report = report
        self.next = 0

    def lap(self, name: str) -> None:
        """Stage ``name`` ended (it and the stages before it are done)."""
        now = time.perf_counter()
        self.stats.add(name, now - self.clock)
        self.clock = now
        if name in self.stages:
            self.next = self.stages.index(name) + 1
            self.report(sum(self.shares[:self.next]))

    def step(self, done: int, steps: int) -> None:
        """``done`` of the ``steps`` of the stage running."""
        if self.next < len(self.stages) and steps:
            self.report(sum(self.shares[:self.next]) + self.shares[self.next] * done / steps)


class _Progress:
    """The partitions left to decide, handed out one at a time, and the rows decided
    over all of them (reported to ``on_step``)."""

    def __init__(self, sizes: Sequence[int], on_step: Callable[[int, int], None] | None) -> None:
        self.todo = list(range(len(sizes)))
        self.sizes = sizes
        self.on_step = on_step
        self.decided = [0.0] * len(sizes)  # the fraction of each partition's rows
        self.lock = threading.Lock()
        self.stopped = False

    def take(self) -> int | None:
        """The next partition (None: none left, or the run stopped)."""
        with self.lock:
            return None if self.stopped or not self.todo else self.todo.pop(0)

    def stop(self) -> None:
        with self.lock:
            self.stopped = True

    def reporter(self, part: int) -> Callable[[float], None]:
        """The progress of partition ``part``: called with the fraction of its rows decided."""
        def report(fraction: float) -> None:
            if self.on_step is None:
                return
            with self.lock:
                self.decided[part] = fraction
                self.on_step(round(sum(n * f for n, f in zip(self.sizes, self.decided))),
                             sum(self.sizes))
        return report


def _run_lanes(work: Sequence[Callable[[], None]], stop: Callable[[], None],
               interrupt: Sequence[Callable[[], None]]) -> None:
    """Run each of ``work`` in a thread of its own (the one alone in this thread) and wait
    for them; when one fails or the wait is interrupted, ``stop`` the others (they finish
    their partition, their running statement ``interrupt``ed) and raise its error."""
    if len(work) == 1:
        work[0]()
        return
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:  # raised in the calling thread below
            errors.append(exc)
            stop()

    threads = [threading.Thread(target=run, args=(job,), daemon=True) for job in work]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.2)
                if errors:
                    for cut in interrupt:
                        cut()
    except BaseException:
        stop()
        for cut in interrupt:
            cut()
        for t in threads:
            t.join()
        raise
    if errors:
        raise errors[0]


def _cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _bytes(size: str) -> int | None:
    """The bytes of a DuckDB memory size such as ``1GB``, ``500MiB`` (None: not one)."""
    import re

    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(i?)B?\s*", size, re.IGNORECASE)
    if m is None:
        return None
    base = 1024 if m.group(3) else 1000
    power = " KMGT".index(m.group(2).upper() or " ")
    return int(float(m.group(1)) * base ** power)


def _sql_list(items: Sequence[str]) -> str:
    return "CAST([" + ", ".join(sql_text(s) for s in items) + "] AS VARCHAR[])"
