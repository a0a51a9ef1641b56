"""The questions asked of an evaluated model: why a fact holds, why a goal does not.

The proof builder (``why``) and the why-not builder (``whynot``) need each other:
a proof shows why a negated atom does not hold, a why-not proves the conditions
that matched. This module wires them together; neither imports the other's user.
"""

from __future__ import annotations

from reasoner.engine.model import Model, Row
from reasoner.lang.checks import CheckedProgram
from reasoner.lang.errors import QueryError
from reasoner.lang.ir import Value
from reasoner.lang.labels import pattern_text
from reasoner.proof.steps import Pattern, Proof, WhyNot
from reasoner.proof.why import ProofBuilder
from reasoner.proof.whynot import WhyNotBuilder

__all__ = ["explain", "why_not", "proof_builder"]


def proof_builder(model: Model, checked: CheckedProgram, why_not_depth: int = 0) -> ProofBuilder:
    """A proof builder whose negations of derived atoms carry why-nots ``why_not_depth`` deep."""
    return ProofBuilder(model, checked, why_not_depth, WhyNotBuilder)


def explain(
    model: Model, checked: CheckedProgram, pred: str, row: Row | list[Value],
    max_depth: int | None = None, why_not_depth: int = 0,
) -> Proof:
    """The proof that ``pred(row)`` holds, built from the model's provenance.

    Each derived fact is explained by its lowest derivation (by the levels the
    engine recorded; ties: the first rule, then the first premises in value
    order), so the proof does not depend on set iteration order. The rule is
    re-instantiated with that derivation's bindings: positive atoms recurse,
    given facts are leaves, and every other condition is shown with its values.

    Args:
        model: evaluated with ``provenance=True``.
        checked: the program the model was computed from.
        pred: the predicate of the goal.
        row: the goal's values.
        max_depth: cut rule steps deeper than this (the root is depth 0).
        why_not_depth: when > 0, a negation of a derived predicate carries the
            why-not of that atom, explored this deep.

    Returns:
        The proof; premises follow body order.

    Raises:
        QueryError: the fact does not hold, provenance was not recorded, or the
            proof is deeper than Python's recursion limit (about 450 levels).

    Example:
        >>> from reasoner.lang.syntax import parse_program
        >>> from reasoner.lang.checks import check
        >>> from reasoner.engine import SemiNaiveEngine
        >>> c = check(parse_program('e(1). @cite("X 1") p(A) :- e(A).'))
        >>> m = SemiNaiveEngine().evaluate(c)
        >>> p = explain(m, c, "p", (1,))
        >>> p.kind, p.step.cite, p.premises[0].kind
        ('rule', 'X 1', 'fact')
    """
    return proof_builder(model, checked, why_not_depth).proof(pred, tuple(row), max_depth)


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
        >>> from reasoner.lang.syntax import parse_program
        >>> from reasoner.lang.checks import check
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
                         hint="ask why it holds instead (earlog why)")
    return builder.why_not(pred, pattern, depth)
