"""The SQL backend (DuckDB) computes our evaluator's model, or refuses the program clearly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

pytest.importorskip("duckdb")

from reasoner.engine import ENGINES, SemiNaiveEngine, get_engine  # noqa: E402
from reasoner.engine.sql.duckdb_engine import DuckDBEngine  # noqa: E402
from reasoner.lang.checks import check  # noqa: E402
from reasoner.lang.errors import CheckFailed, UnsupportedProgramError  # noqa: E402
from reasoner.lang.ir import Fact  # noqa: E402
from reasoner.lang.syntax import parse_program  # noqa: E402
from reasoner.law.decision import decide, decision_record  # noqa: E402
from reasoner.law.scenario import load_scenario  # noqa: E402
from tests.unit.test_pydatalog_backend import aggregate_programs  # noqa: E402

__all__: list[str] = []

SCENARIOS = Path(__file__).resolve().parents[2] / "facts" / "scenarios"


def _both(text: str, facts: tuple[Fact, ...] = ()) -> tuple[dict[str, Any], dict[str, Any]]:
    checked = check(parse_program(text), inputs={"e0": 2, "e1": 2, "u0": 1})
    ours = SemiNaiveEngine().evaluate(checked, facts).as_dict()
    theirs = DuckDBEngine().evaluate(checked, facts).as_dict()
    return ours, theirs


def test_selectable() -> None:
    assert "duckdb" in ENGINES
    assert get_engine("duckdb").name == "duckdb"


@pytest.mark.parametrize("text, pred, expected", [
    ("s(1, 2). s(2, 2). t(S) :- S = sum(V : s(_, V)).", "t", {(4,)}),
    ("g(1). g(2). s(1, 5). c(X, N) :- g(X), N = count(V : s(X, V)).", "c", {(1, 1), (2, 0)}),
    ("g(1). g(2). s(1, 5). m(X, N) :- g(X), N = max(V : s(X, V)).", "m", {(1, 5)}),
    ("g(1, 2). g(2, 3). s(1, 5). s(2, 7). s(3, 1). c(X, N) :- g(X, D), N = sum(V : s(Y, V), Y <= D).",
     "c", {(1, 12), (2, 13)}),
    ("g(1, 2). g(2, 7). s(1, 5). s(2, 7). s(3, 1). c(X, N) :- g(X, D), N = count(V : s(Y, V), not s(D, V)).",
     "c", {(1, 2), (2, 3)}),
    ("v(1, 0.5). v(2, 0.25). v(3, 1e26). t(S) :- S = sum(X : v(_, X)).", "t",
     {(Decimal("100000000000000000000000000.75"),)}),
    ("f(1). f(2). f(3). g(X) :- f(X), X < N, N = count(Y : f(Y)).", "g", {(1,), (2,)}),
    ("e(1, 2). e(2, 3). e(3, 1). p(X, Y) :- e(X, Y). p(X, Z) :- p(X, Y), e(Y, Z). "
     "d(X, N) :- e(X, _), N = count(Y : p(X, Y)). r(X) :- d(X, 3). r(Y) :- r(X), e(X, Y).",
     "r", {(1,), (2,), (3,)}),
    # exact integers beyond 64 bits, and dates
    ("m(1e26). m(3). big(Y) :- m(X), Y = X * 1000 + 1.", "big", {(10 ** 29 + 1,), (3001,)}),
    ("d(\"a\", 2025-01-15). d(\"b\", 2026-03-01). y(T, Y) :- d(T, D), Y = year(D), D > 2025-06-30.",
     "y", {("b", 2026)}),
    # values of different kinds never match
    ("a(1). b(\"1\"). c(X) :- a(X), b(X). n(X) :- a(X), not b(X).", "n", {(1,)}),
    ("p(1, 2). q(X) :- p(X, Y), Z = max(X, Y), Z = 2, not p(Z, _).", "q", {(1,)}),
], ids=["distinct-matches", "count-empty", "max-empty", "outer-condition", "outer-negation",
        "exact-decimal", "result-compared", "recursion-around", "hugeint", "dates", "kinds",
        "functions"])
def test_agrees(text: str, pred: str, expected: set[tuple[object, ...]]) -> None:
    ours, theirs = _both(text)
    assert ours[pred] == expected
    assert theirs == ours


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(aggregate_programs(), st.sets(st.tuples(st.sampled_from(["e0", "e1"]), st.integers(0, 3),
                                               st.integers(0, 3)), max_size=8),
       st.sets(st.integers(0, 3), max_size=3))
def test_random_aggregates_agree(text: str, binary: set[tuple[str, int, int]], unary: set[int]) -> None:
    facts = tuple(Fact(p, (a, b)) for p, a, b in sorted(binary)) + tuple(
        Fact("u0", (v,)) for v in sorted(unary))
    try:
        ours, theirs = _both(text, facts)
    except CheckFailed:
        assume(False)
        raise
    assert theirs == ours, text


@pytest.mark.parametrize("text, message", [
    ("a(1, 2). b(Z) :- a(X, Y), Z = X / Y.", "division"),
    ("a(0.5, 0.25). b(Z) :- a(X, Y), Z = X * Y.", "product of two decimals"),
    ("a(1). a(\"x\").", "different kinds"),
    ("a(1). b(X) :- a(X). b(\"x\") :- a(_).", "different kinds"),
    ("a(0.123456789012). b(X) :- a(X).", "not exact"),
], ids=["division", "decimal-product", "mixed-facts", "mixed-rules", "places"])
def test_refuses(text: str, message: str) -> None:
    with pytest.raises(UnsupportedProgramError, match=message) as err:
        DuckDBEngine().evaluate(check(parse_program(text)))
    assert "--engine earlog" in err.value.hint


@pytest.mark.parametrize("name", ["aia-tier1", "lpp-accumulation", "enforced-posture",
                                  "model-weights", "tier3-links"])
def test_rulebook_model_agrees_on_scenario(name: str) -> None:
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    ours = decide(scenario, engine="earlog")
    theirs = decide(scenario, engine="duckdb")  # decide compares the two models
    assert theirs.model.as_dict() == ours.model.as_dict()
    assert [decision_record(d) for d in theirs.decisions] \
        == [decision_record(d) for d in ours.decisions]


def test_date_values_round_trip() -> None:
    checked = check(parse_program("d(2025-01-15). e(X) :- d(X)."))
    assert DuckDBEngine().evaluate(checked).rows("e") == {(dt.date(2025, 1, 15),)}
