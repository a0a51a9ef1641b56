"""Running compiled programs on an SQL database: loading facts, the strata in order, reading rows back."""

from __future__ import annotations

import csv
import datetime as _dt
import os
import tempfile
from decimal import Context, Decimal
from typing import Any, Callable, Iterable, Mapping, Sequence

from reasoner.engine.sql.compiler import (SqlProgram, Step, check_decimal, compile_program,
                                          infer_kinds, kind_of, table_name)
from reasoner.lang.checks import CheckedProgram
from reasoner.lang.errors import EngineError, UnsupportedProgramError
from reasoner.lang.ir import Value
from reasoner.lang.span import NO_SPAN

__all__ = ["Execute", "fact_kinds", "prepare", "load_rows", "run_steps", "read_rows",
           "to_value", "csv_cell"]

# Runs one SQL statement; returns the rows of a query (unused for the others).
Execute = Callable[[str], list[tuple[Any, ...]]]


def fact_kinds(rows: Mapping[str, Iterable[tuple[Value, ...]]]) -> dict[str, list[str | None]]:
    """The kind of each column of each predicate's given rows.

    Raises:
        UnsupportedProgramError: a column mixes kinds, or a value SQL cannot hold.
    """
    out: dict[str, list[str | None]] = {}
    for pred, rs in rows.items():
        cols: list[str | None] | None = None
        for row in rs:
            if cols is None:
                cols = [None] * len(row)
            for k, v in enumerate(row):
                kind = kind_of(v)
                if isinstance(v, Decimal):
                    check_decimal(v, NO_SPAN)
                elif isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10 ** 38:
                    raise UnsupportedProgramError(
                        f"the SQL backend refuses this: the integer {v} in a '{pred}' fact has "
                        "more than 38 digits", hint="use --engine earlog")
                have = cols[k]
                if have is None or have == kind:
                    cols[k] = kind
                elif {have, kind} == {"int", "dec"}:
                    cols[k] = "dec"
                else:
                    raise UnsupportedProgramError(
                        f"the SQL backend refuses this: column {k + 1} of '{pred}' holds values "
                        f"of different kinds ({have} and {kind})", hint="use --engine earlog")
        if cols is not None:
            out[pred] = cols
    return out


def prepare(checked: CheckedProgram, rows: Mapping[str, Iterable[tuple[Value, ...]]],
            dialect: Any, marks: Sequence[int] | None = None,
            symbols: Mapping[str, int] | None = None) -> SqlProgram:
    """Compile ``checked`` for the kinds of the given ``rows``.

    Raises:
        UnsupportedProgramError: what the compiler refuses.
    """
    kinds = infer_kinds(checked, fact_kinds(rows))
    return compile_program(checked, kinds, dialect, marks, symbols)


def csv_cell(v: Value) -> str:
    """A value as a CSV cell that the typed column reads back exactly."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, _dt.date):
        return v.isoformat()
    return str(v)


def load_rows(execute: Execute, sql: SqlProgram, pred: str, rows: Iterable[tuple[Value, ...]],
              folder: str | None = None, encoded: bool = False) -> None:
    """Append given rows (``_r`` = -1) to ``pred``'s table, through a temporary CSV file
    (with symbols, strings must be in table ``sym(s, id)``; rows missing one are dropped;
    ``encoded``: the rows hold symbol ids already)."""
    fd, path = tempfile.mkstemp(prefix="earlog-facts-", suffix=".csv", dir=folder)
    n = sql.arity.get(pred, 0)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
            count = 0
            zeros = ["0"] * sql.words
            for row in rows:
                w.writerow([csv_cell(v) for v in row] + ["-1"] + zeros)
                count += 1
        if not count:
            return
        names = [f"c{k}" for k in range(n)] + ["_r"] + [f"m{w}" for w in range(sql.words)]
        kinds = ([sql.col_type(k) for k in sql.kinds[pred]] + ["INTEGER"] + ["BIGINT"] * sql.words
                 if encoded else _types(sql, pred))
        types = ", ".join(f"'{c}': '{t}'" for c, t in zip(names, kinds))
        quoted = path.replace("'", "''")
        source = (f"read_csv('{quoted}', header=false, columns={{{types}}}, quote='\"', "
                  f"escape='\"', force_not_null=[{', '.join(repr(c) for c in names)}], "
                  f"null_padding=false, auto_detect=false)")
        select = f"SELECT * FROM {source}" if encoded else _load_select(sql, pred, source)
        execute(f"INSERT INTO {table_name(pred)} {select}")
    finally:
        os.unlink(path)


def _types(sql: SqlProgram, pred: str) -> list[str]:
    return [sql.dialect.sql_type(k) for k in sql.kinds[pred]] + ["INTEGER"] + ["BIGINT"] * sql.words


def _load_select(sql: SqlProgram, pred: str, source: str) -> str:
    """SELECT the columns of ``pred``'s table from ``source`` (text cells read typed;
    with symbols, strings looked up in table ``sym``)."""
    if not sql.symbols:
        return f"SELECT * FROM {source}"
    cols, joins = [], []
    for k, kind in enumerate(sql.kinds[pred]):
        if kind in (None, "str"):
            joins.append(f"JOIN sym s{k} ON s{k}.s = r.c{k}")
            cols.append(f"s{k}.id")
        else:
            cols.append(f"r.c{k}")
    cols += ["r._r"] + [f"r.m{w}" for w in range(sql.words)]
    return f"SELECT {', '.join(cols)} FROM {source} r {' '.join(joins)}"


def run_steps(execute: Execute, sql: SqlProgram, steps: Sequence[Step] | None = None,
              max_rounds: int = 1_000_000, given: Iterable[str] | None = None,
              after: Callable[[Step], None] | None = None) -> None:
    """Evaluate the steps (default all) in order over tables already holding the given facts.

    ``given``: the predicates that have given facts (None: any may); the others'
    tables are empty before their step, which then needs no anti-join. ``after``
    is called after each step.
    """
    have = None if given is None else set(given)
    for step in (sql.steps if steps is None else steps):
        _run_step(execute, sql, step, max_rounds, have)
        if after is not None:
            after(step)


def _run_step(execute: Execute, sql: SqlProgram, step: Step, max_rounds: int,
              have: set[str] | None) -> None:
    if step.full is None:
        _fixpoint(execute, sql, step, max_rounds)
        return
    (pred,) = step.preds
    if have is not None and pred not in have:
        execute(f"INSERT INTO {table_name(pred)} {step.full}")
    else:
        execute(f"INSERT INTO {table_name(pred)} {_new(sql, pred, step.full)}")


def _new(sql: SqlProgram, pred: str, select: str) -> str:
    """A SELECT of the rows of ``select`` that ``pred``'s table does not hold yet."""
    n = sql.arity[pred]
    if not n:
        return f"SELECT * FROM ({select}) n WHERE NOT EXISTS (SELECT 1 FROM {table_name(pred)})"
    on = " AND ".join(f"o.c{k} = n.c{k}" for k in range(n))
    return (f"SELECT n.* FROM ({select}) n WHERE NOT EXISTS "
            f"(SELECT 1 FROM {table_name(pred)} o WHERE {on})")


def _fixpoint(execute: Execute, sql: SqlProgram, step: Step, max_rounds: int) -> None:
    """Semi-naive rounds: new rows of one round are the next round's delta."""
    for pred in step.preds:
        execute(f"DROP TABLE IF EXISTS {table_name(pred, 'delta')}")
        execute(sql.create(pred, table_name(pred, "delta")))
    selects = step.first
    for _ in range(max_rounds):
        fresh = 0
        for pred in step.preds:
            execute(f"DROP TABLE IF EXISTS {table_name(pred, 'new')}")
            select = selects.get(pred)
            if select is None:
                execute(sql.create(pred, table_name(pred, "new")))
                continue
            execute(f"CREATE TABLE {table_name(pred, 'new')} AS {_new(sql, pred, select)}")
        for pred in step.preds:
            new = table_name(pred, "new")
            fresh += execute(f"SELECT COUNT(*) FROM {new}")[0][0]
            execute(f"INSERT INTO {table_name(pred)} SELECT * FROM {new}")
            execute(f"DROP TABLE {table_name(pred, 'delta')}")
            execute(f"ALTER TABLE {new} RENAME TO {table_name(pred, 'delta')[1:-1]}")
        if not fresh:
            break
        selects = step.rounds
    else:
        raise EngineError(f"recursion through {', '.join(step.preds)} did not end in "
                          f"{max_rounds} rounds")
    for pred in step.preds:
        execute(f"DROP TABLE IF EXISTS {table_name(pred, 'delta')}")


_EXACT = Context(prec=80)


def to_value(v: Any) -> Value:
    """A value read from SQL as the evaluator spells it (integral decimals are ints)."""
    if isinstance(v, Decimal):
        if v == v.to_integral_value():
            return int(v)
        return v.normalize(_EXACT)
    if isinstance(v, _dt.datetime):
        return v.date()
    return v  # type: ignore[no-any-return]


def read_rows(execute: Execute, sql: SqlProgram, pred: str) -> set[tuple[Value, ...]]:
    """The rows of ``pred``'s table, as values."""
    n = sql.arity[pred]
    if not n:
        return {()} if execute(f"SELECT COUNT(*) FROM {table_name(pred)}")[0][0] else set()
    cols = ", ".join(f"c{k}" for k in range(n))
    return {tuple(to_value(v) for v in row)
            for row in execute(f"SELECT {cols} FROM {table_name(pred)}")}
