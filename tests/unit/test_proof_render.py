"""Proof graphs and renderers: content-hash ids, themes as data, escaping, errors."""

from __future__ import annotations

import json
import shutil

import pytest

from reasoner.lang.errors import RenderError
from reasoner.proof import ComparisonStep, FactStep, NegationStep, Proof, RuleStep
from reasoner.proof.graph import NODE_ATTRS, to_graph
from reasoner.render import DEFAULT, MONO, to_dot, to_image, to_json, to_mermaid, to_text
from reasoner.render import export as export_module

FACT = Proof(FactStep("hq_in", ("acme", "SG"), 'hq_in("acme", "SG")', "p.dl:3",
                      'acme says "hi" <b>', ""))
CMP = Proof(ComparisonStep("<=", 15832000, 26900000, "T <= Cap", "15832000 <= 26900000",
                           "15,832,000 <= 26,900,000", "15,832,000 <= 26,900,000"))
NEG = Proof(NegationStep("d5_hq", ("acme",), 'not d5_hq("acme")', "", ""))
ROOT = Proof(RuleStep("lpp", ("tx2",), 'lpp("tx2")', 3, "lpp", "15 CFR 740.29(a)", "p.dl:9",
                      "LPP is available for tx2", "tx2 可适用 LPP"), (FACT, CMP, NEG))


def test_node_ids_are_content_hashes_and_stable() -> None:
    g = to_graph(ROOT)
    again = to_graph(Proof(ROOT.step, (FACT, CMP, NEG)))
    assert list(g.nodes) == list(again.nodes)
    assert g.graph["root"] == list(g.nodes)[0]
    assert all(len(n) == 16 and int(n, 16) >= 0 for n in g.nodes)
    changed = to_graph(Proof(ROOT.step, (FACT, NEG, CMP)))  # order is content
    assert changed.graph["root"] != g.graph["root"]


def test_identical_subproofs_become_one_node() -> None:
    twin = Proof(FactStep(*[getattr(FACT.step, f) for f in ("pred", "row", "text", "source", "en", "zh")]))
    g = to_graph(Proof(ROOT.step, (FACT, twin)))
    assert g.number_of_nodes() == 2


def test_nodes_carry_every_attribute_and_edges_point_to_premises() -> None:
    g = to_graph(ROOT)
    root = g.graph["root"]
    assert all(set(d) == set(NODE_ATTRS) for _, d in g.nodes(data=True))
    assert [g.nodes[v]["kind"] for v in g.successors(root)] == ["fact", "comparison", "negation"]
    assert [g.edges[root, v]["order"] for v in g.successors(root)] == [0, 1, 2]
    assert g.nodes[root]["cite"] == "15 CFR 740.29(a)"
    neg = [v for v in g.successors(root) if g.nodes[v]["kind"] == "negation"][0]
    assert g.nodes[neg]["label_en"] == 'not: d5_hq("acme")'
    assert g.nodes[neg]["label_zh"] == '并非：d5_hq("acme")'


def test_theme_is_data() -> None:
    g = to_graph(ROOT)
    theme = {**DEFAULT, "kinds": {**DEFAULT["kinds"], "fact": {"shape": "cylinder"}}}
    assert 'shape="cylinder"' in to_dot(g, theme)
    assert 'shape="cylinder"' not in to_dot(g)
    assert to_dot(g, MONO) != to_dot(g)


def test_dot_escapes_quotes_and_keeps_zh() -> None:
    dot = to_dot(to_graph(ROOT), lang="zh")
    assert 'label="hq_in(\\"acme\\", \\"SG\\")\\np.dl:3"' in dot
    assert "tx2 可适用 LPP" in dot


def test_mermaid_escapes_quotes_and_markup() -> None:
    text = to_mermaid(to_graph(ROOT))
    assert text.startswith("flowchart TD\n")
    assert "acme says #quot;hi#quot; #lt;b#gt;" in text
    assert '"hi"' not in text and "<b>" not in text
    assert "15,832,000 #lt;= 26,900,000" in text


def test_json_is_versioned() -> None:
    doc = json.loads(to_json(to_graph(ROOT)))
    assert doc["schema"] == "earlog-proof/1" and doc["question"] == "why"
    assert [e["relation"] for e in doc["edges"]] == ["premise"] * 3


def test_text_words_come_from_the_language_table() -> None:
    en = to_text(ROOT)
    assert en.splitlines()[1].startswith("  because ")
    assert en.splitlines()[2].startswith("  and ")
    assert "no fact matches" in en
    zh = to_text(ROOT, lang="zh")
    assert "因为" in zh and "无匹配事实" in zh
    assert to_text(ROOT, max_depth=0) == "LPP is available for tx2  [15 CFR 740.29(a)] (not shown further)\n"


@pytest.mark.parametrize("render", [to_text, lambda p, lang: to_dot(to_graph(p), lang=lang)],
                         ids=["text", "dot"])
def test_unknown_language(render) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RenderError, match="unknown language 'fr'"):
        render(ROOT, lang="fr")


def test_image_needs_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_module.shutil, "which", lambda name: None)
    with pytest.raises(RenderError) as err:
        to_image("digraph {}", "svg")
    assert err.value.hint == "install Graphviz: apt-get install graphviz"


def test_image_rejects_unknown_format() -> None:
    with pytest.raises(RenderError, match="unknown image format 'gif'"):
        to_image("digraph {}", "gif")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed (CI installs it)")
def test_image_formats_and_dot_errors() -> None:
    dot = to_dot(to_graph(ROOT))
    assert to_image(dot, "png").startswith(b"\x89PNG")
    assert to_image(dot, "pdf").startswith(b"%PDF")
    with pytest.raises(RenderError, match="Graphviz 'dot' failed"):
        to_image("digraph { a -> }", "svg")
