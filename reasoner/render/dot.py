"""Graphviz DOT text for a proof graph, styled by a theme (data)."""

from __future__ import annotations

import textwrap
from typing import Any, Mapping

import networkx as nx

from reasoner.lang.labels import check_lang
from reasoner.render.theme import DEFAULT, Theme

__all__ = ["to_dot", "node_label"]


def to_dot(graph: nx.DiGraph, theme: Theme | None = None, *, lang: str = "en") -> str:
    """DOT text for a proof graph; the same graph and theme give the same bytes.

    Args:
        graph: from ``proofgraph.to_graph``.
        theme: shapes and colours (``render.theme``); the default theme if None.
        lang: which label to show, ``en`` or ``zh``.

    Returns:
        The DOT source, ending in a newline.

    Raises:
        RenderError: unknown language.
    """
    theme = DEFAULT if theme is None else theme
    check_lang(lang)
    out = [f"digraph {_quote('proof')} {{"]
    for what in ("graph", "node", "edge"):
        if theme.get(what):
            out.append(f"  {what} [{_attrs(theme[what])}];")
    for nid, data in graph.nodes(data=True):
        attrs: dict[str, Any] = {
            **theme.get("kinds", {}).get(data["kind"], {}),
            **({} if data["kind"] in theme.get("own_colours", ())
               else theme.get("outcomes", {}).get(data["outcome"], {})),
        }
        attrs["label"] = node_label(data, theme, lang)
        tip = theme.get("tooltip")
        if tip and data.get(tip):
            attrs["tooltip"] = data[tip]
        attrs["id"] = nid
        out.append(f"  {_quote(nid)} [{_attrs(attrs)}];")
    for u, v, data in graph.edges(data=True):
        attrs = dict(theme.get("relations", {}).get(data["relation"], {}))
        out.append(f"  {_quote(u)} -> {_quote(v)}" + (f" [{_attrs(attrs)}];" if attrs else ";"))
    out.append("}")
    return "\n".join(out) + "\n"


def node_label(data: Mapping[str, Any], theme: Theme, lang: str) -> str:
    """The lines a node shows: its label (with the outcome mark), citation, source."""
    lines: list[str] = []
    for field in theme.get("lines", ("label",)):
        value = str(data.get(f"label_{lang}" if field == "label" else field, ""))
        if not value:
            continue
        if not lines:
            value = theme.get("marks", {}).get(data["outcome"], "") + value
        width = int(theme.get("wrap", 0))
        for paragraph in value.split("\n"):  # an argument's findings are paragraphs
            lines.extend(textwrap.wrap(paragraph, width) if width else [paragraph])
    return "\n".join(lines)


def _attrs(attrs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_quote(str(v))}" for k, v in sorted(attrs.items()))


def _quote(s: str) -> str:
    body = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{body}"'
