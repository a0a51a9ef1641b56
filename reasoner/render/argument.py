"""The argument level as text: a decision argued element by element, in a page."""

from __future__ import annotations

import networkx as nx

from reasoner.lang.errors import RenderError
from reasoner.lang.labels import check_lang
from reasoner.law.decision import ScenarioDecisions
from reasoner.proof.argument import (
    OUTCOMES, POLICIES, SECTIONS, Argument, ExceptionPoint, Point, Question, argument_graph,
    build_argument, grouped, short_sources,
)
from reasoner.proof.explanation import (
    TransactionExplanation, compact_explanation, explanation_graph,
)
from reasoner.render.text import explanation_text

__all__ = ["argument_text", "explanation_view", "LEVELS"]

_WORDS = {
    "en": {"because": "because", "obligation": "condition", "turns_on": "turns on",
           "settle": "settled by",
           "outcome": "Outcome", "uncertain": "uncertain"},
    "zh": {"because": "因为", "obligation": "条件", "turns_on": "取决于", "settle": "可由此解决",
           "outcome": "结论", "uncertain": "不确定"},
}
# How much of a decision's explanation is shown: the argument, every labelled legal step
# (no arithmetic), or the complete derivation.
LEVELS = ("argument", "steps", "full")

_MARK = {True: "\u2713", False: "\u2717"}
_NUMERALS = ("I", "II", "III", "IV", "V")


def argument_text(arg: Argument, lang: str = "en") -> str:
    """The argument as terminal text: the question, the outcome, then one section per
    element (scope, license requirement, exceptions, review policy, open questions).

    Args:
        arg: from ``proof.argument.build_argument``.
        lang: ``en`` or ``zh``.

    Returns:
        The text, without a trailing newline.

    Raises:
        RenderError: unknown language.
    """
    check_lang(lang)
    w, d = _WORDS[lang], arg.decision
    outcome = OUTCOMES[lang].get(d.outcome, d.outcome)
    if d.review_policy:
        outcome += f" ({POLICIES[lang].get(d.review_policy, d.review_policy)})"
    lines = [f"{d.transaction}: {arg.issue(lang)}",
             f"{w['outcome']}: {outcome}. {arg.conclusion.text(lang)}"]
    sections: list[tuple[str, list[str]]] = [
        ("scope", [ln for p in arg.scope for ln in _point(p, lang, "  ")]),
        ("requirement", [ln for p in arg.requirement for ln in _point(p, lang, "  ")]),
        ("exceptions", [ln for codes, e in grouped(arg.exceptions)
                        for ln in _exception(codes, e, lang)]),
        ("policy", [ln for p in arg.policy for ln in _point(p, lang, "  ")]),
        ("questions", [ln for q in arg.questions for ln in _question(q, lang)]),
    ]
    n = 0
    for key, body in sections:
        if not body:
            continue
        lines.append(f"{_NUMERALS[n]}. {SECTIONS[lang][key]}")
        lines.extend(body)
        n += 1
    return "\n".join(lines)


def _point(p: Point, lang: str, indent: str, head: str = "") -> list[str]:
    w = _WORDS[lang]
    out = [f"{indent}{_MARK[p.holds]} {head}{p.text(lang)}{_cite(p)}{_facts(p)}"]
    for g in p.grounds:
        out.append(f"{indent}    {w['because']} {g.text(lang)}{_cite(g)}{_facts(g)}")
    return out


def _exception(codes: tuple[str, ...], e: ExceptionPoint, lang: str) -> list[str]:
    w = _WORDS[lang]
    out = _point(e.point, lang, "  ", f"{', '.join(codes)}: ")
    out += [f"      {w['obligation']}: {o.text(lang)}{_cite(o)}" for o in e.obligations]
    if e.uncertainties and not e.available:
        out[-1] += f"  ({w['uncertain']}: {', '.join(e.uncertainties)})"
    return out


def _question(q: Question, lang: str) -> list[str]:
    w = _WORDS[lang]
    text, turns_on, settle = q.said(lang)
    out = [f"  ? {q.id}: {text}" + (f"  [{q.source}]" if q.source else "")]
    if turns_on:
        out.append(f"      {w['turns_on']}: " + "; ".join(turns_on))
    if settle:
        out.append(f"      {w['settle']}: {settle}")
    return out


def _cite(p: Point) -> str:
    return f"  [{p.cite}]" if p.cite else ""


def _facts(p: Point) -> str:
    return f"  ({', '.join(short_sources(p.facts))})" if p.facts else ""


def explanation_view(result: ScenarioDecisions, expl: TransactionExplanation, level: str = "argument",
                     lang: str = "en", max_depth: int | None = None) -> tuple[str, nx.DiGraph]:
    """An explanation at one level, as text and as a graph, from the same proof object.

    Args:
        result: the decided scenario ``expl`` comes from.
        expl: from ``proof.explanation.explain_transaction``.
        level: one of ``LEVELS``.
        lang: ``en`` or ``zh``.
        max_depth: cut derivation steps below this depth (``steps`` and ``full``).

    Returns:
        The text (ending in a newline) and the graph.

    Raises:
        RenderError: unknown level or language.
    """
    if level == "argument":
        arg = build_argument(expl, result.scenario, result.rulebook)
        return argument_text(arg, lang) + "\n", argument_graph(arg)
    if level not in LEVELS:
        raise RenderError(f"unknown level '{level}'", hint="levels: " + ", ".join(LEVELS))
    shown = compact_explanation(expl) if level == "steps" else expl
    return explanation_text(shown, lang, max_depth=max_depth), explanation_graph(shown)
