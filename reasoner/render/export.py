"""Proof graphs as JSON (versioned schema), GraphML, Mermaid, and images via Graphviz."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from importlib import resources
from typing import Any, Mapping

import networkx as nx

from ..errors import RenderError
from ..proofgraph import NODE_ATTRS, SCHEMA
from ..labels import check_lang
from .dot import node_label
from .theme import DEFAULT, Theme

__all__ = ["SCHEMA", "IMAGE_FORMATS", "to_json", "to_graphml", "to_mermaid", "to_image", "json_schema"]

IMAGE_FORMATS = ("svg", "png", "pdf")


def to_json(graph: nx.DiGraph, receipt: Mapping[str, Any] | None = None) -> str:
    """The graph as JSON following ``proof.schema.json`` (``"schema": "earlog-proof/1"``).

    Nodes are in the graph's order (root first), edges grouped by parent in
    premise order. Same graph, same bytes. ``receipt`` (``Receipt.to_dict()``),
    when given, becomes the optional top-level ``receipt`` field.
    """
    nodes = []
    for nid, data in graph.nodes(data=True):
        node: dict[str, Any] = {"id": nid}
        for key in NODE_ATTRS:
            node[key] = bool(data[key]) if key == "truncated" else data[key]
        nodes.append(node)
    edges = [{"from": u, "to": v, "relation": d["relation"], "order": d["order"]}
             for u, v, d in graph.edges(data=True)]
    doc = {"schema": SCHEMA, "question": graph.graph["question"], "root": graph.graph["root"],
           "nodes": nodes, "edges": edges}
    if receipt is not None:
        doc["receipt"] = dict(receipt)
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def json_schema() -> dict[str, Any]:
    """The JSON schema that ``to_json`` output follows (shipped as ``proof.schema.json``)."""
    text = resources.files("reasoner.render").joinpath("proof.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def to_graphml(graph: nx.DiGraph) -> str:
    """The graph as GraphML (str and int attributes only); reads back with ``nx.read_graphml``."""
    buf = io.BytesIO()
    nx.write_graphml(graph, buf, encoding="utf-8", prettyprint=True)
    return buf.getvalue().decode("utf-8")


def to_mermaid(graph: nx.DiGraph, theme: Theme | None = None, *, lang: str = "en") -> str:
    """A Mermaid ``flowchart TD`` that pastes into Markdown (quotes and markup escaped).

    Raises:
        RenderError: unknown language.
    """
    theme = DEFAULT if theme is None else theme
    check_lang(lang)
    style = theme.get("mermaid", {})
    out = ["flowchart TD"]
    for nid, data in graph.nodes(data=True):
        label = _mermaid_text(node_label(data, theme, lang)).replace("\n", "<br/>")
        out.append(f'  n{nid}["{label}"]')
    arrows = style.get("arrows", {})
    for u, v, data in graph.edges(data=True):
        out.append(f"  n{u} {arrows.get(data['relation'], '-->')} n{v}")
    classes = style.get("classes", {})
    for outcome in sorted(classes):
        members = [f"n{n}" for n, d in graph.nodes(data=True) if d["outcome"] == outcome]
        out.append(f"  classDef {outcome} {classes[outcome]}")
        if members:
            out.append(f"  class {','.join(members)} {outcome}")
    return "\n".join(out) + "\n"


def _mermaid_text(s: str) -> str:
    """Escape what Mermaid would read as markup inside a quoted label."""
    for raw, entity in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"),
                        ("`", "#96;")):
        s = s.replace(raw, entity)
    return s


def to_image(dot_text: str, fmt: str = "svg", timeout: float = 60.0) -> bytes:
    """Render DOT text with the Graphviz ``dot`` program.

    Args:
        dot_text: from ``to_dot``.
        fmt: ``svg``, ``png`` or ``pdf``.
        timeout: seconds to wait for ``dot``.

    Returns:
        The image bytes.

    Raises:
        RenderError: unknown format, ``dot`` missing, or ``dot`` failed.
    """
    if fmt not in IMAGE_FORMATS:
        raise RenderError(f"unknown image format '{fmt}'",
                          hint="formats: " + ", ".join(IMAGE_FORMATS))
    exe = shutil.which("dot")
    if exe is None:
        raise RenderError("the Graphviz 'dot' program was not found",
                          hint="install Graphviz: apt-get install graphviz")
    try:
        done = subprocess.run([exe, f"-T{fmt}"], input=dot_text.encode("utf-8"),
                              capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RenderError(f"Graphviz 'dot' took longer than {timeout:g} s",
                          hint="render a smaller proof (compact, max_depth)") from None
    except OSError as exc:
        raise RenderError(f"cannot run Graphviz 'dot': {exc.strerror}",
                          hint="install Graphviz: apt-get install graphviz") from None
    if done.returncode != 0:
        msg = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(f"Graphviz 'dot' failed: {msg[0] if msg else 'exit ' + str(done.returncode)}",
                          hint="the DOT text may be malformed; it should come from to_dot")
    return done.stdout
