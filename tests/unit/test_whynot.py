"""Why-not: the first failing condition of each rule, with its exact values."""

from __future__ import annotations

import pytest

from reasoner.lang.checks import CheckedProgram, check
from reasoner.engine import Model, SemiNaiveEngine
from reasoner.lang.errors import QueryError
from reasoner.proof import AggregateStep, AssignmentStep, ComparisonStep, NegationStep
from reasoner.lang.syntax import parse_program
from reasoner.proof import REASONS, WhyNot, compact_why_not, why_not

PROGRAM = """\
@en("{Tx} covers {N} units of {I}")
input tx_qty(Tx, I, N).
@en("one unit of {I} has a TPP of {P}")
input item_tpp(I, P).
@en("the ultimate consignee in {Tx} is {E}") @zh("{E} 是 {Tx} 的最终收货人")
input tx_consignee(Tx, E).
@en("{E} is headquartered in {C}")
input hq_in(E, C).
input d5(C).
input parent(E, P).
input lpp_cap(C).
input ship_date(E, D).

tx_qty("tx1", "H100", 1700). tx_qty("tx2", "H100", 1000). tx_qty("tx3", "H100", 100).
tx_qty("tx4", "H100", 2000).
item_tpp("H100", 15832). lpp_cap(26900000).
tx_consignee("tx1", "acme"). tx_consignee("tx2", "acme"). tx_consignee("tx3", "sub").
tx_consignee("tx4", "acme").
hq_in("acme", "SG"). hq_in("top", "CN"). d5("CN").
parent("sub", "mid"). parent("mid", "top").

@id(tx_tpp) @cite("15 CFR 740.29(b)(2)") @en("{Tx} carries {T} TPP")
tx_tpp(Tx, T) :- tx_qty(Tx, I, N), item_tpp(I, P), T = N * P.
@id(within_cap) @cite("15 CFR 740.29(b)(1)") @en("the {T} TPP of {Tx} is within the LPP cap of {Cap}")
within_cap(Tx) :- tx_tpp(Tx, T), lpp_cap(Cap), T <= Cap.
has_parent(E) :- parent(E, _).
ultimate_parent(E, P) :- parent(E, P), not has_parent(P).
ultimate_parent(E, P) :- parent(E, M), ultimate_parent(M, P).
@id(d5_hq_self) @cite("15 CFR 740.2(a)(9)(ii)") @en("{E} is headquartered in D:5 country {C}")
d5_hq(E) :- hq_in(E, C), d5(C).
@id(d5_hq_parent) @cite("15 CFR 740.2(a)(9)(ii)") @en("the ultimate parent {P} of {E} is headquartered in D:5 country {C}")
d5_hq(E) :- ultimate_parent(E, P), hq_in(P, C), d5(C).
@id(lpp) @cite("15 CFR 740.29(a)") @en("License Exception LPP is available for {Tx}")
lpp(Tx) :- within_cap(Tx), tx_consignee(Tx, E), not d5_hq(E).
@id(big_buyer) @cite("X 3") @en("{E} has received more than 80,000,000 TPP ({Total})")
big_buyer(E) :- tx_consignee(_, E), Total = sum(T : tx_consignee(Tx, E), tx_tpp(Tx, T)), Total > 80000000.
@id(latest) @cite("X 4")
latest(E, D) :- tx_consignee(_, E), D = max(X : ship_date(E, X)).
@id(orphan) @cite("X 2")
orphan(E) :- tx_consignee(_, E), not parent(E, P).
@id(lpp_code) @cite("X 5")
code(Tx, "LPP") :- lpp(Tx).
"""


@pytest.fixture(scope="module")
def mc() -> tuple[Model, CheckedProgram]:
    return _model(PROGRAM)


def _model(text: str) -> tuple[Model, CheckedProgram]:
    checked = check(parse_program(text, "program.dl"))
    return SemiNaiveEngine().evaluate(checked, provenance=True), checked


def test_comparison_fails_with_both_values_and_the_rules_citation(
        mc: tuple[Model, CheckedProgram]) -> None:
    w = why_not(*mc, "within_cap", ("tx1",))
    assert w.reason == "rules_fail"
    (a,) = w.attempts
    assert (a.id, a.cite) == ("within_cap", "15 CFR 740.29(b)(1)")
    assert a.en == "the 26,914,400 TPP of tx1 is within the LPP cap of 26,900,000"
    assert [p.step.text for p in a.matched] == ['tx_tpp("tx1", 26914400)', "lpp_cap(26900000)"]
    f = a.failure
    assert (f.kind, f.position, f.condition, f.reason) == ("comparison", 2, "T <= Cap", "false")
    assert isinstance(f.step, ComparisonStep)
    assert (f.step.left, f.step.op, f.step.right) == (1700 * 15832, "<=", 26900000)
    assert f.text == "26914400 <= 26900000"
    assert f.step.en == "26,914,400 <= 26,900,000"


def test_failing_derived_atom_recurses(mc: tuple[Model, CheckedProgram]) -> None:
    w = why_not(*mc, "lpp", ("tx4",))
    f = w.attempts[0].failure
    assert (f.kind, f.position, f.text, f.reason) == ("atom", 0, 'within_cap("tx4")', "no_match")
    assert f.missing is not None and f.missing.reason == "rules_fail"
    inner = f.missing.attempts[0].failure
    assert (inner.step.left, inner.step.right) == (31664000, 26900000)  # type: ignore[union-attr]


def test_failing_negation_shows_the_proof_of_the_fact_that_exists(
        mc: tuple[Model, CheckedProgram]) -> None:
    w = why_not(*mc, "lpp", ("tx3",))
    a = w.attempts[0]
    assert [p.kind for p in a.matched] == ["rule", "fact"]
    f = a.failure
    assert (f.kind, f.position, f.text, f.reason) == ("negation", 2, 'not d5_hq("sub")', "fact_exists")
    assert isinstance(f.step, NegationStep)
    assert f.evidence is not None
    assert (f.evidence.step.id, f.evidence.step.cite) == ("d5_hq_parent", "15 CFR 740.2(a)(9)(ii)")  # type: ignore[union-attr]
    assert f.evidence.step.en == "the ultimate parent top of sub is headquartered in D:5 country CN"


def test_negation_local_variable_failure(mc: tuple[Model, CheckedProgram]) -> None:
    f = why_not(*mc, "orphan", ("sub",)).attempts[0].failure
    assert f.kind == "negation" and f.text == 'not parent("sub", P)'
    assert isinstance(f.step, NegationStep) and f.step.pattern == ("sub", None)
    assert f.evidence is not None and f.evidence.step.text == 'parent("sub", "mid")'


def test_input_predicate_has_no_rule(mc: tuple[Model, CheckedProgram]) -> None:
    w = why_not(*mc, "hq_in", ("acme", "CN"))
    assert (w.reason, w.attempts, w.text) == ("no_fact", (), 'hq_in("acme", "CN")')
    assert w.en == "acme is headquartered in CN"
    assert w.reason in REASONS


def test_failing_input_atom_says_no_such_fact(mc: tuple[Model, CheckedProgram]) -> None:
    w = why_not(*mc, "d5_hq", ("acme",))
    first = w.attempts[0]
    assert [p.step.text for p in first.matched] == ['hq_in("acme", "SG")']
    assert first.failure.text == 'd5("SG")'
    assert first.failure.missing is not None and first.failure.missing.reason == "no_fact"
    second = w.attempts[1].failure
    assert second.text == 'ultimate_parent("acme", P)'
    assert second.missing is not None and second.missing.pattern == ("acme", None)


def test_no_rule_head_takes_the_values(mc: tuple[Model, CheckedProgram]) -> None:
    w = why_not(*mc, "code", ("tx2", "ACM"))
    assert (w.reason, w.attempts) == ("no_rule", ())


def test_head_constant_binds_and_body_fails(mc: tuple[Model, CheckedProgram]) -> None:
    w = why_not(*mc, "code", ("tx1", "LPP"))
    assert w.attempts[0].failure.text == 'lpp("tx1")'


def test_any_value_pattern(mc: tuple[Model, CheckedProgram]) -> None:
    w = why_not(*mc, "ultimate_parent", ("acme", None))
    assert w.text == 'ultimate_parent("acme", _)'
    assert [a.failure.text for a in w.attempts] == ['parent("acme", P)', 'parent("acme", M)']


def test_aggregate_value_is_reported_before_the_failing_comparison(
        mc: tuple[Model, CheckedProgram]) -> None:
    a = why_not(*mc, "big_buyer", ("acme",)).attempts[0]
    agg = a.matched[1]
    assert isinstance(agg.step, AggregateStep) and agg.step.value == (1700 + 1000 + 2000) * 15832
    f = a.failure
    assert isinstance(f.step, ComparisonStep)
    assert (f.step.left, f.step.right, f.step.op) == (74410400, 80000000, ">")


def test_aggregate_that_is_undefined_fails(mc: tuple[Model, CheckedProgram]) -> None:
    f = why_not(*mc, "latest", ("acme", None)).attempts[0].failure
    assert (f.kind, f.reason) == ("aggregate", "undefined")
    assert isinstance(f.step, AggregateStep) and f.step.value is None and f.step.count == 0


def test_furthest_partial_match_wins_ties_go_to_the_first() -> None:
    model, checked = _model(
        "a(1, 10). a(1, 20). a(1, 30). b(20). b(30). c(5).\n"
        '@cite("X 1") r(X) :- a(X, Y), b(Y), c(Y).\n')
    a = why_not(model, checked, "r", (1,)).attempts[0]
    assert [p.step.text for p in a.matched] == ["a(1, 20)", "b(20)"]
    assert (a.failure.position, a.failure.text) == (2, "c(20)")


def test_conditions_wait_for_their_variables() -> None:
    model, checked = _model('v(3). @cite("X 1") big(X) :- X > 5, v(X).\n')
    f = why_not(model, checked, "big", (3,)).attempts[0].failure
    assert (f.position, f.text) == (0, "3 > 5")
    f2 = why_not(model, checked, "big", (None,)).attempts[0]
    assert [p.step.text for p in f2.matched] == ["v(3)"]
    assert f2.failure.text == "3 > 5"


def test_head_expression_becomes_a_final_check() -> None:
    model, checked = _model('num(3). @cite("X 1") succ(X + 1) :- num(X).\n')
    f = why_not(model, checked, "succ", (5,)).attempts[0].failure
    assert f.position == 1 and isinstance(f.step, ComparisonStep)
    assert (f.step.left, f.step.right) == (4, 5)


def test_undefined_assignment() -> None:
    model, checked = _model('pair("p", 1, 0). @cite("X 1") ratio(X, R) :- pair(X, A, B), R = A / B.\n')
    f = why_not(model, checked, "ratio", ("p", None)).attempts[0].failure
    assert (f.kind, f.reason) == ("assignment", "undefined")
    assert isinstance(f.step, AssignmentStep) and f.step.value is None


def test_depth_limits_recursion(mc: tuple[Model, CheckedProgram]) -> None:
    w = why_not(*mc, "lpp", ("tx4",), depth=0)
    missing = w.attempts[0].failure.missing
    assert missing is not None and missing.reason == "not_explored" and missing.truncated
    assert w.attempts[0].truncated


@pytest.mark.parametrize(
    ("pred", "row", "message"),
    [
        ("lpp", ("tx2",), "holds"),
        ("nope", ("x",), "unknown predicate 'nope'"),
        ("lpp", ("tx2", 1), "takes 1 argument"),
    ],
    ids=["holds", "unknown", "arity"],
)
def test_why_not_refuses_bad_questions(
        mc: tuple[Model, CheckedProgram], pred: str, row: tuple[object, ...], message: str) -> None:
    with pytest.raises(QueryError, match=message):
        why_not(*mc, pred, row)  # type: ignore[arg-type]


def test_compact_why_not_keeps_structure(mc: tuple[Model, CheckedProgram]) -> None:
    w = why_not(*mc, "lpp", ("tx3",))
    c = compact_why_not(w)
    assert isinstance(c, WhyNot)
    evidence = c.attempts[0].failure.evidence
    assert evidence is not None
    assert all(p.kind != "rule" or p.step.cite for p in evidence.premises)  # type: ignore[union-attr]


def test_compact_why_not_shows_matched_conditions_as_one_step_each(
        mc: tuple[Model, CheckedProgram]) -> None:
    w = why_not(*mc, "lpp", ("tx3",))
    assert any(p.premises for a in w.attempts for p in a.matched)
    c = compact_why_not(w)
    matched = [p for a in c.attempts for p in a.matched]
    assert matched and all(p.premises == () for p in matched)
    assert all(p.kind not in ("comparison", "assignment") for p in matched)
    assert [a.failure.kind for a in c.attempts] == [a.failure.kind for a in w.attempts]


def test_aggregate_result_bound_by_the_goal_reports_the_computed_value() -> None:
    model, checked = _model('buyer("a"). ship("a", 1, 10). ship("a", 2, 20).\n'
                            '@cite("X 1") total(B, S) :- buyer(B), S = sum(N : ship(B, _I, N)).\n')
    f = why_not(model, checked, "total", ("a", 5)).attempts[0].failure
    assert (f.kind, f.reason) == ("aggregate", "false")
    assert isinstance(f.step, AggregateStep) and f.step.value == 30
    assert f.step.en == "S = sum(N : ship(a, _, N)) = 30 \u2260 5"
    assert f.evidence is not None and [p.step.text for p in f.evidence.premises] == [
        'ship("a", 1, 10)', 'ship("a", 2, 20)']
