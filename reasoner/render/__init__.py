"""Renderers of finished proof graphs: text, DOT, JSON, GraphML, Mermaid, images.

Renderers never evaluate: they take a ``Proof``/``WhyNot`` (text) or the graph
from ``proof.graph.to_graph`` (everything else). Themes are data (``theme``).

May import: ``lang``, ``engine``, ``law``, ``proof``.
"""

from __future__ import annotations

from reasoner.render.dot import to_dot
from reasoner.render.export import IMAGE_FORMATS, json_schema, to_graphml, to_image, to_json, to_mermaid
from reasoner.render.text import to_text
from reasoner.render.theme import DEFAULT, MONO, THEMES, Theme, get_theme

__all__ = [
    "to_text",
    "to_dot",
    "to_json",
    "to_graphml",
    "to_mermaid",
    "to_image",
    "json_schema",
    "IMAGE_FORMATS",
    "Theme",
    "DEFAULT",
    "MONO",
    "THEMES",
    "get_theme",
]
