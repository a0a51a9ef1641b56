"""decide: a few evaluations in date order, linear in transactions, equal to deciding one by one."""

from __future__ import annotations

import datetime as dt
import random
import time

import pytest

from reasoner.engine import get_engine
from reasoner.engine.seminaive import Staged
from reasoner.lang.ir import Fact
from reasoner.law.decision import (Decision, DecisionView, decide, input_facts, lpp_use,
                                   slot_chain)
from reasoner.law.rulebook import load_rulebook
from reasoner.law.scenario import Scenario, parse_scenario

HEAD = """\
scenario: lpp-many
regime: ifr
entities:
  nvidia_us: {located_in: US, headquartered_in: US}
  sg_a: {located_in: SG, headquartered_in: SG}
  sg_b: {located_in: SG, headquartered_in: SG}
  sg_c: {located_in: SG, headquartered_in: SG}
items:
  h100: {eccn: 3A090.a, tpp_per_unit: 15832, datacenter: true, designer: approved}
  nic: {eccn: EAR99}
history:
  lpp_tpp_by_consignee:
    sg_a: {2025: 10_000_000}
transactions:
"""


def _mixed(n: int, seed: int) -> Scenario:
    rnd = random.Random(seed)
    rows = []
    for k in range(n):
        date = dt.date(2025, 1, 20) + dt.timedelta(days=rnd.randrange(600))
        kind = rnd.choice(["export", "export", "reexport", "transfer_in_country"])
        rows.append(
            f"  - {{id: t{k}, type: {kind}, date: {date}, exporter: nvidia_us, "
            f"from: {'SG' if kind == 'transfer_in_country' else ('US' if kind == 'export' else 'MY')}, "
            f"to: SG, "
            f"ultimate_consignee: sg_{rnd.choice('abc')}, item: {rnd.choice(['h100'] * 5 + ['nic'])}, "
            f"quantity: {rnd.choice([1, 50, 300, 600])}, end_use: inference}}\n")
    return parse_scenario(HEAD + "".join(rows), "mixed.yaml")


def _one_by_one(scn: Scenario) -> dict[str, Decision]:
    """The reference: evaluate again before every transaction, with the LPP shipments of
    the transactions decided so far."""
    book = load_rulebook("ifr")
    order = sorted(enumerate(scn.transactions), key=lambda p: (p[1].date, p[0]))
    slots: dict[tuple[str, int], list] = {}
    for _, tx in order:
        slots.setdefault((tx.ultimate_consignee, tx.date.year), []).append(tx)
    base = (*input_facts(scn), *(Fact("tx_seq", (tx.id, k), tx.span) for k, (_, tx) in enumerate(order)),
            *slot_chain(slots.values()))
    shipped: list[Fact] = []
    out = {}
    for _, tx in order:
        view = DecisionView(get_engine("earlog").evaluate(book.checked, (*base, *shipped)), book)
        out[tx.id] = view.decision(tx)
        used = lpp_use(view, tx)
        if used is not None:
            shipped.append(used)
    return out


def test_decide_equals_deciding_one_by_one() -> None:
    scn = _mixed(40, seed=3)
    got = decide(scn)
    ref = _one_by_one(scn)
    assert {d.transaction: d for d in got.decisions} == ref
    assert any(d.exceptions == ("LPP",) for d in got.decisions)
    assert any(d.outcome == "license_required" and d.exceptions == () for d in got.decisions)


def test_one_consignee_takes_two_evaluations_not_one_per_transaction() -> None:
    rows = "".join(
        f"  - {{id: t{k}, type: export, date: 2025-03-01, exporter: nvidia_us, from: US, to: SG, "
        f"ultimate_consignee: sg_a, item: h100, quantity: 300, end_use: inference}}\n"
        for k in range(600))
    scn = parse_scenario(HEAD + rows, "bulk.yaml")
    notes: list[str] = []
    start = time.perf_counter()
    result = decide(scn, progress=notes.append)
    took = time.perf_counter() - start
    evaluations = [n for n in notes if "evaluation" in n]
    assert len(evaluations) == 2, notes
    # 10,000,000 history + k * 4,749,600 <= 26,900,000: three ship under LPP
    lpp = [d.transaction for d in result.decisions if d.exceptions == ("LPP",)]
    assert lpp == ["t0", "t1", "t2"]
    assert took < 60  # one by one, 600 transactions took minutes


def test_the_first_sketch_evaluation_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import reasoner.law.decision as decision

    scn = _mixed(40, seed=5)
    plain = decide(scn)
    monkeypatch.setattr(decision, "_SKETCH_FROM", 0)  # every scenario starts with a sketch
    notes: list[str] = []
    sketched = decide(scn, progress=notes.append)
    assert sketched.decisions == plain.decisions
    assert len([n for n in notes if "evaluation" in n]) >= 2


def test_a_staged_evaluation_equals_a_whole_one() -> None:
    """The strata LPP shipments do not reach are evaluated once; each finish with other
    shipments gives the model (rows, given facts, first derivations) of a whole evaluation."""
    book = load_rulebook("ifr")
    scn = _mixed(40, seed=7)
    base = (*input_facts(scn), *slot_chain([sorted(scn.transactions, key=lambda t: t.date)]))
    staged = Staged(book.checked, base, ("lpp_shipped",))
    txs = sorted(scn.transactions, key=lambda t: t.date)
    for shipped in ([], [Fact("lpp_shipped", (tx.ultimate_consignee, tx.date.year, 15832, tx.id),
                              tx.span) for tx in txs[:5]]):
        whole = get_engine("earlog").evaluate(book.checked, (*base, *shipped))
        part = staged.finish(shipped)
        assert part.relations == whole.relations and part.given == whole.given
        assert whole.provenance is not None and part.provenance is not None
        assert dict(part.provenance.items()) == dict(whole.provenance.items())
        assert staged.finish(shipped, provenance=False).relations == whole.relations
    with pytest.raises(ValueError, match="tx_date"):
        staged.finish([Fact("tx_date", ("t0", dt.date(2025, 1, 1)), txs[0].span)])
