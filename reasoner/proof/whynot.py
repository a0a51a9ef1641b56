"""Why-not: for a goal that does not hold, the first condition of each rule that fails."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Union

from reasoner.lang.checks import CheckedProgram
from reasoner.engine.model import Model, Row
from reasoner.lang.errors import EngineError, QueryError
from reasoner.lang.ir import Aggregate, Atom, BodyItem, Comparison, Literal, Rule, Value, Var
from reasoner.lang.labels import LabelBook, fill, item_text, memo_safe, pattern_text, readable
from reasoner.proof.matching import (
    FAIL, Env, Index, aggregate, assigned_var, instantiate, negation_blockers, step, unify_head,
    written_order,
)
from reasoner.proof.why import (
    AggregateStep, AssignmentStep, ComparisonStep, NegationStep, Proof, ProofBuilder,
    aggregate_step, assignment_step, comparison_step, compact,
)

__all__ = [
    "REASONS",
    "Failure",
    "Attempt",
    "WhyNot",
    "why_not",
    "WhyNotBuilder",
    "compact_why_not",
    "PARTIAL_CAP",
]

Pattern = tuple[Value | None, ...]

# How many distinct partial matches are kept per condition while searching.
PARTIAL_CAP = 1000

REASONS = {
    # why a goal does not hold
    "no_fact": "it is not derived by any rule and no given fact matches",
    "no_rule": "no rule's head can take these values, and no given fact matches",
    "rules_fail": "every rule whose head can take these values fails",
    "not_explored": "not explored: the depth limit was reached",
    # why a condition fails
    "no_match": "no fact matches the atom",
    "fact_exists": "a fact matches the negated atom",
    "false": "the comparison is false",
    "undefined": "a value is undefined (e.g. division by zero, or text compared with a number)",
}


@dataclass(frozen=True, slots=True)
class Failure:
    """The first condition of a rule that fails, with the values bound before it.

    Attributes:
        position: the condition's index in the rule body (after it: a head expression).
        condition: the condition as written.
        text: the condition with the values bound so far (unbound variables keep their name).
        reason: a key of ``REASONS``.
        step: the condition computed (comparison, assignment, negation or
            aggregate); None for a positive atom.
        missing: for a positive atom, why no matching fact holds.
        evidence: for a negation, the proof of a fact that matches; for an
            aggregate, the computed aggregate and its contributing facts.
    """

    position: int
    condition: str
    text: str
    reason: str
    step: Union[NegationStep, ComparisonStep, AssignmentStep, AggregateStep, None] = None
    missing: "WhyNot | None" = None
    evidence: Proof | None = None

    @property
    def kind(self) -> str:
        return "atom" if self.step is None else self.step.kind


@dataclass(frozen=True, slots=True)
class Attempt:
    """One rule that could conclude the goal, and where it fails.

    ``matched`` proves the conditions that held before the failure, in the order
    they were evaluated (written order). Labels are filled with the values bound
    at the failure; unbound placeholders show ``?``.
    """

    rule: int
    id: str
    cite: str
    source: str
    text: str
    en: str
    zh: str
    matched: tuple[Proof, ...]
    failure: Failure
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class WhyNot:
    """Why ``pred(pattern)`` does not hold; None in ``pattern`` means "any value".

    ``reason`` is a key of ``REASONS``; ``attempts`` has one entry per rule whose
    head can take the pattern's values, in program order.
    """

    pred: str
    pattern: Pattern
    text: str
    en: str
    zh: str
    reason: str
    attempts: tuple[Attempt, ...] = ()
    truncated: bool = False


def why_not(
    model: Model, checked: CheckedProgram, pred: str, row_pattern: Pattern | list[Value | None],
    depth: int = 2,
) -> WhyNot:
    """Explain why no fact matching ``pred(row_pattern)`` holds.

    For every rule whose head can produce the goal, the body is evaluated in
    written order with the head's values bound; the partial match that gets
    furthest (ties: the first in value order) names the first failing
    condition. A failing positive atom of a derived predicate is explained in
    turn, ``depth - 1`` levels deep; a failing negation shows the proof of the
    fact that exists; a failing comparison shows both values.

    Args:
        model: the evaluated model (provenance needed for the proofs of matches).
        checked: the program the model was computed from.
        pred: the goal's predicate.
        row_pattern: the goal's values; None for "any value".
        depth: how many levels of failing derived atoms to explain.

    Returns:
        The why-not structure.

    Raises:
        QueryError: unknown predicate, wrong number of values, or the goal holds.

    Example:
        >>> from reasoner.syntax import parse_program
        >>> from reasoner.checks import check
        >>> from reasoner.engine import SemiNaiveEngine
        >>> c = check(parse_program('cap(10). q(5). ok(X) :- q(X), cap(C), X > C.'))
        >>> w = why_not(SemiNaiveEngine().evaluate(c), c, "ok", (5,))
        >>> f = w.attempts[0].failure
        >>> f.condition, f.step.left, f.step.right
        ('X > C', 5, 10)
    """
    pattern = tuple(row_pattern)
    want = checked.arity.get(pred)
    if want is None:
        raise QueryError(f"unknown predicate '{pred}'",
                         hint="ask about a predicate the program defines or declares")
    if want != len(pattern):
        raise QueryError(f"'{pred}' takes {want} argument(s); the goal has {len(pattern)}",
                         hint=f"write the goal as {pred}(...) with {want} values or _")
    builder = WhyNotBuilder(ProofBuilder(model, checked))
    if builder.index.rows(pred, pattern):
        raise QueryError(f"{pattern_text(pred, pattern)} holds",
                         hint="ask why instead (reasoner.proof.explain)")
    return builder.why_not(pred, pattern, depth)


class WhyNotBuilder:
    """Builds why-not explanations over one model, sharing proofs and lookups."""

    def __init__(self, proofs: ProofBuilder) -> None:
        self.proofs = proofs
        self.checked = proofs.checked
        self.index: Index = proofs.index
        self.labels: LabelBook = proofs.labels
        self._memo: dict[tuple[str, Pattern, int], WhyNot] = {}
        self._leaves: dict[tuple[str, Pattern, str], WhyNot] = {}
        # written order per (rule, variables bound by the head, head expressions checked)
        self._orders: dict[tuple[int, frozenset[str], tuple[int, ...]], list[int]] = {}

    def why_not(self, pred: str, pattern: Pattern, depth: int) -> WhyNot:
        """Why ``pred(pattern)`` does not hold (the caller has checked that it does not)."""
        key = (pred, pattern, depth)
        done = self._memo.get(key)
        if done is None:
            done = self._why_not(pred, pattern, depth)
            self._memo[key] = done
        return done

    def _why_not(self, pred: str, pattern: Pattern, depth: int) -> WhyNot:
        en, zh = self.labels.atom(pred, pattern)
        text = pattern_text(pred, pattern)
        rules = [(i, self.checked.rules[i]) for i in self.proofs.rules_for(pred)]
        if not rules:
            return WhyNot(pred, pattern, text, en, zh, "no_fact")
        attempts = []
        for i, rule in rules:
            head = unify_head(rule.head, pattern)
            if head is not None:
                attempts.append(self._attempt(i, rule, head[0], head[1], depth))
        reason = "rules_fail" if attempts else "no_rule"
        return WhyNot(pred, pattern, text, en, zh, reason, tuple(attempts),
                      any(a.truncated for a in attempts))

    def _attempt(self, index: int, rule: Rule, env: Env, checks: tuple[Comparison, ...],
                 depth: int) -> Attempt:
        body = rule.body + checks
        memo = (index, frozenset(env), tuple(id(c.left) for c in checks))
        order = self._orders.get(memo)
        if order is None:
            order = self._orders[memo] = written_order(body, set(env))
        frontier: list[tuple[Env, tuple[tuple[int, Any, Var | None], ...]]] = [(env, ())]
        capped = False
        for i in order:
            nxt: list[tuple[Env, tuple[tuple[int, Any, Var | None], ...]]] = []
            seen: set[tuple[tuple[str, Any], ...]] = set()
            item = body[i]
            for cur, trail in frontier:
                target = assigned_var(item, cur) if isinstance(item, Comparison) else None
                for new, match in step(item, cur, self.index):
                    key = tuple(sorted(new.items(), key=lambda kv: kv[0]))
                    if key in seen:
                        continue
                    seen.add(key)
                    nxt.append((new, trail + ((i, match, target),)))
                    capped = capped or len(nxt) >= PARTIAL_CAP
                    if capped:
                        break
                if capped:
                    break
            if not nxt:
                cur, trail = frontier[0]
                return self._report(index, rule, body, i, cur, trail, depth, capped)
            frontier = nxt
        raise EngineError(
            f"every condition of rule {rule.id or index} holds for "
            f"{pattern_text(rule.head.pred, instantiate(rule.head, frontier[0][0]) or ())}, "
            "yet the model lacks it", rule.span,
            "this is an engine bug; please report it with the program")

    def _report(self, index: int, rule: Rule, body: tuple[BodyItem, ...], at: int, env: Env,
                trail: tuple[tuple[int, Any, Var | None], ...], depth: int, capped: bool) -> Attempt:
        matched = tuple(self._matched(body[i], match, target, env) for i, match, target in trail)
        failure = self._failure(body, at, env, depth)
        m = rule.meta
        head = instantiate(rule.head, env) or tuple(None for _ in rule.head.args)
        return Attempt(
            index, m.id, m.cite, f"{rule.span.file}:{rule.span.line}" if rule.span.line else "",
            pattern_text(rule.head.pred, head), fill(m.en, env) if m.en else "",
            fill(m.zh, env) if m.zh else "", matched, failure,
            capped or (failure.missing is not None and failure.missing.truncated))

    def _matched(self, item: BodyItem, match: Any, target: Var | None, env: Env) -> Proof:
        if match is not None:
            pred, row = match
            return self.proofs.proof(pred, row)
        return self.proofs.condition(item, env, target, None)

    def _failure(self, body: tuple[BodyItem, ...], at: int, env: Env, depth: int) -> Failure:
        item = body[at]
        condition = item_text(item, {}, "datalog")
        text = item_text(item, env, "datalog")
        if isinstance(item, Literal) and not item.negated:
            return self._missing_atom(item.atom, at, condition, text, env, depth)
        if isinstance(item, Literal):
            rows = negation_blockers(item.atom, env, self.index)
            evidence = self.proofs.proof(item.atom.pred, rows[0])
            neg = self.proofs.negation(item, env, why_not=False)
            return Failure(at, condition, text, "fact_exists", neg, evidence=evidence)
        if isinstance(item, Comparison):
            target = assigned_var(item, env)
            if target is not None:
                return Failure(at, condition, text, "undefined", assignment_step(item, target, env))
            cmp = comparison_step(item, env)
            reason = "undefined" if cmp.left is None or cmp.right is None else "false"
            return Failure(at, condition, text, reason, cmp)
        return self._failed_aggregate(item, at, condition, text, env)

    def _missing_atom(self, atom: Atom, at: int, condition: str, text: str, env: Env,
                      depth: int) -> Failure:
        pattern = instantiate(atom, env)
        if pattern is None:
            return Failure(at, condition, text, "undefined")
        derived = bool(self.proofs.rules_for(atom.pred))
        if not derived or self.index.rows(atom.pred, pattern):
            # An input, or rows that match except for a repeated variable.
            missing = self._unexplained(atom.pred, pattern, "no_fact")
        elif depth <= 0:
            missing = self._unexplained(atom.pred, pattern, "not_explored")
        else:
            missing = self.why_not(atom.pred, pattern, depth - 1)
        return Failure(at, condition, text, "no_match", missing=missing)

    def _unexplained(self, pred: str, pattern: Pattern, reason: str) -> WhyNot:
        """A why-not without attempts (the same object for the same atom)."""
        key = (pred, pattern, reason)
        memo = memo_safe(pattern)
        done = self._leaves.get(key) if memo else None
        if done is None:
            en, zh = self.labels.atom(pred, pattern)
            done = WhyNot(pred, pattern, pattern_text(pred, pattern), en, zh, reason,
                          truncated=reason == "not_explored")
            if memo:
                self._leaves[key] = done
        return done

    def _failed_aggregate(self, agg: Aggregate, at: int, condition: str, text: str,
                          env: Env) -> Failure:
        result = aggregate(agg, env, self.index)
        value = None if result.value is FAIL else result.value
        shown = {k: v for k, v in env.items() if k != agg.result.name}
        step_ = aggregate_step(agg, shown, value, len(result.contributions))
        reason = "undefined" if value is None else "false"
        if value is not None and agg.result.name in env:
            # The result variable was bound already (e.g. by the goal): say what it had to be.
            differs = f" \u2260 {readable(env[agg.result.name])}"
            step_ = replace(step_, en=step_.en + differs, zh=step_.zh + differs)
        evidence = self.proofs.aggregate(agg, {**shown, agg.result.name: value}, None) \
            if value is not None else None
        return Failure(at, condition, text, reason, step_, evidence=evidence)


def compact_why_not(w: WhyNot) -> WhyNot:
    """``proof.compact`` applied to every proof inside a why-not. The conditions that
    matched before the failing one are shown as one step each, without their
    proofs, and comparisons and assignments among them are dropped; the failing
    condition and its evidence are always kept."""
    attempts = []
    for a in w.attempts:
        f = a.failure
        f = replace(
            f,
            missing=compact_why_not(f.missing) if f.missing is not None else None,
            evidence=compact(f.evidence) if f.evidence is not None else None,
        )
        matched = tuple(compact(Proof(p.step)) for p in a.matched
                        if not isinstance(p.step, (ComparisonStep, AssignmentStep)))
        attempts.append(replace(a, matched=matched, failure=f))
    return replace(w, attempts=tuple(attempts))
