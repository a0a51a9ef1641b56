"""Proof graphs: a Proof or WhyNot laid out as a networkx DiGraph with content-hash node ids."""

# Edges point from a conclusion to what it rests on (conclusion -> premise), so
# the goal is the only node without predecessors and layouts draw it on top.
# A node's id is a short sha256 of its own attributes and of its children's ids
# in order (a Merkle hash): identical sub-proofs become one node, and the same
# proof always yields the same ids, attributes and insertion order.

from __future__ import annotations

import hashlib
import json
import operator
from json.encoder import encode_basestring
from dataclasses import dataclass, field
from typing import Any, Iterator, Union

import networkx as nx

from reasoner.lang.errors import RenderError
from reasoner.lang.labels import LANGS, WORDS, pattern_text
from reasoner.proof.steps import Attempt, Failure, NegationStep, Proof, Step, WhyNot

__all__ = ["SCHEMA", "NODE_ATTRS", "RELATIONS", "OUTCOMES", "GRAPH_KINDS", "to_graph", "FlatGraph",
           "GraphLayout"]

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
    return GraphLayout().graph(explained).to_networkx()


@dataclass(slots=True)
class FlatGraph:
    """A proof graph as plain dicts, read-only (node attributes may be shared with a layout).

    ``nodes`` maps each id to its attributes, in graph order (root first);
    ``edges`` maps a parent's id to its children's ids, each with (relation,
    order), in insertion order. ``to_networkx`` gives the graph of ``to_graph``.
    """

    question: str
    root: str
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: dict[str, dict[str, tuple[str, int]]] = field(default_factory=dict)

    def edge_list(self) -> Iterator[tuple[str, str, str, int]]:
        """(parent, child, relation, order), grouped by parent in node order (networkx's order)."""
        for u in self.nodes:
            for v, (relation, order) in self.edges.get(u, {}).items():
                yield u, v, relation, order

    def to_networkx(self) -> nx.DiGraph:
        """The same graph as a networkx DiGraph (graph attributes ``schema``, ``question``, ``root``)."""
        g = nx.DiGraph()
        g.graph.update(schema=SCHEMA, question=self.question, root=self.root)
        for nid, attrs in self.nodes.items():
            g.add_node(nid, **attrs)
        for u, v, relation, order in self.edge_list():
            g.add_edge(u, v, relation=relation, order=order)
        return g


class GraphLayout:
    """Lays out proofs and why-nots that share sub-objects, describing and hashing each once.

    One layout can serve every proof built by one ``ProofBuilder``: shared
    sub-proofs are the same objects, so only new objects cost anything. Objects
    are keyed by ``id()`` and kept alive by the layout, so keys stay unique.
    Iterative, so that deep proofs (long recursive chains) lay out too.
    """

    def __init__(self) -> None:
        self._attrs: dict[int, dict[str, Any]] = {}
        self._ids: dict[int, str] = {}
        # each node's edges, children deduplicated by id: child id -> (relation, order),
        # and the children's keys in reverse order
        self._edges: dict[int, dict[str, tuple[str, int]]] = {}
        self._below: dict[int, list[int]] = {}
        self._keep: list[Any] = []

    def graph(self, explained: Explained) -> FlatGraph:
        """The graph of one proof or why-not (what ``to_graph`` returns, as a ``FlatGraph``).

        Raises:
            RenderError: the proof is deeper than Python's recursion limit allows.
        """
        g = FlatGraph("why" if isinstance(explained, Proof) else "why-not", "")
        g.root = self.add(g, explained)
        return g

    def add(self, g: FlatGraph, explained: Explained) -> str:
        """Add the nodes of ``explained`` missing from ``g`` (in depth-first pre-order, root
        first) with their edges, as networkx's ``add_node``/``add_edge`` would if
        ``to_graph(explained)`` were merged into ``g``; return the id of its root.

        Raises:
            RenderError: the proof is deeper than Python's recursion limit allows.
        """
        try:
            top = self._visit(explained)
        except RecursionError:
            raise RenderError("the proof is too deep to lay out as a graph",
                              hint="cut it with --max-depth (e.g. --max-depth 50)") from None
        ids, nodes, edges = self._ids, g.nodes, g.edges
        attrs, own, below = self._attrs, self._edges, self._below
        stack = [top]
        while stack:
            key = stack.pop()
            nid = ids[key]
            if nid in nodes:
                # already in g, and with it every node below it (ids are Merkle hashes)
                continue
            nodes[nid] = attrs[key]
            edges[nid] = dict(own[key])  # a node new to g has no edges in g yet
            stack.extend(below[key])
        return ids[top]

    def _visit(self, top: Any) -> int:
        """Describe and hash every object reachable from ``top`` that is new (children first:
        a node's Merkle id hashes its attributes and its children's ids, in order)."""
        attrs_of, ids, all_edges, below, keep = (
            self._attrs, self._ids, self._edges, self._below, self._keep)
        # (object, its (relation, child) pairs once described: then its children have ids)
        stack: list[tuple[Any, list[tuple[str, Any]] | None]] = [(top, None)]
        while stack:
            obj, children = stack.pop()
            key = id(obj)
            if key in ids:  # reached again
                continue
            if children is None:
                attrs, children = _describe(obj)
                attrs_of[key] = attrs
                keep.append(obj)
                todo = [(child, None) for _, child in children if id(child) not in ids]
                if todo:
                    stack.append((obj, children))
                    stack.extend(todo)
                    continue
            labelled = [(rel, ids[id(child)]) for rel, child in children]
            blob = _content(attrs_of[key], labelled)
            ids[key] = hashlib.sha256(blob.encode("utf-8")).hexdigest()[:_ID_LEN]
            edges: dict[str, tuple[str, int]] = {}
            keys: list[int] = []
            for position, ((_, child), (rel, cid)) in enumerate(zip(children, labelled)):
                if cid not in edges:
                    edges[cid] = (rel, position)
                    keys.append(id(child))
            keys.reverse()
            all_edges[key], below[key] = edges, keys
        return id(top)


_HASHED = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
_SORTED_ATTRS = tuple(sorted(NODE_ATTRS))
# the usual attributes (every one a str but truncated, an int) in sorted order
_TEXT_ATTRS = tuple(k for k in _SORTED_ATTRS if k != "truncated")
_CONTENT = "{" + ",".join(encode_basestring(k) + ":%s" for k in _SORTED_ATTRS) + "}"
_text_values = operator.itemgetter(*_TEXT_ATTRS)
assert _SORTED_ATTRS[-1] == "truncated"


def _content(attrs: dict[str, Any], children: list[tuple[str, str]]) -> str:
    """What a node's id hashes: ``[attrs, [[relation, child id], ...]]`` as compact JSON with
    sorted keys (``json.dumps(..., sort_keys=True, ensure_ascii=False, separators=(",", ":"))``),
    spelled out for the usual attributes (str values, an int ``truncated``)."""
    truncated = attrs.get("truncated")
    if len(attrs) == len(_SORTED_ATTRS) and type(truncated) is int:
        try:
            head = _CONTENT % (*map(encode_basestring, _text_values(attrs)), truncated)
        except (KeyError, TypeError):  # another key, or a value that is not a str
            pass
        else:
            tail = ",".join(["[" + encode_basestring(rel) + "," + encode_basestring(cid) + "]"
                             for rel, cid in children])
            return "[" + head + ",[" + tail + "]]"
    return _HASHED.encode([attrs, [list(c) for c in children]])


def _describe(obj: Any) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """A node's attributes and its (relation, child object) pairs, in order."""
    if isinstance(obj, Proof):
        step = obj.step
        children: list[tuple[str, Any]] = [("premise", q) for q in obj.premises]
        if isinstance(step, NegationStep) and step.whynot is not None:
            children.append(("whynot", step.whynot))
        return _step_attrs(step, "holds", obj.truncated), children
    if isinstance(obj, WhyNot):
        en = _DOES_NOT_HOLD["en"].format(obj.en or obj.text)
        zh = _DOES_NOT_HOLD["zh"].format(obj.zh or obj.text)
        attrs = _attrs("goal", "fails", en, zh, obj.text, reason=obj.reason,
                       truncated=obj.truncated)
        return attrs, [("attempt", a) for a in obj.attempts]
    if isinstance(obj, Attempt):
        attrs = _attrs("attempt", "fails", obj.en or obj.text, obj.zh or obj.text, obj.text,
                       cite=obj.cite, rule_id=obj.id, source=obj.source, truncated=obj.truncated)
        f = obj.failure
        # an atom that fails is shown as why it does not hold (one node wherever that is shown)
        fails = f.missing if f.step is None and f.missing is not None else f
        return attrs, [("matched", p) for p in obj.matched] + [("fails", fails)]
    assert isinstance(obj, Failure)
    if obj.step is None:
        return _attrs("goal", "fails", obj.text, obj.text, obj.text, reason=obj.reason), []
    attrs = _step_attrs(obj.step, "fails", False, obj.reason)
    return attrs, [("evidence", obj.evidence)] if obj.evidence is not None else []


_NOT = {lang: WORDS[lang]["not"] for lang in LANGS}
_DOES_NOT_HOLD = {lang: WORDS[lang]["does_not_hold"] for lang in LANGS}


def _step_attrs(step: Step, outcome: str, truncated: bool, reason: str = "") -> dict[str, Any]:
    text = step.text
    if isinstance(step, NegationStep):
        atom = pattern_text(step.pred, step.pattern)
        en, zh = _NOT["en"].format(step.en or atom), _NOT["zh"].format(step.zh or atom)
    else:
        en, zh = step.en or text, step.zh or text
    return _attrs(step.kind, outcome, en, zh, text, cite=getattr(step, "cite", ""),
                  rule_id=getattr(step, "id", ""), source=getattr(step, "source", ""),
                  reason=reason, truncated=truncated)


def _attrs(kind: str, outcome: str, label_en: str, label_zh: str, text: str, *, cite: str = "",
           rule_id: str = "", source: str = "", reason: str = "",
           truncated: bool = False) -> dict[str, Any]:
    return {
        "kind": kind, "outcome": outcome, "label_en": label_en, "label_zh": label_zh,
        "text": text, "cite": cite, "rule_id": rule_id, "source": source, "reason": reason,
        "truncated": int(truncated),
    }
