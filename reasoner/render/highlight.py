"""Highlight overlays: restyle chosen nodes of finished DOT text (themes are data)."""

# DOT lets a later node statement add attributes to a node already declared, so
# an overlay appends one statement per highlighted node just before the graph's
# closing brace: the proof's own DOT is left byte-for-byte as it was above it.

from __future__ import annotations

from typing import Any, Mapping

from reasoner.lang.errors import RenderError

__all__ = ["HIGHLIGHT", "RULE_HIGHLIGHT", "highlight_dot"]

Overlay = Mapping[str, Mapping[str, Any]]

# Proof steps by their status against the previous graph (proofdiff's names):
# appeared (a step that was not there), changed (the same step resting on
# something new). ``class`` becomes the SVG group's class, for pages and tests.
HIGHLIGHT: Overlay = {
    "appeared": {"class": "earlog-new earlog-appeared", "fillcolor": "#fff176", "color": "#e65100",
                 "penwidth": "3"},
    "changed": {"class": "earlog-new earlog-changed", "fillcolor": "#fff9c4", "color": "#f9a825",
                "penwidth": "2.4"},
}

# Rules of the rule-interplay graph that fired for the selected transaction.
RULE_HIGHLIGHT: Overlay = {
    "fired": {"class": "earlog-fired", "fillcolor": "#ffcc80", "color": "#e65100",
              "penwidth": "2.2"},
}


def highlight_dot(dot: str, statuses: Mapping[str, str], overlay: Overlay = HIGHLIGHT) -> str:
    """Restyle the nodes named in ``statuses`` with ``overlay[status]``.

    Args:
        dot: DOT text of one graph (``to_dot``, ``rules_dot``), ending in ``}``.
        statuses: node name -> a key of ``overlay``; other statuses are ignored.
        overlay: DOT attributes per status.

    Returns:
        The DOT text with one restyling statement per node, in ``statuses`` order.

    Raises:
        RenderError: ``dot`` does not end with a closing brace.

    Example:
        >>> print(highlight_dot('digraph g {\\n  "a";\\n}\\n', {"a": "fired"}, RULE_HIGHLIGHT), end="")
        digraph g {
          "a";
          "a" [class="earlog-fired", color="#e65100", fillcolor="#ffcc80", penwidth="2.2"];
        }
    """
    body = dot.rstrip()
    if not body.endswith("}"):
        raise RenderError("expected DOT text ending with '}'", hint="pass the output of to_dot")
    extra = [f"  {_quote(node)} [{_attrs(overlay[status])}];"
             for node, status in statuses.items() if status in overlay]
    if not extra:
        return dot
    return body[:-1].rstrip("\n") + "\n" + "\n".join(extra) + "\n}\n"


def _attrs(attrs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_quote(str(v))}" for k, v in sorted(attrs.items()))


def _quote(s: str) -> str:
    body = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{body}"'
