"""Proofs and why-nots as indented text trees for terminals, in English or Chinese."""

from __future__ import annotations

from typing import Mapping, Union

from reasoner.lang.errors import RenderError
from reasoner.lang.ir import Value
from reasoner.lang.labels import WORDS, check_lang, drop_unknown, humane, pattern_text
from reasoner.law.rulebook import is_rulebook_file
from reasoner.proof.compaction import compact as _compact, compact_why_not
from reasoner.proof.steps import (
    AggregateStep, AssignmentStep, Attempt, ComparisonStep, FactStep, Failure, NegationStep, Proof,
    RuleStep, Step, WhyNot,
)
from reasoner.proof.why import AGGREGATE_CAP
from reasoner.proof.explanation import TransactionExplanation

__all__ = ["to_text", "explanation_text"]

_INDENT = "  "


def to_text(
    explained: Union[Proof, WhyNot], lang: str = "en", compact: bool = False,
    max_depth: int | None = None, plain: bool = False,
) -> str:
    """An indented tree: each premise on its own line after "because" / "and".

    Args:
        explained: a proof or a why-not.
        lang: ``en`` or ``zh`` (labels and connective words).
        compact: only the labelled legal steps (``proof.compact``, ``whynot.compact_why_not``).
        max_depth: stop printing below this depth (the root is depth 0).
        plain: words only (the argument level): a step without a label reads as its
            predicate in words, not in the rule language, and rule-file lines and the
            conditions behind computed values are left out.

    Returns:
        The text, ending in a newline. A rule step printed before is marked
        "(as above)" instead of being repeated.

    Raises:
        RenderError: unknown language, or a proof too deep to print without max_depth.
    """
    check_lang(lang)
    w = WORDS[lang]
    writer = _Writer(w, lang, max_depth, plain)
    try:
        if isinstance(explained, Proof):
            writer.proof(_compact(explained) if compact else explained, 0, "")
        else:
            writer.whynot(compact_why_not(explained) if compact else explained, 0, "")
    except RecursionError:
        raise RenderError("the proof is too deep to print",
                          hint="cut it with --max-depth (e.g. --max-depth 50)") from None
    return "\n".join(writer.lines) + "\n"


class _Writer:
    def __init__(self, words: Mapping[str, str], lang: str, max_depth: int | None,
                 plain: bool = False) -> None:
        self.w = words
        self.lang = lang
        self.max_depth = max_depth
        self.plain = plain
        self.lines: list[str] = []
        self._seen: set[int] = set()

    def emit(self, depth: int, lead: str, text: str) -> None:
        sep = "" if lead.endswith(("\uff1a", "\uff1b")) else " "  # full-width colon: no space
        self.lines.append(_INDENT * depth + (f"{lead}{sep}{text}" if lead else text))

    def deep(self, depth: int) -> bool:
        return self.max_depth is not None and depth > self.max_depth

    # ---- proofs -------------------------------------------------------------------------

    def proof(self, p: Proof, depth: int, lead: str) -> None:
        line = self.step(p.step)
        repeated = id(p) in self._seen and bool(p.premises)
        self._seen.add(id(p))
        if repeated:
            self.emit(depth, lead, f"{line} {self.w['as_above']}")
            return
        cut = p.premises and self.deep(depth + 1)
        if p.truncated or cut:
            line += f" {self.w['truncated']}"
        self.emit(depth, lead, line)
        if cut:
            return
        if isinstance(p.step, NegationStep) and p.step.whynot is not None:
            self.whynot_body(p.step.whynot, depth + 1)
        connectives = self._connectives(p)
        for word, q in zip(connectives, p.premises):
            self.proof(q, depth + 1, word)
        if isinstance(p.step, AggregateStep) and p.step.count > len(p.premises) and p.truncated:
            self.emit(depth + 1, "", self.w["more"].format(p.step.count - _shown(p)))

    def _connectives(self, p: Proof) -> list[str]:
        if isinstance(p.step, AggregateStep):
            return [self.w["from"]] * len(p.premises)
        return [self.w["because"]] + [self.w["and"]] * (len(p.premises) - 1)

    def step(self, step: Step) -> str:
        label = self.label(step)
        if isinstance(step, RuleStep):
            tag = step.cite or (f"{self.w['rule']} {step.id}" if step.id else "")
            return f"{label}  [{tag}]" if tag else label
        if isinstance(step, FactStep):
            shown = step.source and not (self.plain and is_rulebook_file(step.source))
            return f"{label}  ({self.w['given']}, {step.source})" if shown else label
        if isinstance(step, NegationStep):
            return f"{label} \u2014 {self.w['no_fact']}"
        if isinstance(step, (ComparisonStep, AssignmentStep)) and not self.plain:
            return f"{label}  ({step.condition})"
        return label

    def label(self, step: Step) -> str:
        own = step.en if self.lang == "en" else step.zh
        if isinstance(step, NegationStep):
            return self.w["not"].format(own or self.atom(step.pred, step.pattern))
        if not own and self.plain and isinstance(step, (RuleStep, FactStep)):
            return humane(step.pred, step.row)
        return own or step.text

    def atom(self, pred: str, pattern: tuple[Value | None, ...]) -> str:
        return humane(pred, pattern) if self.plain else pattern_text(pred, pattern)

    # ---- why-not ------------------------------------------------------------------------

    def whynot(self, w: WhyNot, depth: int, lead: str) -> None:
        own = (w.en if self.lang == "en" else w.zh) or (humane(w.pred, w.pattern) if self.plain
                                                         else w.text)
        self.emit(depth, lead, self.w["does_not_hold"].format(own) + self._reason_suffix(w))
        self.whynot_body(w, depth + 1)

    def _reason_suffix(self, w: WhyNot) -> str:
        if w.reason == "no_fact":
            return f" \u2014 {self.w['no_fact']}"
        if w.reason == "no_rule":
            return f" \u2014 {self.w['no_rule']}"
        if w.reason == "not_explored":
            return f" \u2014 {self.w['not_explored']}"
        return ""

    def whynot_body(self, w: WhyNot, depth: int) -> None:
        if self.deep(depth):
            return
        for a in w.attempts:
            self.attempt(a, depth)

    def attempt(self, a: Attempt, depth: int) -> None:
        own = (a.en if self.lang == "en" else a.zh) or a.text
        if self.plain:
            own = drop_unknown(own)
        tag = a.cite or (f"{self.w['rule']} {a.id}" if a.id else "")
        line = f"{self.w['tried']} {own}" + (f"  [{tag}]" if tag else "")
        if a.truncated and not a.failure.missing:
            line += f" {self.w['search_capped']}"
        self.emit(depth, "", line)
        if self.deep(depth + 1):
            return
        for p in a.matched:
            self.proof(p, depth + 1, self.w["matched"])
        self.failure(a.failure, depth + 1)

    def failure(self, f: Failure, depth: int) -> None:
        lead = self.w["fails"]
        if f.step is None:
            if f.missing is None:
                self.emit(depth, lead, f"{f.text} \u2014 {self.w['undefined']}")
                return
            own = (f.missing.en if self.lang == "en" else f.missing.zh) or (
                humane(f.missing.pred, f.missing.pattern) if self.plain else f.missing.text)
            self.emit(depth, lead, own + self._reason_suffix(f.missing))
            self.whynot_body(f.missing, depth + 1)
            return
        line = self.step(f.step) if not isinstance(f.step, NegationStep) else self.label(f.step)
        if isinstance(f.step, NegationStep):
            line += f" \u2014 {self.w['but_exists']}"
        self.emit(depth, lead, line)
        if f.evidence is None or self.deep(depth + 1):
            return
        if isinstance(f.evidence.step, AggregateStep):  # the failure line already states it
            for q in f.evidence.premises:
                self.proof(q, depth + 1, self.w["from"])
            return
        self.proof(f.evidence, depth + 1, "")


def _shown(p: Proof) -> int:
    """How many contributing matches an aggregate proof shows (at most the cap)."""
    assert isinstance(p.step, AggregateStep)
    return min(p.step.count, AGGREGATE_CAP)


def explanation_text(expl: TransactionExplanation, lang: str = "en", compact: bool = False,
                     max_depth: int | None = None) -> str:
    """The decision, its proof, and each exception's why-not, as terminal text."""
    check_lang(lang)
    d = expl.decision
    zh = lang == "zh"
    head = [
        f"{'交易' if zh else 'Transaction'} {d.transaction}: {d.outcome}"
        + (f" ({d.review_policy})" if d.review_policy else ""),
        ("可用例外: " if zh else "exceptions available: ") + (", ".join(d.exceptions) or "-"),
    ]
    if d.uncertainties:
        head.append(("不确定事项: " if zh else "uncertain: ") + ", ".join(d.uncertainties))
    parts = ["\n".join(head), "", to_text(expl.proof, lang, compact, max_depth)]
    for x, w in expl.whynots:
        title = f"{x} 不可用的原因:" if zh else f"Why {x} is not available:"
        parts += [title, to_text(w, lang, compact, max_depth)]
    return "\n".join(parts)
