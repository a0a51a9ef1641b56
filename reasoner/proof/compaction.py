"""Compaction of proofs and why-nots: helper rules spliced out, arithmetic dropped."""

from __future__ import annotations

from dataclasses import replace

from reasoner.proof.steps import (
    AggregateStep, AssignmentStep, ComparisonStep, FactStep, NegationStep, Proof, RuleStep, WhyNot,
)

__all__ = ["splice_helpers", "compact", "compact_why_not"]


def splice_helpers(proof: Proof) -> Proof:
    """Splice out uncited helper rules: their premises take their place, in order.

    The root is always kept; a premise reached twice is kept once; shared
    sub-proofs stay shared.

    Example:
        >>> leaf = Proof(FactStep("e", (1,), "e(1)", "f.dl:1", "", ""))
        >>> helper = Proof(RuleStep("h", (1,), "h(1)", 0, "", "", "", "", ""), (leaf,))
        >>> top = Proof(RuleStep("p", (1,), "p(1)", 1, "p", "X 1", "", "", ""), (helper,))
        >>> splice_helpers(top).premises == (leaf,)
        True
    """
    return _Compaction(legal_only=False).proof(proof)


def compact(proof: Proof) -> Proof:
    """Only the labelled legal steps (``--compact``): cited rules, given facts, negated
    conditions and capped aggregates.

    Besides uncited helper rules (``splice_helpers``), uncapped aggregates are
    spliced into their contributions, comparisons and assignments are dropped (the
    rule's label states the values), and a negated condition loses its why-not
    (its label stays).
    """
    return _Compaction(legal_only=True).proof(proof)


class _Compaction:
    def __init__(self, legal_only: bool) -> None:
        self.legal_only = legal_only
        self.memo: dict[int, Proof] = {}

    def proof(self, proof: Proof) -> Proof:
        done = self.memo.get(id(proof))
        if done is not None:
            return done
        premises: list[Proof] = []
        for p in proof.premises:
            for q in self.kept(p):
                if all(q is not r for r in premises):
                    premises.append(q)
        step = proof.step
        if self.legal_only and isinstance(step, NegationStep) and step.whynot is not None:
            out = Proof(replace(step, whynot=None), tuple(premises), proof.truncated)
        elif premises != list(proof.premises):
            out = replace(proof, premises=tuple(premises))
        else:
            out = proof
        self.memo[id(proof)] = out
        return out

    def kept(self, proof: Proof) -> list[Proof]:
        """What stands for ``proof`` among its parent's premises."""
        step = proof.step
        spliced = isinstance(step, RuleStep) and not step.cite
        if self.legal_only:
            if isinstance(step, (ComparisonStep, AssignmentStep)):
                return []
            spliced = spliced or isinstance(step, AggregateStep)
        if spliced and proof.premises and not proof.truncated:
            return list(self.proof(proof).premises)
        return [self.proof(proof)]


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
