"""A transaction's decision explained: the proof of its outcome and the why-not of each exception ruled out."""

from __future__ import annotations

from dataclasses import dataclass, replace

import networkx as nx

from reasoner.law.decision import OUT_OF_SCOPE_PREDICATES, Decision, ScenarioDecisions
from reasoner.lang.errors import QueryError
from reasoner.lang.ir import Const, Literal, Value, Var
from reasoner.proof.compaction import compact, compact_why_not
from reasoner.proof.prove import proof_builder
from reasoner.proof.steps import Proof, WhyNot
from reasoner.proof.graph import FlatGraph, GraphLayout
from reasoner.lang.syntax import parse_query

__all__ = ["TransactionExplanation", "Explainer", "compact_explanation",
           "explain_transaction", "explanation_graph", "explanation_flat", 
           "parse_goal", "WHY_NOT_DEPTH"]

# How deep the why-not of an unavailable exception goes: exception -> candidate
# -> the candidate rule's failing condition -> one more level.
WHY_NOT_DEPTH = 4


@dataclass(frozen=True, slots=True)
class TransactionExplanation:
    """What ``earlog explain`` shows for one transaction: the proof of its outcome, the
    why-not of each exception ruled out, the proof of each available exception (the
    outcome's proof rests on one of them only), of each obligation attached and, for a
    transaction out of scope, of the findings that put it there."""

    decision: Decision
    proof: Proof
    whynots: tuple[tuple[str, WhyNot], ...]
    exceptions: tuple[tuple[str, Proof], ...] = ()
    obligations: tuple[Proof, ...] = ()
    scope: tuple[Proof, ...] = ()


def explain_transaction(
    result: ScenarioDecisions, tx: str, max_depth: int | None = None, depth: int = WHY_NOT_DEPTH,
) -> TransactionExplanation:
    """Explain the decision for ``tx``: why its outcome holds, and for each
    relevant exception that is unavailable, why not.

    Raises:
        QueryError: no such transaction in the scenario.
    """
    return Explainer(result).explain(tx, max_depth, depth)


class Explainer:
    """Explains many transactions of one decided result, sharing lookups and sub-proofs.

    ``Explainer(result).explain(tx)`` equals ``explain_transaction(result, tx)``;
    explaining a batch this way builds the model's lookup indexes once.
    """

    def __init__(self, result: ScenarioDecisions) -> None:
        self.result = result
        self.decisions = {d.transaction: d for d in result.decisions}
        checked, model = result.rulebook.checked, result.model
        self.proofs = proof_builder(model, checked, why_not_depth=1)
        # why-nots explain with plain proofs (no nested why-nots); the builder is the one the
        # proofs' negations use, so both share sub-results
        self.whynots = self.proofs.why_nots()
        self._relevant: dict[Value, list[str]] | None = None

    def explain(self, tx: str, max_depth: int | None = None,
                depth: int = WHY_NOT_DEPTH) -> TransactionExplanation:
        """Explain ``tx`` (see ``explain_transaction``).

        Raises:
            QueryError: no such transaction in the result.
        """
        d = self.decisions.get(tx)
        if d is None:
            known = ", ".join(sorted(self.decisions))
            raise QueryError(f"no transaction '{tx}' in scenario '{self.result.scenario.id}'",
                             hint=f"transactions: {known}")
        if self._relevant is None:
            self._relevant = {}
            for r in self.result.model.rows("relevant_exception"):
                self._relevant.setdefault(r[0], []).append(str(r[1]))
        proof = self.proofs.proof("outcome", (tx, d.outcome), max_depth)
        whynots = tuple(
            (x, self.whynots.why_not("exception", (tx, x), depth))
            for x in sorted(self._relevant.get(tx, ())) if x not in d.exceptions
        )
        model = self.result.model
        exceptions = tuple((x, self.proofs.proof("exception", (tx, x), max_depth))
                           for x in d.exceptions)
        obligations = tuple(self.proofs.proof("condition", row, max_depth)
                            for row in sorted(model.rows("condition"), key=repr) if row[0] == tx)
        scope = () if d.in_scope else tuple(
            self.proofs.proof(pred, row, max_depth) for pred in OUT_OF_SCOPE_PREDICATES
            for row in sorted(model.rows(pred), key=repr) if row[0] == tx)
        return TransactionExplanation(d, proof, whynots, exceptions, obligations, scope)


def compact_explanation(expl: TransactionExplanation) -> TransactionExplanation:
    """The explanation with only its labelled legal steps (``proof.compact`` for the
    proof, ``whynot.compact_why_not`` for each why-not), for ``--compact`` graphs."""
    return replace(expl, proof=compact(expl.proof),
                   whynots=tuple((x, compact_why_not(w)) for x, w in expl.whynots))


def explanation_graph(expl: TransactionExplanation, layout: GraphLayout | None = None) -> nx.DiGraph:
    """One graph: the outcome's proof, with each exception's why-not hanging off its root.

    ``layout``, when given, is shared by the explanations of one ``Explainer``
    (see ``explanation_flat``); the graph does not depend on it.
    """
    return explanation_flat(expl, layout).to_networkx()


def explanation_flat(expl: TransactionExplanation, layout: GraphLayout | None = None) -> FlatGraph:
    """``explanation_graph`` as a ``FlatGraph``.

    Args:
        expl: the explanation.
        layout: a layout shared by the explanations of one ``Explainer``, so
            that sub-proofs they share are described and hashed once; default
            a fresh one.

    Returns:
        The proof's graph, with each why-not's nodes merged in (nodes already
        present are kept as they are) and an edge ``whynot`` (order 100 + k for
        the k-th why-not) from the root to each why-not's root.
    """
    layout = GraphLayout() if layout is None else layout
    g = layout.graph(expl.proof)
    for order, (_, w) in enumerate(expl.whynots):
        top = layout.add(g, w)
        root_edges = g.edges[g.root]
        if top not in root_edges:
            root_edges[top] = ("whynot", 100 + order)
    return g


def parse_goal(text: str) -> tuple[str, tuple[Value | None, ...]]:
    """Read a goal atom like ``exception("tx2", "LPP")``; variables and ``_`` mean "any".

    Raises:
        ParseError: not in the rule language.
        QueryError: not a single positive atom with constant or variable arguments.
    """
    body = parse_query(text, "<goal>")
    if len(body) != 1 or not isinstance(body[0], Literal) or body[0].negated:
        raise QueryError("a goal is one atom, e.g. exception(\"tx2\", \"LPP\")",
                         hint="quote transaction ids: bare names are variables")
    atom = body[0].atom
    values: list[Value | None] = []
    for arg in atom.args:
        if isinstance(arg, Const):
            values.append(arg.value)
        elif isinstance(arg, Var):
            values.append(None)
        else:
            raise QueryError("goal arguments are constants or variables", arg.span,
                             hint="write the value itself, e.g. 26900000")
    return atom.pred, tuple(values)
