"""Proof diffs: which conclusions and which proof steps change between two decided scenarios."""

# Two explanation graphs are matched in two passes. A node whose content-hash id
# is on both sides is "same" (itself and everything below it are identical). A
# node left over on one side is matched to one left over on the other side with
# the same (kind, outcome, label, citation): it is "changed" (the step stands,
# something below it or its source line differs). The rest "appeared" (only on
# the right) or "disappeared" (only on the left). Matching is in graph order, so
# the same two inputs give the same diff.

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import networkx as nx

from reasoner.law.decision import Decision, ScenarioDecisions
from reasoner.proof.argument import argument_graph, build_argument
from reasoner.proof.explanation import explain_transaction, explanation_graph

__all__ = [
    "STATUSES",
    "DECISION_FIELDS",
    "FieldChange",
    "StepChange",
    "TransactionDiff",
    "ProofDiff",
    "diff_decisions",
    "field_changes",
    "merge_graphs",
]

STATUSES = ("same", "changed", "appeared", "disappeared")

# The decision fields compared, in the order a diff lists them.
DECISION_FIELDS = ("outcome", "in_scope", "license_required", "exceptions", "review_policy",
                   "conditions", "uncertainties", "missing", "citations", "as_of")

NodeKey = tuple[str, str, str, str]


@dataclass(frozen=True, slots=True)
class FieldChange:
    """A decision field whose value differs: ``before`` on the left, ``after`` on the right."""

    name: str
    before: Any
    after: Any

    @property
    def added(self) -> tuple[Any, ...]:
        """For a tuple field: the members only the right side has."""
        if isinstance(self.before, tuple) and isinstance(self.after, tuple):
            return tuple(x for x in self.after if x not in self.before)
        return ()

    @property
    def removed(self) -> tuple[Any, ...]:
        """For a tuple field: the members only the left side has."""
        if isinstance(self.before, tuple) and isinstance(self.after, tuple):
            return tuple(x for x in self.before if x not in self.after)
        return ()


@dataclass(frozen=True, slots=True)
class StepChange:
    """A proof step that appeared or disappeared (``node`` is its id in the merged graph)."""

    status: str
    kind: str
    label_en: str
    label_zh: str
    cite: str
    node: str


@dataclass(frozen=True, slots=True)
class TransactionDiff:
    """One transaction on both sides; a side without it has None for its decision.

    ``counts`` has the number of merged-graph nodes of each of ``STATUSES``;
    ``steps`` lists the appeared and disappeared ones (each label once);
    ``graph`` is the merged graph, nodes and edges carrying ``status``.
    """

    transaction: str
    before: Decision | None
    after: Decision | None
    fields: tuple[FieldChange, ...]
    steps: tuple[StepChange, ...]
    counts: tuple[tuple[str, int], ...]
    graph: nx.DiGraph = field(compare=False, repr=False)

    @property
    def decision_changed(self) -> bool:
        """Did any decision field change (or the transaction exist on one side only)?"""
        return bool(self.fields) or (self.before is None) != (self.after is None)

    @property
    def proof_changed(self) -> bool:
        return bool(self.steps) or dict(self.counts).get("changed", 0) > 0


@dataclass(frozen=True, slots=True)
class ProofDiff:
    """The diff of two decided scenarios (or of one scenario under two regimes)."""

    left: str
    right: str
    left_regime: str
    right_regime: str
    transactions: tuple[TransactionDiff, ...]


def diff_decisions(
    left: ScenarioDecisions, right: ScenarioDecisions, transactions: Sequence[str] | None = None,
    left_name: str | None = None, right_name: str | None = None, level: str = "argument",
) -> ProofDiff:
    """Compare the decisions and proofs of two decided scenarios, transaction by transaction.

    Transactions are matched by id: the left's in its order, then those only
    the right has.

    Args:
        left, right: decided scenarios (the same file under two regimes, or two files).
        transactions: only these ids (default: all).
        left_name, right_name: how to name each side (default: the scenario file).
        level: ``argument`` (default) compares the two arguments statement by statement;
            ``full`` compares the derivations (each proof with its why-nots) step by step.

    Returns:
        The diff.

    Raises:
        QueryError: a transaction asked for is on neither side.
    """
    lefts = {d.transaction: d for d in left.decisions}
    rights = {d.transaction: d for d in right.decisions}
    order = list(lefts) + [t for t in rights if t not in lefts]
    if transactions:
        unknown = [t for t in transactions if t not in lefts and t not in rights]
        if unknown:
            from reasoner.lang.errors import QueryError

            raise QueryError(f"no transaction '{unknown[0]}' on either side",
                             hint="transactions: " + ", ".join(order))
        order = [t for t in order if t in transactions]
    out = []
    for tx in order:
        a, b = lefts.get(tx), rights.get(tx)
        ga = _graph(left, tx, level) if a else nx.DiGraph()
        gb = _graph(right, tx, level) if b else nx.DiGraph()
        merged = merge_graphs(ga, gb)
        counts = Counter(d["status"] for _, d in merged.nodes(data=True))
        out.append(TransactionDiff(
            tx, a, b, field_changes(a, b) if a and b else (), tuple(_steps(merged)),
            tuple((s, counts.get(s, 0)) for s in STATUSES), merged))
    return ProofDiff(left_name or left.scenario.file, right_name or right.scenario.file,
                     left.rulebook.regime, right.rulebook.regime, tuple(out))


def _graph(result: ScenarioDecisions, tx: str, level: str) -> nx.DiGraph:
    expl = explain_transaction(result, tx)
    if level == "argument":
        return argument_graph(build_argument(expl, result.scenario, result.rulebook))
    if level != "full":
        from reasoner.lang.errors import QueryError

        raise QueryError(f"unknown level '{level}'", hint="levels: argument, full")
    return explanation_graph(expl)


def field_changes(a: Decision, b: Decision) -> tuple[FieldChange, ...]:
    """The decision fields (``DECISION_FIELDS``) whose values differ between ``a`` and ``b``."""
    return tuple(FieldChange(name, getattr(a, name), getattr(b, name))
                 for name in DECISION_FIELDS if getattr(a, name) != getattr(b, name))


def _key(data: dict[str, Any]) -> NodeKey:
    return (data["kind"], data["outcome"], data["label_en"], data["cite"])


def merge_graphs(left: nx.DiGraph, right: nx.DiGraph) -> nx.DiGraph:
    """One graph holding both sides: the right's nodes (same, changed or appeared)
    under their ids, then the left's disappeared nodes under theirs.

    Every node and edge carries ``status`` (one of ``STATUSES``; edges are same,
    appeared or disappeared). The graph attributes are the right's (else the left's).
    """
    leftover: dict[NodeKey, list[str]] = {}
    for n, d in left.nodes(data=True):
        if n not in right:
            leftover.setdefault(_key(d), []).append(n)
    merged = nx.DiGraph()
    merged.graph.update(right.graph or left.graph)
    to_merged: dict[str, str] = {}
    for n, d in right.nodes(data=True):
        if n in left:
            status = "same"
            to_merged[n] = n
        elif leftover.get(_key(d)):
            status = "changed"
            to_merged[leftover[_key(d)].pop(0)] = n
        else:
            status = "appeared"
        merged.add_node(n, **d, status=status)
    for n, d in left.nodes(data=True):
        if n not in to_merged:
            to_merged[n] = n
            merged.add_node(n, **d, status="disappeared")
    left_edges = {(to_merged[u], to_merged[v]) for u, v in left.edges}
    for u, v, d in right.edges(data=True):
        merged.add_edge(u, v, **d, status="same" if (u, v) in left_edges else "appeared")
    for u, v, d in left.edges(data=True):
        mu, mv = to_merged[u], to_merged[v]
        if not merged.has_edge(mu, mv):
            merged.add_edge(mu, mv, **d, status="disappeared")
    return merged


def _steps(merged: nx.DiGraph) -> Iterable[StepChange]:
    """Disappeared steps, then appeared ones, in graph order, each label once."""
    seen: set[tuple[str, NodeKey]] = set()
    for status in ("disappeared", "appeared"):
        for n, d in merged.nodes(data=True):
            if d["status"] != status or (status, _key(d)) in seen:
                continue
            seen.add((status, _key(d)))
            yield StepChange(status, d["kind"], d["label_en"], d["label_zh"], d["cite"], n)
