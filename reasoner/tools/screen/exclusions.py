"""Ruled-out exceptions of a columnar screen, in SQL: for every row that needs a license,
each unavailable code with the provision that rules it out and the uncertainties it raises,
as ``ruledout.RuledOutFinder`` finds them."""

# RuledOutFinder tries four reasons for code X of transaction Tx, in this order:
#   bar           barred(Tx, X): the citation of its first derivation's rule;
#   pending       pending(Tx, X, F) (the first by F) when not barred_pending(Tx, X);
#   inapplicable  not relevant_exception(Tx, X) but relevant_exception(Tx, Y) for some Y
#                 (the first by Y): its rule's citation;
#   fails         the best failing candidate(Tx, X) rule (``failures.py``).
# What each raises (the uncertainties the decision names) is the or of the uncertainty
# marks of the deciding facts' proofs, which the mark columns hold.

from __future__ import annotations

from typing import Any, Callable

from reasoner.engine.sql.compiler import SqlProgram, table_name
from reasoner.lang.checks import CheckedProgram
from reasoner.law.decision import EXCEPTION_CODES
from reasoner.tools.screen.basis import BasisMarks, words_of
from reasoner.tools.screen.staging import sql_text

__all__ = ["rule_out"]

Execute = Callable[[str], list[tuple[Any, ...]]]


def rule_out(execute: Execute, sql: SqlProgram, checked: CheckedProgram, marks: BasisMarks,
             lit: Callable[[str], str]) -> None:
    """Table ``ruled_by_tx(tx, ruled, rm0..)``: per row that is in scope and needs a license,
    its ruled-out entries (a list of {exception, citation}, by code) and the or of the
    uncertainty marks they raise.

    Reads tables ``base`` (basis.py) and the model's relations.
    """
    from reasoner.tools.screen import failures

    T = table_name
    ms = [f"m{w}" for w in range(sql.words)]
    unc = words_of(marks.uncertain_mask, sql.words)
    raised = ", ".join(f"x.{m} & CAST({u} AS BIGINT) AS {m}" for m, u in zip(ms, unc))
    _rule_cites(execute, checked)
    codes = ", ".join(f"({lit(c)}, {sql_text(c)}, {k})" for k, c in enumerate(EXCEPTION_CODES))
    execute("CREATE TABLE codes (code INTEGER, name VARCHAR, k INTEGER)")
    execute(f"INSERT INTO codes VALUES {codes}")
    # (tx, code) to explain: in scope, needs a license, code not available
    execute("""CREATE TABLE wanted AS
        SELECT b.tx, c.code, c.name, c.k FROM base b, codes c
        WHERE b.in_scope AND b.needs AND NOT list_contains(b.exceptions, c.code)""")
    # bar
    execute(f"""CREATE TABLE ruled AS
        SELECT w.tx, w.code, w.name, w.k, 0 AS kind, rc.cite, {raised}
        FROM wanted w JOIN {T('barred')} x ON x.c0 = w.tx AND x.c1 = w.code
        JOIN rule_cite rc ON rc.r = x._r""")
    # pending: the first pending fact (by its name), when the code is not barred_pending
    execute(f"""INSERT INTO ruled
        SELECT w.tx, w.code, w.name, w.k, 1, rc.cite, {raised.replace('x.', 'p.')}
        FROM wanted w
        JOIN (SELECT p.*, row_number() OVER (PARTITION BY p.c0, p.c1 ORDER BY y.s) AS n
              FROM {T('pending')} p JOIN sym y ON y.id = p.c2) p
            ON p.c0 = w.tx AND p.c1 = w.code AND p.n = 1
        JOIN rule_cite rc ON rc.r = p._r
        WHERE NOT EXISTS (SELECT 1 FROM ruled r WHERE r.tx = w.tx AND r.code = w.code)
          AND NOT EXISTS (SELECT 1 FROM {T('barred_pending')} q
                          WHERE q.c0 = w.tx AND q.c1 = w.code)""")
    # inapplicable: another code is relevant to the transaction, this one is not
    execute(f"""INSERT INTO ruled
        SELECT w.tx, w.code, w.name, w.k, 2, rc.cite, {raised.replace('x.', 'o.')}
        FROM wanted w
        JOIN (SELECT r.*, row_number() OVER (PARTITION BY r.c0 ORDER BY y.s) AS n
              FROM {T('relevant_exception')} r JOIN sym y ON y.id = r.c1) o
            ON o.c0 = w.tx AND o.n = 1
        JOIN rule_cite rc ON rc.r = o._r
        WHERE NOT EXISTS (SELECT 1 FROM ruled r WHERE r.tx = w.tx AND r.code = w.code)
          AND NOT EXISTS (SELECT 1 FROM {T('relevant_exception')} q
                          WHERE q.c0 = w.tx AND q.c1 = w.code)""")
    execute("""CREATE TABLE failing AS SELECT w.* FROM wanted w
        WHERE NOT EXISTS (SELECT 1 FROM ruled r WHERE r.tx = w.tx AND r.code = w.code)""")
    failures.explain(execute, sql, checked, marks, lit)
    ors = ", ".join(f"bit_or({m}) AS r{m}" for m in ms)
    execute(f"""CREATE TABLE ruled_by_tx AS
        SELECT tx, list({{'exception': name, 'citation': cite}} ORDER BY k) AS ruled, {ors}
        FROM ruled GROUP BY tx""")
    for table in ("codes", "wanted", "failing", "ruled", "rule_cite"):
        execute(f"DROP TABLE IF EXISTS {table}")


def _rule_cites(execute: Execute, checked: CheckedProgram) -> None:
    """``rule_cite(r, cite)``: each rule's citation ('' when it has none)."""
    values = [f"({i}, {sql_text(r.meta.cite or '')})" for i, r in enumerate(checked.rules)]
    execute("CREATE TABLE rule_cite (r INTEGER, cite VARCHAR)")
    for k in range(0, len(values), 500):
        execute("INSERT INTO rule_cite VALUES " + ", ".join(values[k:k + 500]))
