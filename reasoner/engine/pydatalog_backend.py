"""The pyDatalog backend: the one module of earlog that imports pyDatalog.

Everything that touches pyDatalog stays here, hence past 500 lines.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from decimal import Context, localcontext
from functools import reduce
from typing import Any, Iterable, Iterator, Mapping

from pyDatalog import pyDatalog, pyEngine, pyParser

from reasoner.lang.checks import CheckedProgram, bound_variables, growth_warnings
from reasoner.lang.errors import EarlogError, EngineError, UnsupportedProgramError
from reasoner.lang.ir import (Aggregate, Atom, BodyItem, Call, Comparison, Const, Fact, Literal, Rule, Term,
                  Value, Var, variables)
from reasoner.lang.span import Span
from reasoner.engine.model import Model, Row, given_rows
from reasoner.engine.plan import FAIL, apply_function, compare, fold_aggregate
from reasoner.engine.seminaive import SemiNaiveEngine

__all__ = ["PyDatalogEngine", "refuse_unsupported"]

# pyDatalog keeps one global (thread-local) database: one evaluation at a time.
_LOCK = threading.Lock()
_CTX = Context(prec=80)
# pyDatalog's Term() reads these strings as something else (True, False, a fresh
# variable); _const builds them below its parser.
_MISREAD_STRINGS = frozenset({"True", "False", "??"})
_HINT = "use the default engine (--engine earlog), which runs every checked program"


def _apply(fn: str, *args: Any) -> Any:
    return apply_function(fn, list(args))


def _compare(op: str, a: Any, b: Any) -> bool:
    return a is not FAIL and b is not FAIL and compare(op, a, b)


# Python functions pyDatalog may call inside clauses: earlog's own exact
# arithmetic and comparisons, so both engines agree value for value.
_APPLY = pyDatalog._pyD_decorator(_apply)
_COMPARE = pyDatalog._pyD_decorator(_compare)


class PyDatalogEngine:
    """Evaluation by pyDatalog (tabled top-down), one program component at a time.

    What pyDatalog computes: every join, negation and comparison of every rule
    (comparisons and arithmetic through earlog's own exact functions, which
    pyDatalog calls), and the matches of each aggregate's body. What Python
    computes: the aggregates themselves. An aggregate's body reads only lower
    components, which are complete when its component runs, so its distinct
    matches are asked of pyDatalog once, as a query; Python then folds them per
    group with the evaluator's own ``fold_aggregate`` (and applies the body's
    conditions on variables bound outside the aggregate, e.g. ``D2 <= D``), and
    pyDatalog reads each group's value through a Python function. pyDatalog's
    own ``sum_``/``len_``/``min_``/``max_`` are not used: they define a value
    only for groups with at least one match, where ``count`` and ``sum`` of
    no matches are 0 here.

    It refuses, with ``UnsupportedProgramError``, what it cannot run safely or
    exactly: right recursion, booleans, expressions inside ``not``, nested
    aggregates, and an aggregate whose result variable is also bound elsewhere
    in its rule. It records no provenance.
    """

    name = "pydatalog"

    def evaluate(
        self, checked: CheckedProgram, facts: Iterable[Fact] = (), provenance: bool = True
    ) -> Model:
        """Compute the least stratified model of ``checked`` plus ``facts``.

        Args:
            checked: a program that passed ``checks.check``.
            facts: extra given facts.
            provenance: ignored: pyDatalog cannot say how a fact was derived.

        Returns:
            The model, with ``provenance`` None.

        Raises:
            UnsupportedProgramError: the program uses what this backend refuses.
            EngineError: a given fact has the wrong arity, pyDatalog failed, or a rule
                that computes new values in a recursion derives past the evaluation limits.
        """
        refuse_unsupported(checked)
        facts = tuple(facts)
        if growth_warnings(checked):
            # pyDatalog cannot be stopped: a rule that may derive without end is first run
            # by our evaluator, which stops at its limits with an error naming the rule
            SemiNaiveEngine().evaluate(checked, facts, provenance=False)
        rels, given = _given_facts(checked, facts)
        with _LOCK, localcontext(_CTX):
            for component in checked.strata:
                _run_component([checked.rules[i] for i in component], rels, checked.arity)
        return Model(rels, None, given)


def refuse_unsupported(checked: CheckedProgram) -> None:
    """Raise ``UnsupportedProgramError`` for the first rule this backend cannot run.

    Raises:
        UnsupportedProgramError: right recursion, a boolean constant, an
            expression inside a negated atom, a nested aggregate, or an
            aggregate result bound elsewhere in its rule.
    """
    for component in checked.strata:
        heads = {checked.rules[i].head.pred for i in component}
        for i in component:
            _refuse_rule(checked.rules[i], heads)


def _refuse_rule(rule: Rule, component_heads: set[str]) -> None:
    for k, item in enumerate(rule.body):
        if isinstance(item, Aggregate):
            _refuse_aggregate(item, rule.body[:k] + rule.body[k + 1:])
    for item in _items(rule.body):
        if isinstance(item, Literal) and item.negated and any(
                isinstance(a, Call) for a in item.atom.args):
            raise _unsupported("pyDatalog cannot evaluate expressions inside 'not'", item.span)
    positives = [i.atom for i in rule.body if isinstance(i, Literal) and not i.negated]
    recursive = [a for a in positives if a.pred in component_heads]
    if recursive and positives[0].pred not in component_heads:
        raise _unsupported(
            f"right recursion through '{recursive[0].pred}': pyDatalog does not terminate "
            "on it over cyclic data", recursive[0].span)
    for term in _constants(rule):
        _refuse_value(term.value, term.span)


def _refuse_aggregate(agg: Aggregate, others: tuple[BodyItem, ...]) -> None:
    if any(isinstance(i, Aggregate) for i in agg.body):
        raise _unsupported("an aggregate inside an aggregate", agg.span)
    # Earlog's evaluator compares such a variable with the aggregate's value; this
    # backend reads an aggregate's value as an assignment and does not do that test.
    if agg.result.name in bound_variables(others):
        raise _unsupported(
            f"'{agg.result.name}' is an aggregate's result and is also bound elsewhere in "
            "the rule", agg.span)


def _items(body: Iterable[BodyItem]) -> Iterator[BodyItem]:
    """Every body item, those inside aggregates included."""
    for item in body:
        yield item
        if isinstance(item, Aggregate):
            yield from _items(item.body)


def _constants(rule: Rule) -> list[Const]:
    out: list[Const] = []

    def walk(t: Term) -> None:
        if isinstance(t, Const):
            out.append(t)
        elif isinstance(t, Call):
            for a in t.args:
                walk(a)

    for a in rule.head.args:
        walk(a)
    for item in _items(rule.body):
        if isinstance(item, Literal):
            for a in item.atom.args:
                walk(a)
        elif isinstance(item, Comparison):
            walk(item.left)
            walk(item.right)
        else:
            walk(item.term)
    return out


def _refuse_value(v: Value, span: Span) -> None:
    # Earlog's evaluator matches true with 1 in joins (Python hashing) but not in
    # comparisons, so its answer depends on its join order; pyDatalog's differs.
    # Neither the rulebook nor scenario facts use booleans.
    if isinstance(v, bool):
        raise _unsupported("pyDatalog does not tell true/false from 1/0", span)


def _unsupported(message: str, span: Span) -> UnsupportedProgramError:
    return UnsupportedProgramError(f"the pyDatalog backend refuses this: {message}", span, _HINT)


def _given_facts(
    checked: CheckedProgram, facts: Iterable[Fact]
) -> tuple[dict[str, set[Row]], dict[tuple[str, Row], Fact]]:
    """``model.given_rows``, with a set for every predicate and a value pyDatalog
    cannot hold refused."""
    rows, given = given_rows(checked, facts)
    for fact in given.values():
        for v in fact.values:
            _refuse_value(v, fact.span)
    return {p: rows.get(p, set()) for p in {*checked.arity, *rows}}, given


def _run_component(rules: list[Rule], rels: dict[str, set[Row]], arity: Mapping[str, int]) -> None:
    """Evaluate one strongly connected component over the facts known so far.

    Every predicate it reads from lower components is loaded as plain facts, so
    negation in pyDatalog only ever meets complete relations, and aggregates
    are folded over complete matches.
    """
    pyDatalog.clear()
    try:
        names = _Names()
        used = {r.head.pred for r in rules} | {a.pred for r in rules for a in _atoms(r.body)}
        for pred in sorted(used):
            names.pred(pred)
            _load(names.ids[pred], rels.get(pred, set()), arity.get(pred, 0))
        for rule in rules:
            builder = _ClauseBuilder(names)
            for k, item in enumerate(rule.body):
                if isinstance(item, Aggregate):
                    outside = set().union(*(variables(i) for j, i in enumerate(rule.body) if j != k))
                    builder.aggregates[id(item)] = _AggregateTable(item, outside, names, rels)
            builder.add(rule)
        for pred in sorted({r.head.pred for r in rules}):
            rels.setdefault(pred, set()).update(_ask(names.pred(pred), _arity(pred, rules)))
    except EarlogError:
        raise
    except Exception as exc:  # pyDatalog's own failures, whatever their kind
        raise EngineError(
            f"pyDatalog failed: {type(exc).__name__}: {exc}", rules[0].span, _HINT) from exc
    finally:
        pyDatalog.clear()


def _load(name: str, rows: set[Row], arity: int) -> None:
    """Assert ``rows`` as facts of the predicate ``name``; an empty relation must still be defined.

    Facts go straight to pyDatalog's engine (what ``+p(...)`` ends in): its
    parser costs about 0.3 ms a fact, most of an evaluation's time otherwise.
    """
    for row in rows:
        pyEngine.assert_(pyEngine.Clause(pyEngine.Literal(name, [pyEngine.Term_of(v) for v in row]), []))
    if not rows:  # pyDatalog rejects a query of a predicate it never saw
        pyEngine.insert(pyEngine.Pred(name, arity))


def _atoms(body: Iterable[BodyItem]) -> list[Atom]:
    """The atoms of a body, those inside aggregates included."""
    return [i.atom for i in _items(body) if isinstance(i, Literal)]


def _arity(pred: str, rules: list[Rule]) -> int:
    return next(len(r.head.args) for r in rules if r.head.pred == pred)


def _ask(pred: Any, arity: int) -> set[Row]:
    query = pred(*[pyParser.Term(f"Q{i}") for i in range(arity)])
    answer = query.ask()
    if answer is True:
        return {()}
    return {tuple(row) for row in answer or ()}


def _const(v: Any) -> Any:
    if isinstance(v, str) and v in _MISREAD_STRINGS:
        # pyParser.Term would turn these into True, False or a variable: build
        # the constant expression with its engine term made directly.
        term = pyParser.Term("c", forced_type="constant")
        term._pyD_value, term._pyD_name, term._pyD_lua = v, v, pyEngine.Term_of(v)
        return term
    return pyParser.Expression._pyD_for(v)


@dataclass
class _Names:
    """Safe generated names: predicates p0, p1, ...; variables V0, V1, ..."""

    preds: dict[str, Any] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    count: int = 0

    def pred(self, name: str) -> Any:
        if name not in self.preds:
            self.ids[name] = f"p{len(self.preds)}"
            self.preds[name] = pyParser.Term(self.ids[name])
        return self.preds[name]

    def fresh_name(self) -> str:
        """A new predicate's name, which no program can use (earlog names have no '#')."""
        name = f"#aux{len(self.preds)}"
        self.pred(name)
        return name

    def fresh_var(self) -> Any:
        self.count += 1
        return pyParser.Term(f"V{self.count}")


class _AggregateTable:
    """One aggregate's value per group, from its body's matches asked of pyDatalog.

    The body is split in two. The part that needs no variable from outside the
    aggregate becomes a pyDatalog predicate whose columns are every variable it
    binds, with each ``_`` and each expression argument of an atom given a
    column of its own: its answers are the body's distinct matches (for a fixed
    group, distinct rows are distinct matched facts, as in ``plan.Plan``). The
    rest (conditions reading outer variables) is applied in Python per group.
    ``fn`` is the Python function pyDatalog calls with the group's values.
    """

    def __init__(self, agg: Aggregate, outside: set[str], names: _Names,
                 rels: Mapping[str, set[Row]]) -> None:
        self.agg = agg
        self.rels = rels
        body = _columned(agg.body)
        inner: set[str] = set().union(variables(agg.term), *(variables(i) for i in body))
        self.group = tuple(sorted(inner & outside))
        standalone = [i for i in body if not isinstance(i, Aggregate) and not (
            isinstance(i, Literal) and i.negated)]
        bound = bound_variables(standalone)
        reachable = bound_variables(body, set(self.group)) | set(self.group)
        self.pushed = [i for i in body if _standalone(i, bound, reachable)]
        self.rest = [i for i in body if not _standalone(i, bound, reachable)]
        self.columns = tuple(sorted(bound))
        keys = [self.columns.index(g) for g in self.group if g in bound]
        self.groups: dict[tuple[Any, ...], list[Row]] = {}
        for row in self._matches(names):
            self.groups.setdefault(tuple(row[i] for i in keys), []).append(row)
        self.keys = tuple(i for i, g in enumerate(self.group) if g in bound)
        self.memo: dict[tuple[Any, ...], Any] = {}
        self.fn = pyDatalog._pyD_decorator(self.value)

    def _matches(self, names: _Names) -> set[Row]:
        if not self.pushed:
            return {()}
        pred = names.fresh_name()
        head = Atom(pred, tuple(Var(c) for c in self.columns), self.agg.span)
        _ClauseBuilder(names).add(Rule(head, tuple(self.pushed), span=self.agg.span))
        return _ask(names.pred(pred), len(self.columns))

    def value(self, _tag: Any, *group: Any) -> Any:
        """The aggregate's value for the group's values (in ``self.group`` order)."""
        got = self.memo.get(group, _MISSING)
        if got is _MISSING:
            got = self.memo[group] = self._fold(group)
        return got

    def _fold(self, group: tuple[Any, ...]) -> Any:
        outer = dict(zip(self.group, group))
        vals: list[Any] = []
        for row in self.groups.get(tuple(group[i] for i in self.keys), ()):
            env = dict(zip(self.columns, row))
            env.update(outer)  # the group's values as bound outside, as plan.Plan reads them
            if self.rest and not _conditions(self.rest, env, self.rels):
                continue
            v = _evaluate(self.agg.term, env)
            if v is not FAIL:
                vals.append(v)
        return fold_aggregate(self.agg.fn, vals)


_MISSING: Any = object()


def _columned(body: tuple[BodyItem, ...]) -> list[BodyItem]:
    """``body`` with each ``_`` and expression argument of a positive atom a named
    variable of its own (``#c1``, ...), an expression equated to it by a condition."""
    out: list[BodyItem] = []
    extra: list[BodyItem] = []
    fresh = itertools.count(1)
    for item in body:
        if not isinstance(item, Literal) or item.negated:
            out.append(item)
            continue
        args: list[Term] = []
        for a in item.atom.args:
            if isinstance(a, Const) or (isinstance(a, Var) and not a.anonymous):
                args.append(a)
                continue
            v = Var(f"#c{next(fresh)}", a.span)
            if isinstance(a, Call):
                extra.append(Comparison("=", v, a, a.span))
            args.append(v)
        out.append(Literal(Atom(item.atom.pred, tuple(args), item.atom.span)))
    return out + extra


def _standalone(item: BodyItem, bound: set[str], reachable: set[str]) -> bool:
    """Whether pyDatalog can evaluate ``item`` without the aggregate's outer variables."""
    if isinstance(item, Literal) and not item.negated:
        return True
    if isinstance(item, Comparison):
        return variables(item) <= bound
    # a negation's variables bound nowhere are local to it (Nemo's reading)
    return isinstance(item, Literal) and variables(item) & reachable <= bound


def _conditions(items: list[BodyItem], env: dict[str, Any], rels: Mapping[str, set[Row]]) -> bool:
    """Apply comparisons, assignments and negations to ``env`` (extended in place):
    whether they all hold. Assignments run once their inputs are bound."""
    todo = [i for i in items if isinstance(i, Comparison)]
    while todo:
        for cmp in todo:
            need_l, need_r = variables(cmp.left) - env.keys(), variables(cmp.right) - env.keys()
            if not need_l and not need_r:
                if not _compare(cmp.op, _evaluate(cmp.left, env), _evaluate(cmp.right, env)):
                    return False
            elif cmp.op == "=" and isinstance(cmp.left, Var) and not need_r:
                if not _assign(env, cmp.left.name, cmp.right):
                    return False
            elif cmp.op == "=" and isinstance(cmp.right, Var) and not need_l:
                if not _assign(env, cmp.right.name, cmp.left):
                    return False
            else:
                continue
            todo.remove(cmp)
            break
        else:
            raise _unsupported("a comparison's variables are never bound", todo[0].span)
    return all(_absent(i.atom, env, rels.get(i.atom.pred, set()))
               for i in items if isinstance(i, Literal))


def _assign(env: dict[str, Any], name: str, expr: Term) -> bool:
    v = _evaluate(expr, env)
    env[name] = v
    return v is not FAIL


def _absent(atom: Atom, env: Mapping[str, Any], rows: set[Row]) -> bool:
    """``not atom``: no row matches; variables unbound in ``env`` match anything
    (the same value wherever one repeats)."""
    fixed: list[tuple[int, Any]] = []
    first: dict[str, int] = {}
    same: list[tuple[int, int]] = []
    for col, a in enumerate(atom.args):
        if isinstance(a, Const):
            fixed.append((col, a.value))
        elif isinstance(a, Var) and not a.anonymous:
            if a.name in env:
                fixed.append((col, env[a.name]))
            elif a.name in first:
                same.append((first[a.name], col))
            else:
                first[a.name] = col
    return not any(all(row[c] == v for c, v in fixed) and all(row[a] == row[b] for a, b in same)
                   for row in rows)


def _evaluate(term: Term, env: Mapping[str, Any]) -> Any:
    if isinstance(term, Var):
        return env[term.name]
    if isinstance(term, Const):
        return term.value
    return apply_function(term.fn, [_evaluate(a, env) for a in term.args])


class _ClauseBuilder:
    """Turns one rule into pyDatalog clauses, literals reordered for pyDatalog.

    Body order: positive atoms (in rule order, so a left-recursive atom stays
    first), then comparisons and aggregate lookups as their variables become
    bound, then negations.
    """

    def __init__(self, names: _Names) -> None:
        self.names = names
        self.vars: dict[str, Any] = {}
        self.checks: list[Comparison] = []
        self.hidden_count = 0
        # id of an Aggregate of the rule -> its table; its value is read by an
        # assignment ``Result = <table>(group...)`` placed like any other
        self.aggregates: dict[int, _AggregateTable] = {}
        self.functions: dict[str, Any] = {}

    def var(self, v: Var) -> Any:
        if v.anonymous:
            return self.names.fresh_var()
        if v.name not in self.vars:
            self.vars[v.name] = self.names.fresh_var()
        return self.vars[v.name]

    def hidden(self, expr: Term) -> Var:
        """A fresh variable standing for ``expr``, equated to it by a later check."""
        self.hidden_count += 1
        v = Var(f"#{self.hidden_count}")
        self.checks.append(Comparison("=", v, expr))
        return v

    def add(self, rule: Rule) -> None:
        positives = [i for i in rule.body if isinstance(i, Literal) and not i.negated]
        atoms = [self.atom(lit.atom) for lit in positives]
        bound = set(self.vars)
        self.checks += [i for i in rule.body if isinstance(i, Comparison)]
        for item in rule.body:
            if isinstance(item, Aggregate):
                table = self.aggregates[id(item)]
                fn = f"#aggregate{len(self.functions)}"
                self.functions[fn] = table.fn
                call = Call(fn, tuple(Var(g) for g in table.group), item.span)
                self.checks.append(Comparison("=", item.result, call, item.span))
        head_args = [a if not isinstance(a, Call) else self.hidden(a) for a in rule.head.args]
        comparisons = self.comparisons(bound)
        negations = [self.negation(i.atom, bound) for i in rule.body
                     if isinstance(i, Literal) and i.negated]
        head = self.names.pred(rule.head.pred)(*[self.term(a) for a in head_args])
        body = atoms + comparisons + negations
        if not body:
            +head
            return
        head <= reduce(lambda a, b: a & b, body)

    def atom(self, atom: Atom) -> Any:
        args = [a if not isinstance(a, Call) else self.hidden(a) for a in atom.args]
        return self.names.pred(atom.pred)(*[self.term(a) for a in args])

    def term(self, t: Term) -> Any:
        if isinstance(t, Var):
            return self.var(t)
        if isinstance(t, Const):
            return _const(t.value)
        if t.fn in self.functions:
            return self.functions[t.fn](_const(0), *[self.term(a) for a in t.args])
        return _APPLY(t.fn, *[self.term(a) for a in t.args])

    def comparisons(self, bound: set[str]) -> list[Any]:
        """Filters and assignments, each placed once its inputs are bound."""
        out: list[Any] = []
        todo = list(self.checks)
        while todo:
            for cmp in todo:
                step = self.comparison(cmp, bound)
                if step is not None:
                    out.extend(step)
                    todo.remove(cmp)
                    break
            else:
                raise _unsupported("a comparison's variables are never bound", todo[0].span)
        return out

    def comparison(self, cmp: Comparison, bound: set[str]) -> list[Any] | None:
        need_l, need_r = _names(cmp.left) - bound, _names(cmp.right) - bound
        if not need_l and not need_r:
            return [_COMPARE(cmp.op, self.term(cmp.left), self.term(cmp.right)) == _const(True)]
        if cmp.op != "=":
            return None
        for target, expr, need in ((cmp.left, cmp.right, need_r), (cmp.right, cmp.left, need_l)):
            if isinstance(target, Var) and not need:
                bound.add(target.name)
                assign = self.var(target) == self.term(expr)
                if isinstance(expr, Call):
                    return [assign, self.var(target) != _const(FAIL)]
                return [assign]
        return None

    def negation(self, atom: Atom, bound: set[str]) -> Any:
        """``not p(...)``; variables local to it are projected away by an auxiliary predicate."""
        if all(isinstance(a, Const) or (isinstance(a, Var) and not a.anonymous and a.name in bound)
               for a in atom.args):
            return ~self.atom(atom)
        keep = sorted({a.name for a in atom.args if isinstance(a, Var) and a.name in bound})
        aux = self.names.pred(self.names.fresh_name())
        local = _ClauseBuilder(self.names)
        local.vars = {n: self.vars[n] for n in keep}
        aux(*[self.vars[n] for n in keep]) <= local.atom(atom)
        return ~aux(*[self.vars[n] for n in keep])


def _names(t: Term) -> set[str]:
    if isinstance(t, Var):
        return set() if t.anonymous else {t.name}
    if isinstance(t, Call):
        return set().union(*(_names(a) for a in t.args))
    return set()
