"""A decision as a legal argument: element by element, each with its provision and facts.

The argument level sits above the derivation (``--level argument``, the default). It
is read off a finished explanation, never re-evaluated: the ``@element`` rules of the
proof become the statements of the argument, in the order a memo discusses them
(scope, license requirement, exceptions, review policy, open questions), and every
helper step beneath an element folds into that statement as the scenario facts
(``file:line``) it rests on. An exception that is not available is argued by the one
decisive condition its decision names (``Decision.ruled_out``).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Iterator, Mapping

import networkx as nx

from reasoner.lang.labels import check_lang, drop_unknown, readable
from reasoner.law.decision import POLICY_WORDS, Decision
from reasoner.law.rulebook import Rulebook, is_rulebook_file
from reasoner.law.scenario import Scenario, Transaction
from reasoner.proof.explanation import TransactionExplanation
from reasoner.proof.graph import SCHEMA
from reasoner.proof.steps import FactStep, NegationStep, Proof, RuleStep

__all__ = ["Point", "ExceptionPoint", "Question", "Argument", "build_argument",
           "argument_graph", "grouped", "short_sources", "issue_text", "conclusion_text", "SECTIONS", "POLICIES",
           "OUTCOMES", "ARGUMENT_KINDS", "ARGUMENT_RELATIONS"]

# The sections of an argument, in reading order (memo headings I-V).
SECTIONS = {
    "en": {"scope": "Scope", "requirement": "License requirement",
           "exceptions": "License exceptions and authorizations", "policy": "Review policy",
           "questions": "Open questions"},
    "zh": {"scope": "适用范围", "requirement": "许可证要求", "exceptions": "许可例外与授权",
           "policy": "审查政策", "questions": "待决问题"},
}
OUTCOMES = {
    "en": {"permitted": "permitted", "license_required": "license required",
           "out_of_scope": "out of scope", "indeterminate": "indeterminate"},
    "zh": {"permitted": "允许", "license_required": "需要许可证",
           "out_of_scope": "不在适用范围内", "indeterminate": "无法确定"},
}
POLICIES = POLICY_WORDS
_TX_TYPES = {
    "en": {"export": "export", "reexport": "reexport",
           "transfer_in_country": "in-country transfer", "deemed_export": "deemed export"},
    "zh": {"export": "出口", "reexport": "再出口", "transfer_in_country": "境内转让",
           "deemed_export": "视同出口"},
}

# Graph node kinds of an argument (the ``kind`` of its nodes) and edge relations.
ARGUMENT_KINDS = ("conclusion", "scope", "requirement", "exception", "policy", "question")
ARGUMENT_RELATIONS = {
    "rests_on": "an element the conclusion rests on",
    "ruled_out": "an exception or authorization that is not available",
    "open": "an open question the conclusion depends on",
    "next": "the next statement in reading order (layout only)",
}

# How many findings one element shows beneath it.
_GROUNDS = 2


@dataclass(frozen=True, slots=True)
class Point:
    """One statement of the argument.

    Attributes:
        en, zh: the statement; for ``holds=False`` it already says what is not met.
        cite: its pinpoint provision ('' for none).
        facts: ``file:line`` of the scenario facts it rests on.
        holds: False for a condition that is not met or a provision that does not apply.
        grounds: the findings beneath it (helper steps folded to labelled sentences).
    """

    en: str
    zh: str
    cite: str = ""
    facts: tuple[str, ...] = ()
    holds: bool = True
    grounds: tuple[Point, ...] = ()

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" and self.zh else self.en


@dataclass(frozen=True, slots=True)
class ExceptionPoint:
    """One exception or authorization: available (its coverage and obligations) or not."""

    code: str
    available: bool
    point: Point
    obligations: tuple[Point, ...] = ()
    uncertainties: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Question:
    """An open question: a flagged uncertainty or a missing fact the decision depends on,
    what it turns on in this decision, the public source it rests on, and what fact or
    legal development would settle it (each in English and Chinese)."""

    id: str
    text: str
    turns_on: tuple[str, ...] = ()
    source: str = ""
    settle: str = ""
    text_zh: str = ""
    turns_on_zh: tuple[str, ...] = ()
    settle_zh: str = ""

    def said(self, lang: str) -> tuple[str, tuple[str, ...], str]:
        """(text, what it turns on, what would settle it) in ``lang``."""
        if lang == "zh":
            return (self.text_zh or self.text, self.turns_on_zh or self.turns_on,
                    self.settle_zh or self.settle)
        return self.text, self.turns_on, self.settle


@dataclass(frozen=True, slots=True)
class Argument:
    """A decision argued element by element (see the module docstring)."""

    decision: Decision
    issue_en: str
    issue_zh: str
    conclusion: Point
    scope: tuple[Point, ...]
    requirement: tuple[Point, ...]
    exceptions: tuple[ExceptionPoint, ...]
    policy: tuple[Point, ...]
    questions: tuple[Question, ...]

    def issue(self, lang: str) -> str:
        return self.issue_zh if lang == "zh" else self.issue_en


def build_argument(expl: TransactionExplanation, scenario: Scenario,
                   rulebook: Rulebook) -> Argument:
    """The argument of an explained decision.

    Args:
        expl: from ``explanation.explain_transaction``.
        scenario: the decided scenario (for the question presented).
        rulebook: the rulebook decided with (its uncertainties' texts, sources and what
            would settle each).

    Returns:
        The argument; nothing is evaluated.
    """
    d = expl.decision
    tx = next(t for t in scenario.transactions if t.id == d.transaction)
    found = _Elements()
    for proof in (expl.proof, *expl.scope, *(p for _, p in expl.exceptions), *expl.obligations):
        found.walk(proof)
    shown: set[int] = set()
    exceptions = [
        ExceptionPoint(code, True, found.point(found.coverage.get(code), shown) or _bare(code),
                       tuple(found.point(p, shown, grounds=False) or _bare("")
                             for p in found.obligations.get(code, ())))
        for code in d.exceptions
    ]
    exceptions += [
        ExceptionPoint(r.exception, False,
                       Point(r.reason, r.reason_zh, r.citation, r.facts, holds=False),
                       uncertainties=r.uncertainties)
        for r in d.ruled_out
    ]
    scope = [found.point(p, shown) for p in found.kinds.get("scope", ())]
    requirement = [found.point(p, shown) for p in found.kinds.get("requirement", ())]
    policy = [found.point(p, shown) for p in found.kinds.get("policy", ())]
    policy += [_precedence(n) for n in found.precedence]
    return Argument(
        decision=d,
        issue_en=issue_text(scenario, tx, "en"), issue_zh=issue_text(scenario, tx, "zh"),
        conclusion=Point(conclusion_text(d, "en"), conclusion_text(d, "zh"),
                         holds=d.outcome in ("permitted", "out_of_scope")),
        scope=tuple(p for p in scope if p is not None),
        requirement=tuple(p for p in requirement if p is not None),
        exceptions=tuple(sorted(exceptions, key=lambda e: (not e.available, e.code))),
        policy=tuple(p for p in policy if p is not None),
        questions=tuple(_questions(d, found, rulebook)),
    )


def _bare(code: str) -> Point:
    return Point(code, code)


class _Elements:
    """The element steps of a proof, by kind, in first-seen order, and what they rest on."""

    def __init__(self) -> None:
        self.kinds: dict[str, list[Proof]] = {}
        self.coverage: dict[str, Proof] = {}
        self.obligations: dict[str, list[Proof]] = {}
        self.precedence: list[NegationStep] = []
        # uncertainty id -> (en, zh) labels of the rules raising it
        self.raising: dict[str, list[tuple[str, str]]] = {}
        self.said: set[str] = set()  # facts an earlier statement rests on
        self._seen: set[int] = set()

    def walk(self, proof: Proof) -> None:
        stack = [proof]
        while stack:
            p = stack.pop()
            if id(p) in self._seen:
                continue
            self._seen.add(id(p))
            step = p.step
            if isinstance(step, RuleStep):
                for u in step.uncertain:
                    said = self.raising.setdefault(u, [])
                    if step.en and all(step.en != en for en, _ in said):
                        said.append((step.en, step.zh or step.en))
                if step.element:
                    self._element(p, step)
            stack.extend(reversed(p.premises))

    def _element(self, p: Proof, step: RuleStep) -> None:
        kind = step.element
        if kind == "exception" and len(step.row) > 1:
            self.coverage.setdefault(str(step.row[1]), p)
            return
        if kind == "obligation":
            code = str(step.row[1]).split(":", 1)[0]
            self.obligations.setdefault(code, []).append(p)
            return
        if kind in ("bar", "filter", "pending"):
            return  # argued through the decision's ruled_out entries
        self.kinds.setdefault(kind, []).append(p)
        if kind == "policy":
            self.precedence += [q.step for q in p.premises if isinstance(q.step, NegationStep)
                                and q.step.whynot is not None]

    def point(self, p: Proof | None, shown: set[int], grounds: bool = True) -> Point | None:
        """The statement of element ``p``: its label and provision, the scenario facts
        beneath it and up to ``_GROUNDS`` labelled findings (none shown before: a fact or
        finding an earlier statement rests on is not repeated)."""
        if p is None or id(p) in shown:
            return None
        shown.add(id(p))
        said = self.said
        step = p.step
        assert isinstance(step, RuleStep)
        found: list[Point] = []
        if grounds:
            for q in _findings(p):
                if id(q) in shown or len(found) >= _GROUNDS:
                    continue
                shown.add(id(q))
                s = q.step
                assert isinstance(s, RuleStep)
                found.append(Point(s.en, s.zh or s.en, s.cite, self._new(_facts(q))))
        facts = self._new(_facts(p))
        said.update(f for g in found for f in g.facts)
        return Point(step.en or _humane(step), step.zh or step.en or _humane(step), step.cite,
                     facts, True, tuple(found))

    def _new(self, facts: tuple[str, ...]) -> tuple[str, ...]:
        out = tuple(f for f in facts if f not in self.said)
        self.said.update(out)
        return out


def _humane(step: RuleStep) -> str:
    values = ", ".join(readable(v) for v in step.row)
    return f"{step.pred.replace('_', ' ')} ({values})"


def _findings(p: Proof) -> Iterator[Proof]:
    """The labelled, cited helper steps nearest below an element (not other elements):
    what the element's sentence rests on, a level of detail a reader can follow."""
    stack = list(reversed(p.premises))
    seen: set[int] = set()
    while stack:
        q = stack.pop()
        if id(q) in seen:
            continue
        seen.add(id(q))
        s = q.step
        if isinstance(s, RuleStep):
            if s.element:
                continue
            if s.cite and s.en and _facts(q):
                yield q
                continue
        stack.extend(reversed(q.premises))


def _facts(p: Proof) -> tuple[str, ...]:
    """``file:line`` of the scenario facts below ``p``, not through other elements."""
    out: list[str] = []
    stack, seen = [p], set()
    while stack:
        q = stack.pop()
        if id(q) in seen:
            continue
        seen.add(id(q))
        s = q.step
        if isinstance(s, FactStep):
            if s.source and not is_rulebook_file(s.source) and s.source not in out:
                out.append(s.source)
            continue
        if q is not p and isinstance(s, RuleStep) and s.element:
            continue
        stack.extend(q.premises)
    return tuple(sorted(out, key=_line_key))


def _line_key(source: str) -> tuple[str, int]:
    file, _, line = source.rpartition(":")
    return (file, int(line) if line.isdigit() else 0)


def _precedence(neg: NegationStep) -> Point | None:
    """A higher-precedence paragraph that does not apply, and the condition it lacks."""
    w = neg.whynot
    if w is None or not w.attempts:
        return None
    best = max(w.attempts, key=lambda a: len(a.matched))
    label_en = drop_unknown(best.en) or drop_unknown(neg.en)
    label_zh = drop_unknown(best.zh) or label_en
    return Point(f"does not apply: {label_en}", f"不适用：{label_zh}", best.cite, (), False)


def grouped(exceptions: tuple[ExceptionPoint, ...]) -> list[tuple[tuple[str, ...], ExceptionPoint]]:
    """Exceptions ruled out for the same reason, provision and facts, as one entry (the
    codes in order, the first entry); available ones stay one per code."""
    out: list[tuple[tuple[str, ...], ExceptionPoint]] = []
    index: dict[tuple[str, str, tuple[str, ...]], int] = {}
    for e in exceptions:
        key = (e.point.en, e.point.cite, e.point.facts)
        if not e.available and key in index:
            codes, first = out[index[key]]
            out[index[key]] = (codes + (e.code,), first)
            continue
        if not e.available:
            index[key] = len(out)
        out.append(((e.code,), e))
    return out


def _questions(d: Decision, found: _Elements, book: Rulebook) -> Iterator[Question]:
    for u in d.uncertainties:
        if u.startswith("missing:"):
            fact = u.split(":", 1)[1]
            words = fact.replace("_", " ")
            yield Question(u, f"The scenario does not state {words}; the outcome turns on it.",
                           settle=f"State {words} in the scenario.",
                           text_zh=f"情景未说明“{words}”，而结论取决于此。",
                           settle_zh=f"在情景中说明“{words}”。")
        else:
            raising = found.raising.get(u, [])[:2]
            yield Question(u, book.uncertainties.get(u, u), tuple(en for en, _ in raising),
                           book.sources.get(u, ""), book.settles.get(u, ""),
                           book.uncertainties_zh.get(u, ""), tuple(zh for _, zh in raising),
                           book.settles_zh.get(u, ""))


# ---- the question presented and the conclusion ---------------------------------------


def issue_text(scn: Scenario, tx: Transaction, lang: str = "en") -> str:
    """The question the argument answers, in words.

    Example: "Does the export of 200 units of h100 (3A090.a) from US to SE, to
    se_co, on 2025-06-16 require a license under the EAR as amended by 90 FR
    4544, and on what terms?"
    """
    check_lang(lang)
    kind = _TX_TYPES[lang].get(tx.type, tx.type)
    consignee = _party(scn, tx.ultimate_consignee)
    date = tx.date.isoformat()
    in_country = tx.type == "transfer_in_country"
    if lang == "zh":
        what = (f"{readable(tx.quantity)} 件 {_item(scn, tx.item)}" if tx.item is not None
                else f"模型 {tx.model} 的权重")
        route = f"在 {tx.to} 境内转让" if in_country else f"从 {tx.from_} {kind}至 {tx.to}"
        return (f"{date}，将 {what} {route} 并交付 {consignee}，"
                f"依经 90 FR 4544 修订的 EAR 是否需要许可证？适用何种条件？")
    what = (f"{readable(tx.quantity)} units of {_item(scn, tx.item)}" if tx.item is not None
            else f"the weights of model {tx.model}")
    route = f"within {tx.to}" if in_country else f"from {tx.from_} to {tx.to}"
    return (f"Does the {kind} of {what} {route}, to {consignee}, on {date} "
            f"require a license under the EAR as amended by 90 FR 4544, and on what terms?")


def _item(scn: Scenario, iid: str) -> str:
    try:
        return f"{iid} ({scn.item(iid).eccn})"
    except KeyError:
        return iid


def _party(scn: Scenario, eid: str) -> str:
    try:
        name = scn.entity(eid).name
    except KeyError:
        name = None
    return f"{name} ({eid})" if name else eid


def conclusion_text(d: Decision, lang: str) -> str:
    """The outcome in one or two sentences."""
    zh = lang == "zh"
    xs = ", ".join(d.exceptions)
    policy = POLICIES[lang].get(d.review_policy or "", d.review_policy or "")
    if d.outcome == "permitted" and d.exceptions:
        return (f"需要许可证，但可依据 {xs} 进行，无需申请许可证。" if zh and d.license_required
                else f"可依据 {xs} 进行。" if zh
                else f"A license is required, but the transaction may proceed under {xs} "
                     f"without one." if d.license_required
                else f"The transaction may proceed under {xs}.")
    if d.outcome == "permitted":
        return "无需许可证。" if zh else "No license is required."
    if d.outcome == "license_required":
        return (f"需要许可证；没有可用的许可例外或授权。许可申请的审查政策为：{policy}。" if zh
                else f"A license is required; no license exception or authorization is "
                     f"available. An application is reviewed under a {policy}.")
    if d.outcome == "out_of_scope":
        return ("该交易不受人工智能扩散框架管辖。" if zh
                else "The AI Diffusion framework does not govern this transaction.")
    return ("根据所给事实无法确定结论；见下列待决问题。" if zh
            else "The outcome cannot be determined from the facts given; see the "
                 "open questions below.")


# ---- the argument as a graph ---------------------------------------------------------


def argument_graph(arg: Argument) -> nx.DiGraph:
    """The argument as a graph in the proof-graph schema (``question`` = ``argument``).

    The conclusion is the root; it rests on the elements (scope, requirement,
    available exceptions, policy), exceptions ruled out and open questions hang from
    it too; an element's findings are "because" paragraphs of its label and the
    facts of both are its ``source``. ``next`` edges give the reading order: the
    statements fill columns top to bottom, left to right, as many columns as make the
    page about as wide as tall.

    Returns:
        A DiGraph with the node attributes of ``proof.graph.NODE_ATTRS``.
    """
    g = nx.DiGraph()
    root = _node(g, "conclusion", arg.conclusion, arg.decision.outcome, None)
    g.graph.update(schema=SCHEMA, question="argument", root=root)
    shown: list[str] = []

    def attach(nid: str, relation: str) -> None:
        if not g.has_edge(root, nid):
            g.add_edge(root, nid, relation=relation, order=len(shown))
            shown.append(nid)

    for kind, points in (("scope", arg.scope), ("requirement", arg.requirement)):
        for p in points:
            attach(_node(g, kind, p, "", _HEADS[kind]), "rests_on")
    for codes, e in grouped(arg.exceptions):
        names = ", ".join(codes)
        attach(_node(g, "exception", e.point, "", (names, names)),
               "rests_on" if e.available else "ruled_out")
    for p in arg.policy:
        attach(_node(g, "policy", p, "", _HEADS["policy"]), "rests_on")
    for q in arg.questions:
        en, _, settle_en = q.said("en")
        zh, _, settle_zh = q.said("zh")
        point = Point(en + (f"\nsettled by: {settle_en}" if settle_en else ""),
                      zh + (f"\n可由此解决：{settle_zh}" if settle_zh else ""))
        attach(_node(g, "question", point, "", (f"Open question {q.id}", f"待决问题 {q.id}")),
               "open")
    for column in _columns([_height(g.nodes[n]) for n in shown]):
        ids = [shown[k] for k in column]
        for k, (a, b) in enumerate(zip(ids, ids[1:])):
            g.add_edge(a, b, relation="next", order=k)
    return g


# Page geometry of a node, in inches, as Graphviz draws it in the default theme (a column
# is about 5 in wide with its spacing; a line of 48 characters at 10 pt about 0.19 in).
_NODE_WIDTH, _LINE, _NODE_PAD, _WRAP = 5.0, 0.19, 0.55, 48


def _height(attrs: Mapping[str, object]) -> float:
    lines = sum(-(-max(len(par), 1) // _WRAP) for par in str(attrs["label_en"]).split("\n"))
    lines += bool(attrs["cite"]) + bool(attrs["source"])
    return lines * _LINE + _NODE_PAD


def _columns(heights: list[float]) -> list[list[int]]:
    """Split statements (in reading order) into the columns that make the page closest
    to square: each column is filled top to bottom before the next."""
    if not heights:
        return []
    best: list[list[int]] = []
    best_score = float("inf")
    for k in range(1, min(4, len(heights)) + 1):
        columns = _fill(heights, k)
        tall = max(sum(heights[i] for i in c) for c in columns) + 1.0  # + the conclusion
        score = abs(math.log((k * _NODE_WIDTH) / tall))
        if score < best_score:
            best, best_score = columns, score
    return best


def _fill(heights: list[float], k: int) -> list[list[int]]:
    """``k`` consecutive runs of about equal total height."""
    target = sum(heights) / k
    columns: list[list[int]] = [[]]
    acc = 0.0
    for i, h in enumerate(heights):
        left = len(heights) - i
        if columns[-1] and acc + h / 2 > target and len(columns) < k and left >= k - len(columns):
            columns.append([])
            acc = 0.0
        columns[-1].append(i)
        acc += h
    return columns


# The heading a node of each element kind starts with (en, zh).
_HEADS = {kind: (SECTIONS["en"][kind], SECTIONS["zh"][kind])
          for kind in ("scope", "requirement", "policy")}


def _node(g: nx.DiGraph, kind: str, p: Point, outcome_text: str,
          head: tuple[str, str] | None) -> str:
    """One statement as a node; its findings are paragraphs of its label ("because ..."),
    so that a page holds the whole argument."""
    en = f"{head[0]}: {p.en}" if head else p.en
    zh = f"{head[1]}：{p.zh or p.en}" if head else (p.zh or p.en)
    en += "".join(f"\nbecause {q.en}" for q in p.grounds)
    zh += "".join(f"\n因为{q.zh or q.en}" for q in p.grounds)
    attrs = {
        "kind": kind, "outcome": "holds" if p.holds else "fails",
        "label_en": en, "label_zh": zh, "text": outcome_text, "cite": p.cite, "rule_id": "",
        "source": ", ".join(short_sources(p.facts)), "reason": "", "truncated": 0,
    }
    facts = sorted({f for q in (p, *p.grounds) for f in q.facts}, key=_line_key)
    attrs["source"] = ", ".join(short_sources(tuple(facts)))
    nid = hashlib.sha256(json.dumps(attrs, sort_keys=True, ensure_ascii=False).encode()
                         ).hexdigest()[:16]
    if nid not in g:
        g.add_node(nid, **attrs)
    return nid


def short_sources(facts: tuple[str, ...]) -> list[str]:
    """``file:line`` entries with the file named once: ``a.yaml:3``, ``:7``."""
    out, last = [], None
    for f in facts:
        file, _, line = f.rpartition(":")
        out.append(f":{line}" if file == last else f"{file.rpartition('/')[2]}:{line}")
        last = file
    return out
