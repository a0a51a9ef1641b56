"""The pyDatalog backend: the one module of earlog that imports pyDatalog."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Context, localcontext
from functools import reduce
from typing import Any, Iterable, Mapping

from pyDatalog import pyDatalog, pyParser

from ..checks import CheckedProgram
from ..errors import EarlogError, EngineError, UnsupportedProgramError
from ..ir import Aggregate, Atom, BodyItem, Call, Comparison, Const, Fact, Literal, Rule, Term, Value, Var
from ..span import Span
from .model import Model, Row
from .plan import FAIL, apply_function, compare

__all__ = ["PyDatalogEngine", "refuse_unsupported"]

# pyDatalog keeps one global (thread-local) database: one evaluation at a time.
_LOCK = threading.Lock()
_CTX = Context(prec=80)
# pyDatalog reads these strings as something else (True, False, a fresh variable).
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

    It refuses, with ``UnsupportedProgramError``, what pyDatalog cannot run
    safely or exactly: aggregates, right recursion, booleans and a few strings
    pyDatalog misreads. It records no provenance.
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
            EngineError: a given fact has the wrong arity, or pyDatalog failed.
        """
        refuse_unsupported(checked)
        rels, given = _given_facts(checked, facts)
        with _LOCK, localcontext(_CTX):
            for component in checked.strata:
                _run_component([checked.rules[i] for i in component], rels, checked.arity)
        return Model(rels, None, given)


def refuse_unsupported(checked: CheckedProgram) -> None:
    """Raise ``UnsupportedProgramError`` for the first rule this backend cannot run.

    Raises:
        UnsupportedProgramError: an aggregate, right recursion, a boolean constant,
            or an expression inside a negated atom.
    """
    for component in checked.strata:
        heads = {checked.rules[i].head.pred for i in component}
        for i in component:
            _refuse_rule(checked.rules[i], heads)


def _refuse_rule(rule: Rule, component_heads: set[str]) -> None:
    for item in rule.body:
        if isinstance(item, Aggregate):
            raise _unsupported("pyDatalog cannot compute aggregates exactly", item.span)
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


def _constants(rule: Rule) -> list[Const]:
    out: list[Const] = []

    def walk(t: Term) -> None:
        if isinstance(t, Const):
            out.append(t)
        elif isinstance(t, Call):
            for a in t.args:
                walk(a)

    for atom in [rule.head] + [i.atom for i in rule.body if isinstance(i, Literal)]:
        for a in atom.args:
            walk(a)
    for item in rule.body:
        if isinstance(item, Comparison):
            walk(item.left)
            walk(item.right)
    return out


def _refuse_value(v: Value, span: Span) -> None:
    if isinstance(v, bool):
        raise _unsupported("pyDatalog does not tell true/false from 1/0", span)
    if isinstance(v, str) and v in _MISREAD_STRINGS:
        raise _unsupported(f"pyDatalog misreads the string \"{v}\"", span)


def _unsupported(message: str, span: Span) -> UnsupportedProgramError:
    return UnsupportedProgramError(f"the pyDatalog backend refuses this: {message}", span, _HINT)


def _given_facts(
    checked: CheckedProgram, facts: Iterable[Fact]
) -> tuple[dict[str, set[Row]], dict[tuple[str, Row], Fact]]:
    rels: dict[str, set[Row]] = {p: set() for p in checked.arity}
    given: dict[tuple[str, Row], Fact] = {}
    for fact in (*checked.program.facts, *facts):
        want = checked.arity.get(fact.pred)
        if want is not None and want != len(fact.values):
            raise EngineError(
                f"fact {fact} has {len(fact.values)} argument(s); '{fact.pred}' takes {want}",
                fact.span, "check the fact file against the predicate's declaration")
        for v in fact.values:
            _refuse_value(v, fact.span)
        rows = rels.setdefault(fact.pred, set())
        if fact.values not in rows:
            rows.add(fact.values)
            given[(fact.pred, fact.values)] = fact
    return rels, given


def _run_component(rules: list[Rule], rels: dict[str, set[Row]], arity: Mapping[str, int]) -> None:
    """Evaluate one strongly connected component over the facts known so far.

    Every predicate it reads from lower components is loaded as plain facts, so
    negation in pyDatalog only ever meets complete relations.
    """
    pyDatalog.clear()
    try:
        names = _Names()
        used = {r.head.pred for r in rules} | {a.pred for r in rules for a in _atoms(r.body)}
        for pred in sorted(used):
            _load(names.pred(pred), rels.get(pred, set()), arity.get(pred, 0))
        for rule in rules:
            _ClauseBuilder(names).add(rule)
        for pred in sorted({r.head.pred for r in rules}):
            rels.setdefault(pred, set()).update(_ask(names.pred(pred), _arity(pred, rules)))
    except EarlogError:
        raise
    except Exception as exc:  # pyDatalog's own failures, whatever their kind
        raise EngineError(
            f"pyDatalog failed: {type(exc).__name__}: {exc}", rules[0].span, _HINT) from exc
    finally:
        pyDatalog.clear()


def _load(pred: Any, rows: set[Row], arity: int) -> None:
    """Assert ``rows`` as facts of ``pred``; an empty relation must still be defined."""
    for row in rows:
        +pred(*[_const(v) for v in row])
    if not rows:  # pyDatalog rejects a query of a predicate it never saw
        dummy = [_const(0)] * arity
        +pred(*dummy)
        -pred(*dummy)


def _atoms(body: tuple[BodyItem, ...]) -> list[Atom]:
    return [i.atom for i in body if isinstance(i, Literal)]


def _arity(pred: str, rules: list[Rule]) -> int:
    return next(len(r.head.args) for r in rules if r.head.pred == pred)


def _ask(pred: Any, arity: int) -> set[Row]:
    query = pred(*[pyParser.Term(f"Q{i}") for i in range(arity)])
    answer = query.ask()
    if answer is True:
        return {()}
    return {tuple(row) for row in answer or ()}


def _const(v: Any) -> Any:
    return pyParser.Expression._pyD_for(v)


@dataclass
class _Names:
    """Safe generated names: predicates p0, p1, ...; variables V0, V1, ..."""

    preds: dict[str, Any] = field(default_factory=dict)
    count: int = 0

    def pred(self, name: str) -> Any:
        if name not in self.preds:
            self.preds[name] = pyParser.Term(f"p{len(self.preds)}")
        return self.preds[name]

    def fresh_pred(self) -> Any:
        return self.pred(f"#aux{len(self.preds)}")

    def fresh_var(self) -> Any:
        self.count += 1
        return pyParser.Term(f"V{self.count}")


class _ClauseBuilder:
    """Turns one rule into pyDatalog clauses, literals reordered for pyDatalog.

    Body order: positive atoms (in rule order, so a left-recursive atom stays
    first), then comparisons as their variables become bound, then negations.
    """

    def __init__(self, names: _Names) -> None:
        self.names = names
        self.vars: dict[str, Any] = {}
        self.checks: list[Comparison] = []
        self.hidden_count = 0

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
        aux = self.names.fresh_pred()
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
