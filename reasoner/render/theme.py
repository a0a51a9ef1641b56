"""Themes: how proof graphs look, as plain data (Graphviz and Mermaid attributes)."""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["Theme", "DEFAULT", "MONO", "THEMES", "get_theme"]

Theme = Mapping[str, Any]

# A node's DOT attributes are node, then kinds[kind], then outcomes[outcome]
# merged in that order (no outcome colours for the kinds in own_colours); an edge's are edge, then relations[relation]. The label
# shows the `lines` attributes that are not empty, the first prefixed with
# marks[outcome] and wrapped at `wrap` characters.
DEFAULT: Theme = {
    "name": "default",
    "graph": {"rankdir": "TB", "fontname": "Helvetica", "nodesep": "0.25", "ranksep": "0.35"},
    "node": {"fontname": "Helvetica", "fontsize": "10", "shape": "box", "style": "filled",
             "margin": "0.12,0.06", "penwidth": "1.2"},
    "edge": {"color": "#616161", "arrowsize": "0.7"},
    "kinds": {
        "rule": {"shape": "box", "style": "rounded,filled"},
        "fact": {"shape": "note"},
        "negation": {"shape": "box", "style": "rounded,dashed,filled"},
        "comparison": {"shape": "hexagon"},
        "aggregate": {"shape": "box3d"},
        "assignment": {"shape": "cds"},
        "goal": {"shape": "octagon", "penwidth": "2"},
        "attempt": {"shape": "box", "style": "rounded,filled,bold"},
        # the argument level (proof.argument.argument_graph)
        "conclusion": {"shape": "box", "style": "rounded,filled,bold", "penwidth": "2",
                       "fontsize": "11"},
        "scope": {"shape": "box", "style": "rounded,filled"},
        "requirement": {"shape": "box", "style": "rounded,filled"},
        "exception": {"shape": "box", "style": "rounded,filled"},
        "policy": {"shape": "box", "style": "rounded,filled"},
        "question": {"shape": "box", "style": "dashed,filled", "fillcolor": "#fffde7",
                     "color": "#f9a825"},
    },
    "outcomes": {
        "holds": {"color": "#2e7d32", "fillcolor": "#f1f8e9", "fontcolor": "#1b1b1b"},
        "fails": {"color": "#c62828", "fillcolor": "#ffebee", "fontcolor": "#1b1b1b"},
    },
    "relations": {
        "premise": {},
        "whynot": {"style": "dashed"},
        "attempt": {"style": "bold"},
        "matched": {"color": "#2e7d32"},
        "fails": {"color": "#c62828", "penwidth": "1.6"},
        "evidence": {"style": "dashed", "color": "#c62828"},
        "rests_on": {"color": "#2e7d32"},
        "ruled_out": {"color": "#c62828"},
        "open": {"style": "dotted", "color": "#f9a825"},
        "next": {"style": "invis"},
    },
    "marks": {"holds": "", "fails": "\u2717 "},
    # kinds drawn in their own colours whatever their outcome (an open question)
    "own_colours": ("question",),
    "lines": ["label", "cite", "source"],
    "wrap": 48,
    "tooltip": "text",
    "mermaid": {
        "classes": {
            "holds": "fill:#f1f8e9,stroke:#2e7d32,color:#1b1b1b",
            "fails": "fill:#ffebee,stroke:#c62828,color:#1b1b1b",
        },
        "arrows": {"premise": "-->", "whynot": "-.->", "attempt": "==>", "matched": "-->",
                   "fails": "==>", "evidence": "-.->", "rests_on": "-->", "ruled_out": "==>",
                   "open": "-.->", "next": "~~~"},
    },
}

# Black and white, for printed memos: failing steps are drawn bold and dashed.
MONO: Theme = {
    **DEFAULT,
    "name": "mono",
    "edge": {"color": "black", "arrowsize": "0.7"},
    "outcomes": {
        "holds": {"color": "black", "fillcolor": "white", "fontcolor": "black"},
        "fails": {"color": "black", "fillcolor": "#eeeeee", "fontcolor": "black",
                  "penwidth": "2.2"},
    },
    "relations": {**DEFAULT["relations"], "matched": {}, "fails": {"penwidth": "2.2"},
                  "evidence": {"style": "dashed"}, "rests_on": {}, "ruled_out": {"penwidth": "2.2"},
                  "open": {"style": "dotted"}},
    "kinds": {**DEFAULT["kinds"], "question": {"shape": "box", "style": "dashed,filled",
                                                "fillcolor": "white", "color": "black"}},
    "mermaid": {
        "classes": {"holds": "fill:#ffffff,stroke:#000000,color:#000000",
                    "fails": "fill:#eeeeee,stroke:#000000,stroke-width:3px,color:#000000"},
        "arrows": DEFAULT["mermaid"]["arrows"],
    },
}

THEMES: Mapping[str, Theme] = {"default": DEFAULT, "mono": MONO}


def get_theme(name: str) -> Theme:
    """The theme called ``name``.

    Raises:
        RenderError: no such theme.
    """
    from reasoner.lang.errors import RenderError

    try:
        return THEMES[name]
    except KeyError:
        raise RenderError(f"unknown theme '{name}'",
                          hint="themes: " + ", ".join(sorted(THEMES))) from None
