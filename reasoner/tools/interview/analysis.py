"""Which unstated facts could change a transaction's decision, and what each answer leads to."""

# Abduction by deciding variants. The fields without a default (required keys left
# out) are always in play: every combination of their choices is a point. A
# defaulted field comes into play when, at some point, two of its answers give
# different verdicts; then the points grow by its choices and the other defaulted
# fields are screened again (at most ROUNDS times), so a field that matters only
# once another is answered (the final destination, once the end use is development)
# is found. The verdict table over every combination of the fields in play then
# says, for each field and answer, which verdicts remain possible: a question's
# score is the share of its answers that leave one verdict (countries weighted by
# the number of countries each choice stands for). Fields that never change the
# verdict are not asked; when one verdict remains, the outcome is settled.

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from reasoner.law.decision import Decision, decide
from reasoner.law.rulebook import load_rulebook
from reasoner.tools.interview.questions import Choice, Slot, choices, question_text, slots
from reasoner.tools.interview.variants import decide_variants
from reasoner.tools.interview.draft import Draft
from reasoner.tools.whatif.search import Change

__all__ = ["SETTLE", "ROUNDS", "SCREEN_POINTS", "Verdict", "Consequence", "Question",
           "Analysis", "analyse", "verdict"]

SETTLE = ("outcome", "decision")
ROUNDS = 3
SCREEN_POINTS = 24  # points a defaulted field is screened at, per round (spread evenly)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a decision comes to: outcome and review policy (and with ``--settle
    decision``, the exceptions too), and how it reads."""

    key: tuple[Any, ...]
    text: str


def verdict(d: Decision, settle: str = "outcome") -> Verdict:
    """The verdict of ``d``: e.g. ``license_required (presumption_of_denial)``,
    ``permitted under ACM``, ``indeterminate (missing: final_destination)``."""
    text = d.outcome
    if d.outcome == "license_required" and d.review_policy:
        text += f" ({d.review_policy})"
    if d.outcome == "permitted" and d.exceptions:
        text += " under " + ", ".join(d.exceptions)
    if d.outcome == "indeterminate" and d.missing:
        text += " (missing: " + ", ".join(d.missing) + ")"
    key: tuple[Any, ...] = (d.outcome, d.review_policy)
    if settle == "decision":
        key += (d.exceptions,)
    elif d.outcome == "permitted":
        text = "permitted"  # under some exception or authorization: which is not asked
    return Verdict(key, text)


@dataclass(frozen=True, slots=True)
class Consequence:
    """An answer (a choice) and the verdicts that remain possible after it."""

    choice: Choice
    verdicts: tuple[str, ...]

    @property
    def settles(self) -> bool:
        return len(self.verdicts) == 1


@dataclass(frozen=True, slots=True)
class Question:
    """A field whose answer could change the verdict, ranked by ``score``: the share of
    answers that settle the outcome (``decided`` of ``asked`` choices)."""

    slot: Slot
    text: str
    consequences: tuple[Consequence, ...]
    score: float

    @property
    def decided(self) -> int:
        return sum(c.settles for c in self.consequences)


@dataclass(frozen=True, slots=True)
class Analysis:
    """Where a transaction stands: its decision as the file stands (None when a
    required key is left out), the verdicts still possible, and the questions ranked."""

    transaction: str
    regime: str
    current: Decision | None
    possible: tuple[str, ...]
    questions: tuple[Question, ...]
    considered: tuple[Slot, ...]
    variants: int
    bound_reached: bool

    @property
    def settled(self) -> bool:
        return len(self.possible) == 1


def analyse(draft: Draft, tx: str, regime: str | None = None, settle: str = "outcome",
            budget: int = 4000, lang: str = "en") -> Analysis:
    """The questions that could change ``tx``'s verdict, best first.

    Args:
        draft: the scenario so far.
        tx: the transaction id (must be in the scenario).
        regime: ``ifr`` or ``enforced``; default the scenario's own.
        settle: ``outcome`` (outcome and review policy) or ``decision`` (also exceptions).
        budget: how many variants may be decided in all.
        lang: the language of the questions' wording.
    """
    scn = draft.scenario
    book = load_rulebook(regime or scn.regime)
    t = scn.transaction(tx)
    fields = slots(scn, t, draft.missing, book)
    opts = {s: choices(s, scn, book) for s in fields}
    current = None
    if not draft.missing:
        current = next(d for d in decide(scn, regime=book.regime).decisions if d.transaction == tx)
    run = _Runner(draft, tx, book.regime, settle, budget)
    in_play = [s for s in fields if s.required]
    for _ in range(ROUNDS):
        grew = _screen(run, fields, in_play, opts)
        if not grew:
            break
        in_play += grew
    reps = {s: _compressed(run, s, in_play, opts) for s in in_play}
    table = run.verdicts(_points(in_play, {s: list(reps[s]) for s in in_play}))
    possible = sorted({v.text for v in table.values()}) or ([verdict(current, settle).text]
                                                            if current else [])
    questions = [_question(s, opts[s], reps[s], table, scn, book, lang) for s in in_play]
    asked = sorted((q for q in questions if len({x for c in q.consequences for x in c.verdicts}) > 1),
                   key=lambda q: (-q.score, _spread(q), fields.index(q.slot)))
    if len(possible) <= 1:
        asked = []
    return Analysis(tx, book.regime, current, tuple(possible), tuple(asked), tuple(fields),
                    run.decided, run.bound_reached)


# A point: an answer (a choice) for each of some fields.
Point = frozenset[tuple[Slot, Choice]]


class _Runner:
    """Decides points (assignments of choices to fields) in batches, within a budget."""

    def __init__(self, draft: Draft, tx: str, regime: str, settle: str, budget: int) -> None:
        self.draft, self.tx, self.regime, self.settle = draft, tx, regime, settle
        self.budget = budget
        self.decided = 0
        self.bound_reached = False
        self.memo: dict[Point, Verdict] = {}

    def verdicts(self, points: Sequence[Point]) -> dict[Point, Verdict]:
        todo = [p for p in dict.fromkeys(points) if p not in self.memo]
        room = max(0, self.budget - self.decided)
        if len(todo) > room:
            self.bound_reached = True
            todo = todo[:room]
        if todo:
            decided = decide_variants(self.draft.scenario, self.tx,
                                      [_changes(p) for p in todo], self.regime)
            self.decided += len(todo)
            for p, d in zip(todo, decided):
                self.memo[p] = verdict(d, self.settle)
        return {p: self.memo[p] for p in points if p in self.memo}

def _changes(p: Point) -> list[Change]:
    out: list[Change] = []
    for s, c in p:
        out.append(Change(s.section, s.id, s.key, None, c.value))
        out += c.extra
    return out


def _points(in_play: list[Slot], opts: dict[Slot, list[Choice]],
            limit: int | None = None) -> list[Point]:
    """Every combination of the fields' choices (``limit``: that many, spread evenly)."""
    if not in_play:
        return [frozenset()]
    combos: Iterable[tuple[Choice, ...]] = itertools.product(*(opts[s] for s in in_play))
    total = 1
    for s in in_play:
        total *= len(opts[s])
    if limit is not None and total > limit:
        keep = {int(k * total / limit) for k in range(limit)}
        combos = (c for n, c in enumerate(combos) if n in keep)
    return [frozenset(zip(in_play, combo)) for combo in combos]


def _screen(run: _Runner, fields: list[Slot], in_play: list[Slot],
            opts: dict[Slot, list[Choice]]) -> list[Slot]:
    """The defaulted fields not yet in play whose answers differ at some point."""
    points = _points(in_play, opts, SCREEN_POINTS)
    rest = [s for s in fields if s not in in_play]
    asked = {(s, p): [p | {(s, c)} for c in opts[s]] for s in rest for p in points}
    got = run.verdicts([v for vs in asked.values() for v in vs])
    return [s for s in rest
            if any(len({got[v].key for v in asked[(s, p)] if v in got}) > 1 for p in points)]


def _compressed(run: _Runner, s: Slot, in_play: list[Slot],
                opts: dict[Slot, list[Choice]]) -> dict[Choice, list[Choice]]:
    """The choices of ``s`` that stand for the others: choices whose verdicts agree at
    every sampled point of the other fields in play are merged (countries of one tier
    class, parents headquartered alike)."""
    others = [x for x in in_play if x is not s]
    points = _points(others, opts, SCREEN_POINTS)
    got = run.verdicts([p | {(s, c)} for p in points for c in opts[s]])
    groups: dict[tuple[Any, ...], list[Choice]] = {}
    for c in opts[s]:
        profile = tuple(got[p | {(s, c)}].key if p | {(s, c)} in got else None for p in points)
        groups.setdefault(profile, []).append(c)
    return {cs[0]: cs for cs in groups.values()}


def _question(s: Slot, every: list[Choice], reps: dict[Choice, list[Choice]],
              table: dict[Point, Verdict], scn: Any, book: Any, lang: str) -> Question:
    cons = []
    for rep, members in reps.items():
        texts = tuple(sorted({v.text for p, v in table.items() if (s, rep) in p}))
        cons += [Consequence(c, texts) for c in members]
    cons.sort(key=lambda c: every.index(c.choice))
    weight = [max(1, len(c.choice.members)) for c in cons]
    score = sum(w for w, c in zip(weight, cons) if c.settles) / sum(weight) if cons else 0.0
    return Question(s, question_text(s, scn, book, lang), tuple(cons), score)


def _spread(q: Question) -> float:
    """The mean number of verdicts an answer leaves open (fewer is better)."""
    return sum(len(c.verdicts) for c in q.consequences) / max(1, len(q.consequences))
