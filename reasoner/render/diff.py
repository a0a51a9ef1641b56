"""Proof diffs as terminal text and as Graphviz DOT with the changed steps highlighted."""

from __future__ import annotations

import datetime as _dt
from typing import Any, Mapping

from reasoner.lang.labels import check_lang
from reasoner.proof.diff import FieldChange, ProofDiff, TransactionDiff
from reasoner.render.dot import node_label
from reasoner.render.theme import DEFAULT, Theme

__all__ = ["DIFF_THEME", "LISTED_KINDS", "diff_text", "diff_dot"]

# How a diff graph looks, as data: the base theme (shapes per kind, colours per
# outcome), then per status of a node or edge. Unchanged steps are greyed out.
DIFF_THEME: Theme = {
    **DEFAULT,
    "name": "diff",
    "status": {
        "same": {"color": "#bdbdbd", "fillcolor": "#fafafa", "fontcolor": "#757575"},
        "changed": {"color": "#ef6c00", "fillcolor": "#fff3e0", "penwidth": "2"},
        "appeared": {"color": "#2e7d32", "fillcolor": "#c8e6c9", "penwidth": "2.5"},
        "disappeared": {"color": "#c62828", "fillcolor": "#ffcdd2", "penwidth": "2.5",
                        "style": "filled,dashed"},
    },
    "edge_status": {
        "same": {"color": "#bdbdbd"},
        "appeared": {"color": "#2e7d32", "penwidth": "1.8"},
        "disappeared": {"color": "#c62828", "style": "dashed", "penwidth": "1.8"},
    },
    "status_marks": {"same": "", "changed": "~ ", "appeared": "+ ", "disappeared": "\u2212 "},
    "legend": {"same": "unchanged", "changed": "changed below",
               "appeared": "only on the right", "disappeared": "only on the left"},
}


# The steps a text diff lists by default: the legal ones (cited rules, given facts).
LISTED_KINDS = ("rule", "fact")


def diff_text(diff: ProofDiff, lang: str = "en",
              kinds: tuple[str, ...] | None = LISTED_KINDS) -> str:
    """Which decisions changed, field by field, and which proof steps appeared
    (``+``) or disappeared (``-``), per transaction.

    Args:
        diff: from ``proofdiff.diff_decisions``.
        lang: which labels to show.
        kinds: list only steps of these kinds (the others are counted); None: all.

    Returns:
        The text, ending in a newline.

    Raises:
        RenderError: unknown language.
    """
    check_lang(lang)
    out = [f"left:  {diff.left} (regime {diff.left_regime})",
           f"right: {diff.right} (regime {diff.right_regime})"]
    for t in diff.transactions:
        out += [""] + _transaction(t, lang, kinds)
    changed = sum(1 for t in diff.transactions if t.decision_changed)
    out += ["", f"{changed} of {len(diff.transactions)} transaction(s) decided differently"]
    return "\n".join(out) + "\n"


def _transaction(t: TransactionDiff, lang: str, kinds: tuple[str, ...] | None) -> list[str]:
    if t.before is None or t.after is None:
        side = "right" if t.before is None else "left"
        return [f"{t.transaction}: only on the {side}"]
    head = "decision changed" if t.fields else "same decision"
    out = [f"{t.transaction}: {head}"]
    width = max((len(f.name) for f in t.fields), default=0)
    out += [f"  {f.name.ljust(width)}  {_change(f)}" for f in t.fields]
    counts = dict(t.counts)
    argued = t.graph.graph.get("question") == "argument"
    what = "argument: {} statement(s)" if argued else "proof: {} step(s)"
    out.append(f"  {what.format(counts['same'])} unchanged, {counts['changed']} changed below, "
               f"{counts['appeared']} appeared, {counts['disappeared']} disappeared")
    listed = [s for s in t.steps if kinds is None or s.kind in kinds]
    for s in listed:
        mark = "+" if s.status == "appeared" else "-"
        # an argument's statement: its first line (its findings follow in the graph)
        label = (s.label_en if lang == "en" else s.label_zh).split("\n")[0]
        out.append(f"    {mark} [{s.kind}] {label}" + (f"  [{s.cite}]" if s.cite else ""))
    if len(listed) < len(t.steps):
        out.append(f"    ... and {len(t.steps) - len(listed)} other step(s) (negations, "
                   "comparisons, why-not attempts): --all-steps lists them")
    return out


def _change(f: FieldChange) -> str:
    if isinstance(f.before, tuple) and isinstance(f.after, tuple):
        parts = [f"+ {x}" for x in f.added] + [f"- {x}" for x in f.removed]
        return "; ".join(parts)
    return f"{_value(f.before)} \u2192 {_value(f.after)}"


def _value(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, _dt.date):
        return v.isoformat()
    return str(v)


def diff_dot(diff: ProofDiff, theme: Theme | None = None, *, lang: str = "en",
             changed_only: bool = True) -> str:
    """DOT text: one cluster per transaction, nodes styled by status (``DIFF_THEME``).

    Args:
        diff: from ``proofdiff.diff_decisions``.
        theme: a theme with ``status``, ``edge_status`` and ``status_marks``.
        lang: which labels to show.
        changed_only: leave out transactions whose decision and proof are the same.

    Returns:
        The DOT source, ending in a newline; the same diff gives the same bytes.
    """
    theme = DIFF_THEME if theme is None else theme
    check_lang(lang)
    out = [f"digraph {_quote('proofdiff')} {{"]
    for what in ("graph", "node", "edge"):
        if theme.get(what):
            out.append(f"  {what} [{_attrs(theme[what])}];")
    legend = theme.get("legend", {})
    shown = [t for t in diff.transactions if not changed_only or t.decision_changed
             or t.proof_changed]
    for k, t in enumerate(shown):
        title = f"{t.transaction}: {diff.left} ({diff.left_regime}) \u2192 {diff.right} " \
                f"({diff.right_regime})"
        out.append(f"  subgraph {_quote(f'cluster_{k}')} {{")
        out.append(f"    label={_quote(title)}; fontname={_quote('Helvetica')};")
        for nid, data in t.graph.nodes(data=True):
            out.append(f"    {_quote(f't{k}_{nid}')} [{_attrs(_node(data, theme, lang, legend))}];")
        for u, v, data in t.graph.edges(data=True):
            attrs = {**theme.get("relations", {}).get(data["relation"], {}),
                     **theme.get("edge_status", {}).get(data["status"], {})}
            out.append(f"    {_quote(f't{k}_{u}')} -> {_quote(f't{k}_{v}')}"
                       + (f" [{_attrs(attrs)}];" if attrs else ";"))
        out.append("  }")
    out.append("}")
    return "\n".join(out) + "\n"


def _node(data: Mapping[str, Any], theme: Theme, lang: str,
          legend: Mapping[str, str]) -> dict[str, Any]:
    status = data["status"]
    attrs: dict[str, Any] = {
        **theme.get("kinds", {}).get(data["kind"], {}),
        **theme.get("outcomes", {}).get(data["outcome"], {}),
        **theme.get("status", {}).get(status, {}),
    }
    attrs["label"] = theme.get("status_marks", {}).get(status, "") + node_label(data, theme, lang)
    attrs["tooltip"] = f"{legend.get(status, status)}: {data.get('text', '')}"
    return attrs


def _attrs(attrs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_quote(str(v))}" for k, v in sorted(attrs.items()))


def _quote(s: str) -> str:
    body = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{body}"'
