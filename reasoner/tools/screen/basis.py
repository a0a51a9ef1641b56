"""The decision fields of every row of a columnar screen, in SQL: outcome, exceptions, review
policy, and the basis citations and uncertainty ids from the mark columns of the model."""

# Every row of every relation carries, as bit columns m0.., the or of the marks of the
# rules of its proof by first derivations (``compiler.compile_program``'s ``marks``):
# the citation of each ``@element`` rule and the uncertainty ids of each rule, as
# ``decision._Marks`` numbers them, and one more bit for "rests on a fact of the
# scenario" (given facts from the context or the book). A decision's citations and
# uncertainties are then the or over the facts ``decision._decision`` visits, a GROUP BY:
#
#   used(tx, m..) = or of the marks of: outcome(tx, Outcome), exception(tx, X) for the
#     available X, review(tx, Review), license_required(tx, _), restricted(tx) (with an
#     exception), cons_hq(tx, _) and class_confirmed(Item) (in scope), the out-of-scope
#     reasons (out of scope), no_license(tx, _) (permitted without a license),
#     pending(tx, X, _) not barred_pending and lr_unknown(tx, _) (license required or
#     indeterminate), and the flag predicates that hold.

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from reasoner.engine.sql.compiler import WORD_BITS, SqlProgram, table_name
from reasoner.law.decision import EXCEPTION_CODES, FLAG_PREDICATES, OUT_OF_SCOPE_PREDICATES
from reasoner.law.rulebook import Rulebook

__all__ = ["BasisMarks", "decide_fields", "words_of", "mask_of"]

Execute = Callable[[str], list[tuple[Any, ...]]]


class BasisMarks:
    """Citations and uncertainty ids as bit positions (``decision._Marks``'s numbering),
    plus the scenario bit; per rule, the bits of its own."""

    def __init__(self, book: Rulebook) -> None:
        index: dict[tuple[bool, str], int] = {}
        self.own: list[int] = []
        for rule in book.rules:
            marks = [(True, rule.meta.cite)] if rule.meta.cite and rule.meta.element else []
            marks += [(False, u) for u in rule.meta.uncertain]
            self.own.append(sum(1 << index.setdefault(m, len(index)) for m in set(marks)))
        self.names = list(index)
        self.scenario = len(self.names)  # the bit of "rests on a scenario fact"
        self.uncertain_mask = sum(1 << i for i, (c, _) in enumerate(self.names) if not c)

    def for_compiler(self) -> list[int]:
        """The per-rule marks, with one entry past the rules holding the scenario bit (so
        that the compiler sizes the mark words for it)."""
        return [*self.own, 1 << self.scenario]

    def cites(self, mask: int) -> list[str]:
        """The citations of ``mask``, in the contract's order (CFR first)."""
        got = {self.names[i][1] for i in range(min(mask.bit_length(), len(self.names)))
               if mask >> i & 1 and self.names[i][0]}
        return sorted(got, key=lambda c: (0 if c.startswith("15 CFR") else 1, c))

    def uncertain(self, mask: int) -> set[str]:
        """The uncertainty ids of ``mask``."""
        return {self.names[i][1] for i in range(min(mask.bit_length(), len(self.names)))
                if mask >> i & 1 and not self.names[i][0]}


def words_of(mask: int, words: int) -> list[int]:
    """``mask`` split into mark words."""
    return [(mask >> (WORD_BITS * w)) & ((1 << WORD_BITS) - 1) for w in range(words)]


def mask_of(words: Iterable[Any]) -> int:
    """The mask of mark words (NULL words count as 0)."""
    return sum(int(w or 0) << (WORD_BITS * k) for k, w in enumerate(words))


def _m(alias: str, ms: Sequence[str]) -> str:
    return ", ".join(f"{alias}.{m} AS {m}" for m in ms)


def decide_fields(execute: Execute, sql: SqlProgram, lit: Callable[[str], str],
                  exists: Callable[[str], bool]) -> None:
    """Tables ``base`` (one row per transaction: its outcome, exceptions, review policy
    and flags, as symbol ids) and ``used(tx, m..)`` (the marks of what its decision
    rests on) and ``missing(tx, missing)``.

    Args:
        execute: runs a statement.
        sql: the compiled program (its mark words).
        lit: a string's symbol id as SQL (``-1`` when no row holds it).
        exists: whether a predicate has a table.
    """
    ex = execute
    T = table_name
    ms = [f"m{w}" for w in range(sql.words)]
    codes = ", ".join(lit(c) for c in EXCEPTION_CODES)
    ex(f"""CREATE TABLE base AS
        SELECT t.line, t.tx, t.id AS name, a.c1 AS as_of,
               i.c0 IS NOT NULL AS in_scope, n.c0 IS NOT NULL AS needs,
               u.c0 IS NOT NULL AS unknown,
               COALESCE(o.outcome, {lit('indeterminate')}) AS outcome,
               COALESCE(x.codes, []) AS exceptions, COALESCE(x.names, []) AS exception_names,
               r.review, r.review IS NOT NULL AS reviewed,
               rs.c0 IS NOT NULL AS restricted
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
        LEFT JOIN {T('restricted')} rs ON rs.c0 = t.tx""")
    lr, ind, ok = lit("license_required"), lit("indeterminate"), lit("permitted")
    open_ = f"b.outcome IN ({lr}, {ind})"
    not_barred = (f"NOT EXISTS (SELECT 1 FROM {T('barred_pending')} q "
                  "WHERE q.c0 = p.c0 AND q.c1 = p.c1)")
    parts = [
        f"SELECT o.c0 AS tx, {_m('o', ms)} FROM {T('outcome')} o JOIN base b "
        "ON o.c0 = b.tx AND o.c1 = b.outcome",
        f"SELECT x.c0, {_m('x', ms)} FROM {T('exception')} x WHERE x.c1 IN ({codes})",
        f"SELECT r.c0, {_m('r', ms)} FROM {T('review')} r JOIN base b ON r.c0 = b.tx "
        f"AND r.c1 = b.review WHERE b.outcome = {lr}",
        f"SELECT l.c0, {_m('l', ms)} FROM {T('license_required')} l",
        f"SELECT r.c0, {_m('r', ms)} FROM {T('restricted')} r JOIN base b ON r.c0 = b.tx "
        "WHERE len(b.exceptions) > 0",
        f"SELECT h.c0, {_m('h', ms)} FROM {T('cons_hq')} h JOIN base b ON h.c0 = b.tx "
        "WHERE b.in_scope",
        f"SELECT i.c0, {_m('c', ms)} FROM {T('tx_item')} i JOIN {T('class_confirmed')} c "
        "ON c.c0 = i.c1 JOIN base b ON i.c0 = b.tx WHERE b.in_scope",
        f"SELECT n.c0, {_m('n', ms)} FROM {T('no_license')} n JOIN base b ON n.c0 = b.tx "
        f"WHERE b.outcome = {ok} AND NOT b.needs",
        f"SELECT p.c0, {_m('p', ms)} FROM {T('pending')} p JOIN base b ON p.c0 = b.tx "
        f"WHERE {open_} AND {not_barred}",
        f"SELECT l.c0, {_m('l', ms)} FROM {T('lr_unknown')} l JOIN base b ON l.c0 = b.tx "
        f"WHERE {open_}",
    ]
    parts += [f"SELECT f.c0, {_m('f', ms)} FROM {T(p)} f JOIN base b ON f.c0 = b.tx "
              "WHERE NOT b.in_scope" for p in OUT_OF_SCOPE_PREDICATES if exists(p)]
    parts += [f"SELECT f.c0, {_m('f', ms)} FROM {T(p)} f" for p in FLAG_PREDICATES if exists(p)]
    ors = ", ".join(f"bit_or({m}) AS {m}" for m in ms)
    ex(f"CREATE TABLE used AS SELECT tx, {ors} FROM ({' UNION ALL '.join(parts)}) u GROUP BY tx")
    ex(f"""CREATE TABLE missing AS
        SELECT p.c0 AS tx, list_sort(list(DISTINCT y.s)) AS missing
        FROM {T('pending')} p JOIN base b ON p.c0 = b.tx JOIN sym y ON y.id = p.c2
        WHERE {open_} AND {not_barred}
        GROUP BY p.c0""")
    ex(f"""CREATE TABLE flags AS SELECT f.c0 AS tx, list(DISTINCT y.s) AS flagged
        FROM {T('tx_flag')} f JOIN sym y ON y.id = f.c1 GROUP BY f.c0""")
