"""Compaction of proofs and why-nots: helper rules spliced out, arithmetic dropped."""

from __future__ import annotations

from dataclasses import replace

from reasoner.law.rulebook import is_rulebook_file
from reasoner.proof.steps import (
    AggregateStep, AssignmentStep, ComparisonStep, FactStep, NegationStep, Proof, RuleStep, WhyNot,
)

__all__ = ["splice_helpers", "compact", "compact_why_not", "argue", "argue_why_not"]


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


def argue(proof: Proof, depth: int = 3) -> Proof:
    """The argument level of a proof (``--level argument`` for ``why``): only labelled,
    cited rule steps and the scenario's own facts, ``depth`` rule levels deep.

    Beyond ``compact``, the reference facts of the rulebook (country groups, ECCN
    tables) and unlabelled rules are folded away and negated conditions are left to
    the labels that state them; a step deeper than ``depth`` is cut (``truncated``).
    """
    return _Argue(depth).proof(compact(proof), 0)


def argue_why_not(w: WhyNot, depth: int = 3) -> WhyNot:
    """``argue`` applied to every proof inside a (compacted) why-not."""
    w = compact_why_not(w)
    folding = _Argue(depth)
    attempts = []
    for a in w.attempts:
        f = a.failure
        f = replace(f, missing=argue_why_not(f.missing, depth) if f.missing is not None else None,
                    evidence=folding.proof(f.evidence, 1) if f.evidence is not None else None)
        matched = tuple(m for m in (folding.proof(p, depth) for p in a.matched)
                        if _argued(m.step))
        attempts.append(replace(a, matched=matched, failure=f))
    return replace(w, attempts=tuple(attempts))


def _argued(step: object) -> bool:
    """Whether a step is stated in an argument: a labelled, cited rule or a scenario fact."""
    if isinstance(step, RuleStep):
        return bool(step.en and step.cite)
    if isinstance(step, FactStep):
        return not is_rulebook_file(step.source)
    return False


class _Argue:
    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.memo: dict[tuple[int, int], Proof] = {}

    def proof(self, proof: Proof, level: int) -> Proof:
        key = (id(proof), level)
        done = self.memo.get(key)
        if done is not None:
            return done
        if level >= self.depth and proof.premises:
            out = Proof(proof.step, (), True)
        else:
            premises: list[Proof] = []
            for p in proof.premises:
                for q in self.kept(p, level + 1):
                    if all(q is not r for r in premises):
                        premises.append(q)
            out = replace(proof, premises=tuple(premises))
        self.memo[key] = out
        return out

    def kept(self, proof: Proof, level: int) -> list[Proof]:
        if _argued(proof.step):
            return [self.proof(proof, level)]
        if isinstance(proof.step, (FactStep, NegationStep)):
            return []
        return [q for p in proof.premises for q in self.kept(p, level)]
