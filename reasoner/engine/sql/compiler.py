"""Checked Datalog programs compiled to SQL: one statement per rule, strata in order."""

# How a rule becomes SQL (each relation is a table with columns c0..cN-1 and _r,
# the index of the rule of the row's first derivation; given facts have _r = -1):
#
#   head(X, Z) :- p(X, Y), q(Y, Z), not r(Z), Z > 3, S = sum(N : s(X, N)).
#
#   SELECT a0.c0 AS c0, a1.c1 AS c1, <rule index> AS _r
#   FROM rel_p a0, rel_q a1                         -- positive atoms: joins
#   WHERE a1.c0 = a0.c1                             -- shared variables: equalities
#     AND NOT EXISTS (SELECT 1 FROM rel_r n WHERE n.c0 = a1.c1)   -- negation: anti-join
#     AND a1.c1 > 3                                 -- comparisons
#     AND (SELECT COALESCE(SUM(v), 0) FROM (SELECT DISTINCT ..., N AS v
#          FROM rel_s WHERE c0 = a0.c0)) IS NOT NULL -- aggregates: correlated, per group
#                                                   -- (Spark: a join, ``joined_aggregate``)
#
# A stratum that is not recursive is one statement over all its rules (GROUP BY
# the columns, MIN(_r): earlog's evaluator fires a stratum's rules in index order,
# so its first derivation is by the lowest rule). A recursive stratum is a
# semi-naive loop: each round, every rule once per recursive atom read from the
# previous round's new rows, minus the rows already known.
#
# Values are typed per column ("kinds", inferred from the facts and propagated
# through the rules): strings, exact integers (HUGEINT on DuckDB, DECIMAL(38,0) on
# Spark), decimals (DECIMAL(38,10)), booleans and dates. Values of different kinds
# never compare equal (as in the evaluator); an expression that is undefined there
# (arithmetic on a string, year of a number) is NULL here, and rows with NULL in a
# head or an assignment are dropped.

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Mapping, Sequence

from reasoner.engine.plan import order_body
from reasoner.lang.checks import CheckedProgram, bound_variables
from reasoner.lang.errors import UnsupportedProgramError
from reasoner.lang.ir import (Aggregate, Atom, BodyItem, Call, Comparison, Const, Literal, Rule,
                              Term, Value, Var, variables)
from reasoner.lang.span import NO_SPAN, Span

__all__ = ["Dialect", "DUCKDB", "SPARK", "Kinds", "SqlProgram", "Step", "compile_program",
           "infer_kinds", "kind_of", "table_name", "literal", "DEC_SCALE", "BodyCompiler",
           "BodyScope", "compare_sql"]

# Decimals are exact to this many places; a value with more is refused.
DEC_SCALE = 10
_HINT = "use the default engine (--engine earlog), which runs every checked program"

Kinds = dict[str, list[str | None]]  # pred -> per column: str, int, dec, bool, date or None


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between SQL targets.

    The rest of the compiled SQL is common to both: ``DATE '...'`` literals and
    ``year()``, ``GREATEST``/``LEAST``, ``abs``, correlated ``NOT EXISTS`` (anti-joins),
    scalar subqueries (aggregates), ``HAVING`` without ``GROUP BY``, ``bit_or`` and
    ``min_by``. Neither target's ``WITH RECURSIVE`` fits Datalog recursion (Spark
    4.x allows only ``UNION ALL`` there, which does not stop on a cycle), so
    recursion is a semi-naive loop driven by the runner.

    Attributes:
        name: the target's name.
        int_type: exact integers of up to 38 digits (beyond 64 bits).
        dec_type: exact decimals, ``DEC_SCALE`` places.
        str_type: strings.
        quote: the character that quotes identifiers.
        nested_correlation: a subquery may refer to a query more than one level
            out (else an aggregate whose body refers to outer variables becomes a
            join: ``_Compiler.joined_aggregate``).
        widen_to_dec: cast an exact integer to ``dec_type`` where it meets a decimal
            (compared, ``GREATEST``, ``COALESCE``): Spark's common type of
            DECIMAL(38,0) and DECIMAL(38,10) is DECIMAL(38,0), which rounds the
            decimal (so 0.0000000001 = 0 would hold).
        row: the constructor of an ordered tuple of values (a rule's premise key).
        arg_min: the aggregate of the value at the least key (``arg_min(v, key)``).
    """

    name: str
    int_type: str
    dec_type: str
    str_type: str = "VARCHAR"
    quote: str = '"'
    nested_correlation: bool = True
    widen_to_dec: bool = False
    row: str = "ROW"
    arg_min: str = "arg_min"

    def sql_type(self, kind: str | None) -> str:
        return {"int": self.int_type, "dec": self.dec_type, "bool": "BOOLEAN",
                "date": "DATE"}.get(kind or "str", self.str_type)

    def ident(self, name: str) -> str:
        """``name`` as a quoted identifier."""
        return self.quote + name.replace(self.quote, self.quote * 2) + self.quote


DUCKDB = Dialect("duckdb", "HUGEINT", f"DECIMAL(38,{DEC_SCALE})")
# Spark SQL: no HUGEINT (DECIMAL(38,0) holds the same 38 digits), VARCHAR needs a
# length, double quotes delimit strings (unless a session setting says otherwise),
# a subquery may only refer to the query just outside it, and integers meeting
# decimals are widened by hand.
SPARK = Dialect("spark", "DECIMAL(38,0)", f"DECIMAL(38,{DEC_SCALE})", "STRING", "`", False, True,
                "struct", "min_by")


@dataclass(frozen=True, slots=True)
class Step:
    """One stratum: its head predicates and its SQL.

    Attributes:
        preds: the predicates it defines.
        rules: the indices of its rules.
        full: for a stratum that is not recursive, the SELECT of all its rows (one
            predicate); else None.
        rounds: for a recursive one, per predicate, the SELECTs of one semi-naive
            round (reading ``{delta:p}`` placeholders); and ``first`` the SELECTs of
            the first round (every rule over the full tables).
    """

    preds: tuple[str, ...]
    rules: tuple[int, ...]
    full: str | None
    first: Mapping[str, str]
    rounds: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class SqlProgram:
    """A checked program as SQL for one dialect and one assignment of column kinds."""

    dialect: Dialect
    arity: Mapping[str, int]
    kinds: Mapping[str, tuple[str | None, ...]]
    steps: tuple[Step, ...]
    words: int = 0
    symbols: bool = False

    def col_type(self, kind: str | None) -> str:
        """The SQL type of a column of ``kind`` (strings are INTEGER symbol ids when
        the program was compiled with ``symbols``)."""
        if self.symbols and kind in (None, "str"):
            return SYMBOL_TYPE
        return self.dialect.sql_type(kind)

    def create(self, pred: str, name: str | None = None) -> str:
        """``CREATE TABLE`` for ``pred``'s relation (or a table of its shape)."""
        cols = [f"c{k} {self.col_type(kind)}" for k, kind in enumerate(self.kinds[pred])]
        cols += ["_r INTEGER"] + [f"m{w} BIGINT" for w in range(self.words)]
        return f"CREATE TABLE {name or table_name(pred, dialect=self.dialect)} ({', '.join(cols)})"


def table_name(pred: str, prefix: str = "rel", dialect: Dialect = DUCKDB) -> str:
    """The quoted table name of a predicate's relation (unquoted: ``prefix_pred``)."""
    return dialect.ident(f"{prefix}_{pred}")


def kind_of(v: Value) -> str:
    """The kind of a value: ``str``, ``int``, ``dec``, ``bool`` or ``date``."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, Decimal):
        return "dec"
    if isinstance(v, _dt.date):
        return "date"
    return "str"


def _join(a: str | None, b: str | None) -> str | None:
    """The kind of a column holding values of kinds a and b (None: no value yet)."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    if {a, b} == {"int", "dec"}:
        return "dec"
    return "mixed"


def literal(v: Value, dialect: Dialect, span: Span = NO_SPAN) -> str:
    """A SQL literal for a value.

    Raises:
        UnsupportedProgramError: an integer beyond 38 digits, or a decimal with more
            than ``DEC_SCALE`` places.
    """
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        if abs(v) >= 10 ** 38:
            raise _unsupported(f"the integer {v} has more than 38 digits", span)
        return f"CAST('{v}' AS {dialect.int_type})"
    if isinstance(v, Decimal):
        check_decimal(v, span)
        return f"CAST('{format(v, 'f')}' AS {dialect.dec_type})"
    if isinstance(v, _dt.date):
        return f"DATE '{v.isoformat()}'"
    return "'" + v.replace("'", "''") + "'"


def check_decimal(v: Decimal, span: Span = NO_SPAN) -> None:
    """Refuse a decimal that DECIMAL(38, DEC_SCALE) does not hold exactly.

    Raises:
        UnsupportedProgramError: too many places or digits.
    """
    exp = v.as_tuple().exponent
    if not isinstance(exp, int) or (exp < -DEC_SCALE and v != round(v, DEC_SCALE)) \
            or abs(v) >= Decimal(10) ** (38 - DEC_SCALE):
        raise _unsupported(f"the decimal {v} is not exact in DECIMAL(38,{DEC_SCALE})", span)


def _unsupported(message: str, span: Span) -> UnsupportedProgramError:
    return UnsupportedProgramError(f"the SQL backend refuses this: {message}", span, _HINT)


# ---- kinds -------------------------------------------------------------------------


def infer_kinds(checked: CheckedProgram, fact_kinds: Mapping[str, Sequence[str | None]]) -> Kinds:
    """The kind of every column of every predicate, from the facts' kinds through
    the rules (a fixpoint: rules only add kinds).

    Raises:
        UnsupportedProgramError: a column holds values of two kinds (other than
            integers and decimals, which make a decimal column).
    """
    kinds: Kinds = {p: [None] * n for p, n in checked.arity.items()}
    for pred, ks in fact_kinds.items():
        cols = kinds.setdefault(pred, [None] * len(ks))
        for k, kind in enumerate(ks):
            cols[k] = _join(cols[k], kind)
    changed = True
    while changed:
        changed = False
        for rule in checked.rules:
            env = _var_kinds(rule.body, kinds)
            cols = kinds[rule.head.pred]
            for k, arg in enumerate(rule.head.args):
                new = _join(cols[k], _term_kind(arg, env))
                if new != cols[k]:
                    cols[k] = new
                    changed = True
    for pred, cols in kinds.items():
        if "mixed" in cols:
            raise _unsupported(f"a column of '{pred}' holds values of different kinds "
                               "(e.g. strings and numbers)", _pred_span(checked, pred))
    return kinds


def _pred_span(checked: CheckedProgram, pred: str) -> Span:
    for rule in checked.rules:
        if rule.head.pred == pred:
            return rule.head.span
    return NO_SPAN


def _var_kinds(body: Iterable[BodyItem], kinds: Kinds, env: dict[str, str | None] | None = None
               ) -> dict[str, str | None]:
    """The kind of each variable a body binds (from its first binding)."""
    env = dict(env or {})
    items = list(body)
    for _ in range(len(items) + 1):
        for item in items:
            if isinstance(item, Literal) and not item.negated:
                for k, arg in enumerate(item.atom.args):
                    if isinstance(arg, Var) and not arg.anonymous and env.get(arg.name) is None:
                        env[arg.name] = kinds.get(item.atom.pred, [None] * (k + 1))[k]
            elif isinstance(item, Comparison) and item.op == "=":
                for a, b in ((item.left, item.right), (item.right, item.left)):
                    if isinstance(a, Var) and env.get(a.name) is None:
                        got = _term_kind(b, env)
                        if got is not None:
                            env[a.name] = got
            elif isinstance(item, Aggregate):
                inner = _var_kinds(item.body, kinds, env)
                t = _term_kind(item.term, inner)
                env[item.result.name] = "int" if item.fn == "count" else (
                    ("int" if t is None else t) if item.fn == "sum" else t)
    return env


def _term_kind(term: Term, env: Mapping[str, str | None]) -> str | None:
    if isinstance(term, Var):
        return env.get(term.name)
    if isinstance(term, Const):
        return kind_of(term.value)
    args = [_term_kind(a, env) for a in term.args]
    if term.fn == "year":
        return "int"
    if term.fn in ("max", "min"):
        a, b = args
        return _join(a, b) if _join(a, b) != "mixed" else None
    if any(a not in ("int", "dec") for a in args):
        return None
    return "dec" if "dec" in args else "int"


# ---- compiling -----------------------------------------------------------------------


# Bits of a mark word (BIGINT, sign bit unused).
WORD_BITS = 62
# Strings as symbols: ids numbered in the strings' sort order, so that comparing
# two ids compares the strings.
SYMBOL_TYPE = "INTEGER"


def constants(checked: CheckedProgram) -> set[str]:
    """Every string constant of the program's rules."""
    out: set[str] = set()

    def walk(t: Term) -> None:
        if isinstance(t, Const) and isinstance(t.value, str):
            out.add(t.value)
        elif isinstance(t, Call):
            for a in t.args:
                walk(a)

    def items(body: Iterable[BodyItem]) -> None:
        for item in body:
            if isinstance(item, Literal):
                for a in item.atom.args:
                    walk(a)
            elif isinstance(item, Comparison):
                walk(item.left)
                walk(item.right)
            else:
                walk(item.term)
                items(item.body)

    for rule in checked.rules:
        for a in rule.head.args:
            walk(a)
        items(rule.body)
    return out


def compile_program(checked: CheckedProgram, kinds: Mapping[str, Sequence[str | None]],
                    dialect: Dialect = DUCKDB, marks: Sequence[int] | None = None,
                    symbols: Mapping[str, int] | None = None) -> SqlProgram:
    """Compile a checked program to SQL, given the kinds of its columns.

    Args:
        checked: the program.
        kinds: ``infer_kinds``' answer (every predicate of ``checked``).
        dialect: the SQL target.
        marks: per rule index, a bit set (e.g. its citation and uncertainty ids).
            When given, every row carries in columns m0.. (``WORD_BITS`` bits each)
            the or of the marks of every rule in its proof by first derivations:
            its own rule's, and those of the rows its positive premises matched
            (bits or-ed over the matches of that rule, where there are several).
        symbols: when given, strings are INTEGER ids (every string constant of the
            program -> its id; ids in the strings' sort order); loading and reading
            rows is then the caller's business.

    Returns:
        The steps, in stratum order.

    Raises:
        UnsupportedProgramError: division, a product of two decimals (neither is
            exact in SQL decimals), or a constant SQL cannot hold exactly.
    """
    frozen = {p: tuple(ks) for p, ks in kinds.items()}
    words = 0
    if marks is not None:
        words = max(1, -(-max((m.bit_length() for m in marks), default=1) // WORD_BITS))
    steps = []
    for stratum in checked.strata:
        preds = tuple(dict.fromkeys(checked.rules[i].head.pred for i in stratum))
        recursive = set(preds) & checked.recursive
        comp = _Compiler(checked, frozen, dialect, marks, words, symbols)
        if not recursive:
            (pred,) = preds
            selects = [comp.rule(i, {}) for i in stratum]
            steps.append(Step(preds, tuple(stratum),
                              _min_rule(selects, checked.arity[pred], words, dialect), {}, {}))
            continue
        first: dict[str, list[str]] = {p: [] for p in preds}
        rounds: dict[str, list[str]] = {p: [] for p in preds}
        for i in stratum:
            rule = checked.rules[i]
            first[rule.head.pred].append(comp.rule(i, {}))
            for k, item in enumerate(rule.body):
                if isinstance(item, Literal) and not item.negated and item.atom.pred in recursive:
                    rounds[rule.head.pred].append(comp.rule(i, {k: "delta"}))
        steps.append(Step(
            preds, tuple(stratum), None,
            {p: _min_rule(s, checked.arity[p], words, dialect) for p, s in first.items() if s},
            {p: _min_rule(s, checked.arity[p], words, dialect) for p, s in rounds.items() if s}))
    return SqlProgram(dialect, dict(checked.arity), frozen, tuple(steps), words,
                      symbols is not None)


def _min_rule(selects: list[str], arity: int, words: int, dialect: Dialect) -> str:
    """Each distinct row once, with the lowest rule deriving it (and the marks of that
    rule's match whose premises come first in value order, body order: the evaluator's
    first derivation)."""
    cols = [f"c{k}" for k in range(arity)]
    having = "" if arity else " HAVING COUNT(*) > 0"
    group = f" GROUP BY {', '.join(cols)}" if arity else ""
    if not words:
        union = "\nUNION ALL\n".join(selects)
        return f"SELECT {''.join(c + ', ' for c in cols)}MIN(_r) AS _r FROM ({union}) u{group}{having}"
    ms = [f"m{w}" for w in range(words)]
    by_rule = f" GROUP BY {', '.join(cols + ['_r'])}"
    # one rule's matches at a time (their premise keys have the rule's own shape)
    per_rule = "\nUNION ALL\n".join(
        f"SELECT {', '.join(cols + ['_r'] + [f'{dialect.arg_min}({m}, _pk) AS {m}' for m in ms])} "
        f"FROM ({s}) u{by_rule}" for s in selects)
    if len(selects) == 1:
        return f"SELECT * FROM ({per_rule}) v"
    first = [f"min_by({m}, _r) AS {m}" for m in ms]
    return (f"SELECT {', '.join(cols + ['MIN(_r) AS _r'] + first)} FROM ({per_rule}) v"
            f"{group}{having}")


def _premise_key(scope: _Scope, arity: Mapping[str, int], dialect: Dialect) -> str:
    """SQL ordering a rule's matches as the evaluator picks its first derivation: the rows
    of its positive premises, in body order."""
    found = sorted(zip(scope.at or (), scope.premises or ()))
    cols = []
    for _, alias in found:
        pred = next(t.split()[0] for t in scope.tables if t.split()[-1] == alias)
        n = arity.get(_unquote(pred, dialect.quote), 0)
        cols += [f"{alias}.c{k}" for k in range(n)]
    return f"{dialect.row}({', '.join(cols)})" if cols else "0"


def _unquote(name: str, quote: str = '"') -> str:
    """A predicate from its table's quoted name (``"rel_p"`` or ``"delta_p"``)."""
    inner = name.strip(quote).replace(quote * 2, quote)
    return inner.split("_", 1)[1]


@dataclass(slots=True)
class _Scope:
    """What the SQL of a body has so far: tables, conditions, variable bindings."""

    tables: list[str]
    where: list[str]
    env: dict[str, str]  # variable -> SQL expression
    kinds: dict[str, str | None]
    premises: list[str] | None = None  # aliases of the positive atoms (top level only)
    at: list[int] | None = None  # the body index of each premise


class _Compiler:
    def __init__(self, checked: CheckedProgram, kinds: Mapping[str, tuple[str | None, ...]],
                 dialect: Dialect, marks: Sequence[int] | None = None, words: int = 0,
                 symbols: Mapping[str, int] | None = None) -> None:
        self.symbols = symbols
        self.checked = checked
        self.kinds = kinds
        self.dialect = dialect
        self.marks = marks
        self.words = words
        self.counter = 0

    def sql_type(self, kind: str | None) -> str:
        if self.symbols is not None and kind in (None, "str"):
            return SYMBOL_TYPE
        return self.dialect.sql_type(kind)

    def widen(self, a: str, ak: str | None, b: str, bk: str | None) -> tuple[str, str]:
        """``a`` and ``b``, the integer cast to the decimal type where an integer meets a
        decimal and the dialect would otherwise round the decimal (``widen_to_dec``)."""
        if self.dialect.widen_to_dec and {ak, bk} == {"int", "dec"}:
            if ak == "int":
                a = f"CAST({a} AS {self.dialect.dec_type})"
            else:
                b = f"CAST({b} AS {self.dialect.dec_type})"
        return a, b

    def compare(self, op: str, a: str, ak: str | None, b: str, bk: str | None) -> str:
        """SQL for ``a op b`` (``_compare``), integers widened to meet decimals."""
        a, b = self.widen(a, ak, b, bk)
        return _compare(op, a, ak, b, bk)

    def alias(self) -> str:
        self.counter += 1
        return f"t{self.counter}"

    def rule(self, index: int, reads: Mapping[int, str]) -> str:
        """The SELECT of one rule's head rows (``reads``: body positions read from the
        delta table instead of the full relation)."""
        rule = self.checked.rules[index]
        scope = _Scope([], [], {}, {}, [], [])
        self.body(rule.body, scope, reads, rule)
        cols = []
        for k, arg in enumerate(rule.head.args):
            want = self.kinds[rule.head.pred][k]
            expr, kind = self.term(arg, scope)
            if kind != want and not (kind == "int" and want == "dec"):
                expr = "NULL"  # a value of another kind cannot be in this column
            if isinstance(arg, Call):
                scope.where.append(f"({expr}) IS NOT NULL")
            cols.append(f"CAST({expr} AS {self.sql_type(want)}) AS c{k}")
        cols.append(f"{index} AS _r")
        for w in range(self.words):
            own = ((self.marks[index] if self.marks else 0) >> (w * WORD_BITS)) & ((1 << WORD_BITS) - 1)
            parts = [f"CAST({own} AS BIGINT)"] + [f"{a}.m{w}" for a in scope.premises or ()]
            cols.append(f"({' | '.join(parts)}) AS m{w}")
        if self.words:
            cols.append(f"{_premise_key(scope, self.checked.arity, self.dialect)} AS _pk")
        sql = f"SELECT {', '.join(cols)}"
        if scope.tables:
            sql += f" FROM {', '.join(scope.tables)}"
        if scope.where:
            sql += " WHERE " + " AND ".join(scope.where)
        return sql

    def body(self, body: tuple[BodyItem, ...], scope: _Scope, reads: Mapping[int, str],
             rule: Rule | None) -> None:
        bound = set(scope.env)
        first = next(iter(reads), None)
        for i in order_body(body, set(bound), first):
            item = body[i]
            if isinstance(item, Literal) and not item.negated:
                self.positive(item.atom, scope, reads.get(i))
                if scope.at is not None:
                    scope.at.append(i)
            elif isinstance(item, Literal):
                scope.where.append(self.negation(item.atom, body, scope))
            elif isinstance(item, Comparison):
                self.comparison(item, scope)
            else:
                self.aggregate(item, i, body, scope, rule)

    def positive(self, atom: Atom, scope: _Scope, read: str | None) -> None:
        a = self.alias()
        name = table_name(atom.pred, "delta" if read else "rel", self.dialect)
        scope.tables.append(f"{name} {a}")
        if scope.premises is not None:
            scope.premises.append(a)
        kinds = self.kinds[atom.pred]
        for k, arg in enumerate(atom.args):
            col = f"{a}.c{k}"
            if isinstance(arg, Var):
                if arg.anonymous:
                    continue
                if arg.name not in scope.env:
                    scope.env[arg.name] = col
                    scope.kinds[arg.name] = kinds[k]
                    continue
            expr, kind = self.term(arg, scope)
            scope.where.append(self.compare("=", col, kinds[k], expr, kind))

    def negation(self, atom: Atom, body: tuple[BodyItem, ...], scope: _Scope) -> str:
        a = self.alias()
        kinds = self.kinds[atom.pred]
        conds: list[str] = []
        local: dict[str, tuple[str, str | None]] = {}
        for k, arg in enumerate(atom.args):
            col = f"{a}.c{k}"
            if isinstance(arg, Var) and (arg.anonymous or arg.name not in scope.env):
                if arg.anonymous:
                    continue
                if arg.name in local:  # a local variable twice in the atom
                    conds.append(self.compare("=", col, kinds[k], *local[arg.name]))
                else:
                    local[arg.name] = (col, kinds[k])
                continue
            expr, kind = self.term(arg, scope)
            conds.append(self.compare("=", col, kinds[k], expr, kind))
        where = f" WHERE {' AND '.join(conds)}" if conds else ""
        return f"NOT EXISTS (SELECT 1 FROM {table_name(atom.pred, dialect=self.dialect)} {a}{where})"

    def comparison(self, item: Comparison, scope: _Scope) -> None:
        for a, b in ((item.left, item.right), (item.right, item.left)):
            if item.op == "=" and isinstance(a, Var) and a.name not in scope.env:
                expr, kind = self.term(b, scope)
                if kind is None or expr == "NULL":
                    scope.where.append("FALSE")
                    expr = "NULL"
                elif isinstance(b, Call):
                    scope.where.append(f"({expr}) IS NOT NULL")
                scope.env[a.name] = f"({expr})"
                scope.kinds[a.name] = kind
                return
        left, lk = self.term(item.left, scope)
        right, rk = self.term(item.right, scope)
        scope.where.append(self.compare(item.op, left, lk, right, rk))

    def aggregate(self, agg: Aggregate, at: int, body: tuple[BodyItem, ...], scope: _Scope,
                  rule: Rule | None) -> None:
        if any(isinstance(i, Aggregate) for i in agg.body):
            raise _unsupported("an aggregate inside an aggregate", agg.span)
        used = sorted(set(scope.env) & set().union(variables(agg.term),
                                                   *(variables(i) for i in agg.body)))
        if used and not self.dialect.nested_correlation:
            expr, out_kind = self.joined_aggregate(agg, scope, used)
        else:
            expr, out_kind = self.correlated_aggregate(agg, scope)
        name = agg.result.name
        if name in scope.env:
            scope.where.append(self.compare("=", scope.env[name], scope.kinds.get(name), expr,
                                            out_kind))
            return
        scope.where.append(f"{expr} IS NOT NULL")
        scope.env[name] = expr
        scope.kinds[name] = out_kind

    # S = sum(N : s(X, N))   (X bound outside: a correlated scalar subquery)
    #   (SELECT COALESCE(SUM(m.v), 0) FROM (SELECT DISTINCT t2.*, t2.c1 AS v
    #    FROM rel_s t2 WHERE t2.c0 = t1.c0) m)
    def correlated_aggregate(self, agg: Aggregate, scope: _Scope) -> tuple[str, str | None]:
        inner = _Scope([], [], dict(scope.env), dict(scope.kinds))
        outer = set(scope.env)
        self.body(agg.body, inner, {}, None)
        term, kind = self.term(agg.term, inner)
        local = sorted(bound_variables(agg.body, outer) - outer)
        keys = [inner.env[v] for v in local] + [
            f"{t.split()[1]}.*" for t in inner.tables]
        distinct = ", ".join([*(f"{k} AS k{n}" if not k.endswith(".*") else k
                                for n, k in enumerate(keys)), f"{term} AS v"])
        sql = f"SELECT DISTINCT {distinct}"
        if inner.tables:
            sql += f" FROM {', '.join(inner.tables)}"
        if inner.where:
            sql += " WHERE " + " AND ".join(inner.where)
        value, out_kind = self.aggregate_value(agg, kind)
        return f"(SELECT {value} FROM ({sql}) m)", out_kind

    # The same where a subquery may only refer to the query just outside it (Spark):
    # the outer rows' distinct values of X ("o", a copy of the body so far) are
    # grouped with their matches and joined back, so no subquery of the aggregate's
    # body (a negation) refers two levels out.
    #   ..., (SELECT o.o0, COALESCE(SUM(m.v), 0) AS v
    #         FROM (SELECT DISTINCT t1.c0 AS o0 FROM rel_g t1) o
    #         LEFT JOIN (SELECT DISTINCT t3.o0 AS o0, t2.*, t2.c1 AS v
    #                    FROM (SELECT DISTINCT t1.c0 AS o0 FROM rel_g t1) t3, rel_s t2
    #                    WHERE t2.c0 = t3.o0) m ON m.o0 = o.o0
    #         GROUP BY o.o0) t4
    #   WHERE t4.o0 = t1.c0 AND t4.v IS NOT NULL
    def joined_aggregate(self, agg: Aggregate, scope: _Scope, used: list[str]
                         ) -> tuple[str, str | None]:
        cols = [f"o{n}" for n in range(len(used))]
        magic = f"SELECT DISTINCT {', '.join(f'{scope.env[v]} AS {c}' for v, c in zip(used, cols))}"
        if scope.tables:
            magic += f" FROM {', '.join(scope.tables)}"
        if scope.where:
            magic += " WHERE " + " AND ".join(scope.where)
        o = self.alias()
        inner = _Scope([f"({magic}) {o}"], [], {v: f"{o}.{c}" for v, c in zip(used, cols)},
                       {v: scope.kinds.get(v) for v in used})
        self.body(agg.body, inner, {}, None)
        term, kind = self.term(agg.term, inner)
        local = sorted(bound_variables(agg.body, set(used)) - set(used))
        keys = ([f"{o}.{c} AS {c}" for c in cols] + [f"{inner.env[v]} AS k{n}" for n, v in
                                                     enumerate(local)]
                + [f"{t.split()[1]}.*" for t in inner.tables[1:]] + [f"{term} AS v"])
        rows = f"SELECT DISTINCT {', '.join(keys)} FROM {', '.join(inner.tables)}"
        if inner.where:
            rows += " WHERE " + " AND ".join(inner.where)
        value, out_kind = self.aggregate_value(agg, kind)
        on = " AND ".join(f"m.{c} = o.{c}" for c in cols)
        group = ", ".join(f"o.{c}" for c in cols)
        g = self.alias()
        scope.tables.append(f"(SELECT {group}, {value} AS v FROM ({magic}) o LEFT JOIN ({rows}) m "
                            f"ON {on} GROUP BY {group}) {g}")
        scope.where.extend(f"{g}.{c} = {scope.env[v]}" for v, c in zip(used, cols))
        return f"{g}.v", out_kind

    def aggregate_value(self, agg: Aggregate, kind: str | None) -> tuple[str, str | None]:
        """The SQL aggregating column ``m.v`` (of ``kind``), and the result's kind."""
        fn = {"sum": "SUM", "count": "COUNT", "min": "MIN", "max": "MAX"}[agg.fn]
        value = f"{fn}(m.v)"
        zero = literal(Decimal(0) if kind == "dec" and self.dialect.widen_to_dec else 0,
                       self.dialect)
        if agg.fn in ("sum", "count"):
            value = f"COALESCE({value}, {zero})"
        out_kind = "int" if agg.fn == "count" else (kind if kind is not None else (
            "int" if agg.fn == "sum" else None))
        if agg.fn == "sum" and kind not in ("int", "dec", None):
            value = "NULL"  # the sum of strings is undefined
        if kind is None and agg.fn == "sum":  # a term of no kind: the body has no match
            value = f"COALESCE(SUM(CAST(NULL AS {self.dialect.int_type})), {zero})"
        if agg.fn in ("min", "max") and kind == "bool":
            value = "NULL"
        return value, out_kind

    def term(self, term: Term, scope: _Scope) -> tuple[str, str | None]:
        """A term's SQL and kind (``NULL`` where the evaluator's value is undefined)."""
        if isinstance(term, Var):
            return scope.env[term.name], scope.kinds.get(term.name)
        if isinstance(term, Const):
            v = term.value
            if self.symbols is not None and isinstance(v, str):
                return f"CAST({self.symbols[v]} AS {SYMBOL_TYPE})", "str"
            return literal(v, self.dialect, term.span), kind_of(v)
        args = [self.term(a, scope) for a in term.args]
        kinds = [k for _, k in args]
        fn = term.fn
        if fn == "year":
            (a, k), = args
            return (f"CAST(year({a}) AS {self.dialect.int_type})" if k == "date" else "NULL"), "int"
        if fn in ("max", "min"):
            (a, ak), (b, bk) = args
            kind = _join(ak, bk)
            if kind in (None, "mixed", "bool"):
                return "NULL", None
            sql_fn = "GREATEST" if fn == "max" else "LEAST"
            a, b = self.widen(a, ak, b, bk)
            return f"{sql_fn}({a}, {b})", kind
        if any(k not in ("int", "dec") for k in kinds):
            return "NULL", None
        kind = "dec" if "dec" in kinds else "int"
        if fn == "/":
            raise _unsupported("division (not exact in SQL decimals)", term.span)
        if fn == "neg":
            return f"(-{args[0][0]})", kind
        if fn == "abs":
            return f"abs({args[0][0]})", kind
        if fn == "*" and kinds == ["dec", "dec"]:
            raise _unsupported("a product of two decimals (not exact in DECIMAL(38,"
                               f"{DEC_SCALE}))", term.span)
        (a, _), (b, _) = args
        expr = f"({a} {fn} {b})"
        if kind == "dec":
            expr = f"CAST({expr} AS {self.dialect.dec_type})"
        return expr, kind


def _compare(op: str, a: str, ak: str | None, b: str, bk: str | None) -> str:
    """SQL for ``a op b``: values of different kinds are only ever unequal."""
    numeric = ak in ("int", "dec") and bk in ("int", "dec")
    same = numeric or (ak == bk and ak is not None)
    if a == "NULL" or b == "NULL" or ak is None or bk is None:
        return "FALSE"
    if op in ("=", "!="):
        if not same:
            return "FALSE" if op == "=" else "TRUE"
        return f"{a} {'=' if op == '=' else '<>'} {b}"
    if not same or ak == "bool":
        return "FALSE"
    return f"{a} {op} {b}"


# The pieces that compile one body item at a time (used outside this module to evaluate
# partial rule bodies, e.g. where a rule stops matching): a compiler, the scope it adds
# tables, conditions and bindings to, and a typed comparison.
BodyCompiler = _Compiler
BodyScope = _Scope
compare_sql = _compare
