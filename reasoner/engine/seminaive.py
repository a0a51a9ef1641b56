"""earlog's own evaluator: stratified semi-naive evaluation with provenance."""

from __future__ import annotations

import threading
from operator import itemgetter
from typing import Any, Callable, Collection, Iterable, Iterator, Mapping, Sequence

from reasoner.lang.checks import CheckedProgram, bound_variables
from reasoner.lang.errors import EngineError
from reasoner.engine.gcpause import gc_paused
from reasoner.engine.limits import Budget, current_limits
from reasoner.lang.ir import BodyItem, Fact, Literal, Rule, Value, Var, body_preds, variables
from reasoner.engine.model import Derivation, Model, Row
from reasoner.engine.plan import FAIL, Env, Plan, Relation, compile_body, compile_term

__all__ = ["SemiNaiveEngine", "Provenance", "Staged", "solve"]


class _CompiledRule:
    """A rule's plans: one full plan, and one per recursive body atom (delta), compiled
    when first needed (a rule whose input is empty in an evaluation is never compiled)."""

    def __init__(self, index: int, rule: Rule, recursive_preds: set[str]) -> None:
        self.index = index
        self.rule = rule
        self._recursive = recursive_preds
        self._full: Plan | None = None
        self._deltas: list[Plan] | None = None
        positive = [item.atom.pred for item in rule.body
                    if isinstance(item, Literal) and not item.negated]
        # body predicates evaluated in earlier strata: when one is empty, the rule cannot fire
        self.needs = tuple(dict.fromkeys(p for p in positive if p not in recursive_preds))
        # the variables the rule body binds at top level (not aggregate- or negation-local)
        self.names = sorted(bound_variables(rule.body))

    @property
    def full(self) -> Plan:
        if self._full is None:
            self._full = compile_body(self.rule.body, variables(self.rule.head))
        return self._full

    @property
    def deltas(self) -> list[Plan]:
        if self._deltas is None:
            head_vars = variables(self.rule.head)
            self._deltas = [
                compile_body(self.rule.body, head_vars, delta_at=i)
                for i, item in enumerate(self.rule.body)
                if isinstance(item, Literal) and not item.negated
                and item.atom.pred in self._recursive
            ]
        return self._deltas

    def head_fn(self, plan: Plan) -> Callable[[Env], Row | None]:
        """The head row of a match, or None when an expression is undefined."""
        args = self.rule.head.args
        if all(isinstance(a, Var) for a in args):
            slots = [plan.slots[a.name] for a in args if isinstance(a, Var)]
            if len(slots) >= 2:
                return itemgetter(*slots)
            if len(slots) == 1:
                (only,) = slots
                return lambda env: (env[only],)
            return lambda env: ()
        fns = [compile_term(a, plan.slots) for a in args]

        def head(env: Env) -> Row | None:
            row = tuple([f(env) for f in fns])
            return None if FAIL in row else row
        return head

    @property
    def total_head(self) -> bool:
        """Whether the head is defined for every match (plain variables only)."""
        return all(isinstance(a, Var) for a in self.rule.head.args)


class SemiNaiveEngine:
    """Stratified semi-naive bottom-up evaluation (the default engine).

    Records, for each derived fact, the rule, variable bindings and positive
    premises of its first derivation, and its derivation level.
    """

    name = "earlog"

    def evaluate(
        self, checked: CheckedProgram, facts: Iterable[Fact] = (), provenance: bool = True
    ) -> Model:
        """Compute the least stratified model.

        Args:
            checked: a program that passed ``checks.check``.
            facts: extra given facts (e.g. from a scenario).
            provenance: record derivations (needed for proofs).

        Returns:
            The model; ``provenance`` is None when not recorded.

        Raises:
            EngineError: a given fact has the wrong arity.
        """
        with gc_paused():
            return _evaluate(checked, facts, provenance)


def _evaluate(checked: CheckedProgram, facts: Iterable[Fact], provenance: bool) -> Model:
    rels: dict[str, Relation] = {p: Relation() for p in checked.arity}
    given: dict[tuple[str, Row], Fact] = {}
    _load((*checked.program.facts, *facts), checked.arity, rels, given)
    prov = Provenance() if provenance else None
    budget = Budget(current_limits())
    for compiled, recursive in _compiled(checked):
        _run_stratum(compiled, rels, recursive, prov, budget)
    return Model({p: r.rows for p, r in rels.items()}, prov, given)


def _load(facts: Iterable[Fact], arity: Mapping[str, int], rels: dict[str, Relation],
          given: dict[tuple[str, Row], Fact]) -> None:
    """Add given facts to their relations (the first of equal facts is the given one).

    Raises:
        EngineError: a fact has the wrong arity.
    """
    for fact in facts:
        want = arity.get(fact.pred)
        if want is None:
            rels[fact.pred] = Relation()
        elif want != len(fact.values):
            raise EngineError(
                f"fact {fact} has {len(fact.values)} argument(s); '{fact.pred}' takes {want}",
                fact.span, "check the fact file against the predicate's declaration")
        if rels[fact.pred].add(fact.values):
            given[(fact.pred, fact.values)] = fact


class Staged:
    """One program over facts of which some predicates' (``varying``) change from one
    evaluation to the next: the strata that do not depend on them are evaluated once,
    with provenance, and the others at each ``finish``.

    ``finish(facts, provenance)`` is the model that ``evaluate`` computes over the facts
    given here plus ``facts``: a stratum's rows and first derivations follow from its
    inputs alone, and the strata evaluated once read no row that ``facts`` can change.

    Args:
        checked: a program that passed ``checks.check``.
        facts: the given facts that stay.
        varying: the predicates whose facts ``finish`` adds.

    Raises:
        EngineError: a given fact has the wrong arity.
    """

    def __init__(self, checked: CheckedProgram, facts: Iterable[Fact],
                 varying: Collection[str]) -> None:
        self.checked = checked
        strata = _compiled(checked)
        late = _late(checked, strata, varying)
        self._late = [strata[i] for i in sorted(late)]
        self._moving = {cr.rule.head.pred for compiled, _ in self._late for cr in compiled}
        self._moving.update(varying)
        self._rels: dict[str, Relation] = {p: Relation() for p in checked.arity}
        self._given: dict[tuple[str, Row], Fact] = {}
        every = (*checked.program.facts, *facts)
        self._kept = [f for f in every if f.pred in self._moving]
        _load((f for f in every if f.pred not in self._moving), checked.arity,
              self._rels, self._given)
        self._prov = Provenance()
        with gc_paused():
            budget = Budget(current_limits())
            for i, (compiled, recursive) in enumerate(strata):
                if i not in late:
                    _run_stratum(compiled, self._rels, recursive, self._prov, budget)

    def finish(self, facts: Iterable[Fact] = (), provenance: bool = True) -> Model:
        """The model over the facts given at construction and ``facts``, whose predicates
        must be among ``varying`` (without provenance, the model has none).

        Raises:
            ValueError: a fact of a predicate that is not varying.
            EngineError: a fact has the wrong arity.
        """
        extra = tuple(facts)
        fixed = sorted({f.pred for f in extra} - self._moving)
        if fixed:
            raise ValueError(f"facts of predicates that do not vary: {', '.join(fixed)}")
        rels = dict(self._rels)
        for p in self._moving:
            if p in rels:
                rels[p] = Relation()
        given = dict(self._given)
        _load((*self._kept, *extra), self.checked.arity, rels, given)
        prov: Provenance | None = None
        if provenance:
            prov = Provenance()
            prov.records.update(self._prov.records)
        with gc_paused():
            budget = Budget(current_limits())
            for compiled, recursive in self._late:
                _run_stratum(compiled, rels, recursive, prov, budget)
        return Model({p: r.rows for p, r in rels.items()}, prov, given)


def _late(checked: CheckedProgram, strata: list[tuple[list[_CompiledRule], set[str]]],
          varying: Collection[str]) -> set[int]:
    """The strata (by position) that read, through any chain of rules, a varying predicate
    or a predicate of such a stratum."""
    moving = set(varying)
    late: set[int] = set()
    grew = True
    while grew:
        grew = False
        for i, (compiled, _) in enumerate(strata):
            if i in late:
                continue
            if any(cr.rule.head.pred in moving or not moving.isdisjoint(body_preds(cr.rule.body))
                   for cr in compiled):
                late.add(i)
                moving.update(cr.rule.head.pred for cr in compiled)
                grew = True
    return late


# Compiled strata of recently evaluated programs, per thread (plans are reused
# between evaluations but not shared while one runs): id -> (program, strata).
_PLANS = threading.local()
_PLANS_KEPT = 4


def _compiled(checked: CheckedProgram) -> list[tuple[list[_CompiledRule], set[str]]]:
    """Each stratum's compiled rules and recursive predicates, compiled once per program."""
    cache: dict[int, tuple[CheckedProgram, list[tuple[list[_CompiledRule], set[str]]]]]
    cache = _PLANS.__dict__.setdefault("programs", {})
    got = cache.get(id(checked))
    if got is not None and got[0] is checked:
        return got[1]
    rules = checked.rules
    strata = []
    for stratum in checked.strata:
        recursive = {rules[i].head.pred for i in stratum} & checked.recursive
        strata.append(([_CompiledRule(i, rules[i], recursive) for i in stratum], recursive))
    if len(cache) >= _PLANS_KEPT:
        del cache[next(iter(cache))]
    cache[id(checked)] = (checked, strata)
    return strata


# What a first derivation is recorded from: the rule's index, its named
# variables' env slots and its positive premises' (pred, env slot of the row).
_Info = tuple[int, tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]
# A frozen copy of an environment (a tuple: once its contents are atomic, the
# cyclic collector stops tracking it).
_Snapshot = tuple[Any, ...]
# A round's new facts per head predicate: row -> a snapshot of the environment of
# its first derivation (its last slot the _Info), or None without provenance.
# Known rows are dropped at commit.
_Pending = dict[str, dict[Row, "_Snapshot | None"]]


class Provenance(Mapping[tuple[str, Row], Derivation]):
    """The first derivation of each derived fact, built on demand.

    The engine records a derivation as a copy of the matching environment
    (one list copy per new fact, its last slot naming the rule); the ``Derivation`` (bindings,
    premises, level) is built when first looked up. Premises of a derivation
    were all known before it, so levels follow by an acyclic walk.
    """

    __slots__ = ("records", "_built", "_levels")

    def __init__(self) -> None:
        # pred -> row -> environment of its first derivation; env[-1] is the rule's _Info
        self.records: dict[str, dict[Row, _Snapshot]] = {}
        self._built: dict[tuple[str, Row], Derivation] = {}
        self._levels: dict[tuple[str, Row], int] = {}

    def __getitem__(self, key: tuple[str, Row]) -> Derivation:
        d = self._built.get(key)
        if d is None:
            env = self.records[key[0]][key[1]]
            rule, name_slots, _ = env[-1]
            bindings = tuple([(n, env[s]) for n, s in name_slots])
            d = Derivation(rule, bindings, self._premises(key), self._level(key))
            self._built[key] = d
        return d

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 2:
            return False
        return key[1] in self.records.get(key[0], {})

    def __iter__(self) -> Iterator[tuple[str, Row]]:
        return ((pred, row) for pred, rows in self.records.items() for row in rows)

    def __len__(self) -> int:
        return sum(map(len, self.records.values()))

    def step(self, key: tuple[str, Row]) -> tuple[int, tuple[tuple[str, Row], ...]] | None:
        """The rule index and premises of ``key``'s first derivation, without building
        the ``Derivation`` (None for a fact that was not derived)."""
        rows = self.records.get(key[0])
        env = rows.get(key[1]) if rows is not None else None
        if env is None:
            return None
        rule, _, scan_slots = env[-1]
        return rule, tuple([(p, env[s]) for p, s in scan_slots])

    def first(self, key: tuple[str, Row]) -> tuple[int, tuple[tuple[str, Value], ...],
                                                   tuple[tuple[str, Row], ...]] | None:
        """The rule index, bindings and premises of ``key``'s first derivation, without its
        level (which ``__getitem__`` computes by a walk); None for a fact not derived."""
        rows = self.records.get(key[0])
        env = rows.get(key[1]) if rows is not None else None
        if env is None:
            return None
        rule, name_slots, scan_slots = env[-1]
        return (rule, tuple([(n, env[s]) for n, s in name_slots]),
                tuple([(p, env[s]) for p, s in scan_slots]))

    def rule_closure(self, key: tuple[str, Row], marks: Sequence[int],
                     memo: dict[tuple[str, Row], int]) -> int:
        """The bitwise or of ``marks[rule]`` over every rule of ``key``'s proof by first
        derivations (0 for a fact that was not derived). ``memo`` holds the result per
        fact and may be shared between calls over this provenance.

        Raises:
            RecursionError: the proof is deeper than the interpreter's stack allows
                (``memo`` keeps what was completed).
        """
        got = memo.get(key)
        if got is not None:
            return got
        rows = self.records.get(key[0])
        env = rows.get(key[1]) if rows is not None else None
        if env is None:
            memo[key] = 0
            return 0
        rule, _, scan_slots = env[-1]
        mask: int = marks[rule]
        records = self.records
        for pred, slot in scan_slots:
            premise = (pred, env[slot])
            sub = memo.get(premise)
            if sub is None:
                rows = records.get(pred)
                if rows is None or env[slot] not in rows:  # a given fact (no call for it)
                    sub = memo[premise] = 0
                else:
                    sub = self.rule_closure(premise, marks, memo)
            mask |= sub
        memo[key] = mask
        return mask

    def _premises(self, key: tuple[str, Row]) -> tuple[tuple[str, Row], ...]:
        step = self.step(key)
        if step is None:
            raise KeyError(key)
        return step[1]

    def _level(self, key: tuple[str, Row]) -> int:
        """Derivation height: 0 for given facts, else 1 + the premises' maximum."""
        levels = self._levels
        stack = [key]
        while stack:
            k = stack[-1]
            if k in levels:
                stack.pop()
                continue
            premises = self._premises(k)
            todo = [p for p in premises if p not in levels and p in self]
            if todo:
                stack.extend(todo)
                continue
            levels[k] = 1 + max((levels.get(p, 0) for p in premises), default=0)
            stack.pop()
        return levels[key]


def _run_stratum(
    compiled: list[_CompiledRule], rels: dict[str, Relation], recursive: set[str],
    prov: Provenance | None, budget: Budget,
) -> None:
    # Each recursive predicate's rows new in the last round. The relations, their
    # indexes and the rounds' pending rows stay the same objects from round to round,
    # so a delta plan's chain is compiled once and run every round (a chain of 10,000
    # transactions is 10,000 rounds).
    delta: dict[str, Relation] = {p: Relation() for p in recursive}

    def sources(pred: str, use_delta: bool) -> Relation:
        if use_delta:
            return delta.get(pred) or _EMPTY
        return rels[pred]

    pending: _Pending = {}
    # a rule reading an empty relation of an earlier stratum matches nothing, now or later
    live = [cr for cr in compiled if all(rels[p].rows for p in cr.needs)]
    for cr in live:
        _firing(cr, cr.full, sources, rels, pending, prov, budget)()
    new = _commit(pending, rels, prov)
    _spend(budget, new, compiled, 1)
    rounds = 1
    runs = [_firing(cr, plan, sources, rels, pending, prov, budget)
            for cr in live for plan in cr.deltas] if recursive else []
    while recursive and any(new.get(p) for p in recursive):
        for p, rel in delta.items():
            rel.replace(new.get(p, ()))
        for run in runs:
            run()
        new = _commit(pending, rels, prov)
        rounds += 1
        _spend(budget, new, compiled, rounds)


def _spend(budget: Budget, new: dict[str, list[Row]], compiled: list[_CompiledRule],
           rounds: int) -> None:
    if new:
        budget.spend(sum(map(len, new.values())),
                     [cr.rule for cr in compiled if cr.rule.head.pred in new], rounds)


_EMPTY = Relation()


def _firing(
    cr: _CompiledRule, plan: Plan, sources: Callable[[str, bool], Relation],
    rels: dict[str, Relation], pending: _Pending,
    prov: Provenance | None, budget: Budget,
) -> Callable[[], None]:
    """Compile ``plan`` over ``sources`` into a run that adds its head rows to ``pending``."""
    head = cr.head_fn(plan)
    out = pending.setdefault(cr.rule.head.pred, {})
    rule = cr.rule

    def check(pending_rows: int) -> None:  # every 65,536 new rows: one join can be huge
        budget.spend(0, [rule], 0, pending_rows)
    if prov is None:
        sink = _plain_sink(head, cr.total_head, out, check)
    else:
        target = rels[cr.rule.head.pred].rows
        sink = _provenance_sink(head, target, out, check)
    chain = plan.chain(sink, sources)
    size, info = len(plan.slots), _info(cr, plan)

    def run() -> None:
        # the last slot holds what a derivation is recorded from (see Provenance)
        chain([None] * size + [info])
    return run


def _plain_sink(head: Callable[[Env], Row | None], total: bool,
                out: dict[Row, _Snapshot | None],
                check: Callable[[int], None]) -> Callable[[Env], None]:
    """Record each head row; known rows are sorted out at commit."""
    if total:
        def sink_total(env: Env) -> None:
            row = head(env)
            if row not in out:
                out[row] = None  # type: ignore[index]
                if not len(out) & 0xFFFF:
                    check(len(out))
        return sink_total

    def sink(env: Env) -> None:
        row = head(env)
        if row is not None and row not in out:
            out[row] = None
            if not len(out) & 0xFFFF:
                check(len(out))
    return sink


def _info(cr: _CompiledRule, plan: Plan) -> _Info:
    return (
        cr.index,
        tuple((n, plan.slots[n]) for n in cr.names),
        tuple((p, slot) for _, p, slot in plan.scans),
    )


def _provenance_sink(
    head: Callable[[Env], Row | None], target: set[Row], out: dict[Row, _Snapshot | None],
    check: Callable[[int], None],
) -> Callable[[Env], None]:
    """Record the first derivation of each new head row: a copy of its environment.

    Which derivation is first must not depend on the order sets happen to iterate in:
    the round a row first appears in and the first rule (and plan) deriving it then are
    fixed by the program, and among one plan's matches the one whose premises come
    first in value order is kept. So the same facts always give the same provenance,
    and with it the same citations and uncertainties.
    """
    def sink(env: Env) -> None:
        row = head(env)
        if row is None or row in target:
            return
        old = out.get(row)
        if old is None:
            out[row] = tuple(env)
            if not len(out) & 0xFFFF:
                check(len(out))
        elif old[-1] is env[-1] and _premise_key(env) < _premise_key(old):
            out[row] = tuple(env)
    return sink


def _premise_key(env: Sequence[Any]) -> tuple[tuple[tuple[str, Any], ...], ...]:
    """The premises a recorded environment matched, as a total order on mixed values."""
    return tuple(tuple((type(v).__name__, v) for v in env[slot]) for _, slot in env[-1][2])


def _commit(
    pending: _Pending, rels: dict[str, Relation], prov: Provenance | None,
) -> dict[str, list[Row]]:
    """Add the pending rows to their relations (and provenance); empty ``pending``'s
    dicts for the next round. Returns the rows that were new, per predicate."""
    new: dict[str, list[Row]] = {}
    for pred, rows in pending.items():
        rel = rels[pred]
        if prov is not None:
            # every pending row is new: the provenance sink skips known ones
            fresh = list(rows)
            rel.extend_new(fresh)
            prov.records.setdefault(pred, {}).update(rows)  # type: ignore[arg-type]
        else:
            add = rel.add
            fresh = [row for row in rows if add(row)]
        if fresh:
            new[pred] = fresh
        rows.clear()
    return new


def solve(body: tuple[BodyItem, ...], model: Model) -> list[dict[str, Value]]:
    """All distinct bindings of the named variables of ``body`` in ``model``.

    The body must be safe (see ``checks``); predicates missing from the model are empty.
    """
    rels = {p: Relation(r) for p, r in model.relations.items()}
    plan = compile_body(body)
    names = sorted(n for n in plan.slots if not n.startswith("#") and not n.startswith("_"))
    results: dict[tuple[Value, ...], dict[str, Value]] = {}

    def sink(env: Env) -> None:
        key = tuple(env[plan.slots[n]] for n in names)
        results.setdefault(key, dict(zip(names, key)))
    plan.chain(sink, lambda p, d: rels.get(p) or _EMPTY)([None] * len(plan.slots))
    return [results[k] for k in sorted(results, key=_sort_key)]


def _sort_key(row: tuple[Value, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((type(v).__name__, str(v)) for v in row)
