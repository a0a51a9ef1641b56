"""Proof construction: steps, citations, labels, DAG sharing, depth, compaction."""

from __future__ import annotations

from decimal import Decimal
from typing import Callable

import pytest

from reasoner.lang.checks import CheckedProgram, check
from reasoner.engine import Model, SemiNaiveEngine
from reasoner.lang.errors import QueryError
from reasoner.proof import (
    AGGREGATE_CAP,
    AggregateStep,
    AssignmentStep,
    ComparisonStep,
    FactStep,
    NegationStep,
    Proof,
    RuleStep,
    compact,
    explain,
    splice_helpers,
)
from reasoner.lang.syntax import parse_program

# Line numbers matter: tests assert fact sources (program.dl:LINE).
PROGRAM = """\
@en("{Tx} covers {N} units of {I}") @zh("{Tx} 涉及 {N} 个单位的 {I}")
input tx_qty(Tx, I, N).
@en("one unit of {I} has a TPP of {P}") @zh("{I} 每单位的总处理性能为 {P}")
input item_tpp(I, P).
@en("the ultimate consignee in {Tx} is {E}") @zh("{E} 是 {Tx} 的最终收货人")
input tx_consignee(Tx, E).
@en("{E} is headquartered in {C}")
input hq_in(E, C).
@en("{C} is in Country Group D:5")
input d5(C).
@en("{P} is the immediate parent of {E}")
input parent(E, P).
input lpp_cap(C).

tx_qty("tx1", "H100", 1700). tx_qty("tx2", "H100", 1000). tx_qty("tx3", "H100", 100).
item_tpp("H100", 15832). lpp_cap(26900000).
tx_consignee("tx1", "acme"). tx_consignee("tx2", "acme"). tx_consignee("tx3", "sub").
hq_in("acme", "SG"). hq_in("top", "CN"). d5("CN").
parent("sub", "mid"). parent("mid", "top").

@id(tx_tpp) @cite("15 CFR 740.29(b)(2)") @en("{Tx} carries {T} TPP") @zh("{Tx} 的总处理性能为 {T}")
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
@id(lpp) @cite("15 CFR 740.29(a)") @en("License Exception LPP is available for {Tx}") @zh("{Tx} 可适用许可例外 LPP")
lpp(Tx) :- within_cap(Tx), tx_consignee(Tx, E), not d5_hq(E).
@id(received) @cite("15 CFR 740.29(b)(3)") @en("{E} has received {Total} TPP in all")
received(E, Total) :- tx_consignee(_, E), Total = sum(T : tx_consignee(Tx, E), tx_tpp(Tx, T)).
@id(cap_and_tpp) @cite("X 1")
cap_and_tpp(Tx, T) :- within_cap(Tx), tx_tpp(Tx, T).
@id(orphan) @cite("X 2") @en("{E} has no parent")
orphan(E) :- tx_consignee(_, E), not parent(E, P).
"""


def _model(text: str = PROGRAM) -> tuple[Model, CheckedProgram]:
    checked = check(parse_program(text, "program.dl"))
    return SemiNaiveEngine().evaluate(checked, provenance=True), checked


@pytest.fixture(scope="module")
def mc() -> tuple[Model, CheckedProgram]:
    return _model()


def test_rule_chain_with_citations_labels_and_sources(mc: tuple[Model, CheckedProgram]) -> None:
    p = explain(*mc, "lpp", ("tx2",))
    assert isinstance(p.step, RuleStep)
    assert (p.step.id, p.step.cite) == ("lpp", "15 CFR 740.29(a)")
    assert p.step.en == "License Exception LPP is available for tx2"
    assert p.step.zh == "tx2 可适用许可例外 LPP"
    assert p.step.source == "program.dl:33"
    assert [q.kind for q in p.premises] == ["rule", "fact", "negation"]
    within = p.premises[0]
    assert within.step.en == "the 15,832,000 TPP of tx2 is within the LPP cap of 26,900,000"
    consignee = p.premises[1].step
    assert isinstance(consignee, FactStep)
    assert (consignee.source, consignee.text) == ("program.dl:17", 'tx_consignee("tx2", "acme")')
    assert consignee.en == "the ultimate consignee in tx2 is acme"


def test_comparison_and_assignment_carry_exact_values(mc: tuple[Model, CheckedProgram]) -> None:
    within = explain(*mc, "within_cap", ("tx2",))
    assert [q.kind for q in within.premises] == ["rule", "fact", "comparison"]
    cmp = within.premises[2].step
    assert isinstance(cmp, ComparisonStep)
    assert (cmp.op, cmp.left, cmp.right) == ("<=", 15832000, 26900000)
    assert cmp.condition == "T <= Cap"
    assert cmp.en == "15,832,000 <= 26,900,000"
    tpp = within.premises[0]
    assign = tpp.premises[2].step
    assert isinstance(assign, AssignmentStep)
    assert (assign.var, assign.value) == ("T", 1000 * 15832)
    assert assign.en == "T = 1,000 * 15,832 = 15,832,000"


def test_negation_step_instantiates_the_atom(mc: tuple[Model, CheckedProgram]) -> None:
    neg = explain(*mc, "lpp", ("tx2",)).premises[2].step
    assert isinstance(neg, NegationStep)
    assert (neg.pred, neg.pattern, neg.text) == ("d5_hq", ("acme",), 'not d5_hq("acme")')
    assert neg.whynot is None


def test_negation_local_variable_means_any(mc: tuple[Model, CheckedProgram]) -> None:
    neg = explain(*mc, "orphan", ("acme",)).premises[1].step
    assert isinstance(neg, NegationStep)
    assert neg.pattern == ("acme", None)
    assert neg.text == 'not parent("acme", _)'


def test_negation_can_carry_its_why_not(mc: tuple[Model, CheckedProgram]) -> None:
    neg = explain(*mc, "lpp", ("tx2",), why_not_depth=1).premises[2].step
    assert isinstance(neg, NegationStep) and neg.whynot is not None
    assert [a.id for a in neg.whynot.attempts] == ["d5_hq_self", "d5_hq_parent"]
    assert neg.whynot.attempts[0].failure.text == 'd5("SG")'


def test_recursion_ultimate_parent(mc: tuple[Model, CheckedProgram]) -> None:
    p = explain(*mc, "ultimate_parent", ("sub", "top"))
    assert p.step.index == 4  # the recursive rule
    assert [q.step.text for q in p.premises] == ['parent("sub", "mid")', 'ultimate_parent("mid", "top")']
    base = p.premises[1]
    assert [q.step.text for q in base.premises] == ['parent("mid", "top")', 'not has_parent("top")']


def test_aggregate_sum_with_contributing_facts(mc: tuple[Model, CheckedProgram]) -> None:
    p = explain(*mc, "received", ("acme", 1700 * 15832 + 1000 * 15832))
    agg = p.premises[1]
    assert isinstance(agg.step, AggregateStep)
    assert (agg.step.fn, agg.step.var, agg.step.value, agg.step.count) == ("sum", "Total", 42746400, 2)
    assert agg.step.en == "Total = sum(T : tx_consignee(Tx, acme), tx_tpp(Tx, T)) = 42,746,400"
    assert [q.step.text for q in agg.premises] == [
        'tx_consignee("tx1", "acme")', 'tx_tpp("tx1", 26914400)',
        'tx_consignee("tx2", "acme")', 'tx_tpp("tx2", 15832000)']
    assert not agg.truncated


def test_aggregate_contributions_are_capped() -> None:
    facts = "".join(f'ship("a", {i}, {i * 10}).\n' for i in range(AGGREGATE_CAP + 5))
    model, checked = _model(facts + 'buyer("a").\n'
                            '@cite("X 1") total(B, S) :- buyer(B), S = sum(N : ship(B, _I, N)).\n')
    total = sum(i * 10 for i in range(AGGREGATE_CAP + 5))
    agg = explain(model, checked, "total", ("a", total)).premises[1]
    assert agg.step.count == AGGREGATE_CAP + 5
    assert len(agg.premises) == AGGREGATE_CAP and agg.truncated


def test_shared_subproofs_are_the_same_object(mc: tuple[Model, CheckedProgram]) -> None:
    p = explain(*mc, "cap_and_tpp", ("tx2", 15832000))
    within, tpp = p.premises
    assert within.premises[0] is tpp


def test_max_depth_truncates_rule_steps(mc: tuple[Model, CheckedProgram]) -> None:
    p = explain(*mc, "lpp", ("tx2",), max_depth=1)
    within = p.premises[0]
    assert within.truncated and within.premises == ()
    assert not p.premises[1].truncated  # a given fact has nothing to cut
    root = explain(*mc, "lpp", ("tx2",), max_depth=0)
    assert root.truncated and root.premises == ()


@pytest.mark.parametrize("compaction", [compact, splice_helpers])
def test_compaction_splices_uncited_helper_rules(
        mc: tuple[Model, CheckedProgram], compaction: Callable[[Proof], Proof]) -> None:
    p = explain(*mc, "d5_hq", ("sub",))
    assert [q.kind for q in p.premises] == ["rule", "fact", "fact"]
    c = compaction(p)
    assert [q.step.text for q in c.premises] == [
        'parent("sub", "mid")', 'parent("mid", "top")', 'not has_parent("top")',
        'hq_in("top", "CN")', 'd5("CN")']
    assert compaction(c) == c


def test_compact_keeps_only_labelled_legal_steps(mc: tuple[Model, CheckedProgram]) -> None:
    p = explain(*mc, "lpp", ("tx2",), why_not_depth=1)
    negation = p.premises[2].step
    assert isinstance(negation, NegationStep) and negation.whynot is not None
    c = compact(p)
    within = c.premises[0]
    # the comparison T <= Cap and the assignment T = N * P go: the labels state the values
    assert [q.kind for q in within.premises] == ["rule", "fact"]
    assert [q.kind for q in within.premises[0].premises] == ["fact", "fact"]
    kept = c.premises[2].step
    assert isinstance(kept, NegationStep) and kept.whynot is None  # its label stays
    assert kept.en == negation.en
    assert compact(c) == c
    spliced = splice_helpers(p)  # what memos use: every condition stays
    assert [q.kind for q in spliced.premises[0].premises] == ["rule", "fact", "comparison"]
    assert spliced.premises[2].step.whynot is not None  # type: ignore[union-attr]


def test_compact_splices_an_aggregate_into_its_contributions(
        mc: tuple[Model, CheckedProgram]) -> None:
    p = explain(*mc, "received", ("acme", 15832 * 2700))
    assert "aggregate" in [q.kind for q in p.premises]
    c = compact(p)
    assert "aggregate" not in [q.kind for q in c.premises]
    assert {q.step.text for q in c.premises} >= {'tx_consignee("tx1", "acme")',
                                                 'tx_consignee("tx2", "acme")'}


def test_decimal_and_date_values_are_labelled_readably() -> None:
    model, checked = _model(
        'rate("a", 1234.5). day("a", 2025-01-13).\n'
        '@en("{X} pays {R} from {D}") @cite("X 1") pays(X, R, D) :- rate(X, R), day(X, D).\n')
    p = explain(model, checked, "pays", ("a", Decimal("1234.5"), __import__("datetime").date(2025, 1, 13)))
    assert p.step.en == "a pays 1,234.5 from 2025-01-13"


def test_explain_refuses_what_does_not_hold(mc: tuple[Model, CheckedProgram]) -> None:
    with pytest.raises(QueryError, match='lpp\\("tx1"\\) does not hold'):
        explain(*mc, "lpp", ("tx1",))


def test_explain_needs_provenance() -> None:
    checked = check(parse_program(PROGRAM, "program.dl"))
    model = SemiNaiveEngine().evaluate(checked, provenance=False)
    with pytest.raises(QueryError, match="without provenance") as err:
        explain(model, checked, "lpp", ("tx2",))
    assert "provenance=True" in err.value.hint


def test_given_fact_is_a_leaf(mc: tuple[Model, CheckedProgram]) -> None:
    p = explain(*mc, "d5", ("CN",))
    assert p == Proof(FactStep("d5", ("CN",), 'd5("CN")', "program.dl:18",
                               "CN is in Country Group D:5", ""))


def test_explain_refuses_unknown_predicates(mc: tuple[Model, CheckedProgram]) -> None:
    with pytest.raises(QueryError, match="unknown predicate 'nope'"):
        explain(*mc, "nope", ("x",))
