"""The trainer's rule map: element-level provisions and how they feed each other."""

# One node per element group of ``@element`` rules (scope by what it concludes, license
# requirement by paragraph, exceptions, bars, pending facts and obligations by exception
# code, filters by what they conclude, review policy by paragraph). An edge A -> B says a
# conclusion of A reaches a premise of B through helper rules only; the map keeps the
# transitive reduction of those edges. Precedence edges join policy paragraphs: Y takes
# precedence over X when X's body negates a premise of Y.

from __future__ import annotations

import json
from typing import Mapping

import networkx as nx

from reasoner.lang.checks import CheckedProgram
from reasoner.lang.ir import ELEMENTS, Aggregate, Const, Literal, Rule
from reasoner.lang.labels import check_lang
from reasoner.law.decision import POLICY_WORDS

__all__ = ["element_map", "element_map_dot", "element_map_json", "element_map_mermaid",
           "element_node_of",
           "RULE_MAP_SCHEMA", "EXCEPTION_NAMES", "COLUMNS"]

RULE_MAP_SCHEMA = "earlog-rulemap/1"
FAN_IN = 3

# Columns of the map, left to right, and the element kinds drawn in each.
COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("scope", ("scope",)),
    ("requirement", ("requirement",)),
    ("exceptions", ("filter", "bar", "exception", "pending", "obligation")),
    ("policy", ("policy",)),
)
_COLUMN_TITLES = {
    "en": {"scope": "I. Scope", "requirement": "II. License requirement",
           "exceptions": "III. License exceptions, bars and filters", "policy": "IV. Review policy"},
    "zh": {"scope": "一、适用范围", "requirement": "二、许可证要求",
           "exceptions": "三、许可例外、排除与限制", "policy": "四、审查政策"},
}

EXCEPTION_NAMES = {
    "en": {"AIA": "Artificial Intelligence Authorization", "ACM": "Advanced Compute Manufacturing",
           "LPP": "Low Processing Performance", "NAC": "Notified Advanced Computing",
           "ACA": "Advanced Computing Authorized", "UVEU": "universal Data Center VEU",
           "NVEU": "national Data Center VEU"},
    "zh": {"AIA": "人工智能授权", "ACM": "先进计算制造", "LPP": "低处理性能",
           "NAC": "先进计算通知", "ACA": "先进计算授权", "UVEU": "通用数据中心 VEU",
           "NVEU": "国家数据中心 VEU"},
}

# Titles of groups keyed by (kind, key); ``{code}`` is the exception code.
_TITLES: Mapping[str, Mapping[tuple[str, str], str]] = {
    "en": {
        ("scope", "before_rule"): "before the rule took effect",
        ("scope", "item_outside"): "item not controlled by the framework",
        ("scope", "excluded"): "model weights excluded (published, derived, below the best)",
        ("scope", "model_4e091"): "model weights are ECCN 4E091",
        ("scope", "model_subject"): "weights subject to the EAR (U.S. origin or FDP)",
        ("scope", "model_outside"): "model is not a controlled 4E091 item",
        ("scope", "in_scope"): "transaction governed by the framework",
        ("requirement", "license_required"): "license required",
        ("requirement", "lr_unknown"): "license requirement turns on {reason}",
        ("requirement", "no_license"): "no license required",
        ("filter", "restricted"): "restricted context (D:1/D:4/D:5 destination or D:5 headquarters)",
        ("bar", "*"): "no exception except those of part 746",
        ("bar", "code"): "{code} barred",
        ("exception", "code"): "{code}: {name}",
        ("pending", "code"): "{code} depends on an unstated fact",
        ("obligation", "code"): "{code} conditions",
    },
    "zh": {
        ("scope", "before_rule"): "规则生效之前",
        ("scope", "item_outside"): "物项不受该框架管控",
        ("scope", "excluded"): "模型权重除外（已公开、派生、低于最先进水平）",
        ("scope", "model_4e091"): "模型权重属于 ECCN 4E091",
        ("scope", "model_subject"): "权重受 EAR 管辖（美国原产或外国直接产品规则）",
        ("scope", "model_outside"): "模型不是受管控的 4E091 物项",
        ("scope", "in_scope"): "交易受该框架管辖",
        ("requirement", "license_required"): "需要许可证",
        ("requirement", "lr_unknown"): "许可要求取决于{reason}",
        ("requirement", "no_license"): "无需许可证",
        ("filter", "restricted"): "受限情形（D:1/D:4/D:5 目的地或总部位于 D:5）",
        ("bar", "*"): "仅可使用第746部分所列的许可例外",
        ("bar", "code"): "{code} 被排除",
        ("exception", "code"): "{code}：{name}",
        ("pending", "code"): "{code} 取决于未说明的事实",
        ("obligation", "code"): "{code} 的附带条件",
    },
}
# What an open license requirement turns on (``lr_unknown``'s reason), by reason.
_REASONS = {
    "en": {"permanent_regular_employee": "whether the recipients are permanent regular employees",
           "classification": "the item's classification"},
    "zh": {"permanent_regular_employee": "接收方是否为长期正式员工",
           "classification": "物项分类"},
}
_EDGE_WORDS = {"en": {"precedence": "prevails over", "exclusive": "one or the other",
                      "negative": "unless", "takes_away": "takes away"},
               "zh": {"precedence": "优先于", "exclusive": "二者择一", "negative": "除非", "takes_away": "排除"}}

# Shapes and colours per element kind and edge kind: data, not code branches.
RULE_MAP_THEME: Mapping[str, Mapping[str, str]] = {
    "scope": {"fillcolor": "#eceff1"},
    "requirement": {"fillcolor": "#ffe0b2"},
    "filter": {"fillcolor": "#f3e5f5"},
    "bar": {"fillcolor": "#ffcdd2"},
    "exception": {"fillcolor": "#c8e6c9"},
    "pending": {"fillcolor": "#fff9c4"},
    "obligation": {"fillcolor": "#e0f2f1"},
    "policy": {"fillcolor": "#bbdefb"},
    "positive": {"color": "#607d8b"},
    "negative": {"color": "#c62828", "style": "dashed"},
    "takes_away": {"color": "#c62828", "penwidth": "1.4", "arrowhead": "tee"},
    "precedence": {"color": "#1565c0", "penwidth": "1.6"},
    "exclusive": {"color": "#1565c0", "style": "dotted", "dir": "both", "constraint": "false"},
}


def element_node_of(rule: Rule, codes: frozenset[str]) -> str:
    """The map node of an ``@element`` rule: ``e:<kind>:<key>`` ("" for a helper rule)."""
    kind = rule.meta.element
    if not kind:
        return ""
    consts = [a.value for a in rule.head.args if isinstance(a, Const) and isinstance(a.value, str)]
    if kind in ("exception", "pending", "obligation", "bar"):
        body = [a.value for item in rule.body if isinstance(item, Literal)
                for a in item.atom.args if isinstance(a, Const) and isinstance(a.value, str)]
        code = next((c for c in consts + body if c in codes), "*")
        return f"e:{kind}:{code}"
    if kind == "requirement":
        return f"e:{kind}:" + "/".join([rule.head.pred, *consts])
    if kind == "policy":
        return f"e:{kind}:{rule.meta.cite}"
    return f"e:{kind}:{rule.head.pred}"


def element_map(checked: CheckedProgram) -> nx.DiGraph:
    """The element-level rule map of ``checked`` (see the module comment).

    Nodes carry ``element`` (the kind), ``key``, ``cite`` (the provisions of the group,
    ``; ``-separated), ``rules`` (member rule ids, comma-separated), ``title_en`` and
    ``title_zh``, ``outcomes`` (policy). Edges carry ``kind``: ``positive`` (a premise),
    ``negative`` (reached only through a negation), ``takes_away`` (a bar and its
    exception), ``precedence`` or ``exclusive``.
    """
    rules = checked.rules
    codes = frozenset(a.value for r in rules if r.meta.element == "exception"
                      for a in r.head.args if isinstance(a, Const) and isinstance(a.value, str))
    node_of = {i: element_node_of(r, codes) for i, r in enumerate(rules)}
    g = nx.DiGraph(schema=RULE_MAP_SCHEMA)
    for i, rule in enumerate(rules):
        node = node_of[i]
        if not node:
            continue
        if node not in g:
            kind, key = node.split(":", 2)[1:]
            g.add_node(node, element=kind, key=key, cites=[], rules=[], outcomes=[])
        data = g.nodes[node]
        for field, value in (("cites", rule.meta.cite), ("rules", rule.id or f"rule {i}")):
            if value and value not in data[field]:
                data[field].append(value)
        if rule.meta.element == "policy":
            for a in rule.head.args:
                if isinstance(a, Const) and a.value not in data["outcomes"]:
                    data["outcomes"].append(a.value)
    for u, v, kind in _reach_edges(rules, node_of):
        cu, cv = _code(u), _code(v)
        if cu and cv and cu != "*" and cv != "*" and cu != cv:
            continue  # rules keyed by different exception codes never meet
        if g.nodes[u]["element"] == "exception" and g.nodes[v]["element"] == "bar":
            g.add_edge(v, u, kind="takes_away")  # a bar takes its exception away
        else:
            g.add_edge(u, v, kind=kind)
    _reduce(g)
    for u, v, kind in _precedence(rules, node_of):
        g.add_edge(u, v, kind=kind)
    for _, data in g.nodes(data=True):
        for lang in ("en", "zh"):
            data[f"title_{lang}"] = _title(data, lang)
        data["cite"] = "; ".join(data.pop("cites"))
        data["rules"] = ",".join(data["rules"])
        data["outcomes"] = ",".join(data["outcomes"])
    return g


def _uses(rule: Rule) -> list[tuple[str, bool]]:
    out = []
    for item in rule.body:
        if isinstance(item, Literal):
            out.append((item.atom.pred, item.negated))
        elif isinstance(item, Aggregate):
            out += [(s.atom.pred, s.negated) for s in item.body if isinstance(s, Literal)]
    return out


def _reach_edges(rules: tuple[Rule, ...], node_of: Mapping[int, str]) -> list[tuple[str, str, str]]:
    # reach(A, p, neg) :- element A concludes p.   reach(A, q, neg') :- reach(A, p, neg),
    # helper rule uses p (negated?) and concludes q.  edge(A, B) :- reach(A, p, _), B uses p.
    users: dict[str, list[tuple[int, bool]]] = {}
    for i, rule in enumerate(rules):
        for pred, negated in _uses(rule):
            users.setdefault(pred, []).append((i, negated))
    edges: dict[tuple[str, str], str] = {}
    for i, rule in enumerate(rules):
        source = node_of[i]
        if not source:
            continue
        seen: set[tuple[str, bool]] = set()
        stack = [(rule.head.pred, False)]
        while stack:
            pred, neg = stack.pop()
            if (pred, neg) in seen:
                continue
            seen.add((pred, neg))
            for j, negated in users.get(pred, ()):
                target, reached = node_of[j], neg or negated
                if not target:
                    stack.append((rules[j].head.pred, reached))
                elif target != source:
                    kind = "negative" if reached else "positive"
                    if edges.get((source, target)) != "positive":
                        edges[(source, target)] = kind
    return [(u, v, k) for (u, v), k in sorted(edges.items())]


def _code(node: str) -> str:
    kind, key = node.split(":", 2)[1:]
    return key if kind in ("exception", "pending", "obligation", "bar") else ""


def _reduce(g: nx.DiGraph) -> None:
    """Keep the transitive reduction of the dependency edges (when they form a DAG)."""
    if not nx.is_directed_acyclic_graph(g):
        return
    keep = nx.transitive_reduction(g)
    for u, v in list(g.edges):
        if not keep.has_edge(u, v):
            g.remove_edge(u, v)


def _precedence(rules: tuple[Rule, ...], node_of: Mapping[int, str]) -> list[tuple[str, str, str]]:
    # prevails(Y, X) :- policy X has "not p" in its body, policy Y has p in its body.
    policies = [i for i, r in enumerate(rules) if r.meta.element == "policy"]
    pairs: set[tuple[str, str]] = set()
    for x in policies:
        negated = {p for p, neg in _uses(rules[x]) if neg}
        for y in policies:
            premises = {p for p, neg in _uses(rules[y]) if not neg}
            if x != y and node_of[x] != node_of[y] and negated & premises:
                pairs.add((node_of[y], node_of[x]))
    out = []
    for winner, loser in sorted(pairs):
        if (loser, winner) in pairs:
            if winner < loser:
                out.append((winner, loser, "exclusive"))
        else:
            out.append((winner, loser, "precedence"))
    return out


def _title(data: Mapping[str, object], lang: str) -> str:
    kind, key = str(data["element"]), str(data["key"])
    titles = _TITLES[lang]
    if kind == "policy":
        words = [POLICY_WORDS[lang].get(str(o), str(o).replace("_", " "))
                 for o in data["outcomes"]]  # type: ignore[attr-defined]
        return (" / " if lang == "en" else "／").join(words) or ELEMENTS[kind]
    reason = ""
    if kind == "requirement":
        key, _, reason = key.partition("/")
        unstated = "an unstated fact" if lang == "en" else "未说明的事实"
        reason = _REASONS[lang].get(reason, unstated)
    if (kind, key) in titles:
        return titles[(kind, key)].format(reason=reason)
    if key in EXCEPTION_NAMES[lang] and (kind, "code") in titles:
        return titles[(kind, "code")].format(code=key, name=EXCEPTION_NAMES[lang][key])
    return f"{kind}: {key.replace('_', ' ')}"


def _short_cite(cites: str) -> str:
    parts = [c.strip() for c in cites.split(";") if c.strip()]
    return "\n".join("§ " + c[len("15 CFR "):] if c.startswith("15 CFR ") else c for c in parts)


def element_map_dot(g: nx.DiGraph, lang: str = "en") -> str:
    """DOT for the element map, read top-down: one box per part of the argument.

    Node labels are plain-language titles with their provisions; tooltips name the
    member rules. Node names are the map ids (``e:<kind>:<key>``).
    """
    check_lang(lang)
    lines = ["digraph rulemap {",
             '  rankdir=TB; newrank=true; compound=true; nodesep=0.12; ranksep=0.28;',
             '  graph [fontname="Helvetica", fontsize=13, labeljust=l];',
             '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, '
             'margin="0.08,0.04"];',
             '  edge [fontname="Helvetica", fontsize=8, arrowsize=0.6];']
    columns = _columns(g)
    for column, members in columns:
        lines.append(f'  subgraph "cluster_{column}" {{ label={_q(_COLUMN_TITLES[lang][column])}; '
                     'color="#b0bec5"; style=rounded;')
        inner: dict[str, list[str]] = {}
        for n in members:
            inner.setdefault(_inner_box(g.nodes[n]), []).append(n)
        for box, nodes in sorted(inner.items()):
            if not box:
                continue
            lines.append(f'    subgraph "cluster_{box}" {{ label=""; color="#90a4ae"; '
                         'style="rounded,dashed";')
            lines += [f"      {_node(g, n, lang)}" for n in nodes]
            lines.append("      {rank=same; " + " ".join(_q(n) for n in nodes) + "}")
            lines.append("    }")
        lines += [f"    {_node(g, n, lang)}" for n in inner.get("", [])]
        lines.append("  }")
    # Each box sits below the one before it; pending facts and obligations below their exception.
    for k in range(len(columns) - 1):
        sep = _q(f"_sep{k}")
        lines.append(f"  {sep} [shape=point, style=invis, width=0, height=0, label=\"\"];")
        lines += [f"  {_q(n)} -> {sep} [style=invis];" for n in columns[k][1]]
        lines += [f"  {sep} -> {_q(n)} [style=invis];" for n in columns[k + 1][1]]
    for n, d in sorted(g.nodes(data=True)):
        if d["element"] in ("pending", "obligation") and f"e:exception:{d['key']}" in g:
            lines.append(f"  {_q('e:exception:' + d['key'])} -> {_q(n)} [style=invis];")
    words = _EDGE_WORDS[lang]
    for u, v, attrs in _drawn_edges(g):
        if attrs.get("kind") in words:
            attrs["label"] = words[attrs["kind"]]
        attrs.pop("kind", None)
        lines.append(f"  {_q(u)} -> {_q(v)} [{_attrs(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _columns(g: nx.DiGraph) -> list[tuple[str, list[str]]]:
    out = []
    for column, kinds in COLUMNS:
        members = [n for kind in kinds for n, d in g.nodes(data=True) if d["element"] == kind]
        if members:
            out.append((column, members))
    return out


def _node(g: nx.DiGraph, node: str, lang: str) -> str:
    data = g.nodes[node]
    label = _wrap(str(data[f"title_{lang}"]), 20 if lang == "en" else 11)
    cite = _short_cite(str(data["cite"]))
    attrs = {"label": label + ("\n" + cite if cite else ""),
             "tooltip": str(data["rules"]).replace(",", ", "), **RULE_MAP_THEME[data["element"]]}
    return f"{_q(node)} [{_attrs(attrs)}];"


def _inner_box(data: Mapping[str, object]) -> str:
    # Boxes inside a column: the exceptions themselves, the paragraphs requiring a license.
    if data["element"] == "exception":
        return "codes"
    if data["element"] == "requirement" and str(data["key"]).startswith("license_required/"):
        return "required"
    return ""


def _drawn_edges(g: nx.DiGraph) -> list[tuple[str, str, dict[str, str]]]:
    # A node feeding FAN_IN or more nodes of one box (another column, or the exceptions'
    # own box) is drawn with one edge to that box (``lhead``); when every node of an inner
    # box does so, one edge leaves that box (``ltail``). JSON keeps every edge.
    column_of = {kind: column for column, kinds in COLUMNS for kind in kinds}
    inner: dict[str, list[str]] = {}
    for n, d in sorted(g.nodes(data=True)):
        inner.setdefault(_inner_box(d), []).append(n)
    boxes = {column: inner["codes"] if column == "exceptions" and "codes" in inner else members
             for column, members in _columns(g)}
    boxes.update({k: v for k, v in inner.items() if k})

    def box_of(u: str, v: str) -> str:
        cu, cv = (column_of.get(g.nodes[n]["element"], "") for n in (u, v))
        if cu != cv:
            return cv
        return "codes" if g.nodes[v]["element"] == "exception" != g.nodes[u]["element"] else ""

    def middle(box: str) -> str:
        return boxes[box][len(boxes[box]) // 2]

    out: list[tuple[str, str, dict[str, str]]] = []
    into: dict[tuple[str, str, str], list[str]] = {}  # (source's inner box, box, kind) -> sources
    for u in sorted(g.nodes):
        grouped: dict[tuple[str, str], list[str]] = {}
        for v in sorted(g.successors(u)):
            kind = g.edges[u, v]["kind"]
            box = box_of(u, v) if kind in ("positive", "takes_away") else ""
            grouped.setdefault((box, kind), []).append(v)
        for (box, kind), targets in sorted(grouped.items()):
            if not box or len(targets) < FAN_IN:
                out += [(u, v, {"kind": kind, **RULE_MAP_THEME[kind]}) for v in targets]
            else:
                into.setdefault((_inner_box(g.nodes[u]), box, kind), []).append(u)
    for (source_box, box, kind), sources in sorted(into.items()):
        style = {"kind": kind, **RULE_MAP_THEME[kind], "lhead": f"cluster_{box}"}
        if source_box and sources == inner[source_box]:
            out.append((middle(source_box), middle(box), {**style, "ltail": f"cluster_{source_box}"}))
        else:
            out += [(u, middle(box), dict(style)) for u in sources]
    return out


def element_map_json(g: nx.DiGraph) -> str:
    """Node-link JSON: ``{"schema", "nodes": [...], "edges": [...]}``, sorted."""
    nodes = [{"id": n, **data} for n, data in sorted(g.nodes(data=True))]
    edges = [{"from": u, "to": v, **data} for u, v, data in sorted(g.edges(data=True))]
    return json.dumps({"schema": RULE_MAP_SCHEMA, "nodes": nodes, "edges": edges},
                      indent=2, ensure_ascii=False) + "\n"


def element_map_mermaid(g: nx.DiGraph, lang: str = "en") -> str:
    """A Mermaid flowchart of the element map (one subgraph per part of the argument)."""
    check_lang(lang)
    ids = {n: f"n{i}" for i, n in enumerate(sorted(g.nodes))}
    out = ["flowchart TB"]
    for column, members in _columns(g):
        out.append(f'  subgraph {column}["{_COLUMN_TITLES[lang][column]}"]')
        for n in members:
            data = g.nodes[n]
            text = "<br/>".join([str(data[f"title_{lang}"]),
                                 *_short_cite(str(data["cite"])).splitlines()])
            out.append(f'    {ids[n]}["{text.replace(chr(34), "#quot;")}"]')
        out.append("  end")
    words = _EDGE_WORDS[lang]
    arrows = {"positive": "-->", "negative": f"-. {words['negative']} .->",
              "takes_away": f"-- {words['takes_away']} --x",
              "precedence": f"== {words['precedence']} ==>", "exclusive": "<-.->"}
    for u, v, data in sorted(g.edges(data=True)):
        out.append(f"  {ids[u]} {arrows[data['kind']]} {ids[v]}")
    return "\n".join(out) + "\n"


def _wrap(text: str, width: int) -> str:
    # Break at spaces, or between two CJK characters, once a line reaches ``width``.
    lines = [""]
    for i, ch in enumerate(text):
        cjk = ord(ch) > 0x2e80
        if len(lines[-1]) >= width and (ch == " " or (cjk and ord(text[i - 1]) > 0x2e80)):
            lines.append("")
            if ch == " ":
                continue
        lines[-1] += ch
    return "\n".join(lines)


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(attrs: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={_q(v)}" for k, v in sorted(attrs.items()))
