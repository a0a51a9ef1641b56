"""Rule interplay: which provisions feed which, as a predicate/rule dependency graph with strata."""

from __future__ import annotations

import json
from typing import Any, Mapping

import networkx as nx

from reasoner.lang.checks import CheckedProgram
from reasoner.lang.ir import Aggregate, Literal, Rule

__all__ = ["rule_graph", "rules_dot", "rules_json", "rules_mermaid", "rules_graphml",
           "RULE_GRAPH_THEME", "RULE_GRAPH_SCHEMA"]

RULE_GRAPH_SCHEMA = "earlog-rules/1"

# Shapes and colours by node kind and edge polarity: data, not code branches.
RULE_GRAPH_THEME: Mapping[str, Mapping[str, str]] = {
    "input": {"shape": "note", "style": "filled", "fillcolor": "#eceff1"},
    "predicate": {"shape": "ellipse", "style": "filled", "fillcolor": "#e3f2fd"},
    "rule": {"shape": "box", "style": "rounded,filled", "fillcolor": "#fff8e1"},
    "positive": {"color": "#455a64"},
    "negative": {"color": "#c62828", "style": "dashed", "label": "not"},
    "aggregate": {"color": "#6a1b9a", "style": "dashed", "label": "agg"},
    "head": {"color": "#2e7d32"},
}


def rule_graph(checked: CheckedProgram) -> nx.DiGraph:
    """Predicates and rules as one graph: body predicate -> rule -> head predicate.

    Node ids: ``p:<pred>`` and ``r:<rule id or index>``. Predicate nodes carry
    their ``stratum``; rule nodes their citation, labels and regimes; edges their
    ``polarity`` (positive, negative, aggregate, head).
    """
    g = nx.DiGraph(schema=RULE_GRAPH_SCHEMA)
    inputs = {d.pred for d in checked.program.decls} | {f.pred for f in checked.program.facts}
    heads = {r.head.pred for r in checked.rules}
    for pred in sorted(checked.arity):
        kind = "predicate" if pred in heads else "input"
        if kind == "input" and pred not in inputs:
            continue
        g.add_node(f"p:{pred}", kind=kind, name=pred, stratum=checked.stratum_of.get(pred, 0),
                   arity=checked.arity[pred])
    for i, rule in enumerate(checked.rules):
        rid = f"r:{rule.id or i}"
        m = rule.meta
        g.add_node(rid, kind="rule", name=rule.id or f"rule {i}", cite=m.cite, label_en=m.en,
                   label_zh=m.zh, regimes=",".join(m.regimes), uncertain=",".join(m.uncertain),
                   source=f"{rule.span.file}:{rule.span.line}", stratum=checked.stratum_of.get(
                       rule.head.pred, 0))
        for pred, polarity in _uses(rule):
            g.add_edge(f"p:{pred}", rid, polarity=polarity)
        g.add_edge(rid, f"p:{rule.head.pred}", polarity="head")
    return g


def _uses(rule: Rule) -> list[tuple[str, str]]:
    out: dict[str, str] = {}
    for item in rule.body:
        if isinstance(item, Literal):
            out.setdefault(item.atom.pred, "negative" if item.negated else "positive")
        elif isinstance(item, Aggregate):
            for sub in item.body:
                if isinstance(sub, Literal):
                    out.setdefault(sub.atom.pred, "aggregate")
    return sorted(out.items())


def rules_dot(g: nx.DiGraph, lang: str = "en") -> str:
    """DOT with one cluster per stratum; rule nodes show id and citation."""
    lines = ["digraph rules {", '  rankdir=LR; node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=8];']
    strata: dict[int, list[str]] = {}
    for node, data in g.nodes(data=True):
        strata.setdefault(int(data["stratum"]), []).append(node)
    for s in sorted(strata):
        lines.append(f'  subgraph "cluster_{s}" {{ label="stratum {s}"; color="#b0bec5";')
        for node in sorted(strata[s]):
            data = g.nodes[node]
            label = data["name"]
            if data["kind"] == "rule" and data.get("cite"):
                label += "\\n" + _esc(data["cite"])
            attrs = {"label": label, **RULE_GRAPH_THEME[data["kind"]]}
            tip = data.get("label_zh" if lang == "zh" else "label_en")
            if tip:
                attrs["tooltip"] = _esc(tip)
            lines.append(f"    {_q(node)} [{_attrs(attrs)}];")
        lines.append("  }")
    for u, v, data in sorted(g.edges(data=True)):
        lines.append(f"  {_q(u)} -> {_q(v)} [{_attrs(dict(RULE_GRAPH_THEME[data['polarity']]))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def rules_json(g: nx.DiGraph) -> str:
    """Node-link JSON: ``{"schema", "nodes": [...], "edges": [...]}``, sorted."""
    nodes = [{"id": n, **data} for n, data in sorted(g.nodes(data=True))]
    edges = [{"from": u, "to": v, **data} for u, v, data in sorted(g.edges(data=True))]
    return json.dumps({"schema": RULE_GRAPH_SCHEMA, "nodes": nodes, "edges": edges},
                      indent=2, ensure_ascii=False) + "\n"


def rules_graphml(g: nx.DiGraph) -> str:
    """GraphML (opens in yEd or Gephi)."""
    h = nx.DiGraph()
    h.add_nodes_from(sorted(g.nodes(data=True)))
    h.add_edges_from(sorted(g.edges(data=True)))
    return "\n".join(nx.generate_graphml(h)) + "\n"


def rules_mermaid(g: nx.DiGraph) -> str:
    """A Mermaid flowchart that pastes into Markdown."""
    ids = {n: f"n{i}" for i, n in enumerate(sorted(g.nodes))}
    out = ["flowchart LR"]
    for n in sorted(g.nodes):
        data = g.nodes[n]
        text = data["name"] + (f"<br/>{data['cite']}" if data.get("cite") else "")
        text = text.replace('"', "#quot;")
        shape = ('["', '"]') if data["kind"] == "rule" else ('(["', '"])')
        out.append(f"  {ids[n]}{shape[0]}{text}{shape[1]}")
    arrows = {"positive": "-->", "head": "==>", "negative": "-.not.->", "aggregate": "-.agg.->"}
    for u, v, data in sorted(g.edges(data=True)):
        out.append(f"  {ids[u]} {arrows[data['polarity']]} {ids[v]}")
    return "\n".join(out) + "\n"


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def _attrs(attrs: Mapping[str, Any]) -> str:
    return ", ".join(f'{k}="{v}"' for k, v in sorted(attrs.items()))
