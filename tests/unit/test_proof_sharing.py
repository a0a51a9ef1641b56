"""Proofs that share work (one explainer, layout and JSON writer per model) equal fresh ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from reasoner.law.decision import decide
from reasoner.render.export import ExplanationWriter
from reasoner.proof.explanation import (Explainer, explain_transaction,
                                  explanation_flat, explanation_graph)
from reasoner.proof import FactStep, Proof, RuleStep
from reasoner.proof.graph import NODE_ATTRS, SCHEMA, GraphLayout, _content, to_graph
from reasoner.render import to_json
from reasoner.render.export import JsonWriter
from reasoner.law.scenario import load_scenario

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden" / "proofs"


def _reference_json(graph: nx.DiGraph, receipt: dict[str, Any] | None = None) -> str:
    """``to_json`` as it was written first: a dict document through ``json.dumps(indent=2)``."""
    nodes = []
    for nid, data in graph.nodes(data=True):
        node: dict[str, Any] = {"id": nid}
        for key in NODE_ATTRS:
            node[key] = bool(data[key]) if key == "truncated" else data[key]
        nodes.append(node)
    edges = [{"from": u, "to": v, "relation": d["relation"], "order": d["order"]}
             for u, v, d in graph.edges(data=True)]
    doc: dict[str, Any] = {"schema": SCHEMA, "question": graph.graph["question"],
                           "root": graph.graph["root"], "nodes": nodes, "edges": edges}
    if receipt is not None:
        doc["receipt"] = receipt
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _graph_of(doc: dict[str, Any]) -> nx.DiGraph:
    g = nx.DiGraph()
    g.graph.update(schema=doc["schema"], question=doc["question"], root=doc["root"])
    for n in doc["nodes"]:
        g.add_node(n["id"], **{k: int(v) if k == "truncated" else v
                               for k, v in n.items() if k != "id"})
    for e in doc["edges"]:
        g.add_edge(e["from"], e["to"], relation=e["relation"], order=e["order"])
    return g


def _same_graph(a: nx.DiGraph, b: nx.DiGraph) -> None:
    assert a.graph == b.graph
    assert list(a.nodes(data=True)) == list(b.nodes(data=True))
    assert list(a.edges(data=True)) == list(b.edges(data=True))


@pytest.fixture(scope="module")
def decided(screen_data: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A generated book of 40 transactions decided as one scenario."""
    from reasoner.tools.screen.screener import validate_row
    from reasoner.tools.screen.files import read_rows

    folder = tmp_path_factory.mktemp("book")
    ctx = load_scenario(str(screen_data.write_context(folder / "ctx.yaml", consignees=12)),
                        require_transactions=False)
    path = screen_data.write_rows(folder / "rows.csv", 40, "csv", consignees=12)
    txs = [validate_row(r, ctx, str(path)) for r in read_rows(str(path), "csv")]
    return decide(ctx.with_transactions(txs))


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.iterdir()
                                        if (p / "expected.json").exists()))
def test_to_json_is_json_dumps_indent_2(case: str) -> None:
    text = (GOLDEN / case / "expected.json").read_text("utf-8")
    g = _graph_of(json.loads(text))
    assert to_json(g) == _reference_json(g) == text
    receipt = {"nested": {"list": [1, "a\nb", None, 2.5], "empty": {}, "none": []}, "zh": "中文"}
    assert to_json(g, receipt) == _reference_json(g, receipt)


def test_content_is_sorted_compact_json() -> None:
    attrs = {"kind": "rule", "outcome": "holds", "label_en": 'a "quoted"\n\\ label',
             "label_zh": "需要许可证\u2028", "text": "t", "cite": "", "rule_id": "r",
             "source": "s.dl:1", "reason": "", "truncated": 1}
    for children in ([], [("premise", "0123456789abcdef")],
                     [("premise", "a"), ("whynot", "b"), ("premise", "a")]):
        want = json.dumps([attrs, [list(c) for c in children]], sort_keys=True,
                          ensure_ascii=False, separators=(",", ":"))
        assert _content(attrs, children) == want
    odd = {**attrs, "truncated": True, "extra": 2.5}
    assert _content(odd, []) == json.dumps([odd, []], sort_keys=True, ensure_ascii=False,
                                           separators=(",", ":"))


def test_shared_layout_gives_each_proofs_own_graph() -> None:
    leaf = Proof(FactStep("e", (1,), "e(1)", "f.dl:1", "", ""))
    twin = Proof(FactStep("e", (1,), "e(1)", "f.dl:1", "", ""))  # same content, other object
    mid = Proof(RuleStep("h", (1,), "h(1)", 0, "", "", "", "", ""), (leaf, twin))
    top = Proof(RuleStep("p", (1,), "p(1)", 1, "p", "X 1", "", "", ""), (mid, leaf))
    layout = GraphLayout()
    for p in (leaf, top, mid, top):
        _same_graph(layout.graph(p).to_networkx(), to_graph(p))


def test_one_explainer_per_model_equals_a_fresh_one_per_transaction(decided: Any) -> None:
    shared, layout, writer = Explainer(decided), GraphLayout(), JsonWriter()
    explained = 0
    for d in decided.decisions:
        fresh = explain_transaction(decided, d.transaction)
        reused = shared.explain(d.transaction)
        want = explanation_graph(fresh)
        _same_graph(explanation_flat(reused, layout).to_networkx(), want)
        assert writer.write(explanation_flat(reused, layout)) == _reference_json(want)
        explained += bool(fresh.whynots)
    assert explained  # some transactions had exceptions ruled out


def test_explanation_writer_equals_the_unshared_functions(decided: Any) -> None:
    writer = ExplanationWriter(decided)
    for d in reversed(decided.decisions):  # another order than the test above
        want = explanation_graph(explain_transaction(decided, d.transaction))
        _same_graph(writer.graph(d.transaction).to_networkx(), want)
        assert writer.json(d.transaction) == to_json(want) == _reference_json(want)
