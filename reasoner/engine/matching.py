"""Matching rule conditions one at a time against a finished model (for proofs and why-not)."""

# The engine evaluates whole bodies in its own order; explaining an answer needs
# one condition at a time, in the order the rule was written, with the values
# bound so far. Term arithmetic and comparison reuse the engine's semantics
# (plan.compile_term and plan.compare) so that the two never disagree.

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Collection, Iterator, Mapping

from reasoner.engine.model import Model, Row
from reasoner.engine.plan import FAIL, compare, compile_term, fold_aggregate, order_body
from reasoner.lang.ir import Aggregate, Atom, BodyItem, Comparison, Const, Literal, Term, Value, Var, variables

__all__ = [
    "FAIL",
    "Env",
    "Pattern",
    "Index",
    "Aggregated",
    "eval_term",
    "instantiate",
    "assigned_var",
    "match_atom",
    "negation_blockers",
    "aggregate",
    "solutions",
    "negation_locals",
    "written_order",
    "row_key",
    "unify_head",
]

Env = dict[str, Any]
Pattern = tuple[Value | None, ...]
Match = tuple[str, Row]

# Lookups on the same columns of a predicate that scan before an index is built.
_SCANS_BEFORE_INDEX = 2

# sum as the engine computes it: exact, through the engine's own "+".


def row_key(row: tuple[Value, ...]) -> tuple[tuple[str, Any], ...]:
    """A total, deterministic order on rows of mixed value types."""
    return tuple((type(v).__name__, v) for v in row)


class Index:
    """Read-only, lazily indexed lookups into a model's relations.

    Rows come back sorted (``row_key``), so every search over them is deterministic.
    """

    def __init__(self, model: Model) -> None:
        self.model = model
        self._indexes: dict[tuple[str, tuple[int, ...]], dict[Any, list[Row]]] = {}
        self._found: dict[tuple[str, Pattern], tuple[Row, ...]] = {}
        self._asked: dict[tuple[str, tuple[int, ...]], int] = {}
        self.aggregates: dict[tuple[int, tuple[tuple[str, Any], ...]], "Aggregated"] = {}
        # solutions' plan per body object and bound variables (the body is kept so ids stay unique)
        self.plans: dict[tuple[int, frozenset[str]],
                         tuple[tuple[BodyItem, ...], list[tuple[Atom | None, BodyItem, int]], int]] = {}

    def rows(self, pred: str, pattern: Pattern) -> tuple[Row, ...]:
        """The rows of ``pred`` equal to ``pattern`` where it is not None, sorted."""
        memo = (pred, pattern)
        found = self._found.get(memo)
        if found is None:
            cols = tuple([i for i, v in enumerate(pattern) if v is not None])
            index = self._indexes.get((pred, cols))
            if index is not None:  # (the usual case, inline)
                bucket: Collection[Row] = index.get(
                    pattern[cols[0]] if len(cols) == 1 else tuple([pattern[i] for i in cols]), ())
            else:
                key: tuple[Any, ...] = tuple([pattern[i] for i in cols])
                bucket = self._bucket(pred, cols, key)
            found = tuple(bucket) if len(bucket) < 2 else tuple(sorted(bucket, key=row_key))
            self._found[memo] = found
        return found

    def group(self, pred: str, col: int) -> dict[Any, list[Row]]:
        """The rows of ``pred`` by their value in column ``col`` (unsorted)."""
        index = self._indexes.get((pred, (col,)))
        if index is None:
            index = self._indexes[(pred, (col,))] = {}
            for r in self.model.relations.get(pred, ()):
                index.setdefault(r[col], []).append(r)
        return index

    def _bucket(self, pred: str, cols: tuple[int, ...], key: tuple[Value, ...]) -> Collection[Row]:
        rows = self.model.relations.get(pred, set())
        if not cols:
            return rows
        get = itemgetter(*cols)
        want: Any = key[0] if len(cols) == 1 else key
        index = self._indexes.get((pred, cols))
        if index is None:
            asked = self._asked[(pred, cols)] = self._asked.get((pred, cols), 0) + 1
            if asked <= _SCANS_BEFORE_INDEX:
                # A scan costs less than an index that a proof may use once.
                return [r for r in rows if get(r) == want]
            index = {}
            for r in rows:
                index.setdefault(get(r), []).append(r)
            self._indexes[(pred, cols)] = index
        return index.get(want, ())


def eval_term(term: Term, env: Mapping[str, Any]) -> Any:
    """The term's value under ``env``; ``FAIL`` when undefined or a variable is unbound."""
    if isinstance(term, Const):
        return term.value
    if isinstance(term, Var):
        return env.get(term.name, FAIL)
    names = sorted(variables(term))
    if any(n not in env for n in names):
        return FAIL
    slots = {n: i for i, n in enumerate(names)}
    return compile_term(term, slots)([env[n] for n in names])


def instantiate(atom: Atom, env: Mapping[str, Any]) -> Pattern | None:
    """The atom's arguments under ``env``: values, or None for unbound variables.

    Returns None when an argument expression is undefined (e.g. division by zero).
    """
    out: list[Value | None] = []
    for arg in atom.args:
        if isinstance(arg, Var):
            out.append(None if arg.anonymous else env.get(arg.name))
            continue
        v = eval_term(arg, env)
        if v is FAIL:
            return None
        out.append(v)
    return tuple(out)


def _free_columns(atom: Atom, env: Mapping[str, Any]) -> list[tuple[int, str]]:
    return [
        (col, a.name) for col, a in enumerate(atom.args)
        if isinstance(a, Var) and not a.anonymous and a.name not in env
    ]


def _consistent(row: Row, free: list[tuple[int, str]]) -> dict[str, Value] | None:
    """Bindings of the free variables from ``row``, or None if a repeated one disagrees."""
    new: dict[str, Value] = {}
    for col, name in free:
        if name in new and not new[name] == row[col]:
            return None
        new[name] = row[col]
    return new


def match_atom(atom: Atom, env: Env, index: Index) -> Iterator[tuple[Env, Row]]:
    """Each extension of ``env`` under which the positive ``atom`` holds, with its row."""
    pattern: list[Value | None] = []
    free: list[tuple[int, str]] = []
    for col, arg in enumerate(atom.args):
        if isinstance(arg, Var):
            name = arg.name
            if name.startswith("_"):  # anonymous
                pattern.append(None)
            elif name in env:
                pattern.append(env[name])
            else:
                pattern.append(None)
                free.append((col, name))
            continue
        v = eval_term(arg, env)
        if v is FAIL:
            return
        pattern.append(v)
    rows = index.rows(atom.pred, tuple(pattern))
    if not free:
        for row in rows:
            yield env, row
        return
    if len(free) == len({name for _, name in free}):  # no repeated variable
        for row in rows:
            new = env.copy()
            for col, name in free:
                new[name] = row[col]
            yield new, row
        return
    for row in rows:
        bound = _consistent(row, free)
        if bound is not None:
            yield {**env, **bound}, row


def negation_blockers(atom: Atom, env: Env, index: Index) -> tuple[Row, ...]:
    """The rows that make ``not atom`` false under ``env`` (unbound variables: any)."""
    pattern = instantiate(atom, env)
    if pattern is None:
        return ()
    free = _free_columns(atom, env)
    return tuple(r for r in index.rows(atom.pred, pattern) if _consistent(r, free) is not None)


def assigned_var(cmp: Comparison, bound: set[str] | Mapping[str, Any]) -> Var | None:
    """The variable ``X`` that ``X = expr`` assigns given the bound variables, if any."""
    if cmp.op != "=":
        return None
    for target, expr in ((cmp.left, cmp.right), (cmp.right, cmp.left)):
        if isinstance(target, Var) and not target.anonymous and target.name not in bound \
                and all(v in bound for v in variables(expr)):
            return target
    return None


@dataclass(frozen=True, slots=True)
class Aggregated:
    """An aggregate computed as the engine does, with what contributed to it.

    Attributes:
        value: the result, or ``FAIL`` (e.g. ``max`` over no rows).
        contributions: one entry per distinct match of the local variables that
            counted: (its bindings, the positive facts it matched, in body order).
    """

    value: Any
    contributions: tuple[tuple[Env, tuple[Match, ...]], ...]


def aggregate(agg: Aggregate, env: Env, index: Index) -> Aggregated:
    """Evaluate ``Result = fn(Term : body)`` with the group variables bound in ``env``.

    Like the engine, it folds over the distinct values of the aggregate's named
    local variables (anonymous ``_`` positions do not make matches distinct).
    """
    inner: set[str] = variables(agg.term)
    for sub in agg.body:
        inner |= _all_vars(sub)
    memo = (id(agg), tuple((v, env[v]) for v in sorted(inner) if v in env))
    done = index.aggregates.get(memo)
    if done is not None:
        return done
    local = sorted(v for v in inner if v not in env)
    seen: dict[tuple[Any, ...], tuple[Any, Env, tuple[Match, ...]]] = {}
    for sol, facts in solutions(agg.body, env, index):
        key = tuple(sol.get(v) for v in local)
        if key not in seen:
            seen[key] = (eval_term(agg.term, sol), sol, facts)
    vals = [v for v, _, _ in seen.values() if v is not FAIL]
    counted = tuple((sol, facts) for v, sol, facts in seen.values() if v is not FAIL)
    index.aggregates[memo] = out = Aggregated(fold_aggregate(agg.fn, vals), counted)
    return out


def unify_head(head: Atom, pattern: Pattern) -> tuple[Env, tuple[Comparison, ...]] | None:
    """Bind the head's variables to a goal's values; None if the head cannot take them.

    None in ``pattern`` means any value. A head argument that is an expression
    becomes a check (``expr = value``) to run after the body.
    """
    env: Env = {}
    checks: list[Comparison] = []
    for arg, want in zip(head.args, pattern):
        if want is None:
            continue
        if isinstance(arg, Var):
            if arg.name in env and not compare("=", env[arg.name], want):
                return None
            env[arg.name] = want
        elif isinstance(arg, Const):
            if not compare("=", arg.value, want):
                return None
        else:
            checks.append(Comparison("=", arg, Const(want), arg.span))
    return env, tuple(checks)


def step(item: BodyItem, env: Env, index: Index) -> Iterator[tuple[Env, Match | None]]:
    """Each extension of ``env`` that satisfies one condition, with the fact it matched."""
    if isinstance(item, Literal):
        if item.negated:
            if not negation_blockers(item.atom, env, index):
                yield env, None
            return
        for new, row in match_atom(item.atom, env, index):
            yield new, (item.atom.pred, row)
        return
    if isinstance(item, Comparison):
        target = assigned_var(item, env)
        if target is not None:
            expr = item.right if target is item.left else item.left
            v = eval_term(expr, env)
            if v is not FAIL:
                yield {**env, target.name: v}, None
            return
        a, b = eval_term(item.left, env), eval_term(item.right, env)
        if a is not FAIL and b is not FAIL and compare(item.op, a, b):
            yield env, None
        return
    result = aggregate(item, env, index)
    if result.value is FAIL:
        return
    name = item.result.name
    if name in env:
        if compare("=", env[name], result.value):
            yield env, None
        return
    yield {**env, name: result.value}, None


def solutions(
    body: tuple[BodyItem, ...], env: Env, index: Index
) -> Iterator[tuple[Env, tuple[Match, ...]]]:
    """Every solution of ``body`` extending ``env``, with the facts matched (body order)."""
    memo = (id(body), frozenset(env))
    plan = index.plans.get(memo)
    if plan is None or plan[0] is not body:
        try:
            order = order_body(body, set(env))
        except ValueError:
            order = list(range(len(body)))
        positions = {i: k for k, i in enumerate(i for i, b in enumerate(body)
                                                if isinstance(b, Literal) and not b.negated)}
        # per condition in evaluation order: the positive atom (or None) and its fact's slot
        steps: list[tuple[Atom | None, BodyItem, int]] = []
        for i in order:
            item = body[i]
            atom = item.atom if isinstance(item, Literal) and not item.negated else None
            steps.append((atom, item, positions.get(i, -1)))
        plan = index.plans[memo] = (body, steps, len(positions))
    _, steps, n_facts = plan
    if not steps:
        yield dict(env), ()
        return
    facts: list[Any] = [None] * n_facts
    last = len(steps) - 1

    def extend(k: int, cur: Env) -> Iterator[tuple[Env, Any]]:
        atom, item, _ = steps[k]
        if atom is None:
            return step(item, cur, index)
        return match_atom(atom, cur, index)

    # depth-first over the conditions; facts[slot] holds the current match of each atom
    stack = [extend(0, dict(env))]
    while stack:
        k = len(stack) - 1
        found = next(stack[k], None)
        if found is None:
            stack.pop()
            continue
        new, match = found
        atom, _, slot = steps[k]
        if atom is not None:
            facts[slot] = (atom.pred, match)
        if k == last:
            yield new, tuple(facts)
        else:
            stack.append(extend(k + 1, new))


def negation_locals(body: tuple[BodyItem, ...]) -> dict[int, set[str]]:
    """For each negated literal, its variables that occur nowhere else (they mean "any")."""
    counts: dict[str, int] = {}
    for item in body:
        for v in variables(item):
            counts[v] = counts.get(v, 0) + 1
    return {
        i: {v for v in variables(item) if counts[v] == 1}
        for i, item in enumerate(body) if isinstance(item, Literal) and item.negated
    }


def written_order(body: tuple[BodyItem, ...], bound: set[str]) -> list[int]:
    """The body in written order, except that a condition waits until its inputs are bound.

    A comparison, negation, aggregate or atom with an expression argument whose
    variables are not yet bound moves to just after the condition that binds them.
    """
    locals_ = negation_locals(body)
    group = _group_vars(body)
    bound = set(bound)
    order: list[int] = []
    waiting: list[int] = []

    def ready(i: int) -> bool:
        item = body[i]
        if isinstance(item, Literal):
            if item.negated:
                return variables(item) - locals_.get(i, set()) <= bound
            return all(variables(a) <= bound for a in item.atom.args if not isinstance(a, Var))
        if isinstance(item, Comparison):
            return variables(item) <= bound or assigned_var(item, bound) is not None
        return group[i] <= bound

    def take(i: int) -> None:
        order.append(i)
        item = body[i]
        bound.update(variables(item) - locals_.get(i, set()))

    for i in range(len(body)):
        if ready(i):
            take(i)
            progress = True
            while progress:
                progress = False
                for j in list(waiting):
                    if ready(j):
                        waiting.remove(j)
                        take(j)
                        progress = True
                        break
        else:
            waiting.append(i)
    return order + waiting


def _group_vars(body: tuple[BodyItem, ...]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for i, item in enumerate(body):
        if not isinstance(item, Aggregate):
            continue
        inner = variables(item.term)
        for sub in item.body:
            inner |= _all_vars(sub)
        outside: set[str] = set()
        for j, other in enumerate(body):
            if j != i:
                outside |= variables(other)
        out[i] = inner & outside
    return out


def _all_vars(item: BodyItem) -> set[str]:
    if isinstance(item, Aggregate):
        out = {item.result.name} | variables(item.term)
        for sub in item.body:
            out |= _all_vars(sub)
        return out
    return variables(item)
