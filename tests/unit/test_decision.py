"""Citations walk: what a fact's proof cites, however deep the proof."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from reasoner.lang.checks import check
from reasoner.law.decision import _Marks, _Walk
from reasoner.engine import SemiNaiveEngine
from reasoner.lang.syntax import parse_program

CHAIN = 3000


def _chain_model() -> tuple[Any, _Marks]:
    edges = " ".join(f"edge({k}, {k + 1})." for k in range(CHAIN))
    text = (f"{edges}\n"
            '@id(start) @element(scope) @cite("A 1") reach(0, 0).\n'
            '@id(step) @element(scope) @cite("A 2") reach(0, Y) :- reach(0, X), edge(X, Y).\n'
            '@id(end) @element(requirement) @cite("A 3") @uncertain("U-END") '
            'done(Y) :- reach(0, Y), Y >= 3000.\n'
            '@id(helper) @cite("A 4") @uncertain("U-HELPER") near(Y) :- done(Y).\n')
    checked = check(parse_program(text, "chain.dl"))
    model = SemiNaiveEngine().evaluate(checked, provenance=True)
    return model, _Marks(SimpleNamespace(rules=checked.rules))  # type: ignore[arg-type]


def test_citations_of_a_proof_deeper_than_the_interpreter_stack() -> None:
    model, marks = _chain_model()
    with pytest.raises(RecursionError):  # the recursive fold gives up; the walk goes on
        model.provenance.rule_closure(("done", (CHAIN,)), marks.own, {})
    deep = _Walk(model, marks, {})
    deep.visit("done", (CHAIN,))
    assert deep.cites == {"A 1", "A 2", "A 3"} and deep.uncertain == {"U-END"}
    shallow = _Walk(model, marks, {})
    shallow.visit("reach", (0, 5))
    assert shallow.cites == {"A 1", "A 2"} and shallow.uncertain == frozenset()
    helper = _Walk(model, marks, {})
    helper.visit("near", (CHAIN,))  # a helper step cites nothing, yet raises its uncertainty
    assert helper.cites == {"A 1", "A 2", "A 3"} and helper.uncertain == {"U-END", "U-HELPER"}
