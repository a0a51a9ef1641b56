"""The interview as terminal text: the state of a transaction, each question with what its
answers lead to, and each answer's consequence."""

from __future__ import annotations

from reasoner.law.decision import Decision
from reasoner.tools.whatif.search import COUNTRY_REPRESENTATIVES
from reasoner.tools.interview.analysis import Analysis, Consequence, Question
from reasoner.tools.interview.session import Step, answer_help

__all__ = ["SHOWN", "opening_text", "question_block", "step_text", "closing_text",
           "consequence_lines"]

# Countries listed per line of consequences before "+N more".
SHOWN = 8


def opening_text(a: Analysis, scenario: str) -> str:
    """The transaction, its decision as the file stands, and what is still possible."""
    out = [f"interview {a.transaction} in {scenario} (regime {a.regime})"]
    if a.current is None:
        out.append("  as the file stands: not decidable (a required fact is not stated)")
    else:
        out.append(f"  as the file stands: {_decision(a.current)}")
    if a.settled:
        out.append(f"  settled: {a.possible[0]}, whatever the unstated facts "
                   f"({len(a.considered)} considered, {a.variants} variants decided)")
    else:
        out.append("  could still be: " + " | ".join(a.possible))
        names = ", ".join(q.slot.name for q in a.questions)
        out.append(f"  facts that could change it, best first: {names}")
    if a.bound_reached:
        out.append(f"  (bound reached: {a.variants} variants decided; some combinations "
                   "of answers were not tried)")
    return "\n".join(out)


def _decision(d: Decision) -> str:
    text = d.outcome
    if d.exceptions:
        text += " under " + ", ".join(d.exceptions)
    if d.review_policy:
        text += f" ({d.review_policy})"
    if d.missing:
        text += " — missing: " + ", ".join(d.missing)
    return text


def question_block(n: int, q: Question) -> str:
    """``Qn. <question>?  [id.key]``, what an answer looks like, and what each answer leads to."""
    text = q.text.rstrip(".")
    if text.startswith("the "):
        text = "T" + text[1:]
    out = [f"Q{n}. {text}{'' if text.endswith('?') else '?'}  "
           f"[{q.slot.name}]"]
    out += ["    " + line for line in consequence_lines(q)]
    out.append(f"    ({answer_help(q.slot)})")
    return "\n".join(out)


def consequence_lines(q: Question) -> list[str]:
    """The answers grouped by where they lead: ``CN, MO, RU → license_required (…)``."""
    groups: dict[tuple[str, ...], list[Consequence]] = {}
    for c in q.consequences:
        groups.setdefault(c.verdicts, []).append(c)
    rows = [(_choices(cs), " | ".join(v) if len(v) == 1 else "still open: " + " | ".join(v))
            for v, cs in groups.items()]
    width = min(48, max(len(r[0]) for r in rows)) if rows else 0
    return [f"{left.ljust(width)}  → {right}" for left, right in rows]


def _choices(cs: list[Consequence]) -> str:
    plain = [c.choice.shown for c in cs if not c.choice.members]
    countries = [c.choice.shown.rsplit(" ", 1)[-1] for c in cs if c.choice.members]
    countries += [m for c in cs for m in c.choice.members if m not in countries]
    countries.sort(key=lambda m: m not in COUNTRY_REPRESENTATIVES)  # well-known ones first
    prefix = "a parent headquartered in " if any(c.choice.extra for c in cs) else ""
    if countries:
        shown = ", ".join(countries[:SHOWN])
        if len(countries) > SHOWN:
            shown += f" (+{len(countries) - SHOWN} more)"
        plain.append(prefix + shown)
    return ", ".join(plain)


def step_text(step: Step) -> str:
    """The answer and where it leaves the transaction."""
    if step.answer is None:
        return "  (not known: the fact stays unstated)"
    a = step.after
    if a.settled:
        return f"  → {a.possible[0]}"
    return "  → still open: " + " | ".join(a.possible)


def closing_text(a: Analysis, decision: Decision | None, asked: int) -> str:
    """The verdict reached (with the decision's citations), or what is still open."""
    if decision is not None and a.settled:
        cites = "; ".join(decision.citations[:6]) + (" ..." if len(decision.citations) > 6 else "")
        return (f"settled after {asked} question(s): {a.transaction} is {_decision(decision)}\n"
                f"  {cites}")
    if a.settled:
        return f"settled after {asked} question(s): {a.transaction} is {a.possible[0]}"
    return (f"not settled after {asked} question(s): {a.transaction} could be "
            + " | ".join(a.possible))
