"""Shared helpers for legal scenario tests: decide a file, compare with its expect block."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reasoner.law.decision import Decision, decide
from reasoner.law.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
SHARED_EXAMPLES = REPO.parent / "shared" / "ear" / "examples"

FIELDS = ("in_scope", "license_required", "outcome", "exceptions", "review_policy")


def decide_with_expect(path: Path, regime: str | None = None) -> tuple[dict[str, Decision], Any]:
    """Decide a scenario that carries an ``expect:`` block; return decisions by id and it."""
    scn = load_scenario(path, allow_expect=True)
    result = decide(scn, regime=regime)
    return {d.transaction: d for d in result.decisions}, scn.expect


def mismatches(decision: Decision, want: dict[str, Any]) -> list[str]:
    """Differences between a decision and the expected fields; [] when it matches.

    ``cites`` entries must each be a substring of some citation ("right answer for
    the right reasons": the basis of the outcome); ``ruled_out`` maps an exception
    code to a substring of the provision that rules it out; ``uncertainties`` entries
    must each be present.
    """
    problems = []
    for key in FIELDS:
        if key in want:
            got = getattr(decision, key)
            expected = want[key]
            if key == "exceptions":
                got, expected = list(got), list(expected)
            if got != expected:
                problems.append(f"{key}: expected {expected!r}, got {got!r}")
    for cite in want.get("cites", []):
        if not any(cite in c for c in decision.citations):
            problems.append(f"citation {cite!r} missing from {list(decision.citations)}")
    ruled = {r.exception: r for r in decision.ruled_out}
    for code, cite in (want.get("ruled_out") or {}).items():
        if code not in ruled:
            problems.append(f"{code} should be ruled out; ruled out: {sorted(ruled)}")
        elif cite not in ruled[code].citation:
            problems.append(f"{code} is ruled out under {ruled[code].citation!r}, not {cite!r}")
    for u in want.get("uncertainties", []):
        if u not in decision.uncertainties:
            problems.append(f"uncertainty {u!r} missing from {list(decision.uncertainties)}")
    for u in want.get("not_uncertainties", []):
        if u in decision.uncertainties:
            problems.append(f"uncertainty {u!r} should not be flagged")
    return problems
