"""Differential test: the engines agree with a tiny naive evaluator on random programs."""

from __future__ import annotations

import operator
import time
from dataclasses import dataclass
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reasoner.lang.checks import check
from reasoner.engine import SemiNaiveEngine
from reasoner.engine.pydatalog_backend import PyDatalogEngine
from reasoner.lang.errors import CheckFailed, UnsupportedProgramError
from reasoner.lang.ir import Fact
from reasoner.lang.syntax import parse_program

__all__: list[str] = []

EDB = {"e0": 2, "e1": 2, "u0": 1}
VARS = ("X", "Y", "Z")
OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, "!=": operator.ne, "=": operator.eq}

Atom = tuple[str, tuple[str, ...]]  # (pred, args); an arg is a variable name or "_"


@dataclass(frozen=True)
class GRule:
    """A generated rule, kept as plain data so the reference needs no parser."""

    head: Atom
    positive: tuple[Atom, ...]
    assign: tuple[tuple[str, str, int], ...]  # (W, X, c): W = X + c
    compare: tuple[tuple[str, str, str | int], ...]  # (op, X, Y or constant)
    negated: tuple[Atom, ...]

    def text(self) -> str:
        body = [_atom_text(a) for a in self.positive]
        body += [f"{w} = {x} + {c}" for w, x, c in self.assign]
        body += [f"{x} {op} {y}" for op, x, y in self.compare]
        body += ["not " + _atom_text(a) for a in self.negated]
        return f"{_atom_text(self.head)} :- {', '.join(body)}."


@dataclass(frozen=True)
class GProgram:
    facts: dict[str, frozenset[tuple[int, ...]]]
    layers: tuple[tuple[GRule, ...], ...]  # layer k defines i<k>; negation looks only lower

    def text(self) -> str:
        return "\n".join(r.text() for layer in self.layers for r in layer)


def _atom_text(atom: Atom) -> str:
    return f"{atom[0]}({', '.join(atom[1])})"


# ---- generation ---------------------------------------------------------------------

@st.composite
def programs(draw: Any) -> GProgram:
    facts = {
        p: frozenset(draw(st.sets(st.tuples(*[st.integers(0, 3)] * n), max_size=7)))
        for p, n in EDB.items()
    }
    arity = dict(EDB)
    layers = []
    for k in range(draw(st.integers(1, 4))):
        head = f"i{k}"
        arity[head] = draw(st.integers(1, 2))
        lower = [p for p in arity if p != head]
        if arity[head] == 2 and draw(st.booleans()):
            layers.append(_closure(draw, head, [p for p in lower if arity[p] == 2]))
            continue
        rules = tuple(_rule(draw, head, arity, lower, recursive=(j == 1 and draw(st.booleans())))
                      for j in range(draw(st.integers(1, 2))))
        layers.append(rules)
    return GProgram(facts, tuple(layers))


def _closure(draw: Any, head: str, binary: list[str]) -> tuple[GRule, ...]:
    """Left-linear transitive closure of a lower binary relation."""
    base, step = draw(st.sampled_from(binary)), draw(st.sampled_from(binary))
    return (
        GRule((head, ("X", "Y")), ((base, ("X", "Y")),), (), (), ()),
        # i(X, Z) :- i(X, Y), step(Y, Z).
        GRule((head, ("X", "Z")), ((head, ("X", "Y")), (step, ("Y", "Z"))), (), (), ()),
    )


def _args(draw: Any, n: int, choices: list[str]) -> tuple[str, ...]:
    return tuple(draw(st.sampled_from(choices)) for _ in range(n))


def _rule(draw: Any, head: str, arity: dict[str, int], lower: list[str], recursive: bool) -> GRule:
    preds = [draw(st.sampled_from(lower)) for _ in range(draw(st.integers(1, 3)))]
    if recursive:
        preds.insert(0, head)  # the recursive atom first: left recursion
    positive = [(p, _args(draw, arity[p], [*VARS, "_"])) for p in preds]
    if all(a == "_" for a in positive[0][1]):
        positive[0] = (positive[0][0], ("X",) + positive[0][1][1:])
    bound = sorted({a for _, args in positive for a in args if a != "_"})
    assign: list[tuple[str, str, int]] = []
    if not recursive and draw(st.booleans()):
        assign.append(("W", draw(st.sampled_from(bound)), draw(st.integers(-1, 2))))
        bound.append("W")
    compare = [
        (draw(st.sampled_from(sorted(OPS))), draw(st.sampled_from(bound)),
         draw(st.one_of(st.sampled_from(bound), st.integers(0, 3))))
        for _ in range(draw(st.integers(0, 2)))
    ]
    negatable = [p for p in lower if not p.startswith("i") or p < head]
    negated = [(p, _args(draw, arity[p], [*bound, "_"]))
               for p in (draw(st.sampled_from(negatable)) for _ in range(draw(st.integers(0, 2))))]
    head_atom = (head, _args(draw, arity[head], bound))
    return GRule(head_atom, tuple(positive), tuple(assign), tuple(compare), tuple(negated))


# ---- the reference: naive iteration to a fixpoint, layer by layer ----------------------

Model = dict[str, set[tuple[int, ...]]]


def reference(program: GProgram) -> Model:
    """The least stratified model by naive evaluation: obviously right, slowly."""
    model: Model = {p: set(rows) for p, rows in program.facts.items()}
    for k, layer in enumerate(program.layers):
        model.setdefault(f"i{k}", set())
        changed = True
        while changed:
            derived = {(r.head[0], _ground(r.head[1], env)) for r in layer for env in _matches(r, model)}
            changed = False
            for pred, row in derived:
                if row not in model[pred]:
                    model[pred].add(row)
                    changed = True
    return model


def _ground(args: tuple[str, ...], env: dict[str, int]) -> tuple[int, ...]:
    return tuple(env[a] for a in args)


def _unify(args: tuple[str, ...], row: tuple[int, ...], env: dict[str, int]) -> dict[str, int] | None:
    out = dict(env)
    for a, v in zip(args, row):
        if a == "_":
            continue
        if out.setdefault(a, v) != v:
            return None
    return out


def _matches(rule: GRule, model: Model) -> Iterator[dict[str, int]]:
    def join(i: int, env: dict[str, int]) -> Iterator[dict[str, int]]:
        if i == len(rule.positive):
            yield env
            return
        pred, args = rule.positive[i]
        for row in list(model[pred]):
            nxt = _unify(args, row, env)
            if nxt is not None:
                yield from join(i + 1, nxt)

    for env in join(0, {}):
        for w, x, c in rule.assign:
            env[w] = env[x] + c
        if not all(OPS[op](env[x], env[y] if isinstance(y, str) else y)
                   for op, x, y in rule.compare):
            continue
        if any(_unify(args, row, env) is not None
               for pred, args in rule.negated for row in model[pred]):
            continue
        yield env


# ---- the engines ----------------------------------------------------------------------

def _checked_and_facts(program: GProgram) -> tuple[Any, tuple[Fact, ...]]:
    checked = check(parse_program(program.text(), file="<generated>"), inputs=EDB)
    facts = tuple(Fact(p, row) for p, rows in program.facts.items() for row in sorted(rows))
    return checked, facts


def _idb(model: dict[str, Any], program: GProgram) -> Model:
    return {f"i{k}": set(model.get(f"i{k}", ())) for k in range(len(program.layers))}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_seminaive_and_pydatalog_equal_the_reference(program: GProgram) -> None:
    try:
        checked, facts = _checked_and_facts(program)
    except CheckFailed as exc:  # the generator only makes checkable programs
        pytest.fail(f"generated program rejected: {exc.render()}\n{program.text()}")
    expected = _idb(reference(program), program)
    for provenance in (True, False):
        got = SemiNaiveEngine().evaluate(checked, facts, provenance=provenance).relations
        assert _idb(got, program) == expected, program.text()
    try:
        other = PyDatalogEngine().evaluate(checked, facts).relations
    except UnsupportedProgramError:
        assume(False)
    assert _idb(other, program) == expected, program.text()


def test_pydatalog_refuses_right_recursion_over_a_cycle_quickly() -> None:
    text = ("e(1, 2). e(2, 3). e(3, 1).\n"
            "path(X, Y) :- e(X, Y).\n"
            "path(X, Z) :- e(X, Y), path(Y, Z).\n")
    checked = check(parse_program(text))
    start = time.monotonic()
    with pytest.raises(UnsupportedProgramError) as err:
        PyDatalogEngine().evaluate(checked)
    assert time.monotonic() - start < 1.0
    assert "right recursion" in str(err.value)
    assert err.value.span.line == 3
    assert "earlog" in err.value.hint


@pytest.mark.parametrize("text", ["Ok() :- not Ok().", "p(X) :- q(X), not p(X). q(1)."],
                         ids=["crepe-ok", "unary"])
def test_unstratifiable_program_is_rejected_before_any_engine(text: str) -> None:
    with pytest.raises(CheckFailed) as err:
        check(parse_program(text))
    assert err.value.code == "cyclic_negation"


@pytest.mark.parametrize("text, words", [
    ("s(1, 2). t(S) :- S = sum(V : s(_, V), N = count(W : s(W, _))).", "inside an aggregate"),
    ("q(1, 1). s(1, 2). p(X, S) :- q(X, S), S = sum(V : s(X, V)).", "also bound elsewhere"),
    ("f(true). g(X) :- f(X).", "true/false"),
    ("f(1). g(X) :- f(X), not h(X + 1). h(2).", "expressions inside 'not'"),
], ids=["nested-aggregate", "aggregate-result-bound", "boolean", "expression-in-negation"])
def test_pydatalog_refuses_what_it_cannot_run_exactly(text: str, words: str) -> None:
    with pytest.raises(UnsupportedProgramError) as err:
        PyDatalogEngine().evaluate(check(parse_program(text)))
    assert words in str(err.value)


@pytest.mark.parametrize("text, pred, expected", [
    ("n(1). n(2). n(3). q(2). r(X) :- not q(X), n(X).", "r", {(1,), (3,)}),
    ("b(1e26). q(Y) :- b(X), Y = X * 0.25.", "q", {(25 * 10**24,)}),
    ('d("x", 2025-01-13). y(Y) :- d(_, D), Y = year(D), D > 2024-12-31.', "y", {(2025,)}),
    ('n(1). n("a"). m(X) :- n(X), X < 2.', "m", {(1,)}),
    ("e(1, 2). e(2, 3). e(3, 1). p(X, Y) :- e(X, Y). p(X, Z) :- p(X, Y), p(Y, Z).", "p",
     {(a, b) for a in (1, 2, 3) for b in (1, 2, 3)}),
    ('f("True"). f("False"). f("??"). g(X) :- f(X).', "g", {("True",), ("False",), ("??",)}),
], ids=["negation-first", "exact-decimal", "dates", "mixed-kinds", "nonlinear-cycle",
        "strings-pydatalog-misreads"])
def test_pydatalog_agrees_with_seminaive(text: str, pred: str, expected: set[tuple[object, ...]]) -> None:
    checked = check(parse_program(text))
    assert PyDatalogEngine().evaluate(checked).rows(pred) == expected
    assert SemiNaiveEngine().evaluate(checked).rows(pred) == expected
