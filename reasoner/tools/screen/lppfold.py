"""The LPP calendar-year fold of a columnar screen: which rows ship under LPP, and every
row's running total, as the rulebook's lpp_prior rules would derive them."""

# The rulebook carries each (consignee, calendar year)'s LPP total along the chain of its
# transactions in (date, line) order (tx_slot_prev):
#
#   lpp_prior(Tx, S) :- lpp_slot(Tx, E, Y), not tx_slot_prev(Tx, _), S = sum(N : lpp_counted(Tx, N, Src)).
#   lpp_prior(Tx, S) :- lpp_prior(P, SP), tx_slot_prev(Tx, P), lpp_slot(P, E, Y),
#                       lpp_shipped(E, Y, N, P), S = SP + N.
#   lpp_prior(Tx, S) :- lpp_prior(P, S), tx_slot_prev(Tx, P), not lpp_shipped_by(P).
#
# and `decision.decide` ships a row under LPP when LPP is its only available exception.
# Here: one ordered pass per slot over the rows that were LPP-only in pass 1 (history
# only, so every true LPP-only row is among them): a row ships when the running total
# plus its TPP is within the cap (a row that does not fit does not count). The other
# rows do not move the total. Every row's lpp_prior then follows by window functions:
# the history plus the shipments before it, by the rule of its first derivation (first
# of its slot; after a row that shipped; after one that did not), with the marks of
# that derivation's proof (an or along the chain).

from __future__ import annotations

import csv
import os
from typing import Any, Callable, Sequence

from reasoner.engine.sql.compiler import SqlProgram, table_name
from reasoner.engine.sql.runner import csv_cell, to_value
from reasoner.lang.checks import CheckedProgram
from reasoner.lang.errors import EngineError
from reasoner.law.decision import EXCEPTION_CODES
from reasoner.tools.screen.basis import BasisMarks, words_of

__all__ = ["fold_lpp", "LPP_PRIOR_RULES", "lpp_cap", "slots_select", "candidates_select",
           "chain_selects", "rule_indices"]

# The rules of lpp_prior the fold stands for, by id: first of its slot, after a row that
# shipped under LPP, after one that did not.
LPP_PRIOR_RULES = ("lpp_prior_first", "lpp_prior_shipped", "lpp_prior_not_shipped")

Execute = Callable[[str], list[tuple[Any, ...]]]


def rule_indices(checked: CheckedProgram) -> tuple[int, int, int]:
    """The indices of the three lpp_prior rules.

    Raises:
        EngineError: lpp_prior has other rules than these three.
    """
    found = {r.meta.id: i for i, r in enumerate(checked.rules) if r.head.pred == "lpp_prior"}
    if set(found) != set(LPP_PRIOR_RULES):
        raise EngineError(
            "the columnar screen folds LPP totals as the rules "
            f"{', '.join(LPP_PRIOR_RULES)} compute them; this rulebook's lpp_prior rules are "
            + (", ".join(sorted(str(k) for k in found)) or "none"),
            hint="screen with --engine earlog")
    first, shipped, not_shipped = (found[k] for k in LPP_PRIOR_RULES)
    return first, shipped, not_shipped


def lpp_cap(execute: Execute, lit: Callable[[str], str], T: Callable[[str], str] = table_name) -> Any:
    """The rulebook's LPP cap.

    Raises:
        EngineError: the rulebook does not state one LPP cap.
    """
    caps = execute(f"SELECT c1 FROM {T('threshold')} WHERE c0 = {lit('lpp_cap')}")
    if len(caps) != 1:
        raise EngineError("the rulebook must state one LPP cap (threshold \"lpp_cap\")",
                          hint="screen with --engine earlog")
    return to_value(caps[0][0])


def slots_select(words: int, T: Callable[[str], str] = table_name) -> str:
    """The SELECT of ``slots``: (consignee, year) of each row, with its order, pass 1's
    (history) total, the marks of its lpp_slot row, and the row before it in its slot."""
    return f"""
        SELECT t.c0 AS tx, t.c1 AS seq, s.c1 AS e, s.c2 AS y, p.c1 AS hist,
               {', '.join(f's.m{w} AS sm{w}' for w in range(words))},
               lag(t.c0) OVER (PARTITION BY s.c1, s.c2 ORDER BY t.c1) AS prev
        FROM {T('tx_seq')} t JOIN {T('lpp_slot')} s ON s.c0 = t.c0
        JOIN {T('lpp_prior')} p ON p.c0 = t.c0"""


def candidates_select(lit: Callable[[str], str], T: Callable[[str], str] = table_name) -> str:
    """The SELECT of the rows the fold goes through (LPP their only available exception in
    pass 1), from ``slots``: e, y, tx, seq, tpp, hist."""
    others = ", ".join(lit(c) for c in EXCEPTION_CODES if c != "LPP")
    return f"""
        SELECT s.e, s.y, s.tx, s.seq, q.c1 AS tpp, s.hist FROM slots s
        JOIN {T('tx_tpp')} q ON q.c0 = s.tx
        WHERE EXISTS (SELECT 1 FROM {T('exception')} x WHERE x.c0 = s.tx AND x.c1 = {lit('LPP')})
          AND NOT EXISTS (SELECT 1 FROM {T('exception')} x
                          WHERE x.c0 = s.tx AND x.c1 IN ({others}))"""


def fold_lpp(execute: Execute, sql: SqlProgram, checked: CheckedProgram, marks: BasisMarks,
             lit: Callable[[str], str], folder: str) -> int:
    """After pass 1: load lpp_shipped for the book's LPP shipments, tx_slot_prev and every
    row's lpp_prior (tables of pass 2's inputs); return how many rows shipped.

    Raises:
        EngineError: the rulebook does not state one LPP cap, or its lpp_prior rules are
            not the three the fold computes.
    """
    rules = rule_indices(checked)
    cap = lpp_cap(execute, lit)
    execute(f"CREATE TABLE slots AS {slots_select(sql.words)}")
    cur = execute(f"SELECT e, y, tx, tpp, hist FROM ({candidates_select(lit)}) c "
                  "ORDER BY e, y, seq")
    shipped: list[tuple[Any, ...]] = []
    slot: tuple[Any, Any] | None = None
    total: Any = 0
    for e, y, tx, tpp, hist in cur:
        if (e, y) != slot:
            slot, total = (e, y), to_value(hist)
        tpp = to_value(tpp)
        if total + tpp <= cap:
            total = total + tpp
            shipped.append((e, to_value(y), tpp, tx))
    execute(f"DELETE FROM {table_name('lpp_prior')}")
    _load(execute, sql, "lpp_shipped", shipped, words_of(1 << marks.scenario, sql.words), folder)
    slot_prev, chain, prior = chain_selects(sql, marks, rules)
    execute(f"INSERT INTO {table_name('tx_slot_prev')} {slot_prev}")
    execute(f"CREATE TABLE chain AS {chain}")
    execute(f"INSERT INTO {table_name('lpp_prior')} {prior}")
    execute("DROP TABLE chain")
    execute("DROP TABLE slots")
    return len(shipped)


def chain_selects(sql: SqlProgram, marks: BasisMarks, rules: tuple[int, int, int],
                  T: Callable[[str], str] = table_name) -> tuple[str, str, str]:
    """The SELECTs of tx_slot_prev's rows, of ``chain`` and of lpp_prior's rows, from
    ``slots`` and the shipments (lpp_shipped)."""
    first, shipped_rule, not_shipped = rules
    words = range(sql.words)
    s_words = words_of(1 << marks.scenario, sql.words)
    own = [words_of(marks.own[r], sql.words) for r in rules]
    slot_prev = ("SELECT tx, prev, -1" + "".join(f", CAST({v} AS BIGINT)" for v in s_words)
                 + " FROM slots WHERE prev IS NOT NULL")
    kind = sql.col_type(sql.kinds["lpp_prior"][1])
    # per row: the TPP it shipped under LPP (if it did), whether the row before it did
    lags = "".join(f", lag(s.sm{w}) OVER w AS prev_sm{w}" for w in words)
    chain = f"""
        SELECT s.*, l.c2 AS n, lag(l.c2 IS NOT NULL) OVER w AS prev_shipped{lags}
        FROM slots s LEFT JOIN {T('lpp_shipped')} l ON l.c3 = s.tx AND l.c0 = s.e
            AND l.c1 = s.y
        WINDOW w AS (PARTITION BY s.e, s.y ORDER BY s.seq)"""
    # the marks of each step's own rule and premises, or-ed along the chain (first:
    # lpp_slot(Tx); after a shipment: lpp_prior(P), tx_slot_prev, lpp_slot(P),
    # lpp_shipped; otherwise: lpp_prior(P), tx_slot_prev)
    steps = [f"bit_or(CASE WHEN prev IS NULL THEN CAST({own[0][w]} AS BIGINT) | sm{w} "
             f"WHEN prev_shipped THEN CAST({own[1][w] | s_words[w]} AS BIGINT) | prev_sm{w} "
             f"ELSE CAST({own[2][w] | s_words[w]} AS BIGINT) END) OVER upto" for w in words]
    prior = f"""
        SELECT tx, CAST(hist + COALESCE(sum(n) OVER before, 0) AS {kind}),
               CASE WHEN prev IS NULL THEN {first} WHEN prev_shipped THEN {shipped_rule}
                    ELSE {not_shipped} END{''.join(', ' + s for s in steps)}
        FROM chain
        WINDOW before AS (PARTITION BY e, y ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING
                          AND 1 PRECEDING),
               upto AS (PARTITION BY e, y ORDER BY seq ROWS UNBOUNDED PRECEDING)"""
    return slot_prev, chain, prior


def _load(execute: Execute, sql: SqlProgram, pred: str, rows: Sequence[tuple[Any, ...]],
          mark_words: Sequence[int], folder: str) -> None:
    """Append given rows (symbol ids already) with the given marks to ``pred``'s table."""
    if not rows:
        return
    path = os.path.join(folder, f"{pred}.csv")
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        for row in rows:
            w.writerow([csv_cell(v) for v in row])
    n = sql.arity[pred]
    types = ", ".join(f"'c{k}': '{sql.col_type(kind)}'" for k, kind in enumerate(sql.kinds[pred]))
    quoted = path.replace("'", "''")
    marks = "".join(f", CAST({v} AS BIGINT)" for v in mark_words)
    execute(f"INSERT INTO {table_name(pred)} SELECT {', '.join(f'c{k}' for k in range(n))}, -1"
            f"{marks} FROM read_csv('{quoted}', header=false, columns={{{types}}}, "
            "quote='\"', escape='\"', auto_detect=false)")
    os.unlink(path)
