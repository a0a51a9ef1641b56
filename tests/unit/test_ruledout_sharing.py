"""Ruled-out entries shared between alike transactions equal the entries searched one by one."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from reasoner.engine.model import Model
from reasoner.law.decision import EXCEPTION_CODES, ScenarioDecisions, decide
from reasoner.law.rulebook import is_rulebook_file
from reasoner.law.ruledout import RuledOutFinder
from reasoner.law.scenario import Scenario, load_scenario, parse_scenario
from reasoner.law.slices import Reads, Shared, relative

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((REPO / "facts" / "scenarios").glob("*.yaml"))

HEAD = """\
scenario: alike
regime: ifr
entities:
  nvidia_us: {located_in: US, headquartered_in: US}
  sg_a: {located_in: SG, headquartered_in: SG}
  sg_b: {located_in: SG, headquartered_in: US, veu: {type: uveu}}
  my_c: {located_in: MY, headquartered_in: CN}
  ae_d: {located_in: AE, headquartered_in: AE, veu: {type: nveu, country: AE}}
items:
  h100: {eccn: 3A090.a, tpp_per_unit: 15832, datacenter: true, designer: approved}
  h20: {eccn: 3A090.b, tpp_per_unit: 2368, datacenter: false}
  nic: {eccn: EAR99}
transactions:
"""


def _alike(n: int, seed: int) -> Scenario:
    """Many transactions of few kinds, so that most ruled-out entries are shared, with
    ids that are searched every time (not plain) among them."""
    rnd = random.Random(seed)
    rows = []
    for k in range(n):
        date = dt.date(2025, 1, 20) + dt.timedelta(days=rnd.randrange(400))
        tid = rnd.choice([f"t{k}", f"t{k}", f"t{k}", f"'for{k}?'", "for" if k == 7 else f"x-{k}"])
        rows.append(
            f"  - {{id: {tid}, type: {rnd.choice(['export', 'export', 'reexport'])}, date: {date}, "
            f"exporter: nvidia_us, from: US, to: {rnd.choice(['SG', 'SG', 'MY', 'AE'])}, "
            f"ultimate_consignee: {rnd.choice(['sg_a', 'sg_b', 'my_c', 'ae_d'])}, "
            f"item: {rnd.choice(['h100', 'h100', 'h20', 'nic'])}, "
            f"quantity: {rnd.choice([1, 50, 400])}, end_use: {rnd.choice(['inference', 'development', 'other'])}}}\n")
    return parse_scenario(HEAD + "".join(rows), "alike.yaml")


def _searched_one_by_one(result: ScenarioDecisions) -> None:
    finder = RuledOutFinder(result.model, result.rulebook.checked,
                            lambda f: bool(f) and not is_rulebook_file(f), share=False)
    for d in result.decisions:
        for entry in d.ruled_out:
            assert entry == finder.ruled_out(d.transaction, entry.exception), d.transaction


def test_shared_entries_equal_entries_searched_one_by_one() -> None:
    result = decide(_alike(150, seed=5))
    assert sum(len(d.ruled_out) for d in result.decisions) > 300
    _searched_one_by_one(result)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_entries_equal_entries_searched_one_by_one(path: Path) -> None:
    _searched_one_by_one(decide(load_scenario(path, allow_expect=True)))


class _Counting(RuledOutFinder):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.searches: Counter[str] = Counter()

    def _search(self, tid: str, code: str, mark: str):  # type: ignore[no-untyped-def]
        self.searches[code] += 1
        return super()._search(tid, code, mark)


def test_alike_transactions_are_searched_once() -> None:
    """One consignee, one item, three days: a search per code, and per date for AIA (its
    search reads the date); LPP's reads name the earlier transaction of the slot (its
    running total comes through it), which forms write as another transaction: a search
    for the slot's first transaction, and one per date for the rest (they read the date)."""
    rows = "".join(f"  - {{id: t{k}, type: export, date: 2025-03-0{1 + k % 3}, exporter: nvidia_us, "
                   "from: US, to: SG, ultimate_consignee: sg_a, item: h100, quantity: 2000, "
                   "end_use: inference}\n" for k in range(60))
    result = decide(parse_scenario(HEAD + rows, "one-kind.yaml"))
    finder = _Counting(result.model, result.rulebook.checked,
                       lambda f: bool(f) and not is_rulebook_file(f))
    for d in result.decisions:
        assert len(d.ruled_out) == len(EXCEPTION_CODES)
        assert tuple(finder.ruled_out(d.transaction, r.exception) for r in d.ruled_out) == d.ruled_out
    assert finder.searches == {"AIA": 3, "ACM": 1, "LPP": 4, "NAC": 1, "ACA": 1, "UVEU": 1, "NVEU": 1}


def _reads() -> Reads:
    rows = {"tx": {("a",), ("b",), ("p",), ("q",)},
            "prev": {("a", "p"), ("b", "q"), ("b", "p")}, "shipped": {("p", 5)}}
    model = Model(rows, {}, {})
    return Reads(model, frozenset(r[0] for r in rows["tx"]))


def test_a_read_naming_another_transaction_is_shared_only_when_anchored() -> None:
    reads = _reads()
    reads.begin("a")  # a's one earlier transaction: b's would be the one alike
    assert reads.rows("prev", ("a", None)) == (("a", "p"),) and reads.holds("prev", ("a", "p"))
    assert reads.shareable and reads.read == {("rows", "prev", 0)}
    reads.begin("b")  # two rows alike: which one b's read finds depends on their ids
    assert reads.holds("prev", ("b", "q")) and not reads.shareable
    reads.begin("b")
    reads.rows("prev", ("b", None))  # two rows naming other transactions: their order
    assert not reads.shareable
    reads.begin("a")  # a read about another transaction alone
    assert reads.rows("shipped", ("p", None)) == (("p", 5),) and not reads.shareable
    reads.end()


def test_forms_write_other_transactions_alike_and_entries_find_their_own_rows() -> None:
    reads = _reads()
    assert relative(("a", "p", 5, "p", "q"), "a", reads.txs) == \
        relative(("b", "q", 5, "q", "p"), "b", reads.txs)
    assert relative(("a", "p", "p"), "a", reads.txs) != relative(("a", "p", "q"), "a", reads.txs)
    shared: Shared[int] = Shared(reads, lambda f: True)
    shared.keep("a", "goal", {("rows", "prev", 0)}, 1)
    assert shared.find("b", "goal") is None  # b has two earlier transactions, a one
    assert reads.resolve("prev", relative(("a", "p"), "a", reads.txs), "a") == ("a", "p")
    assert reads.resolve("prev", relative(("a", "p"), "a", reads.txs), "b") is None
