"""Plain-language labels: ``{Var}`` placeholders filled with readable values, per language."""

from __future__ import annotations

import datetime as _dt
import functools
import re
from decimal import Decimal
from typing import Mapping

from reasoner.lang.checks import CheckedProgram
from reasoner.lang.ir import BodyItem, Call, Comparison, Const, Literal, Rule, Term, Value, Var, format_value

__all__ = ["humane", "drop_unknown", 
    "LANGS",
    "WORDS",
    "UNKNOWN",
    "readable",
    "fill",
    "term_text",
    "pattern_text",
    "item_text",
    "LabelBook",
    "memo_safe",
    "check_lang",
]

LANGS = ("en", "zh")

# The connective words every renderer uses; one table per language.
WORDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "because": "because",
        "and": "and",
        "from": "from",
        "not": "not: {0}",
        "no_fact": "no fact matches",
        "fails": "fails:",
        "given": "given",
        "rule": "rule",
        "as_above": "(as above)",
        "truncated": "(not shown further)",
        "more": "... and {0} more",
        "rows": "{0} matching row(s)",
        "does_not_hold": "does not hold: {0}",
        "tried": "tried",
        "matched": "matched:",
        "but_exists": "but this holds:",
        "no_rule": "no rule's conclusion can take these values",
        "no_rule_input": "no rule derives it; it must be given as a fact",
        "rules_fail": "every rule that could derive it fails",
        "not_explored": "not explored further (depth limit)",
        "undefined": "undefined",
        "search_capped": "(search stopped early: too many partial matches)",
    },
    "zh": {
        "because": "因为",
        "and": "且",
        "from": "来自",
        "not": "并非：{0}",
        "no_fact": "无匹配事实",
        "fails": "不成立：",
        "given": "已知事实",
        "rule": "规则",
        "as_above": "（同上）",
        "truncated": "（以下从略）",
        "more": "……另有 {0} 项",
        "rows": "{0} 条匹配记录",
        "does_not_hold": "不成立：{0}",
        "tried": "尝试",
        "matched": "已满足：",
        "but_exists": "但下列事实成立：",
        "no_rule": "没有规则的结论能取这些值",
        "no_rule_input": "没有规则推出它；它须作为事实给出",
        "rules_fail": "可推出它的每条规则均不成立",
        "not_explored": "未继续展开（深度限制）",
        "undefined": "未定义",
        "search_capped": "（部分匹配过多，搜索提前停止）",
    },
}

def check_lang(lang: str) -> None:
    """Raise RenderError unless ``lang`` is one of ``LANGS``."""
    if lang not in LANGS:
        from reasoner.lang.errors import RenderError

        raise RenderError(f"unknown language '{lang}'", hint="languages: " + ", ".join(LANGS))


# What an unbound placeholder or an "any" position shows.
UNKNOWN = "?"

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def readable(v: Value | None) -> str:
    """A value as a reader sees it: thousands separators, ISO dates, bare strings.

    Example:
        >>> readable(31664000), readable(Decimal("1234.50")), readable("CN")
        ('31,664,000', '1,234.5', 'CN')
        >>> readable(_dt.date(2025, 1, 13)), readable(True), readable(None)
        ('2025-01-13', 'true', '?')
    """
    if type(v) is str:
        return v
    if v is None:
        return UNKNOWN
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, Decimal):
        if v == v.to_integral_value():
            return f"{int(v):,}"
        return format(v.normalize(), ",f")
    if isinstance(v, _dt.date):
        return v.isoformat()
    return str(v)


def fill(template: str, values: Mapping[str, Value | None]) -> str:
    """Fill ``{Var}`` placeholders; unknown or unbound ones show as ``?``.

    Example:
        >>> fill("{Tx} covers {N} units", {"Tx": "tx1", "N": 1700})
        'tx1 covers 1,700 units'
    """
    fmt, names = _compiled(template)
    if not names:
        return template
    return fmt.format(*[_year(values.get(n)) if n in YEAR_PLACEHOLDERS else readable(values.get(n))
                        for n in names])


# Placeholders that name a calendar year: shown without a thousands separator.
YEAR_PLACEHOLDERS = frozenset({"Year"})


def _year(v: Value | None) -> str:
    return str(v) if isinstance(v, int) and not isinstance(v, bool) else readable(v)


@functools.lru_cache(maxsize=4096)
def _compiled(template: str) -> tuple[str, tuple[str, ...]]:
    """The template as a ``str.format`` string with positional fields, and their names."""
    parts = _PLACEHOLDER.split(template)  # text, name, text, ..., text
    texts = [t.replace("{", "{{").replace("}", "}}") for t in parts[::2]]
    fmt = texts[0] + "".join("{%d}%s" % (k, t) for k, t in enumerate(texts[1:]))
    return fmt, tuple(parts[1::2])


def term_text(term: Term, env: Mapping[str, Value], show: str = "readable") -> str:
    """A term with its bound variables replaced by their values.

    Args:
        term: the term as written.
        env: variable values; unbound variables keep their names.
        show: ``readable`` (thousands separators, bare strings) or ``datalog``.

    Example:
        >>> from reasoner.lang.ir import Call, Var
        >>> term_text(Call("*", (Var("Q"), Var("T"))), {"Q": 1700, "T": 15832})
        '1,700 * 15,832'
    """
    fmt = readable if show == "readable" else format_value
    if isinstance(term, Const):
        return fmt(term.value)
    if isinstance(term, Var):
        if term.anonymous:
            return "_"
        return fmt(env[term.name]) if term.name in env else term.name
    args = [term_text(a, env, show) for a in term.args]
    if term.fn in ("+", "-", "*", "/"):
        left, right = args
        if isinstance(term.args[0], Call) and term.args[0].fn in ("+", "-", "*", "/"):
            left = f"({left})"
        if isinstance(term.args[1], Call) and term.args[1].fn in ("+", "-", "*", "/"):
            right = f"({right})"
        return f"{left} {term.fn} {right}"
    if term.fn == "neg":
        return f"-{args[0]}"
    return f"{term.fn}({', '.join(args)})"


def pattern_text(pred: str, pattern: tuple[Value | None, ...]) -> str:
    """Datalog spelling of an atom whose ``None`` positions mean "any" (``_``).

    Example:
        >>> pattern_text("tx_quantity", ("tx1", None))
        'tx_quantity("tx1", _)'
    """
    return f"{pred}({', '.join(['_' if v is None else format_value(v) for v in pattern])})"


def drop_unknown(text: str) -> str:
    """A filled label without the placeholders no value filled (``?``), and the
    preposition that led into one.

    Example:
        >>> drop_unknown("ACM covers tx1: the items finally going to ?, outside D:5")
        'ACM covers tx1: the items finally going, outside D:5'
    """
    text = re.sub(r"针对\s*\?\s*", "", text)
    return re.sub(r"(?:\s+(?:for|to|in|of|at|from|by|under))?\s*\?(?=[\s,.;:)'\uff0c\uff09]|$)",
                  "", text).strip()


def humane(pred: str, values: tuple[Value | None, ...]) -> str:
    """An atom without a label, in words rather than the rule language.

    Example:
        >>> humane("covered_a", ("3A090.a",)), humane("pending", ("tx1", None, None))
        ('covered a (3A090.a)', 'pending (tx1)')
    """
    shown = ", ".join(readable(v) for v in values if v is not None)
    words = pred.replace("_", " ")
    return f"{words} ({shown})" if shown else words


def memo_safe(values: tuple[Value | None, ...]) -> bool:
    """Whether ``values`` can key a memo of texts: not with a bool in it, since
    True == 1 as a key, yet they are spelled "true" and "1"."""
    return bool not in map(type, values)


class LabelBook:
    """The labels of a program's predicates, for atoms seen outside their rules.

    An input declaration's label names its parameters; a derived predicate
    borrows the label of its rule when it has exactly one rule and that label's
    placeholders are all plain head variables (with several rules, no single
    rule's wording describes the predicate, so the raw atom is shown).
    """

    def __init__(self, checked: CheckedProgram) -> None:
        self._labels: dict[str, tuple[str, str, tuple[str | None, ...]]] = {}
        self._filled: dict[tuple[str, tuple[Value | None, ...]], tuple[str, str]] = {}
        for d in checked.program.decls:
            if (d.meta.en or d.meta.zh) and d.pred not in self._labels:
                self._labels[d.pred] = (d.meta.en, d.meta.zh, d.params)
        rules_of: dict[str, list[Rule]] = {}
        for r in checked.program.rules:
            rules_of.setdefault(r.head.pred, []).append(r)
        for pred, rules in rules_of.items():
            r = rules[0]
            if pred in self._labels or len(rules) != 1 or not (r.meta.en or r.meta.zh):
                continue
            params = tuple(
                a.name if isinstance(a, Var) and not a.anonymous else None for a in r.head.args
            )
            used = set(_PLACEHOLDER.findall(r.meta.en + r.meta.zh))
            if used <= {p for p in params if p is not None}:
                self._labels[pred] = (r.meta.en, r.meta.zh, params)

    def atom(self, pred: str, values: tuple[Value | None, ...]) -> tuple[str, str]:
        """The (en, zh) labels of ``pred`` at ``values``; ("", "") when it has none."""
        found = self._labels.get(pred)
        if found is None:
            return "", ""
        memo = memo_safe(values)
        done = self._filled.get((pred, values)) if memo else None
        if done is None:
            en, zh, params = found
            env = {p: v for p, v in zip(params, values) if p is not None}
            done = (fill(en, env) if en else "", fill(zh, env) if zh else "")
            if memo:
                self._filled[(pred, values)] = done
        return done


def item_text(item: BodyItem, env: Mapping[str, Value], show: str = "readable") -> str:
    """A body condition with its bound variables replaced by their values.

    Example:
        >>> from reasoner.lang.syntax import parse_query
        >>> item_text(parse_query('tpp(I, P)')[0], {"I": "h100"}, "datalog")
        'tpp("h100", P)'
    """
    if isinstance(item, Literal):
        args = ", ".join(term_text(a, env, show) for a in item.atom.args)
        return f"{'not ' if item.negated else ''}{item.atom.pred}({args})"
    if isinstance(item, Comparison):
        return f"{term_text(item.left, env, show)} {item.op} {term_text(item.right, env, show)}"
    inner = ", ".join(item_text(b, env, show) for b in item.body)
    return f"{item.result} = {item.fn}({term_text(item.term, env, show)} : {inner})"
