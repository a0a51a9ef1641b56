"""Proofs: why a fact holds, rebuilt from the engine's recorded provenance as a cited DAG."""

from __future__ import annotations

from typing import Any, Callable, Protocol

from reasoner.engine.model import Derivation, Model, Row
from reasoner.lang.checks import CheckedProgram, bound_variables
from reasoner.lang.errors import QueryError
from reasoner.lang.ir import Aggregate, Call, Comparison, Literal, Rule, Term, Value, Var, format_value
from reasoner.lang.labels import LabelBook, fill, item_text, pattern_text, readable, term_text
from reasoner.engine.matching import (
    FAIL, Env, Index, aggregate, assigned_var, eval_term, instantiate, row_key, solutions, unify_head,
)
from reasoner.proof.steps import (
    AggregateStep, AssignmentStep, ComparisonStep, FactStep, NegationStep, Pattern, Proof, RuleStep,
    WhyNot,
)

__all__ = ["ProofBuilder", "WhyNotSource", "AGGREGATE_CAP", "comparison_step", "assignment_step",
           "aggregate_step"]


class WhyNotSource(Protocol):
    """What a proof builder asks why a negated atom does not hold (``whynot.WhyNotBuilder``)."""

    def why_not(self, pred: str, pattern: Pattern, depth: int) -> WhyNot: ...


# How many contributing matches an aggregate step shows before it is truncated.
AGGREGATE_CAP = 10

# How many matches of each rule's body are compared when choosing which derivation to show.
CHOICE_CAP = 256


def _too_deep(what: str) -> QueryError:
    return QueryError(
        f"the proof of {what} is deeper than Python's recursion limit allows",
        hint="cut it with --max-depth (e.g. --max-depth 50)")


class ProofBuilder:
    """Builds proofs over one model, sharing sub-proofs and lookups between calls."""

    def __init__(self, model: Model, checked: CheckedProgram, why_not_depth: int = 0,
                 why_nots: Callable[[ProofBuilder], WhyNotSource] | None = None) -> None:
        self.model = model
        self.checked = checked
        self.index = Index(model)
        self.labels = LabelBook(checked)
        self.why_not_depth = why_not_depth
        # proofs per (pred, row, depth left): those that show no negation of a derived atom
        # are the same with or without why-nots and shared with plain(); the others
        self._shared: dict[tuple[str, Row, int | None], Proof] = {}
        self._memo: dict[tuple[str, Row, int | None], Proof] = {}
        self._why_nots = why_nots
        self._whynot: WhyNotSource | None = None
        self._plain: ProofBuilder | None = None
        self._by_head: dict[str, list[int]] = {}
        for i, r in enumerate(checked.rules):
            self._by_head.setdefault(r.head.pred, []).append(i)
        # per rule index: the variables its body binds, and its X = expr assignments
        self._outer: dict[int, set[str]] = {}
        self._assigned: dict[int, dict[int, Var]] = {}
        # the provenance (``Model.provenance`` is a Mapping whose truth value counts its facts)
        self._prov = model.provenance
        self._levels: dict[tuple[str, Row], int] = {}  # recorded level per fact, given ones 0
        # per derived fact: the step shown, its rule's bindings and premises (see _choose)
        self._shown: dict[tuple[str, Row], tuple[RuleStep, Env, tuple[tuple[str, Row], ...]]] = {}

    def proof(self, pred: str, row: Row, max_depth: int | None = None) -> Proof:
        """The proof of ``pred(row)`` (see ``explain``).

        Raises:
            QueryError: unknown predicate, it does not hold, or provenance was not recorded.
        """
        if pred not in self.checked.arity:
            raise QueryError(f"unknown predicate '{pred}'",
                             hint="ask about a predicate the program defines or declares")
        if not self.model.holds(pred, row):
            raise QueryError(
                f"{pattern_text(pred, row)} does not hold, so it has no proof",
                hint="ask why not instead (earlog why-not)")
        if self.model.provenance is None:
            raise QueryError(
                "the model was computed without provenance",
                hint="evaluate with provenance=True to explain answers")
        try:
            return self._fact(pred, row, max_depth)
        except RecursionError:
            raise _too_deep(pattern_text(pred, row)) from None

    def _fact(self, pred: str, row: Row, left: int | None) -> Proof:
        key = (pred, row, left)
        done = self._shared.get(key)
        if done is None:
            done = self._memo.get(key)
        if done is not None:
            return done
        given = self.model.given.get((pred, row))
        if given is not None:
            en, zh = self.labels.atom(pred, row)
            sp = given.span
            out = self._shared[key] = Proof(
                FactStep(pred, row, str(given), f"{sp.file}:{sp.line}", en, zh))
            return out
        out = self._derived(pred, row, left)
        if self._no_derived_negation(out, left):
            self._shared[key] = out
        else:
            self._memo[key] = out
        return out

    def _no_derived_negation(self, proof: Proof, left: int | None) -> bool:
        """Whether ``proof`` (built ``left`` deep) shows no negation of a derived atom, the
        one step where builders with and without why-nots differ."""
        nxt = None if left is None else left - 1
        for sub in proof.premises:
            step = sub.step
            if isinstance(step, (RuleStep, FactStep)):
                if self._shared.get((step.pred, step.row, nxt)) is not sub:
                    return False
            elif isinstance(step, NegationStep):
                if self.rules_for(step.pred):
                    return False
            elif isinstance(step, AggregateStep) and not self._no_derived_negation(sub, nxt):
                return False
        return True

    def _derived(self, pred: str, row: Row, left: int | None) -> Proof:
        shown = self._shown.get((pred, row))
        if shown is None:
            d = self._prov.get((pred, row)) if self._prov is not None else None
            if d is None:
                raise QueryError(f"no record of how {pattern_text(pred, row)} was derived",
                                 hint="evaluate with provenance=True")
            index, env, chosen = self._choose(pred, row, d)
            step = self.rule_step(self.checked.rules[index], index, pred, row, env)
            shown = self._shown[(pred, row)] = (step, env, chosen)
        step, env, chosen = shown
        index = step.index
        rule = self.checked.rules[index]
        if left is not None and left <= 0:
            return Proof(step, (), truncated=bool(rule.body))
        nxt = None if left is None else left - 1
        facts = iter(chosen)
        assigned = self._assigned.get(index)
        if assigned is None:
            assigned = self._assigned[index] = _assignments(rule)
        premises: list[Proof] = []
        for i, item in enumerate(rule.body):
            if isinstance(item, Literal) and not item.negated:
                p, r = next(facts)
                premises.append(self._fact(p, r, nxt))
            else:
                premises.append(self.condition(item, env, assigned.get(i), nxt))
        return Proof(step, tuple(premises))

    def _choose(self, pred: str, row: Row, d: Derivation) -> tuple[int, Env, tuple[tuple[str, Row], ...]]:
        """The derivation to show: the lowest, then the first rule, then the first premises.

        The engine records the first derivation it happened to find, which
        depends on set iteration order; this choice does not. Candidates must
        rest on facts of lower recorded level than ``pred(row)``, so proofs of
        recursive predicates stay finite; the recorded one always qualifies and
        is the fallback.
        """
        # best so far: (height, rule index, bindings, facts); its row keys when compared
        best: tuple[int, int, Env, tuple[tuple[str, Row], ...]] | None = None
        best_keys: tuple[Any, ...] | None = None
        level = self._level
        for i in self.rules_for(pred):
            rule = self.checked.rules[i]
            unified = unify_head(rule.head, row)
            if unified is None:
                continue
            for n, (sol, facts) in enumerate(solutions(rule.body + unified[1], unified[0], self.index)):
                if n >= CHOICE_CAP:
                    break
                height = max(map(level, facts), default=-1)
                if height >= d.level:
                    continue
                # rules come in program order: a later rule never beats an equal height
                if best is not None and height >= best[0]:
                    if height > best[0] or i != best[1]:
                        continue
                    if best_keys is None:
                        best_keys = tuple(row_key(r) for _, r in best[3])
                    keys = tuple(row_key(r) for _, r in facts)
                    if not keys < best_keys:
                        continue
                    best_keys = keys
                else:
                    best_keys = None
                best = (height, i, sol, facts)
        if best is None:
            recorded = bound_variables(self.checked.rules[d.rule].body)
            return d.rule, {n: v for n, v in d.bindings if n in recorded}, d.premises
        _, i, sol, facts = best
        outer = self._outer.get(i)
        if outer is None:
            outer = self._outer[i] = bound_variables(self.checked.rules[i].body)
        return i, {k: v for k, v in sol.items() if k in outer}, facts

    def rules_for(self, pred: str) -> list[int]:
        """The indexes of the rules whose head is ``pred``, in program order (do not modify)."""
        return self._by_head.get(pred, [])

    def _level(self, fact: tuple[str, Row]) -> int:
        level = self._levels.get(fact)
        if level is None:
            d = None if fact in self.model.given or self._prov is None else self._prov.get(fact)
            level = self._levels[fact] = d.level if d is not None else 0
        return level

    def rule_step(self, rule: Rule, index: int, pred: str, row: Row, env: Env) -> RuleStep:
        """The step of ``rule`` concluding ``pred(row)``, labels filled from ``env``."""
        m = rule.meta
        return RuleStep(
            pred, row, pattern_text(pred, row), index, m.id, m.cite,
            f"{rule.span.file}:{rule.span.line}" if rule.span.line else "",
            fill(m.en, env) if m.en else "", fill(m.zh, env) if m.zh else "", m.element, m.uncertain)

    def condition(self, item: Any, env: Env, target: Var | None, left: int | None) -> Proof:
        """A proof node for a non-atom condition that holds under ``env``.

        ``target`` is the variable the condition assigns, for ``X = expr``.
        """
        if isinstance(item, Literal):
            return Proof(self.negation(item, env))
        if isinstance(item, Comparison):
            if target is not None:
                return Proof(assignment_step(item, target, env))
            return Proof(comparison_step(item, env))
        return self.aggregate(item, env, left)

    def negation(self, lit: Literal, env: Env, why_not: bool = True) -> NegationStep:
        """The step for ``not atom`` under ``env``, with the why-not when asked for."""
        pattern = instantiate(lit.atom, env) or tuple(None for _ in lit.atom.args)
        en, zh = self.labels.atom(lit.atom.pred, pattern)
        text = "not " + pattern_text(lit.atom.pred, pattern)
        whynot = None
        derived = bool(self.rules_for(lit.atom.pred))
        if why_not and derived and self.why_not_depth > 0:
            whynot = self.why_nots().why_not(lit.atom.pred, pattern, self.why_not_depth - 1)
        return NegationStep(lit.atom.pred, pattern, text, en, zh, whynot)

    def why_nots(self) -> WhyNotSource:
        """A why-not builder whose proofs attach no further why-nots (it stays finite).

        The same builder every time, so why-nots asked for here and by a caller share
        their sub-results.
        """
        if self._whynot is None:
            if self._why_nots is None:
                raise QueryError("this proof builder was made without why-nots",
                                 hint="build it with proof.prove.proof_builder")
            self._whynot = self._why_nots(self.plain())
        return self._whynot

    def plain(self) -> ProofBuilder:
        """A builder over the same model whose proofs attach no why-nots (this one if its
        own attach none), sharing this one's lookups and per-rule analyses.

        The same builder every time; the two share the proofs that show no
        negation of a derived atom (those attach no why-not in either).
        """
        if self.why_not_depth <= 0:
            return self
        if self._plain is None:
            plain = self._plain = ProofBuilder(self.model, self.checked)
            plain.index, plain.labels = self.index, self.labels
            plain._by_head, plain._outer, plain._assigned = self._by_head, self._outer, self._assigned
            plain._levels, plain._shown, plain._shared = self._levels, self._shown, self._shared
        return self._plain

    def aggregate(self, agg: Aggregate, env: Env, left: int | None) -> Proof:
        """The aggregate's step with the facts of its first contributing matches."""
        result = aggregate(agg, env, self.index)
        value = env.get(agg.result.name, result.value)
        step = aggregate_step(agg, env, None if value is FAIL else value,
                              len(result.contributions))
        if left is not None and left <= 0:
            return Proof(step, (), truncated=bool(result.contributions))
        nxt = None if left is None else left - 1
        premises: list[Proof] = []
        for _, facts in result.contributions[:AGGREGATE_CAP]:
            for p, r in facts:
                sub = self._fact(p, r, nxt)
                if all(sub is not q for q in premises):
                    premises.append(sub)
        return Proof(step, tuple(premises), len(result.contributions) > AGGREGATE_CAP)


def _assignments(rule: Rule) -> dict[int, Var]:
    """Which ``X = expr`` conditions assign X (X is bound by no positive atom)."""
    by_atoms = bound_variables(
        tuple(b for b in rule.body if isinstance(b, Literal) and not b.negated))
    out: dict[int, Var] = {}
    for i, item in enumerate(rule.body):
        if isinstance(item, Comparison):
            target = assigned_var(item, by_atoms)
            if target is not None:
                out[i] = target
    return out


def _side(term: Term, value: Any, env: Env) -> str:
    """A comparison side for readers: the value, after the expression when compound."""
    shown = readable(None if value is FAIL else value)
    if not isinstance(term, Call):
        return shown
    return f"{term_text(term, env)} (= {shown})"


def comparison_step(cmp: Comparison, env: Env) -> ComparisonStep:
    """``left op right`` with both sides computed under ``env``."""
    a, b = eval_term(cmp.left, env), eval_term(cmp.right, env)
    label = f"{_side(cmp.left, a, env)} {cmp.op} {_side(cmp.right, b, env)}"
    text = f"{_raw(a)} {cmp.op} {_raw(b)}"
    return ComparisonStep(cmp.op, None if a is FAIL else a, None if b is FAIL else b,
                          item_text(cmp, {}, "datalog"), text, label, label)


def assignment_step(cmp: Comparison, target: Var, env: Env) -> AssignmentStep:
    """``X = expr`` with the value computed for X under ``env``."""
    expr = cmp.right if target is cmp.left else cmp.left
    value = env.get(target.name, FAIL)
    if value is FAIL:
        value = eval_term(expr, env)
    v = None if value is FAIL else value
    shown = {k: x for k, x in env.items() if k != target.name}
    label = f"{target.name} = {term_text(expr, shown)}"
    if isinstance(expr, Call):
        label += f" = {readable(v)}"
    text = f"{target.name} = {_raw(value)}"
    return AssignmentStep(target.name, v, item_text(cmp, {}, "datalog"), text, label, label)


def aggregate_step(agg: Aggregate, env: Env, value: Value | None, count: int) -> AggregateStep:
    """``X = fn(T : body)`` with the group variables shown and the result."""
    outer = {k: v for k, v in env.items() if k != agg.result.name}
    inner = ", ".join(item_text(b, outer) for b in agg.body)
    raw_inner = ", ".join(item_text(b, outer, "datalog") for b in agg.body)
    label = f"{agg.result.name} = {agg.fn}({term_text(agg.term, outer)} : {inner}) = {readable(value)}"
    text = f"{agg.result.name} = {agg.fn}({agg.term} : {raw_inner}) = {_raw(value)}"
    return AggregateStep(agg.fn, agg.result.name, value, count, item_text(agg, {}, "datalog"), text,
                         label, label)


def _raw(v: Any) -> str:
    return "undefined" if v is FAIL or v is None else format_value(v)


