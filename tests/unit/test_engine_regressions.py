"""Regressions found by the proof work: join order with expression keys, aggregate
distinctness, provenance bindings."""

from __future__ import annotations

import pytest

from reasoner.lang.checks import check
from reasoner.engine import SemiNaiveEngine
from reasoner.lang.syntax import parse_program


def _model(text: str):  # type: ignore[no-untyped-def]
    return SemiNaiveEngine().evaluate(check(parse_program(text)))


@pytest.mark.parametrize("body", ["p(X + 1), r(X)", "r(X), p(X + 1)"], ids=["expr-first", "expr-last"])
def test_expression_argument_waits_for_its_variables(body: str) -> None:
    m = _model(f"p(2). r(1). q(X) :- {body}.")
    assert m.rows("q") == {(1,)}


def test_aggregate_counts_matches_that_differ_only_in_anonymous_positions() -> None:
    m = _model('sh("c", "a", 20). sh("c", "b", 20). sh("c", "d", 10). '
               't(C, S) :- sh(C, _, _), S = sum(N : sh(C, _, N)).')
    assert m.rows("t") == {("c", 50)}


def test_provenance_bindings_hold_only_top_level_variables() -> None:
    m = _model('p(1). s(1, 5). q(X, S) :- p(X), not banned(X, Y), S = sum(N : s(X, N)). banned(9, 9).')
    d = m.provenance[("q", (1, 5))]
    assert dict(d.bindings) == {"X": 1, "S": 5}


@pytest.mark.parametrize("provenance", [False, True])
def test_aggregate_result_bound_earlier_is_compared_not_overwritten(provenance: bool) -> None:
    text = "q(1, 1). q(2, 5). s(1, 2). s(1, 3). s(2, 5). p(X, S) :- q(X, S), S = sum(V : s(X, V))."
    m = SemiNaiveEngine().evaluate(check(parse_program(text)), provenance=provenance)
    assert m.rows("p") == {(2, 5)}
