"""Bulk screening with the strata and the LPP fold on Spark, the decision fields on DuckDB."""

# How a book becomes decisions here (compare columnar.py, whose stages these are):
#
#   rows ──stage──▶    DuckDB, as the columnar screen: validated, strings as symbol ids;
#                      the strata that read no transaction (the context's facts alone:
#                      a few thousand rows, about a second each as a Spark query) too
#        ──to Spark──▶ every given relation (the context's facts, the tx_* relations)
#                      and those strata's relations, through Arrow, marks and all
#        ──pass 1──▶   every other stratum, compiled for the SPARK dialect with the same
#                      kinds, marks and symbol ids as DuckDB's program (SparkRun)
#        ──fold──▶     the LPP candidates in Spark SQL (lppfold's SELECTs), the capped
#                      running sum per (consignee, year) as a grouped map (capped_fold),
#                      tx_slot_prev and lpp_prior by lppfold's window SELECTs
#        ──pass 2──▶   the strata that read lpp_shipped or tx_slot_prev, again
#        ──back──▶     every derived relation, through Arrow, into DuckDB's tables
#        ──decide──▶   basis, exclusions (the failure search) and the output lines: the
#                      columnar screen's own SQL, unchanged
#
# Invariants: both programs are compiled from one checked program, one set of sample
# rows and one symbol table, so a relation's rows (with _r and marks) are the same on
# either side; what DuckDB decides from them is the columnar screen's code.

from __future__ import annotations

import datetime as _dt
from typing import Any, Callable

from reasoner.engine.sql.compiler import SPARK, SqlProgram, table_name
from reasoner.engine.sql.runner import prepare, run_steps
from reasoner.lang.errors import EngineError
from reasoner.law.scenario import Scenario
from reasoner.tools.screen.basis import words_of
from reasoner.tools.screen.columnar import (_CHAIN_INPUTS, _TX_INPUTS, _TX_RELATIONS, ColumnarScreen,
                                           dependents)
from reasoner.tools.screen.lppfold import (candidates_select, chain_selects, lpp_cap, rule_indices,
                                           slots_select)

__all__ = ["SparkScreen", "SMALL_BOOK", "SPARK_BYTES_PER_ROW", "SPARK_PARTITION_ROWS"]

# A partition of fewer rows runs with Spark's settings for small programs
# (spark_engine.SMALL: no adaptive execution, one shuffle partition), where Spark's fixed
# costs per query dominate.
SMALL_BOOK = 50_000
# Rows decided together by default: as many as the driver's heap holds at this many bytes
# a row (every relation of a partition comes back to the driver). Measured on the
# generated books, local[*] with a 12 GB heap: 300,000 rows in one partition were
# decided (409 s), 1,000,000 ran out of heap after about 10 minutes. Spark's fixed costs
# are paid per partition (some 3 minutes on a local master), so partitions are larger
# than DuckDB's. Without a heap to read, SPARK_PARTITION_ROWS.
SPARK_BYTES_PER_ROW = 40_000
SPARK_PARTITION_ROWS = 300_000
# ``columnar.STAGE_SHARES`` here (measured on the generated 100,000-row book, local[*] on
# 2 cores: load 10.2 s, pass 1 123.6, LPP fold 7.1, pass 2 17.9, collect 10.6, the
# decision fields 5.5). Spark computes the strata lazily, so pass 1 moves as one step.
SPARK_STAGE_SHARES = {"load": 0.06, "pass 1": 0.70, "LPP fold": 0.04, "pass 2": 0.10,
                      "collect": 0.06, "basis": 0.01, "ruled out": 0.02, "decisions": 0.01}

# The relations that are DuckDB views of the staged rows (read by Spark, never written back).
_VIEWS = frozenset({"tx", "tx_seq", "tx_as_of", *(p for p, _ in _TX_RELATIONS)})


def _spark_T(pred: str) -> str:
    return table_name(pred, dialect=SPARK)


class SparkScreen(ColumnarScreen):
    """Decides a whole book with the rulebook's strata and the LPP fold on Spark.

    Staging (validation, symbols) and the decision fields (basis citations, ruled-out
    entries, uncertainties, output lines) are ``ColumnarScreen``'s, on DuckDB in this
    process; the model they read is computed on Spark.

    Args:
        context, file, regime, as_of, sort, threads, memory_limit: as for
            ``ColumnarScreen`` (``threads`` and ``memory_limit`` are DuckDB's).
        partition_rows: as for ``ColumnarScreen`` (default without a memory limit: as
            many as the driver's heap holds at ``SPARK_BYTES_PER_ROW``); one partition at
            a time (Spark parallelizes each, and the runs share the session's views).
        spark: the SparkSession (default: the process's, ``spark_engine.session()``,
            whose master ``spark_engine.configure`` sets).

    Raises:
        EngineError: pyspark or Java is missing, or Spark did not start.
    """

    stage_shares = SPARK_STAGE_SHARES

    def __init__(self, context: Scenario, file: str = "<input>", *, regime: str | None = None,
                 as_of: _dt.date | None = None, sort: bool = True, threads: int | None = None,
                 memory_limit: str | None = None, partition_rows: int | None = None,
                 spark: Any = None) -> None:
        from reasoner.engine.sql.spark_engine import driver_heap, session

        self.spark = spark if spark is not None else session()
        if partition_rows is None and memory_limit is None:
            heap = driver_heap(self.spark)
            partition_rows = SPARK_PARTITION_ROWS if heap is None else \
                max(SMALL_BOOK, heap // SPARK_BYTES_PER_ROW)
        super().__init__(context, file, regime=regime, as_of=as_of, sort=sort, threads=threads,
                         memory_limit=memory_limit, partition_rows=partition_rows, lanes=1)
        self.spark_sql: SqlProgram | None = None
        self.fixed: set[str] = set()  # the strata DuckDB derives (``_fixed``), with the program

    def _compile(self) -> SqlProgram:
        sql = super()._compile()
        symbols = dict(self.symbols)  # the program's constants and the exception codes
        spark_sql = prepare(self.checked, {**self._rows, **self._samples(self._rows)}, SPARK,
                            self.marks.for_compiler(), symbols)
        if dict(spark_sql.kinds) != dict(sql.kinds) or spark_sql.words != sql.words \
                or len(spark_sql.steps) != len(sql.steps):
            raise EngineError("the Spark and DuckDB programs differ in their columns",
                              hint="this is a bug in the SQL backend; use --engine duckdb")
        self.spark_sql = spark_sql
        self.fixed = self._fixed()
        return sql

    def _decide_part(self, sql: SqlProgram, say: Callable[[str], None],
                     lap: Callable[[str], None], step: Callable[[int, int], None]) -> None:
        """Decide the staged rows of one partition (table ``decisions``)."""
        from reasoner.engine.sql.spark_engine import SMALL, SparkRun, spark_errors

        assert self.spark_sql is not None
        say("loading")
        self._load(sql)
        fixed = self.fixed
        run_steps(self.execute, sql, [s for s in sql.steps if set(s.preds) <= fixed],
                  given=self._given)
        small = self.execute("SELECT COUNT(*) FROM txk")[0][0] < SMALL_BOOK
        run = SparkRun(self.spark_sql, self.spark, SMALL if small else None)
        try:
            with spark_errors():
                self._to_spark(run, sql, fixed)
                lap("load")
                say("evaluating on Spark")
                run.run([s for s in self.spark_sql.steps if not set(s.preds) <= fixed])
                lap("pass 1")
                say("counting LPP on Spark")
                self.stats.add("LPP fold", shipped=self._fold(run, sql))
                lap("LPP fold")
                say("evaluating LPP on Spark")
                again = self._pass2(run)
                lap("pass 2")
                say("collecting")
                self._from_spark(run, sql, again, step, fixed)
                lap("collect")
        finally:
            run.close()
        self._fields(sql, say, lap)

    def _fixed(self) -> set[str]:
        """The derived predicates that read no transaction, directly or not (the context's
        facts alone decide them: ``as_china``, ``exception_code``, ``ultimate_parent``...)."""
        return {r.head.pred for r in self.checked.rules} - dependents(self.checked, _TX_INPUTS)

    # -- between DuckDB and Spark ----------------------------------------------------------

    def _to_spark(self, run: Any, sql: SqlProgram, fixed: set[str]) -> None:
        """Every given relation with rows (facts and the staged rows' tx_* relations), and
        the ``fixed`` relations DuckDB derived, from DuckDB to Spark through Arrow (exact
        integers as DECIMAL(38,0))."""
        for pred in sorted(self._given | fixed):
            if pred not in sql.arity:
                continue
            cols = [f"CAST(c{k} AS DECIMAL(38,0))" if kind == "int" else f"c{k}"
                    for k, kind in enumerate(sql.kinds[pred])]
            cols += ["_r"] + [f"m{w}" for w in range(sql.words)]
            table = self.con.sql(
                f"SELECT {', '.join(cols)} FROM {table_name(pred)}").to_arrow_table()
            if table.num_rows:
                # a fixed relation is derived: no step of the run adds to it
                run.put_rows(pred, run.spark.createDataFrame(table), given=pred not in fixed)
            elif pred in fixed:
                run.put_rows(pred, run.empty(pred), given=False)

    def _from_spark(self, run: Any, sql: SqlProgram, again: set[str],
                    step: Callable[[int, int], None], fixed: set[str]) -> None:
        """Every relation Spark computed (or the fold changed), into DuckDB's tables (the
        ``fixed`` ones are DuckDB's already)."""
        computed = {r.head.pred for r in self.checked.rules} | set(_CHAIN_INPUTS) | again
        preds = sorted(p for p in computed - fixed if p in sql.arity and p not in _VIEWS)
        for done, pred in enumerate(preds, 1):
            table = run.table(pred).toArrow()
            name = f"spark_rows_{done}"
            self.con.register(name, table)
            try:
                self.execute(f"DELETE FROM {table_name(pred)}")
                self.execute(f"INSERT INTO {table_name(pred)} SELECT * FROM {name}")
            finally:
                self.con.unregister(name)
            step(done, len(preds))

    # -- the LPP fold and pass 2 on Spark -----------------------------------------------------

    def _fold(self, run: Any, sql: SqlProgram) -> int:
        """lpp_shipped (the history's and the book's shipments), tx_slot_prev and every
        row's lpp_prior, in the run; return how many rows shipped."""
        from pyspark.sql import functions as F

        from reasoner.engine.sql.spark_book import capped_fold

        rules = rule_indices(self.checked)

        def collect(query: str) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in run.sql_frame(query).collect()]

        cap = lpp_cap(collect, self._lit, _spark_T)
        slots = run.keep(run.sql_frame(slots_select(sql.words, _spark_T)))
        slots.createOrReplaceTempView("slots")
        try:
            cands = run.sql_frame(candidates_select(self._lit, _spark_T))
            tpp_type = dict((f.name, f.dataType) for f in cands.schema.fields)["tpp"]
            cands = cands.withColumn("cap", F.lit(str(cap)).cast(tpp_type))
            folded = capped_fold(cands, keys=["e", "y"], order=["seq"], amount="tpp", cap="cap",
                                 start="hist")
            s_words = words_of(1 << self.marks.scenario, sql.words)
            shipped = run.keep(folded.where(F.col("counts")).select(
                "e", "y", "tpp", "tx", F.lit(-1).alias("_r"),
                *(F.lit(v).cast("bigint").alias(f"m{w}") for w, v in enumerate(s_words))))
            n = shipped.count()
            ship_given = run.frames["lpp_shipped"]
            run.put_rows("lpp_shipped", ship_given.unionByName(
                shipped.toDF(*ship_given.columns)))
            slot_prev, chain, prior = chain_selects(run.sql, self.marks, rules, _spark_T)
            before = run.frames["tx_slot_prev"]
            run.put_rows("tx_slot_prev", before.unionByName(
                run.sql_frame(slot_prev).toDF(*before.columns)))
            run.keep(run.sql_frame(chain)).createOrReplaceTempView("chain")
            try:
                rows = run.keep(run.sql_frame(prior))
                rows.count()
                run.put_rows("lpp_prior", rows, given=False)
            finally:
                run.spark.catalog.dropTempView("chain")
        finally:
            run.spark.catalog.dropTempView("slots")
        return int(n)

    def _pass2(self, run: Any) -> set[str]:
        """The strata that read the chain's inputs, again (their rows of pass 1 gone, given
        rows kept); returns their predicates."""
        assert self.spark_sql is not None
        again = dependents(self.checked, _CHAIN_INPUTS)
        for pred in sorted(again - {"lpp_prior"}):
            if pred not in self.spark_sql.arity:
                continue
            if run.is_given(pred):
                run.put_rows(pred, run.frames[pred].where("_r = -1"))
            else:
                run.put_rows(pred, run.empty(pred), given=False)
        steps = [s for s in self.spark_sql.steps
                 if set(s.preds) & again and "lpp_prior" not in s.preds]
        run.run(steps)
        return again
