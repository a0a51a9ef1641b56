"""Join plans: rule bodies compiled into chains of closures over indexed relations.

Compiling bodies to plans is one job, kept in one module though it runs past 500 lines.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Context, Decimal, DivisionByZero, InvalidOperation, localcontext
import operator
from operator import itemgetter
from typing import Any, Callable, Iterable

from reasoner.lang.ir import Aggregate, Atom, BodyItem, Call, Comparison, Const, Literal, Term, Value, Var, variables

__all__ = ["Relation", "Plan", "compile_body", "FAIL", "compare", "order_body", "apply_function",
           "fold_aggregate"]

FAIL: Any = object()
_CTX = Context(prec=80)

Env = list[Any]
Row = tuple[Value, ...]
Sink = Callable[[Env], None]
Sources = Callable[[str, bool], "Relation"]


class Relation:
    """A set of rows with lazily built hash indexes on column subsets.

    An index on one column is keyed by the bare value, on several columns by
    the tuple of values (``operator.itemgetter``'s convention).
    """

    __slots__ = ("rows", "_indexes")

    def __init__(self, rows: Iterable[Row] = ()) -> None:
        self.rows: set[Row] = set(rows)
        self._indexes: dict[tuple[int, ...], tuple[Callable[[Row], Any], dict[Any, list[Row]]]] = {}

    def add(self, row: Row) -> bool:
        if row in self.rows:
            return False
        self.rows.add(row)
        for key_of, idx in self._indexes.values():
            key = key_of(row)
            bucket = idx.get(key)
            if bucket is None:
                idx[key] = [row]
            else:
                bucket.append(row)
        return True

    def extend_new(self, rows: list[Row]) -> None:
        """Add rows known to be absent (cheaper than ``add`` one by one)."""
        self.rows.update(rows)
        for key_of, idx in self._indexes.values():
            _group_into(idx, key_of, rows)

    def replace(self, rows: Iterable[Row]) -> None:
        """Make ``rows`` the relation's rows, in the same set and index objects (a chain
        compiled over the relation keeps reading them)."""
        self.rows.clear()
        self.rows.update(rows)
        for key_of, idx in self._indexes.values():
            idx.clear()
            _group_into(idx, key_of, self.rows)

    def index(self, cols: tuple[int, ...]) -> dict[Any, list[Row]]:
        """The rows grouped by their values in ``cols`` (at least one column)."""
        entry = self._indexes.get(cols)
        if entry is None:
            key_of = itemgetter(*cols)
            idx: dict[Any, list[Row]] = {}
            _group_into(idx, key_of, self.rows)
            entry = self._indexes[cols] = (key_of, idx)
        return entry[1]


def _group_into(idx: dict[Any, list[Row]], key_of: Callable[[Row], Any], rows: Iterable[Row]) -> None:
    """Append each row to its key's bucket of ``idx``."""
    for row in rows:
        key = key_of(row)
        bucket = idx.get(key)
        if bucket is None:
            idx[key] = [row]
        else:
            bucket.append(row)


def _num(v: Any) -> bool:
    return isinstance(v, (int, Decimal)) and not isinstance(v, bool)


def _norm(v: Decimal) -> int | Decimal:
    if v == v.to_integral_value():
        return int(v)
    return v


def _arith(op: str, a: Any, b: Any) -> Any:
    if not (_num(a) and _num(b)):
        return FAIL
    with localcontext(_CTX):
        try:
            if op == "+":
                r = a + b
            elif op == "-":
                r = a - b
            elif op == "*":
                r = a * b
            else:
                if b == 0:
                    return FAIL
                if isinstance(a, int) and isinstance(b, int) and a % b == 0:
                    return a // b
                r = Decimal(a) / Decimal(b)
        except (InvalidOperation, DivisionByZero):
            return FAIL
    return _norm(r) if isinstance(r, Decimal) else r


def _call(fn: str, args: list[Any]) -> Any:
    if fn in ("+", "-", "*", "/"):
        return _arith(fn, args[0], args[1])
    if fn == "neg":
        return -args[0] if _num(args[0]) else FAIL
    if fn == "abs":
        return abs(args[0]) if _num(args[0]) else FAIL
    if fn == "year":
        return args[0].year if isinstance(args[0], _dt.date) else FAIL
    a, b = args
    if not _comparable(a, b):
        return FAIL
    return max(a, b) if fn == "max" else min(a, b)


def apply_function(fn: str, args: list[Any]) -> Any:
    """Apply an operator or built-in of ``ir.FUNCTIONS`` exactly; FAIL when undefined.

    Example:
        >>> apply_function("*", [Decimal("0.25"), 10**26])
        25000000000000000000000000
        >>> apply_function("+", [1, "a"]) is FAIL
        True
    """
    if any(a is FAIL for a in args):
        return FAIL
    return _call(fn, args)


def _comparable(a: Any, b: Any) -> bool:
    if _num(a) and _num(b):
        return True
    return type(a) is type(b) and not isinstance(a, bool)


# Types whose values ``compare`` compares with Python's own operators when both sides
# are of that same type (not bool, whose values compare as numbers in Python).
_PLAIN = frozenset({str, int, Decimal, _dt.date})
_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge}


def compare(op: str, a: Any, b: Any) -> bool:
    """Compare two values; values of different kinds are only ever unequal."""
    if op == "=":
        return a == b and (_num(a) == _num(b)) and isinstance(a, bool) == isinstance(b, bool)
    if op == "!=":
        return not compare("=", a, b)
    if not _comparable(a, b):
        return False
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def compile_term(term: Term, slots: dict[str, int]) -> Callable[[Env], Any]:
    """A function computing the term's value from an environment (FAIL if undefined)."""
    if isinstance(term, Const):
        v = term.value
        return lambda env: v
    if isinstance(term, Var):
        i = slots[term.name]
        return lambda env: env[i]
    fns = [compile_term(a, slots) for a in term.args]
    fn = term.fn

    def call(env: Env) -> Any:
        args = [f(env) for f in fns]
        if any(a is FAIL for a in args):
            return FAIL
        return _call(fn, args)
    return call


def order_body(body: tuple[BodyItem, ...], bound: set[str], first: int | None = None) -> list[int]:
    """Evaluation order: filters as soon as their variables are bound, then the
    positive atom with the most bound arguments. ``first`` forces an atom first."""
    remaining = list(range(len(body)))
    order: list[int] = []
    bound = set(bound)
    if first is not None:
        remaining.remove(first)
        order.append(first)
        bound |= variables(body[first])
    local_neg = _negation_locals(body)
    while remaining:
        pick = None
        for i in remaining:
            item = body[i]
            if isinstance(item, Comparison):
                lv, rv = variables(item.left), variables(item.right)
                if lv | rv <= bound or (item.op == "=" and (
                        (isinstance(item.left, Var) and rv <= bound) or
                        (isinstance(item.right, Var) and lv <= bound))):
                    pick = i
                    break
            elif isinstance(item, Literal) and item.negated:
                if variables(item) - local_neg[i] <= bound:
                    pick = i
                    break
            elif isinstance(item, Aggregate):
                if _group_vars(item, body, i) <= bound:
                    pick = i
                    break
        if pick is None:
            best = -1
            for i in remaining:
                item = body[i]
                if isinstance(item, Literal) and not item.negated:
                    # an expression argument is a lookup key: its variables must be bound
                    if any(not isinstance(a, Var) and not variables(a) <= bound
                           for a in item.atom.args):
                        continue
                    score = sum(1 for a in item.atom.args if not isinstance(a, Var) or a.name in bound)
                    if score > best:
                        best, pick = score, i
        if pick is None:
            raise ValueError("body cannot be ordered: unsafe variables")
        remaining.remove(pick)
        order.append(pick)
        bound |= variables(body[pick])
    return order


def _negation_locals(body: tuple[BodyItem, ...]) -> dict[int, set[str]]:
    counts: dict[str, int] = {}
    for item in body:
        for v in variables(item):
            counts[v] = counts.get(v, 0) + 1
    return {
        i: {v for v in variables(item) if counts[v] == 1}
        if isinstance(item, Literal) and item.negated else set()
        for i, item in enumerate(body)
    }


def _group_vars(agg: Aggregate, body: tuple[BodyItem, ...], at: int, head: Atom | None = None) -> set[str]:
    inner: set[str] = set()
    for sub in agg.body:
        inner |= variables(sub)
    inner |= variables(agg.term)
    outside: set[str] = set()
    for j, item in enumerate(body):
        if j != at:
            outside |= variables(item)
    if head is not None:
        outside |= variables(head)
    return inner & outside


class Plan:
    """A compiled body: ``chain(sink, sources)`` calls ``sink(env)`` per match.

    ``sources(pred, delta)`` returns the Relation to read; ``scans`` lists the
    positive atoms in body order as (body index, pred, env slot of the matched row).
    A plan holds no evaluation's relations, so it can be kept and reused.
    """

    def __init__(self, body: tuple[BodyItem, ...], slots: dict[str, int], order: list[int],
                 delta_at: int | None, outer: set[str]) -> None:
        self.slots = slots
        self.delta_at = delta_at
        self.scans: list[tuple[int, str, int]] = []
        self._steps: list[Callable[[Sink, Sources], Sink]] = []
        bound = set(outer)
        local_neg = _negation_locals(body)
        for i in order:
            item = body[i]
            self._steps.append(self._step(item, i, bound, local_neg[i], body))
            bound |= variables(item)

    def chain(self, sink: Sink, sources: Sources) -> Sink:
        """The compiled body reading ``sources`` and ending in ``sink``: call it with an
        environment."""
        chain = sink
        for make in reversed(self._steps):
            chain = make(chain, sources)
        return chain

    def _step(self, item: BodyItem, i: int, bound: set[str], neg_local: set[str],
              body: tuple[BodyItem, ...]) -> Callable[[Sink, Sources], Sink]:
        if isinstance(item, Literal):
            return self._scan(item, i, bound, neg_local)
        if isinstance(item, Comparison):
            return self._comparison(item, bound)
        return self._aggregate(item, i, bound, body)

    def _scan(self, lit: Literal, i: int, bound: set[str], neg_local: set[str]) -> Callable[[Sink, Sources], Sink]:
        atom = lit.atom
        key_cols: list[int] = []
        key_terms: list[Term] = []
        binds: list[tuple[int, int]] = []
        same: list[tuple[int, int]] = []
        first_col: dict[str, int] = {}
        for col, arg in enumerate(atom.args):
            if isinstance(arg, Var):
                if arg.anonymous:
                    continue
                if arg.name in bound:
                    key_cols.append(col)
                    key_terms.append(arg)
                elif arg.name in first_col:
                    same.append((first_col[arg.name], col))
                else:
                    first_col[arg.name] = col
                    if not lit.negated:
                        binds.append((col, self.slots[arg.name]))
            else:
                key_cols.append(col)
                key_terms.append(arg)
        cols = tuple(key_cols)
        pred = atom.pred
        use_delta = i == self.delta_at
        key_of, may_fail = _probe(key_terms, self.slots)
        if lit.negated:
            def make_neg(nxt: Sink, sources: Sources) -> Sink:
                rel = sources(pred, False)
                if not cols:
                    return _negated_all(rel, same, nxt)
                get = rel.index(cols).get

                def neg(env: Env) -> None:
                    key = key_of(env)
                    if may_fail and _failed(key):
                        return
                    bucket = get(key)
                    if bucket and (not same or any(_same(r, same) for r in bucket)):
                        return
                    nxt(env)
                return neg
            return make_neg
        row_slot = self.slots.setdefault(f"#row{id(lit)}", len(self.slots))
        self.scans.append((i, pred, row_slot))
        self.scans.sort()

        # The relation and its index are resolved once per chain: sources do not
        # change while a chain runs (new facts are committed after it).
        def make_scan(nxt: Sink, sources: Sources) -> Sink:
            rel = sources(pred, use_delta)
            each = _row_loop(binds, same, row_slot, nxt)
            if not cols:
                rows = rel.rows
                return lambda env: each(env, rows)
            get = rel.index(cols).get

            def scan(env: Env) -> None:
                key = key_of(env)
                if may_fail and _failed(key):
                    return
                bucket = get(key)
                if bucket:
                    each(env, bucket)
            return scan
        return make_scan

    def _comparison(self, cmp: Comparison, bound: set[str]) -> Callable[[Sink, Sources], Sink]:
        op = cmp.op
        target: int | None = None
        expr: Term | None = None
        if op == "=":
            if isinstance(cmp.left, Var) and cmp.left.name not in bound:
                target, expr = self.slots[cmp.left.name], cmp.right
            elif isinstance(cmp.right, Var) and cmp.right.name not in bound:
                target, expr = self.slots[cmp.right.name], cmp.left
        if target is not None and expr is not None:
            f = compile_term(expr, self.slots)
            slot = target

            def make_assign(nxt: Sink, sources: Sources) -> Sink:
                def assign(env: Env) -> None:
                    v = f(env)
                    if v is not FAIL:
                        env[slot] = v
                        nxt(env)
                return assign
            return make_assign
        lf, rf = compile_term(cmp.left, self.slots), compile_term(cmp.right, self.slots)
        fast = _OPERATORS[op]

        def make_filter(nxt: Sink, sources: Sources) -> Sink:
            def filt(env: Env) -> None:
                a, b = lf(env), rf(env)
                kind = type(a)
                if kind is type(b) and kind in _PLAIN:  # compare's answer, without its checks
                    if fast(a, b):
                        nxt(env)
                elif a is not FAIL and b is not FAIL and compare(op, a, b):
                    nxt(env)
            return filt
        return make_filter

    def _aggregate(self, agg: Aggregate, i: int, bound: set[str],
                   body: tuple[BodyItem, ...]) -> Callable[[Sink, Sources], Sink]:
        inner_order = order_body(agg.body, bound)
        inner = Plan(agg.body, self.slots, inner_order, None, bound)
        local = sorted(set().union(*(variables(s) for s in agg.body)) | variables(agg.term))
        local = [v for v in local if v not in bound]
        # distinct matches: the local variables and the facts each inner atom matched
        local_slots = [self.slots[v] for v in local] + [slot for _, _, slot in inner.scans]
        term_f = compile_term(agg.term, self.slots)
        fn = agg.fn
        out = self.slots[agg.result.name]
        known = agg.result.name in bound
        holder: list[dict[tuple[Any, ...], Any]] = [{}]

        def collect(e: Env) -> None:
            seen = holder[0]
            key = tuple(e[s] for s in local_slots)
            if key not in seen:
                seen[key] = term_f(e)

        def make_agg(nxt: Sink, sources: Sources) -> Sink:
            inner_chain = inner.chain(collect, sources)

            def aggregate(env: Env) -> None:
                seen: dict[tuple[Any, ...], Any] = {}
                holder[0] = seen
                inner_chain(env)
                vals = [v for v in seen.values() if v is not FAIL]
                result = fold_aggregate(fn, vals)
                if result is FAIL:
                    return
                if known:  # the result variable is already bound: a test, not a binding
                    if compare("=", env[out], result):
                        nxt(env)
                    return
                env[out] = result
                nxt(env)
            return aggregate
        return make_agg


def _probe(terms: list[Term], slots: dict[str, int]) -> tuple[Callable[[Env], Any], bool]:
    """A function computing an index key from an environment, and whether it may FAIL.

    Keys follow ``Relation.index``: a bare value for one column, else a tuple.
    """
    if terms and all(isinstance(t, Var) for t in terms):
        return itemgetter(*(slots[t.name] for t in terms if isinstance(t, Var))), False
    fns = [compile_term(t, slots) for t in terms]
    may_fail = any(isinstance(t, Call) for t in terms)
    if len(fns) == 1:
        return fns[0], may_fail
    return (lambda env: tuple([f(env) for f in fns])), may_fail


def _failed(key: Any) -> bool:
    return key is FAIL or (isinstance(key, tuple) and any(k is FAIL for k in key))


def _same(row: Row, same: list[tuple[int, int]]) -> bool:
    return all(row[a] == row[b] for a, b in same)


def _negated_all(rel: Relation, same: list[tuple[int, int]], nxt: Sink) -> Sink:
    """``not p(_, _)``: continue only when no row (with repeated columns equal) exists."""
    def neg(env: Env) -> None:
        rows = rel.rows
        if rows and (not same or any(_same(r, same) for r in rows)):
            return
        nxt(env)
    return neg


def _row_loop(binds: list[tuple[int, int]], same: list[tuple[int, int]], row_slot: int,
              nxt: Sink) -> Callable[[Env, Iterable[Row]], None]:
    """The inner loop of a scan: bind each matching row's columns, then continue.

    Specialised for the common numbers of bound columns; the loop runs per row,
    so it avoids nested calls and generator expressions.
    """
    if same:
        def each_checked(env: Env, rows: Iterable[Row]) -> None:
            for row in rows:
                if _same(row, same):
                    for col, slot in binds:
                        env[slot] = row[col]
                    env[row_slot] = row
                    nxt(env)
        return each_checked
    if not binds:
        def each0(env: Env, rows: Iterable[Row]) -> None:
            for row in rows:
                env[row_slot] = row
                nxt(env)
        return each0
    if len(binds) == 1:
        ((c0, s0),) = binds

        def each1(env: Env, rows: Iterable[Row]) -> None:
            for row in rows:
                env[s0] = row[c0]
                env[row_slot] = row
                nxt(env)
        return each1
    if len(binds) == 2:
        (c0, s0), (c1, s1) = binds

        def each2(env: Env, rows: Iterable[Row]) -> None:
            for row in rows:
                env[s0] = row[c0]
                env[s1] = row[c1]
                env[row_slot] = row
                nxt(env)
        return each2

    def each(env: Env, rows: Iterable[Row]) -> None:
        for row in rows:
            for col, slot in binds:
                env[slot] = row[col]
            env[row_slot] = row
            nxt(env)
    return each


def fold_aggregate(fn: str, vals: list[Any]) -> Any:
    """The value of aggregate ``fn`` over ``vals`` (FAIL when undefined, e.g. max of nothing)."""
    if fn == "count":
        return len(vals)
    if fn == "sum":
        total: Any = 0
        for v in vals:
            total = _arith("+", total, v)
            if total is FAIL:
                return FAIL
        return total
    if not vals:
        return FAIL
    try:
        return max(vals) if fn == "max" else min(vals)
    except TypeError:
        return FAIL


def compile_body(body: tuple[BodyItem, ...], extra_vars: Iterable[str] = (),
                 delta_at: int | None = None) -> Plan:
    """Compile a body (plus variables used elsewhere, e.g. in the head) into a Plan."""
    names: set[str] = set(extra_vars)
    for item in body:
        names |= _all_vars(item)
    slots = {n: k for k, n in enumerate(sorted(names))}
    order = order_body(body, set(), delta_at)
    return Plan(body, slots, order, delta_at, set())


def _all_vars(item: BodyItem | Term) -> set[str]:
    if isinstance(item, Aggregate):
        out = {item.result.name} | variables(item.term)
        for sub in item.body:
            out |= _all_vars(sub)
        return out
    return variables(item)
