"""The data of proofs and why-nots: steps, proofs (DAGs) and failed attempts.

Builders (``why``, ``whynot``) make these; compaction and renderers read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Union

from reasoner.engine.model import Row
from reasoner.lang.ir import Value

__all__ = [
    "KINDS", "REASONS", "Pattern",
    "RuleStep", "FactStep", "NegationStep", "ComparisonStep", "AssignmentStep", "AggregateStep",
    "Step", "Proof", "Failure", "Attempt", "WhyNot",
]

KINDS = ("rule", "fact", "negation", "comparison", "aggregate", "assignment")

Pattern = tuple[Value | None, ...]

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
class RuleStep:
    """A derived fact and the rule that derived it; labels are filled with its bindings.

    ``element`` is the rule's ``@element`` mark (empty for a helper step);
    ``uncertain`` the flagged uncertainties the rule raises when it holds.
    """

    kind: ClassVar[str] = "rule"
    pred: str
    row: Row
    text: str
    index: int
    id: str
    cite: str
    source: str
    en: str
    zh: str
    element: str = ""
    uncertain: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FactStep:
    """A given fact; ``source`` is where it was written (``file:line``)."""

    kind: ClassVar[str] = "fact"
    pred: str
    row: Row
    text: str
    source: str
    en: str
    zh: str


@dataclass(frozen=True, slots=True)
class NegationStep:
    """``not atom``; ``pattern`` holds None where a variable is local to the negation.

    The labels read the atom positively; renderers add the word for "not".
    ``whynot`` optionally says why the (derived) atom does not hold.
    """

    kind: ClassVar[str] = "negation"
    pred: str
    pattern: tuple[Value | None, ...]
    text: str
    en: str
    zh: str
    whynot: WhyNot | None = None


@dataclass(frozen=True, slots=True)
class ComparisonStep:
    """``left op right`` with both sides computed; a side is None when undefined."""

    kind: ClassVar[str] = "comparison"
    op: str
    left: Value | None
    right: Value | None
    condition: str
    text: str
    en: str
    zh: str


@dataclass(frozen=True, slots=True)
class AssignmentStep:
    """``Var = expr``: the value computed for the variable (None when undefined)."""

    kind: ClassVar[str] = "assignment"
    var: str
    value: Value | None
    condition: str
    text: str
    en: str
    zh: str


@dataclass(frozen=True, slots=True)
class AggregateStep:
    """``Var = fn(Term : body)``: the result and how many matches counted.

    The proof's premises are the facts of the first ``AGGREGATE_CAP`` matches.
    """

    kind: ClassVar[str] = "aggregate"
    fn: str
    var: str
    value: Value | None
    count: int
    condition: str
    text: str
    en: str
    zh: str


Step = Union[RuleStep, FactStep, NegationStep, ComparisonStep, AssignmentStep, AggregateStep]


@dataclass(frozen=True, slots=True)
class Proof:
    """One step of a proof and the proofs of its premises (body order).

    Shared sub-proofs are the same object, so a proof is a DAG. ``truncated``
    marks a step whose premises were cut (depth limit, or an aggregate's cap).
    """

    step: Step
    premises: tuple["Proof", ...] = ()
    truncated: bool = False

    @property
    def kind(self) -> str:
        return self.step.kind


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
