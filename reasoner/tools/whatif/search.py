"""What-if: the smallest sets of changes to a scenario's facts that flip a transaction's outcome.

The what-if search (variants, their validation, the minimal sets) is one job, kept in one module though it runs past 500 lines.
"""

# Variants are written as scenario YAML (the contract's own format) and read back
# through scenario.parse_scenario, so a variant passes exactly the validation a
# user's file does (country codes, references, parent cycles). Records a variant
# leaves alone keep their spans; a changed field's facts point at "<what-if>"
# with the line of the value they replace.
#
# The search is breadth-first by number of changes over a declared, data-only
# set of changeable fields (CHANGEABLE) with small value domains (DOMAINS and
# COUNTRY_REPRESENTATIVES, plus the scenario's own values). A set is tried only
# when no subset of it flipped already, so every set reported is minimal. A
# budget of decided variants bounds the search; the result says when it bit.

from __future__ import annotations

import dataclasses
import itertools
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterator, Mapping, Sequence

from reasoner.law.decision import Decision, ScenarioDecisions, decide
from reasoner.lang.errors import CheckFailed, Diagnostic, EarlogError, QueryError, ScenarioError
from reasoner.proof.compaction import splice_helpers
from reasoner.proof.steps import Proof
from reasoner.proof.why import ProofBuilder
from reasoner.law.scenario import END_USES, Entity, Item, Model, Scenario, Transaction, parse_scenario
from reasoner.lang.span import NO_SPAN, Span
from reasoner.law.scenario.yamlnodes import did_you_mean

__all__ = [
    "Changeable",
    "CHANGEABLE",
    "COUNTRY_REPRESENTATIVES",
    "DOMAINS",
    "OUTCOMES",
    "Raw",
    "Change",
    "Flip",
    "WhatIfResult",
    "SetResult",
    "what_if",
    "what_if_set",
    "apply_changes",
    "parse_assignment",
    "scenario_yaml",
]

OUTCOMES = ("permitted", "license_required", "out_of_scope", "indeterminate")

# Whose field a change touches: the transaction's ultimate consignee, the top of
# the consignee's parent chain, the transaction itself, or its item.
ROLES = ("consignee", "ultimate_parent", "transaction", "item")


@dataclass(frozen=True, slots=True)
class Changeable:
    """A field the search may change: whose (a role of ``ROLES``), which YAML key,
    and the kind of values it takes (a key of ``DOMAINS`` or a computed kind:
    ``country``, ``country_or_null``, ``parent``, ``quantity``, ``veu``)."""

    role: str
    key: str
    kind: str


# The fields the search changes, in the order sets of equal size are ranked.
CHANGEABLE: tuple[Changeable, ...] = (
    Changeable("ultimate_parent", "headquartered_in", "country"),
    Changeable("consignee", "headquartered_in", "country"),
    Changeable("consignee", "located_in", "country"),
    Changeable("consignee", "parent", "parent"),
    Changeable("transaction", "to", "country"),
    Changeable("transaction", "quantity", "quantity"),
    Changeable("transaction", "end_use", "end_use"),
    Changeable("transaction", "final_destination", "country_or_null"),
    Changeable("item", "designer", "designer"),
    Changeable("item", "datacenter", "tri"),
    Changeable("consignee", "government_controlled", "bool"),
    Changeable("consignee", "weights_storage_compliant", "tri"),
    Changeable("consignee", "veu", "veu"),
)

# One country per class the rulebook treats differently: Tier 1 (US, DE); Tier 2
# in A:5 (IN), in A:6 (SG), in D:1 outside A:5/A:6 (VN); Tier 3: D:5 (CN), Macau (MO).
COUNTRY_REPRESENTATIVES = ("US", "DE", "IN", "SG", "VN", "CN", "MO")

# Fixed value domains; None means "absent" (unknown for three-valued fields).
DOMAINS: Mapping[str, tuple[Any, ...]] = {
    "bool": (True, False),
    "tri": (True, False, None),
    "end_use": END_USES,
    "designer": ("approved", "authorized", "none", None),
}

_SECTIONS = ("entities", "items", "models", "transactions")
_ROLE_SECTION = {"consignee": "entities", "ultimate_parent": "entities",
                 "transaction": "transactions", "item": "items"}


@dataclass(frozen=True, slots=True)
class Raw:
    """A value written as YAML text (from ``--set``), read by the field's own rule."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Change:
    """One changed field: ``section`` (``entities``, ``items``, ``models``,
    ``transactions``), the record's ``id``, the YAML ``key``, old and new values.

    A mapping value (a VEU) is a tuple of (key, value) pairs.
    """

    section: str
    id: str
    key: str
    old: Any
    new: Any

    @property
    def field(self) -> tuple[str, str, str]:
        """Which field it changes (two changes of one field never combine)."""
        return (self.section, self.id, self.key)

    def __str__(self) -> str:
        return f"{self.id}.{self.key}: {_show(self.old)} \u2192 {_show(self.new)}"


@dataclass(frozen=True, slots=True)
class Flip:
    """A minimal set of changes that flips the outcome, the new decision, and the
    proof of its key step without helper rules (the exception that became available, else the
    outcome or review policy)."""

    changes: tuple[Change, ...]
    decision: Decision
    key_step: Proof


@dataclass(frozen=True, slots=True)
class WhatIfResult:
    """What the search found and how far it got.

    Attributes:
        flips: minimal flipping sets, ranked by size, then by field and value order.
        evaluated: variants decided; ``invalid``: variants the validation rejected.
        complete_up_to: every set of at most this many changes was tried (0: none).
        bound_reached: the ``max_candidates`` budget stopped the search before
            every set of at most ``max_changes`` changes was tried.
        untried: sets of at most ``max_changes`` changes left untried.
    """

    scenario: Scenario
    transaction: str
    regime: str
    before: Decision
    target: str | None
    flips: tuple[Flip, ...]
    singles: int
    evaluated: int
    invalid: int
    complete_up_to: int
    bound_reached: bool
    untried: int
    max_changes: int
    max_candidates: int


@dataclass(frozen=True, slots=True)
class SetResult:
    """One variant given by ``--set``: the decision before and after, and the new key step."""

    scenario: Scenario
    transaction: str
    regime: str
    changes: tuple[Change, ...]
    before: Decision
    after: Decision
    key_step: Proof
    variant: ScenarioDecisions = field(compare=False, repr=False)


# ---- the search --------------------------------------------------------------------


def what_if(
    scenario: Scenario, tx: str, regime: str | None = None, target: str | None = None,
    max_changes: int = 2, max_candidates: int = 300,
    progress: Callable[[int, int], None] | None = None,
) -> WhatIfResult:
    """Search for the smallest sets of changes that flip ``tx``'s outcome.

    Args:
        scenario: a validated scenario.
        tx: the transaction id.
        regime: ``ifr`` or ``enforced``; default the scenario's own.
        target: an outcome to reach (one of ``OUTCOMES``); default any other outcome.
        max_changes: the largest set tried.
        max_candidates: how many variants may be decided in all.
        progress: called with (variants decided, budget) after each one.

    Returns:
        The flips found and how far the search got.

    Raises:
        QueryError: no such transaction, an unknown target, or the target is
            the outcome already.
    """
    base = decide(scenario, regime=regime)
    before = _decision(base, tx)
    if target is not None and target not in OUTCOMES:
        raise QueryError(f"unknown outcome '{target}'", hint="outcomes: " + ", ".join(OUTCOMES))
    if target == before.outcome:
        raise QueryError(f"{tx} is {target} already", hint="ask for another --target")
    singles = list(candidate_changes(base, tx))
    search = _Search(scenario, tx, base.rulebook.regime, before, target, max_candidates, progress)
    complete = 0
    for size in range(1, max_changes + 1):
        sets = _sets(singles, size, search.flipped)
        if not search.run(sets):
            break
        complete = size
    flips = sorted(search.flips, key=lambda f: (len(f.changes),
                                               tuple(singles.index(c) for c in f.changes)))
    return WhatIfResult(
        scenario=scenario, transaction=tx, regime=base.rulebook.regime, before=before,
        target=target, flips=tuple(flips), singles=len(singles), evaluated=search.evaluated,
        invalid=search.invalid, complete_up_to=complete, bound_reached=search.untried > 0,
        untried=search.untried, max_changes=max_changes, max_candidates=max_candidates)


class _Search:
    """Decides variants within a budget and keeps the ones that flip."""

    def __init__(self, scenario: Scenario, tx: str, regime: str, before: Decision,
                 target: str | None, budget: int,
                 progress: Callable[[int, int], None] | None) -> None:
        self.scenario, self.tx, self.regime = scenario, tx, regime
        self.before, self.target, self.budget = before, target, budget
        self.progress = progress
        self.flips: list[Flip] = []
        self.flipped: list[frozenset[tuple[str, str, str, Any]]] = []
        self.evaluated = self.invalid = self.untried = 0

    def run(self, sets: list[tuple[Change, ...]]) -> bool:
        """Try ``sets`` in order; False when the budget ran out first."""
        for n, changes in enumerate(sets):
            if self.evaluated >= self.budget:
                self.untried += sum(1 for s in sets[n:] if not _superset(s, self.flipped))
                return False
            if _superset(changes, self.flipped):
                continue  # a subset flipped already (found earlier at this size)
            self.evaluated += 1
            try:
                variant = apply_changes(self.scenario, changes)
            except EarlogError:
                self.invalid += 1
                continue
            result = decide(variant, regime=self.regime)
            after = _decision(result, self.tx)
            if self.progress is not None:
                self.progress(self.evaluated, self.budget)
            if _is_flip(self.before, after, self.target):
                self.flips.append(Flip(changes, after, key_step(result, self.before, after)))
                self.flipped.append(frozenset(_key(c) for c in changes))
        return True


def _key(c: Change) -> tuple[str, str, str, Any]:
    return (c.section, c.id, c.key, c.new)


def _superset(changes: tuple[Change, ...], flipped: list[frozenset[tuple[str, str, str, Any]]]) -> bool:
    keys = frozenset(_key(c) for c in changes)
    return any(f <= keys for f in flipped)


def _sets(singles: list[Change], size: int,
          flipped: list[frozenset[tuple[str, str, str, Any]]]) -> list[tuple[Change, ...]]:
    """Every set of ``size`` changes to distinct fields, no superset of a flip,
    in rank order: by the sum of the members' positions, then lexicographically
    (so that early budget is spread over all fields, not spent on the first)."""
    if size == 1:
        return [(c,) for c in singles]
    out = []
    for combo in itertools.combinations(range(len(singles)), size):
        changes = tuple(singles[i] for i in combo)
        if len({c.field for c in changes}) < size or _superset(changes, flipped):
            continue
        out.append((sum(combo), combo, changes))
    out.sort(key=lambda t: (t[0], t[1]))
    return [t[2] for t in out]


def _is_flip(before: Decision, after: Decision, target: str | None) -> bool:
    if target is not None:
        return after.outcome == target
    return after.outcome != before.outcome


def _decision(result: ScenarioDecisions, tx: str) -> Decision:
    for d in result.decisions:
        if d.transaction == tx:
            return d
    known = ", ".join(d.transaction for d in result.decisions)
    raise QueryError(f"no transaction '{tx}' in scenario '{result.scenario.id}'",
                     hint=f"transactions: {known}")


def key_step(result: ScenarioDecisions, before: Decision, after: Decision) -> Proof:
    """The proof of what decides ``after``, without helper rules (its tests and their
    values stay): the provision of an exception that became available, else the
    review policy, else the outcome."""
    tx = after.transaction
    new = [x for x in after.exceptions if x not in before.exceptions] or list(after.exceptions)
    if new:
        # the exception's own provision (its candidate rule) rather than the 740.2 wrapper
        pred = "candidate" if result.model.holds("candidate", (tx, new[0])) else "exception"
        goal: tuple[str, tuple[Any, ...]] = (pred, (tx, new[0]))
    elif after.outcome == "license_required" and after.review_policy:
        goal = ("review", (tx, after.review_policy))
    else:
        goal = ("outcome", (tx, after.outcome))
    builder = ProofBuilder(result.model, result.rulebook.checked)
    return splice_helpers(builder.proof(goal[0], goal[1]))


# ---- candidate changes -------------------------------------------------------------


def candidate_changes(result: ScenarioDecisions, tx: str) -> Iterator[Change]:
    """Every single change of ``CHANGEABLE`` for ``tx``, in field then value order."""
    scn = result.scenario
    t = _transaction(scn, tx)
    countries = _countries(scn)
    for ch in CHANGEABLE:
        rec = _record(scn, t, ch.role)
        if rec is None:
            continue
        old = _value(rec, ch.key)
        for new in _domain(ch, scn, t, rec, countries, result):
            if new != old:
                yield Change(_ROLE_SECTION[ch.role], rec.id, ch.key, old, new)


def _record(scn: Scenario, t: Transaction, role: str) -> Entity | Item | Transaction | None:
    if role == "transaction":
        return t
    if role == "item":
        return scn.item(t.item) if t.item is not None else None
    consignee = scn.entity(t.ultimate_consignee)
    if role == "consignee":
        return consignee
    top, seen = consignee, {consignee.id}
    while top.parent is not None and top.parent not in seen:
        seen.add(top.parent)
        top = scn.entity(top.parent)
    return top if top.id != consignee.id else None


def _domain(ch: Changeable, scn: Scenario, t: Transaction, rec: Any, countries: tuple[str, ...],
            result: ScenarioDecisions) -> tuple[Any, ...]:
    if ch.kind in DOMAINS:
        return DOMAINS[ch.kind]
    if ch.kind == "country":
        return countries
    if ch.kind == "country_or_null":
        return (None, *countries)
    if ch.kind == "parent":
        return (None, *(e.id for e in scn.entities if e.id != rec.id))
    if ch.kind == "veu":
        return (None, (("type", "uveu"),), (("type", "nveu"), ("country", t.to)))
    if ch.kind == "quantity":
        return _quantities(t, scn, result)
    raise QueryError(f"unknown kind of changeable field '{ch.kind}'")


def _countries(scn: Scenario) -> tuple[str, ...]:
    own = {e.located_in for e in scn.entities} | {e.headquartered_in for e in scn.entities}
    for t in scn.transactions:
        own |= {t.from_, t.to} | ({t.final_destination} if t.final_destination else set())
    extra = sorted(c for c in own if c not in COUNTRY_REPRESENTATIVES)
    return COUNTRY_REPRESENTATIVES + tuple(extra)


def _quantities(t: Transaction, scn: Scenario, result: ScenarioDecisions) -> tuple[int, ...]:
    """Half the quantity, and the largest quantity within the consignee's LPP cap."""
    if t.quantity is None:
        return ()
    out = [t.quantity // 2] if t.quantity >= 2 else []
    tpp = scn.item(t.item).tpp_per_unit if t.item is not None else None
    caps = [r[1] for r in result.model.rows("threshold") if r[0] == "lpp_cap"]
    prior = [r[1] for r in result.model.rows("lpp_prior") if r[0] == t.id]
    if tpp and caps and isinstance(caps[0], (int, Decimal)):
        used = prior[0] if prior and isinstance(prior[0], (int, Decimal)) else 0
        most = int((Decimal(caps[0]) - Decimal(used)) // Decimal(tpp))
        if most >= 1 and most not in out:
            out.append(most)
    return tuple(out)


# ---- variants ----------------------------------------------------------------------


def apply_changes(scenario: Scenario, changes: Sequence[Change]) -> Scenario:
    """The scenario with ``changes`` applied, validated like a scenario file.

    Raises:
        ScenarioError, CheckFailed: the variant is not a valid scenario.
    """
    text = scenario_yaml(scenario, changes)
    parsed = parse_scenario(text, "<what-if>")
    return _transplant(scenario, parsed)


def _transplant(orig: Scenario, parsed: Scenario) -> Scenario:
    """``parsed`` with the original's spans: unchanged records are the original
    objects; a changed field points at "<what-if>" and the line it replaces."""
    def kept(name: str) -> tuple[Any, ...]:
        before = {r.id: r for r in getattr(orig, name)}
        return tuple(_respan(before[r.id], r) if r.id in before else r
                     for r in getattr(parsed, name))

    return dataclasses.replace(orig, entities=kept("entities"), items=kept("items"),
                               models=kept("models"), transactions=kept("transactions"))


def _respan(orig: Any, new: Any) -> Any:
    if orig == new:
        return orig
    changed = [k for k in _KEYS[type(orig)] if _value(orig, k) != _value(new, k)]
    spans = dict(orig.spans)
    for k in changed:
        where = orig.where(k)
        spans[k] = Span("<what-if>", where.line, where.col)
    out = dataclasses.replace(new, span=orig.span, spans=tuple(spans.items()))
    if isinstance(out, Entity) and out.veu is not None and "veu" in changed:
        out = dataclasses.replace(out, veu=dataclasses.replace(out.veu, span=spans["veu"]))
    return out


# The YAML keys of each record, in the order the contract lists them.
_KEYS: Mapping[type, tuple[str, ...]] = {
    Entity: ("name", "located_in", "headquartered_in", "parent", "government_controlled", "veu",
             "weights_storage_compliant", "majority_owned"),
    Item: ("eccn", "tpp_per_unit", "performance_density", "datacenter", "designer"),
    Model: ("training_operations", "published", "derived_from", "additional_operations",
            "trained_on_ear_hardware", "produced_in", "below_best_published"),
    Transaction: ("id", "type", "date", "exporter", "from", "to", "ultimate_consignee", "item",
                  "model", "quantity", "end_use", "final_destination"),
}


def _value(rec: Any, key: str) -> Any:
    """A record's value for a YAML key, as plain data (a VEU as (key, value) pairs)."""
    v = getattr(rec, "from_" if key == "from" else key)
    if key == "veu" and v is not None:
        return (("type", v.type),) + ((("country", v.country),) if v.country else ())
    return v


def scenario_yaml(scenario: Scenario, changes: Sequence[Change] = ()) -> str:
    """The scenario written as YAML (flow style), with ``changes`` applied.

    Values read back the same: strings are double-quoted, numbers exact,
    ``None`` fields left out (absent is the default), ``Raw`` values verbatim.
    """
    override = {(c.section, c.id, c.key): c.new for c in changes}
    out = [f"scenario: {_yaml(scenario.id)}"]
    if scenario.description is not None:
        out.append(f"description: {_yaml(scenario.description)}")
    if scenario.as_of is not None:
        out.append(f"as_of: {scenario.as_of.isoformat()}")
    out.append(f"regime: {scenario.regime}")
    for name in _SECTIONS:
        records = getattr(scenario, name)
        if name != "transactions" and not records:
            out.append(f"{name}: {{}}")
            continue
        out.append(f"{name}:" + ("" if records else " []"))
        for rec in records:
            keys = _KEYS[type(rec)]
            pairs = [(k, override.get((name, rec.id, k), _value(rec, k))) for k in keys]
            # a key the contract lacks is written too, for the validation to report
            pairs += [(k, v) for (sec, rid, k), v in override.items()
                      if sec == name and rid == rec.id and k not in keys]
            body = ", ".join(f"{k}: {_yaml(v)}" for k, v in pairs if v is not None)
            out.append(f"  - {{{body}}}" if name == "transactions"
                       else f"  {_yaml(rec.id)}: {{{body}}}")
    h = scenario.history
    if h.licensed_tpp or h.lpp_shipped:
        out.append("history:")
        lic = ", ".join(f"{_yaml(x.country)}: {_yaml(x.tpp)}" for x in h.licensed_tpp)
        out.append(f"  licensed_tpp_by_country: {{{lic}}}")
        by: dict[str, list[str]] = {}
        for s in h.lpp_shipped:
            by.setdefault(s.entity, []).append(f"{s.year}: {_yaml(s.tpp)}")
        lpp = ", ".join(f"{_yaml(e)}: {{{', '.join(ys)}}}" for e, ys in by.items())
        out.append(f"  lpp_tpp_by_consignee: {{{lpp}}}")
    return "\n".join(out) + "\n"


def _yaml(v: Any) -> str:
    if isinstance(v, Raw):
        return v.text
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, tuple):
        return "{" + ", ".join(f"{k}: {_yaml(x)}" for k, x in v) + "}"
    if hasattr(v, "isoformat"):
        return str(v.isoformat())
    return json.dumps(str(v), ensure_ascii=False)


def _show(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, tuple):
        return "{" + ", ".join(f"{k}: {x}" for k, x in v) + "}"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


# ---- --set -------------------------------------------------------------------------


def parse_assignment(scenario: Scenario, text: str) -> Change:
    """Read ``ID.KEY=VALUE`` (e.g. ``se_co.headquartered_in=DE``, ``tx1.quantity=100``).

    ID names an entity, item, model or transaction; VALUE is YAML as a scenario
    file would hold it (``null``, ``{type: uveu}``).

    Raises:
        QueryError: not of that form, or an unknown or ambiguous id.
    """
    left, eq, value = text.partition("=")
    rid, dot, key = left.strip().rpartition(".")
    if not eq or not dot or not rid or not key:
        raise QueryError(f"--set expects ID.KEY=VALUE, found '{text}'",
                         hint="e.g. --set se_co.headquartered_in=DE or --set tx1.quantity=100")
    found = [(name, r) for name in _SECTIONS for r in getattr(scenario, name) if r.id == rid]
    if not found:
        ids = [r.id for name in _SECTIONS for r in getattr(scenario, name)]
        guess = did_you_mean(rid, ids)
        raise QueryError(f"--set {text}: no entity, item, model or transaction '{rid}'",
                         hint=f"did you mean '{guess}'?" if guess else "ids: " + ", ".join(ids))
    if len(found) > 1:
        raise QueryError(f"--set {text}: '{rid}' names several records ("
                         + ", ".join(name for name, _ in found) + ")",
                         hint="give the records distinct ids")
    name, rec = found[0]
    old = _value(rec, key) if key in _KEYS[type(rec)] else None
    return Change(name, rid, key, old, Raw(value.strip()))


def what_if_set(scenario: Scenario, tx: str, assignments: Sequence[str],
                regime: str | None = None) -> SetResult:
    """Re-decide ``tx`` with the ``--set`` assignments applied.

    Raises:
        QueryError: a malformed assignment, or no such transaction.
        ScenarioError, CheckFailed: the variant is not a valid scenario (each
            problem names the assignment it comes from).
    """
    base = decide(scenario, regime=regime)
    before = _decision(base, tx)
    changes = tuple(parse_assignment(scenario, a) for a in assignments)
    for text, change in zip(assignments, changes):
        _checked(scenario, (change,), f"--set {text}")
    variant = _checked(scenario, changes, "--set " + " --set ".join(assignments))
    result = decide(variant, regime=base.rulebook.regime)
    after = _decision(result, tx)
    return SetResult(scenario, tx, base.rulebook.regime, changes, before, after,
                     key_step(result, before, after), result)


def _checked(scenario: Scenario, changes: Sequence[Change], what: str) -> Scenario:
    """The variant, or the validation's problems restated for ``what``."""
    try:
        return apply_changes(scenario, changes)
    except EarlogError as exc:
        problems = [Diagnostic(NO_SPAN, f"{what}: {d.message}", d.hint, d.code)
                    for d in exc.diagnostics]
        if len(problems) == 1:
            raise ScenarioError(problems[0].message, NO_SPAN, problems[0].hint) from None
        raise CheckFailed(problems) from None


def _transaction(scn: Scenario, tx: str) -> Transaction:
    try:
        return scn.transaction(tx)
    except KeyError:
        known = ", ".join(t.id for t in scn.transactions)
        raise QueryError(f"no transaction '{tx}' in scenario '{scn.id}'",
                         hint=f"transactions: {known}") from None

