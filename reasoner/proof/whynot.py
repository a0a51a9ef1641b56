"""Why-not: for a goal that does not hold, the first condition of each rule that fails."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from reasoner.lang.errors import EngineError
from reasoner.lang.ir import Aggregate, Atom, BodyItem, Comparison, Literal, Rule, Var
from reasoner.lang.labels import LabelBook, fill, item_text, memo_safe, pattern_text, readable
from reasoner.engine.matching import (
    FAIL, Env, Index, aggregate, assigned_var, instantiate, negation_blockers, step, unify_head,
    written_order,
)
from reasoner.proof.steps import Attempt, Failure, Pattern, Proof, WhyNot
from reasoner.proof.why import ProofBuilder, aggregate_step, assignment_step, comparison_step

__all__ = ["WhyNotBuilder", "PARTIAL_CAP"]

# How many distinct partial matches are kept per condition while searching.
PARTIAL_CAP = 1000

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


