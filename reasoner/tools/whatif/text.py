"""What-if results as terminal text: the flips found, how far the search got, old vs new decisions."""

from __future__ import annotations

from typing import Sequence

from reasoner.law.decision import Decision
from reasoner.tools.whatif.search import SetResult, WhatIfResult
from reasoner.render.text import to_text

__all__ = ["whatif_text", "set_text", "decision_rows"]

# How deep the key step of a flip is printed (its conclusion and direct premises).
KEY_STEP_DEPTH = 1


def whatif_text(result: WhatIfResult, lang: str = "en") -> str:
    """The search's findings, smallest sets first, and whether a bound stopped it.

    Returns:
        The text, ending in a newline.
    """
    r = result
    b = r.before
    want = f"to reach {r.target}" if r.target else "to change the outcome"
    out = [
        f"what-if {r.transaction} in {r.scenario.id} (regime {r.regime}): now {_outcome(b)}",
        f"searched {want}: {r.singles} single changes of declared fields; "
        f"{r.evaluated} variants decided ({r.invalid} rejected by validation)",
        _bound(r),
    ]
    if not r.flips:
        out.append(f"no set of at most {r.complete_up_to if r.bound_reached else r.max_changes} "
                   f"change(s) flips the outcome")
        return "\n".join(out) + "\n"
    out.append(f"{len(r.flips)} minimal set(s) of changes flip the outcome, smallest first:")
    for n, f in enumerate(r.flips, 1):
        out.append("")
        out.append(f"{n}. " + "; ".join(str(c) for c in f.changes))
        out.append(f"   \u2192 {_outcome(f.decision)}")
        out.extend("     " + line for line in
                   to_text(f.key_step, lang, max_depth=KEY_STEP_DEPTH).rstrip("\n").split("\n"))
    return "\n".join(out) + "\n"


def _bound(r: WhatIfResult) -> str:
    if r.bound_reached:
        part = (f"every set of at most {r.complete_up_to} change(s) was tried"
                if r.complete_up_to else "not even every single change was tried")
        return (f"bound reached: --max-candidates {r.max_candidates} stopped the search; {part}; "
                f"{r.untried} set(s) of at most {r.max_changes} changes left untried")
    return (f"every set of at most {r.max_changes} change(s) was tried "
            f"(bound: --max-changes {r.max_changes}; larger sets were not searched)")


def _outcome(d: Decision) -> str:
    text = d.outcome
    if d.review_policy:
        text += f" ({d.review_policy})"
    if d.exceptions:
        text += f" under {', '.join(d.exceptions)}"
    if d.uncertainties:
        text += f"; uncertain: {', '.join(d.uncertainties)}"
    return text


def decision_rows(before: Decision, after: Decision) -> list[tuple[str, str, str]]:
    """(field, before, after) for each decision field; citations as the count of each."""
    def show(v: object) -> str:
        if v is None:
            return "-"
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, tuple):
            return ", ".join(map(str, v)) or "-"
        return str(v)

    rows = []
    for name in ("outcome", "in_scope", "license_required", "exceptions", "review_policy",
                 "uncertainties", "conditions", "missing"):
        rows.append((name, show(getattr(before, name)), show(getattr(after, name))))
    rows.append(("citations", f"{len(before.citations)} provisions",
                 f"{len(after.citations)} provisions"))
    return rows


def set_text(result: SetResult, lang: str = "en") -> str:
    """The decision before and after the ``--set`` changes, what changed, and the new key step."""
    r = result
    out = [f"what-if {r.transaction} in {r.scenario.id} (regime {r.regime}) with:"]
    out += [f"  {c}" for c in r.changes]
    rows = decision_rows(r.before, r.after)
    widths = [max(len(row[i]) for row in rows + [("field", "before", "after")]) for i in range(3)]

    def line(mark: str, cells: Sequence[str]) -> str:
        return f"{mark} " + "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    out += ["", line(" ", ("field", "before", "after")), line(" ", ["-" * w for w in widths])]
    out += [line("*" if row[1] != row[2] else " ", row) for row in rows]
    gained = [c for c in r.after.citations if c not in r.before.citations]
    lost = [c for c in r.before.citations if c not in r.after.citations]
    if gained or lost:
        out.append("")
        out += [f"  + {c}" for c in gained] + [f"  - {c}" for c in lost]
    verdict = "the outcome changes" if r.after.outcome != r.before.outcome \
        else "the outcome stays the same"
    out += ["", f"{verdict}; key step of the new decision:"]
    out.extend("  " + line for line in
               to_text(r.key_step, lang, max_depth=KEY_STEP_DEPTH).rstrip("\n").split("\n"))
    return "\n".join(out) + "\n"
