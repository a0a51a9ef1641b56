"""Deciding a scenario's transactions with the rulebook: the JSON decision contract."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Mapping

from reasoner.engine import Engine, Model, get_engine
from reasoner.engine.model import Derivation, Row
from reasoner.engine.seminaive import Provenance
from reasoner.lang.errors import EngineError
from reasoner.lang.ir import Fact, Value
from reasoner.law.receipt import make_receipt
from reasoner.law.rulebook import Rulebook, is_rulebook_file, load_rulebook
from reasoner.law.ruledout import RuledOut, RuledOutFinder
from reasoner.law.scenario import Scenario, Transaction, scenario_facts
from reasoner.lang.span import NO_SPAN

__all__ = ["Decision", "DecisionView", "ScenarioDecisions", "decide", "decision_json", "decision_record", "input_facts",
           "FLAG_PREDICATES", "EXCEPTION_CODES"]

# Transaction-keyed predicates whose rules carry an @uncertain id: when one holds
# for a transaction, the decision names that uncertainty.
FLAG_PREDICATES = ("compliance_window", "hk_involved", "supp10_delayed", "nveu_ambiguous",
                   "item_foreign", "tx_note2_unassessed", "tx_derived_over_limit", "us_tier1_used",
                   "aca_widening")
EXCEPTION_CODES = ("AIA", "ACM", "LPP", "NAC", "ACA", "UVEU", "NVEU")
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
    engine: str = "earlog",
) -> ScenarioDecisions:
    """Decide every transaction of a scenario.

    Transactions are decided in date order (file order breaks ties) so that LPP
    usage accumulates: a transaction whose only available authorization is LPP
    adds its TPP to the consignee's calendar-year total for later ones.

    Args:
        scenario: a validated scenario.
        regime: ``ifr`` or ``enforced``; default the scenario's own.
        as_of: read the law at this date instead of each transaction's date.
        engine: evaluation backend.

    Returns:
        The decisions, in the scenario's order, and the final model, which holds
        every transaction's conclusions (LPP totals count only earlier shipments).
    """
    book = load_rulebook(regime or scenario.regime)
    order = sorted(enumerate(scenario.transactions), key=lambda p: (p[1].date, p[0]))
    base = input_facts(scenario, as_of) + tuple(
        Fact("tx_seq", (tx.id, k), tx.span) for k, (_, tx) in enumerate(order))
    lpp_facts: list[Fact] = []
    dirty: set[tuple[str, int]] = set()
    eng = get_engine(engine)
    model = _evaluate(eng, book, base)
    view = DecisionView(model, book)
    out: dict[str, Decision] = {}
    for _, tx in order:
        slot = (tx.ultimate_consignee, tx.date.year)
        if slot in dirty:
            model = _evaluate(eng, book, (*base, *lpp_facts))
            view = DecisionView(model, book)
            dirty.clear()
        d = view.decision(tx)
        out[tx.id] = d
        if d.exceptions == ("LPP",):
            tpp = view.one("tx_tpp", tx.id)
            if tpp is not None:
                lpp_facts.append(Fact("lpp_shipped", (tx.ultimate_consignee, tx.date.year, tpp, tx.id),
                                      tx.span))
                dirty.add(slot)
    decisions = tuple(out[t.id] for t in scenario.transactions)
    return ScenarioDecisions(scenario, book, decisions, model)


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
