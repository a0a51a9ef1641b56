"""The semi-naive engine: negation, exact arithmetic, aggregates, dates, provenance."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reasoner.lang.checks import check
from reasoner.engine import Model, SemiNaiveEngine
from reasoner.lang.syntax import parse_program

__all__: list[str] = []


def run(text: str, provenance: bool = True) -> Model:
    return SemiNaiveEngine().evaluate(check(parse_program(text)), provenance=provenance)


NEGATION_FACTS = "p(1). p(2). p(3). q(2).\n"


@pytest.mark.parametrize("rule", [
    "r(X) :- p(X), not q(X).",
    "r(X) :- not q(X), p(X).",
], ids=["positive-first", "negation-first"])
def test_negation_does_not_depend_on_literal_order(rule: str) -> None:
    assert run(NEGATION_FACTS + rule).rows("r") == {(1,), (3,)}


@pytest.mark.parametrize("text, pred, expected", [
    ("a(3.0e26). b(1e26). r() :- a(X), b(Y), X > Y.", "r", {()}),
    # 1e26 + 1 and 1e26 differ only in the 27th digit: a float would call them equal
    ("a(100000000000000000000000001). b(1e26). r() :- a(X), b(Y), X > Y.", "r", {()}),
    ("a(100000000000000000000000001). b(1e26). r() :- a(X), b(X).", "r", set()),
    ("b(1e26). q(Y) :- b(X), Y = X * 0.25.", "q", {(25 * 10**24,)}),
    ("b(1e26). q(Y) :- b(X), Y = X / 8.", "q", {(12_500_000_000_000_000_000_000_000,)}),
    ("a(1). q(Y) :- a(X), Y = X / 8.", "q", {(Decimal("0.125"),)}),
    ("a(0.1). b(0.2). q(Z) :- a(X), b(Y), Z = X + Y.", "q", {(Decimal("0.3"),)}),
], ids=["3e26>1e26", "27th-digit", "27th-digit-unequal", "quarter-of-1e26", "int-division",
       "decimal-division", "0.1+0.2"])
def test_exact_arithmetic(text: str, pred: str, expected: set[tuple[object, ...]]) -> None:
    assert run(text).rows(pred) == expected


def test_a_quarter_of_1e26_is_an_exact_integer() -> None:
    (row,) = run("b(1e26). q(Y) :- b(X), Y = X * 0.25.").rows("q")
    assert row == (25000000000000000000000000,) and type(row[0]) is int


SALES = """
sale("acme", "s1", 0.1). sale("acme", "s2", 0.2). sale("acme", "s3", 0.2).
sale("beta", "s4", 7).
"""


@pytest.mark.parametrize("rule, pred, expected", [
    ("total(S) :- S = sum(V : sale(_, _, V)).", "total", {(Decimal("7.5"),)}),
    ("by(C, S) :- sale(C, _, _), S = sum(V : sale(C, I, V)).", "by",
     {("acme", Decimal("0.5")), ("beta", 7)}),
    ("n(C, N) :- sale(C, _, _), N = count(I : sale(C, I, _)).", "n", {("acme", 3), ("beta", 1)}),
    ("hi(C, M) :- sale(C, _, _), M = max(V : sale(C, _, V)).", "hi",
     {("acme", Decimal("0.2")), ("beta", 7)}),
], ids=["decimal-sum", "grouped-sum", "grouped-count", "grouped-max"])
def test_aggregates(rule: str, pred: str, expected: set[tuple[object, ...]]) -> None:
    assert run(SALES + rule).rows(pred) == expected


DATES = 'd("x", 2025-01-13). d("y", 2024-12-31). d("z", 2025-01-15).\n'


@pytest.mark.parametrize("rule, pred, expected", [
    ("late(E) :- d(E, D), D >= 2025-01-13.", "late", {("x",), ("z",)}),
    ("early(E) :- d(E, D), D < 2025-01-01.", "early", {("y",)}),
    ("y(E, Y) :- d(E, D), Y = year(D).", "y", {("x", 2025), ("y", 2024), ("z", 2025)}),
    ("first(E) :- d(E, D), not later(D). later(D) :- d(_, D), d(_, C), C < D.", "first",
     {("y",)}),
    ("mixed(E) :- d(E, D), D > 2000.", "mixed", set()),
], ids=["on-or-after", "before", "year", "earliest", "date-vs-number"])
def test_dates(rule: str, pred: str, expected: set[tuple[object, ...]]) -> None:
    assert run(DATES + rule).rows(pred) == expected


CHAIN = """
e(1, 2). e(2, 3). e(3, 4). e(1, 4).
p(X, Y) :- e(X, Y).
p(X, Z) :- p(X, Y), e(Y, Z).
"""


@pytest.mark.parametrize("fact, rule, premises, level", [
    (("p", (1, 2)), 0, (("e", (1, 2)),), 1),
    (("p", (2, 4)), 1, (("p", (2, 3)), ("e", (3, 4))), 2),
    (("p", (1, 3)), 1, (("p", (1, 2)), ("e", (2, 3))), 2),
    # p(1, 4) also follows in 3 steps; its first derivation is the 1-step one
    (("p", (1, 4)), 0, (("e", (1, 4)),), 1),
], ids=["base", "step", "two-step", "minimal-height"])
def test_provenance_records_the_first_derivation(
    fact: tuple[str, tuple[int, ...]], rule: int, premises: tuple[object, ...], level: int,
) -> None:
    prov = run(CHAIN).provenance
    assert prov is not None
    d = prov[fact]
    assert (d.rule, d.premises, d.level) == (rule, premises, level)


def test_provenance_bindings_and_mapping() -> None:
    prov = run(CHAIN).provenance
    assert prov is not None
    assert prov[("p", (2, 4))].bindings == (("X", 2), ("Y", 3), ("Z", 4))
    assert ("e", (1, 2)) not in prov  # given, not derived
    assert len(prov) == len(list(prov)) == 6
    assert prov.get(("p", (4, 1))) is None


def test_level_is_height_on_a_long_chain() -> None:
    text = "".join(f"e({i}, {i + 1}). " for i in range(300)) + CHAIN.split("\n", 2)[2]
    prov = run(text).provenance
    assert prov is not None
    assert prov[("p", (0, 300))].level == 300


@pytest.mark.parametrize("text", [CHAIN, NEGATION_FACTS + "r(X) :- not q(X), p(X).", SALES +
                                  "n(C, N) :- sale(C, _, _), N = count(I : sale(C, I, _))."],
                         ids=["recursion", "negation", "aggregate"])
def test_provenance_off_gives_the_same_model(text: str) -> None:
    with_prov, without = run(text), run(text, provenance=False)
    assert without.provenance is None
    assert with_prov.relations == without.relations


@pytest.mark.parametrize("op", ["=", "!=", "<", "<=", ">", ">="])
@pytest.mark.parametrize("provenance", [True, False], ids=["provenance", "plain"])
def test_a_filter_compares_as_compare_does(op: str, provenance: bool) -> None:
    """Filters take a shortcut for two values of one plain kind; across kinds (1 and 1.5,
    1 and true, a date and a string) they give what ``plan.compare`` gives."""
    from reasoner.engine.plan import compare
    values = ['1', '1.5', '2', 'true', 'false', '"a"', '"b"', '2025-01-02', '2025-03-04']
    facts = " ".join(f"v({x})." for x in values)
    model = run(f"{facts}\nr(A, B) :- v(A), v(B), A {op} B.", provenance)
    rows = sorted(model.rows("v"), key=repr)
    assert model.rows("r") == {(a, b) for (a,) in rows for (b,) in rows if compare(op, a, b)}
    assert len(model.rows("r")) > 0
