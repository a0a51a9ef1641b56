"""The DuckDB backend: checked programs compiled to SQL and run in an embedded DuckDB."""

from __future__ import annotations

from typing import Any, Iterable

from reasoner.engine.model import Model, given_rows
from reasoner.engine.sql.compiler import DUCKDB, SqlProgram, table_name
from reasoner.engine.sql.runner import load_rows, prepare, read_rows, run_steps
from reasoner.lang.checks import CheckedProgram
from reasoner.lang.errors import EarlogError, EngineError
from reasoner.lang.ir import Fact

__all__ = ["DuckDBEngine", "connect", "executor"]


def connect(threads: int | None = None, memory_limit: str | None = None,
            database: str = ":memory:") -> Any:
    """A new DuckDB connection (default: in memory).

    Raises:
        EngineError: the ``duckdb`` package is not installed.
    """
    try:
        import duckdb
    except ImportError:
        raise EngineError("the duckdb engine needs the 'duckdb' package",
                          hint="pip install duckdb, or use --engine earlog") from None
    con = duckdb.connect(database)
    try:
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        if memory_limit is not None:
            con.execute(f"SET memory_limit = '{memory_limit.replace(chr(39), '')}'")
    except duckdb.Error as exc:
        con.close()
        raise EngineError(f"DuckDB refused the setting: {str(exc).splitlines()[0]}",
                          hint="e.g. --memory-limit 1GB, --jobs 2") from None
    con.execute("SET preserve_insertion_order = false")
    return con


def executor(con: Any) -> Any:
    """A function running one statement on ``con`` and returning its rows; DuckDB's
    errors become ``EngineError``."""
    import duckdb

    def execute(sql: str) -> list[tuple[Any, ...]]:
        try:
            cur = con.execute(sql)
            return cur.fetchall() if cur.description else []
        except duckdb.OutOfMemoryException as exc:
            raise EngineError(f"DuckDB ran out of memory: {str(exc).splitlines()[0]}",
                              hint="raise --memory-limit, or screen with --engine earlog, "
                                   "which streams") from None
        except duckdb.Error as exc:
            raise EngineError(f"DuckDB failed: {str(exc).splitlines()[0]}",
                              hint="this is a bug in the SQL backend; use --engine earlog") \
                from None
    return execute


class DuckDBEngine:
    """Evaluation by DuckDB: the program compiled to SQL (``sql.compiler``), one
    statement per stratum, recursion by semi-naive rounds.

    It refuses, with ``UnsupportedProgramError``, what SQL cannot compute exactly
    or at all here: division, products of two decimals, decimals with more than 10
    places, integers beyond 38 digits, columns mixing kinds of values, nested
    aggregates. It records no provenance.
    """

    name = "duckdb"

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads

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
            UnsupportedProgramError: the program uses what this backend refuses.
            EngineError: a given fact has the wrong arity, or DuckDB failed.
        """
        rows, given = given_rows(checked, facts)
        sql = prepare(checked, rows, DUCKDB)
        con = connect(self.threads)
        try:
            execute = executor(con)
            create_tables(execute, sql)
            for pred, rs in rows.items():
                if pred in sql.arity:
                    load_rows(execute, sql, pred, rs)
            run_steps(execute, sql, given=[p for p, rs in rows.items() if rs])
            relations = {p: read_rows(execute, sql, p) for p in sql.arity}
        except EarlogError:
            raise
        finally:
            con.close()
        for pred, rs in rows.items():
            relations.setdefault(pred, set(rs))
        return Model(relations, None, given)


def create_tables(execute: Any, sql: SqlProgram) -> None:
    """One empty table per predicate."""
    for pred in sql.arity:
        execute(f"DROP TABLE IF EXISTS {table_name(pred)}")
        execute(sql.create(pred))
