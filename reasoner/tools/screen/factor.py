"""Transaction relations that read a transaction only through its input columns, evaluated
once per distinct combination of those values instead of once per row of the book."""

# A stratum qualifies when its one predicate p is not recursive and every rule of it has
# the form
#
#   p(Tx, A..) :- tx_in(Tx, V), <literals, comparisons and aggregates without Tx>.
#
# where tx_in is one of the transaction inputs (a row gives at most one value each) and
# Tx occurs nowhere else. Then p's rows for a transaction depend only on the values of
# the inputs its rules read (its key), so p is evaluated over one prototype transaction
# per distinct key ("p_proto"), and p's table becomes a view joining each transaction to
# its key's rows. Every row of a transaction input carries the same marks (they are all
# given facts of the scenario), so marks and first rules are those of the full stratum.
# E.g. d5m_on(Tx, C) (every D:5 country for every transaction) becomes
# (transactions x as_of dates) x (as_of dates x countries): 25 M rows never made.

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from reasoner.engine.sql.compiler import SqlProgram, Step, table_name
from reasoner.lang.checks import CheckedProgram
from reasoner.lang.ir import Literal, Var, variables

__all__ = ["Factored", "factorable", "evaluate_factored"]

Execute = Callable[[str], list[tuple[Any, ...]]]


@dataclass(frozen=True, slots=True)
class Factored:
    """A stratum evaluated per key: its predicate and the inputs its key is made of."""

    pred: str
    inputs: tuple[str, ...]


def factorable(checked: CheckedProgram, step: Step, inputs: Mapping[str, str]) -> Factored | None:
    """The factoring of ``step``, or None when it does not qualify.

    Args:
        checked: the program.
        step: one stratum.
        inputs: transaction input predicate -> its column of table ``txk`` ('' for
            ``tx`` itself, which has no value).
    """
    if step.full is None or len(step.preds) != 1:
        return None
    used: set[str] = set()
    for i in step.rules:
        rule = checked.rules[i]
        head = rule.head.args
        if not head or not isinstance(head[0], Var) or head[0].anonymous:
            return None
        tx = head[0].name
        if any(tx in variables(a) for a in head[1:]):
            return None
        reading = [item for item in rule.body if tx in variables(item)]
        if len(reading) != 1:
            return None
        item = reading[0]
        if not isinstance(item, Literal) or item.negated or item.atom.pred not in inputs:
            return None
        args = item.atom.args
        if not isinstance(args[0], Var) or args[0].name != tx \
                or any(tx in variables(a) for a in args[1:]):
            return None
        used.add(item.atom.pred)
    return Factored(step.preds[0], tuple(sorted(used)))


# Factor a stratum only when it has this many rows per key or more: a view is joined
# again by each reader, which costs more than a table of one or two rows per transaction.
FAN_OUT = 4


def evaluate_factored(execute: Execute, sql: SqlProgram, step: Step, f: Factored,
                      inputs: Mapping[str, str]) -> bool:
    """Evaluate ``step`` once per key (table ``p_proto``) and, when it has ``FAN_OUT`` rows
    per key or more, make ``p``'s table a view that gives each transaction (table ``txk``)
    its key's rows; else leave ``p`` alone and return False (run the stratum as usual)."""
    assert step.full is not None
    pred = f.pred
    cols = sorted({inputs[i] for i in f.inputs if inputs[i]})
    keys = table_name(pred, "keys")
    proto = table_name(pred, "proto")
    execute(f"DROP TABLE IF EXISTS {keys}")
    distinct = ", ".join(f"{c} AS k{n}" for n, c in enumerate(cols)) or "1 AS k0"
    execute(f"CREATE TABLE {keys} AS SELECT CAST(row_number() OVER () AS INTEGER) AS pk, * "
            f"FROM (SELECT DISTINCT {distinct} FROM txk)")
    query = step.full
    words = range(sql.words)
    for name in f.inputs:
        # the prototype transaction of each key, with the marks every row of the input has
        got = execute(f"SELECT {', '.join(f'm{w}' for w in words) or '0'} "
                      f"FROM {table_name(name)} LIMIT 1")
        marks = "".join(f", CAST({int(got[0][w]) if got else 0} AS BIGINT) AS m{w}"
                        for w in words)
        if inputs[name]:
            k = cols.index(inputs[name])
            src = (f"(SELECT pk AS c0, k{k} AS c1, -1 AS _r{marks} FROM {keys} "
                   f"WHERE k{k} IS NOT NULL)")
        else:
            src = f"(SELECT pk AS c0, -1 AS _r{marks} FROM {keys})"
        query = query.replace(table_name(name), src)
    execute(f"DROP TABLE IF EXISTS {proto}")
    execute(f"CREATE TABLE {proto} AS {query}")
    n_keys = execute(f"SELECT COUNT(*) FROM {keys}")[0][0]
    n_rows = execute(f"SELECT COUNT(*) FROM {proto}")[0][0]
    if n_rows < FAN_OUT * n_keys:
        execute(f"DROP TABLE {proto}")
        execute(f"DROP TABLE {keys}")
        return False
    on = " AND ".join(f"k.k{n} IS NOT DISTINCT FROM t.{c}" for n, c in enumerate(cols)) or "TRUE"
    rest = "".join(f", p.c{c}" for c in range(1, sql.arity[pred]))
    execute(f"DROP TABLE {table_name(pred)}")
    execute(f"""CREATE VIEW {table_name(pred)} AS
        SELECT t.tx AS c0{rest}, p._r{''.join(f', p.m{w}' for w in words)}
        FROM txk t JOIN {keys} k ON {on} JOIN {proto} p ON p.c0 = k.pk""")
    return True
