"""Provenance to proofs: why a fact holds, why a goal does not, and the graphs of both.

Owns: proof and why-not data (``steps``), their builders (``why``, ``whynot``, wired by ``prove``), compaction,
proof graphs (``graph``), a transaction's explanation (``explanation``), decision
diffs (``diff``), the rule-interplay graph (``rulegraph``) and the trainer's element-level
rule map over it (``rulemap``).

May import: ``lang``, ``engine``, ``law``. Never ``render``, ``tools``, ``web`` or ``cli``.
"""

from __future__ import annotations

from reasoner.proof.compaction import compact, compact_why_not, splice_helpers
from reasoner.proof.prove import explain, proof_builder, why_not
from reasoner.proof.steps import (
    KINDS, REASONS, AggregateStep, AssignmentStep, Attempt, ComparisonStep, FactStep, Failure,
    NegationStep, Pattern, Proof, RuleStep, Step, WhyNot,
)
from reasoner.proof.why import AGGREGATE_CAP, ProofBuilder
from reasoner.proof.whynot import WhyNotBuilder

__all__ = [
    "AGGREGATE_CAP", "KINDS", "REASONS", "AggregateStep", "AssignmentStep", "Attempt",
    "ComparisonStep", "FactStep", "Failure", "NegationStep", "Pattern", "Proof", "ProofBuilder",
    "RuleStep", "Step", "WhyNot", "WhyNotBuilder", "compact", "compact_why_not", "explain",
    "proof_builder", "splice_helpers", "why_not",
]
