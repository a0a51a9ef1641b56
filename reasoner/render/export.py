"""Proof graphs as JSON (versioned schema), GraphML, Mermaid, and images via Graphviz."""

from __future__ import annotations

import datetime as _dt
import functools
import io
import json
import operator
import os
import re
import shutil
import subprocess
from importlib import resources
from json.encoder import encode_basestring
from typing import Any, Iterable, Mapping

import networkx as nx

from reasoner.lang.errors import RenderError
from reasoner.law.decision import ScenarioDecisions
from reasoner.proof.explanation import Explainer, explanation_flat
from reasoner.proof.graph import NODE_ATTRS, SCHEMA, FlatGraph, GraphLayout
from reasoner.lang.labels import check_lang
from reasoner.render.dot import node_label
from reasoner.render.theme import DEFAULT, Theme

__all__ = ["CJK_HINT", "cjk_font_available", "SCHEMA", "IMAGE_FORMATS", "to_json", "JsonWriter", "to_graphml", "to_mermaid", "to_image", "json_schema", "ExplanationWriter"]

IMAGE_FORMATS = ("svg", "png", "pdf")


def to_json(graph: nx.DiGraph | FlatGraph, receipt: Mapping[str, Any] | None = None) -> str:
    """The graph as JSON following ``proof.schema.json`` (``"schema": "earlog-proof/1"``).

    Nodes are in the graph's order (root first), edges grouped by parent in
    premise order. Same graph, same bytes. ``receipt`` (``Receipt.to_dict()``),
    when given, becomes the optional top-level ``receipt`` field.
    """
    return JsonWriter(cache=False).write(graph, receipt)


class JsonWriter:
    """``to_json`` for many graphs of one explainer: each node's JSON text is encoded once.

    With ``cache`` (the default), a node's text is remembered by its id, which is
    right for graphs from ``proofgraph`` (ids are hashes of the node's content).
    The text is that of ``json.dumps(doc, ensure_ascii=False, indent=2)``.
    """

    def __init__(self, cache: bool = True) -> None:
        self._nodes: dict[str, str] | None = {} if cache else None

    def write(self, graph: nx.DiGraph | FlatGraph, receipt: Mapping[str, Any] | None = None) -> str:
        """The graph as JSON (see ``to_json``)."""
        if isinstance(graph, FlatGraph):
            question, root = graph.question, graph.root
            nodes: Iterable[tuple[str, Mapping[str, Any]]] = graph.nodes.items()
            edges: Iterable[tuple[str, str, str, int]] = graph.edge_list()
        else:
            question, root = graph.graph["question"], graph.graph["root"]
            nodes = graph.nodes(data=True)
            edges = ((u, v, d["relation"], d["order"]) for u, v, d in graph.edges(data=True))
        cache = self._nodes
        texts = []
        for nid, data in nodes:
            text = cache.get(nid) if cache is not None else None
            if text is None:
                text = _node_json(nid, data)
                if cache is not None:
                    cache[nid] = text
            texts.append(text)
        edge_texts = []
        for u, v, rel, order in edges:
            if type(u) is str and type(v) is str and type(rel) is str and type(order) is int:
                edge_texts.append(_EDGE % (encode_basestring(u), encode_basestring(v),
                                           encode_basestring(rel), order))
            else:
                edge_texts.append(_EDGE % (_dump(u, 3), _dump(v, 3), _dump(rel, 3), _dump(order, 3)))
        out = ["{\n  \"schema\": ", _dump(SCHEMA, 1), ",\n  \"question\": ", _dump(question, 1),
               ",\n  \"root\": ", _dump(root, 1), ",\n  \"nodes\": ", _list(texts),
               ",\n  \"edges\": ", _list(edge_texts)]
        if receipt is not None:
            out += [",\n  \"receipt\": ", _dump(dict(receipt), 1)]
        out.append("\n}\n")
        return "".join(out)


# json.dumps(..., ensure_ascii=False, indent=2) of the document, spelled out: a node is
# an object at depth 2 (6 spaces before its keys), strings never hold a raw newline.
_EDGE = ('    {\n      "from": %s,\n      "to": %s,\n      "relation": %s,\n'
         '      "order": %s\n    }')
_NODE_KEYS = tuple(("id",) + NODE_ATTRS)
_KEY_TEXT = {k: "\n      " + json.dumps(k) + ": " for k in _NODE_KEYS}
# the usual node: every attribute a str but truncated, the last one
_TEXT_ATTRS = NODE_ATTRS[:-1]
assert NODE_ATTRS[-1] == "truncated"
_NODE = "    {" + ",".join(_KEY_TEXT[k] + "%s" for k in _NODE_KEYS) + "\n    }"
_text_values = operator.itemgetter(*_TEXT_ATTRS)


def _dump(value: Any, depth: int) -> str:
    """``value`` as it appears at nesting ``depth`` of an ``indent=2`` document."""
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    text = json.dumps(value, ensure_ascii=False, indent=2)
    return text.replace("\n", "\n" + "  " * depth) if "\n" in text else text


def _node_json(nid: str, data: Mapping[str, Any]) -> str:
    try:
        if type(nid) is str:
            return _NODE % (encode_basestring(nid), *map(encode_basestring, _text_values(data)),
                            "true" if data["truncated"] else "false")
    except TypeError:  # a value that is not a str
        pass
    parts = ["    {", _KEY_TEXT["id"], _dump(nid, 3)]
    for key in NODE_ATTRS:
        value = data[key]
        parts += [",", _KEY_TEXT[key],
                  ("true" if value else "false") if key == "truncated" else _dump(value, 3)]
    parts.append("\n    }")
    return "".join(parts)


def _list(items: list[str]) -> str:
    return "[\n" + ",\n".join(items) + "\n  ]" if items else "[]"


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
    return _fixed_dates(done.stdout) if fmt == "pdf" else done.stdout


# cairo's PDF dates: D:YYYYMMDDHHmmSS then Z or +HH'mm' / -HH'mm'
_PDF_DATE = re.compile(rb"/(CreationDate|ModDate) \(D:(\d{14})(Z|[+-]\d\d'\d\d')\)")


def _fixed_dates(pdf: bytes) -> bytes:
    """The PDF with its creation and modification dates set to SOURCE_DATE_EPOCH (UTC;
    1970-01-01 when unset), so the same proof gives the same bytes. Each date keeps its
    length: the cross-reference table holds byte offsets.
    """
    try:
        epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or 0)
        stamp = _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc).strftime("%Y%m%d%H%M%S")
    except (ValueError, OverflowError, OSError):
        stamp = ""
    if len(stamp) != 14:
        stamp = "19700101000000"

    def fixed(m: re.Match[bytes]) -> bytes:
        zone = b"Z" if m.group(3) == b"Z" else b"+00'00'"
        return b"/" + m.group(1) + b" (D:" + stamp.encode("ascii") + zone + b")"
    return _PDF_DATE.sub(fixed, pdf)


# What a reader sees when Graphviz finds no font with Chinese glyphs: boxes.
CJK_HINT = "install a CJK font, e.g. apt-get install fonts-noto-cjk (fc-list :lang=zh lists them)"


@functools.cache
def cjk_font_available() -> bool:
    """Whether fontconfig knows a font with Chinese glyphs (what Graphviz renders zh with).

    False when ``fc-list`` is missing too: then Graphviz's fonts are unknown and Chinese
    labels in PNG or PDF exports may show as boxes.
    """
    exe = shutil.which("fc-list")
    if exe is None:
        return False
    try:
        done = subprocess.run([exe, ":lang=zh", "family"], capture_output=True, timeout=10,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and bool(done.stdout.strip())


class ExplanationWriter:
    """Explains and lays out many transactions of one decided result, sharing the work.

    Sub-proofs and why-nots (``Explainer``), node descriptions and ids
    (``GraphLayout``) and each node's JSON text (``JsonWriter``) are computed once
    for all the transactions; ``graph(tx)`` and ``json(tx)`` equal
    ``explanation_flat(explain_transaction(result, tx))`` and
    ``to_json(explanation_graph(explain_transaction(result, tx)))``. Memory grows
    with the result's proofs: use one writer per result.
    """

    def __init__(self, result: ScenarioDecisions) -> None:
        self.explainer = Explainer(result)
        self.layout = GraphLayout()
        self.writer = JsonWriter()

    def graph(self, tx: str) -> FlatGraph:
        """The explanation graph of ``tx``.

        Raises:
            QueryError: no such transaction in the result.
        """
        return explanation_flat(self.explainer.explain(tx), self.layout)

    def json(self, tx: str) -> str:
        """The explanation graph of ``tx`` as JSON (``proof.schema.json``).

        Raises:
            QueryError: no such transaction in the result.
        """
        return self.writer.write(self.graph(tx))
