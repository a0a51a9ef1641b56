"""Deciding a scenario's transactions with the rulebook: the JSON decision contract."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from reasoner.engine import Engine, Model, get_engine
from reasoner.engine.model import Derivation, Row
from reasoner.engine.gcpause import gc_paused
from reasoner.engine.seminaive import Provenance, SemiNaiveEngine, Staged
from reasoner.lang.errors import EngineError
from reasoner.lang.checks import CheckedProgram
from reasoner.lang.ir import Fact, Rule, Value, body_preds
from reasoner.law.receipt import make_receipt
from reasoner.law.rulebook import Rulebook, is_rulebook_file, load_rulebook
from reasoner.law.ruledout import RuledOut, RuledOutFinder
from reasoner.law.scenario import Scenario, Transaction, scenario_facts
from reasoner.lang.span import NO_SPAN

__all__ = ["Decision", "DecisionView", "ScenarioDecisions", "decide", "decision_json", "decision_record",
           "input_facts", "lpp_use", "slot_chain", "FLAG_PREDICATES", "EXCEPTION_CODES", "POLICY_WORDS"]

# Transaction-keyed predicates whose rules carry an @uncertain id: when one holds
# for a transaction, the decision names that uncertainty.
FLAG_PREDICATES = ("compliance_window", "hk_involved", "supp10_delayed", "nveu_ambiguous",
                   "item_foreign", "tx_note2_unassessed", "tx_derived_over_limit", "us_tier1_used",
                   "aca_widening")
EXCEPTION_CODES = ("AIA", "ACM", "LPP", "NAC", "ACA", "UVEU", "NVEU")
# The review policies of the contract, in words.
POLICY_WORDS = {
    "en": {"presumption_of_approval": "presumption of approval",
           "presumption_of_denial": "presumption of denial",
           "policy_of_denial": "policy of denial", "case_by_case": "case-by-case review"},
    "zh": {"presumption_of_approval": "推定批准", "presumption_of_denial": "推定拒绝",
           "policy_of_denial": "拒绝政策", "case_by_case": "个案审查"},
}
# Transaction-keyed scope predicates that explain why a transaction is out of scope.
OUT_OF_SCOPE_PREDICATES = ("item_outside", "model_outside", "tx_excluded", "before_rule")


@dataclass(frozen=True, slots=True)
class Decision:
    """The decision for one transaction (the fields of the JSON contract).

    ``citations`` is the basis of the outcome: the provisions of the ``@element``
    rules its proof uses (scope, requirement, available exceptions and what keeps
    them available, review policy), never helper steps or ruled-out exceptions.
    ``ruled_out`` has one entry per code not available when a license is required.
    """

    transaction: str
    as_of: _dt.date
    in_scope: bool
    license_required: bool | None
    exceptions: tuple[str, ...]
    outcome: str
    review_policy: str | None
    citations: tuple[str, ...]
    uncertainties: tuple[str, ...]
    conditions: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    ruled_out: tuple[RuledOut, ...] = ()


@dataclass(frozen=True, slots=True)
class ScenarioDecisions:
    """All decisions of a scenario, in the scenario's transaction order."""

    scenario: Scenario
    rulebook: Rulebook
    decisions: tuple[Decision, ...]
    model: Model = field(compare=False, repr=False)


def decide(
    scenario: Scenario, regime: str | None = None, as_of: _dt.date | None = None,
    engine: str = "earlog", progress: Callable[[str], None] | None = None,
) -> ScenarioDecisions:
    """Decide every transaction of a scenario.

    Transactions are decided in date order (file order breaks ties) so that LPP
    usage accumulates: a transaction whose only available authorization is LPP
    adds its TPP to the consignee's calendar-year total for later ones.

    The model is evaluated with an assumed set of LPP shipments and evaluated
    again until the assumptions hold (see ``_Shipments``): usually two
    evaluations, each linear in the transactions (the rulebook carries each
    (consignee, year) total along ``tx_slot_prev``). With earlog's evaluator,
    the rules that do not depend on LPP shipments are evaluated once
    (``seminaive.Staged``).

    Args:
        scenario: a validated scenario.
        regime: ``ifr`` or ``enforced``; default the scenario's own.
        as_of: read the law at this date instead of each transaction's date.
        engine: evaluation backend.
        progress: called with a one-line note before each evaluation.

    Returns:
        The decisions, in the scenario's order, and the final model, which holds
        every transaction's conclusions (LPP totals count only earlier shipments).
    """
    book = load_rulebook(regime or scenario.regime)
    eng = get_engine(engine)
    with gc_paused():
        return _decide(scenario, book, as_of, eng, progress)


def _decide(scenario: Scenario, book: Rulebook, as_of: _dt.date | None, eng: Engine,
            progress: Callable[[str], None] | None) -> ScenarioDecisions:
    """``decide``'s work (the collector is paused: inputs, models and decisions are
    millions of small containers that make no cycles)."""
    order = [tx for _, tx in sorted(enumerate(scenario.transactions),
                                    key=lambda p: (p[1].date, p[0]))]
    slots: dict[tuple[str, int], list[Transaction]] = {}
    for tx in order:
        slots.setdefault((tx.ultimate_consignee, tx.date.year), []).append(tx)
    base = (*input_facts(scenario, as_of),
            *(Fact("tx_seq", (tx.id, k), tx.span) for k, tx in enumerate(order)),
            *slot_chain(slots.values()))
    history = {(h.entity, h.year): h.tpp for h in scenario.history.lpp_shipped}
    shipments = _Shipments(slots, history)
    # a large scenario's first evaluation only finds the LPP-only rows: no derivations
    traced = len(order) < _SKETCH_FROM
    evaluate = _evaluator(eng, book, base)
    rounds = 0
    while True:
        rounds += 1
        if progress is not None:
            progress(f"{scenario.id}: evaluation {rounds} ({len(order)} transactions, "
                     f"{shipments.settled} settled)")
        model = evaluate(shipments.facts(), traced)
        view = DecisionView(model, book)
        if shipments.check(view) and traced:
            break
        traced = True
    if progress is not None:
        progress(f"{scenario.id}: reading {len(order)} decisions")
    decisions = tuple(view.decision(tx) for tx in scenario.transactions)
    return ScenarioDecisions(scenario, book, decisions, model)


# Scenarios with this many transactions get a first evaluation without derivations
# (with earlog's evaluator, of the rules that LPP shipments change; else, of only the
# rules that LPP use is read from: ``_sketch``).
_SKETCH_FROM = 500
_SKETCHES: dict[int, tuple[CheckedProgram, CheckedProgram]] = {}
# The facts that change from one evaluation of ``decide`` to the next.
_VARYING = ("lpp_shipped",)


def _evaluator(eng: Engine, book: Rulebook, base: tuple[Fact, ...]
               ) -> Callable[[list[Fact], bool], Model]:
    """Evaluates the rulebook over ``base`` and the assumed shipments, with derivations
    or not (then perhaps of a sketch)."""
    if isinstance(eng, SemiNaiveEngine):
        staged = Staged(book.checked, base, _VARYING)
        return lambda shipped, traced: staged.finish(shipped, provenance=traced)

    def evaluate(shipped: list[Fact], traced: bool) -> Model:
        facts = (*base, *shipped)
        return _evaluate(eng, book, facts) if traced else \
            eng.evaluate(_sketch(book), facts, provenance=False)
    return evaluate


def _sketch(book: Rulebook) -> CheckedProgram:
    """The rulebook without the rules that ``exception``, ``tx_tpp`` and ``threshold``
    (what ``_Shipments.check`` reads) do not depend on."""
    got = _SKETCHES.get(id(book.checked))
    if got is not None and got[0] is book.checked:
        return got[1]
    by_head: dict[str, list[Rule]] = {}
    for rule in book.rules:
        by_head.setdefault(rule.head.pred, []).append(rule)
    need = {"exception", "tx_tpp", "threshold"}
    todo = list(need)
    while todo:
        for rule in by_head.get(todo.pop(), ()):
            for pred in body_preds(rule.body):
                if pred not in need:
                    need.add(pred)
                    todo.append(pred)
    light = book.checked.without(set(by_head) - need)
    _SKETCHES[id(book.checked)] = (book.checked, light)
    return light


def slot_chain(slots: Iterable[Sequence[Transaction]]) -> Iterator[Fact]:
    """``tx_slot_prev(Tx, P)`` for each transaction after the first of its slot.

    Args:
        slots: each (consignee, calendar year)'s transactions in date order.
    """
    for members in slots:
        for prev, tx in zip(members, members[1:]):
            yield Fact("tx_slot_prev", (tx.id, prev.id), tx.span)


def lpp_use(view: DecisionView, tx: Transaction) -> Fact | None:
    """The LPP shipment ``tx`` makes in ``view``'s model: a transaction whose only
    available authorization is LPP uses LPP (None when it does not, or has no TPP)."""
    if view.exceptions(tx.id) != ("LPP",):
        return None
    tpp = view.one("tx_tpp", tx.id)
    if tpp is None:
        return None
    return Fact("lpp_shipped", (tx.ultimate_consignee, tx.date.year, tpp, tx.id), tx.span)


class _Shipments:
    """The LPP shipments assumed for an evaluation, per (consignee, year) slot.

    Invariant: in each slot, the rows before ``start[slot]`` are settled (their
    assumption was what the model concluded, given settled rows only). An
    evaluation settles each slot up to and including its first wrong assumption;
    the rows after it are guessed again (``_guess``). Each round settles at least
    one row per open slot, so this ends; the assumptions only change how many
    rounds it takes, and the model where all hold is the one of deciding the rows
    one by one.
    """

    def __init__(self, slots: Mapping[tuple[str, int], list[Transaction]],
                 history: Mapping[tuple[str, int], Any]) -> None:
        self.slots = slots
        self.history = history
        self.start = dict.fromkeys(slots, 0)
        self.shipped: dict[str, Fact] = {}
        self.claimed: set[str] = set()  # rows that were LPP-only in some evaluation

    @property
    def settled(self) -> int:
        return sum(self.start.values())

    def facts(self) -> list[Fact]:
        return list(self.shipped.values())

    def check(self, view: DecisionView) -> bool:
        """Settle what ``view`` confirms; True when every assumption held."""
        held = True
        for slot, members in self.slots.items():
            k = self.start[slot]
            wrong = False
            while k < len(members) and not wrong:
                tx = members[k]
                used = lpp_use(view, tx)
                assumed = self.shipped.get(tx.id)
                wrong = (assumed is None) != (used is None) or (
                    used is not None and assumed is not None and assumed.values != used.values)
                if used is None:
                    self.shipped.pop(tx.id, None)
                else:
                    self.shipped[tx.id] = used
                k += 1
            self.start[slot] = k
            if wrong:
                held = False
                for tx in members[k:]:
                    if lpp_use(view, tx) is not None:
                        self.claimed.add(tx.id)
                self._guess(view, slot, members, k)
        return held

    def _guess(self, view: DecisionView, slot: tuple[str, int], members: list[Transaction],
               k: int) -> None:
        """Assume, in order, that each unsettled row that has been LPP-only in some
        evaluation ships if the slot's total so far plus its TPP is within the cap."""
        caps = [r[1] for r in view.model.rows("threshold") if r[0] == "lpp_cap"]
        total: Any = self.history.get(slot, 0)
        for tx in members[:k]:
            if tx.id in self.shipped:
                total = total + self.shipped[tx.id].values[2]
        for tx in members[k:]:
            tpp = view.one("tx_tpp", tx.id)
            if tpp is not None and tx.id in self.claimed and len(caps) == 1 \
                    and total + tpp <= caps[0]:
                total = total + tpp
                self.shipped[tx.id] = Fact("lpp_shipped", (tx.ultimate_consignee, tx.date.year,
                                                           tpp, tx.id), tx.span)
            else:
                self.shipped.pop(tx.id, None)


def _evaluate(eng: Engine, book: Rulebook, facts: tuple[Fact, ...]) -> Model:
    """The model of the rulebook over ``facts``, with the derivations that citations
    and uncertainties are read from.

    An engine that records no derivations (pyDatalog) still decides: earlog's
    evaluator traces the derivations, and both must agree on every fact.

    Raises:
        EngineError: the two engines computed different models.
    """
    model = eng.evaluate(book.checked, facts, provenance=True)
    if model.provenance is not None:
        return model
    traced = get_engine("earlog").evaluate(book.checked, facts, provenance=True)
    differ = sorted(p for p in set(model.relations) | set(traced.relations)
                    if model.rows(p) != traced.rows(p))
    if differ:
        raise EngineError(f"the {eng.name} engine and earlog's evaluator disagree on "
                          + ", ".join(differ[:5]),
                          hint="this is a bug in one of the engines; decide with --engine earlog")
    return Model(model.relations, traced.provenance, model.given)


def input_facts(scenario: Scenario, as_of: _dt.date | None = None) -> tuple[Fact, ...]:
    """The scenario's input facts, with every transaction read as of ``as_of`` when given.

    Args:
        scenario: a validated scenario.
        as_of: overrides each transaction's ``tx_as_of`` (the law's reading date).

    Returns:
        ``scenario_facts(scenario)``, with ``tx_as_of`` replaced when ``as_of`` is given.
    """
    facts = scenario_facts(scenario)
    if as_of is None:
        return facts
    kept = tuple(f for f in facts if f.pred != "tx_as_of")
    return kept + tuple(Fact("tx_as_of", (t.id, as_of), NO_SPAN) for t in scenario.transactions)


class DecisionView:
    """Reads decisions out of one evaluated model.

    Rows of transaction-keyed predicates are grouped by transaction once per
    predicate (on first use), so reading every transaction's decision costs
    O(model) rather than O(model) per transaction.

    Args:
        model: evaluated with provenance (citations come from first derivations).
        book: the rulebook the model was computed with.
    """

    def __init__(self, model: Model, book: Rulebook) -> None:
        self.model = model
        self.book = book
        self._by_tx: dict[str, dict[Value, list[Row]]] = {}
        self.closures: dict[tuple[str, Row], int] = {}
        self.marks = _Marks(book)
        self._finder: RuledOutFinder | None = None

    def ruled_out(self, tid: str, code: str) -> RuledOut:
        """Why ``code`` is not available for ``tid`` (see ``ruledout``)."""
        if self._finder is None:
            self._finder = RuledOutFinder(
                self.model, self.book.checked, lambda f: bool(f) and not is_rulebook_file(f))
        return self._finder.ruled_out(tid, code)

    def rows(self, pred: str, tid: str) -> list[Row]:
        """The rows of ``pred`` whose first value is ``tid``."""
        groups = self._by_tx.get(pred)
        if groups is None:
            groups = {}
            for row in self.model.rows(pred):
                groups.setdefault(row[0], []).append(row)
            self._by_tx[pred] = groups
        return groups.get(tid, [])

    def values(self, pred: str, tid: str, col: int = 1) -> set[Value]:
        """Column ``col`` of the rows of ``pred`` for ``tid``."""
        return {row[col] for row in self.rows(pred, tid)}

    def one(self, pred: str, tid: str) -> Value | None:
        """The second value of some row of ``pred`` for ``tid`` (None when there is none)."""
        rows = self.rows(pred, tid)
        return rows[0][1] if rows else None

    def exceptions(self, tid: str) -> tuple[str, ...]:
        """The exception codes available for ``tid``, sorted."""
        return tuple(sorted(x for x in EXCEPTION_CODES if self.model.holds("exception", (tid, x))))

    def decision(self, tx: Transaction) -> Decision:
        """The decision for ``tx`` (see SCENARIOS.md for the fields)."""
        return _decision(tx, self)


def _decision(tx: Transaction, view: DecisionView) -> Decision:
    model = view.model
    tid = tx.id
    outcomes = view.values("outcome", tid)
    outcome = str(min(outcomes)) if outcomes else "indeterminate"
    in_scope = model.holds("in_scope", (tid,))
    needs = model.holds("needs_license", (tid,))
    license_required: bool | None = needs
    if model.holds("license_unknown", (tid,)):
        license_required = None
    exceptions = view.exceptions(tid)
    reviews = view.values("review", tid)
    review = str(sorted(reviews)[0]) if outcome == "license_required" and reviews else None
    used = _Walk(model, view.marks, view.closures)
    used.visit("outcome", (tid, outcome))
    for x in exceptions:
        used.visit("exception", (tid, x))
    if review is not None:
        used.visit("review", (tid, review))
    # Every legal basis of the license requirement, not only the one the engine
    # happened to derive first (which depends on set order).
    for row in view.rows("license_required", tid):
        used.visit("license_required", row)
    if exceptions and model.holds("restricted", (tid,)):
        # 740.2(a)(9)(ii) restricts the exceptions left for this transaction, and the
        # available ones are among those it leaves.
        used.visit("restricted", (tid,))
    if in_scope:
        # The headquarters overlay (entity and ultimate parent) shapes AIA, the
        # filters and the review policy, mostly through negation.
        for row in view.rows("cons_hq", tid):
            used.visit("cons_hq", row)
        for item in view.values("tx_item", tid):
            if model.holds("class_confirmed", (item,)):
                used.visit("class_confirmed", (item,))
    else:
        for pred in OUT_OF_SCOPE_PREDICATES:
            for row in view.rows(pred, tid):
                used.visit(pred, row)
    if outcome == "permitted" and not needs:
        for row in view.rows("no_license", tid):
            used.visit("no_license", row)
    missing: set[str] = set()
    ruled_out: tuple[RuledOut, ...] = ()
    if in_scope and needs:
        ruled_out = tuple(view.ruled_out(tid, x) for x in EXCEPTION_CODES if x not in exceptions)
    if outcome in ("license_required", "indeterminate"):
        for row in view.rows("pending", tid):
            if not model.holds("barred_pending", (tid, row[1])):
                used.visit("pending", row)
                missing.add(str(row[2]))
        for row in view.rows("lr_unknown", tid):
            used.visit("lr_unknown", row)
    for pred in FLAG_PREDICATES:
        if model.holds(pred, (tid,)):
            used.visit(pred, (tid,))
    if outcome == "indeterminate" and needs and not reviews and not missing:
        missing.add("tpp_per_unit")
    conditions = tuple(sorted(str(r[1]) for r in view.rows("condition", tid)))
    flagged = {str(r[1]) for r in view.rows("tx_flag", tid)}
    uncertainties = set(used.uncertain) | flagged | {f"missing:{m}" for m in missing}
    uncertainties.update(u for r in ruled_out for u in r.raised)
    return Decision(
        transaction=tid, as_of=_as_of(view, tid, tx), in_scope=in_scope,
        license_required=license_required if in_scope else False,
        exceptions=exceptions, outcome=outcome, review_policy=review,
        citations=tuple(sorted(used.cites, key=_cite_key)),
        uncertainties=tuple(sorted(uncertainties)), conditions=conditions,
        missing=tuple(sorted(missing)), ruled_out=ruled_out,
    )


def _as_of(view: DecisionView, tid: str, tx: Transaction) -> _dt.date:
    v = view.one("tx_as_of", tid)
    return v if isinstance(v, _dt.date) else tx.date


class _Marks:
    """The basis citations and uncertainty ids of a rulebook's rules as bits of an int,
    so that what a proof cites is a bitwise or of what its steps cite. Only ``@element``
    rules cite: helper steps are folded into the elements that use them."""

    def __init__(self, book: Rulebook) -> None:
        index: dict[tuple[bool, str], int] = {}
        self.own: list[int] = []  # per rule index
        for rule in book.rules:
            marks = [(True, rule.meta.cite)] if rule.meta.cite and rule.meta.element else []
            marks += [(False, u) for u in rule.meta.uncertain]
            self.own.append(sum(1 << index.setdefault(m, len(index)) for m in set(marks)))
        self.names = list(index)
        self._decoded: dict[int, tuple[frozenset[str], frozenset[str]]] = {}

    def decode(self, mask: int) -> tuple[frozenset[str], frozenset[str]]:
        """The citations and uncertainty ids whose bits are set in ``mask``."""
        got = self._decoded.get(mask)
        if got is None:
            marks = [self.names[i] for i in range(mask.bit_length()) if mask >> i & 1]
            got = (frozenset(t for is_cite, t in marks if is_cite),
                   frozenset(t for is_cite, t in marks if not is_cite))
            self._decoded[mask] = got
        return got


class _Walk:
    """Collects the citations and uncertainties of every rule in a fact's proof.

    ``closures`` memoizes, per fact, what its first derivation's whole proof cites
    (as ``_Marks`` bits); one memo serves every walk over a model, so transactions
    that share sub-proofs (tiers, country groups, headquarters) pay for them once.
    """

    def __init__(self, model: Model, marks: _Marks, closures: dict[tuple[str, Row], int]) -> None:
        self.model = model
        self.marks = marks
        self.mask = 0
        self.extra: set[str] = set()
        self._memo = closures

    @property
    def cites(self) -> frozenset[str]:
        return self.marks.decode(self.mask)[0] | self.extra

    @property
    def uncertain(self) -> frozenset[str]:
        return self.marks.decode(self.mask)[1]

    def visit(self, pred: str, row: Row) -> None:
        """Add what the proof of ``pred(row)`` cites (nothing for a given fact)."""
        if self.model.provenance is None:
            return
        self.mask |= self._closure((pred, tuple(row)))

    def _closure(self, key: tuple[str, Row]) -> int:
        memo, own = self._memo, self.marks.own
        prov = self.model.provenance
        assert prov is not None
        if isinstance(prov, Provenance):
            try:
                return prov.rule_closure(key, own, memo)
            except RecursionError:
                pass  # a proof deeper than the interpreter's stack: the walk below
        # Post-order over first derivations; their premises were all derived
        # before them, so the walk is acyclic.
        first = prov.step if isinstance(prov, Provenance) else partial(_first_step, prov)
        stack: list[tuple[tuple[str, Row], Any]] = [(key, None)]
        while stack:
            k, step = stack[-1]
            if k in memo:
                stack.pop()
                continue
            if step is None:
                step = first(k)
                if step is None:
                    memo[k] = 0
                    stack.pop()
                    continue
                todo = [(p, None) for p in step[1] if p not in memo]
                if todo:
                    stack[-1] = (k, step)
                    stack += todo
                    continue
            stack.pop()
            mask = own[step[0]]
            for p in step[1]:
                mask |= memo[p]
            memo[k] = mask
        return memo[key]


def _first_step(prov: Mapping[tuple[str, Row], Derivation],
                key: tuple[str, Row]) -> tuple[int, tuple[tuple[str, Row], ...]] | None:
    """The rule and premises of ``key``'s first derivation (None for a given fact), from a
    provenance that is a plain mapping (``Provenance.step`` is the fast path)."""
    d = prov.get(key)
    return None if d is None else (d.rule, d.premises)


def _cite_key(c: str) -> tuple[int, str]:
    return (0 if c.startswith("15 CFR") else 1, c)


def decision_json(result: ScenarioDecisions, command: str | None = None) -> dict[str, Any]:
    """The JSON decision contract of SCENARIOS.md (plus optional fields).

    Args:
        result: the decided scenario.
        command: the ``earlog`` command line that reproduces this output
            (``receipt.command_line``); when given, the optional top-level
            ``receipt`` field is added (``receipt.Receipt.to_dict``).
    """
    book = result.rulebook
    payload: dict[str, Any] = {
        "scenario": result.scenario.id,
        "regime": book.regime,
        "rulebook": {"name": book.name, "version": book.version, "sha256": book.sha256},
        "decisions": [_decision_dict(d) for d in result.decisions],
    }
    if command is not None:
        payload["receipt"] = make_receipt(result, command).to_dict()
    return payload


def decision_record(d: Decision) -> dict[str, Any]:
    """The decision's fields of the JSON contract (SCENARIOS.md), exactly."""
    return {
        "transaction": d.transaction,
        "as_of": d.as_of.isoformat(),
        "in_scope": d.in_scope,
        "license_required": d.license_required,
        "exceptions": list(d.exceptions),
        "outcome": d.outcome,
        "review_policy": d.review_policy,
        "citations": list(d.citations),
        "ruled_out": [{"exception": r.exception, "citation": r.citation, "reason": r.reason,
                       "facts": list(r.facts)} for r in d.ruled_out],
        "uncertainties": list(d.uncertainties),
    }


def _decision_dict(d: Decision) -> dict[str, Any]:
    out = decision_record(d)
    if d.conditions:
        out["conditions"] = list(d.conditions)
    return out
