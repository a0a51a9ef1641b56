"""The Spark backend: checked programs compiled to Spark SQL and run on a SparkSession."""

# How a program runs on Spark (the compiler's SQL, ``sql.compiler``, in the SPARK
# dialect; see ``SparkRun``):
#
#   each predicate's relation is a DataFrame, registered as a temporary view that
#   the SQL's rel_<pred> reads (a new view for each version of the relation);
#   a stratum that is not recursive is one query over the views, kept as a lazy
#   local checkpoint (nothing runs until rows are read, then Spark computes each
#   relation once, and later queries scan its stored rows, not its plan);
#   a recursive stratum is a semi-naive loop driven from here: each round's new
#   rows (the round's query minus the rows known) are kept and counted, one
#   Spark job per round, and become the view delta_<pred> of the next round.
#
# Spark's WITH RECURSIVE (4.x) allows UNION ALL only, which never stops on a
# cyclic relation, so it cannot express Datalog recursion; hence the loop.

from __future__ import annotations

import datetime as _dt
import itertools
import os
import re
import shutil
import sys
import threading
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from reasoner.engine.model import Model, Row, given_rows
from reasoner.engine.sql.compiler import SPARK, SqlProgram, Step, table_name
from reasoner.engine.sql.runner import prepare, to_value
from reasoner.lang.checks import CheckedProgram
from reasoner.lang.errors import EarlogError, EngineError
from reasoner.lang.ir import Fact, Value

__all__ = ["SparkEngine", "SparkRun", "configure", "session", "spark_error", "spark_errors", "java_found",
           "driver_heap",
           "DEFAULT_MASTER", "SMALL", "SPARK_HINT"]

DEFAULT_MASTER = "local[*]"
SPARK_HINT = ("install earlog[spark] (pip install 'earlog[spark]'; Spark needs Java 17 or "
              "later), or use --engine earlog")
_LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")
# A recursive relation is checkpointed as one piece after this many rounds, so
# that its plan (a union of every round's new rows) stays short.
_COMPACT_EVERY = 32
# Numbers the views of relations' versions, unique in the process.
_VERSIONS = itertools.count(1)
# Given rows from this many on are loaded through pandas and Arrow.
_ARROW_FROM = 2000
# A string literal, or a quoted name (group 1) in SPARK's SQL.
_TOKENS = re.compile(r"'(?:[^']|'')*'|`((?:[^`]|``)*)`")

_lock = threading.Lock()
_master = DEFAULT_MASTER
_conf: dict[str, str] = {}
_session: Any = None


def configure(master: str | None = None, conf: Mapping[str, str] | None = None) -> None:
    """Set the master (and extra Spark settings) of the process's session.

    A session already running with other settings is stopped; the next
    ``session()`` starts one with these.

    Args:
        master: a Spark master URL, e.g. ``local[2]`` or ``spark://host:7077``
            (default ``local[*]``).
        conf: Spark settings, e.g. ``{"spark.executor.memory": "4g"}``.
    """
    global _master, _conf, _session
    new_master, new_conf = master or DEFAULT_MASTER, dict(conf or {})
    with _lock:
        if _session is not None and (new_master, new_conf) != (_master, _conf):
            _session.stop()
            _session = None
        _master, _conf = new_master, new_conf


def session() -> Any:
    """The process's SparkSession, started on first use and then reused.

    Raises:
        EngineError: pyspark is not installed, Java is missing, or Spark did not start.
    """
    global _session
    with _lock:
        if _session is not None:
            return _session
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise EngineError("the spark engine needs the 'pyspark' package",
                              hint=SPARK_HINT) from None
        if not java_found():
            raise EngineError("the spark engine needs Java 17 or later, and no 'java' was found "
                              "(on PATH or in JAVA_HOME)", hint=SPARK_HINT)
        builder = SparkSession.builder.master(_master).appName("earlog")
        for key, value in {**_settings(_master), **_conf}.items():
            builder = builder.config(key, value)
        try:
            spark = builder.getOrCreate()
        except Exception as exc:  # noqa: BLE001 - whatever stops the JVM from starting
            raise EngineError(f"Spark did not start: {_first_line(exc)}",
                              hint=_start_hint(_master)) from None
        spark.sparkContext.setLogLevel("ERROR")
        _quiet_python_loggers()
        _session = spark
        return spark


def _start_hint(master: str) -> str:
    """What to check when a session on ``master`` did not start: the installation
    (local), or the cluster's master."""
    if master.startswith("local"):
        return SPARK_HINT
    return (f"check that the Spark master {master} is up and reachable from this machine "
            "(and its workers can reach back), or use --master local[*]")


def _quiet_python_loggers() -> None:
    """PySpark logs every failed query (with its JVM stack) before raising it; the
    engine reports the failure itself."""
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True


def java_found() -> bool:
    """Whether a Java runtime is on PATH or in JAVA_HOME (Spark needs one)."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return True
    return shutil.which("java") is not None


def _settings(master: str) -> dict[str, str]:
    """earlog's Spark settings: exact arithmetic, quiet logs, no UI."""
    out = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={_LOG_CONFIG.as_uri()}",
        # overflow is an error (as on DuckDB), not a NULL that would drop a row
        "spark.sql.ansi.enabled": "true",
        # decimal arithmetic keeps every place or fails; it never rounds to fit
        "spark.sql.decimalOperations.allowPrecisionLoss": "false",
        "spark.sql.session.timeZone": "UTC",
        # Inferring filters from constraints fails on unions of a relation's versions
        # (Spark 4.3: "key not found" in Union.rewriteConstraints) and is slow on
        # long plans; the compiled SQL states its filters.
        "spark.sql.constraintPropagation.enabled": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    if master.startswith("local"):
        # one machine: few shuffle partitions (adaptive execution merges small ones);
        # Python workers (the grouped folds) run this interpreter
        out["spark.sql.shuffle.partitions"] = "8"
        # the driver is the executor: Spark's default heap of 1g ran out of execution
        # memory on a 2,000-row book in CI, 4g on the generated 1M-row book (settings
        # given with configure() still win)
        out["spark.driver.memory"] = f"{_local_heap_gb()}g"
        # the relations' checkpoints fill the storage memory; execution may evict them
        # (to disk) down to a tenth, not Spark's default half: with half, an aggregation
        # of the generated 1M-row book found no memory for its first page
        out["spark.memory.storageFraction"] = "0.1"
        out["spark.pyspark.python"] = sys.executable
        out["spark.pyspark.driver.python"] = sys.executable
    return out


def _causes(exc: BaseException, most: int = 8) -> list[str]:
    """The first lines of a JVM exception's causes, outermost first (a failure in a
    broadcast or a task arrives wrapped, e.g. "ExecutionException: Boxed Exception")."""
    out: list[str] = []
    java = getattr(exc, "java_exception", None)
    try:
        cause = java.getCause() if java is not None else None
        while cause is not None and len(out) < most:
            out.append(str(cause.toString()).splitlines()[0][:500])
            cause = cause.getCause()
    except Exception:  # noqa: BLE001 - the JVM may be gone; the outer message stands
        pass
    return out


def driver_heap(spark: Any) -> int | None:
    """The most memory the driver's JVM may use (bytes), or None when Spark does not say
    (a session without a JVM of its own here, e.g. Spark Connect)."""
    try:
        return int(spark.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory())
    except Exception:  # noqa: BLE001 - any session that cannot answer
        return None


def _local_heap_gb() -> int:
    """The heap of a local master's JVM: half the machine's memory, 4 to 16 GB (the JVM
    takes it as it needs it)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 4
    return max(4, min(16, total // 2 // 1024 ** 3))


def _first_line(exc: BaseException) -> str:
    """What went wrong, in one line (for a JVM exception, its own message, not
    py4j's "An error occurred while calling ...")."""
    java = getattr(exc, "java_exception", None)
    text = str(java.toString()) if java is not None else str(exc)
    text = text.strip() or type(exc).__name__
    return text.splitlines()[0][:500]


def spark_error(exc: BaseException) -> EngineError:
    """Spark's (or py4j's) exception as an ``EngineError``."""
    message = _first_line(exc)
    if "NUMERIC_VALUE_OUT_OF_RANGE" in message or "ARITHMETIC_OVERFLOW" in message:
        return EngineError(f"Spark: a number outgrew 38 digits: {message}",
                           hint="use --engine earlog, whose integers are unbounded")
    memory = next((m for m in (message, *_causes(exc)) if "OutOfMemory" in m
                   or "OUT_OF_MEMORY" in m), None)
    if memory is not None:
        return EngineError(f"Spark ran out of memory: {memory}",
                           hint="run on a cluster (--master), give the driver more "
                                "(spark.driver.memory: a local master has half this machine's "
                                "memory, 4 to 16 GB), or screen with --engine duckdb")
    return EngineError(f"Spark failed: {message}",
                       hint="this is a bug in the SQL backend; use --engine earlog")


@contextmanager
def spark_errors() -> Iterator[None]:
    """Spark's (or py4j's) exceptions raised inside become ``EngineError`` (``spark_error``);
    earlog's own errors and any other exception pass through."""
    try:
        yield
    except EarlogError:
        raise
    except Exception as exc:
        if type(exc).__module__.split(".")[0] in ("pyspark", "py4j"):
            raise spark_error(exc) from None
        raise


class SparkRun:
    """One run of a compiled program on Spark: its relations as DataFrames.

    Each version of a relation is a temporary view with a name of its own in the
    process (``rel_<pred>__<n>``); ``close`` (or leaving a ``with`` block) drops
    them and releases the rows the run stored.

    Args:
        sql: the program, compiled for the ``SPARK`` dialect.
        spark: the session (default: ``session()``). The DataFrames given to
            ``put_table`` must belong to it.
        conf: SQL settings for this run only (e.g. ``SMALL``): the run then has a
            session of its own (``newSession``), sharing the SparkContext.
    """

    def __init__(self, sql: SqlProgram, spark: Any = None,
                 conf: Mapping[str, str] | None = None) -> None:
        if sql.dialect is not SPARK:
            raise ValueError(f"a program compiled for {sql.dialect.name}, not spark")
        self.sql = sql
        self.spark = spark if spark is not None else session()
        if conf:
            self.spark = self.spark.newSession()
            for key, value in conf.items():
                self.spark.conf.set(key, value)
        self.frames: dict[str, Any] = {}
        self._kept: list[Any] = []  # the local checkpoints made, released by close
        self._views: dict[str, str] = {}  # rel_<pred> -> the view of its current version
        self._names: list[str] = []  # every view the run made
        self._given: set[str] = set()  # the predicates with given rows

    def __enter__(self) -> SparkRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop the run's views and release the relations' stored rows."""
        try:
            for name in self._names:
                self.spark.catalog.dropTempView(name)
            for df in self._kept:
                df._jdf.queryExecution().analyzed().rdd().unpersist(False)
        except Exception:  # noqa: BLE001 - a stopped session has nothing left to free
            pass
        self._names.clear()
        self._kept.clear()

    def schema(self, pred: str) -> Any:
        """The Spark schema of ``pred``'s table: c0.., _r and the mark words."""
        from pyspark.sql.types import (BooleanType, DateType, DecimalType, IntegerType, LongType,
                                       StringType, StructField, StructType)

        types = {"int": DecimalType(38, 0), "dec": DecimalType(38, 10), "bool": BooleanType(),
                 "date": DateType()}
        fields = [StructField(f"c{k}", IntegerType() if self.sql.symbols and kind in (None, "str")
                              else types.get(kind or "str", StringType()), False)
                  for k, kind in enumerate(self.sql.kinds[pred])]
        fields.append(StructField("_r", IntegerType(), False))
        fields += [StructField(f"m{w}", LongType(), False) for w in range(self.sql.words)]
        return StructType(fields)

    def load(self, pred: str, rows: Iterable[Row]) -> None:
        """Make ``rows`` (given facts: ``_r`` = -1, no marks) ``pred``'s relation."""
        kinds = self.sql.kinds[pred]
        tail = (-1,) + (0,) * self.sql.words
        data = [tuple(_spark_value(v, k) for v, k in zip(row, kinds)) + tail for row in rows]
        if data:
            self._given.add(pred)
        self.put(pred, _frame(self.spark, data, self.schema(pred)))

    def put_table(self, pred: str, df: Any, columns: Sequence[str] | None = None) -> None:
        """Make the rows of ``df`` (any number, e.g. a book read from Parquet) given rows
        of ``pred``: its ``columns`` (default its first ones) cast to the relation's
        types, in order.

        Raises:
            EngineError: the number of columns is not the predicate's arity.
        """
        from pyspark.sql import functions as F

        n = self.sql.arity[pred]
        names = list(columns) if columns is not None else list(df.columns[:n])
        if len(names) != n:
            raise EngineError(f"'{pred}' takes {n} argument(s); the table gives {len(names)} "
                              f"column(s): {', '.join(names)}")
        fields = self.schema(pred).fields
        cols = [F.col(SPARK.ident(name)).cast(f.dataType).alias(f.name)
                for name, f in zip(names, fields)]
        cols.append(F.lit(-1).cast("int").alias("_r"))
        cols += [F.lit(0).cast("bigint").alias(f"m{w}") for w in range(self.sql.words)]
        self._given.add(pred)
        self.put(pred, df.select(*cols))

    def put_rows(self, pred: str, df: Any, given: bool = True) -> None:
        """Make ``df``'s rows, with their own ``_r`` and marks (the columns of
        ``schema(pred)``, in order, any names), ``pred``'s relation: given rows
        (``given``; the relation's rules add to them) or rows computed outside the run.
        """
        from pyspark.sql import functions as F

        fields = self.schema(pred).fields
        if len(df.columns) != len(fields):
            raise EngineError(f"'{pred}' has {len(fields)} column(s) with _r and marks; "
                              f"the table gives {len(df.columns)}")
        cols = [F.col(SPARK.ident(name)).cast(f.dataType).alias(f.name)
                for name, f in zip(df.columns, fields)]
        if given:
            self._given.add(pred)
        else:
            self._given.discard(pred)
        self.put(pred, df.select(*cols))

    def is_given(self, pred: str) -> bool:
        """Whether ``pred``'s relation has given rows (its rules add to them)."""
        return pred in self._given

    def keep(self, df: Any) -> Any:
        """``df`` as a lazy local checkpoint the run releases on ``close``."""
        return self._keep(df)

    def empty(self, pred: str) -> Any:
        """An empty DataFrame of ``pred``'s schema."""
        return self.spark.createDataFrame([], self.schema(pred))

    def table(self, pred: str, names: Sequence[str] | None = None) -> Any:
        """``pred``'s relation as a DataFrame: its arguments (named ``names``, default
        c0..), ``_r`` (the index of the rule of each row's first derivation, -1 for a
        given row) and the mark words m0.."""
        from pyspark.sql import functions as F

        n = self.sql.arity[pred]
        names = list(names) if names is not None else [f"c{k}" for k in range(n)]
        if len(names) != n:
            raise EngineError(f"'{pred}' has {n} argument(s), not {len(names)}")
        if pred not in self.frames:
            raise EngineError(f"'{pred}' is neither given nor computed yet in this run")
        cols = [F.col(f"c{k}").alias(name) for k, name in enumerate(names)]
        cols += [F.col("_r")] + [F.col(f"m{w}") for w in range(self.sql.words)]
        return self.frames[pred].select(*cols)

    def put(self, pred: str, df: Any, prefix: str = "rel") -> None:
        """Make ``df`` (with the columns of ``schema(pred)``) what the compiled SQL's
        ``<prefix>_<pred>`` reads; ``rel`` is the relation ``run`` reads and extends."""
        if prefix == "rel":
            self.frames[pred] = df
        # Each version of a relation is a view of its own, named uniquely in the
        # process: runs may share a session, and no view is redefined under a query
        # that read it (Spark would drop what it cached of that query).
        name = f"{prefix}_{pred}__{next(_VERSIONS)}"
        df.createOrReplaceTempView(name)
        self._names.append(name)
        self._views[f"{prefix}_{pred}"] = name

    def sql_frame(self, query: str) -> Any:
        """A query over the relations (the compiled SQL's table names read their
        current versions), as a DataFrame (Spark's errors as ``EngineError``)."""
        def version(m: re.Match[str]) -> str:
            if m.group(1) is None:  # a string literal
                return m.group(0)
            name = m.group(1).replace("``", "`")
            return SPARK.ident(self._views.get(name, name))

        with spark_errors():
            return self.spark.sql(_TOKENS.sub(version, query))

    def run(self, steps: Sequence[Step] | None = None, max_rounds: int = 1_000_000) -> None:
        """Evaluate the steps (default all) in order over the relations given so far
        (``load``, ``put_table``; the others are empty).

        Args:
            steps: a subsequence of ``sql.steps`` whose inputs are given or computed.
            max_rounds: the most semi-naive rounds of one recursive stratum.

        Raises:
            EngineError: Spark failed, or a recursion did not end.
        """
        steps = self.sql.steps if steps is None else steps
        # a relation no query reads before its own step defines it needs no empty table
        defined = {p for step in steps if step.full is not None for p in step.preds}
        for pred in self.sql.arity:
            if pred not in self.frames and pred not in defined:
                self.load(pred, ())
        with spark_errors():
            for step in steps:
                if step.full is None:
                    self._fixpoint(step, max_rounds)
                    continue
                (pred,) = step.preds
                # the given rows stay (as given: _r = -1); the rules add what is new
                given = pred in self._given
                derived = self.sql_frame(self._new(pred, step.full) if given else step.full)
                if given:
                    derived = self.frames[pred].unionByName(derived)
                self.put(pred, self._keep(derived))

    def _keep(self, df: Any) -> Any:
        """``df`` as a local checkpoint: computed (once) when first read, and then a
        plain scan of its stored rows for every query that reads it.

        Not ``cache()``: a cached plan keeps its whole lineage, so the plan of a
        relation read in two places would print (and be walked) twice per stratum
        below it, exponentially in the depth of the program.
        """
        df = df.localCheckpoint(eager=False)
        self._kept.append(df)
        return df

    def _new(self, pred: str, select: str) -> str:
        """The rows of ``select`` that ``pred``'s relation does not hold yet."""
        rel = table_name(pred, dialect=SPARK)
        n = self.sql.arity[pred]
        if not n:
            return f"SELECT * FROM ({select}) n WHERE NOT EXISTS (SELECT 1 FROM {rel})"
        on = " AND ".join(f"o.c{k} = n.c{k}" for k in range(n))
        return f"SELECT n.* FROM ({select}) n WHERE NOT EXISTS (SELECT 1 FROM {rel} o WHERE {on})"

    def _fixpoint(self, step: Step, max_rounds: int) -> None:
        """Semi-naive rounds: new rows of one round are the next round's delta."""
        for pred in step.preds:
            self.put(pred, self.spark.createDataFrame([], self.schema(pred)), "delta")
        selects = step.first
        for rounds in range(1, max_rounds + 1):
            # every new relation is defined before any view changes: each reads the last round
            new = {pred: self._keep(self.sql_frame(self._new(pred, selects[pred])))
                   for pred in step.preds if pred in selects}
            fresh = sum(df.count() for df in new.values())
            for pred, df in new.items():
                merged = self.frames[pred].unionByName(df)
                if rounds % _COMPACT_EVERY == 0:
                    merged = self._keep(merged)
                    merged.count()
                self.put(pred, merged)
            for pred in step.preds:
                self.put(pred, new[pred] if pred in new else
                         self.spark.createDataFrame([], self.schema(pred)), "delta")
            if not fresh:
                return
            selects = step.rounds
        raise EngineError(f"recursion through {', '.join(step.preds)} did not end in "
                          f"{max_rounds} rounds")

    def rows(self, preds: Iterable[str] | None = None) -> dict[str, set[Row]]:
        """The rows of each relation (default all; one not computed yet has none), read
        back as values in one Spark job."""
        asked = list(self.sql.arity if preds is None else preds)
        out: dict[str, set[Row]] = {pred: set() for pred in asked}
        preds = [p for p in asked if p in self.frames]  # the others: not computed yet
        if not preds:
            return out
        parts = []
        for i, pred in enumerate(preds):
            cells = ", ".join(f"CAST(c{k} AS STRING)" for k in range(self.sql.arity[pred]))
            parts.append(f"SELECT {i} AS p, CAST(array({cells}) AS ARRAY<STRING>) AS v "
                         f"FROM {table_name(pred, dialect=SPARK)}")
        with spark_errors():
            got = self.sql_frame("\nUNION ALL\n".join(parts)).collect()
        for p, cells in got:
            pred = preds[p]
            kinds = self.sql.kinds[pred]
            out[pred].add(tuple(_value(c, k) for c, k in zip(cells, kinds)))
        return out


def _frame(spark: Any, data: list[tuple[Any, ...]], schema: Any) -> Any:
    """``data`` as a DataFrame of ``schema`` (a large one through pandas and Arrow:
    100,000 rows in 1.3 s instead of 4.6 s on local[2])."""
    if len(data) >= _ARROW_FROM:
        try:
            import pandas
        except ImportError:
            pass
        else:
            return spark.createDataFrame(pandas.DataFrame(data, columns=schema.fieldNames()),
                                         schema)
    return spark.createDataFrame(data, schema)


def _spark_value(v: Value, kind: str | None) -> Any:
    """A value as Spark takes it into a column of ``kind`` (numbers as Decimals)."""
    if kind in ("int", "dec") and not isinstance(v, bool) and isinstance(v, (int, Decimal)):
        return Decimal(v)
    return v


def _value(cell: str, kind: str | None) -> Value:
    """A cell Spark cast to text, as the evaluator's value for a column of ``kind``."""
    if kind in ("int", "dec"):
        return to_value(Decimal(cell))
    if kind == "bool":
        return cell == "true"
    if kind == "date":
        return _dt.date.fromisoformat(cell)
    return cell


# SQL settings for programs over a few thousand facts (a scenario, a conformance
# case), where Spark's fixed costs dominate: each query stage a job of its own
# (adaptive execution; broadcasts), code generation, shuffles into many
# partitions. Without adaptive execution a relation's checkpoint stays lazy until
# rows are read, so the strata run as one job.
SMALL = {
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.autoBroadcastJoinThreshold": "-1",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.shuffle.partitions": "1",
}


class SparkEngine:
    """Evaluation by Spark SQL: the program compiled for the ``SPARK`` dialect, one
    query per stratum, recursion by semi-naive rounds, on the process's session
    (``configure`` sets its master: local threads or a cluster).

    It refuses, with ``UnsupportedProgramError``, what the DuckDB backend refuses
    (the compiler is the same). It records no provenance.
    """

    name = "spark"

    def evaluate(self, checked: CheckedProgram, facts: Iterable[Fact] = (),
                 provenance: bool = True) -> Model:
        """Compute the least stratified model of ``checked`` plus ``facts``.

        Args:
            checked: a program that passed ``checks.check``.
            facts: extra given facts.
            provenance: ignored: this backend records no derivations.

        Returns:
            The model, with ``provenance`` None.

        Raises:
            UnsupportedProgramError: the program uses what the SQL backend refuses.
            EngineError: a given fact has the wrong arity, Spark is missing or failed.
        """
        rows, given = given_rows(checked, facts)
        sql = prepare(checked, rows, SPARK)
        with SparkRun(sql, conf=SMALL) as run:
            for pred, rs in rows.items():
                if pred in sql.arity:
                    run.load(pred, rs)
            run.run()
            relations = run.rows()
        for pred, rs in rows.items():
            relations.setdefault(pred, set(rs))
        return Model(relations, None, given)
