"""Proof graphs: a Proof or WhyNot laid out as a networkx DiGraph with content-hash node ids."""

# Edges point from a conclusion to what it rests on (conclusion -> premise), so
# the goal is the only node without predecessors and layouts draw it on top.
# A node's id is a short sha256 of its own attributes and of its children's ids
# in order (a Merkle hash): identical sub-proofs become one node, and the same
# proof always yields the same ids, attributes and insertion order.

from __future__ import annotations

import hashlib
import json
from typing import Any, Union

import networkx as nx

from .errors import RenderError
from .labels import LANGS, WORDS, pattern_text
from .proof import NegationStep, Proof, Step
from .whynot import Attempt, Failure, WhyNot

__all__ = ["SCHEMA", "NODE_ATTRS", "RELATIONS", "OUTCOMES", "GRAPH_KINDS", "to_graph"]

SCHEMA = "earlog-proof/1"

# Every node carries every one of these (str, except truncated: int 0/1).
NODE_ATTRS = ("kind", "outcome", "label_en", "label_zh", "text", "cite", "rule_id", "source",
              "reason", "truncated")

OUTCOMES = ("holds", "fails")

# Proof step kinds, then the why-not kinds: a goal that does not hold, a rule tried.
GRAPH_KINDS = ("rule", "fact", "negation", "comparison", "aggregate", "assignment",
               "goal", "attempt")

RELATIONS = {
    "premise": "a premise of the step (body order), or a fact an aggregate counted",
    "whynot": "why the atom a negation denies does not hold",
    "attempt": "a rule that could conclude the goal",
    "matched": "a condition of the rule that held",
    "fails": "the first condition of the rule that fails",
    "evidence": "what makes the condition fail (an existing fact, a computed aggregate)",
}

_ID_LEN = 16

Node = tuple[dict[str, Any], list[tuple[str, int]]]
Explained = Union[Proof, WhyNot]


def to_graph(explained: Explained) -> nx.DiGraph:
    """Lay out a proof or why-not as a graph.

    Args:
        explained: a ``Proof`` (question "why") or a ``WhyNot`` ("why-not").

    Returns:
        A DiGraph; graph attributes ``schema``, ``question`` and ``root``; node
        attributes ``NODE_ATTRS``; edge attributes ``relation`` (a key of
        ``RELATIONS``) and ``order`` (position among the parent's children).

    Raises:
        RenderError: the proof is deeper than Python's recursion limit allows.

    Example:
        >>> from reasoner.proof import FactStep, Proof
        >>> g = to_graph(Proof(FactStep("e", (1,), "e(1)", "f.dl:1", "", "")))
        >>> root = g.graph["root"]
        >>> len(root), g.nodes[root]["kind"], g.nodes[root]["label_en"]
        (16, 'fact', 'e(1)')
    """
    layout = _Layout()
    try:
        top = layout.visit(explained)
        ids = layout.ids()
    except RecursionError:
        raise RenderError("the proof is too deep to lay out as a graph",
                          hint="explain with max_depth (e.g. max_depth=50)") from None
    g = nx.DiGraph()
    g.graph.update(schema=SCHEMA, question="why" if isinstance(explained, Proof) else "why-not",
                   root=ids[top])
    _add(g, layout, ids, top)
    return g


def _add(g: nx.DiGraph, layout: "_Layout", ids: dict[int, str], top: int) -> None:
    """Add nodes in depth-first pre-order (root first), then each node's edges in child order."""
    order: list[int] = []
    seen: set[str] = set()
    stack = [top]
    while stack:
        key = stack.pop()
        if ids[key] in seen:
            continue
        seen.add(ids[key])
        order.append(key)
        stack.extend(child for _, child in reversed(layout.nodes[key][1]))
    for key in order:
        g.add_node(ids[key], **layout.nodes[key][0])
    for key in order:
        for position, (relation, child) in enumerate(layout.nodes[key][1]):
            if not g.has_edge(ids[key], ids[child]):
                g.add_edge(ids[key], ids[child], relation=relation, order=position)


class _Layout:
    """Flattens the object DAG into keyed nodes; keys are object ids (all alive via the root).

    Iterative, so that deep proofs (long recursive chains) lay out too.
    """

    def __init__(self) -> None:
        self.nodes: dict[int, Node] = {}

    def visit(self, top: Any) -> int:
        stack = [top]
        while stack:
            obj = stack.pop()
            if id(obj) in self.nodes:
                continue
            attrs, children = _describe(obj)
            self.nodes[id(obj)] = (attrs, [(rel, id(child)) for rel, child in children])
            stack.extend(child for _, child in children)
        return id(top)

    def ids(self) -> dict[int, str]:
        """Each node's Merkle id: a hash of its attributes and its children's ids, in order."""
        out: dict[int, str] = {}
        for start in self.nodes:
            stack = [(start, False)]
            while stack:
                key, ready = stack.pop()
                if key in out:
                    continue
                attrs, children = self.nodes[key]
                if not ready:
                    stack.append((key, True))
                    stack.extend((c, False) for _, c in children if c not in out)
                    continue
                content = [attrs, [[rel, out[c]] for rel, c in children]]
                blob = json.dumps(content, sort_keys=True, ensure_ascii=False,
                                  separators=(",", ":"))
                out[key] = hashlib.sha256(blob.encode("utf-8")).hexdigest()[:_ID_LEN]
        return out


def _describe(obj: Any) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """A node's attributes and its (relation, child object) pairs, in order."""
    if isinstance(obj, Proof):
        children: list[tuple[str, Any]] = [("premise", q) for q in obj.premises]
        if isinstance(obj.step, NegationStep) and obj.step.whynot is not None:
            children.append(("whynot", obj.step.whynot))
        return _step_attrs(obj.step, "holds", obj.truncated), children
    if isinstance(obj, WhyNot):
        labels = {lang: WORDS[lang]["does_not_hold"].format(
            (obj.en if lang == "en" else obj.zh) or obj.text) for lang in LANGS}
        attrs = _attrs("goal", "fails", labels, obj.text, reason=obj.reason,
                       truncated=obj.truncated)
        return attrs, [("attempt", a) for a in obj.attempts]
    if isinstance(obj, Attempt):
        labels = {"en": obj.en or obj.text, "zh": obj.zh or obj.text}
        attrs = _attrs("attempt", "fails", labels, obj.text, cite=obj.cite, rule_id=obj.id,
                       source=obj.source, truncated=obj.truncated)
        return attrs, [("matched", p) for p in obj.matched] + [("fails", obj.failure)]
    assert isinstance(obj, Failure)
    if obj.step is None:
        if obj.missing is not None:
            return _describe(obj.missing)
        labels = {lang: obj.text for lang in LANGS}
        return _attrs("goal", "fails", labels, obj.text, reason=obj.reason), []
    attrs = _step_attrs(obj.step, "fails", False)
    attrs["reason"] = obj.reason
    return attrs, [("evidence", obj.evidence)] if obj.evidence is not None else []


def _step_attrs(step: Step, outcome: str, truncated: bool) -> dict[str, Any]:
    labels = {"en": step.en or step.text, "zh": step.zh or step.text}
    if isinstance(step, NegationStep):
        atom = pattern_text(step.pred, step.pattern)
        labels = {lang: WORDS[lang]["not"].format((step.en if lang == "en" else step.zh) or atom)
                  for lang in LANGS}
    return _attrs(
        step.kind, outcome, labels, step.text, cite=getattr(step, "cite", ""),
        rule_id=getattr(step, "id", ""), source=getattr(step, "source", ""), truncated=truncated)


def _attrs(kind: str, outcome: str, labels: dict[str, str], text: str, *, cite: str = "",
           rule_id: str = "", source: str = "", reason: str = "",
           truncated: bool = False) -> dict[str, Any]:
    return {
        "kind": kind, "outcome": outcome, "label_en": labels["en"], "label_zh": labels["zh"],
        "text": text, "cite": cite, "rule_id": rule_id, "source": source, "reason": reason,
        "truncated": int(truncated),
    }
