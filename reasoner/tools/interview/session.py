"""An interview: one question at a time, each answer set into the scenario and the decision re-read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reasoner.lang.errors import QueryError
from reasoner.law.decision import Decision, decide
from reasoner.law.scenario import DESIGNERS, END_USES, is_country_code
from reasoner.law.scenario.yamlnodes import choices_hint
from reasoner.tools.interview.analysis import Analysis, Question, analyse
from reasoner.tools.interview.draft import Draft
from reasoner.tools.interview.questions import Slot, new_parent_id

__all__ = ["Step", "Interview", "parse_answer", "answer_help"]

_YES = ("yes", "y", "true")
_NO = ("no", "n", "false")
_UNKNOWN = ("", "?", "unknown", "skip")


@dataclass(frozen=True, slots=True)
class Step:
    """One question put, the answer given (None: not known) and where it left things."""

    question: Question
    answer: str | None
    before: Analysis
    after: Analysis


@dataclass
class Interview:
    """The interview of one scenario's transactions, one at a time.

    IO-free: the CLI asks ``next_question()``, reads an answer, and passes it to
    ``answer``; ``draft`` is the scenario with every answer so far.
    """

    draft: Draft
    regime: str | None = None
    settle: str = "outcome"
    budget: int = 4000
    lang: str = "en"
    steps: list[Step] = field(default_factory=list)
    skipped: set[str] = field(default_factory=set)
    _analyses: dict[str, Analysis] = field(default_factory=dict)

    def analysis(self, tx: str) -> Analysis:
        """Where ``tx`` stands now (cached until the next answer)."""
        if tx not in self._analyses:
            self._analyses[tx] = analyse(self.draft, tx, self.regime, self.settle, self.budget,
                                         self.lang)
        return self._analyses[tx]

    def next_question(self, tx: str) -> Question | None:
        """The best question not yet put for ``tx``; None when the verdict is settled (or
        nothing left to ask). When settled, a required key still left out is asked
        (the scenario cannot be decided without it)."""
        a = self.analysis(tx)
        for q in a.questions:
            if q.slot.name not in self.skipped:
                return q
        if a.settled:
            for s in a.considered:
                if s.required and s.name not in self.skipped and self._missing(s):
                    return _required_question(s, a, self)
        return None

    def _missing(self, s: Slot) -> bool:
        return (s.section, s.id, s.key) in self.draft.missing

    def answer(self, tx: str, question: Question, text: str | None) -> Step:
        """Set the answer into the scenario and re-analyse; ``None`` or ``""`` (or
        ``?``, ``unknown``, ``skip``) means not known: the field stays unstated.

        Raises:
            QueryError: the answer is not one the field takes.
            ScenarioError, CheckFailed: the scenario with the answer does not validate.
        """
        before = self.analysis(tx)
        slot = question.slot
        if text is None or str(text).strip().lower() in _UNKNOWN:
            self.skipped.add(slot.name)
            step = Step(question, None, before, before)
        else:
            self.draft = _apply(self.draft, slot, parse_answer(slot, str(text), self.draft))
            self._analyses.clear()
            step = Step(question, str(text).strip(), before, self.analysis(tx))
        self.steps.append(step)
        return step

    def decision(self, tx: str) -> Decision | None:
        """The decision of ``tx`` in the scenario as it now stands (None while a required
        key is left out)."""
        if self.draft.missing:
            return None
        result = decide(self.draft.scenario, regime=self.regime)
        return next(d for d in result.decisions if d.transaction == tx)


def _required_question(s: Slot, a: Analysis, iv: Interview) -> Question:
    from reasoner.tools.interview.analysis import Consequence
    from reasoner.tools.interview.questions import choices, question_text
    from reasoner.law.rulebook import load_rulebook

    book = load_rulebook(a.regime)
    scn = iv.draft.scenario
    cons = tuple(Consequence(c, a.possible) for c in choices(s, scn, book))
    return Question(s, question_text(s, scn, book, iv.lang), cons, 1.0)


def answer_help(slot: Slot) -> str:
    """What an answer to ``slot`` looks like."""
    return {
        "country": "an ISO 3166-1 alpha-2 country code, e.g. US, DE, IN, SG, VN, CN, MO",
        "end_use": "one of " + ", ".join(END_USES),
        "designer": "one of " + ", ".join(DESIGNERS),
        "bool": "yes or no", "tri": "yes or no",
        "veu": "none, uveu, or nveu (for the destination) / nveu:CC",
        "parent": "'none', the id of an entity in the scenario, or the country code where "
                  "a parent not in the scenario is headquartered",
    }[slot.kind] + "; empty or '?' if not known"


def parse_answer(slot: Slot, text: str, draft: Draft) -> Any:
    """The YAML value an answer means for ``slot`` (a parent not in the scenario: the
    tuple ("new", country)).

    Raises:
        QueryError: not an answer the field takes.
    """
    t = text.strip()
    low = t.lower()
    bad = QueryError(f"'{t}' is not an answer for {slot.name}", hint=answer_help(slot))
    if slot.kind == "country":
        if not is_country_code(t.upper()):
            raise bad
        return t.upper()
    if slot.kind in ("end_use", "designer"):
        allowed = END_USES if slot.kind == "end_use" else DESIGNERS
        if low.isdigit() and 1 <= int(low) <= len(allowed):
            return allowed[int(low) - 1]
        if low not in allowed:
            raise QueryError(f"'{t}' is not an answer for {slot.name}",
                             hint=choices_hint(low, allowed))
        return low
    if slot.kind in ("bool", "tri"):
        if low in _YES or low in _NO:
            return low in _YES
        raise bad
    if slot.kind == "veu":
        return _veu(low, t, draft, slot, bad)
    if slot.kind == "parent":
        if low in ("none", "null", "no"):
            return None
        if any(e.id == t for e in draft.scenario.entities):
            if t == slot.id:
                raise QueryError(f"{slot.id} cannot be its own parent", hint=answer_help(slot))
            return t
        if is_country_code(t.upper()):
            return ("new", t.upper())
        raise bad
    raise bad


def _veu(low: str, t: str, draft: Draft, slot: Slot, bad: QueryError) -> Any:
    if low in ("none", "null", "no"):
        return None
    if low == "uveu":
        return (("type", "uveu"),)
    if low.startswith("nveu"):
        country = t.split(":", 1)[1].strip().upper() if ":" in t else None
        if country is None:
            tos = {x.to for x in draft.scenario.transactions if x.ultimate_consignee == slot.id}
            country = sorted(tos)[0] if tos else None
        if country is None or not is_country_code(country):
            raise bad
        return (("type", "nveu"), ("country", country))
    raise bad


def _apply(draft: Draft, slot: Slot, value: Any) -> Draft:
    if slot.kind == "parent" and isinstance(value, tuple) and value[0] == "new":
        new = new_parent_id(draft.scenario, slot.id)
        draft = draft.with_entity(new, {"located_in": value[1], "headquartered_in": value[1]})
        value = new
    return draft.with_value(slot.section, slot.id, slot.key, value)
