"""The Spark backend: its SQL dialect, its model (equal to our evaluator's), its errors."""

from __future__ import annotations

import sys
from decimal import Decimal

import pytest
from click.testing import CliRunner

from reasoner.cli import cli
from reasoner.engine import ENGINES, SemiNaiveEngine, get_engine
from reasoner.engine.sql import spark_engine
from reasoner.engine.sql.compiler import DUCKDB, SPARK
from reasoner.engine.sql.runner import prepare
from reasoner.lang.checks import check
from reasoner.lang.errors import EngineError, UnsupportedProgramError
from reasoner.lang.syntax import parse_program

__all__: list[str] = []


def _sql(text: str, dialect: object) -> str:
    checked = check(parse_program(text))
    rows: dict[str, set[tuple[object, ...]]] = {}
    for fact in checked.program.facts:
        rows.setdefault(fact.pred, set()).add(fact.values)
    sql = prepare(checked, rows, dialect)  # type: ignore[arg-type]
    return "\n".join(s.full or "\n".join([*s.first.values(), *s.rounds.values()])
                     for s in sql.steps)


def test_selectable() -> None:
    assert "spark" in ENGINES
    assert get_engine("spark").name == "spark"  # no session until it evaluates


@pytest.mark.parametrize("text, present, absent", [
    ("m(1e26). b(Y) :- m(X), Y = X * 3.", ["DECIMAL(38,0)"], ["HUGEINT"]),
    ('s("a"). t(X) :- s(X), not u(X). u("b").', ["STRING", "`rel_u`"], ["VARCHAR", '"']),
    # an aggregate over outer variables: a join, as Spark allows no doubly nested correlation
    ("g(1, 2). s(1, 5). s(2, 7). c(X, N) :- g(X, D), N = count(V : s(Y, V), not s(D, V)).",
     ["LEFT JOIN", "GROUP BY o.o0"], []),
    # an integer meeting a decimal is widened by hand (Spark would round the decimal)
    ("x(0.5). i(1). y(X) :- x(X), i(N), X < N.", ["CAST(t2.c0 AS DECIMAL(38,10))"], []),
], ids=["exact-integers", "strings-names", "joined-aggregate", "widening"])
def test_spark_dialect(text: str, present: list[str], absent: list[str]) -> None:
    sql = _sql(text, SPARK)
    for part in present:
        assert part in sql
    for part in absent:
        assert part not in sql


def test_duckdb_dialect_unchanged_by_spark_options() -> None:
    sql = _sql("g(1, 2). s(1, 5). x(0.5). i(1). c(X, N) :- g(X, D), N = count(V : s(Y, V), "
               "not s(D, V)). y(X) :- x(X), i(N), X < N.", DUCKDB)
    assert "LEFT JOIN" not in sql and "(SELECT COALESCE(COUNT(m.v)" in sql
    assert "DECIMAL(38,10)) <" not in sql and '"rel_s"' in sql


@pytest.mark.parametrize("text", [
    "s(1, 2). s(2, 2). t(S) :- S = sum(V : s(_, V)).",
    "g(1). g(2). s(1, 5). c(X, N) :- g(X), N = count(V : s(X, V)).",
    "g(1, 2). g(2, 7). s(1, 5). s(2, 7). s(3, 1). "
    "c(X, N) :- g(X, D), N = count(V : s(Y, V), not s(D, V)).",
    "g(1, 2). g(2, 3). s(1, 5). s(2, 7). s(3, 1). c(X, N) :- g(X, D), N = sum(V : s(Y, V), Y <= D).",
    "v(1, 0.5). v(2, 0.25). v(3, 1e26). t(S) :- S = sum(X : v(_, X)).",
    "x(0.0000000001). i(0). y(X) :- x(X), i(N), X != N. z(M) :- x(X), M = max(X, 0).",
    "e(1, 2). e(2, 3). e(3, 1). p(X, Y) :- e(X, Y). p(X, Z) :- p(X, Y), e(Y, Z). "
    "d(X, N) :- e(X, _), N = count(Y : p(X, Y)). r(X) :- d(X, 3). r(Y) :- r(X), e(X, Y).",
    "m(1e26). m(3). big(Y) :- m(X), Y = X * 1000 + 1.",
    'd("a", 2025-01-15). d("b", 2026-03-01). y(T, Y) :- d(T, D), Y = year(D), D > 2025-06-30.',
    's("b"). s("a"). s("ä"). lt(X, Y) :- s(X), s(Y), X < Y. m(M) :- M = min(X : s(X)).',
    "f(true). f(false). g(X) :- f(X), X = true.",
], ids=["sum", "count-empty-group", "negation-in-aggregate", "aggregate-comparison",
        "decimal-sum", "mixed-numbers", "recursion", "beyond-64-bits", "dates", "strings",
        "booleans"])
def test_agrees(text: str, spark_session: object) -> None:
    checked = check(parse_program(text))
    assert get_engine("spark").evaluate(checked).as_dict() == \
        SemiNaiveEngine().evaluate(checked).as_dict()


def test_refuses_what_sql_cannot_hold() -> None:
    # refused while compiling: no Spark session is needed to say so
    with pytest.raises(UnsupportedProgramError, match="division") as err:
        get_engine("spark").evaluate(check(parse_program("a(1, 2). b(Z) :- a(X, Y), Z = X / Y.")))
    assert "--engine earlog" in err.value.hint


def test_overflow_is_an_error(spark_session: object) -> None:
    with pytest.raises(EngineError, match="38 digits"):
        get_engine("spark").evaluate(check(parse_program("m(1e37). b(Y) :- m(X), Y = X * 1000.")))


def test_without_pyspark(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spark_engine, "_session", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(EngineError, match="pyspark") as err:
        spark_engine.session()
    assert "earlog[spark]" in err.value.hint


def test_without_java(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyspark")
    monkeypatch.setattr(spark_engine, "_session", None)
    monkeypatch.setattr(spark_engine, "java_found", lambda: False)
    with pytest.raises(EngineError, match="Java 17") as err:
        spark_engine.session()
    assert "earlog[spark]" in err.value.hint


def test_start_hint_names_the_master() -> None:
    assert "earlog[spark]" in spark_engine._start_hint("local[2]")
    hint = spark_engine._start_hint("spark://host:7077")
    assert "spark://host:7077" in hint and "reachable" in hint


class _Java:
    """A stand-in for a py4j JVM exception: its text and its cause."""

    def __init__(self, text: str, cause: "_Java | None" = None) -> None:
        self.text, self.cause = text, cause

    def toString(self) -> str:  # noqa: N802 - the JVM's name
        return self.text

    def getCause(self) -> "_Java | None":  # noqa: N802 - the JVM's name
        return self.cause


def test_memory_failure_found_among_the_causes() -> None:
    """A broadcast that runs out of memory arrives as "Boxed Exception"; the error names
    the memory and says what to do."""
    oom = _Java("java.lang.OutOfMemoryError: Java heap space")
    exc = Exception("An error occurred while calling o1.collect")
    exc.java_exception = _Java("java.util.concurrent.ExecutionException: Boxed Exception",  # type: ignore[attr-defined]
                               _Java("org.apache.spark.SparkException: broadcast", oom))
    err = spark_engine.spark_error(exc)
    assert str(err).startswith("Spark ran out of memory: java.lang.OutOfMemoryError")
    assert err.hint is not None and "--master" in err.hint and "--engine duckdb" in err.hint
    plain = Exception("x")
    plain.java_exception = _Java("org.apache.spark.SparkException: no such table")  # type: ignore[attr-defined]
    assert str(spark_engine.spark_error(plain)).startswith("Spark failed: org.apache.spark")


def test_local_heap_is_half_the_machine_within_bounds() -> None:
    assert 4 <= spark_engine._local_heap_gb() <= 16
    assert spark_engine._settings("local[*]")["spark.driver.memory"] == \
        f"{spark_engine._local_heap_gb()}g"
    assert "spark.driver.memory" not in spark_engine._settings("spark://h:7077")


def test_spark_partitions_are_what_the_driver_heap_holds(spark_session: object) -> None:
    """A screen's default partition is as many rows as the driver's heap holds (a stub
    session stands for drivers of other heaps; one that cannot say gets the fixed size)."""
    from types import SimpleNamespace

    from reasoner.law.scenario import load_scenario
    from reasoner.tools.screen import sparkscreen

    heap = spark_engine.driver_heap(spark_session)
    assert heap is not None and heap > 512 * 1024 ** 2  # the local master's: gigabytes

    def driver(of: int) -> object:
        runtime = SimpleNamespace(maxMemory=lambda: of)
        lang = SimpleNamespace(Runtime=SimpleNamespace(getRuntime=lambda: runtime))
        return SimpleNamespace(sparkContext=SimpleNamespace(_jvm=SimpleNamespace(
            java=SimpleNamespace(lang=lang))))

    ctx = load_scenario("tests/data/screen/context.yaml", require_transactions=False)
    for spark, rows in ((driver(4 * 10 ** 9), 4 * 10 ** 9 // sparkscreen.SPARK_BYTES_PER_ROW),
                        (driver(10 ** 8), sparkscreen.SMALL_BOOK),
                        (SimpleNamespace(), sparkscreen.SPARK_PARTITION_ROWS)):
        s = sparkscreen.SparkScreen(ctx, spark=spark)
        try:
            assert s.partition_rows == rows
        finally:
            s.close()
    assert spark_engine.driver_heap(SimpleNamespace()) is None


def test_strata_that_read_no_transaction_are_left_to_duckdb() -> None:
    """What the context's facts alone decide is derived once on DuckDB and shipped, not
    run as Spark queries: no rule of it reads a transaction or a relation that does, and
    every other derived relation has a rule that does."""
    from types import SimpleNamespace

    from reasoner.lang.ir import body_preds
    from reasoner.law.scenario import load_scenario
    from reasoner.tools.screen import sparkscreen
    from reasoner.tools.screen.columnar import _TX_INPUTS

    ctx = load_scenario("tests/data/screen/context.yaml", require_transactions=False)
    s = sparkscreen.SparkScreen(ctx, spark=SimpleNamespace(), partition_rows=1000)
    try:
        fixed = s._fixed()
        rules = s.checked.rules
    finally:
        s.close()
    moving = ({r.head.pred for r in rules} - fixed) | _TX_INPUTS
    for r in rules:
        if r.head.pred in fixed:
            assert not body_preds(r.body) & moving, r.head.pred
    for pred in moving - fixed:
        mine = [r for r in rules if r.head.pred == pred]
        assert not mine or any(body_preds(r.body) & moving for r in mine), pred
    assert {"exception_code", "as_china", "ultimate_parent"} <= fixed
    assert not {"candidate", "member", "needs_license", "lpp_prior"} & fixed


def test_configure_sets_the_master(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spark_engine, "_session", None)
    monkeypatch.setattr(spark_engine, "_master", spark_engine.DEFAULT_MASTER)
    monkeypatch.setattr(spark_engine, "_conf", {})
    spark_engine.configure("spark://host:7077", {"spark.executor.memory": "4g"})
    assert spark_engine._master == "spark://host:7077"
    assert spark_engine._settings("spark://host:7077").get("spark.pyspark.python") is None
    assert spark_engine._settings("local[2]")["spark.sql.ansi.enabled"] == "true"


def test_cli_master_needs_the_spark_engine() -> None:
    result = CliRunner().invoke(cli, ["decide", "facts/scenarios/aia-tier1.yaml",
                                       "--master", "local[1]"])
    assert result.exit_code == 2
    assert "--master applies to --engine spark only" in result.output


def test_values_read_back(spark_session: object) -> None:
    checked = check(parse_program("d(2025-01-15, 0.5, 7, true, \"x\"). e(A, B, C, D, E) :- "
                                  "d(A, B, C, D, E)."))
    import datetime as dt
    assert get_engine("spark").evaluate(checked).rows("e") == {
        (dt.date(2025, 1, 15), Decimal("0.5"), 7, True, "x")}
